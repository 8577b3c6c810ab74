//! The event stream a page holds open at `EVENTS_PATH` (server-sent events),
//! written by its connection's own thread: first the `retry:` field
//! (`RECONNECT`) and, once the watched set has overflowed, a notice; then a
//! `reload` or `css` event for each change the watcher publishes, with
//! heartbeat comments in between, until the page goes away.
//!
//! Owns `EVENTS_PATH`, `Events`, `Watcher::stream` and the timings of the
//! stream. May import std, its sibling `watcher`, and from the crate what all
//! of `dev/` may: `fs`, `http` and `sys`, never `serve` or `net`.
#![forbid(unsafe_code)]

use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::watcher::{Change, Listening, MAX_WATCHED, Watcher};
use crate::http::response::{Stream, StreamFraming};
use crate::http::sender::Sender;

/// Where pages listen for changes; under a dot-folder, so it can never shadow
/// a served file.
pub const EVENTS_PATH: &str = "/.tinyhttpd/events";
/// The folder of the paths tinyhttpd answers itself, whatever is proxied.
pub const OWN_PATHS: &str = "/.tinyhttpd/";
/// How long a page's `EventSource` waits before it connects again once its
/// stream has ended (the server restarted, or stopped), sent to it as the
/// stream's `retry:` field. Half a second: a restarted server is listening
/// again by then, so its pages reconnect and reload promptly; yet a server
/// that has stopped for good is asked only twice a second by each page left
/// open, not hammered.
const RECONNECT: Duration = Duration::from_millis(500);
/// A comment line this often keeps proxies and the browser from giving up on
/// a quiet stream.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// How often a stream looks whether its page has gone, so the watcher stops
/// soon after the last page closes.
const GONE_CHECK: Duration = Duration::from_secs(1);

/// The stream's first lines: the `retry:` field, in milliseconds, and the
/// empty line that ends the event it belongs to.
fn retry_field() -> String {
    format!("retry: {}\n\n", RECONNECT.as_millis())
}

impl Watcher {
    /// Streams events to one page until it goes away, after the response
    /// `head`, which leaves with the first field.
    pub fn stream(&self, out: &mut Sender, head: &[u8]) -> io::Result<()> {
        let _listening = Listening::new(self);
        out.write_pair(head, retry_field().as_bytes())?;
        if self.limit_reached() {
            let notice = format!(
                "event: notice\ndata: live reload watches only the {MAX_WATCHED} paths served \
                 most recently; files served before them no longer trigger a reload\n\n"
            );
            out.write_all(notice.as_bytes(), false)?;
        }
        // A page sends nothing once its stream is open: a read that finds
        // the end of the stream means it has gone. The read must not wait.
        out.socket()
            .set_read_timeout(Some(Duration::from_millis(1)))?;
        let mut seen = self.latest();
        let mut last_write = Instant::now();
        loop {
            let event = self.next_change(&mut seen, GONE_CHECK);
            let text: &[u8] = match event {
                Some(Change::Reload) => b"event: reload\ndata: now\n\n",
                Some(Change::Css) => b"event: css\ndata: now\n\n",
                None if has_left(out.socket()) => return Ok(()),
                None if last_write.elapsed() >= HEARTBEAT => b": heartbeat\n\n",
                None => continue,
            };
            out.write_all(text, false)?;
            last_write = Instant::now();
        }
    }
}

/// Whether the client of an event stream has closed its side (or reset
/// the connection); the socket's read timeout is short.
fn has_left(socket: &TcpStream) -> bool {
    let mut byte = [0];
    match socket.peek(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
        ),
    }
}

/// One page's event stream: the body of the response at `EVENTS_PATH`.
#[derive(Debug)]
pub struct Events(pub Arc<Watcher>);

impl Stream for Events {
    fn framing(&self) -> StreamFraming {
        StreamFraming::UntilClose
    }

    fn write_to(self: Box<Self>, out: &mut Sender, head: &[u8]) -> io::Result<()> {
        self.0.stream(out, head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::thread;

    #[test]
    fn past_the_limit_each_new_stream_tells_its_page() {
        use std::io::Read;
        let watcher = Arc::new(Watcher::new());
        for n in 0..=MAX_WATCHED {
            watcher.remember(Path::new(&format!("/site/{n}")), Some(1));
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut page = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        let streaming = Arc::clone(&watcher);
        let writer = thread::spawn(move || {
            let mut out = Sender::new(Arc::new(server_side), Duration::from_secs(5)).unwrap();
            streaming.stream(&mut out, b"HEAD\r\n\r\n")
        });
        page.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let want = format!(
            "HEAD\r\n\r\n{}event: notice\ndata: live reload watches only the {MAX_WATCHED} paths \
             served most recently; files served before them no longer trigger a reload\n\n",
            retry_field()
        );
        let mut got = vec![0; want.len()];
        page.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), want);
        // The page goes; its stream notices and ends.
        drop(page);
        assert!(writer.join().unwrap().is_ok());
        assert_eq!(watcher.listeners(), 0);
    }
}
