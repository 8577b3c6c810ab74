//! Shared by the `--proxy` tests (tests/proxy*.rs) and tests/rules.rs:
//! a backend on raw std sockets that records every request it receives and
//! answers through each test's closure, and a client that reads responses
//! in any framing (Content-Length, chunked, close-delimited, 1xx).
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::common::TIMEOUT;

mod client;
#[allow(unused_imports)]
pub use client::*;

/// How long a backend connection may wait for its next request before the
/// backend closes it. Dropping the backend closes every connection sooner.
const BACKEND_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// Bodies longer than this are counted and hashed, not kept.
const KEPT_BODY: usize = 1 << 20;

/// What the backend does with a connection once the handler has answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Reads the next request (nothing written means the request hangs).
    KeepAlive,
    /// Closes the connection.
    Close,
    /// Copies every byte it receives back until the other side closes.
    Echo,
}

/// One request as the backend received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The head through its empty line, byte for byte.
    pub head: Vec<u8>,
    /// The body, decoded if chunked (only its first `KEPT_BODY` bytes).
    pub body: Vec<u8>,
    pub body_len: u64,
    pub body_hash: u64,
    /// The trailer section of a chunked body, through its empty line.
    pub trailers: Vec<u8>,
    /// Which accepted connection (0 for the first) carried it.
    pub connection: usize,
    /// Its place on that connection (0 for the first).
    pub nth: usize,
}

impl Seen {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.head).into_owned()
    }

    /// The head's lines without their CRLF, request line first.
    pub fn lines(&self) -> Vec<String> {
        let text = self.text();
        let head = text
            .strip_suffix("\r\n\r\n")
            .expect("head ends in CRLFCRLF");
        head.split("\r\n").map(String::from).collect()
    }

    pub fn request_line(&self) -> String {
        self.lines()[0].clone()
    }

    pub fn target(&self) -> String {
        self.request_line()
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .to_string()
    }

    /// The field lines as sent, without the request line.
    pub fn field_lines(&self) -> Vec<String> {
        self.lines()[1..].to_vec()
    }

    /// Field names, lower-cased, in order.
    pub fn names(&self) -> Vec<String> {
        self.fields().into_iter().map(|(n, _)| n).collect()
    }

    /// (lower-cased name, trimmed value) pairs in order.
    pub fn fields(&self) -> Vec<(String, String)> {
        self.field_lines()
            .iter()
            .map(|line| {
                let (name, value) = line.split_once(':').expect("a field line");
                (name.to_ascii_lowercase(), value.trim().to_string())
            })
            .collect()
    }

    /// The value of the only field named `name`; panics if there are several.
    pub fn field(&self, name: &str) -> Option<String> {
        let values: Vec<String> = self
            .fields()
            .into_iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .collect();
        assert!(values.len() < 2, "several {name} fields in {}", self.text());
        values.into_iter().next()
    }
}

/// The closure a test answers requests with: it gets the request and the
/// connection to write to, and says what happens next.
pub type Handler = dyn Fn(&Seen, &mut TcpStream) -> After + Send + Sync;

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    seen: Mutex<Vec<Seen>>,
    accepted: AtomicUsize,
    closed: AtomicUsize,
    /// Clones of every accepted connection, shut down on drop.
    streams: Mutex<Vec<TcpStream>>,
}

/// A backend listening on a port it picked; stops when dropped.
pub struct Backend {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Backend {
    /// A backend on 127.0.0.1 answering with `handler`.
    pub fn start(
        handler: impl Fn(&Seen, &mut TcpStream) -> After + Send + Sync + 'static,
    ) -> Backend {
        Backend::bind("127.0.0.1:0", handler).expect("bind a backend on 127.0.0.1")
    }

    /// A backend on `addr` (`[::1]:0`), or the error binding it.
    pub fn bind(
        addr: &str,
        handler: impl Fn(&Seen, &mut TcpStream) -> After + Send + Sync + 'static,
    ) -> io::Result<Backend> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let handler: Arc<Handler> = Arc::new(handler);
        let state = Arc::clone(&shared);
        let accept = thread::spawn(move || {
            for stream in listener.incoming() {
                if state.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let number = state.accepted.fetch_add(1, Ordering::SeqCst);
                if let Ok(clone) = stream.try_clone() {
                    state.streams.lock().unwrap().push(clone);
                }
                let (state, handler) = (Arc::clone(&state), Arc::clone(&handler));
                thread::spawn(move || {
                    let _ = serve(stream, number, &state, &*handler);
                    state.closed.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        Ok(Backend {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// A backend that answers every request with 200 and, as a text/plain
    /// body, `NAME TARGET`.
    pub fn echo(name: &'static str) -> Backend {
        Backend::start(move |seen, out| {
            answer(seen, out, &format!("{name} {}", seen.target()));
            After::KeepAlive
        })
    }

    /// `http://127.0.0.1:PORT` (or `http://[::1]:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Waits until `n` requests have been received, and returns them all.
    pub fn wait_for(&self, n: usize) -> Vec<Seen> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let seen = self.seen();
            if seen.len() >= n {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "the backend received {} requests, not {n}: {seen:?}",
                seen.len()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections that ended (closed by the other side, or by the handler).
    pub fn closed(&self) -> usize {
        self.shared.closed.load(Ordering::SeqCst)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for stream in self.shared.streams.lock().unwrap().iter() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // Wakes the accepting thread, which then sees `stop`.
        if TcpStream::connect_timeout(&self.addr, TIMEOUT).is_ok() {
            if let Some(accept) = self.accept.take() {
                let _ = accept.join();
            }
        }
    }
}

/// Writes a response with a Content-Length and `fields`.
pub fn reply(out: &mut TcpStream, status: &str, fields: &[(&str, &str)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in fields {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(body);
}

/// Answers 200 with `body` as text/plain (its length only, to HEAD).
pub fn answer(seen: &Seen, out: &mut TcpStream, body: &str) {
    if seen.request_line().starts_with("HEAD ") {
        let length = body.len();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {length}\r\n\r\n"
        );
        let _ = out.write_all(head.as_bytes());
    } else {
        reply(
            out,
            "200 OK",
            &[("Content-Type", "text/plain")],
            body.as_bytes(),
        );
    }
}

/// Reads requests on one connection and hands each to `handler`.
fn serve(stream: TcpStream, number: usize, shared: &Shared, handler: &Handler) -> io::Result<()> {
    stream.set_read_timeout(Some(BACKEND_READ_TIMEOUT))?;
    stream.set_write_timeout(Some(BACKEND_READ_TIMEOUT))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    for nth in 0.. {
        let Some(head) = read_head(&mut reader)? else {
            return Ok(());
        };
        let mut seen = Seen {
            head,
            body: Vec::new(),
            body_len: 0,
            body_hash: FNV_START,
            trailers: Vec::new(),
            connection: number,
            nth,
        };
        read_body(&mut reader, &mut seen)?;
        shared.seen.lock().unwrap().push(seen.clone());
        match handler(&seen, &mut out) {
            After::KeepAlive => {}
            After::Close => return out.shutdown(Shutdown::Both),
            After::Echo => {
                loop {
                    let buf = reader.fill_buf()?;
                    if buf.is_empty() {
                        break;
                    }
                    out.write_all(buf)?;
                    let n = buf.len();
                    reader.consume(n);
                }
                return out.shutdown(Shutdown::Both);
            }
        }
    }
    Ok(())
}

/// A head through its empty line, or None at a clean end of stream.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let before = head.len();
        reader.read_until(b'\n', &mut head)?;
        if head.len() == before {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
    }
    Ok(Some(head))
}

/// Reads the body the head announces (Content-Length or chunked).
fn read_body(reader: &mut impl BufRead, seen: &mut Seen) -> io::Result<()> {
    let chunked = seen
        .field("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        loop {
            let size = chunk_size(&read_line(reader)?);
            if size == 0 {
                break;
            }
            take(reader, size, seen)?;
            let mut crlf = [0; 2];
            reader.read_exact(&mut crlf)?;
            assert_eq!(&crlf, b"\r\n", "chunk data not followed by CRLF");
        }
        loop {
            let line = read_line(reader)?;
            seen.trailers.extend_from_slice(line.as_bytes());
            if line == "\r\n" {
                break;
            }
        }
    } else if let Some(length) = seen.field("content-length") {
        take(reader, length.parse().expect("a Content-Length"), seen)?;
    }
    Ok(())
}

/// Reads `n` body bytes into `seen`, keeping the first `KEPT_BODY`.
fn take(reader: &mut impl BufRead, mut n: u64, seen: &mut Seen) -> io::Result<()> {
    while n > 0 {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let part = &buf[..buf.len().min(n as usize)];
        let room = KEPT_BODY.saturating_sub(seen.body.len());
        seen.body.extend_from_slice(&part[..part.len().min(room)]);
        seen.body_hash = fnv(seen.body_hash, part);
        seen.body_len += part.len() as u64;
        n -= part.len() as u64;
        let used = part.len();
        reader.consume(used);
    }
    Ok(())
}

fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\r\n") {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// The size on a chunk-size line (extensions ignored).
pub fn chunk_size(line: &str) -> u64 {
    let digits = line.trim_end().split(';').next().unwrap().trim();
    u64::from_str_radix(digits, 16).unwrap_or_else(|_| panic!("bad chunk size line {line:?}"))
}

pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, to compare large bodies without keeping them.
pub fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Fills `buf` with the bytes at `offset..` of a fixed, non-repeating
/// pattern, so a large body can be made piece by piece.
pub fn pattern(offset: u64, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        let n = offset + i as u64;
        *b = (n ^ (n >> 8) ^ (n >> 17).wrapping_mul(31)) as u8;
    }
}
