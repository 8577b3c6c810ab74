//! Where connections come in: the listener's settings, the pool of threads
//! that accept (`pool`), admission against the registry of open
//! connections (`registry`), and the 503 for one that does not fit. An
//! admitted connection is `connection`'s from there on.
//!
//! Imports `http`, `serve` (for the 503's page and fields) and `sys`.
#![forbid(unsafe_code)]

use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crate::http::error::HttpError;
use crate::http::response::{self, Persistence};
use crate::http::sender::Sender;
use crate::net::Options;
use crate::net::connection::Connection;
use crate::net::pool::{self, Pool};
use crate::net::registry::{Admission, Registry};
use crate::serve::{self, Site};
use crate::sys;

/// How many connections may wait for `accept` (see `sys::set_backlog`).
const BACKLOG: u32 = 4096;
/// Connection threads need little stack: no recursion, buffers on the heap.
pub const STACK_SIZE: usize = 256 * 1024;
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
/// `options.max_connections` at once. `prepare` has been called on `listener`.
pub fn run(listener: TcpListener, site: Arc<Site>, options: Options) {
    let registry = Arc::new(Registry::new(options.max_connections));
    let cache = Arc::clone(&site.cache);
    let serve = move |stream: TcpStream, peer: SocketAddr| {
        serve_or_refuse(stream, peer, &registry, &site, options)
    };
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
    options: Options,
) {
    let stream = Arc::new(stream);
    match registry.admit(&stream) {
        Admission::Admitted(registration) => {
            match Sender::new(Arc::clone(&stream), options.timeouts.send) {
                Ok(out) => {
                    Connection::new(stream, out, peer, Arc::clone(site), options, registration)
                        .serve()
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
    let mut response = serve::error_response(HttpError::ServiceUnavailable, site);
    serve::decorate(&mut response, site);
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
