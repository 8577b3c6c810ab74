//! Every wait on a client is bounded: the idle timeout between requests, the
//! deadline for a whole request head, and the send timeout for a client that
//! stopped reading. Short values are passed on the command line so the tests
//! stay fast.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Server, TIMEOUT, TempDir};

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let dir = TempDir::new("idle");
    dir.write("a.txt", "a");
    let server = Server::start(&dir.path, &["--idle-timeout", "0.3"]);
    let mut client = server.connect();
    client.send(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(client.response().text(), "a");
    // Nothing more is sent: the server closes without a response, well
    // before the client's own read timeout.
    let started = Instant::now();
    assert!(client.is_closed());
    assert!(started.elapsed() < TIMEOUT);
}

#[test]
fn a_connection_that_never_sends_is_closed_silently() {
    let dir = TempDir::new("silent");
    let server = Server::start(&dir.path, &["--idle-timeout", "0.3"]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
}

#[test]
fn a_trickling_client_is_cut_at_the_head_deadline() {
    let dir = TempDir::new("trickle");
    let server = Server::start(&dir.path, &["--head-timeout", "0.5", "--idle-timeout", "5"]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .unwrap();
    // One byte every 50 ms: each read succeeds, so only a total deadline
    // can stop this.
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0; 1024];
    while started.elapsed() < TIMEOUT {
        if stream.write_all(b"x").is_err() {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text:?}"
    );
    assert!(text.contains("\r\nConnection: close\r\n"), "{text:?}");
    assert!(started.elapsed() < TIMEOUT);
}

#[test]
fn a_client_that_stops_reading_is_dropped() {
    let dir = TempDir::new("no-reader");
    // Far more than the socket buffers hold; sparse, so it costs no disk.
    let file = std::fs::File::create(dir.path.join("huge.bin")).unwrap();
    file.set_len(512 * 1024 * 1024).unwrap();
    let server = Server::start(&dir.path, &["--send-timeout", "0.3", "-v"]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"GET /huge.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    // Never read: the server's write blocks until its send timeout.
    let log = server.wait_for_log("connection dropped");
    assert!(log.contains("timed out"), "{log}");
    drop(stream);
}

#[test]
fn a_body_that_never_arrives_is_cut_at_the_deadline() {
    let dir = TempDir::new("slow-body");
    let server = Server::start(&dir.path, &["--head-timeout", "0.3"]);
    let mut client = server.connect();
    client.send(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nonly a little");
    let response = client.response();
    assert_eq!(response.status, 408);
    assert_eq!(response.header("connection"), Some("close"));
}
