//! Writing to a client, under a deadline that only the client's reading can
//! move.
//!
//! A socket's own write timeout (`SO_SNDTIMEO`) bounds one blocked write,
//! and starts over whenever a write makes any progress. A write can make
//! progress while the client reads nothing at all: the kernel enlarges a
//! socket's send buffer as it sees fit, a little at a time, so a client that
//! asked for a large file and then stopped reading could hold its connection
//! and thread for as long as the buffer kept growing.
//!
//! So the socket's timeout here is only a short slice (`slice`), and each
//! time a write ends without finishing, `Sender` asks the kernel how much of
//! what it handed over is still queued (`sys::queued`). What has left the
//! queue was acknowledged by the client's TCP, which takes no more than its
//! receive buffer has room for: that number grows only as the client
//! application reads. A client that takes none of our bytes for the whole
//! send timeout is cut off with `TimedOut`; a slow client that keeps reading
//! keeps its download, however long it takes. Where the queue cannot be read,
//! bytes handed to the kernel stand in for bytes taken.
//!
//! Every byte the server writes on a connection goes through its `Sender`,
//! which also counts them, so a response cut short can say how much of it
//! went out.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sys;

pub struct Sender {
    stream: Arc<TcpStream>,
    /// How long the client may take none of our bytes.
    timeout: Duration,
    /// Every byte handed to the kernel on this connection.
    handed: u64,
    /// Of those, the most the client was seen to have taken.
    taken: u64,
    /// When `taken` last grew, or the current wait began; `None` until a
    /// write of the current response has had to wait.
    since: Option<Instant>,
}

/// The most one sendfile(2) call sends before the client's progress is
/// looked at again: a thousandth of a second's work on a fast connection.
const FIRST_CHUNK: u64 = 1024 * 1024;

/// What one sendfile(2) call moves through its pipe at a time (Linux's
/// default pipe size): the most it sends without looking at the clock.
const PIPE_CHUNK: u64 = 64 * 1024;

/// The socket's own write timeout for a send timeout of `timeout`: short,
/// so the deadline is checked a few times within it. Where a write that
/// timed out cannot be tried again (Windows), the whole timeout.
fn slice(timeout: Duration) -> Duration {
    if sys::TIMED_OUT_SEND_IS_FINAL {
        return timeout;
    }
    (timeout / 4).clamp(Duration::from_millis(10), Duration::from_millis(500))
}

impl Sender {
    pub fn new(stream: Arc<TcpStream>, timeout: Duration) -> io::Result<Sender> {
        stream.set_write_timeout(Some(slice(timeout)))?;
        Ok(Sender {
            stream,
            timeout,
            handed: 0,
            taken: 0,
            since: None,
        })
    }

    /// Starts a new response: the client's time to take our bytes counts
    /// from its first wait, not from an earlier response's.
    pub fn begin(&mut self) {
        self.since = None;
    }

    /// The connection's socket, for what is not a write (an event stream
    /// looks at it to notice a page that has gone).
    pub fn socket(&self) -> &TcpStream {
        &self.stream
    }

    /// The bytes handed to the kernel on this connection so far.
    pub fn handed(&self) -> u64 {
        self.handed
    }

    /// Writes all of `buf`. With `more`, the kernel holds the last segment
    /// back for what follows at once (a response head before its body).
    pub fn write_all(&mut self, buf: &[u8], more: bool) -> io::Result<()> {
        self.drive(buf.len() as u64, |socket, done, _| {
            sys::send_once(socket, &buf[done as usize..], more)
        })
    }

    /// Writes `first` and then `second`, handed to the kernel together.
    pub fn write_pair(&mut self, first: &[u8], second: &[u8]) -> io::Result<()> {
        let first_len = first.len();
        self.drive((first_len + second.len()) as u64, |socket, done, _| {
            let done = done as usize;
            match done.checked_sub(first_len) {
                None => sys::send_pair(socket, &first[done..], second),
                Some(into_second) => sys::send_once(socket, &second[into_second..], false),
            }
        })
    }

    /// Sends `len` bytes of `file` from `offset`. A file that ends first (it
    /// was truncated while being sent) is `UnexpectedEof`: the caller must
    /// close rather than leave the client waiting for bytes that never come.
    pub fn send_file(&mut self, file: &File, offset: u64, len: u64) -> io::Result<()> {
        // One sendfile(2) can wait many times over: it hands the file to the
        // socket a pipe's worth at a time, and each of those may wait a whole
        // slice. So the client's progress is read before the first call, not
        // only after it returns; no call sends more than `FIRST_CHUNK`, and
        // once one has come back short, the next ones send one pipe's worth
        // each, so none waits more than once.
        self.check_progress()?;
        let mut most = FIRST_CHUNK;
        self.drive(len, |socket, done, remaining| {
            let count = remaining.min(most);
            most = PIPE_CHUNK;
            match sys::send_file_once(socket, file, offset + done, count)? {
                0 => Err(file_ended()),
                n => Ok(n),
            }
        })
    }

    /// Hands `len` bytes to the kernel, one system call at a time: `call`
    /// gets how many are done and how many remain, and says how many it
    /// sent. Whenever a call leaves some, the client's progress is checked.
    fn drive(
        &mut self,
        len: u64,
        mut call: impl FnMut(&TcpStream, u64, u64) -> io::Result<usize>,
    ) -> io::Result<()> {
        let mut done = 0;
        while done < len {
            match call(&self.stream, done, len - done) {
                Ok(n) => {
                    self.handed += n as u64;
                    done += n as u64;
                    if done == len {
                        break;
                    }
                }
                Err(e) if !is_slice_end(&e) => return Err(e),
                Err(e)
                    if sys::TIMED_OUT_SEND_IS_FINAL && e.kind() != io::ErrorKind::Interrupted =>
                {
                    return Err(self.no_progress());
                }
                Err(_) => {}
            }
            self.check_progress()?;
        }
        Ok(())
    }

    /// Called before a long write and whenever a write had to wait: fails
    /// once the client has taken none of our bytes for the whole timeout.
    fn check_progress(&mut self) -> io::Result<()> {
        let now = Instant::now();
        let taken = match sys::queued(&self.stream) {
            Ok(queued) => self.handed.saturating_sub(queued),
            Err(_) => self.handed,
        };
        match self.since {
            Some(since) if taken <= self.taken => {
                if now.duration_since(since) >= self.timeout {
                    return Err(self.no_progress());
                }
            }
            _ => {
                self.since = Some(now);
                self.taken = self.taken.max(taken);
            }
        }
        Ok(())
    }

    /// The error for a client that took none of our data in time.
    fn no_progress(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the client took none of our data for {:.1}s",
                self.timeout.as_secs_f64()
            ),
        )
    }
}

/// A blocked write that ended because its time slice did (`SO_SNDTIMEO`),
/// or was interrupted: the write is simply tried again.
fn is_slice_end(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// The error for a file that ends before the length its response announced.
pub fn file_ended() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "file ended before its announced length",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::path::PathBuf;

    fn temp_file(name: &str, contents: &[u8]) -> (PathBuf, File) {
        let dir =
            std::env::temp_dir().join(format!("tinyhttpd-sender-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("file");
        File::create(&path)
            .and_then(|mut f| f.write_all(contents))
            .unwrap();
        (dir, File::open(&path).unwrap())
    }

    fn pair(timeout: Duration) -> (Sender, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Sender::new(Arc::new(server), timeout).unwrap(), client)
    }

    #[test]
    fn sends_a_head_then_a_range_of_a_file_and_counts_them() {
        let (dir, file) = temp_file("range", b"0123456789");
        let (mut sender, mut client) = pair(Duration::from_secs(5));
        sender.write_all(b"head:", true).unwrap();
        sender.send_file(&file, 3, 4).unwrap();
        assert_eq!(sender.handed(), 9);
        drop(sender);
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"head:3456");
        drop(file);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_short_file_is_an_error_not_padding() {
        let (dir, file) = temp_file("short", b"abc");
        let (mut sender, mut client) = pair(Duration::from_secs(5));
        let err = sender.send_file(&file, 0, 10).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        drop(sender);
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"abc");
        drop(file);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_client_that_reads_nothing_is_cut_off_after_the_timeout() {
        let timeout = Duration::from_millis(300);
        let (mut sender, _client) = pair(timeout);
        let started = Instant::now();
        let chunk = vec![0u8; 1 << 20];
        let err = loop {
            if let Err(e) = sender.write_all(&chunk, false) {
                break e;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "never cut off");
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        // The clock starts at the first wait, once the buffers are full.
        assert!(started.elapsed() >= timeout, "{:?}", started.elapsed());
        assert!(sender.handed() > 0);
    }
}
