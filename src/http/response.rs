//! Responses and the one function that writes them.
//!
//! `serve` builds a `Response` (a status, its own header fields and a body)
//! and decides nothing about framing. `write` adds what every response carries
//! (`Date`, `Server`, `Content-Length`, `Connection`), leaves out the body
//! where HTTP forbids one (HEAD, 1xx, 204, 304) and sends file bodies with
//! `sendfile`. Keeping this in one place is what keeps those rules true for
//! every status the server can produce.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::sync::Arc;

use crate::http::INLINE_BODY;
use crate::http::date;
use crate::http::range::Part;
use crate::http::sender::{self, Sender};
use crate::sys;

pub use crate::http::status::Status;

/// What follows the head.
#[derive(Debug)]
pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// `len` bytes of a file's content starting at `offset`.
    File {
        content: Content,
        offset: u64,
        len: u64,
    },
    /// A body written by its own `Stream` after the head, as it comes (an
    /// event stream, a body relayed from the proxy's backend), framed as the
    /// stream says.
    Stream(Box<dyn Stream>),
    /// A `multipart/byteranges` body: each part's head, then its range of
    /// the content; then the closing delimiter.
    Multipart {
        content: Content,
        parts: Vec<Part>,
        closing: Vec<u8>,
    },
}

/// Where a file's bytes come from: a file opened for this response, or
/// what the file cache shares (`fs::cache`), held here until the response
/// is sent.
#[derive(Debug)]
pub enum Content {
    Open(File),
    /// A file shared between threads: read at explicit offsets only.
    Shared(Arc<File>),
    Bytes(Arc<[u8]>),
}

impl Content {
    /// Sends `len` bytes from `offset` after the response head waiting in
    /// `scratch`, as few system calls as it takes: cached bytes leave with
    /// the head in one vectored write, uncopied; a small file is read into
    /// the buffer behind the head and both leave in one write (one segment,
    /// one wake-up for the client); a larger one follows the head held back
    /// with MSG_MORE, zero-copy. The length was announced: a file that ends
    /// first shrank while being served.
    fn send_after(
        &self,
        out: &mut Sender,
        scratch: &mut Vec<u8>,
        offset: u64,
        len: u64,
    ) -> io::Result<()> {
        let file = match self {
            Content::Open(file) => file,
            Content::Shared(file) => file,
            Content::Bytes(bytes) => {
                let part = usize::try_from(offset)
                    .ok()
                    .and_then(|start| bytes.get(start..start.checked_add(len as usize)?))
                    .ok_or_else(sender::file_ended)?;
                return out.write_pair(scratch, part);
            }
        };
        if len <= INLINE_BODY {
            let head_len = scratch.len();
            scratch.resize(head_len + len as usize, 0);
            sys::read_exact_at(file, &mut scratch[head_len..], offset).map_err(|e| {
                match e.kind() {
                    io::ErrorKind::UnexpectedEof => sender::file_ended(),
                    _ => e,
                }
            })?;
            out.write_all(scratch, false)
        } else {
            out.write_all(scratch, true)?;
            out.send_file(file, offset, len)
        }
    }
}

impl Content {
    /// The first `len` bytes (as the file's metadata said), for a body that
    /// is rewritten before it is sent. A file that shrank since it was
    /// looked at gives what it now holds.
    pub fn read_all(&self, len: u64) -> io::Result<Vec<u8>> {
        let file = match self {
            Content::Open(file) => file,
            Content::Shared(file) => file,
            Content::Bytes(bytes) => {
                let end = usize::try_from(len).map_or(bytes.len(), |len| len.min(bytes.len()));
                return Ok(bytes[..end].to_vec());
            }
        };
        let mut buf = vec![0; usize::try_from(len).map_err(|_| io::ErrorKind::OutOfMemory)?];
        let filled = sys::read_up_to_at(file, &mut buf, 0)?;
        buf.truncate(filled);
        Ok(buf)
    }
}

/// How a streamed body's end is marked (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFraming {
    /// `Content-Length`: the stream writes exactly this many bytes.
    Length(u64),
    /// The chunked coding, which the stream writes (to HTTP/1.1 clients
    /// only, RFC 9112 section 7).
    Chunked,
    /// No length: the body ends when the connection does (item 8).
    UntilClose,
}

/// A body that writes itself, for as long as it lasts.
pub trait Stream: Send + std::fmt::Debug {
    fn framing(&self) -> StreamFraming;

    /// Field lines of its own for the head, `Name: value\r\n` each, written
    /// as they are (a relayed message's fields, whose bytes are kept).
    fn fields(&self) -> &[u8] {
        b""
    }

    /// Writes the response's `head` through `out`, then the body until it
    /// ends or the client leaves. Bytes of the body already at hand leave
    /// with the head, in one write.
    fn write_to(self: Box<Self>, out: &mut Sender, head: &[u8]) -> io::Result<()>;
}

impl Body {
    /// Whether the connection must close after this body, which has no
    /// length to end it otherwise.
    pub fn ends_with_connection(&self) -> bool {
        matches!(self, Body::Stream(stream) if stream.framing() == StreamFraming::UntilClose)
    }

    pub fn len(&self) -> u64 {
        match self {
            Body::Stream(stream) => match stream.framing() {
                StreamFraming::Length(len) => len,
                StreamFraming::Chunked | StreamFraming::UntilClose => 0,
            },
            Body::Empty => 0,
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::File { len, .. } => *len,
            Body::Multipart { parts, closing, .. } => {
                let parts: u64 = parts
                    .iter()
                    .map(|p| p.head.len() as u64 + p.range.len)
                    .sum();
                parts + closing.len() as u64
            }
        }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: Status,
    /// Fields particular to this response, in the order they are written.
    /// Static values (most of them) are borrowed, not copied.
    pub headers: Vec<(&'static str, Cow<'static, str>)>,
    pub body: Body,
    /// Why the status is what it is, for the access log (`304 (etag)`,
    /// `404 (hidden)`): the one route by which reasons reach the log.
    pub note: Option<Cow<'static, str>>,
}

impl Response {
    pub fn new(status: Status) -> Self {
        Response {
            status,
            // Room for a file response's fields without growing.
            headers: Vec::with_capacity(8),
            body: Body::Empty,
            note: None,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<Cow<'static, str>>) -> Self {
        self.add(name, value);
        self
    }

    /// `header` in place: on the hot paths, where each moved `Response` can
    /// cost a copy and a slot of stack.
    pub fn add(&mut self, name: &'static str, value: impl Into<Cow<'static, str>>) {
        self.headers.push((name, value.into()));
    }

    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// A small HTML page, as error responses and redirects carry.
    pub fn html(self, html: String) -> Self {
        self.header("Content-Type", "text/html; charset=utf-8")
            .body(Body::Bytes(html.into_bytes()))
    }
}

/// What the connection adds to the response's own `Connection` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// HTTP/1.1 default: say nothing.
    KeepAlive,
    /// An HTTP/1.0 client asked for keep-alive: echo it (RFC 9112 section 9.3).
    EchoKeepAlive,
    /// The server closes after this response: `Connection: close` (section 9.6).
    Close,
}

/// What `write` did: how many body bytes it handed to the kernel, and
/// whether the whole response went out.
#[derive(Debug)]
pub struct Written {
    pub body_sent: u64,
    pub result: io::Result<()>,
}

/// Writes `response` through `out`: the status line, the fields, and the
/// body unless `head_only` or the status forbids one. A file that turns out
/// shorter than announced is an error, and the caller must close the
/// connection rather than leave the client waiting for bytes that will never
/// come; so is a client that stops taking our bytes (see `sender`).
pub fn write(
    out: &mut Sender,
    scratch: &mut Vec<u8>,
    response: &Response,
    head_only: bool,
    persistence: Persistence,
) -> Written {
    scratch.clear();
    let status = response.status;
    // Written piece by piece rather than with write!: core::fmt's
    // machinery would be the deepest frames of every request (see
    // `date::push_now`).
    scratch.extend_from_slice(b"HTTP/1.1 ");
    let (code, reason) = status.line();
    push_decimal(scratch, u64::from(code));
    scratch.push(b' ');
    scratch.extend_from_slice(reason.as_bytes());
    scratch.extend_from_slice(b"\r\nDate: ");
    date::push_now(scratch);
    scratch.extend_from_slice(b"\r\nServer: tinyhttpd\r\n");
    for (name, value) in &response.headers {
        scratch.extend_from_slice(name.as_bytes());
        scratch.extend_from_slice(b": ");
        scratch.extend_from_slice(value.as_bytes());
        scratch.extend_from_slice(b"\r\n");
    }
    let framing = match &response.body {
        Body::Stream(stream) => {
            scratch.extend_from_slice(stream.fields());
            stream.framing()
        }
        body => StreamFraming::Length(body.len()),
    };
    // RFC 9110 section 8.6: no Content-Length on a 1xx or 204; on a 304 it
    // could only repeat the 200's, which nothing needs. A HEAD response
    // carries the length the GET would have had.
    let forbids_body = status.forbids_body();
    if !forbids_body {
        match framing {
            StreamFraming::Length(len) => {
                scratch.extend_from_slice(b"Content-Length: ");
                push_decimal(scratch, len);
                scratch.extend_from_slice(b"\r\n");
            }
            StreamFraming::Chunked => scratch.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            StreamFraming::UntilClose => {}
        }
    }
    match persistence {
        Persistence::KeepAlive => {}
        Persistence::EchoKeepAlive => scratch.extend_from_slice(b"Connection: keep-alive\r\n"),
        Persistence::Close => scratch.extend_from_slice(b"Connection: close\r\n"),
    }
    scratch.extend_from_slice(b"\r\n");

    out.begin();
    let head_len = scratch.len() as u64;
    let before = out.handed();
    let send_body = !head_only && !forbids_body;
    let result = write_body(out, scratch, &response.body, send_body);
    Written {
        body_sent: (out.handed() - before).saturating_sub(head_len),
        result,
    }
}

/// Sends the head waiting in `scratch`, then the body if `send_body`; a
/// `Stream`'s head is left in `scratch` for the caller to hand to the
/// stream (`Stream::write_to`).
fn write_body(
    out: &mut Sender,
    scratch: &mut Vec<u8>,
    body: &Body,
    send_body: bool,
) -> io::Result<()> {
    match body {
        // The head and a small in-memory body go out in one write. A large
        // one (a big listing) is not copied into the connection's buffer,
        // which would then keep that size for the connection's life: the
        // head is held back with MSG_MORE and leaves with the body.
        Body::Bytes(bytes) if send_body && bytes.len() as u64 <= INLINE_BODY => {
            scratch.extend_from_slice(bytes);
            out.write_all(scratch, false)
        }
        Body::Bytes(bytes) if send_body => {
            out.write_all(scratch, true)?;
            out.write_all(bytes, false)
        }
        Body::File {
            content,
            offset,
            len,
        } if send_body => content.send_after(out, scratch, *offset, *len),
        // The stream sends the head itself, with what it has at hand.
        Body::Stream(_) if send_body => Ok(()),
        Body::Multipart {
            content,
            parts,
            closing,
        } if send_body => {
            // Each part's head rides in the same write as the bytes before
            // it (the response head, then the previous delimiter).
            for part in parts {
                scratch.extend_from_slice(&part.head);
                content.send_after(out, scratch, part.range.start, part.range.len)?;
                scratch.clear();
            }
            out.write_all(closing, false)
        }
        _ => out.write_all(scratch, false),
    }
}

/// Appends `value` in decimal.
fn push_decimal(out: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The interim response sent before reading a body the client is holding back
/// for it (RFC 9110 section 10.1.1).
pub fn write_continue(out: &mut Sender) -> io::Result<()> {
    out.begin();
    out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n", false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_as_format_writes_them() {
        for value in [0, 7, 10, 99, 100, 1_048_576, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, value);
            assert_eq!(out, value.to_string().as_bytes());
        }
    }

    #[test]
    fn body_lengths() {
        assert_eq!(Body::Empty.len(), 0);
        assert_eq!(Body::Bytes(b"abc".to_vec()).len(), 3);
    }
}
