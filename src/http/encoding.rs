//! Choosing a precompressed variant from `Accept-Encoding` (RFC 9110
//! section 12.5.3).
//!
//! When `app.js.br` or `app.js.gz` sits next to `app.js`, a client that
//! accepts that coding gets the compressed file, byte for byte as it is on
//! disk. This module only reads the client's preferences: q-values honoured,
//! `q=0` meaning "not this one", `*` standing for codings not named, and no
//! `Accept-Encoding` at all meaning the plain file.
#![forbid(unsafe_code)]

use crate::http::request::Request;
use crate::http::syntax::{list_members, split_parameters, weight};

/// A content coding a precompressed variant can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    /// The token in `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        }
    }

    /// The file-name suffix of the variant.
    pub fn suffix(self) -> &'static str {
        match self {
            Coding::Brotli => ".br",
            Coding::Gzip => ".gz",
        }
    }
}

/// The codings the client accepts, most preferred first; Brotli before gzip
/// when the client likes both equally, as it is the smaller.
pub fn acceptable(request: &Request<'_>) -> Vec<Coding> {
    let mut found = false;
    let mut brotli = None;
    let mut gzip = None;
    let mut any = None;
    for value in request.values("accept-encoding") {
        found = true;
        for member in list_members(value) {
            let Some((coding, q)) = parse_member(member) else {
                continue;
            };
            let slot = if coding.eq_ignore_ascii_case(b"br") {
                &mut brotli
            } else if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip")
            {
                &mut gzip
            } else if coding == b"*" {
                &mut any
            } else {
                continue;
            };
            *slot = Some(q);
        }
    }
    if !found {
        return Vec::new();
    }
    let mut ranked: Vec<(u16, Coding)> = [(brotli, Coding::Brotli), (gzip, Coding::Gzip)]
        .into_iter()
        .filter_map(|(q, coding)| {
            let q = q.or(any).unwrap_or(0);
            (q > 0).then_some((q, coding))
        })
        .collect();
    // Stable: equal weights keep Brotli first.
    ranked.sort_by_key(|&(q, _)| std::cmp::Reverse(q));
    ranked.into_iter().map(|(_, coding)| coding).collect()
}

/// `coding [ ; q=qvalue ]`, the weight in thousandths. Other parameters
/// are not defined for Accept-Encoding; a member with one, or with a
/// malformed weight, is skipped.
fn parse_member(member: &[u8]) -> Option<(&[u8], u16)> {
    let (coding, parameters) = split_parameters(member);
    let mut q = 1000;
    for parameter in parameters {
        q = weight(parameter)??;
    }
    Some((coding, q))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::{Parsed, parse};
    use Coding::*;

    fn accepted(values: &[&str]) -> Vec<Coding> {
        let mut head = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for v in values {
            head.push_str(&format!("Accept-Encoding: {v}\r\n"));
        }
        head.push_str("\r\n");
        match parse(head.as_bytes()) {
            Ok(Parsed::Complete(request, _)) => acceptable(&request),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn negotiation_table() {
        let cases: &[(&[&str], &[Coding])] = &[
            (&[], &[]),
            (&[""], &[]),
            (&["identity"], &[]),
            (&["gzip"], &[Gzip]),
            (&["x-gzip"], &[Gzip]),
            (&["GZIP, BR"], &[Brotli, Gzip]),
            (&["gzip, deflate, br, zstd"], &[Brotli, Gzip]),
            (&["gzip;q=1.0, br;q=0.5"], &[Gzip, Brotli]),
            (&["br;q=0"], &[]),
            (&["br;q=0, gzip"], &[Gzip]),
            (&["br; q=0.000, gzip;q=0.001"], &[Gzip]),
            (&["*"], &[Brotli, Gzip]),
            (&["*;q=0"], &[]),
            (&["*;q=0.5, gzip;q=0.8"], &[Gzip, Brotli]),
            (&["*, br;q=0"], &[Gzip]),
            (&["gzip", "br"], &[Brotli, Gzip]),
            (&["br;q=2"], &[]),
            (&["br;q=0.5000"], &[]),
            (&["br;q=1.001"], &[]),
            (&["br;level=3"], &[]),
            (&["br;q=abc, gzip"], &[Gzip]),
        ];
        for (values, want) in cases {
            assert_eq!(accepted(values), *want, "{values:?}");
        }
    }
}
