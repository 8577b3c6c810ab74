//! The reading side of a connection: the bytes received and not yet
//! consumed, in one buffer bounded at `MAX_HEAD`. It waits for a request
//! head (the idle timeout for its first byte, the request timeout for the
//! rest), reads and drops request bodies by their framing, and drains what
//! a client still sends before a close.
//!
//! Imports `http` and the `Timeouts` of this folder.
#![forbid(unsafe_code)]

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::chunked::ChunkedDecoder;
use crate::http::error::HttpError;
use crate::http::request_body::Framing;
use crate::net::Timeouts;

/// The most bytes a request head may take; a larger one is answered 431.
pub const MAX_HEAD: usize = 16 * 1024;
/// A connection's buffer starts this small and grows to `MAX_HEAD` on demand.
const INITIAL_BUFFER: usize = 1024;
/// After a response with `Connection: close`, how long and how much to keep
/// reading what the client still sends, so closing with unread data does not
/// reset the connection before the client has read our answer.
const LINGER_TIME: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 256 * 1024;

/// What waiting for more of a request head brought.
pub enum Wait {
    /// More bytes: ask the parser again.
    Arrived,
    /// The client closed, or sent nothing within the idle timeout.
    Gone,
    /// The head can never be complete in time or in size.
    Failed(HttpError),
}

/// How long the reads of a body may wait.
enum BodyWait {
    /// All of them together, until this instant (a body that is dropped).
    Until(Instant),
    /// Each of them, this long (a body passed on, of any size).
    EachRead(Duration),
}

/// What passing a body on came to.
pub enum Passed {
    /// All of it went.
    Done,
    /// It is malformed: answer this and close.
    Refused(HttpError),
    /// The sink stopped taking it (the backend closed, or stopped reading).
    SinkFailed(io::Error),
}

/// The bytes received on a connection and not yet consumed:
/// `buf[start..end]`.
pub struct Inbox {
    /// Shared with the registry, which may shut it down to shed the
    /// connection.
    pub stream: Arc<TcpStream>,
    pub peer: SocketAddr,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The read timeout last set on the socket.
    read_timeout: Option<Duration>,
    /// When the head being read must be complete; set once its first bytes
    /// are in and the parser wants more.
    head_deadline: Option<Instant>,
}

impl Inbox {
    pub fn new(stream: Arc<TcpStream>, peer: SocketAddr) -> Inbox {
        Inbox {
            stream,
            peer,
            buf: vec![0; INITIAL_BUFFER],
            start: 0,
            end: 0,
            read_timeout: None,
            head_deadline: None,
        }
    }

    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` bytes as used; the next head's deadline starts afresh.
    pub fn consume(&mut self, n: usize) {
        self.start += n;
        self.head_deadline = None;
    }

    /// Waits for more of a request head, the parser having said the bytes so
    /// far are not enough: up to the idle timeout for its first byte, then
    /// up to the head deadline for the rest.
    pub fn wait_for_head(&mut self, timeouts: &Timeouts) -> io::Result<Wait> {
        let started = self.start < self.end;
        if self.end - self.start >= MAX_HEAD {
            return Ok(Wait::Failed(HttpError::HeaderFieldsTooLarge));
        }
        let read = if started {
            let deadline = *self
                .head_deadline
                .get_or_insert_with(|| Instant::now() + timeouts.request);
            self.fill(deadline)
        } else {
            self.head_deadline = None;
            self.fill_within(timeouts.idle)
        };
        let (why, wait) = match read {
            Ok(0) if started => ("closed by the client in a request head", Wait::Gone),
            Ok(0) => ("closed by the client", Wait::Gone),
            Ok(_) => return Ok(Wait::Arrived),
            Err(e) if e.kind() != io::ErrorKind::TimedOut => return Err(e),
            Err(_) if started => (
                "request head deadline passed",
                Wait::Failed(HttpError::RequestTimeout),
            ),
            Err(_) => ("idle timeout", Wait::Gone),
        };
        log::debug!("{}: {why}", self.peer);
        Ok(wait)
    }

    /// Reads and drops a request body by `deadline`. `Ok(Some(error))` means
    /// the body was malformed or too large and the connection must close
    /// after answering.
    pub fn discard_body(
        &mut self,
        framing: Framing,
        deadline: Instant,
    ) -> io::Result<Option<HttpError>> {
        let decoder = ChunkedDecoder::new();
        match self.read_body(framing, decoder, BodyWait::Until(deadline), |_| Ok(()))? {
            Passed::Done => Ok(None),
            Passed::Refused(error) => Ok(Some(error)),
            Passed::SinkFailed(e) => Err(e),
        }
    }

    /// Reads a request's body and hands it to `sink` piece by piece, as it
    /// arrives (the proxy passes it on): chunked data decoded, with no limit
    /// of size. Each read must bring bytes within `timeout`, so a body of
    /// any size can pass while the client keeps sending.
    pub fn pass_body(
        &mut self,
        framing: Framing,
        timeout: Duration,
        sink: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<Passed> {
        let decoder = ChunkedDecoder::with_limit(u64::MAX);
        self.read_body(framing, decoder, BodyWait::EachRead(timeout), sink)
    }

    /// Reads the body framed so, handing its data to `sink`: the bytes of a
    /// length, or what `decoder` finds in chunks. `wait` bounds the reads.
    fn read_body(
        &mut self,
        framing: Framing,
        mut decoder: ChunkedDecoder,
        wait: BodyWait,
        mut sink: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<Passed> {
        let mut remaining = match framing {
            Framing::Length(len) => len,
            Framing::Chunked => u64::MAX,
        };
        loop {
            while self.start < self.end {
                let pending = &self.buf[self.start..self.end];
                let (used, data, done) = match framing {
                    Framing::Length(_) => {
                        let take = remaining.min(pending.len() as u64) as usize;
                        remaining -= take as u64;
                        (take, &pending[..take], remaining == 0)
                    }
                    Framing::Chunked => match decoder.decode(pending) {
                        Ok(decoded) => (decoded.used, &pending[decoded.data], decoded.done),
                        Err(e) => return Ok(Passed::Refused(e.into())),
                    },
                };
                if let Err(e) = sink(data) {
                    return Ok(Passed::SinkFailed(e));
                }
                self.start += used;
                if done {
                    return Ok(Passed::Done);
                }
            }
            if remaining == 0 {
                return Ok(Passed::Done);
            }
            let read = match wait {
                BodyWait::Until(deadline) => self.fill(deadline),
                BodyWait::EachRead(timeout) => self.fill_within(timeout),
            };
            if read? == 0 {
                return Err(client_left());
            }
        }
    }

    /// The bytes received and not yet consumed, taken (for a tunnel).
    pub fn take_pending(&mut self) -> Vec<u8> {
        let pending = self.pending().to_vec();
        self.start = self.end;
        pending
    }

    /// Reads more bytes into the buffer, waiting no later than `deadline`.
    /// Returns 0 at end of stream; a missed deadline is `TimedOut`.
    fn fill(&mut self, deadline: Instant) -> io::Result<usize> {
        let timeout = deadline.saturating_duration_since(Instant::now());
        if timeout.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.fill_within(timeout)
    }

    /// Reads more bytes into the buffer, waiting at most `timeout`. The
    /// socket's timeout is only changed when it differs from the last one
    /// set: between requests it is always the idle timeout, so a kept-alive
    /// connection pays for that system call once, not per request.
    fn fill_within(&mut self, timeout: Duration) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buf.len() < MAX_HEAD {
                let grown = (self.buf.len() * 2).min(MAX_HEAD);
                self.buf.resize(grown, 0);
            } else {
                return Err(io::Error::other("connection buffer full"));
            }
        }
        if self.read_timeout != Some(timeout) {
            self.stream.set_read_timeout(Some(timeout))?;
            self.read_timeout = Some(timeout);
        }
        loop {
            match (&*self.stream).read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Closes after a `Connection: close` response. Shutting down our side
    /// first and draining what the client already sent (bounded in time and
    /// bytes) keeps the kernel from answering those bytes with a reset that
    /// could destroy the response before the client reads it.
    pub fn linger(mut self) {
        if self.stream.shutdown(Shutdown::Write).is_err() {
            return;
        }
        let deadline = Instant::now() + LINGER_TIME;
        let mut drained = 0;
        while drained < LINGER_BYTES {
            self.start = 0;
            self.end = 0;
            match self.fill(deadline) {
                Ok(0) | Err(_) => return,
                Ok(n) => drained += n,
            }
        }
    }
}

/// A client that closed its side while we still expected its request's
/// body: an ordinary way for a connection to end, not the server's fault.
fn client_left() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "the client closed the connection in the middle of a request body",
    )
}
