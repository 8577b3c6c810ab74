//! The connection's side of a proxied request: the exchange with the
//! backend opened (`serve::proxy`), `100 Continue` when the client waits
//! for it, the body passed on as it arrives, then the backend's answer
//! sent like any response, or, for a WebSocket, the connection handed to
//! `tunnel`.
//!
//! The client's connection outlives trouble on the backend's side: a 502
//! or 504 is an answer like any other, and the connection closes only when
//! part of the client's body was left unread.
//!
//! Imports `http`, `serve`'s proxy, and its siblings.
#![forbid(unsafe_code)]

use std::io;

use crate::http::error::HttpError;
use crate::http::request_body::Framing;
use crate::http::response::{self, Persistence};
use crate::net::inbox::{Inbox, Passed};
use crate::net::outbox::{LogLine, Outbox};
use crate::net::tunnel;
use crate::net::{Next, Options};
use crate::serve::proxy::Forward;
use crate::serve::proxy::relay::Outcome;

/// A request to forward, with what the connection worked out about it.
pub struct Forwarding {
    pub forward: Forward,
    pub framing: Framing,
    pub send_continue: bool,
    pub head_only: bool,
    pub persistence: Persistence,
}

impl Forwarding {
    /// Out of line (see `listener::STACK_SIZE`): no other request should
    /// carry its frame.
    #[inline(never)]
    pub fn run(
        self,
        inbox: &mut Inbox,
        outbox: &mut Outbox,
        options: &Options,
        log: &Option<LogLine>,
    ) -> io::Result<Next> {
        let Forwarding {
            forward,
            framing,
            send_continue,
            head_only,
            persistence,
        } = self;
        let has_body = framing != Framing::Length(0);
        let mut exchange = match forward.open(framing) {
            Ok(exchange) => exchange,
            // The body was not read, and is not going to be: unless there is
            // none, the connection closes after the answer.
            Err(page) if has_body => {
                outbox.send(*page, head_only, Persistence::Close, log)?;
                return Ok(Next::Linger);
            }
            Err(page) => return send(outbox, *page, head_only, persistence, log),
        };
        // The backend is there: the client may send its body (RFC 9110
        // section 10.1.1).
        if send_continue {
            response::write_continue(&mut outbox.out)?;
        }
        let mut body_read = true;
        if has_body {
            let timeout = options.timeouts.request;
            let passed = inbox.pass_body(framing, timeout, |data| exchange.send_body(data));
            let sent = match passed {
                Ok(Passed::Done) => exchange.end_body(),
                Ok(Passed::SinkFailed(e)) => Err(e),
                Ok(Passed::Refused(error)) => return fail(outbox, error, head_only, log),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return fail(outbox, HttpError::RequestTimeout, head_only, log);
                }
                Err(e) => return Err(e),
            };
            // A backend that stopped taking the body may still have answered
            // (a 413, say): its answer is read, and the rest of the client's
            // body is left unread, so the connection closes after.
            if let Err(e) = sent {
                log::debug!("{}: the backend stopped taking the body: {e}", inbox.peer);
                exchange.cut_short();
                body_read = false;
            }
        }
        let (interim, outcome) = exchange.response();
        if !interim.is_empty() {
            outbox.out.begin();
            outbox.out.write_all(&interim, false)?;
        }
        match outcome {
            Outcome::Reply(response) => {
                let persistence = match body_read {
                    false => Persistence::Close,
                    true if response.body.ends_with_connection() => Persistence::Close,
                    true => persistence,
                };
                let next = send(outbox, response, head_only, persistence, log)?;
                Ok(if body_read { next } else { Next::Linger })
            }
            Outcome::Upgraded {
                response,
                backend,
                early,
            } => {
                outbox.send(response, false, Persistence::KeepAlive, log)?;
                let client_early = inbox.take_pending();
                tunnel::run(inbox, &client_early, backend, &early, options.timeouts.send);
                Ok(Next::Close)
            }
        }
    }
}

/// Sends `response`, and says whether the connection goes on.
fn send(
    outbox: &mut Outbox,
    response: response::Response,
    head_only: bool,
    persistence: Persistence,
    log: &Option<LogLine>,
) -> io::Result<Next> {
    outbox.send(response, head_only, persistence, log)?;
    Ok(match persistence {
        Persistence::Close => Next::Close,
        Persistence::KeepAlive | Persistence::EchoKeepAlive => Next::KeepAlive,
    })
}

/// Answers with `error`, and has the connection closed gently.
fn fail(
    outbox: &mut Outbox,
    error: HttpError,
    head_only: bool,
    log: &Option<LogLine>,
) -> io::Result<Next> {
    outbox.fail(error, head_only, log)?;
    Ok(Next::Linger)
}
