//! Byte ranges (RFC 9110 section 14): parsing a `Range` field against a
//! representation's length, and laying out a `multipart/byteranges` body.
//!
//! Ranges are half-open, `[start, start + len)`. Everything here is pure:
//! `serve::files` decides when a `Range` applies (GET only, after `If-Range`), and the
//! response writer sends the bytes.
#![forbid(unsafe_code)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::SystemTime;

use crate::http::syntax::list_members;

/// More range-specs than this in one request and the whole `Range` field is
/// ignored: the file is sent whole with 200. A media player asks for one
/// range, a PDF viewer for a handful; hundreds of small or overlapping ranges
/// are the shape of the 2011 "Apache Killer" (CVE-2011-3192), which made a
/// server build a huge response out of a tiny request. Sending the file once
/// costs no more than a plain GET, so it is the safe answer.
pub const MAX_RANGES: usize = 32;

/// A satisfiable range, clamped to the representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub len: u64,
}

impl ByteRange {
    fn end(self) -> u64 {
        self.start + self.len
    }

    /// `first-last/complete` as in Content-Range (section 14.4).
    pub fn content_range(self, complete: u64) -> String {
        format!("bytes {}-{}/{complete}", self.start, self.end() - 1)
    }
}

/// What to do with a `Range` field.
#[derive(Debug, PartialEq, Eq)]
pub enum Ranges {
    /// Serve the whole representation with 200: the field is invalid, names
    /// another unit, asks for too many ranges, or the representation is empty.
    Ignore,
    /// No range overlaps the representation: 416.
    Unsatisfiable,
    /// One or more disjoint ranges, in ascending order, non-adjacent.
    Satisfiable(Vec<ByteRange>),
}

/// Interprets `value` (one `Range` field) for a representation of `len` bytes.
pub fn parse(value: &[u8], len: u64) -> Ranges {
    let Some(set) = strip_bytes_unit(value) else {
        return Ranges::Ignore;
    };
    let mut ranges = Vec::new();
    let mut specs = 0;
    for spec in list_members(set) {
        specs += 1;
        if specs > MAX_RANGES {
            return Ranges::Ignore;
        }
        match parse_spec(spec, len) {
            Spec::Invalid => return Ranges::Ignore,
            Spec::Unsatisfiable => {}
            Spec::Range(range) => ranges.push(range),
        }
    }
    if specs == 0 {
        return Ranges::Ignore;
    }
    // A zero-length file has no byte to name; section 14.2 lets a server
    // ignore Range, and the whole (empty) file is the useful answer.
    if len == 0 {
        return Ranges::Ignore;
    }
    if ranges.is_empty() {
        return Ranges::Unsatisfiable;
    }
    Ranges::Satisfiable(coalesce(ranges))
}

/// `bytes=` with the unit compared case-insensitively (section 14.1); the
/// grammar allows no whitespace around the `=`.
fn strip_bytes_unit(value: &[u8]) -> Option<&[u8]> {
    let (unit, rest) = value.split_at_checked(6)?;
    let starts_with_space = rest.first().is_some_and(|&b| b == b' ' || b == b'\t');
    (unit.eq_ignore_ascii_case(b"bytes=") && !starts_with_space).then_some(rest)
}

enum Spec {
    Invalid,
    Unsatisfiable,
    Range(ByteRange),
}

/// int-range = first-pos "-" [ last-pos ]; suffix-range = "-" suffix-length.
fn parse_spec(spec: &[u8], len: u64) -> Spec {
    let Some(dash) = spec.iter().position(|&b| b == b'-') else {
        return Spec::Invalid;
    };
    let (first, last) = (&spec[..dash], &spec[dash + 1..]);
    if first.is_empty() {
        let Some(suffix) = digits(last) else {
            return Spec::Invalid;
        };
        // The last `suffix` bytes, or the whole file if it is shorter.
        return match suffix.min(len) {
            0 => Spec::Unsatisfiable,
            n => Spec::Range(ByteRange {
                start: len - n,
                len: n,
            }),
        };
    }
    let Some(first) = digits(first) else {
        return Spec::Invalid;
    };
    let last = if last.is_empty() {
        None
    } else {
        match digits(last) {
            Some(last) if last >= first => Some(last),
            // Section 14.1.1: last-pos < first-pos makes the spec invalid.
            _ => return Spec::Invalid,
        }
    };
    if first >= len {
        return Spec::Unsatisfiable;
    }
    let end = last.map_or(len, |last| last.saturating_add(1).min(len));
    Spec::Range(ByteRange {
        start: first,
        len: end - first,
    })
}

/// 1*DIGIT. A number too large for u64 saturates: it is still a valid
/// position, just one past the end of any file.
fn digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0u64, |n, &b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// Sorts ranges and merges the ones that overlap or touch (section 14.6 lets
/// a server coalesce), so no byte is sent twice.
fn coalesce(mut ranges: Vec<ByteRange>) -> Vec<ByteRange> {
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end() => {
                last.len = last.end().max(range.end()) - last.start;
            }
            _ => merged.push(range),
        }
    }
    merged
}

/// One part of a `multipart/byteranges` body: the delimiter and part fields
/// that precede it, then `range` of the file.
#[derive(Debug, PartialEq, Eq)]
pub struct Part {
    pub head: Vec<u8>,
    pub range: ByteRange,
}

/// Lays out a `multipart/byteranges` body (section 14.6, RFC 2046 section
/// 5.1): the parts, and the closing delimiter that ends the body.
pub fn multipart(
    ranges: &[ByteRange],
    content_type: &str,
    complete: u64,
    boundary: &str,
) -> (Vec<Part>, Vec<u8>) {
    let parts = ranges
        .iter()
        .enumerate()
        .map(|(i, &range)| {
            // Every delimiter but the first starts on a new line after the
            // previous part's bytes.
            let newline = if i == 0 { "" } else { "\r\n" };
            let head = format!(
                "{newline}--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: {}\r\n\r\n",
                range.content_range(complete)
            );
            Part {
                head: head.into_bytes(),
                range,
            }
        })
        .collect();
    let closing = format!("\r\n--{boundary}--\r\n").into_bytes();
    (parts, closing)
}

/// A boundary no file can be expected to contain: 128 bits from a hasher
/// keyed with per-process random keys (std's `RandomState`), mixed with the
/// time, so it is unpredictable to whoever wrote the file.
pub fn boundary() -> String {
    let state = RandomState::new();
    let mut words = [0u64; 2];
    for (i, word) in words.iter_mut().enumerate() {
        let mut hasher = state.build_hasher();
        hasher.write_usize(i);
        if let Ok(now) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
            hasher.write_u128(now.as_nanos());
        }
        *word = hasher.finish();
    }
    format!("tinyhttpd-{:016x}{:016x}", words[0], words[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, len: u64) -> ByteRange {
        ByteRange { start, len }
    }

    #[test]
    fn parse_table() {
        use Ranges::*;
        let all = || Satisfiable(vec![r(0, 100)]);
        let cases: Vec<(&str, u64, Ranges)> = vec![
            ("bytes=0-1", 100, Satisfiable(vec![r(0, 2)])),
            ("bytes=0-0", 100, Satisfiable(vec![r(0, 1)])),
            ("BYTES=10-19", 100, Satisfiable(vec![r(10, 10)])),
            ("bytes=90-", 100, Satisfiable(vec![r(90, 10)])),
            ("bytes=-10", 100, Satisfiable(vec![r(90, 10)])),
            ("bytes=-500", 100, all()),
            ("bytes=50-500", 100, Satisfiable(vec![r(50, 50)])),
            ("bytes=99-99", 100, Satisfiable(vec![r(99, 1)])),
            ("bytes=0-99999999999999999999999", 100, all()),
            ("bytes=-99999999999999999999999", 100, all()),
            ("bytes=0-1,4-5", 100, Satisfiable(vec![r(0, 2), r(4, 2)])),
            ("bytes=0-1, 4-5", 100, Satisfiable(vec![r(0, 2), r(4, 2)])),
            ("bytes=0-1,,2-3", 100, Satisfiable(vec![r(0, 4)])),
            ("bytes=4-5,0-1", 100, Satisfiable(vec![r(0, 2), r(4, 2)])),
            ("bytes=0-10,5-20", 100, Satisfiable(vec![r(0, 21)])),
            ("bytes=0-1,2-3", 100, Satisfiable(vec![r(0, 4)])),
            ("bytes=0-1,200-300", 100, Satisfiable(vec![r(0, 2)])),
            ("bytes=-0,0-0", 100, Satisfiable(vec![r(0, 1)])),
            ("bytes=100-", 100, Unsatisfiable),
            ("bytes=100-200", 100, Unsatisfiable),
            ("bytes=-0", 100, Unsatisfiable),
            ("bytes=99999999999999999999999-", 100, Unsatisfiable),
            ("bytes=200-300,400-", 100, Unsatisfiable),
            ("bytes=5-4", 100, Ignore),
            ("bytes=--5", 100, Ignore),
            ("bytes= 0-1", 100, Ignore),
            ("bytes =0-1", 100, Ignore),
            ("bytes=0-1 ,2-3", 100, Satisfiable(vec![r(0, 4)])),
            ("bytes=", 100, Ignore),
            ("bytes=,", 100, Ignore),
            ("bytes=-", 100, Ignore),
            ("bytes=a-b", 100, Ignore),
            ("bytes=0x1-2", 100, Ignore),
            ("bytes=+1-2", 100, Ignore),
            ("bytes=1-2-3", 100, Ignore),
            ("bytes=1", 100, Ignore),
            ("bytes=0-1,5-4", 100, Ignore),
            ("items=0-1", 100, Ignore),
            ("bytes", 100, Ignore),
            ("", 100, Ignore),
            ("bytes=0-1", 0, Ignore),
            ("bytes=-5", 0, Ignore),
        ];
        for (value, len, want) in cases {
            assert_eq!(parse(value.as_bytes(), len), want, "{value:?} of {len}");
        }
    }

    #[test]
    fn too_many_ranges_are_ignored() {
        let ok: Vec<String> = (0..MAX_RANGES)
            .map(|i| format!("{}-{}", i * 10, i * 10))
            .collect();
        let value = format!("bytes={}", ok.join(","));
        assert!(
            matches!(parse(value.as_bytes(), 1000), Ranges::Satisfiable(v) if v.len() == MAX_RANGES)
        );
        let value = format!("bytes={},999-999", ok.join(","));
        assert_eq!(parse(value.as_bytes(), 1000), Ranges::Ignore);
        // The Apache Killer shape: many overlapping ranges.
        let killer = format!(
            "bytes=0-,{}",
            (1..1300)
                .map(|i| format!("5-{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(parse(killer.as_bytes(), 10_000), Ranges::Ignore);
    }

    #[test]
    fn content_range_strings() {
        assert_eq!(r(0, 2).content_range(100), "bytes 0-1/100");
        assert_eq!(r(90, 10).content_range(100), "bytes 90-99/100");
    }

    #[test]
    fn multipart_layout() {
        let (parts, closing) = multipart(&[r(0, 2), r(5, 3)], "text/plain", 10, "B");
        assert_eq!(parts.len(), 2);
        assert_eq!(
            String::from_utf8_lossy(&parts[0].head),
            "--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n"
        );
        assert_eq!(
            String::from_utf8_lossy(&parts[1].head),
            "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-7/10\r\n\r\n"
        );
        assert_eq!(parts[1].range, r(5, 3));
        assert_eq!(closing, b"\r\n--B--\r\n");
    }

    #[test]
    fn boundaries_differ() {
        let (a, b) = (boundary(), boundary());
        assert_ne!(a, b);
        assert_eq!(a.len(), "tinyhttpd-".len() + 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
    }
}
