//! Every wait on a client is bounded: the idle timeout between requests, the
//! deadline for a whole request head, and the send timeout for a client that
//! stopped reading. Short values are passed on the command line so the tests
//! stay fast.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Server, TIMEOUT, TempDir};

/// Asserts that something the server was configured to do after `timeout`
/// happened after at least that long and well before twice it.
fn assert_within(elapsed: Duration, timeout: Duration) {
    assert!(
        elapsed >= timeout,
        "after only {elapsed:?}, not {timeout:?}"
    );
    assert!(
        elapsed < 2 * timeout,
        "only after {elapsed:?}, not {timeout:?}"
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let dir = TempDir::new("idle");
    dir.write("a.txt", "a");
    let server = Server::start(&dir.path, &["--idle-timeout", "1"]);
    let mut client = server.connect();
    // The idle time starts once the answer is sent, so after this.
    let started = Instant::now();
    client.send(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(client.response().text(), "a");
    // Nothing more is sent: the server closes without a response.
    assert!(client.is_closed());
    assert_within(started.elapsed(), Duration::from_secs(1));
}

#[test]
fn a_connection_that_never_sends_is_closed_silently() {
    let dir = TempDir::new("silent");
    let server = Server::start(&dir.path, &["--idle-timeout", "1"]);
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    // Linux holds the silent connection back from accept for a second
    // (TCP_DEFER_ACCEPT), then it gets the idle timeout; elsewhere it gets
    // the idle timeout at once.
    let deferral = if cfg!(all(target_os = "linux", not(portable))) {
        Duration::from_secs(1)
    } else {
        Duration::ZERO
    };
    assert_within(
        started.elapsed().saturating_sub(deferral),
        Duration::from_secs(1),
    );
}

#[test]
fn a_trickling_client_is_cut_at_the_head_deadline() {
    let dir = TempDir::new("trickle");
    let timeout = Duration::from_secs(1);
    let server = Server::start(&dir.path, &["--head-timeout", "1", "--idle-timeout", "5"]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    // The deadline runs from the head's first bytes, sent after this.
    let started = Instant::now();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .unwrap();
    // One byte every 50 ms: each read succeeds, so only a total deadline
    // can stop this.
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0; 1024];
    while started.elapsed() < TIMEOUT {
        if stream.write_all(b"x").is_err() {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.ends_with(b"\r\n\r\n") || out.len() > 200 {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text:?}"
    );
    assert!(text.contains("\r\nConnection: close\r\n"), "{text:?}");
    assert_within(elapsed, timeout);
}

/// A connection to `server` whose receive buffer is `rcvbuf` bytes, as a
/// phone on a poor network or a stalled tab might have.
fn small_buffer_client(server: &Server, rcvbuf: usize) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(rcvbuf).unwrap();
    socket.connect(&server.addr.into()).unwrap();
    let stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// A file far larger than any socket buffer; sparse, so it costs no disk.
fn huge_file(dir: &TempDir, len: u64) {
    let file = std::fs::File::create(dir.path.join("huge.bin")).unwrap();
    file.set_len(len).unwrap();
}

#[test]
fn a_client_that_stops_reading_is_dropped_at_the_send_timeout() {
    let dir = TempDir::new("no-reader");
    let len = 512 * 1024 * 1024;
    huge_file(&dir, len);
    let timeout = Duration::from_secs(1);
    let server = Server::start(&dir.path, &["--send-timeout", "1"]);
    let mut stream = small_buffer_client(&server, 4096);
    let started = Instant::now();
    stream
        .write_all(b"GET /huge.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    // Never read. However the kernel grows its buffers, the client takes
    // nothing more once its own is full, and the server gives up on it.
    let log = server.wait_for_log("cut short");
    assert_within(started.elapsed(), timeout);
    // The access line says how much went out, of how much, and why.
    let line = log.lines().find(|l| l.contains("cut short")).unwrap();
    let after_status = line
        .split("\" 200 ")
        .nth(1)
        .unwrap_or_else(|| panic!("{line}"));
    let (sent, rest) = after_status
        .split_once(" of ")
        .unwrap_or_else(|| panic!("{line}"));
    let sent: u64 = sent.parse().unwrap_or_else(|_| panic!("{line}"));
    assert!(sent > 0 && sent < len, "{line}");
    assert!(
        rest.starts_with(&format!(
            "{len}, cut short: the client took none of our data for 1.0s "
        )),
        "{line}"
    );
    drop(stream);
}

#[test]
fn a_client_that_reads_slowly_but_steadily_keeps_its_download() {
    let dir = TempDir::new("slow-reader");
    let len: u64 = 16 * 1024 * 1024;
    huge_file(&dir, len);
    let timeout = Duration::from_secs(1);
    let server = Server::start(&dir.path, &["--send-timeout", "1"]);
    let mut stream = small_buffer_client(&server, 16 * 1024);
    stream
        .write_all(b"GET /huge.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    // Two and a half send timeouts of reading a little at a time, never
    // pausing for long: far slower than the server could send.
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    while started.elapsed() < timeout * 5 / 2 {
        let n = stream.read(&mut buf[..4096]).unwrap();
        assert!(n > 0, "closed after {} bytes", received.len());
        received.extend_from_slice(&buf[..n]);
        std::thread::sleep(timeout / 10);
    }
    assert!(received.len() < len as usize / 4, "not slow enough");
    // The connection was never cut: the rest arrives, all of it.
    stream.read_to_end(&mut received).unwrap();
    let head_end = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&received[..head_end]);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(received.len() - head_end, len as usize);
    let log = server.wait_for_log("/huge.bin");
    assert!(!log.contains("cut short"), "{log}");
    assert!(log.contains(&format!("\" 200 {len} ")), "{log}");
}

#[test]
fn a_body_that_never_arrives_is_cut_at_the_deadline() {
    let dir = TempDir::new("slow-body");
    let server = Server::start(&dir.path, &["--head-timeout", "1"]);
    let mut client = server.connect();
    let started = Instant::now();
    client.send(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nonly a little");
    let response = client.response();
    assert_eq!(response.status, 408);
    assert_eq!(response.header("connection"), Some("close"));
    assert_within(started.elapsed(), Duration::from_secs(1));
}
