//! The chunked transfer coding (RFC 9112 section 7.1), both ways.
//!
//! `ChunkedDecoder` is a pure state machine fed whatever bytes a connection
//! has: it says how many belong to the body, which of them are data, and
//! when the body ends, so the bytes after it (the next request) are left
//! alone. It is strict (CRLF everywhere, sizes that fit a u64, bounded
//! extensions and trailers) and bounded in total: `MAX_BODY` for a body that
//! is dropped, no bound for one the proxy passes on. `encode` writes chunks.
//!
//! No I/O happens here.
#![forbid(unsafe_code)]

use std::ops::Range;

use crate::http::request_body::{BodyError, MAX_BODY};

/// The longest chunk-size line (size and extensions) accepted.
const MAX_CHUNK_LINE: usize = 4096;
/// The most bytes of trailer fields accepted.
const MAX_TRAILERS: usize = 8192;
/// The last chunk and the empty trailer section that end a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Appends `data` to `out` as one chunk (nothing for no data: an empty chunk
/// would end the body).
pub fn encode(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let digits = format!("{:x}\r\n", data.len());
    out.extend_from_slice(digits.as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// What one call of `ChunkedDecoder::decode` found.
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded {
    /// How many bytes of the input belong to the body.
    pub used: usize,
    /// Where, in the input, the chunk data among them are (empty if none).
    pub data: Range<usize>,
    /// Whether the body has ended.
    pub done: bool,
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

/// Decodes a chunked body, strictly: CRLF everywhere, hex
/// sizes that fit in a u64, bounded extensions and trailers, and a bounded
/// total size.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: Step,
    size: u64,
    total: u64,
    /// The most data bytes the body may hold.
    limit: u64,
    line: usize,
    trailers: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder for a body of at most `MAX_BODY` bytes of data.
    pub fn new() -> Self {
        Self::with_limit(MAX_BODY)
    }

    /// A decoder for a body of at most `limit` bytes of data.
    pub fn with_limit(limit: u64) -> Self {
        ChunkedDecoder {
            state: Step::Size { digits: 0 },
            size: 0,
            total: 0,
            limit,
            line: 0,
            trailers: 0,
        }
    }

    /// Consumes as much of `input` as belongs to the body, ignoring its
    /// data. Returns how many bytes were used and whether the body is
    /// complete; bytes after the end are left for the next request.
    /// (The server reads bodies with `decode`; the tests, and the fuzzer,
    /// with this.)
    #[cfg(test)]
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, bool), BodyError> {
        let mut used = 0;
        loop {
            let decoded = self.decode(&input[used..])?;
            used += decoded.used;
            if decoded.done || used == input.len() {
                return Ok((used, decoded.done));
            }
        }
    }

    /// Consumes `input` up to the end of its first run of chunk data (or
    /// all of it, or up to the body's end), and says where that data is.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, BodyError> {
        let mut used = 0;
        while used < input.len() && self.state != Step::Done {
            if let Step::Data(left) = self.state {
                let available = (input.len() - used) as u64;
                let take = left.min(available);
                let start = used;
                used += take as usize;
                self.state = if take == left {
                    Step::DataCr
                } else {
                    Step::Data(left - take)
                };
                return Ok(Decoded {
                    used,
                    data: start..used,
                    done: false,
                });
            }
            self.step(input[used])?;
            used += 1;
        }
        Ok(Decoded {
            used,
            data: used..used,
            done: self.state == Step::Done,
        })
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
        if self.total > self.limit {
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

    #[test]
    fn decode_says_where_the_data_is_and_encode_makes_what_it_reads() {
        let mut body = Vec::new();
        encode(&mut body, b"hello");
        encode(&mut body, b"");
        encode(&mut body, &[b'x'; 300]);
        body.extend_from_slice(LAST_CHUNK);
        assert!(body.starts_with(b"5\r\nhello\r\n12c\r\n"));
        let mut decoder = ChunkedDecoder::with_limit(u64::MAX);
        let mut data = Vec::new();
        let mut at = 0;
        // Fed in pieces of 7 bytes, as a socket might deliver it.
        while at < body.len() {
            let end = (at + 7).min(body.len());
            let mut piece = &body[at..end];
            loop {
                let decoded = decoder.decode(piece).unwrap();
                data.extend_from_slice(&piece[decoded.data.clone()]);
                piece = &piece[decoded.used..];
                if decoded.done {
                    assert!(piece.is_empty() && end == body.len());
                }
                if piece.is_empty() {
                    break;
                }
            }
            at = end;
        }
        assert_eq!(data.len(), 305);
        assert!(data.starts_with(b"hellox"));
        let mut unlimited = ChunkedDecoder::with_limit(u64::MAX);
        assert!(unlimited.feed(b"100001\r\n").is_ok());
    }
}
