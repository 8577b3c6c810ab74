//! The request-head parser (RFC 9112 sections 2 to 5).
//!
//! `parse` looks at the bytes a connection has buffered so far and says one of
//! three things: the head is not complete yet (`Parsed::Partial`), the head is
//! complete and ends at byte `n` (`Parsed::Complete`), or the bytes can never
//! become a valid head (`ParseError`). "Need more bytes" and "invalid" are kept
//! apart so the connection loop knows whether to read again or to answer 400
//! and close. The parsed `Request` borrows slices of the caller's buffer, so
//! nothing is copied; the number of header fields is bounded here, the number of
//! bytes by the caller's buffer.
//!
//! This module does no I/O and knows nothing of status codes: `error.rs` turns a
//! `ParseError` into one.
#![forbid(unsafe_code)]

use crate::http::syntax::{is_field_value, is_token, list_members, trim_ows};

/// The longest request target accepted; a longer one is answered 414.
pub const MAX_TARGET: usize = 8 * 1024;
/// The most header fields accepted; more is answered 431.
pub const MAX_HEADERS: usize = 100;
/// The longest method token accepted before the request line is judged malformed.
const MAX_METHOD: usize = 32;

/// What `parse` found in the buffered bytes.
#[derive(Debug)]
pub enum Parsed<'a> {
    /// The head is incomplete: read more bytes and parse again.
    Partial,
    /// A whole head; the `usize` is the number of bytes it took, so the body
    /// (or the next pipelined request) starts there.
    Complete(Request<'a>, usize),
}

/// Why a head can never be valid. Each maps to one status in `error.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Malformed syntax; the text says what, for the log.
    Malformed(&'static str),
    /// The request target is longer than `MAX_TARGET`.
    TargetTooLong,
    /// More than `MAX_HEADERS` header fields.
    TooManyHeaders,
    /// A major version other than 1.
    VersionNotSupported,
}

/// One header field line, its value with surrounding whitespace removed.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    pub name: &'a str,
    pub value: &'a [u8],
}

/// A parsed request head, borrowing the connection's buffer.
#[derive(Debug)]
pub struct Request<'a> {
    pub method: &'a str,
    pub target: &'a str,
    /// The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1 and any later 1.x,
    /// which RFC 9110 section 6.2 lets us answer as 1.1.
    pub minor: u8,
    pub headers: Vec<Header<'a>>,
}

impl<'a> Request<'a> {
    /// Every value of the fields named `name` (compared case-insensitively,
    /// RFC 9110 section 5.1), in the order they were sent.
    pub fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// The value of the first field named `name`.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.values(name).next()
    }

    /// Whether any comma-separated element of the fields named `name` equals
    /// `token`, ignoring case (for `Connection` and similar list fields).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name)
            .flat_map(list_members)
            .any(|item| item.eq_ignore_ascii_case(token.as_bytes()))
    }
}

/// Parses the request head at the start of `buf`.
pub fn parse(buf: &[u8]) -> Result<Parsed<'_>, ParseError> {
    // RFC 9112 section 2.2: a server SHOULD ignore at least one empty line
    // received before the request line. The caller bounds how many by the
    // size of its buffer.
    let mut pos = 0;
    loop {
        match &buf[pos..] {
            [b'\r', b'\n', ..] => pos += 2,
            [b'\n', ..] => pos += 1,
            [b'\r'] | [] => return Ok(Parsed::Partial),
            _ => break,
        }
    }

    let Some((line, mut pos)) = next_line(buf, pos) else {
        check_partial_request_line(&buf[pos..])?;
        return Ok(Parsed::Partial);
    };
    let (method, target, minor) = parse_request_line(line)?;

    // Browsers send ten to twenty fields: one allocation for most requests.
    let mut headers = Vec::with_capacity(16);
    loop {
        let Some((line, next)) = next_line(buf, pos) else {
            return Ok(Parsed::Partial);
        };
        pos = next;
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err(ParseError::TooManyHeaders);
        }
        headers.push(parse_field_line(line)?);
    }

    let request = Request {
        method,
        target,
        minor,
        headers,
    };
    validate_host_field(&request)?;
    Ok(Parsed::Complete(request, pos))
}

/// Finds the line starting at `start`: its bytes without the line ending, and
/// where the next line starts. A bare LF is accepted as a line ending (RFC 9112
/// section 2.2); a CR anywhere else is left in the line for the character
/// checks to reject.
#[inline(always)]
pub(crate) fn next_line(buf: &[u8], start: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(start..)?;
    let lf = rest.iter().position(|&b| b == b'\n')?;
    let line = &rest[..lf];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, start + lf + 1))
}

/// Rejects an incomplete request line early when what has arrived can never
/// start a valid one, so a client sending binary noise or an endless target is
/// not kept waiting for a line end.
fn check_partial_request_line(partial: &[u8]) -> Result<(), ParseError> {
    let method_end = partial
        .iter()
        .position(|&b| b == b' ')
        .unwrap_or(partial.len());
    let method = &partial[..method_end];
    if method.len() > MAX_METHOD || !is_token(method) {
        return Err(ParseError::Malformed("invalid method"));
    }
    if let Some(after) = partial.get(method_end + 1..) {
        let target_len = after.iter().position(|&b| b == b' ').unwrap_or(after.len());
        if target_len > MAX_TARGET {
            return Err(ParseError::TargetTooLong);
        }
    }
    Ok(())
}

/// request-line = method SP request-target SP HTTP-version (RFC 9112 section 3).
fn parse_request_line(line: &[u8]) -> Result<(&str, &str, u8), ParseError> {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let target = parts
        .next()
        .ok_or(ParseError::Malformed("no request target"))?;
    let version = parts.next().ok_or(ParseError::Malformed("no version"))?;

    if method.is_empty() || method.len() > MAX_METHOD || !is_token(method) {
        return Err(ParseError::Malformed("invalid method"));
    }
    if target.len() > MAX_TARGET {
        return Err(ParseError::TargetTooLong);
    }
    // The target is a URI reference: visible ASCII only. This also rules out
    // a second space, which would otherwise hide inside the version part.
    if target.is_empty() || !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err(ParseError::Malformed("invalid request target"));
    }
    let minor = parse_version(version)?;
    Ok((ascii_str(method)?, ascii_str(target)?, minor))
}

/// HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive (RFC 9112
/// section 2.3). A major version other than 1 is a 505; a minor version above
/// 1 is answered as 1.1 (RFC 9110 section 6.2).
fn parse_version(version: &[u8]) -> Result<u8, ParseError> {
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            if *major != b'1' {
                Err(ParseError::VersionNotSupported)
            } else {
                Ok((minor - b'0').min(1))
            }
        }
        _ => Err(ParseError::Malformed("invalid HTTP version")),
    }
}

/// field-line = field-name ":" OWS field-value OWS (RFC 9112 section 5).
#[inline(always)]
pub(crate) fn parse_field_line(line: &[u8]) -> Result<Header<'_>, ParseError> {
    if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
        // Obsolete line folding, or whitespace before the first field: RFC 9112
        // sections 5.2 and 2.2 let a server reject both, and we do.
        return Err(ParseError::Malformed("obsolete line folding"));
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(ParseError::Malformed("header line without a colon"))?;
    let name = &line[..colon];
    // RFC 9112 section 5.1: no whitespace is allowed between the field name and
    // the colon, and a server MUST reject such a request with 400.
    if !is_token(name) {
        return Err(ParseError::Malformed("invalid header name"));
    }
    let value = trim_ows(&line[colon + 1..]);
    // RFC 9110 section 5.5: NUL, CR, LF and other controls are rejected.
    if !is_field_value(value) {
        return Err(ParseError::Malformed("invalid character in header value"));
    }
    Ok(Header {
        name: ascii_str(name)?,
        value,
    })
}

/// RFC 9112 section 3.2: a server MUST answer 400 to an HTTP/1.1 request
/// without a Host field, and to any request with more than one Host field or
/// an invalid one.
fn validate_host_field(request: &Request<'_>) -> Result<(), ParseError> {
    let mut hosts = request.values("host");
    match (hosts.next(), hosts.next()) {
        (None, _) if request.minor >= 1 => Err(ParseError::Malformed("missing Host")),
        (Some(_), Some(_)) => Err(ParseError::Malformed("more than one Host")),
        (Some(host), None) if !is_valid_host(host) => Err(ParseError::Malformed("invalid Host")),
        _ => Ok(()),
    }
}

/// Host = uri-host [ ":" port ], where uri-host is an IP-literal in brackets
/// or a reg-name (RFC 3986 section 3.2.2). An empty value is allowed (RFC 9112
/// section 3.2).
fn is_valid_host(host: &[u8]) -> bool {
    let (name, port) = if let Some(rest) = host.strip_prefix(b"[") {
        let Some(close) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &rest[..close];
        let ok = !literal.is_empty()
            && literal
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !ok {
            return false;
        }
        (&[][..], &rest[close + 1..])
    } else {
        match host.iter().position(|&b| b == b':') {
            Some(colon) => (&host[..colon], &host[colon..]),
            None => (host, &[][..]),
        }
    };
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    let name_ok = name
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b));
    port_ok && name_ok
}

fn ascii_str(bytes: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(bytes).map_err(|_| ParseError::Malformed("non-ASCII text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &[u8] =
        b"GET /a/b.html?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\nX-Empty:\r\n\r\n";

    fn complete(buf: &[u8]) -> (Request<'_>, usize) {
        match parse(buf) {
            Ok(Parsed::Complete(r, n)) => (r, n),
            other => panic!("expected a complete head, got {other:?}"),
        }
    }

    fn error(buf: &[u8]) -> ParseError {
        match parse(buf) {
            Err(e) => e,
            other => panic!(
                "expected an error for {:?}, got {other:?}",
                String::from_utf8_lossy(buf)
            ),
        }
    }

    /// Every prefix of a head is `Partial` (so the parser alone decides
    /// where a head ends), and the whole head ends where the next request,
    /// right behind it, begins.
    #[test]
    fn every_prefix_is_partial_and_a_head_ends_where_the_next_begins() {
        let heads: &[&[u8]] = &[
            VALID,
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\nHost: a\n\n",
            b"\r\n\r\nGET / HTTP/1.0\r\n\r\n",
            b"\r\n\nGET / HTTP/1.0\n\n",
            b"\nGET / HTTP/1.0\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\r\n",
        ];
        for head in heads {
            let with_more = [head, &b"GET /next HTTP/1.1\r\n\r\n"[..]].concat();
            assert_eq!(complete(&with_more).1, head.len());
            for cut in 0..head.len() {
                let prefix = &head[..cut];
                let text = String::from_utf8_lossy(prefix);
                assert!(matches!(parse(prefix), Ok(Parsed::Partial)), "{text:?}");
            }
        }
    }

    #[test]
    fn parses_a_valid_head() {
        let (req, n) = complete(VALID);
        assert_eq!(n, VALID.len());
        assert_eq!(req.method, "GET");
        assert_eq!(req.target, "/a/b.html?x=1");
        assert_eq!(req.minor, 1);
        assert_eq!(req.headers.len(), 3);
        assert_eq!(req.header("HOST"), Some(&b"example.com:8080"[..]));
        assert_eq!(req.header("x-empty"), Some(&b""[..]));
        assert_eq!(req.header("missing"), None);
    }

    #[test]
    fn complete_reports_where_the_next_request_starts() {
        let two = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
        let (first, n) = complete(two);
        assert_eq!(first.target, "/1");
        let (second, m) = complete(&two[n..]);
        assert_eq!(second.target, "/2");
        assert_eq!(n + m, two.len());
    }

    #[test]
    fn accepts_bare_lf_and_leading_empty_lines() {
        let input = b"\r\n\nGET / HTTP/1.1\nHost: a\n\n";
        let (req, n) = complete(input);
        assert_eq!((req.method, req.target, n), ("GET", "/", input.len()));
    }

    #[test]
    fn versions() {
        let unsupported = Err(ParseError::VersionNotSupported);
        let invalid = Err(ParseError::Malformed("invalid HTTP version"));
        let cases: &[(&[u8], Result<u8, ParseError>)] = &[
            (b"GET / HTTP/1.0\r\n\r\n", Ok(0)),
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Ok(1)),
            (b"GET / HTTP/1.9\r\nHost: a\r\n\r\n", Ok(1)),
            (b"GET / HTTP/2.0\r\n\r\n", unsupported),
            (b"GET / HTTP/0.9\r\n\r\n", unsupported),
            (b"GET / http/1.1\r\n\r\n", invalid),
            (b"GET / HTTP/1.10\r\n\r\n", invalid),
            (b"GET / HTTP/1.1 \r\n\r\n", invalid),
            (b"GET / HTTP/1\r\n\r\n", invalid),
        ];
        for (input, want) in cases {
            let got = parse(input).map(|p| match p {
                Parsed::Complete(r, _) => r.minor,
                Parsed::Partial => panic!("partial"),
            });
            assert_eq!(&got, want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn malformed_heads_are_errors() {
        let cases: &[&[u8]] = &[
            b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /  HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n",
            b"GET\r\n\r\n",
            b"GET /\r\n\r\n",
            b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /\ra HTTP/1.1\r\nHost: a\r\n\r\n",
            b" GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n X-Folded: b\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n\tb\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX-Nul: a\x00b\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX-Cr: a\rb\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX-Del: a\x7fb\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX-Esc: \x1b[31m\r\n\r\n",
            b"GET / HTTP/1.1\r\nHo\x00st: a\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: [zz]\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a@b\r\n\r\n",
        ];
        for input in cases {
            let text = String::from_utf8_lossy(input);
            assert!(matches!(error(input), ParseError::Malformed(_)), "{text:?}");
        }
    }

    #[test]
    fn valid_host_forms() {
        for host in [
            &b""[..],
            b"localhost",
            b"localhost:8080",
            b"127.0.0.1:80",
            b"[::1]",
            b"[::1]:8080",
            b"xn--caf-dma.example",
            b"a%20b",
        ] {
            assert!(is_valid_host(host), "{:?}", String::from_utf8_lossy(host));
        }
        // HTTP/1.0 may omit Host.
        complete(b"GET / HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn early_rejection_of_partial_request_lines() {
        // A TLS ClientHello is not a method.
        assert_eq!(
            error(b"\x16\x03\x01\x02\x00\x01"),
            ParseError::Malformed("invalid method")
        );
        assert_eq!(
            error(&[b'A'; MAX_METHOD + 1]),
            ParseError::Malformed("invalid method")
        );
        let mut long = b"GET /".to_vec();
        long.resize(MAX_TARGET + 10, b'a');
        assert_eq!(error(&long), ParseError::TargetTooLong);
        // Exactly at the limit is fine and still partial.
        long.truncate(4 + MAX_TARGET);
        assert!(matches!(parse(&long), Ok(Parsed::Partial)));
    }

    #[test]
    fn target_length_limit() {
        let mut ok = b"GET /".to_vec();
        ok.resize(4 + MAX_TARGET, b'a');
        ok.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(complete(&ok).0.target.len(), MAX_TARGET);
        let mut long = b"GET /".to_vec();
        long.resize(5 + MAX_TARGET, b'a');
        long.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(error(&long), ParseError::TargetTooLong);
    }

    #[test]
    fn header_count_limit() {
        let mut head = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 1..MAX_HEADERS {
            head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        assert_eq!(complete(&head).0.headers.len(), MAX_HEADERS);
        head.truncate(head.len() - 2);
        head.extend_from_slice(b"X-One-Too-Many: v\r\n\r\n");
        assert_eq!(error(&head), ParseError::TooManyHeaders);
    }

    #[test]
    fn values_trimmed_and_tokens_found() {
        let (req, _) = complete(
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: \t keep-alive , Close \t\r\nX: obs-\xe9text\r\n\r\n",
        );
        assert_eq!(req.header("connection"), Some(&b"keep-alive , Close"[..]));
        assert!(req.has_token("Connection", "close"));
        assert!(req.has_token("connection", "KEEP-ALIVE"));
        assert!(!req.has_token("connection", "upgrade"));
        assert_eq!(req.header("x"), Some(&b"obs-\xe9text"[..]));
    }

    #[test]
    fn absolute_form_and_asterisk_targets_are_passed_through() {
        let (req, _) =
            complete(b"GET http://example.com/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n");
        assert_eq!(req.target, "http://example.com/x?y");
        let (req, _) = complete(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!((req.method, req.target), ("OPTIONS", "*"));
    }
}
