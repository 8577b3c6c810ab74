//! `--proxy` bodies and connections (/work/proxy-spec.md): request bodies
//! (Content-Length, chunked, 100-continue, a large upload), responses
//! forwarded as they arrive (SSE, large downloads), pipelining, WebSocket
//! tunnels, and backend connections kept alive, reused and retried.

mod backend;
mod common;

use std::io::{Read, Write};
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use backend::{After, Backend, Conn, FNV_START, answer, fnv, pattern, proxy, reply, request, site};
use common::TIMEOUT;

/// Writes `data` as one chunk.
fn chunk(out: &mut impl Write, data: &[u8]) {
    let _ = write!(out, "{:x}\r\n", data.len());
    let _ = out.write_all(data);
    let _ = out.write_all(b"\r\n");
}

/// The length and hash of the first `len` bytes of `pattern` at `offset`.
fn expected(offset: u64, len: u64) -> (u64, u64) {
    let mut buf = vec![0; 1 << 16];
    let (mut at, mut hash) = (0, FNV_START);
    while at < len {
        let n = buf.len().min((len - at) as usize);
        pattern(offset + at, &mut buf[..n]);
        hash = fnv(hash, &buf[..n]);
        at += n as u64;
    }
    (len, hash)
}

fn summary(body: &[u8]) -> (u64, u64) {
    (body.len() as u64, fnv(FNV_START, body))
}

#[test]
fn a_body_with_content_length_arrives_exactly() {
    let dir = site();
    let a = Backend::echo("A");
    let server = proxy(&dir, &[("/api", a.url())], &[]);
    let body: Vec<u8> = (0..=255u8)
        .chain(b"\r\n\r\nGET / HTTP/1.1\r\n".iter().copied())
        .collect();
    let length = body.len().to_string();
    let mut conn = Conn::connect(server.addr);
    conn.send(&request("POST", "/api/up", &[("Content-Length", &length)]));
    conn.send(&body);
    assert_eq!(conn.response().text(), "A /api/up");
    conn.send(&request("PUT", "/api/empty", &[("Content-Length", "0")]));
    assert_eq!(conn.response().text(), "A /api/empty");

    let seen = a.wait_for(2);
    assert_eq!(seen[0].body, body);
    assert_eq!(seen[0].field("content-length"), Some(length));
    assert_eq!(seen[0].field("transfer-encoding"), None);
    assert_eq!(seen[1].request_line(), "PUT /api/empty HTTP/1.1");
    assert_eq!(seen[1].field("content-length").unwrap(), "0");
    assert!(seen[1].body.is_empty());
}

#[test]
fn a_chunked_body_arrives_rechunked_without_trailers() {
    let dir = site();
    let a = Backend::echo("A");
    let server = proxy(&dir, &[("/api", a.url())], &[]);
    let mut conn = Conn::connect(server.addr);
    conn.send(&request(
        "POST",
        "/api/chunked",
        &[("Transfer-Encoding", "chunked")],
    ));
    conn.send(b"3;ext=1\r\nabc\r\n6\r\nde\r\ngh\r\n");
    conn.send(b"0\r\nX-Trailer: t\r\n\r\n");
    assert_eq!(conn.response().text(), "A /api/chunked");
    assert_eq!(conn.get("/api/after", &[]).text(), "A /api/after");

    let seen = a.wait_for(2);
    assert_eq!(seen[0].body, b"abcde\r\ngh");
    assert_eq!(seen[0].field("transfer-encoding").unwrap(), "chunked");
    assert_eq!(seen[0].field("content-length"), None);
    assert_eq!(seen[0].trailers, b"\r\n", "{:?}", seen[0]);
    assert_eq!(seen[1].target(), "/api/after");
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let dir = site();
    let a = Backend::echo("A");
    let server = proxy(&dir, &[("/api", a.url())], &[]);
    let mut conn = Conn::connect(server.addr);
    let fields = [("Content-Length", "5"), ("Expect", "100-continue")];
    conn.send(&request("POST", "/api/expect", &fields));
    let interim = conn.head();
    assert_eq!(interim.status_line, "HTTP/1.1 100 Continue");
    conn.send(b"hello");
    let reply = conn.response();
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "A /api/expect")
    );
    let seen = a.wait_for(1);
    assert_eq!(seen[0].body, b"hello");
    assert_eq!(seen[0].field("expect"), None, "{}", seen[0].text());
    assert_eq!(seen[0].field("content-length").unwrap(), "5");
}

/// 100 MiB, as the spec promises; a debug build of the server copies it in
/// a few seconds on two cores.
const UPLOAD: u64 = 100 << 20;

#[test]
fn a_100_mib_upload_passes() {
    let dir = site();
    let a = Backend::start(|seen, out| {
        let body = format!("{} {:x}", seen.body_len, seen.body_hash);
        reply(out, "200 OK", &[], body.as_bytes());
        After::KeepAlive
    });
    let server = proxy(&dir, &[("/api", a.url())], &[]);
    let started = Instant::now();
    let mut conn = Conn::connect(server.addr);
    conn.stream.set_write_timeout(Some(TIMEOUT * 4)).unwrap();
    let length = UPLOAD.to_string();
    conn.send(&request(
        "POST",
        "/api/upload",
        &[("Content-Length", &length)],
    ));
    let mut buf = vec![0; 1 << 18];
    let (mut at, mut hash) = (0, FNV_START);
    while at < UPLOAD {
        let n = buf.len().min((UPLOAD - at) as usize);
        pattern(at, &mut buf[..n]);
        hash = fnv(hash, &buf[..n]);
        conn.send(&buf[..n]);
        at += n as u64;
    }
    conn.stream.set_read_timeout(Some(TIMEOUT * 4)).unwrap();
    let reply = conn.response();
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.text(), format!("{UPLOAD} {hash:x}"));
    println!(
        "{UPLOAD} bytes uploaded through the proxy in {:?}",
        started.elapsed()
    );
}

#[test]
fn server_sent_events_arrive_one_by_one() {
    let dir = site();
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Mutex::new(rx);
    let a = Backend::start(move |seen, out| {
        let chunked = seen.target() == "/api/sse-chunked";
        let framing = if chunked {
            "Transfer-Encoding: chunked\r\n"
        } else {
            ""
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n{framing}\r\n"
        );
        let _ = out.write_all(head.as_bytes());
        let event = |out: &mut std::net::TcpStream, text: &[u8]| match chunked {
            true => chunk(out, text),
            false => drop(out.write_all(text)),
        };
        event(out, b"data: one\n\n");
        // Event two only once the test has received event one.
        let _ = rx.lock().unwrap().recv_timeout(TIMEOUT);
        event(out, b"data: two\n\n");
        if chunked {
            let _ = out.write_all(b"0\r\n\r\n");
            After::KeepAlive
        } else {
            After::Close
        }
    });
    let server = proxy(&dir, &[("/api", a.url())], &[]);
    let mut conn = Conn::connect(server.addr);
    for target in ["/api/sse-chunked", "/api/sse-close"] {
        conn.send(&request("GET", target, &[("Accept", "text/event-stream")]));
        let head = conn.head();
        assert_eq!(head.status, 200, "{target}");
        assert_eq!(head.field("content-type").unwrap(), "text/event-stream");
        assert_eq!(head.field("transfer-encoding").unwrap(), "chunked");
        assert_eq!(head.field("content-length"), None);
        let mut received = Vec::new();
        while !received.ends_with(b"data: one\n\n") {
            received.extend(conn.chunk().expect("event one"));
        }
        tx.send(()).unwrap();
        while !received.ends_with(b"data: two\n\n") {
            received.extend(conn.chunk().expect("event two"));
        }
        assert_eq!(received, b"data: one\n\ndata: two\n\n", "{target}");
        assert_eq!(conn.chunk(), None, "{target}");
    }
    assert_eq!(conn.get("/hello.txt", &[]).text(), "hello\n");
}

const DOWNLOAD: u64 = 24 << 20;

/// A backend sending `DOWNLOAD` bytes close-delimited (`/api/big-close`) or
/// in chunks of many sizes (`/api/big-chunked`).
fn downloads() -> Backend {
    Backend::start(|seen, out| {
        let chunked = seen.target() == "/api/big-chunked";
        let framing = if chunked {
            "Transfer-Encoding: chunked\r\n"
        } else {
            ""
        };
        let head =
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n{framing}\r\n");
        let _ = out.write_all(head.as_bytes());
        let mut buf = vec![0; 1 << 17];
        let (mut at, mut size) = (0, 1);
        while at < DOWNLOAD {
            size = (size * 7 + 13) % buf.len() + 1;
            let n = size.min((DOWNLOAD - at) as usize);
            pattern(at, &mut buf[..n]);
            if chunked {
                chunk(out, &buf[..n]);
            } else if out.write_all(&buf[..n]).is_err() {
                return After::Close;
            }
            at += n as u64;
        }
        if chunked {
            let _ = out.write_all(b"0\r\n\r\n");
            After::KeepAlive
        } else {
            After::Close
        }
    })
}

#[test]
fn large_downloads_are_streamed_in_either_framing() {
    let dir = site();
    let a = downloads();
    let server = proxy(&dir, &[("/api", a.url())], &[]);
    let want = expected(0, DOWNLOAD);
    let mut conn = Conn::connect(server.addr);
    for target in ["/api/big-close", "/api/big-chunked", "/api/big-close"] {
        let reply = conn.get(target, &[]);
        assert_eq!(reply.status, 200, "{target}");
        assert_eq!(
            reply.field("transfer-encoding").unwrap(),
            "chunked",
            "{target}"
        );
        assert_eq!(reply.field("content-length"), None, "{target}");
        assert_eq!(summary(&reply.body), want, "{target}");
    }
    assert_eq!(conn.get("/hello.txt", &[]).text(), "hello\n");

    // An HTTP/1.0 client gets the body close-delimited.
    let mut old = Conn::connect(server.addr);
    old.send(b"GET /api/big-close HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let reply = old.response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.field("transfer-encoding"), None);
    assert_eq!(reply.field("content-length"), None);
    assert_eq!(summary(&reply.body), want);
}

#[test]
fn pipelined_requests_mixing_proxied_and_local_paths_are_answered_in_order() {
    let dir = site();
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Mutex::new(rx);
    let a = Backend::start(move |seen, out| {
        if seen.target() == "/api/1" {
            let _ = out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst");
            // The rest only once the client has read this response's head.
            let _ = rx.lock().unwrap().recv_timeout(TIMEOUT);
            let _ = out.write_all(b"-half");
        } else {
            answer(seen, out, &format!("A {}", seen.target()));
        }
        After::KeepAlive
    });
    let server = proxy(&dir, &[("/api", a.url())], &[]);
    let mut conn = Conn::connect(server.addr);
    let mut all = Vec::new();
    all.extend(request("GET", "/api/1", &[]));
    all.extend(request("GET", "/hello.txt", &[]));
    all.extend(request("POST", "/api/2", &[("Content-Length", "3")]));
    all.extend(b"abc");
    all.extend(request("HEAD", "/api/3", &[]));
    all.extend(request("GET", "/missing", &[]));
    all.extend(request("GET", "/api/4", &[]));
    conn.send(&all);

    let first = conn.head();
    assert_eq!(first.field("content-length").unwrap(), "10");
    tx.send(()).unwrap();
    let mut body = [0; 10];
    conn.reader.read_exact(&mut body).unwrap();
    assert_eq!(&body, b"first-half");
    assert_eq!(conn.response().text(), "hello\n");
    assert_eq!(conn.response().text(), "A /api/2");
    let head = conn.head_response();
    assert_eq!(
        (head.status, head.field("content-length").unwrap().as_str()),
        (200, "8")
    );
    assert_eq!(conn.response().status, 404);
    assert_eq!(conn.response().text(), "A /api/4");
    let targets: Vec<String> = a.wait_for(4).iter().map(|s| s.target()).collect();
    assert_eq!(targets, ["/api/1", "/api/2", "/api/3", "/api/4"]);
    assert_eq!(a.seen()[1].body, b"abc");
}

/// Messages longer than 64 KiB, so no single buffer holds one.
const FROM_BACKEND: usize = 100 * 1024;
const FROM_CLIENT: usize = 200 * 1024;

#[test]
fn websocket_upgrades_tunnel_large_messages_both_ways() {
    let dir = site();
    let a = Backend::start(|_, out| {
        let _ = out.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        );
        let mut hello = vec![0; FROM_BACKEND];
        pattern(7, &mut hello);
        let _ = out.write_all(&hello);
        After::Echo
    });
    let server = proxy(&dir, &[("/api", a.url())], &["--idle-timeout", "0.3"]);
    let mut conn = Conn::connect(server.addr);
    let fields = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];
    conn.send(&request("GET", "/api/ws", &fields));
    let head = conn.head();
    assert_eq!(head.status_line, "HTTP/1.1 101 Switching Protocols");
    assert_eq!(head.field("upgrade").unwrap(), "websocket");
    assert!(
        head.field("connection")
            .unwrap()
            .eq_ignore_ascii_case("upgrade"),
        "{head:?}"
    );
    assert_eq!(
        head.field("sec-websocket-accept").unwrap(),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );

    let mut hello = vec![0; FROM_BACKEND];
    conn.reader.read_exact(&mut hello).unwrap();
    assert_eq!(summary(&hello), expected(7, FROM_BACKEND as u64));

    let mut message = vec![0; FROM_CLIENT];
    pattern(99, &mut message);
    let mut writer = conn.stream.try_clone().unwrap();
    let sent = message.clone();
    let sending = thread::spawn(move || writer.write_all(&sent));
    let mut echoed = vec![0; FROM_CLIENT];
    conn.reader.read_exact(&mut echoed).unwrap();
    sending.join().unwrap().unwrap();
    assert!(echoed == message, "the echo differs");

    // Quiet for longer than --idle-timeout: the tunnel stays open.
    conn.stream
        .set_read_timeout(Some(Duration::from_millis(800)))
        .unwrap();
    let mut byte = [0; 1];
    let quiet = conn.reader.read(&mut byte);
    assert!(quiet.is_err(), "the tunnel sent or closed: {quiet:?}");
    conn.stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    conn.send(b"ping");
    let mut pong = [0; 4];
    conn.reader.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"ping");
    conn.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(conn.is_closed());

    let seen = a.wait_for(1);
    assert_eq!(seen[0].request_line(), "GET /api/ws HTTP/1.1");
    assert!(
        seen[0]
            .field("connection")
            .unwrap()
            .eq_ignore_ascii_case("upgrade")
    );
    assert_eq!(seen[0].field("upgrade").unwrap(), "websocket");
    assert_eq!(
        seen[0].field("sec-websocket-key").unwrap(),
        "dGhlIHNhbXBsZSBub25jZQ=="
    );
    assert_eq!(seen[0].field("sec-websocket-version").unwrap(), "13");
}

#[test]
fn backend_connections_are_reused_across_client_connections() {
    let dir = site();
    let a = Backend::echo("A");
    let server = proxy(&dir, &[("/api", a.url())], &[]);
    for n in 0..3 {
        let target = format!("/api/{n}");
        let reply = Conn::connect(server.addr).get(&target, &[]);
        // One after another, with no wait: the connection is given back
        // to the pool before the body's last byte is written to the client.
        assert_eq!(reply.text(), format!("A {target}"));
    }
    let seen = a.wait_for(3);
    assert_eq!(a.accepted(), 1, "{seen:?}");
    assert!(seen.iter().all(|s| s.connection == 0), "{seen:?}");
}

#[test]
fn a_backend_closing_a_kept_alive_connection_is_retried() {
    let dir = site();
    // Closes each connection after its first answer, saying nothing.
    let closes_after = Backend::start(|seen, out| {
        reply(
            out,
            "200 OK",
            &[],
            format!("C {}", seen.target()).as_bytes(),
        );
        After::Close
    });
    // Drops the second request on each connection without an answer, as a
    // backend whose idle timeout fires just as the request arrives.
    let drops_second = Backend::start(|seen, out| {
        if seen.connection == 0 && seen.nth == 1 {
            return After::Close;
        }
        reply(
            out,
            "200 OK",
            &[],
            format!("D {}", seen.target()).as_bytes(),
        );
        After::KeepAlive
    });
    let routes = [("/c", closes_after.url()), ("/d", drops_second.url())];
    let server = proxy(&dir, &routes, &[]);
    let mut conn = Conn::connect(server.addr);
    for target in ["/c/1", "/c/2", "/c/3", "/d/1", "/d/2", "/d/3"] {
        let reply = conn.get(target, &[]);
        assert_eq!(reply.status, 200, "{target}: {reply:?}");
        assert_eq!(
            reply.text(),
            format!("{} {target}", target[1..2].to_uppercase())
        );
    }
    assert_eq!(closes_after.wait_for(3).len(), 3);
    let targets: Vec<String> = drops_second.seen().iter().map(|s| s.target()).collect();
    assert_eq!(targets, ["/d/1", "/d/2", "/d/2", "/d/3"]);
    assert_eq!(drops_second.accepted(), 2);
}
