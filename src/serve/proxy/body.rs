//! A backend's response body, copied to the client as it arrives: each
//! read from the backend is written out at once (an event stream's events
//! one by one), in the client's framing, which is ours: the length the
//! backend gave, or chunks of our own. A body read to its end leaves its
//! connection to the backend kept alive for the next request.
//!
//! The backend may pause as long as it likes while the client is still
//! there (a stream of events can be quiet for minutes); every
//! `--proxy-timeout` without a byte, the client is looked at, and a client
//! that has gone ends the copy.
//!
//! Imports `http`, and the backend from its sibling.
#![forbid(unsafe_code)]

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::Arc;

use crate::http::chunked::{self, ChunkedDecoder};
use crate::http::response::{Stream, StreamFraming};
use crate::http::response_head::BodyFraming;
use crate::http::sender::Sender;
use crate::serve::proxy::backend::{Backend, has_gone};

/// Where a relayed body's bytes come from.
#[derive(Debug)]
pub enum Source {
    /// No body (a 101, a response to HEAD, a 204 or 304).
    Done,
    /// Read whole already (a page the live-reload script went into).
    Bytes(Vec<u8>),
    /// Still on the backend's connection.
    Backend {
        stream: TcpStream,
        /// What came with the head.
        early: Vec<u8>,
        framing: BodyFraming,
        backend: Arc<Backend>,
        /// Whether the connection may be used again once the body is read.
        keep_alive: bool,
    },
}

impl Source {
    pub fn backend(
        stream: TcpStream,
        early: Vec<u8>,
        framing: BodyFraming,
        backend: Arc<Backend>,
        keep_alive: bool,
    ) -> Source {
        Source::Backend {
            stream,
            early,
            framing,
            backend,
            keep_alive,
        }
    }
}

/// The body of a relayed response, with the fields of its head.
#[derive(Debug)]
pub struct Relayed {
    fields: Vec<u8>,
    framing: StreamFraming,
    source: Source,
    /// Written after the backend's last byte (the live-reload script).
    tail: &'static [u8],
}

impl Relayed {
    pub fn new(
        fields: Vec<u8>,
        framing: StreamFraming,
        source: Source,
        tail: &'static [u8],
    ) -> Relayed {
        Relayed {
            fields,
            framing,
            source,
            tail,
        }
    }
}

impl Stream for Relayed {
    fn framing(&self) -> StreamFraming {
        self.framing
    }

    fn fields(&self) -> &[u8] {
        &self.fields
    }

    fn write_to(self: Box<Self>, out: &mut Sender, head: &[u8]) -> io::Result<()> {
        // The head waits for body bytes already read (a small response's
        // whole body, usually), to leave in the same write; else it goes at
        // once, so that a client of a slow stream sees it begin.
        let at_hand = match &self.source {
            Source::Done => false,
            Source::Bytes(bytes) => !bytes.is_empty(),
            // Chunks that came with the head may hold no data yet.
            Source::Backend { early, framing, .. } => {
                matches!(framing, BodyFraming::Length(len) if *len > 0) && !early.is_empty()
            }
        };
        let mut client = Client {
            out,
            chunked: self.framing == StreamFraming::Chunked,
            scratch: Vec::new(),
            head: Some(head),
        };
        if !at_hand {
            client.send(&[])?;
        }
        match self.source {
            Source::Done => {}
            Source::Bytes(bytes) => client.write(&bytes)?,
            Source::Backend {
                stream,
                early,
                framing,
                backend,
                keep_alive,
            } => {
                let mut copy = Copy {
                    stream: Some(stream),
                    backend,
                    keep_alive,
                    buffer: early,
                };
                copy.body(framing, &mut client)?;
            }
        }
        client.write(self.tail)?;
        if client.chunked {
            client.send(chunked::LAST_CHUNK)?;
        }
        // A body with no bytes at all: the head alone.
        client.send(&[])
    }
}

/// The client's side: data written in its framing, the first of it with
/// the response head.
struct Client<'o> {
    out: &'o mut Sender,
    chunked: bool,
    scratch: Vec<u8>,
    /// The response head, until it is sent.
    head: Option<&'o [u8]>,
}

impl Client<'_> {
    /// Writes `data` in the client's framing (nothing for no data).
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if !self.chunked {
            return self.send(data);
        }
        let mut framed = std::mem::take(&mut self.scratch);
        framed.clear();
        chunked::encode(&mut framed, data);
        let sent = self.send(&framed);
        self.scratch = framed;
        sent
    }

    /// Writes `bytes` as they are, after the head if it has not gone yet.
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.head.take() {
            Some(head) => self.out.write_pair(head, bytes),
            None if bytes.is_empty() => Ok(()),
            None => self.out.write_all(bytes, false),
        }
    }
}

/// The backend's side: its connection (until the body has been read),
/// and the bytes read and not yet written.
struct Copy {
    stream: Option<TcpStream>,
    backend: Arc<Backend>,
    keep_alive: bool,
    buffer: Vec<u8>,
}

impl Copy {
    /// Copies the body framed so. Once its last byte has been read, and
    /// before that byte is written out, the connection is given back (if
    /// the body ended exactly where its framing said), so that the
    /// client's next request, or another client's, finds it.
    fn body(&mut self, framing: BodyFraming, client: &mut Client<'_>) -> io::Result<()> {
        match framing {
            BodyFraming::None => {
                self.release(self.buffer.is_empty());
                Ok(())
            }
            BodyFraming::Length(len) => {
                let mut left = len;
                loop {
                    let take = left.min(self.buffer.len() as u64) as usize;
                    left -= take as u64;
                    if left == 0 {
                        self.release(self.buffer.len() == take);
                    }
                    client.write(&self.buffer[..take])?;
                    if left == 0 {
                        return Ok(());
                    }
                    self.buffer.clear();
                    if self.fill(client)? == 0 {
                        return Err(ended_early(left));
                    }
                }
            }
            BodyFraming::Chunked => {
                let mut decoder = ChunkedDecoder::with_limit(u64::MAX);
                loop {
                    let mut at = 0;
                    while at < self.buffer.len() {
                        let decoded = decoder
                            .decode(&self.buffer[at..])
                            .map_err(|e| io::Error::other(format!("backend's chunks: {e:?}")))?;
                        client.write(&self.buffer[at..][decoded.data])?;
                        at += decoded.used;
                        if decoded.done {
                            self.release(at == self.buffer.len());
                            return Ok(());
                        }
                    }
                    self.buffer.clear();
                    if self.fill(client)? == 0 {
                        return Err(ended_early(0));
                    }
                }
            }
            BodyFraming::UntilClose => loop {
                client.write(&self.buffer)?;
                self.buffer.clear();
                if self.fill(client)? == 0 {
                    self.release(false);
                    return Ok(());
                }
            },
        }
    }

    /// Done with the connection: kept for another exchange if `clean` and
    /// the backend keeps it alive, else closed.
    fn release(&mut self, clean: bool) {
        if let Some(stream) = self.stream.take()
            && clean
            && self.keep_alive
        {
            self.backend.give_back(stream);
        }
    }

    /// Reads more from the backend into the empty buffer, for as long as
    /// the client is still there.
    fn fill(&mut self, client: &Client<'_>) -> io::Result<usize> {
        let Some(stream) = &self.stream else {
            return Ok(0);
        };
        loop {
            match read_more(stream, &mut self.buffer) {
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    if has_gone(client.out.socket(), false) {
                        return Err(io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            "the client left while the backend was quiet",
                        ));
                    }
                }
                other => return other,
            }
        }
    }
}

/// Reads into `buffer`'s spare room (growing it if there is none). The
/// wait is the backend socket's own read timeout, `--proxy-timeout`, set
/// once when it connected: no system call to set it for every read.
pub fn read_more(stream: &TcpStream, buffer: &mut Vec<u8>) -> io::Result<usize> {
    let filled = buffer.len();
    if buffer.capacity() - filled < 4096 {
        buffer.reserve(16 * 1024);
    }
    buffer.resize(buffer.capacity(), 0);
    let result = loop {
        match (&*stream).read(&mut buffer[filled..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                break Err(io::ErrorKind::TimedOut.into());
            }
            other => break other,
        }
    };
    buffer.truncate(filled + *result.as_ref().unwrap_or(&0));
    result
}

/// A backend that closed before the end of the body it announced: the
/// client got less than it was promised, and its connection closes too.
fn ended_early(left: u64) -> io::Error {
    let what = match left {
        0 => "before its last chunk".to_string(),
        left => format!("{left} bytes before the end of its body"),
    };
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the backend closed its connection {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    /// Two ends of a loopback connection.
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let near = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        (near, listener.accept().unwrap().0)
    }

    /// What the client reads when a body framed `framing` by the backend,
    /// sent as `sent` (of which `early` came with the head), is relayed as
    /// `to_client` with `tail`; and whether the backend's connection was
    /// kept for another exchange.
    fn relay(
        framing: BodyFraming,
        early: &[u8],
        sent: &[u8],
        to_client: StreamFraming,
        tail: &'static [u8],
    ) -> (Vec<u8>, usize) {
        let (mut backend_end, from_backend) = pair();
        backend_end.write_all(sent).unwrap();
        if framing == BodyFraming::UntilClose {
            drop(backend_end);
        }
        let (client_end, mut client) = pair();
        let timeout = std::time::Duration::from_secs(5);
        let mut out = Sender::new(Arc::new(client_end), timeout).unwrap();
        let backend = Arc::new(Backend::for_tests());
        let source = Source::backend(from_backend, early.to_vec(), framing, backend.clone(), true);
        let relayed = Relayed::new(Vec::new(), to_client, source, tail);
        Box::new(relayed).write_to(&mut out, b"HEAD ").unwrap();
        drop(out);
        let mut got = Vec::new();
        io::Read::read_to_end(&mut client, &mut got).unwrap();
        // The head first, always, and once.
        let body = got.strip_prefix(b"HEAD ").expect("the head first").to_vec();
        (body, backend.close_idle())
    }

    #[test]
    fn bodies_are_passed_on_in_the_clients_framing() {
        // Chunks of the backend's own sizes become ours, with the tail as
        // a last chunk; the connection is kept.
        let (got, kept) = relay(
            BodyFraming::Chunked,
            b"3\r\nabc\r\n",
            b"2;x=y\r\nde\r\n0\r\nTrailer: t\r\n\r\n",
            StreamFraming::Chunked,
            b"<s>",
        );
        assert_eq!(got, b"3\r\nabc\r\n2\r\nde\r\n3\r\n<s>\r\n0\r\n\r\n");
        assert_eq!(kept, 1);
        // A body that ends with the backend's connection, in chunks.
        let (got, kept) = relay(
            BodyFraming::UntilClose,
            b"",
            b"hello",
            StreamFraming::Chunked,
            b"",
        );
        assert_eq!(got, b"5\r\nhello\r\n0\r\n\r\n");
        assert_eq!(kept, 0);
        // A length, part of it early, as it is: kept unless more came.
        let (got, kept) = relay(
            BodyFraming::Length(6),
            b"ab",
            b"cdef",
            StreamFraming::Length(6),
            b"",
        );
        assert_eq!((got.as_slice(), kept), (&b"abcdef"[..], 1));
        let (_, kept) = relay(
            BodyFraming::Length(2),
            b"abJUNK",
            b"",
            StreamFraming::Length(2),
            b"",
        );
        assert_eq!(kept, 0);
    }
}
