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
/// The stack of each connection's thread. A request needs little: no
/// recursion, buffers on the heap. What matters more is how much of it a
/// thread touches, since every page touched stays that thread's memory
/// while the connection lives (a thousand idle connections, a thousand
/// stacks). So the functions on a request's path that take deep frames
/// (formatting, `fs::metadata`, a listing) are kept out of line
/// (`#[inline(never)]`): inlined, their frames would be part of their
/// caller's, and so of the deepest path of every request. The test
/// `the_deepest_requests_touch_a_fraction_of_the_stack` below measures it:
/// in a release build (`cargo test --release the_deepest -- --nocapture`)
/// a thread touched 12 KiB with these attributes and 20 KiB without them.
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
    let spare = Arc::clone(&site);
    let serve = move |stream: TcpStream, peer: SocketAddr| {
        serve_or_refuse(stream, peer, &registry, &site, options)
    };
    Pool::run(
        listener,
        "connection",
        STACK_SIZE,
        pool::IDLE_LIFETIME,
        serve,
        move || spare.give_back_descriptors(),
    );
}

/// Serves a new connection, or refuses it when all places are taken.
// Out of line (see `STACK_SIZE`): the accepting loop's frame, which every
// connection's thread carries, holds nothing of a connection's.
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
// Out of line (see `STACK_SIZE`): its drain buffer.
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

// Linux only: it reads /proc/self/smaps.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::net::Timeouts;
    use crate::serve::tests::{TempDir, settings};

    /// The pages of this thread's stack that are resident, in bytes, read
    /// from `/proc/self/smaps`: the mapping that holds one of its locals.
    fn stack_touched() -> usize {
        let local = 0u8;
        let here = std::hint::black_box(&local) as *const u8 as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            let range = line.split(' ').next().unwrap_or("");
            if let Some((start, end)) = range.split_once('-')
                && let (Ok(start), Ok(end)) = (
                    usize::from_str_radix(start, 16),
                    usize::from_str_radix(end, 16),
                )
            {
                inside = (start..end).contains(&here);
            } else if inside && let Some(kb) = line.strip_prefix("Rss:") {
                let kb: usize = kb.trim().trim_end_matches(" kB").trim().parse().unwrap();
                return kb * 1024;
            }
        }
        panic!("no mapping holds this thread's stack");
    }

    /// The requests that take the deepest paths through the server, on one
    /// connection: a listing in both formats, several ranges, a page with
    /// the reload script, a precompressed variant, a clean URL, a 404 with
    /// its letter-case hint, a 304, a body to drop, OPTIONS and a 400; and
    /// the host's rules: a rewrite to a clean URL (the pipeline run again),
    /// a rule's 410 page, a POST redirected, all with `_headers` fields.
    const DEEPEST: &[&str] = &[
        "GET /d/ HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /d/?sort=size HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n",
        "GET /f.txt HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-0,2-3,5-\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Dest: document\r\n\r\n",
        "GET /a.js HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip, br\r\n\r\n",
        "GET /about HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /D/B.TXT HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /f.txt HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: *\r\n\r\n",
        "POST /f.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "GET /app/deep/link HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /old HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "POST /moved HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /%zz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    ];

    /// Serves `DEEPEST` on a thread of `STACK_SIZE`, as the pool would, and
    /// says how much of its stack the thread touched. A path that grew
    /// deeper, or a deep frame inlined into it, shows here before it shows
    /// as memory at a thousand connections or as an overflow.
    #[test]
    fn the_deepest_requests_touch_a_fraction_of_the_stack() {
        let folder = TempDir::new("stack");
        folder.write("index.html", b"<html><body><p>hi</p></body></html>");
        folder.write("about.html", b"<p>about</p>");
        folder.write("f.txt", b"0123456789");
        folder.write("a.js", b"let a = 1;");
        folder.write("a.js.br", b"br");
        folder.write("d/b.txt", b"b");
        folder.write("d/c.txt", b"cc");
        folder.write(
            "_redirects",
            b"/app/* /about 200\n/old /about.html 410\n/moved /f.txt 307\n",
        );
        folder.write("_headers", b"/*\n  X-Frame-Options: DENY\n");
        let mut settings = settings(&folder.0);
        settings.live_reload = true;
        let site = Arc::new(crate::serve::Site::new(settings, 8));
        let options = Options {
            max_connections: 4,
            timeouts: Timeouts {
                request: Duration::from_secs(5),
                idle: Duration::from_secs(5),
                send: Duration::from_secs(5),
            },
            access_log: true,
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn(move || {
                let (stream, peer) = listener.accept().unwrap();
                let registry = Arc::new(Registry::new(options.max_connections));
                let before = stack_touched();
                serve_or_refuse(stream, peer, &registry, &site, options);
                (before, stack_touched())
            })
            .unwrap();
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        std::io::Write::write_all(&mut client, DEEPEST.concat().as_bytes()).unwrap();
        let mut answers = Vec::new();
        client.read_to_end(&mut answers).unwrap();
        let answers = String::from_utf8_lossy(&answers);
        for status in [
            "200 OK",
            "206 Partial",
            "304 Not",
            "404 Not",
            "405 Method",
            "410 Gone",
            "307 Temporary",
            "204 No",
            "400 Bad",
        ] {
            assert!(
                answers.contains(&format!("HTTP/1.1 {status}")),
                "{status}: {answers}"
            );
        }
        assert!(answers.contains("<script"), "no reload script: {answers}");
        // The rewrite served the clean URL's page, and the blocks' field
        // went on the rules' answers.
        assert!(answers.contains("<p>about</p>"), "{answers}");
        assert!(
            answers.matches("X-Frame-Options: DENY").count() >= 3,
            "{answers}"
        );
        let (before, after) = server.join().unwrap();
        eprintln!(
            "connection thread stack: {} KiB touched before the first request, {} KiB after \
             the deepest ones, of {} KiB",
            before / 1024,
            after / 1024,
            STACK_SIZE / 1024
        );
        // A quarter: room for paths deeper than these, and for the test
        // build's frames, which are larger than the release build's.
        assert!(
            after <= STACK_SIZE / 4,
            "{} KiB of {} KiB",
            after / 1024,
            STACK_SIZE / 1024
        );
    }
}
