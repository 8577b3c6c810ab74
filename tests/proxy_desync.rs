//! `--proxy` where two sides could disagree, found in review: a backend
//! connection whose request body was not taken in full must never carry
//! another request; a WebSocket whose one side closed must not hold its
//! thread for ever; an unauthenticated CORS preflight, a CONNECT, and a
//! transfer coding tinyhttpd cannot re-chunk never reach the backend.

mod backend;
mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use backend::{After, Backend, Conn, proxy, reply, request, site};
use common::TIMEOUT;

/// Reads from `stream` until the end of a request head.
fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    head
}

#[test]
fn a_connection_left_in_the_middle_of_a_body_is_never_used_again() {
    // The backend answers the upload 413 at once and reads no more of it
    // until told to; then it reads on, and answers each request it finds
    // there ("smuggled"). Every later connection answers "fresh".
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    let (go, told) = std::sync::mpsc::channel::<()>();
    thread::spawn(move || {
        let mut told = Some(told);
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            stream.set_read_timeout(Some(TIMEOUT)).unwrap();
            let first = count.fetch_add(1, Ordering::SeqCst) == 0;
            let told = told.take().filter(|_| first);
            thread::spawn(move || {
                let mut answer: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh";
                if let Some(told) = told {
                    read_head(&mut stream);
                    let refusal = b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 3\r\n\r\nbig";
                    let _ = stream.write_all(refusal);
                    let _ = told.recv_timeout(TIMEOUT);
                    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled";
                }
                while !read_head(&mut stream).is_empty() {
                    if stream.write_all(answer).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let dir = site();
    let url = format!("http://127.0.0.1:{port}");
    let server = proxy(&dir, &[("/api", url)], &["--proxy-timeout", "0.5"]);
    // 64 MiB of a body whose bytes are whole requests: were they read as
    // requests on a reused connection, they would answer someone else.
    let mut upload = TcpStream::connect(server.addr).unwrap();
    upload.set_read_timeout(Some(TIMEOUT)).unwrap();
    let length = 64 << 20;
    let head =
        format!("POST /api/upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: {length}\r\n\r\n");
    upload.write_all(head.as_bytes()).unwrap();
    let mut writer = upload.try_clone().unwrap();
    let pusher = thread::spawn(move || {
        let piece = b"GET /api/smuggled HTTP/1.1\r\nHost: b\r\n\r\n".repeat(1600);
        let mut sent = 0;
        while sent < length && writer.write_all(&piece).is_ok() {
            sent += piece.len();
        }
    });
    let mut answer = Vec::new();
    let _ = upload.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(answer.contains("Connection: close\r\n"), "{answer}");
    drop(upload);
    pusher.join().unwrap();
    // The backend reads on: the rest of the upload, as requests.
    go.send(()).unwrap();
    // The next request goes on a new connection, and gets its own answer.
    let reply = Conn::connect(server.addr).get("/api/me", &[]);
    assert_eq!((reply.status, reply.text().as_str()), (200, "fresh"));
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[test]
fn a_websocket_half_closed_by_the_client_ends_within_the_send_timeout() {
    // The backend switches protocols, then reads to the end and never
    // closes its side.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (saw_end, ended) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        read_head(&mut stream);
        let switch = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        stream.write_all(switch).unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        let _ = saw_end.send(rest);
        // Still open: held until the test ends.
        thread::sleep(TIMEOUT * 2);
    });
    let dir = site();
    let url = format!("http://127.0.0.1:{port}");
    let server = proxy(&dir, &[("/ws", url)], &["--send-timeout", "0.5"]);
    let mut client = TcpStream::connect(server.addr).unwrap();
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    client
        .write_all(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    client.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");
    client.write_all(b"bye").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(ended.recv_timeout(TIMEOUT).unwrap(), b"bye");
    // The backend never closes; half a second later the tunnel does.
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert!(!String::from_utf8_lossy(&rest).contains("bye"));
}

#[test]
fn with_auth_a_preflight_is_answered_here_and_never_forwarded() {
    let backend = Backend::echo("A");
    let dir = site();
    let server = proxy(&dir, &[("/api", backend.url())], &["--auth", "u:p"]);
    let mut conn = Conn::connect(server.addr);
    conn.send(&request(
        "OPTIONS",
        "/api/users/1",
        &[
            ("Origin", "http://elsewhere.example"),
            ("Access-Control-Request-Method", "DELETE"),
        ],
    ));
    let reply = conn.response();
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(reply.field("via"), None);
    assert_eq!(conn.get("/api/x", &[]).status, 401);
    // With credentials ("u:p" in Base64) the backend answers: the first
    // request it ever saw.
    let reply = conn.get("/api/y", &[("Authorization", "Basic dTpw")]);
    assert_eq!(reply.text(), "A /api/y");
    assert_eq!(backend.seen().len(), 1);
}

#[test]
fn connect_and_codings_that_cannot_be_passed_on_stay_here() {
    let backend = Backend::start(|seen, out| {
        if seen.target() == "/api/gzip" {
            reply(out, "200 OK", &[("Transfer-Encoding", "gzip")], b"zipped?");
            return After::KeepAlive;
        }
        reply(out, "200 OK", &[], b"ok");
        After::KeepAlive
    });
    let dir = site();
    let server = proxy(&dir, &[("/api", backend.url())], &[]);
    let mut conn = Conn::connect(server.addr);
    conn.send(b"CONNECT /api HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(conn.response().status, 405);
    let mut conn = Conn::connect(server.addr);
    conn.send(&request(
        "POST",
        "/api/upload",
        &[("Transfer-Encoding", "gzip, chunked")],
    ));
    conn.send(b"2\r\nhi\r\n0\r\n\r\n");
    assert_eq!(conn.response().status, 501);
    assert!(backend.seen().is_empty());
    // A backend's coding other than chunked would reach the client
    // undone: a 502, and tinyhttpd closes that connection.
    let reply = Conn::connect(server.addr).get("/api/gzip", &[]);
    assert_eq!(reply.status, 502, "{reply:?}");
    let deadline = Duration::from_secs(5);
    common::wait_until(deadline, "the backend's connection closed", || {
        backend.closed() == 1
    });
}

#[test]
fn endless_interim_answers_are_a_502() {
    let backend = Backend::start(|_, out| {
        let hint = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";
        for _ in 0..2000 {
            if out.write_all(hint).is_err() {
                break;
            }
        }
        After::Close
    });
    let dir = site();
    let server = proxy(&dir, &[("/api", backend.url())], &[]);
    let reply = Conn::connect(server.addr).get("/api/hints", &[]);
    assert_eq!(reply.status, 502, "{reply:?}");
    assert!(reply.text().contains("interim responses over 64 KiB"));
}
