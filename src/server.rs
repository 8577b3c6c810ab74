//! Connections: admission of each accepted connection (the threads that
//! accept are `pool`'s), and the keep-alive loop that reads requests, frames
//! their bodies and writes the answers in order, one thread per connection.
//!
//! Each connection owns one buffer, bounded at `MAX_HEAD` bytes. A request head
//! is parsed from it in place; the bytes after the head are the body, and after
//! the body the next pipelined request, so nothing a client sent is dropped or
//! read twice. Every read has a deadline: the idle timeout while waiting for a
//! request to start, a total deadline for the head once it has, and the same
//! again for a body. Whenever the framing of the stream is in doubt (a
//! malformed head, a bad body) the server answers and closes.
//!
//! File and header semantics live in `handler`; this module only moves bytes.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::body::{self, ChunkedDecoder, Framing};
use crate::cli::Config;
use crate::error::HttpError;
use crate::handler;
use crate::pool::{self, Pool};
use crate::registry::{Admission, Registration, Registry, State};
use crate::request::{self, Parsed, Request};
use crate::response::{self, Body, Persistence, Response};
use crate::sender::Sender;
use crate::syntax::list_members;
use crate::sys;

/// The most bytes a request head may take; a larger one is answered 431.
pub const MAX_HEAD: usize = 16 * 1024;
/// A connection's buffer starts this small and grows to `MAX_HEAD` on demand.
const INITIAL_BUFFER: usize = 4096;
/// Connection threads need little stack: no recursion, buffers on the heap.
const STACK_SIZE: usize = 256 * 1024;
/// After a response with `Connection: close`, how long and how much to keep
/// reading what the client still sends, so closing with unread data does not
/// reset the connection before the client has read our answer.
const LINGER_TIME: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 256 * 1024;

/// Sets what the listener needs before the first client connects, so before
/// `main` announces the address: a connection that arrives before
/// `TCP_DEFER_ACCEPT` is set is queued for `accept` at once.
pub fn prepare(listener: &TcpListener) {
    // A connection reaches `accept` with its request already there, so the
    // thread that takes it does not sleep again at once; one that stays
    // silent is accepted a second later, and gets the idle timeout.
    if let Err(e) = sys::defer_accept(listener, 1) {
        log::debug!("connections are accepted before their first bytes: {e}");
    }
}

/// Accepts and serves connections forever, each on its own thread, at most
/// `config.max_connections` at once. `prepare` has been called on `listener`.
pub fn run(listener: TcpListener, config: Arc<Config>) {
    let registry = Arc::new(Registry::new(config.max_connections));
    let serve = move |stream: TcpStream, peer: SocketAddr| {
        let stream = Arc::new(stream);
        match registry.admit(&stream) {
            Admission::Admitted(registration) => {
                match Connection::new(stream, peer, Arc::clone(&config), registration) {
                    Ok(connection) => connection.serve(),
                    Err(e) => log::debug!("{peer}: cannot set a write timeout: {e}"),
                }
            }
            Admission::Full => {
                log::warn!(
                    "{} connections, all busy: refusing a new one",
                    registry.len()
                );
                refuse(&stream);
            }
        }
    };
    Pool::run(
        listener,
        "connection",
        STACK_SIZE,
        pool::IDLE_LIFETIME,
        serve,
    );
}

/// How long a refused client may take to accept its 503: a fresh
/// connection's buffers are empty, so it never waits in practice.
const REFUSE_TIMEOUT: Duration = Duration::from_millis(100);

/// Answers 503 without waiting on the client, then closes. Best effort: a
/// client that sent a request already may see a reset instead, which is
/// still a prompt, clear failure.
// Kept out of line: its drain buffer would otherwise enlarge the stack frame
// of every connection's thread.
#[inline(never)]
fn refuse(stream: &Arc<TcpStream>) {
    let response = HttpError::ServiceUnavailable.into_response();
    let mut scratch = Vec::new();
    if let Ok(mut out) = Sender::new(Arc::clone(stream), REFUSE_TIMEOUT) {
        let _ = response::write(&mut out, &mut scratch, &response, false, Persistence::Close);
    }
    let mut stream = &**stream;
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    // Read what has already arrived, so closing does not turn it into a
    // reset that destroys the answer.
    let mut sink = [0; 4096];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

/// How one exchange ended.
enum Next {
    /// Read the next request.
    KeepAlive,
    /// Close at once: the client left, went quiet, or asked us to close
    /// after this answer (and so will send nothing more, RFC 9112
    /// section 9.6).
    Close,
    /// We decided to close after an answer, with the client perhaps still
    /// sending: close gently.
    CloseAfterResponse,
}

/// The result of waiting for a request head.
enum Head {
    /// A complete head of this many bytes is at the start of the buffer.
    Complete(usize),
    /// The client closed, or sent nothing within the idle timeout.
    Gone,
    /// The head can never be valid, or did not arrive in time.
    Failed(HttpError),
}

/// What the access log says about the request being answered; `-` for
/// what is not known (or not copied, when nothing is logged).
struct LogLine {
    method: Cow<'static, str>,
    target: Cow<'static, str>,
}

impl LogLine {
    fn unparsed() -> Self {
        LogLine {
            method: Cow::Borrowed("-"),
            target: Cow::Borrowed("-"),
        }
    }
}

struct Connection {
    /// Shared with the registry, which may shut it down to shed the connection.
    stream: Arc<TcpStream>,
    /// Every write to the client goes through it.
    out: Sender,
    peer: SocketAddr,
    config: Arc<Config>,
    registration: Registration,
    /// Received bytes not yet consumed are `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Where each response head is assembled before it is written.
    scratch: Vec<u8>,
    /// The read timeout last set on the socket.
    read_timeout: Option<Duration>,
}

impl Connection {
    fn new(
        stream: Arc<TcpStream>,
        peer: SocketAddr,
        config: Arc<Config>,
        registration: Registration,
    ) -> io::Result<Self> {
        let out = Sender::new(Arc::clone(&stream), config.timeouts.send)?;
        Ok(Connection {
            stream,
            out,
            peer,
            config,
            registration,
            buf: vec![0; INITIAL_BUFFER],
            start: 0,
            end: 0,
            scratch: Vec::with_capacity(512),
            read_timeout: None,
        })
    }

    fn serve(mut self) {
        // Headers and bodies go out in as few writes as we can manage; no
        // reason to let Nagle's algorithm hold the last segment back.
        let _ = self.stream.set_nodelay(true);
        loop {
            match self.exchange() {
                Ok(Next::KeepAlive) => {}
                Ok(Next::Close) => return,
                Ok(Next::CloseAfterResponse) => return self.linger(),
                Err(e) => {
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        log::warn!("{}: {e}; connection closed", self.peer);
                    } else {
                        log::debug!("{}: connection dropped: {e}", self.peer);
                    }
                    return;
                }
            }
        }
    }

    /// Reads one request, frames and discards its body, and answers it.
    fn exchange(&mut self) -> io::Result<Next> {
        self.registration.set(State::Waiting);
        let head = self.read_head()?;
        self.registration.set(State::Busy);
        let head_len = match head {
            Head::Complete(n) => n,
            Head::Gone => return Ok(Next::Close),
            Head::Failed(error) => return self.fail(error, false, &LogLine::unparsed()),
        };
        // Timed only if it will be logged.
        let started = self.config.access_log.then(Instant::now);
        let head = &self.buf[self.start..self.start + head_len];
        let request = match request::parse(head) {
            Ok(Parsed::Complete(request, n)) if n == head_len => request,
            // `head_end` and the parser agree on where a head ends (a unit
            // test holds them to it); if they ever did not, refuse.
            Ok(_) => {
                return self.fail(
                    HttpError::BadRequest("head framing"),
                    false,
                    &LogLine::unparsed(),
                );
            }
            Err(e) => return self.fail(e.into(), false, &LogLine::unparsed()),
        };
        // Copied out of the buffer only if they will be logged.
        let log = if self.config.access_log {
            LogLine {
                method: Cow::Owned(request.method.to_string()),
                target: Cow::Owned(request.target.to_string()),
            }
        } else {
            LogLine::unparsed()
        };
        let head_only = request.method == "HEAD";
        let keep_alive = wants_keep_alive(&request);
        let persistence = match (keep_alive, request.minor) {
            (false, _) => Persistence::Close,
            (true, 0) => Persistence::EchoKeepAlive,
            (true, _) => Persistence::KeepAlive,
        };
        let framing = match body::framing(&request) {
            Ok(framing) => framing,
            Err(e) => return self.fail(e.into(), head_only, &log),
        };
        let send_continue = match expectation(&request) {
            Ok(expects_continue) => expects_continue && request.minor >= 1,
            Err(e) => return self.fail(e, head_only, &log),
        };
        let answer = handler::handle(&request, &self.config);
        // The request borrows the buffer; from here on only owned values.
        self.start += head_len;

        if framing != Framing::Length(0) {
            if send_continue {
                response::write_continue(&mut self.out)?;
            }
            match self.discard_body(framing) {
                Ok(None) => {}
                Ok(Some(error)) => return self.fail(error, head_only, &log),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return self.fail(HttpError::RequestTimeout, head_only, &log);
                }
                Err(e) => return Err(e),
            }
        }
        let (response, reason) = match answer {
            Ok(response) => (response, None),
            Err(error) => {
                let reason = error.reason();
                (handler::error_response(error, &self.config), Some(reason))
            }
        };
        // An event stream has no length: it ends with the connection.
        let events = matches!(response.body, Body::Events);
        let persistence = if events {
            Persistence::Close
        } else {
            persistence
        };
        self.send(
            response,
            head_only,
            persistence,
            &log,
            reason.as_deref(),
            started,
        )?;
        if events && !head_only {
            if let Some(watcher) = self.config.live_reload.clone() {
                watcher.stream(&mut self.out)?;
            }
            return Ok(Next::Close);
        }
        Ok(match persistence {
            Persistence::Close => Next::Close,
            Persistence::KeepAlive | Persistence::EchoKeepAlive => Next::KeepAlive,
        })
    }

    /// Answers with `error` and closes: used wherever the stream's framing can
    /// no longer be trusted.
    fn fail(&mut self, error: HttpError, head_only: bool, log: &LogLine) -> io::Result<Next> {
        let reason = error.reason();
        let response = handler::error_response(error, &self.config);
        self.send(
            response,
            head_only,
            Persistence::Close,
            log,
            Some(&reason),
            self.config.access_log.then(Instant::now),
        )?;
        Ok(Next::CloseAfterResponse)
    }

    /// Writes a response and logs it.
    fn send(
        &mut self,
        mut response: Response,
        head_only: bool,
        persistence: Persistence,
        log: &LogLine,
        reason: Option<&str>,
        started: Option<Instant>,
    ) -> io::Result<()> {
        handler::decorate(&mut response, &self.config);
        let written = response::write(
            &mut self.out,
            &mut self.scratch,
            &response,
            head_only,
            persistence,
        );
        if self.config.access_log {
            let reason = reason
                .or(response.note)
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            // A response cut short says how much of it went out, and why.
            let cut = match &written.result {
                Err(e) => format!(" of {}, cut short: {e}", response.body.len()),
                Ok(()) => String::new(),
            };
            log::info!(
                "{} \"{} {}\" {}{} {}{} {:.1}ms",
                self.peer,
                escape_for_log(&log.method),
                escape_for_log(&log.target),
                response.status.code(),
                reason,
                written.body_sent,
                cut,
                started.map_or(0.0, |t| t.elapsed().as_secs_f64() * 1000.0)
            );
        }
        written.result
    }

    /// Waits for a whole request head: up to the idle timeout for its first
    /// byte, then up to the head deadline for the rest.
    fn read_head(&mut self) -> io::Result<Head> {
        if self.start == self.end {
            match self.fill_within(self.config.timeouts.idle) {
                Ok(0) => {
                    log::debug!("{}: closed by the client", self.peer);
                    return Ok(Head::Gone);
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    log::debug!("{}: idle timeout", self.peer);
                    return Ok(Head::Gone);
                }
                Err(e) => return Err(e),
            }
        }
        // Started only if the head did not come whole with its first bytes.
        let mut deadline = None;
        loop {
            let pending = &self.buf[self.start..self.end];
            if let Some(n) = head_end(pending) {
                return Ok(Head::Complete(n));
            }
            let deadline =
                *deadline.get_or_insert_with(|| Instant::now() + self.config.timeouts.head);
            // Not complete: is it already hopeless?
            if let Err(e) = request::parse(pending) {
                return Ok(Head::Failed(e.into()));
            }
            if pending.len() >= MAX_HEAD {
                return Ok(Head::Failed(HttpError::HeaderFieldsTooLarge));
            }
            match self.fill(deadline) {
                Ok(0) => {
                    log::debug!(
                        "{}: closed by the client in the middle of a request head",
                        self.peer
                    );
                    return Ok(Head::Gone);
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    log::debug!("{}: request head deadline passed", self.peer);
                    return Ok(Head::Failed(HttpError::RequestTimeout));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads and drops a request body. `Ok(Some(error))` means the body was
    /// malformed or too large and the connection must close after answering.
    fn discard_body(&mut self, framing: Framing) -> io::Result<Option<HttpError>> {
        let deadline = Instant::now() + self.config.timeouts.head;
        match framing {
            Framing::Length(mut remaining) => loop {
                let buffered = (self.end - self.start) as u64;
                let take = remaining.min(buffered);
                self.start += take as usize;
                remaining -= take;
                if remaining == 0 {
                    return Ok(None);
                }
                if self.fill(deadline)? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            },
            Framing::Chunked => {
                let mut decoder = ChunkedDecoder::new();
                loop {
                    match decoder.feed(&self.buf[self.start..self.end]) {
                        Ok((used, done)) => {
                            self.start += used;
                            if done {
                                return Ok(None);
                            }
                        }
                        Err(e) => return Ok(Some(e.into())),
                    }
                    if self.fill(deadline)? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
            }
        }
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
    fn linger(mut self) {
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

/// RFC 9112 section 9.3: HTTP/1.1 persists unless `close` is sent; HTTP/1.0
/// persists only with `keep-alive`.
fn wants_keep_alive(request: &Request<'_>) -> bool {
    if request.has_token("connection", "close") {
        false
    } else if request.minor >= 1 {
        true
    } else {
        request.has_token("connection", "keep-alive")
    }
}

/// `Ok(true)` for `Expect: 100-continue`, `Ok(false)` without Expect; any
/// other expectation is a 417 (RFC 9110 section 10.1.1).
fn expectation(request: &Request<'_>) -> Result<bool, HttpError> {
    let mut expects_continue = false;
    for value in request.values("expect") {
        for member in list_members(value) {
            if member.eq_ignore_ascii_case(b"100-continue") {
                expects_continue = true;
            } else {
                return Err(HttpError::ExpectationFailed);
            }
        }
    }
    Ok(expects_continue)
}

/// Where the head ends in `pending` (just past the empty line), if it does.
/// Leading empty lines are skipped as the parser skips them, and a line may
/// end in CRLF or a bare LF, as the parser accepts.
pub(crate) fn head_end(pending: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        match &pending[from..] {
            [b'\r', b'\n', ..] => from += 2,
            [b'\n', ..] => from += 1,
            _ => break,
        }
    }
    while let Some(i) = pending[from..].iter().position(|&b| b == b'\n') {
        let lf = from + i;
        match &pending[lf + 1..] {
            [b'\n', ..] => return Some(lf + 2),
            [b'\r', b'\n', ..] => return Some(lf + 3),
            _ => from = lf + 1,
        }
    }
    None
}

/// Makes text from the wire safe for one log line: quotes, backslashes and
/// anything outside printable ASCII become escapes.
fn escape_for_log(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => out.extend(c.escape_default()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end_agrees_with_the_parser() {
        let heads: &[&[u8]] = &[
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\nHost: a\n\n",
            b"\r\n\r\nGET / HTTP/1.0\r\n\r\n",
            b"\nGET / HTTP/1.0\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\r\n",
        ];
        for head in heads {
            let mut with_more = head.to_vec();
            with_more.extend_from_slice(b"GET /next HTTP/1.1\r\n\r\n");
            let end = head_end(&with_more);
            assert_eq!(end, Some(head.len()), "{:?}", String::from_utf8_lossy(head));
            match request::parse(&with_more) {
                Ok(Parsed::Complete(_, n)) => assert_eq!(n, head.len()),
                other => panic!("{other:?}"),
            }
            for cut in 0..head.len() {
                assert_eq!(head_end(&head[..cut]), None);
            }
        }
    }

    #[test]
    fn log_escaping() {
        assert_eq!(escape_for_log("/a\"b\\c"), "/a\\\"b\\\\c");
        assert_eq!(escape_for_log("/é\u{1b}"), "/\\u{e9}\\u{1b}");
    }
}
