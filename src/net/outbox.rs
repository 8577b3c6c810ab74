//! The answering side of a connection: each response written through the
//! connection's `Sender`, with what `--cors` and `--header` add, and its
//! line in the access log; then a body without a length, written until it
//! ends.
//!
//! Imports `http` and `serve` (for error pages and the added fields).
#![forbid(unsafe_code)]

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::http::error::HttpError;
use crate::http::request::Request;
use crate::http::response::{self, Body, Persistence, Response, StreamFraming, Written};
use crate::http::sender::Sender;
use crate::serve::{self, Site};

/// The log target of the access lines: named, rather than this module's
/// path, so that it stays the same wherever the code moves and a user can
/// filter it (`RUST_LOG=tinyhttpd::access=off`).
const ACCESS_LOG: &str = "tinyhttpd::access";

/// What the access log says about the request being answered.
pub struct LogLine {
    method: String,
    target: String,
    /// When the head was complete.
    started: Instant,
}

/// The log line for `request`, `-` for what is not known (a head that did
/// not parse); `None` when nothing is logged, so nothing is copied.
pub fn log_line(request: Option<&Request<'_>>, enabled: bool) -> Option<LogLine> {
    enabled.then(|| LogLine {
        method: request.map_or("-", |r| r.method).to_string(),
        target: request.map_or("-", |r| r.target).to_string(),
        started: Instant::now(),
    })
}

/// Everything that answers on a connection.
pub struct Outbox {
    /// Every write to the client goes through it.
    pub out: Sender,
    /// Where each response head is assembled before it is written.
    scratch: Vec<u8>,
    pub site: Arc<Site>,
    peer: SocketAddr,
}

impl Outbox {
    pub fn new(out: Sender, site: Arc<Site>, peer: SocketAddr) -> Outbox {
        Outbox {
            out,
            scratch: Vec::with_capacity(512),
            site,
            peer,
        }
    }

    /// Answers with `error` and `Connection: close`: used wherever the
    /// stream's framing can no longer be trusted (the caller then lingers).
    pub fn fail(
        &mut self,
        error: HttpError,
        head_only: bool,
        log: &Option<LogLine>,
    ) -> io::Result<()> {
        let response = serve::error_response(error, &self.site);
        self.send(response, head_only, Persistence::Close, log)
    }

    /// Writes a response and logs it. A streamed body is written to its
    /// end before the line is logged, so the line says how much of it went
    /// out and how long it all took; but a body that lasts as long as the
    /// connection (live reload's event stream, open for as long as its
    /// page) is logged as it starts.
    pub fn send(
        &mut self,
        mut response: Response,
        head_only: bool,
        persistence: Persistence,
        log: &Option<LogLine>,
    ) -> io::Result<()> {
        serve::decorate(&mut response, &self.site);
        let mut written = response::write(
            &mut self.out,
            &mut self.scratch,
            &response,
            head_only,
            persistence,
        );
        let streamed = written.result.is_ok()
            && !head_only
            && matches!(response.body, Body::Stream(_))
            && !response.status.forbids_body();
        if !streamed {
            self.access(log, &response, &written, response.body.len());
            return written.result;
        }
        let announced = response.body.len();
        if let Body::Stream(stream) = std::mem::replace(&mut response.body, Body::Empty) {
            let endless = stream.framing() == StreamFraming::UntilClose;
            if endless {
                self.access(log, &response, &written, announced);
            }
            // The stream sends the head left in `scratch`, then its body.
            let before = self.out.handed();
            written.result = stream.write_to(&mut self.out, &self.scratch);
            let sent = self.out.handed() - before;
            written.body_sent = sent.saturating_sub(self.scratch.len() as u64);
            if !endless {
                self.access(log, &response, &written, announced);
            }
        }
        written.result
    }

    /// The access line for `response`, if lines are logged.
    // Out of line (see `listener::STACK_SIZE`): it formats.
    #[inline(never)]
    fn access(
        &self,
        log: &Option<LogLine>,
        response: &Response,
        written: &Written,
        announced: u64,
    ) {
        let Some(log) = log else {
            return;
        };
        let note = response
            .note
            .as_deref()
            .map(|note| format!(" ({note})"))
            .unwrap_or_default();
        // A response cut short says how much of it went out, and why.
        let cut = match &written.result {
            Err(e) => format!(" of {announced}, cut short: {e}"),
            Ok(()) => String::new(),
        };
        log::info!(
            target: ACCESS_LOG,
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
}

/// Says at warn level (so even with `--quiet`) that answering a request
/// failed on our side, with the cause the access line would give.
// Out of line (see `listener::STACK_SIZE`): it formats.
#[inline(never)]
pub fn warn_of(error: &HttpError, request: &Request<'_>, peer: SocketAddr) {
    log::warn!(
        "{peer} \"{} {}\": {} {}",
        escape_for_log(request.method),
        escape_for_log(request.target),
        error.status().code(),
        error.reason()
    );
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
