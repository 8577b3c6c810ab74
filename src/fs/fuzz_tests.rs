//! A deterministic mutation fuzzer for everything that reads bytes from the
//! network: the head parser, body framing, the chunked decoder, target
//! splitting, percent-decoding and the resolver.
//!
//! Valid requests and targets are mutated (bit flips, interesting bytes,
//! truncation, splicing, repetition, insertion, deletion) by a seeded
//! generator, so a failure is reproducible from its case number. Each result
//! must be a request or an error that maps to a 4xx/5xx status, never a
//! panic, and the invariants between the pieces must hold. The default case
//! count keeps `cargo test` quick; `TINYHTTPD_FUZZ_CASES` raises it.
#![forbid(unsafe_code)]

use crate::fs::resolve::Resolved;
use crate::fs::resolve::tests::Fixture;
use crate::http::chunked::ChunkedDecoder;
use crate::http::error::HttpError;
use crate::http::request::{self, Parsed};
use crate::http::request_body::{self, Framing};

const DEFAULT_CASES: usize = 100_000;

fn case_count() -> usize {
    std::env::var("TINYHTTPD_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// xorshift64*: small, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEED_REQUESTS: &[&[u8]] = &[
    b"GET /site/index.html HTTP/1.1\r\nHost: localhost:8080\r\nAccept: text/html\r\n\r\n",
    b"GET http://localhost/dir/a+b.txt?x=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    b"HEAD /dir/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST /dir/sub/ HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nT: v\r\n\r\n",
    b"GET /file.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1,5-\r\nIf-Range: \"abc\"\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: [::1]:80\r\nExpect: 100-continue\r\n\r\n",
    b"\r\nGET /%64ir/sub HTTP/1.1\nHost: a\n\n",
];

const SEED_TARGETS: &[&str] = &[
    "/",
    "/dir/",
    "/dir",
    "/file.txt",
    "/dir/sub/../a+b.txt",
    "/%2e%2e/secret.txt",
    "/a%20b%2Bc",
    "http://host/dir/?q=1",
    "/caf%C3%A9.txt",
    "/.env",
    "/up/secret.txt",
    "/inside",
    "/site/",
];

/// Interesting bytes for the parser: delimiters, controls, escapes.
const SPICE: &[u8] = b"\r\n\t :;,/%.\\\"=-?#\x00\x7f\xff\xc0\xae0123456789abcdefABCDEF";

fn mutate(rng: &mut Rng, input: &[u8], others: &[&[u8]]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(3) {
        let len = out.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = SPICE[rng.below(SPICE.len())];
            }
            2 => out.truncate(rng.below(len + 1)),
            3 => {
                let other = others[rng.below(others.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(16)).min(len);
                let piece = out[start..end].to_vec();
                for _ in 0..1 + rng.below(8) {
                    out.splice(start..start, piece.iter().copied());
                }
            }
            5 => {
                let i = rng.below(len + 1);
                out.insert(i, SPICE[rng.below(SPICE.len())]);
            }
            6 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(8)).min(len);
                out.drain(start..end);
            }
            _ => {
                let i = rng.below(len + 1);
                out.insert(i, rng.next() as u8);
            }
        }
    }
    out
}

fn assert_error_status(error: HttpError, input: &[u8]) {
    let code = error.status().code();
    assert!((400..600).contains(&code), "status {code} for {input:?}");
}

/// How far into the server one input got.
#[derive(Debug, Default)]
struct Reach {
    partial: usize,
    rejected: usize,
    requests: usize,
    served: usize,
}

/// Runs one input through parsing and framing, checking the invariants.
fn check_head(input: &[u8], fixture: &Fixture, reach: &mut Reach) {
    match request::parse(input) {
        Ok(Parsed::Partial) => reach.partial += 1,
        Ok(Parsed::Complete(request, n)) => {
            reach.requests += 1;
            // Where a head ends depends on the head alone: the same bytes
            // without what follows them end at the same place.
            assert!(
                matches!(request::parse(&input[..n]), Ok(Parsed::Complete(_, m)) if m == n),
                "{input:?}"
            );
            if check_request(&request, &input[n..], fixture) {
                reach.served += 1;
            }
        }
        Err(e) => {
            reach.rejected += 1;
            assert_error_status(e.into(), input);
        }
    }
}

/// Returns whether the target resolved to something servable.
fn check_request(request: &request::Request<'_>, rest: &[u8], fixture: &Fixture) -> bool {
    match request_body::framing(request) {
        Ok(Framing::Length(n)) => assert!(n <= request_body::MAX_BODY),
        Ok(Framing::Chunked) => {
            let mut decoder = ChunkedDecoder::new();
            match decoder.feed(rest) {
                Ok((used, _)) => assert!(used <= rest.len()),
                Err(e) => assert_error_status(e.into(), rest),
            }
        }
        Err(e) => assert_error_status(e.into(), rest),
    }
    request.target != "*" && check_target(request.target, fixture)
}

/// A target resolves inside the root, to a redirect that stays on this
/// server, or to an error status, and the fast (`openat2`) and slow
/// (canonicalize) ways agree. Returns whether it resolved.
fn check_target(target: &str, fixture: &Fixture) -> bool {
    match fixture.resolve(target) {
        Ok(Resolved::File { path, .. }) | Ok(Resolved::Directory { path, .. }) => {
            assert!(
                path.starts_with(&fixture.root),
                "{target} resolved to {path:?}"
            );
            true
        }
        Ok(Resolved::Redirect { location }) => {
            assert!(
                location.starts_with('/') && !location.starts_with("//"),
                "{target} -> {location}"
            );
            true
        }
        Err(e) => {
            assert_error_status(e, target.as_bytes());
            false
        }
    }
}

#[test]
fn mutated_requests() {
    let fixture = Fixture::new("fuzz-requests");
    let mut rng = Rng(0x7469_6e79_6874_7470);
    let mut reach = Reach::default();
    let cases = case_count();
    for case in 0..cases {
        let seed = SEED_REQUESTS[case % SEED_REQUESTS.len()];
        let input = mutate(&mut rng, seed, SEED_REQUESTS);
        check_head(&input, &fixture, &mut reach);
    }
    // The mutations must keep reaching every stage, or the fuzzer is only
    // exercising the first bytes of the parser.
    println!("{cases} cases: {reach:?}");
    for (stage, count) in [
        ("partial", reach.partial),
        ("rejected", reach.rejected),
        ("complete", reach.requests),
        ("resolved", reach.served),
    ] {
        assert!(
            count * 20 > cases,
            "only {count} of {cases} cases were {stage}: {reach:?}"
        );
    }
}

#[test]
fn mutated_targets() {
    let fixture = Fixture::new("fuzz-targets");
    let targets: Vec<&[u8]> = SEED_TARGETS.iter().map(|t| t.as_bytes()).collect();
    let mut rng = Rng(0x7061_7468_7321_0001);
    let cases = case_count() / 3;
    let mut resolved = 0;
    for case in 0..cases {
        let seed = targets[case % targets.len()];
        let input = mutate(&mut rng, seed, &targets);
        // Only what the parser lets through reaches the resolver.
        let head = [b"GET ".as_slice(), &input, b" HTTP/1.1\r\nHost: a\r\n\r\n"].concat();
        if let Ok(Parsed::Complete(request, _)) = request::parse(&head) {
            resolved += usize::from(check_target(request.target, &fixture));
        }
    }
    println!("{cases} targets, {resolved} resolved");
    assert!(
        resolved * 20 > cases,
        "only {resolved} of {cases} targets resolved"
    );
}

#[test]
fn the_generator_is_deterministic() {
    let (mut a, mut b) = (Rng(42), Rng(42));
    let xs: Vec<u64> = (0..8).map(|_| a.next()).collect();
    let ys: Vec<u64> = (0..8).map(|_| b.next()).collect();
    assert_eq!(xs, ys);
    assert_ne!(xs[0], xs[1]);
}
