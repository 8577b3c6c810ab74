//! A backend the proxy forwards to: where it is, how to connect to it (at
//! every address its name resolves to), and the connections to it kept
//! alive between requests.
//!
//! Connections are taken from the pool by the connection thread that
//! forwards a request and given back when its response has been read to
//! the end; a connection that is in doubt is dropped instead. A pooled
//! connection idle for longer than `IDLE_REUSE` is not used: the backend
//! may be closing it at that very moment.
//!
//! Imports `http`'s errors.
#![forbid(unsafe_code)]

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::http::error::HttpError;
use crate::sys;

/// The most idle connections kept to one backend; `main` counts them in
/// the descriptor budget.
pub const MAX_IDLE: usize = 32;
/// How long an idle connection may wait to be used again. Node closes an
/// idle connection after 5 seconds (`server.keepAliveTimeout`), and a
/// request sent just as it does is lost; 4 seconds stays clear of that.
const IDLE_REUSE: Duration = Duration::from_secs(4);
/// How long connecting to one of the backend's addresses may take. A
/// development backend is on this machine or the next: if it has not
/// answered in a second, it is not going to.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct Backend {
    /// `host[:port]` as the URL gave it: the backend's `Host`, and how
    /// messages name it.
    pub authority: String,
    host: String,
    port: u16,
    /// How long the backend may take to start its answer, and to take
    /// what we write (`--proxy-timeout`).
    pub timeout: Duration,
    idle: Mutex<Vec<(TcpStream, Instant)>>,
}

/// A connection to a backend, and whether it was used before (a reused
/// one may have been closed by the backend in the meantime).
#[derive(Debug)]
pub struct Upstream {
    pub stream: TcpStream,
    pub reused: bool,
}

impl Backend {
    /// The backend at `host` and `port`, named `authority` in the URL.
    pub fn new(authority: &str, host: &str, port: u16, timeout: Duration) -> Backend {
        Backend {
            authority: authority.to_string(),
            host: host.to_string(),
            port,
            timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// A connection: one kept alive if there is one young enough, else a
    /// new one. A kept-alive one is looked at first (one `recv` that does
    /// not wait), and passed over if the backend has closed it or sent
    /// anything since: an idle backend has nothing to say, and bytes it
    /// sent late (a body after a HEAD answer) would pass for the next
    /// request's answer.
    pub fn take(&self) -> Result<Upstream, HttpError> {
        while let Some(stream) = self.take_idle(Instant::now()) {
            if has_gone(&stream, true) {
                continue;
            }
            return Ok(Upstream {
                stream,
                reused: true,
            });
        }
        self.connect().map(|stream| Upstream {
            stream,
            reused: false,
        })
    }

    /// The newest idle connection that has waited less than `IDLE_REUSE`
    /// at `now`; older ones are closed.
    fn take_idle(&self, now: Instant) -> Option<TcpStream> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        // The newest first; the older ones are the likelier to be closed.
        while let Some((stream, since)) = idle.pop() {
            if now.saturating_duration_since(since) < IDLE_REUSE {
                return Some(stream);
            }
        }
        None
    }

    /// Keeps `stream` for the next request, its response read to the end.
    pub fn give_back(&self, stream: TcpStream) {
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|(_, since)| now.duration_since(*since) < IDLE_REUSE);
        if idle.len() < MAX_IDLE {
            idle.push((stream, now));
        }
    }

    /// Drops every idle connection (to give their descriptors back).
    pub fn close_idle(&self) -> usize {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let closed = idle.len();
        idle.clear();
        closed
    }

    /// Connects to the first of the backend's addresses that answers: a
    /// backend named `localhost` may listen on `::1` only (Node 17 and
    /// later) or on `127.0.0.1` only (older tools).
    pub fn connect(&self) -> Result<TcpStream, HttpError> {
        let mut addresses: Vec<SocketAddr> = match (self.host.as_str(), self.port).to_socket_addrs()
        {
            Ok(addresses) => addresses.collect(),
            Err(e) => {
                return Err(HttpError::BadGateway(format!(
                    "cannot resolve the backend's name {}: {e}",
                    self.host
                )));
            }
        };
        // `localhost` is both loopback addresses (RFC 6761 section 6.3),
        // whatever the hosts file says: a backend may take the one the
        // hosts file leaves out.
        if self.host.eq_ignore_ascii_case("localhost") {
            for ip in [
                IpAddr::from(Ipv6Addr::LOCALHOST),
                Ipv4Addr::LOCALHOST.into(),
            ] {
                let address = SocketAddr::new(ip, self.port);
                if !addresses.contains(&address) {
                    addresses.push(address);
                }
            }
        }
        let mut failure = None;
        for address in &addresses {
            match TcpStream::connect_timeout(address, CONNECT_TIMEOUT) {
                Ok(stream) => {
                    stream.set_nodelay(true).map_err(HttpError::Io)?;
                    // Set once for the connection's life: every wait on
                    // the backend, each read and each write.
                    stream
                        .set_write_timeout(Some(self.timeout))
                        .and_then(|()| stream.set_read_timeout(Some(self.timeout)))
                        .map_err(HttpError::Io)?;
                    return Ok(stream);
                }
                // A refusal says least: any other failure is the one told.
                Err(e) if failure.is_none() || e.kind() != io::ErrorKind::ConnectionRefused => {
                    failure = Some(e);
                }
                Err(_) => {}
            }
        }
        Err(HttpError::BadGateway(self.unreachable(failure)))
    }

    /// What to tell the developer when no address of the backend answered.
    fn unreachable(&self, failure: Option<io::Error>) -> String {
        let authority = &self.authority;
        match failure {
            None => format!("the backend's name {} has no address", self.host),
            Some(e) => match e.kind() {
                io::ErrorKind::ConnectionRefused => {
                    format!("connection refused: is your backend running on {authority}?")
                }
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => format!(
                    "no answer from {authority} within {}s: is it reachable?",
                    CONNECT_TIMEOUT.as_secs()
                ),
                _ => format!("cannot connect to {authority}: {e}"),
            },
        }
    }

    /// A backend on a port nothing listens on, for unit tests.
    #[cfg(test)]
    pub fn for_tests() -> Backend {
        Backend {
            authority: "127.0.0.1:9".into(),
            host: "127.0.0.1".into(),
            port: 9,
            timeout: Duration::from_secs(1),
            idle: Mutex::new(Vec::new()),
        }
    }
}

/// Whether the peer on `socket` closed its side (or the connection
/// failed), by a look that does not wait and takes nothing; `quiet`
/// wants, besides, that nothing waits to be read.
pub fn has_gone(socket: &TcpStream, quiet: bool) -> bool {
    match sys::peek_now(socket) {
        Ok(n) => n == 0 || quiet,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn backend_at(port: u16, host: &str) -> Backend {
        let authority = format!("{host}:{port}");
        Backend::new(&authority, host, port, Duration::from_secs(1))
    }

    #[test]
    fn a_backend_that_is_down_is_named_in_the_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = backend_at(port, "127.0.0.1").take().unwrap_err();
        assert_eq!(
            error.reason(),
            format!("connection refused: is your backend running on 127.0.0.1:{port}?")
        );
    }

    #[test]
    fn connections_given_back_are_reused_newest_first() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let backend = backend_at(listener.local_addr().unwrap().port(), "localhost");
        let first = backend.take().unwrap();
        assert!(!first.reused);
        let port = first.stream.local_addr().unwrap().port();
        backend.give_back(first.stream);
        let again = backend.take().unwrap();
        assert!(again.reused);
        assert_eq!(again.stream.local_addr().unwrap().port(), port);
        backend.give_back(again.stream);
        assert_eq!(backend.close_idle(), 1);
        assert!(!backend.take().unwrap().reused);
    }

    #[test]
    fn a_kept_alive_connection_the_backend_closed_is_passed_over_when_looked_at() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let backend = backend_at(listener.local_addr().unwrap().port(), "127.0.0.1");
        let first = backend.take().unwrap();
        let watch = first.stream.try_clone().unwrap();
        let (accepted, _) = listener.accept().unwrap();
        backend.give_back(first.stream);
        assert!(!has_gone(&watch, true), "an open, quiet connection");
        drop(accepted);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !has_gone(&watch, false) {
            assert!(Instant::now() < deadline, "the close never arrived");
            std::thread::yield_now();
        }
        let next = backend.take().unwrap();
        assert!(!next.reused);
    }

    #[test]
    fn a_kept_alive_connection_with_bytes_waiting_is_passed_over() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let backend = backend_at(listener.local_addr().unwrap().port(), "127.0.0.1");
        let first = backend.take().unwrap();
        let watch = first.stream.try_clone().unwrap();
        let (mut accepted, _) = listener.accept().unwrap();
        backend.give_back(first.stream);
        // Late bytes (a body after a HEAD answer): they would pass for the
        // next request's answer.
        std::io::Write::write_all(&mut accepted, b"HTTP/1.1 200 OK\r\n").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !has_gone(&watch, true) {
            assert!(Instant::now() < deadline, "the bytes never arrived");
            std::thread::yield_now();
        }
        assert!(!backend.take().unwrap().reused);
    }

    #[test]
    fn an_idle_connection_is_reused_for_four_seconds_and_no_longer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let backend = backend_at(listener.local_addr().unwrap().port(), "127.0.0.1");
        let first = backend.take().unwrap();
        let given_back = Instant::now();
        backend.give_back(first.stream);
        let later = given_back + IDLE_REUSE - Duration::from_millis(1);
        let kept = backend.take_idle(later).expect("still young enough");
        backend.give_back(kept);
        assert!(backend.take_idle(Instant::now() + IDLE_REUSE).is_none());
        assert_eq!(backend.close_idle(), 0, "the old one was closed, not kept");
    }
}
