//! What a backend's response head means for the client, read in the one
//! pass that parses it: its status, its fields as the client gets them
//! (`fields`), how its body is framed, whether the connection can be kept,
//! and whether the page takes the live-reload script; and an interim
//! response rewritten as ours.
//!
//! Imports `http` and `fields` beside it.
#![forbid(unsafe_code)]

use crate::http::response::Status;
use crate::http::response_head::{self, BodyFraming, ResponseHead};
use crate::http::syntax::list_members;
use crate::serve::proxy::Forward;
use crate::serve::proxy::fields;

/// The largest page the live-reload script is put into; a larger one
/// passes untouched.
const MAX_INJECTED: u64 = 4 * 1024 * 1024;

/// What the answer needs of a backend's final head: its status, its fields
/// as the client gets them, how its body is framed, and what to do with it.
#[derive(Debug)]
pub struct BackendHead {
    pub code: u16,
    pub fields: Vec<u8>,
    pub framing: BodyFraming,
    /// The length a bodiless answer (to HEAD) declares.
    pub declared: Option<u64>,
    /// The backend keeps the connection open after this answer.
    pub keep_alive: bool,
    /// The page gets the live-reload script.
    pub script: bool,
}

impl BackendHead {
    /// What `head` says, for the request `forward`; the error says why it
    /// cannot be passed on.
    pub fn of(head: &ResponseHead<'_>, forward: &Forward) -> Result<BackendHead, &'static str> {
        if head.code == 101 && !forward.upgrade {
            return Err("a 101 to a request that asked for no upgrade");
        }
        let framing = response_head::body_framing(head, forward.to_head)?;
        // The body is re-chunked on its way: a coding besides chunked would
        // reach the client undone (RFC 9112 section 6.1).
        let mut codings = head.values("transfer-encoding").flat_map(list_members);
        if codings.any(|c| !c.eq_ignore_ascii_case(b"chunked")) {
            return Err("a transfer coding other than chunked");
        }
        let fits = match framing {
            BodyFraming::Length(len) => len <= MAX_INJECTED,
            BodyFraming::Chunked | BodyFraming::UntilClose => true,
            BodyFraming::None => false,
        };
        let script = forward.inject && head.code == 200 && fits && is_plain_html(head);
        // The page changes: its validator goes.
        let omit: &[&str] = if script { &["etag"] } else { &[] };
        Ok(BackendHead {
            code: head.code,
            fields: fields::response_fields(head, omit),
            framing,
            declared: declared_length(head),
            keep_alive: head.minor >= 1 && !head.has_token("connection", "close"),
            script,
        })
    }
}

/// Appends the interim response `head` for the client: its status line
/// and its fields, as a final response's are passed on.
pub fn keep_interim(interim: &mut Vec<u8>, head: &ResponseHead<'_>) {
    let status = Status::Relayed(head.code);
    let line = format!("HTTP/1.1 {} {}\r\n", head.code, status.reason());
    interim.extend_from_slice(line.as_bytes());
    interim.extend_from_slice(&fields::response_fields(head, &[]));
    interim.extend_from_slice(b"\r\n");
}

/// A page the script can go into: HTML, not compressed.
fn is_plain_html(head: &ResponseHead<'_>) -> bool {
    let html = head
        .values("content-type")
        .next()
        .is_some_and(|value| value.len() >= 9 && value[..9].eq_ignore_ascii_case(b"text/html"));
    let encoded = head
        .values("content-encoding")
        .any(|value| !value.eq_ignore_ascii_case(b"identity"));
    html && !encoded
}

/// The Content-Length of a response that has no body (to HEAD), passed on.
fn declared_length(head: &ResponseHead<'_>) -> Option<u64> {
    let value = head.values("content-length").next()?;
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_head<T>(text: &[u8], f: impl FnOnce(&ResponseHead<'_>) -> T) -> T {
        match response_head::parse(text) {
            Ok(Some((head, _))) => f(&head),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_plain_html_pages_take_the_script() {
        let cases: [(&[u8], bool); 5] = [
            (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", true),
            (
                b"HTTP/1.1 200 OK\r\nContent-Type: TEXT/HTML; charset=utf-8\r\n\
                  Content-Encoding: identity\r\n\r\n",
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n",
                false,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n",
                false,
            ),
            (b"HTTP/1.1 200 OK\r\n\r\n", false),
        ];
        for (text, want) in cases {
            let text_shown = String::from_utf8_lossy(text);
            assert_eq!(with_head(text, is_plain_html), want, "{text_shown}");
        }
    }

    #[test]
    fn interim_answers_are_rewritten_as_ours_and_a_head_keeps_its_length() {
        let mut interim = Vec::new();
        let hint =
            b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: x\r\n\r\n";
        with_head(hint, |head| keep_interim(&mut interim, head));
        assert_eq!(
            interim,
            b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nVia: 1.1 tinyhttpd\r\n\r\n"
        );
        let length = |text: &[u8]| with_head(text, declared_length);
        assert_eq!(
            length(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"),
            Some(1234)
        );
        assert_eq!(length(b"HTTP/1.1 200 OK\r\n\r\n"), None);
        assert_eq!(
            length(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
            None
        );
    }
}
