//! A connection's keep-alive loop, on its own thread: it reads requests,
//! frames their bodies and writes the answers in order. Connections come
//! from `listener`.
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
//! File and header semantics live in `serve`; this module only moves
//! bytes. Of a body without a length (an event stream) it knows only that it
//! ends with the connection.
#![forbid(unsafe_code)]

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use crate::http::error::HttpError;
use crate::http::request::{self, Parsed, Request};
use crate::http::request_body::{self, Framing};
use crate::http::response::{self, Persistence, Response};
use crate::http::sender::Sender;
use crate::http::syntax::list_members;
use crate::net::forward;
use crate::net::inbox::{Inbox, Wait};
use crate::net::outbox::{LogLine, Outbox, log_line, warn_of};
use crate::net::registry::{Phase, Registration};
use crate::net::{Next, Options};
use crate::serve::proxy::{self, Forward};
use crate::serve::{self, Site};

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
    /// Forward the request and its body to the proxy's backend, and send
    /// what it answers.
    Forward {
        framing: Framing,
        send_continue: bool,
        forward: Box<Forward>,
    },
}

impl Answer {
    fn to(
        request: &Request<'_>,
        head_len: usize,
        site: &Site,
        access_log: bool,
        peer: SocketAddr,
    ) -> Answer {
        let persistence = match (wants_keep_alive(request), request.minor) {
            (false, _) => Persistence::Close,
            (true, 0) => Persistence::EchoKeepAlive,
            (true, _) => Persistence::KeepAlive,
        };
        // Before routing: a rule that proxies decides the request's way.
        site.refresh_rules(request);
        let routed = match site.may_forward() {
            false => None,
            true => proxy::forward(request, site, peer.ip()),
        };
        // A proxied body is the backend's to limit, not ours.
        let framed = match routed {
            Some(Ok(_)) => request_body::framing_within(request, u64::MAX),
            _ => request_body::framing(request),
        };
        let framed = framed
            .map_err(HttpError::from)
            .and_then(|framing| Ok((framing, expectation(request)?)));
        let plan = match (framed, routed) {
            (Err(error), _) => Plan::Refuse(error),
            (Ok((framing, expects_continue)), Some(Ok(forward))) => Plan::Forward {
                framing,
                send_continue: expects_continue && request.minor >= 1,
                forward: Box::new(forward),
            },
            (Ok((framing, expects_continue)), routed) => Plan::Reply {
                framing,
                send_continue: expects_continue && request.minor >= 1,
                reply: match routed {
                    Some(Err(refused)) => Err(refused),
                    _ => serve::handle(request, site),
                }
                .inspect_err(|error| {
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
            log: log_line(Some(request), access_log),
            plan,
        }
    }
}

pub struct Connection {
    inbox: Inbox,
    outbox: Outbox,
    options: Options,
    registration: Registration,
}

impl Connection {
    pub fn new(
        stream: Arc<TcpStream>,
        out: Sender,
        peer: SocketAddr,
        site: Arc<Site>,
        options: Options,
        registration: Registration,
    ) -> Self {
        Connection {
            inbox: Inbox::new(stream, peer),
            outbox: Outbox::new(out, site, peer),
            options,
            registration,
        }
    }

    pub fn serve(mut self) {
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
        self.registration.set(Phase::Waiting);
        let access_log = self.options.access_log;
        let answer = loop {
            match request::parse(self.inbox.pending()) {
                Ok(Parsed::Complete(request, head_len)) => {
                    break Answer::to(
                        &request,
                        head_len,
                        &self.outbox.site,
                        access_log,
                        self.inbox.peer,
                    );
                }
                Ok(Parsed::Partial) => {}
                Err(e) => return self.fail(e.into(), false, &log_line(None, access_log)),
            }
            match self.inbox.wait_for_head(&self.options.timeouts)? {
                Wait::Arrived => {}
                Wait::Gone => return Ok(Next::Close),
                Wait::Failed(error) => {
                    return self.fail(error, false, &log_line(None, access_log));
                }
            }
        };
        self.registration.set(Phase::Busy);
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
            Plan::Refuse(error) => return self.fail(error, head_only, &log),
            Plan::Reply {
                framing,
                send_continue,
                reply,
            } => (framing, send_continue, reply),
            Plan::Forward {
                framing,
                send_continue,
                forward,
            } => {
                let forwarding = forward::Forwarding {
                    forward: *forward,
                    framing,
                    send_continue,
                    head_only,
                    persistence,
                };
                return forwarding.run(&mut self.inbox, &mut self.outbox, &self.options, &log);
            }
        };
        if framing != Framing::Length(0) {
            if send_continue {
                response::write_continue(&mut self.outbox.out)?;
            }
            let deadline = Instant::now() + self.options.timeouts.request;
            match self.inbox.discard_body(framing, deadline) {
                Ok(None) => {}
                Ok(Some(error)) => return self.fail(error, head_only, &log),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return self.fail(HttpError::RequestTimeout, head_only, &log);
                }
                Err(e) => return Err(e),
            }
        }
        let response = reply.unwrap_or_else(|e| serve::error_response(e, &self.outbox.site));
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

    /// Answers with `error`, then has the connection closed gently.
    fn fail(
        &mut self,
        error: HttpError,
        head_only: bool,
        log: &Option<LogLine>,
    ) -> io::Result<Next> {
        self.outbox.fail(error, head_only, log)?;
        Ok(Next::Linger)
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
