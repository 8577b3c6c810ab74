//! Request body framing (RFC 9112 section 6).
//!
//! A static file server has no use for request bodies, but it must know
//! exactly where each one ends, or the next request on a keep-alive connection
//! is read from the middle of a body (request smuggling). This module decides
//! how a body is framed from the head alone (`framing`); `chunked` decodes
//! the chunked coding. A body for a file is counted and dropped, never kept;
//! one for the proxy's backend is passed on, with no limit of ours.
//!
//! No I/O happens here.
#![forbid(unsafe_code)]

use crate::http::request::Request;
use crate::http::syntax::{list_members, parse_decimal, trim_ows};

/// The largest request body the server reads (and discards) before answering
/// 413 and closing.
pub const MAX_BODY: u64 = 1024 * 1024;

/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Exactly this many bytes follow the head (0 when there is no body).
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
}

/// Why a body cannot be framed or decoded. Every one of these leaves the
/// connection's framing in doubt, so the connection is closed after the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Invalid framing; the text says what, for the log.
    Invalid(&'static str),
    /// More than `MAX_BODY` bytes.
    TooLarge,
}

/// Decides how the request's body is framed (RFC 9112 section 6.3), for a
/// body that is dropped: at most `MAX_BODY` bytes.
pub fn framing(request: &Request<'_>) -> Result<Framing, BodyError> {
    framing_within(request, MAX_BODY)
}

/// `framing`, for a body of at most `max` bytes (the proxy passes bodies on,
/// and leaves their limit to the backend).
pub fn framing_within(request: &Request<'_>, max: u64) -> Result<Framing, BodyError> {
    let has_te = request.header("transfer-encoding").is_some();
    let length = content_length(request)?;
    if has_te {
        // RFC 9112 section 6.1: Transfer-Encoding in HTTP/1.0 means the framing
        // is faulty, and a message with both fields may be an attempt at
        // smuggling (section 6.3 item 3): both are answered 400 and closed.
        if request.minor == 0 {
            return Err(BodyError::Invalid("Transfer-Encoding in HTTP/1.0"));
        }
        if length.is_some() {
            return Err(BodyError::Invalid("Transfer-Encoding with Content-Length"));
        }
        return transfer_coding(request);
    }
    match length {
        Some(n) if n > max => Err(BodyError::TooLarge),
        Some(n) => Ok(Framing::Length(n)),
        None => Ok(Framing::Length(0)),
    }
}

/// Content-Length = 1*DIGIT (RFC 9110 section 8.6). Several fields, or a list
/// in one field, are accepted only when every member is the same number. It
/// is not a list field, so an empty member is not ignored but invalid: a
/// value like `5,` is refused rather than guessed at.
fn content_length(request: &Request<'_>) -> Result<Option<u64>, BodyError> {
    let mut found = None;
    for value in request.values("content-length") {
        for member in value.split(|&b| b == b',') {
            let n = parse_decimal(trim_ows(member))
                .ok_or(BodyError::Invalid("invalid Content-Length"))?;
            if found.is_some_and(|seen| seen != n) {
                return Err(BodyError::Invalid("conflicting Content-Length"));
            }
            found = Some(n);
        }
    }
    Ok(found)
}

/// RFC 9112 section 6.3 item 4: when chunked is the final coding the body is
/// chunked; any other final coding cannot be framed by a server and is a 400.
/// Chunked must not be applied twice (section 7.1).
fn transfer_coding(request: &Request<'_>) -> Result<Framing, BodyError> {
    let codings: Vec<&[u8]> = request
        .values("transfer-encoding")
        .flat_map(list_members)
        .collect();
    let is_chunked = |c: &&[u8]| c.eq_ignore_ascii_case(b"chunked");
    match codings.split_last() {
        Some((last, before)) if is_chunked(last) && !before.iter().any(is_chunked) => {
            Ok(Framing::Chunked)
        }
        _ => Err(BodyError::Invalid("unsupported Transfer-Encoding")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::{Parsed, parse};

    fn framing_of(head: &str) -> Result<Framing, BodyError> {
        let full = format!("{head}\r\n\r\n");
        match parse(full.as_bytes()) {
            Ok(Parsed::Complete(req, _)) => framing(&req),
            other => panic!("head did not parse: {other:?}"),
        }
    }

    #[test]
    fn framing_table() {
        use BodyError::*;
        use Framing::*;
        let bad_length = Err(Invalid("invalid Content-Length"));
        let conflict = Err(Invalid("conflicting Content-Length"));
        let unsupported = Err(Invalid("unsupported Transfer-Encoding"));
        let too_large = format!("Content-Length: {}", MAX_BODY + 1);
        // The fields of a POST / HTTP/1.1 with `Host: a`.
        let cases = [
            ("", Ok(Length(0))),
            ("Content-Length: 0", Ok(Length(0))),
            ("Content-Length: 42", Ok(Length(42))),
            ("Content-Length: 007", Ok(Length(7))),
            ("Content-Length: 5, 5", Ok(Length(5))),
            ("Content-Length: 5\r\nContent-Length: 5", Ok(Length(5))),
            ("Content-Length: 5, 6", conflict),
            ("Content-Length: 5\r\nContent-Length: 6", conflict),
            ("Content-Length:", bad_length),
            ("Content-Length: +5", bad_length),
            ("Content-Length: -5", bad_length),
            ("Content-Length: 1 0", bad_length),
            ("Content-Length: 0x10", bad_length),
            ("Content-Length: 5,", bad_length),
            ("Content-Length: 99999999999999999999999", bad_length),
            (&too_large, Err(TooLarge)),
            ("Transfer-Encoding: chunked", Ok(Chunked)),
            ("Transfer-Encoding: gzip, CHUNKED", Ok(Chunked)),
            (
                "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked",
                Ok(Chunked),
            ),
            ("Transfer-Encoding: chunked, gzip", unsupported),
            ("Transfer-Encoding: chunked, chunked", unsupported),
            ("Transfer-Encoding: xchunked", unsupported),
            ("Transfer-Encoding:", unsupported),
            (
                "Transfer-Encoding: chunked\r\nContent-Length: 3",
                Err(Invalid("Transfer-Encoding with Content-Length")),
            ),
        ];
        for (fields, want) in cases {
            let head = format!("POST / HTTP/1.1\r\nHost: a\r\n{fields}");
            let head = head.trim_end_matches("\r\n");
            assert_eq!(framing_of(head), want, "{head:?}");
        }
        assert_eq!(
            framing_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked"),
            Err(Invalid("Transfer-Encoding in HTTP/1.0"))
        );
    }
}
