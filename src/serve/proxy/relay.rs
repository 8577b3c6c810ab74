//! One exchange with a backend: the head sent on a kept-alive connection
//! or a new one, the request's body passed on as the connection reads it,
//! then the backend's response head read and turned into the `Response`
//! the client gets, whose body (`body::Relayed`) is copied as it arrives.
//!
//! Every wait on the backend has a deadline (`--proxy-timeout`): no head
//! in time is a 504; what is not an HTTP/1.x head, or could be framed two
//! ways, is a 502 and the connection is dropped. A kept-alive connection
//! the backend had closed is replaced, and an idempotent request without a
//! body sent again, once.
//!
//! Imports `http`, `dev` (the live-reload script) and its siblings.
#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dev::livereload;
use crate::http::chunked;
use crate::http::error::HttpError;
use crate::http::request_body::Framing;
use crate::http::response::{Body, Response, Status, StreamFraming};
use crate::http::response_head::{self, BodyFraming};
use crate::serve::proxy::Forward;
use crate::serve::proxy::backend::Upstream;
use crate::serve::proxy::body::{Relayed, Source, read_more};
use crate::serve::proxy::heads::{BackendHead, keep_interim};

/// The largest response head taken from a backend.
const MAX_HEAD: usize = 64 * 1024;

/// What the backend's answer became.
#[derive(Debug)]
pub enum Outcome {
    /// A response for the client: the backend's, or a 502 or 504.
    Reply(Response),
    /// The backend switched protocols: send its 101, then copy bytes both
    /// ways, starting with `early`, what it sent after its head.
    Upgraded {
        response: Response,
        backend: TcpStream,
        early: Vec<u8>,
    },
}

/// A request being forwarded on a connection to its backend.
#[derive(Debug)]
pub struct Exchange {
    forward: Forward,
    upstream: Upstream,
    framing: Framing,
    started: Instant,
    scratch: Vec<u8>,
    /// Interim responses to pass on, as the client gets them.
    interim: Vec<u8>,
}

impl Forward {
    /// Sends the head, framed for the body the client is sending, on a
    /// kept-alive connection or a new one. The error is the 502 to send.
    pub fn open(mut self, framing: Framing) -> Result<Exchange, Box<Response>> {
        let started = Instant::now();
        self.frame(framing);
        let mut upstream = match self.backend.take() {
            Ok(upstream) => upstream,
            Err(error) => return Err(Box::new(self.error_page(error))),
        };
        if let Err(e) = (&upstream.stream).write_all(&self.head) {
            // Nothing of the request reached the backend: a closed
            // kept-alive connection is replaced, whatever the method.
            if !upstream.reused {
                return Err(Box::new(self.error_page(sent_nothing(&self, &e))));
            }
            upstream = match self.resend() {
                Ok(upstream) => upstream,
                Err(error) => return Err(Box::new(self.error_page(error))),
            };
        }
        Ok(Exchange {
            forward: self,
            upstream,
            framing,
            started,
            scratch: Vec::new(),
            interim: Vec::new(),
        })
    }

    /// The head sent again, on a new connection.
    fn resend(&self) -> Result<Upstream, HttpError> {
        let stream = self.backend.connect()?;
        (&stream)
            .write_all(&self.head)
            .map_err(|e| sent_nothing(self, &e))?;
        Ok(Upstream {
            stream,
            reused: false,
        })
    }

    /// The page for `error`: HTML for a browser, a line of text for an API
    /// client.
    fn error_page(&self, error: HttpError) -> Response {
        log::warn!("proxy to {}: {}", self.backend.authority, error.reason());
        let note = error.reason();
        let mut response = if self.wants_html {
            error.into_response()
        } else {
            error.into_text_response()
        };
        response.note = Some(note);
        response
    }
}

fn sent_nothing(forward: &Forward, e: &io::Error) -> HttpError {
    HttpError::BadGateway(format!(
        "cannot send the request to {}: {e}",
        forward.backend.authority
    ))
}

impl Exchange {
    /// The request's body was not sent in full: the backend may still be
    /// reading it, so its connection is closed after this exchange, never
    /// given back for another.
    pub fn cut_short(&mut self) {
        self.forward.reusable = false;
    }

    /// Passes on a piece of the request's body, in our own framing.
    pub fn send_body(&mut self, data: &[u8]) -> io::Result<()> {
        match self.framing {
            Framing::Chunked => {
                self.scratch.clear();
                chunked::encode(&mut self.scratch, data);
                (&self.upstream.stream).write_all(&self.scratch)
            }
            Framing::Length(_) => (&self.upstream.stream).write_all(data),
        }
    }

    /// Ends the request's body.
    pub fn end_body(&mut self) -> io::Result<()> {
        match self.framing {
            Framing::Chunked => (&self.upstream.stream).write_all(chunked::LAST_CHUNK),
            Framing::Length(_) => Ok(()),
        }
    }

    /// Waits for the backend's answer and makes it the client's response;
    /// with it, the interim responses (`103 Early Hints`) to send before.
    pub fn response(mut self) -> (Vec<u8>, Outcome) {
        let mut buffer = Vec::with_capacity(4096);
        let (head, head_len) = match self.final_head(&mut buffer) {
            Ok(found) => found,
            // The backend's hints go with its answer, not with our 502.
            Err(page) => return (Vec::new(), Outcome::Reply(*page)),
        };
        let early = buffer[head_len..].to_vec();
        let elapsed = self.started.elapsed();
        let forward = self.forward;
        match answer(&forward, self.upstream.stream, head, early, elapsed) {
            Ok(outcome) => (self.interim, outcome),
            Err(why) => {
                let page = forward.failed(Failure::Malformed(why));
                (Vec::new(), Outcome::Reply(page))
            }
        }
    }

    /// Reads the final head into `buffer`, sending the request once more if
    /// a kept-alive connection turns out closed; the error is the page.
    fn final_head(&mut self, buffer: &mut Vec<u8>) -> Result<(BackendHead, usize), Box<Response>> {
        let deadline = Instant::now() + self.forward.backend.timeout;
        loop {
            let read = self.read_head(buffer, deadline);
            let retry = matches!(&read, Err(Failure::Closed(0)))
                && self.upstream.reused
                && self.forward.idempotent;
            if !retry {
                return read.map_err(|failure| Box::new(self.forward.failed(failure)));
            }
            log::debug!(
                "proxy to {}: a kept-alive connection was closed; sending again",
                self.forward.backend.authority
            );
            self.upstream = self
                .forward
                .resend()
                .map_err(|e| self.forward.error_page(e))?;
            buffer.clear();
        }
    }

    /// Reads until a final response head (or a 101) is complete, passing
    /// over interim ones; gives what the answer needs of it, taken in the
    /// one pass that parses it, and how long it is.
    fn read_head(
        &mut self,
        buffer: &mut Vec<u8>,
        deadline: Instant,
    ) -> Result<(BackendHead, usize), Failure> {
        let mut received = 0;
        loop {
            let interim = match response_head::parse(buffer) {
                Ok(Some(_)) if self.interim.len() > MAX_HEAD => {
                    return Err(Failure::Malformed("interim responses over 64 KiB"));
                }
                // RFC 9110 section 15.2: interim responses are passed on,
                // but for 100 Continue, which was ours to send (and was,
                // if the client asked), and to HTTP/1.0 clients.
                Ok(Some((head, len))) if head.code < 200 && head.code != 101 => {
                    if head.code != 100 && self.forward.client_minor >= 1 {
                        keep_interim(&mut self.interim, &head);
                    }
                    Some(len)
                }
                Ok(Some((_, len))) if len > MAX_HEAD => {
                    return Err(Failure::Malformed("a response head over 64 KiB"));
                }
                Ok(Some((head, len))) => {
                    let head = BackendHead::of(&head, &self.forward).map_err(Failure::Malformed)?;
                    return Ok((head, len));
                }
                Ok(None) if buffer.len() >= MAX_HEAD => {
                    return Err(Failure::Malformed("a response head over 64 KiB"));
                }
                Ok(None) => None,
                Err(why) => return Err(Failure::Malformed(why)),
            };
            if let Some(len) = interim {
                buffer.drain(..len);
                continue;
            }
            match read_more(&self.upstream.stream, buffer) {
                Ok(0) => return Err(Failure::Closed(received)),
                // Each read waits up to the timeout; a head trickling in
                // may not take longer than that in all.
                Ok(_) if Instant::now() >= deadline => return Err(Failure::TimedOut),
                Ok(n) => received += n,
                // A kept-alive connection the backend closed is reset when
                // written to: as good as closed before answering.
                Err(e) if received == 0 && e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(Failure::Closed(0));
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(Failure::TimedOut),
                Err(e) => return Err(Failure::Io(e)),
            }
        }
    }
}

/// The response for `head`, which came on `stream` with `early`, the
/// bytes after it.
fn answer(
    forward: &Forward,
    stream: TcpStream,
    head: BackendHead,
    early: Vec<u8>,
    elapsed: Duration,
) -> Result<Outcome, &'static str> {
    let backend = Arc::clone(&forward.backend);
    let status = Status::Relayed(head.code);
    if head.code == 101 {
        let relayed = Relayed::new(head.fields, StreamFraming::Length(0), Source::Done, b"");
        return Ok(Outcome::Upgraded {
            response: finish(status, relayed, forward, elapsed),
            backend: stream,
            early,
        });
    }
    let keep_alive = forward.reusable && head.keep_alive;
    // Towards the client: a length if the backend gave one, else chunks (to
    // HTTP/1.1 clients, RFC 9112 section 7) or the connection's end.
    let open_ended = if forward.client_minor >= 1 {
        StreamFraming::Chunked
    } else {
        StreamFraming::UntilClose
    };
    let mut tail: &'static [u8] = b"";
    let (client_framing, source) = match head.framing {
        BodyFraming::None => {
            if keep_alive && early.is_empty() {
                backend.give_back(stream);
            }
            let framing = head.declared.map_or(open_ended, StreamFraming::Length);
            (framing, Source::Done)
        }
        BodyFraming::Length(len) if head.script => {
            let page = read_whole(&stream, early, len, Instant::now() + backend.timeout)
                .map_err(|_| "a page cut short")?;
            if keep_alive {
                backend.give_back(stream);
            }
            let page = livereload::inject(&page);
            (
                StreamFraming::Length(page.len() as u64),
                Source::Bytes(page),
            )
        }
        BodyFraming::Length(len) => {
            let source = Source::backend(stream, early, head.framing, backend, keep_alive);
            (StreamFraming::Length(len), source)
        }
        framing @ (BodyFraming::Chunked | BodyFraming::UntilClose) => {
            let keep = keep_alive && framing == BodyFraming::Chunked;
            if head.script {
                tail = livereload::SCRIPT.as_bytes();
            }
            (
                open_ended,
                Source::backend(stream, early, framing, backend, keep),
            )
        }
    };
    let relayed = Relayed::new(head.fields, client_framing, source, tail);
    Ok(Outcome::Reply(finish(status, relayed, forward, elapsed)))
}

impl Forward {
    /// The 502 or 504 for `failure`; the connection is dropped with it.
    fn failed(&self, failure: Failure) -> Response {
        let authority = &self.backend.authority;
        let error = match failure {
            Failure::TimedOut => HttpError::GatewayTimeout(format!(
                "{authority} sent no response within {:.1}s (--proxy-timeout)",
                self.backend.timeout.as_secs_f64()
            )),
            Failure::Closed(_) => HttpError::BadGateway(format!(
                "{authority} closed the connection without a complete response"
            )),
            Failure::Malformed(why) => {
                HttpError::BadGateway(format!("{authority} sent a malformed response: {why}"))
            }
            Failure::Io(e) => HttpError::BadGateway(format!("reading from {authority}: {e}")),
        };
        self.error_page(error)
    }
}

/// The response around a relayed body, with the note the access log
/// gives it: which backend answered, and how soon.
fn finish(status: Status, relayed: Relayed, forward: &Forward, elapsed: Duration) -> Response {
    let mut response = Response::new(status).body(Body::Stream(Box::new(relayed)));
    response.note = Some(
        format!(
            "backend {}, {:.1}ms",
            forward.backend.authority,
            elapsed.as_secs_f64() * 1000.0
        )
        .into(),
    );
    response
}

/// The whole body of `len` bytes, of which `early` came with the head.
fn read_whole(
    stream: &TcpStream,
    mut early: Vec<u8>,
    len: u64,
    deadline: Instant,
) -> io::Result<Vec<u8>> {
    let len = len as usize;
    while early.len() < len {
        if read_more(stream, &mut early)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if early.len() < len && Instant::now() >= deadline {
            return Err(io::ErrorKind::TimedOut.into());
        }
    }
    if early.len() > len {
        return Err(io::Error::other("more than its Content-Length"));
    }
    Ok(early)
}

/// Why no response came.
#[derive(Debug)]
enum Failure {
    /// The backend closed, having sent this many bytes.
    Closed(usize),
    TimedOut,
    Malformed(&'static str),
    Io(io::Error),
}
