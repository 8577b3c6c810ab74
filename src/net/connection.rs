//! Connections: admission of each accepted connection (the threads that
//! accept are `pool`'s), and the keep-alive loop that reads requests, frames
//! their bodies and writes the answers in order, one thread per connection.
//!
//! A connection is an `Inbox`, the bytes received and not yet consumed (one
//! buffer, bounded at `MAX_HEAD` bytes), and an `Outbox`, everything that
//! answers. Each exchange has three steps. Reading: the inbox waits for
//! bytes until the parser, the only judge of where a head ends, says one is
//! complete. Answering: while the request (borrowed from the buffer) is at
//! hand, `Answer::to` works out everything to do, as owned values. Finishing:
//! the body is read and dropped, the response written and logged, and the
//! connection kept or closed. The bytes after a head are the body, and after
//! the body the next pipelined request, so nothing a client sent is dropped
//! or read twice. Every read has a deadline: the idle timeout while waiting
//! for a request to start, a total deadline for the head once it has, and
//! the same again for a body. Whenever the framing of the stream is in doubt
//! (a malformed head, a bad body) the server answers and closes.
//!
//! File and header semantics live in `handler`; this module only moves
//! bytes. Of a body without a length (an event stream) it knows only that it
//! ends with the connection.
#![forbid(unsafe_code)]

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cli::Timeouts;
use crate::http::error::HttpError;
use crate::http::request::{self, Parsed, Request};
use crate::http::request_body::{self, ChunkedDecoder, Framing};
use crate::http::response::{self, Body, Persistence, Response};
use crate::http::sender::Sender;
use crate::http::syntax::list_members;
use crate::net::pool::{self, Pool};
use crate::net::registry::{Admission, Registration, Registry, State};
use crate::serve::handler::{self, Site};
use crate::sys;

/// How many connections may wait for `accept` (see `sys::set_backlog`).
const BACKLOG: u32 = 4096;
/// The most bytes a request head may take; a larger one is answered 431.
pub const MAX_HEAD: usize = 16 * 1024;
/// A connection's buffer starts this small and grows to `MAX_HEAD` on demand.
const INITIAL_BUFFER: usize = 1024;
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
    // A page load or a benchmark opens many connections at once; nginx
    // listens with 511, lighttpd with 1,024.
    if let Err(e) = sys::set_backlog(listener, BACKLOG) {
        log::debug!("the listen backlog stays at std's: {e}");
    }
}

/// Accepts and serves connections forever, each on its own thread, at most
/// `max_connections` at once. `prepare` has been called on `listener`.
pub fn run(listener: TcpListener, site: Arc<Site>) {
    let registry = Arc::new(Registry::new(site.config.max_connections));
    let cache = Arc::clone(&site.cache);
    let serve =
        move |stream: TcpStream, peer: SocketAddr| serve_or_refuse(stream, peer, &registry, &site);
    Pool::run(
        listener,
        "connection",
        STACK_SIZE,
        pool::IDLE_LIFETIME,
        serve,
        move || cache.close_open_files(),
    );
}

/// Serves a new connection, or refuses it when all places are taken.
// Out of line, so the accepting loop's frame, which every connection's
// thread carries, holds nothing of a connection's.
#[inline(never)]
fn serve_or_refuse(
    stream: TcpStream,
    peer: SocketAddr,
    registry: &Arc<Registry>,
    site: &Arc<Site>,
) {
    let stream = Arc::new(stream);
    match registry.admit(&stream) {
        Admission::Admitted(registration) => {
            match Sender::new(Arc::clone(&stream), site.config.timeouts.send) {
                Ok(out) => {
                    Connection::new(stream, out, peer, Arc::clone(site), registration).serve()
                }
                Err(e) => log::debug!("{peer}: cannot set a write timeout: {e}"),
            }
        }
        Admission::Full => {
            log::warn!(
                "{} connections, all busy: refusing a new one",
                registry.len()
            );
            refuse(&stream, site);
        }
    }
}

/// How long a refused client may take to accept its 503: a fresh
/// connection's buffers are empty, so it never waits in practice.
const REFUSE_TIMEOUT: Duration = Duration::from_millis(100);

/// Answers 503 without waiting on the client, then closes. Best effort: a
/// client that sent a request already may see a reset instead, which is
/// still a prompt, clear failure. The 503 carries what every response does
/// (`--header`, CORS).
// Kept out of line: its drain buffer would otherwise enlarge the stack frame
// of every connection's thread.
#[inline(never)]
fn refuse(stream: &Arc<TcpStream>, site: &Site) {
    let mut response = handler::error_response(HttpError::ServiceUnavailable, site);
    handler::decorate(&mut response, site);
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
    /// We decided to close, with the client perhaps still sending: shut our
    /// side and drain what comes before closing (`Inbox::linger`).
    Linger,
}

/// What waiting for more of a request head brought.
enum Wait {
    /// More bytes: ask the parser again.
    Arrived,
    /// The client closed, or sent nothing within the idle timeout.
    Gone,
    /// The head can never be complete in time or in size.
    Failed(HttpError),
}

/// What the access log says about the request being answered.
struct LogLine {
    method: String,
    target: String,
    /// When the head was complete.
    started: Instant,
}

/// The log line for `request`, `-` for what is not known (a head that did
/// not parse); `None` when nothing is logged, so nothing is copied.
fn log_line(request: Option<&Request<'_>>, enabled: bool) -> Option<LogLine> {
    enabled.then(|| LogLine {
        method: request.map_or("-", |r| r.method).to_string(),
        target: request.map_or("-", |r| r.target).to_string(),
        started: Instant::now(),
    })
}

/// What to do about one request, worked out while it is at hand (it borrows
/// the connection's buffer); owned, so the buffer can be read again after.
struct Answer {
    /// Where the head ended: the body, if any, starts there.
    head_len: usize,
    head_only: bool,
    persistence: Persistence,
    log: Option<LogLine>,
    plan: Plan,
}

enum Plan {
    /// The head cannot be followed (its body cannot be framed, or it
    /// expects what we refuse): answer this, then close.
    Refuse(HttpError),
    /// Read and drop the body framed so, then send the reply.
    Reply {
        framing: Framing,
        send_continue: bool,
        reply: Result<Response, HttpError>,
    },
}

impl Answer {
    fn to(request: &Request<'_>, head_len: usize, site: &Site, peer: SocketAddr) -> Answer {
        let persistence = match (wants_keep_alive(request), request.minor) {
            (false, _) => Persistence::Close,
            (true, 0) => Persistence::EchoKeepAlive,
            (true, _) => Persistence::KeepAlive,
        };
        let framed = request_body::framing(request)
            .map_err(HttpError::from)
            .and_then(|framing| Ok((framing, expectation(request)?)));
        let plan = match framed {
            Err(error) => Plan::Refuse(error),
            Ok((framing, expects_continue)) => Plan::Reply {
                framing,
                send_continue: expects_continue && request.minor >= 1,
                reply: handler::handle(request, site).inspect_err(|error| {
                    if error.needs_attention() {
                        warn_of(error, request, peer);
                    }
                }),
            },
        };
        Answer {
            head_len,
            head_only: request.method == "HEAD",
            persistence,
            log: log_line(Some(request), site.config.access_log),
            plan,
        }
    }
}

struct Connection {
    inbox: Inbox,
    outbox: Outbox,
    registration: Registration,
}

impl Connection {
    fn new(
        stream: Arc<TcpStream>,
        out: Sender,
        peer: SocketAddr,
        site: Arc<Site>,
        registration: Registration,
    ) -> Self {
        Connection {
            inbox: Inbox {
                stream,
                peer,
                buf: vec![0; INITIAL_BUFFER],
                start: 0,
                end: 0,
                read_timeout: None,
                head_deadline: None,
            },
            outbox: Outbox {
                out,
                scratch: Vec::with_capacity(512),
                site,
                peer,
            },
            registration,
        }
    }

    fn serve(mut self) {
        // Headers and bodies go out in as few writes as we can manage; no
        // reason to let Nagle's algorithm hold the last segment back.
        let _ = self.inbox.stream.set_nodelay(true);
        loop {
            match self.exchange() {
                Ok(Next::KeepAlive) => {}
                Ok(Next::Close) => return,
                Ok(Next::Linger) => return self.inbox.linger(),
                // Only a file that shrank while it was sent: the client got
                // less than it was promised, which the site's owner should
                // hear of. A client that leaves is ordinary.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    log::warn!("{}: {e}; connection closed", self.inbox.peer);
                    return;
                }
                Err(e) => {
                    log::debug!("{}: connection dropped: {e}", self.inbox.peer);
                    return;
                }
            }
        }
    }

    /// Reads one request, answers it, and finishes it.
    #[inline(never)]
    fn exchange(&mut self) -> io::Result<Next> {
        self.registration.set(State::Waiting);
        let access_log = self.outbox.site.config.access_log;
        let answer = loop {
            match request::parse(self.inbox.pending()) {
                Ok(Parsed::Complete(request, head_len)) => {
                    break Answer::to(&request, head_len, &self.outbox.site, self.inbox.peer);
                }
                Ok(Parsed::Partial) => {}
                Err(e) => {
                    return self
                        .outbox
                        .fail(e.into(), false, &log_line(None, access_log));
                }
            }
            match self
                .inbox
                .wait_for_head(&self.outbox.site.config.timeouts)?
            {
                Wait::Arrived => {}
                Wait::Gone => return Ok(Next::Close),
                Wait::Failed(error) => {
                    return self.outbox.fail(error, false, &log_line(None, access_log));
                }
            }
        };
        self.registration.set(State::Busy);
        self.finish(answer)
    }

    /// Drops the request's body, sends the answer, and says what next.
    #[inline(never)]
    fn finish(&mut self, answer: Answer) -> io::Result<Next> {
        let Answer {
            head_len,
            head_only,
            persistence,
            log,
            plan,
        } = answer;
        self.inbox.consume(head_len);
        let (framing, send_continue, reply) = match plan {
            Plan::Refuse(error) => return self.outbox.fail(error, head_only, &log),
            Plan::Reply {
                framing,
                send_continue,
                reply,
            } => (framing, send_continue, reply),
        };
        if framing != Framing::Length(0) {
            if send_continue {
                response::write_continue(&mut self.outbox.out)?;
            }
            let deadline = Instant::now() + self.outbox.site.config.timeouts.head;
            match self.inbox.discard_body(framing, deadline) {
                Ok(None) => {}
                Ok(Some(error)) => return self.outbox.fail(error, head_only, &log),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return self.outbox.fail(HttpError::RequestTimeout, head_only, &log);
                }
                Err(e) => return Err(e),
            }
        }
        let response = reply.unwrap_or_else(|e| handler::error_response(e, &self.outbox.site));
        // A body without a length ends with the connection (RFC 9112
        // section 6.3, item 8).
        let persistence = if response.body.ends_with_connection() {
            Persistence::Close
        } else {
            persistence
        };
        self.outbox.send(response, head_only, persistence, &log)?;
        Ok(match persistence {
            Persistence::Close => Next::Close,
            Persistence::KeepAlive | Persistence::EchoKeepAlive => Next::KeepAlive,
        })
    }
}

/// Everything that answers on a connection.
struct Outbox {
    /// Every write to the client goes through it.
    out: Sender,
    /// Where each response head is assembled before it is written.
    scratch: Vec<u8>,
    site: Arc<Site>,
    peer: SocketAddr,
}

impl Outbox {
    /// Answers with `error`, then has the connection closed gently: used
    /// wherever the stream's framing can no longer be trusted.
    fn fail(
        &mut self,
        error: HttpError,
        head_only: bool,
        log: &Option<LogLine>,
    ) -> io::Result<Next> {
        let response = handler::error_response(error, &self.site);
        self.send(response, head_only, Persistence::Close, log)?;
        Ok(Next::Linger)
    }

    /// Writes a response and logs it; a body without a length is then
    /// written until it ends.
    fn send(
        &mut self,
        mut response: Response,
        head_only: bool,
        persistence: Persistence,
        log: &Option<LogLine>,
    ) -> io::Result<()> {
        handler::decorate(&mut response, &self.site);
        let written = response::write(
            &mut self.out,
            &mut self.scratch,
            &response,
            head_only,
            persistence,
        );
        if let Some(log) = log {
            let note = response
                .note
                .as_deref()
                .map(|note| format!(" ({note})"))
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
                note,
                written.body_sent,
                cut,
                log.started.elapsed().as_secs_f64() * 1000.0
            );
        }
        written.result?;
        match &response.body {
            Body::Stream(stream) if !head_only => stream.write_to(&mut self.out),
            _ => Ok(()),
        }
    }
}

/// The bytes received on a connection and not yet consumed:
/// `buf[start..end]`.
struct Inbox {
    /// Shared with the registry, which may shut it down to shed the
    /// connection.
    stream: Arc<TcpStream>,
    peer: SocketAddr,
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
    fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` bytes as used; the next head's deadline starts afresh.
    fn consume(&mut self, n: usize) {
        self.start += n;
        self.head_deadline = None;
    }

    /// Waits for more of a request head, the parser having said the bytes so
    /// far are not enough: up to the idle timeout for its first byte, then
    /// up to the head deadline for the rest.
    fn wait_for_head(&mut self, timeouts: &Timeouts) -> io::Result<Wait> {
        let started = self.start < self.end;
        if self.end - self.start >= MAX_HEAD {
            return Ok(Wait::Failed(HttpError::HeaderFieldsTooLarge));
        }
        let read = if started {
            let deadline = *self
                .head_deadline
                .get_or_insert_with(|| Instant::now() + timeouts.head);
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
    fn discard_body(
        &mut self,
        framing: Framing,
        deadline: Instant,
    ) -> io::Result<Option<HttpError>> {
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
                    return Err(client_left());
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
                        return Err(client_left());
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

/// Says at warn level (so even with `--quiet`) that answering a request
/// failed on our side, with the cause the access line would give.
// Out of line: it formats, which takes stack that the answer's path must
// not carry.
#[inline(never)]
fn warn_of(error: &HttpError, request: &Request<'_>, peer: SocketAddr) {
    log::warn!(
        "{peer} \"{} {}\": {} {}",
        escape_for_log(request.method),
        escape_for_log(request.target),
        error.status().code(),
        error.reason()
    );
}

/// A client that closed its side while we still expected its request's
/// body: an ordinary way for a connection to end, not the server's fault.
fn client_left() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "the client closed the connection in the middle of a request body",
    )
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
    fn log_escaping() {
        assert_eq!(escape_for_log("/a\"b\\c"), "/a\\\"b\\\\c");
        assert_eq!(escape_for_log("/é\u{1b}"), "/\\u{e9}\\u{1b}");
    }
}
