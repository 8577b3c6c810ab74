//! Request body framing (RFC 9112 section 6).
//!
//! A static file server has no use for request bodies, but it must know
//! exactly where each one ends, or the next request on a keep-alive connection
//! is read from the middle of a body (request smuggling). This module decides
//! how a body is framed from the head alone (`framing`) and decodes the chunked
//! coding as a pure state machine (`ChunkedDecoder`) that the connection loop
//! feeds with whatever bytes it has. Bodies are counted and dropped, never kept.
//!
//! No I/O happens here.
#![forbid(unsafe_code)]

use crate::http::request::Request;
use crate::http::syntax::{list_members, trim_ows};

/// The largest request body the server reads (and discards) before answering
/// 413 and closing.
pub const MAX_BODY: u64 = 1024 * 1024;
/// The longest chunk-size line (size and extensions) accepted.
const MAX_CHUNK_LINE: usize = 4096;
/// The most bytes of trailer fields accepted.
const MAX_TRAILERS: usize = 8192;

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

/// Decides how the request's body is framed (RFC 9112 section 6.3).
pub fn framing(request: &Request<'_>) -> Result<Framing, BodyError> {
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
        Some(n) if n > MAX_BODY => Err(BodyError::TooLarge),
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

/// Digits only: no sign, no spaces, no hex, no overflow.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
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

/// Where the chunked decoder is within the body (RFC 9112 section 7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Reading the hex digits of a chunk size; `digits` seen so far.
    Size {
        digits: u8,
    },
    /// Whitespace after the size, which only a `;` may follow.
    SizeWhitespace,
    /// After the size: extensions until CR.
    Extension,
    /// Expecting the LF that ends a chunk-size line.
    SizeLf,
    /// Inside chunk data with this many bytes left.
    Data(u64),
    /// Expecting the CR, then the LF, after chunk data.
    DataCr,
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerStart,
    /// Inside a trailer field line.
    Trailer,
    /// Expecting the LF that ends a trailer line.
    TrailerLf,
    /// Expecting the LF of the final empty line.
    EndLf,
    Done,
}

/// Decodes (and discards) a chunked body, strictly: CRLF everywhere, hex
/// sizes that fit in a u64, bounded extensions and trailers, and a bounded
/// total size.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: Step,
    size: u64,
    total: u64,
    line: usize,
    trailers: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        ChunkedDecoder {
            state: Step::Size { digits: 0 },
            size: 0,
            total: 0,
            line: 0,
            trailers: 0,
        }
    }

    /// Consumes as much of `input` as belongs to the body. Returns how many
    /// bytes were used and whether the body is complete; bytes after the end
    /// are left for the next request.
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, bool), BodyError> {
        let mut used = 0;
        while used < input.len() && self.state != Step::Done {
            if let Step::Data(left) = self.state {
                let available = (input.len() - used) as u64;
                let take = left.min(available);
                used += take as usize;
                self.state = if take == left {
                    Step::DataCr
                } else {
                    Step::Data(left - take)
                };
                continue;
            }
            self.step(input[used])?;
            used += 1;
        }
        Ok((used, self.state == Step::Done))
    }

    fn step(&mut self, b: u8) -> Result<(), BodyError> {
        let invalid = |why| Err(BodyError::Invalid(why));
        self.state = match self.state {
            Step::Size { digits } => match (b as char).to_digit(16) {
                Some(d) => {
                    self.size = self
                        .size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(u64::from(d)))
                        .ok_or(BodyError::Invalid("chunk size overflows"))?;
                    self.line += 1;
                    Step::Size {
                        digits: digits.saturating_add(1),
                    }
                }
                None if digits == 0 => return invalid("chunk size missing"),
                None => return self.after_size(b),
            },
            Step::SizeWhitespace => match b {
                b' ' | b'\t' => self.in_line(b, Step::SizeWhitespace, Step::SizeLf)?,
                b';' => self.in_line(b, Step::Extension, Step::SizeLf)?,
                _ => return invalid("whitespace after chunk size"),
            },
            Step::Extension => self.in_line(b, Step::Extension, Step::SizeLf)?,
            Step::SizeLf => match b {
                b'\n' => self.start_chunk()?,
                _ => return invalid("CR without LF in chunk size line"),
            },
            Step::DataCr => match b {
                b'\r' => Step::DataLf,
                _ => return invalid("chunk data longer than its size"),
            },
            Step::DataLf => match b {
                b'\n' => {
                    self.size = 0;
                    self.line = 0;
                    Step::Size { digits: 0 }
                }
                _ => return invalid("CR without LF after chunk data"),
            },
            Step::TrailerStart => match b {
                b'\r' => Step::EndLf,
                _ => {
                    self.count_trailer()?;
                    self.check_trailer_byte(b)?;
                    Step::Trailer
                }
            },
            Step::Trailer => {
                self.count_trailer()?;
                if b == b'\r' {
                    Step::TrailerLf
                } else {
                    self.check_trailer_byte(b)?;
                    Step::Trailer
                }
            }
            Step::TrailerLf | Step::EndLf if b != b'\n' => {
                return invalid("CR without LF in trailers");
            }
            Step::TrailerLf => Step::TrailerStart,
            Step::EndLf => Step::Done,
            Step::Data(_) | Step::Done => self.state,
        };
        Ok(())
    }

    /// The first byte after the hex digits of a chunk size.
    fn after_size(&mut self, b: u8) -> Result<(), BodyError> {
        self.state = match b {
            b'\r' => Step::SizeLf,
            // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] ):
            // whitespace after the size must lead to a ';'.
            b';' => Step::Extension,
            b' ' | b'\t' => Step::SizeWhitespace,
            _ => return Err(BodyError::Invalid("invalid chunk size")),
        };
        self.line += 1;
        Ok(())
    }

    /// One byte of an extension: CR ends it, controls are refused, and the
    /// line is bounded.
    fn in_line(&mut self, b: u8, stay: Step, on_cr: Step) -> Result<Step, BodyError> {
        self.line += 1;
        if self.line > MAX_CHUNK_LINE {
            return Err(BodyError::Invalid("chunk extension too long"));
        }
        match b {
            b'\r' => Ok(on_cr),
            b'\t' => Ok(stay),
            _ if b < 0x20 || b == 0x7f => {
                Err(BodyError::Invalid("control character in chunk extension"))
            }
            _ => Ok(stay),
        }
    }

    /// After a complete chunk-size line: data follows, or the last chunk.
    fn start_chunk(&mut self) -> Result<Step, BodyError> {
        if self.size == 0 {
            return Ok(Step::TrailerStart);
        }
        self.total = self.total.saturating_add(self.size);
        if self.total > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        Ok(Step::Data(self.size))
    }

    fn count_trailer(&mut self) -> Result<(), BodyError> {
        self.trailers += 1;
        if self.trailers > MAX_TRAILERS {
            return Err(BodyError::Invalid("trailers too long"));
        }
        Ok(())
    }

    fn check_trailer_byte(&self, b: u8) -> Result<(), BodyError> {
        if (b < 0x20 && b != b'\t') || b == 0x7f {
            return Err(BodyError::Invalid("control character in trailer"));
        }
        Ok(())
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

    /// Feeds `input` one byte at a time and all at once; both must agree.
    fn decode(input: &[u8]) -> Result<usize, BodyError> {
        let mut whole = ChunkedDecoder::new();
        let all_at_once = match whole.feed(input)? {
            (n, true) => n,
            (_, false) => return Err(BodyError::Invalid("incomplete")),
        };
        let mut bytewise = ChunkedDecoder::new();
        for (i, b) in input.iter().enumerate() {
            let (n, done) = bytewise.feed(std::slice::from_ref(b))?;
            if done {
                assert_eq!(i + 1, all_at_once);
                return Ok(all_at_once);
            }
            assert_eq!(n, 1);
        }
        panic!("byte-wise decoding never finished");
    }

    #[test]
    fn chunked_valid() {
        let cases: &[&[u8]] = &[
            b"0\r\n\r\n",
            b"5\r\nhello\r\n0\r\n\r\n",
            b"5;name=value\r\nhello\r\nA; a=\"quoted\"\r\n0123456789\r\n0\r\n\r\n",
            b"5 \t;x\r\nhello\r\n0\r\n\r\n",
            b"3\r\nabc\r\n0\r\nTrailer: x\r\nAnother: y\r\n\r\n",
            b"00000003\r\nabc\r\n000\r\n\r\n",
            b"a\r\n\r\n\r\n\r\n\r\n\r\n\r\n0\r\n\r\n",
        ];
        for input in cases {
            let text = String::from_utf8_lossy(input);
            assert_eq!(decode(input), Ok(input.len()), "{text:?}");
        }
    }

    #[test]
    fn chunked_leaves_the_next_request_alone() {
        let input = b"2\r\nab\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
        let mut d = ChunkedDecoder::new();
        assert_eq!(d.feed(input), Ok((12, true)));
    }

    #[test]
    fn chunked_invalid() {
        use BodyError::*;
        let no_size = Invalid("chunk size missing");
        let bad_size = Invalid("invalid chunk size");
        let space = Invalid("whitespace after chunk size");
        let too_long = Invalid("chunk data longer than its size");
        let overflow = Invalid("chunk size overflows");
        let trailer_cr = Invalid("CR without LF in trailers");
        let cases: &[(&[u8], BodyError)] = &[
            (b"\r\n", no_size),
            (b"g\r\n", no_size),
            (b"-1\r\n", no_size),
            (b"0x5\r\n", bad_size),
            (b"5\nhello\r\n", bad_size),
            (b"5 \r\nhello\r\n", space),
            (b"5 x\r\nhello\r\n", space),
            (b"5\r\rhello", Invalid("CR without LF in chunk size line")),
            (b"5\r\nhelloX\r\n", too_long),
            (b"5\r\nhello\n0\r\n\r\n", too_long),
            (b"5\r\nhello\rX", Invalid("CR without LF after chunk data")),
            (b"10000000000000000\r\n", overflow),
            (b"ffffffffffffffff0\r\n", overflow),
            (b"100001\r\n", TooLarge),
            (
                b"1;a\x00b\r\n",
                Invalid("control character in chunk extension"),
            ),
            (
                b"0\r\nX: a\x01\r\n\r\n",
                Invalid("control character in trailer"),
            ),
            (b"0\r\nX: a\rb\r\n\r\n", trailer_cr),
            (b"0\r\n\rX", trailer_cr),
        ];
        for (input, want) in cases {
            let mut d = ChunkedDecoder::new();
            let text = String::from_utf8_lossy(input);
            assert_eq!(d.feed(input).err(), Some(*want), "{text:?}");
        }
    }

    #[test]
    fn chunked_total_and_extension_bounds() {
        let mut d = ChunkedDecoder::new();
        let chunk = b"80000\r\n";
        assert!(d.feed(chunk).is_ok());
        assert!(d.feed(&vec![b'x'; 0x80000]).is_ok());
        assert!(d.feed(b"\r\n").is_ok());
        assert!(d.feed(chunk).is_ok(), "exactly MAX_BODY is allowed");
        let mut d2 = ChunkedDecoder::new();
        let mut long_ext = b"1;".to_vec();
        long_ext.resize(MAX_CHUNK_LINE + 10, b'a');
        assert_eq!(
            d2.feed(&long_ext).err(),
            Some(BodyError::Invalid("chunk extension too long"))
        );
    }
}
