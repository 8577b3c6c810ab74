//! A response head from another server (the proxy's backend), parsed as
//! strictly as a request head (RFC 9112 sections 4 and 5), and how its body
//! is framed (section 6.3). Like `request`, `parse` tells "not complete yet"
//! from "never valid", and the parsed head borrows the caller's buffer.
//!
//! No I/O happens here.
#![forbid(unsafe_code)]

use crate::http::request::{Header, next_line, parse_field_line};
use crate::http::syntax::{list_members, parse_decimal, trim_ows};

/// The most header fields a response may have; more is not HTTP we relay.
const MAX_FIELDS: usize = 200;

/// A parsed response head, borrowing the buffer it was read into.
#[derive(Debug)]
pub struct ResponseHead<'a> {
    pub code: u16,
    /// The minor version: 0 for HTTP/1.0, 1 for 1.1 and later.
    pub minor: u8,
    pub headers: Vec<Header<'a>>,
}

impl<'a> ResponseHead<'a> {
    /// Every value of the fields named `name`, in order.
    pub fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// Whether a member of the list fields named `name` is `token`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name)
            .flat_map(list_members)
            .any(|member| member.eq_ignore_ascii_case(token.as_bytes()))
    }
}

/// How a response's body ends (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body: a response to HEAD, a 1xx, 204 or 304 (items 1 and 2).
    None,
    /// Exactly this many bytes (item 6).
    Length(u64),
    /// The chunked coding (item 4).
    Chunked,
    /// Everything until the server closes (items 4 and 8).
    UntilClose,
}

/// Parses the response head at the start of `buf`: `Ok(None)` if it is not
/// complete yet, else the head and the bytes it took. The error says why
/// it can never be a valid head, for the 502's page.
pub fn parse(buf: &[u8]) -> Result<Option<(ResponseHead<'_>, usize)>, &'static str> {
    let Some((line, mut pos)) = next_line(buf, 0) else {
        return check_partial_status_line(buf).map(|()| None);
    };
    let (code, minor) = parse_status_line(line)?;
    let mut headers = Vec::with_capacity(16);
    loop {
        let Some((line, next)) = next_line(buf, pos) else {
            return Ok(None);
        };
        pos = next;
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_FIELDS {
            return Err("too many header fields");
        }
        headers.push(parse_field_line(line).map_err(|_| "a malformed header field")?);
    }
    Ok(Some((
        ResponseHead {
            code,
            minor,
            headers,
        },
        pos,
    )))
}

/// Refuses early what can never start a status line (a backend that
/// speaks something else than HTTP/1.x, say TLS or HTTP/2).
fn check_partial_status_line(partial: &[u8]) -> Result<(), &'static str> {
    let expected = b"HTTP/1.";
    let n = partial.len().min(expected.len());
    if partial[..n] == expected[..n] {
        Ok(())
    } else {
        Err("not an HTTP/1.x status line")
    }
}

/// status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112
/// section 4). A missing space after the code is accepted, as clients do.
fn parse_status_line(line: &[u8]) -> Result<(u16, u8), &'static str> {
    let malformed = "a malformed status line";
    let minor = match line.get(..9) {
        Some([b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor, b' ']) if minor.is_ascii_digit() => {
            (minor - b'0').min(1)
        }
        _ => return Err(malformed),
    };
    let code = match line.get(9..12) {
        Some(digits) if digits.iter().all(u8::is_ascii_digit) => digits
            .iter()
            .fold(0u16, |n, &d| n * 10 + u16::from(d - b'0')),
        _ => return Err(malformed),
    };
    if !(100..=599).contains(&code) || !matches!(line.get(12), None | Some(b' ')) {
        return Err(malformed);
    }
    Ok((code, minor))
}

/// How the body of `head` is framed, given whether the request was HEAD.
/// A response that could be read two ways (two lengths, a length with a
/// transfer coding) is refused: passing it on would let the two servers
/// disagree on where it ends (RFC 9112 sections 6.1 and 6.3 item 3).
pub fn body_framing(head: &ResponseHead<'_>, to_head: bool) -> Result<BodyFraming, &'static str> {
    if to_head || head.code < 200 || head.code == 204 || head.code == 304 {
        return Ok(BodyFraming::None);
    }
    let mut length = None;
    for value in head.values("content-length") {
        for member in value.split(|&b| b == b',') {
            let n = parse_decimal(trim_ows(member)).ok_or("an invalid Content-Length")?;
            if length.is_some_and(|seen| seen != n) {
                return Err("two different Content-Lengths");
            }
            length = Some(n);
        }
    }
    let codings: Vec<&[u8]> = head
        .values("transfer-encoding")
        .flat_map(list_members)
        .collect();
    if codings.is_empty() {
        return Ok(length.map_or(BodyFraming::UntilClose, BodyFraming::Length));
    }
    if length.is_some() {
        return Err("Content-Length with Transfer-Encoding");
    }
    match codings.last() {
        Some(last) if last.eq_ignore_ascii_case(b"chunked") => Ok(BodyFraming::Chunked),
        // Section 6.3 item 4: a final coding other than chunked is read
        // until the connection closes.
        _ => Ok(BodyFraming::UntilClose),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> (u16, u8, Vec<(String, String)>, usize) {
        match parse(text.as_bytes()) {
            Ok(Some((head, len))) => (
                head.code,
                head.minor,
                head.headers
                    .iter()
                    .map(|h| {
                        let value = String::from_utf8_lossy(h.value).into_owned();
                        (h.name.to_string(), value)
                    })
                    .collect(),
                len,
            ),
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn heads_parse_with_their_fields_in_order() {
        let text = "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nbody";
        let (code, minor, fields, len) = head(text);
        assert_eq!((code, minor, len), (200, 1, text.len() - 4));
        assert_eq!(fields[1], ("Set-Cookie".into(), "b=2".into()));
        assert_eq!(head("HTTP/1.0 404\r\n\r\n").0, 404);
        assert_eq!(head("HTTP/1.1 599 Whatever you like\n\n").0, 599);
        for partial in ["", "HT", "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nA: b"] {
            assert!(matches!(parse(partial.as_bytes()), Ok(None)), "{partial:?}");
        }
    }

    #[test]
    fn what_is_not_a_response_head_is_refused() {
        let cases = [
            "SSH-2.0-OpenSSH\r\n",
            "\x16\x03\x01",
            "HTTP/2 200\r\n\r\n",
            "HTTP/1.1 20 OK\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/1.1 099 Low\r\n\r\n",
            "HTTP/1.1 200OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
            "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
        ];
        for text in cases {
            assert!(parse(text.as_bytes()).is_err(), "{text:?}");
        }
    }

    fn framing_of(fields: &str, code: u16, to_head: bool) -> Result<BodyFraming, &'static str> {
        let text = format!("HTTP/1.1 {code} X\r\n{fields}\r\n");
        let Ok(Some((head, _))) = parse(text.as_bytes()) else {
            panic!("{text:?}")
        };
        body_framing(&head, to_head)
    }

    #[test]
    fn framing_follows_rfc_9112_section_6_3() {
        use BodyFraming::*;
        let cases = [
            ("Content-Length: 5\r\n", 200, false, Ok(Length(5))),
            ("Content-Length: 5\r\n", 200, true, Ok(None)),
            ("Content-Length: 5, 5\r\n", 200, false, Ok(Length(5))),
            ("", 200, false, Ok(UntilClose)),
            ("", 204, false, Ok(None)),
            ("Content-Length: 9\r\n", 304, false, Ok(None)),
            ("", 101, false, Ok(None)),
            ("Transfer-Encoding: chunked\r\n", 200, false, Ok(Chunked)),
            (
                "Transfer-Encoding: chunked, gzip\r\n",
                200,
                false,
                Ok(UntilClose),
            ),
            (
                "Content-Length: 5\r\nContent-Length: 6\r\n",
                200,
                false,
                Err("two different Content-Lengths"),
            ),
            (
                "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                200,
                false,
                Err("Content-Length with Transfer-Encoding"),
            ),
            (
                "Content-Length: -1\r\n",
                200,
                false,
                Err("an invalid Content-Length"),
            ),
        ];
        for (fields, code, to_head, want) in cases {
            assert_eq!(framing_of(fields, code, to_head), want, "{fields:?} {code}");
        }
    }
}
