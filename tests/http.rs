//! HTTP/1.1 messages over real sockets: request parsing, methods, body
//! framing, persistence and pipelining (RFC 9112), against the real binary.

mod common;

use common::{Server, TempDir};

const HELLO: &str = "Hello, world!\n";

fn server() -> (TempDir, Server) {
    let dir = TempDir::new("http");
    dir.write("hello.txt", HELLO);
    dir.write("index.html", "<!DOCTYPE html><title>home</title>");
    let server = Server::start(&dir.path, &[]);
    (dir, server)
}

/// The status line of the first response in `raw`.
fn status_of(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.split("\r\n").next().unwrap_or_default().to_string()
}

#[test]
fn get_a_file_with_exact_headers() {
    let (_dir, server) = server();
    let response = server.get("/hello.txt");
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.body, HELLO.as_bytes());
    assert_eq!(response.header("content-length"), Some("14"));
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    assert_eq!(response.header("server"), Some("tinyhttpd"));
    assert_eq!(response.header("connection"), Some("close"));
    let date = response.header("date").unwrap();
    assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
    let modified = response.header("last-modified").unwrap();
    assert!(httpdate::parse_http_date(modified).is_ok(), "{modified}");
}

#[test]
fn head_has_the_headers_of_get_and_no_body() {
    let (_dir, server) = server();
    let mut client = server.connect();
    // HEAD then GET on one connection: if HEAD sent a body, the second
    // status line would be read from the middle of it.
    client.send(
        b"HEAD /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    let head = client.head_response();
    let get = client.response();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("14"));
    assert!(head.body.is_empty());
    assert_eq!(get.body, HELLO.as_bytes());
    for name in [
        "content-type",
        "content-length",
        "last-modified",
        "cache-control",
    ] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
}

#[test]
fn absolute_form_target() {
    let (_dir, server) = server();
    let mut client = server.connect();
    client.send(b"GET http://localhost/hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(client.response().body, HELLO.as_bytes());
    // The target's authority is the host (RFC 9112 section 3.2.2): a
    // rebinding name there is refused whatever the Host field says.
    client.send(b"GET http://evil.example/hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(client.response().status, 403);
}

#[test]
fn options_answers_204_with_allow_and_no_length() {
    let (_dir, server) = server();
    let mut client = server.connect();
    client.send(
        b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\nOPTIONS /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    for _ in 0..2 {
        let response = client.response();
        assert_eq!(response.status_line, "HTTP/1.1 204 No Content");
        assert_eq!(response.header("allow"), Some("GET, HEAD, OPTIONS"));
        assert_eq!(response.header("content-length"), None);
    }
}

#[test]
fn other_methods_get_405_with_allow_or_501() {
    let (_dir, server) = server();
    let mut client = server.connect();
    for method in ["POST", "PUT", "DELETE", "PATCH", "TRACE"] {
        client.send(
            format!("{method} /hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
                .as_bytes(),
        );
        let response = client.response();
        assert_eq!(
            response.status_line, "HTTP/1.1 405 Method Not Allowed",
            "{method}"
        );
        assert_eq!(
            response.header("allow"),
            Some("GET, HEAD, OPTIONS"),
            "{method}"
        );
        assert_eq!(
            response.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert!(response.text().contains("405 Method Not Allowed"));
    }
    // Methods are case-sensitive: "get" is not GET.
    for method in ["BREW", "get", "Head"] {
        client.send(format!("{method} /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
        assert_eq!(
            client.response().status_line,
            "HTTP/1.1 501 Not Implemented",
            "{method}"
        );
    }
    // None of these closed the connection.
    client.send(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(client.response().status, 200);
}

#[test]
fn bare_lf_and_leading_empty_lines_are_tolerated() {
    let (_dir, server) = server();
    let mut client = server.connect();
    client.send(b"\r\n\nGET /hello.txt HTTP/1.1\nHost: localhost\n\n");
    assert_eq!(client.response().body, HELLO.as_bytes());
}

#[test]
fn malformed_heads_get_400_and_a_close() {
    let (_dir, server) = server();
    let cases: &[&[u8]] = &[
        b"GET /hello.txt HTTP/1.1\r\nHost : a\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n b\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX-Nul: a\x00b\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX-Ctl: a\x01b\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nHost: b\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\r\nHost: a b\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\r\nHost: a/b\r\n\r\n",
        b"GET  /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /hello.txt HTTP/1.1 \r\nHost: localhost\r\n\r\n",
        b"GET /hello.txt http/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /hello.txt\r\n\r\n",
        b"G@T /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
    ];
    for case in cases {
        // A valid request follows each bad one: it must not be answered,
        // since after a malformed head the server cannot know where it starts.
        let mut raw = case.to_vec();
        raw.extend_from_slice(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let out = server.raw(&raw);
        let text = String::from_utf8_lossy(&out);
        let label = String::from_utf8_lossy(case);
        assert_eq!(status_of(&out), "HTTP/1.1 400 Bad Request", "{label:?}");
        assert!(
            text.contains("\r\nConnection: close\r\n"),
            "{label:?}: {text}"
        );
        assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{label:?}: {text}");
    }
}

#[test]
fn bad_targets_in_well_framed_requests_keep_the_connection() {
    let (_dir, server) = server();
    let mut client = server.connect();
    for target in ["hello.txt", "*", "/a#b", "/%zz"] {
        client.send(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
        let response = client.response();
        assert_eq!(response.status_line, "HTTP/1.1 400 Bad Request", "{target}");
        assert_eq!(response.header("connection"), None, "{target}");
    }
    client.send(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(client.response().body, HELLO.as_bytes());
}

#[test]
fn host_rules() {
    let (_dir, server) = server();
    // HTTP/1.0 may omit Host; an empty Host is valid; IPv6 literals are hosts.
    for head in [
        "GET /hello.txt HTTP/1.0\r\n\r\n",
        "GET /hello.txt HTTP/1.1\r\nHost:\r\n\r\n",
        "GET /hello.txt HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
    ] {
        assert_eq!(
            status_of(&server.raw(head.as_bytes())),
            "HTTP/1.1 200 OK",
            "{head:?}"
        );
    }
}

#[test]
fn versions() {
    let (_dir, server) = server();
    // HTTP/1.x with x > 1 is answered as 1.1.
    let out = server.raw(b"GET /hello.txt HTTP/1.7\r\nHost: localhost\r\n\r\n");
    assert_eq!(status_of(&out), "HTTP/1.1 200 OK");
    for version in ["HTTP/2.0", "HTTP/0.9", "HTTP/3.1"] {
        let out =
            server.raw(format!("GET /hello.txt {version}\r\nHost: localhost\r\n\r\n").as_bytes());
        assert_eq!(
            status_of(&out),
            "HTTP/1.1 505 HTTP Version Not Supported",
            "{version}"
        );
        assert!(String::from_utf8_lossy(&out).contains("Connection: close"));
    }
}

#[test]
fn long_targets_get_414_and_large_heads_431() {
    let (_dir, server) = server();
    let long = format!("/{}", "a".repeat(8 * 1024));
    let out = server.raw(format!("GET {long} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
    assert_eq!(status_of(&out), "HTTP/1.1 414 URI Too Long");

    // Exactly 8 KiB is accepted (and is simply not found).
    let fits = format!("/{}", "a".repeat(8 * 1024 - 1));
    let out = server.raw(format!("GET {fits} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
    assert_eq!(status_of(&out), "HTTP/1.1 404 Not Found");

    let mut many = String::from("GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n");
    for i in 0..100 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let out = server.raw(many.as_bytes());
    assert_eq!(
        status_of(&out),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );

    let big = format!(
        "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
        "b".repeat(20_000)
    );
    let out = server.raw(big.as_bytes());
    assert_eq!(
        status_of(&out),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    assert!(String::from_utf8_lossy(&out).contains("Connection: close"));
}

#[test]
fn a_head_that_never_ends_is_cut_at_the_bound() {
    let (_dir, server) = server();
    let mut client = server.connect();
    client.send(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n");
    // Send header lines until the server answers; it must answer long before
    // we have sent a megabyte.
    let line = format!("X-Filler: {}\r\n", "f".repeat(1000));
    let mut sent = 0;
    while sent < 1024 * 1024 {
        use std::io::Write;
        if client.stream.write_all(line.as_bytes()).is_err() {
            break;
        }
        sent += line.len();
        if sent > 64 * 1024 {
            break;
        }
    }
    let response = client.response();
    assert_eq!(response.status, 431);
}

#[test]
fn a_get_with_a_body_is_framed_and_the_next_request_served() {
    let (_dir, server) = server();
    let mut client = server.connect();
    client.send(
        b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 25\r\n\r\nGET /nope HTTP/1.1\r\nX: y\r\n\
          GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    let first = client.response();
    assert_eq!(first.body, HELLO.as_bytes());
    // The 25 body bytes look like a request; they must not be answered.
    let second = client.response();
    assert_eq!(second.status, 200);
    assert_eq!(second.text(), "<!DOCTYPE html><title>home</title>");
}

#[test]
fn a_body_sent_in_pieces_is_framed() {
    let (_dir, server) = server();
    let mut client = server.connect();
    client.send(b"POST /hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n01234");
    // The server has read the head and half the body, and waits for the
    // rest, which then arrives in a read of its own.
    common::wait_until_read(&server, &client.stream);
    client.send(b"56789GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(client.response().status, 405);
    assert_eq!(client.response().body, HELLO.as_bytes());
}

#[test]
fn chunked_bodies_are_decoded_and_discarded() {
    let (_dir, server) = server();
    let mut client = server.connect();
    client.send(
        b"POST /hello.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
          5;ext=1\r\nGET /\r\n22\r\nnope HTTP/1.1\r\nHost: localhost\r\n\r\n\r\n0\r\nTrailer: yes\r\n\r\n\
          GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assert_eq!(client.response().status, 405);
    let next = client.response();
    assert_eq!(next.status, 200);
    assert_eq!(next.body, HELLO.as_bytes());
}

#[test]
fn content_length_rules() {
    let (_dir, server) = server();
    // A list of identical values is one value.
    let out = server.raw(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(status_of(&out), "HTTP/1.1 200 OK");

    let bad = [
        "Content-Length: 3, 4",
        "Content-Length: 3\r\nContent-Length: 4",
        "Content-Length: +3",
        "Content-Length: -3",
        "Content-Length: 3 3",
        "Content-Length:",
        "Content-Length: 0x3",
        "Content-Length: 18446744073709551616",
        "Transfer-Encoding: chunked\r\nContent-Length: 3",
        "Transfer-Encoding: gzip",
        "Transfer-Encoding: chunked, gzip",
        "Transfer-Encoding: chunked, chunked",
    ];
    for fields in bad {
        let raw = format!(
            "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n{fields}\r\n\r\nabcGET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
        );
        let out = server.raw(raw.as_bytes());
        let text = String::from_utf8_lossy(&out);
        assert_eq!(status_of(&out), "HTTP/1.1 400 Bad Request", "{fields}");
        assert!(text.contains("Connection: close"), "{fields}");
        assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{fields}: {text}");
    }
    let out =
        server.raw(b"POST /hello.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert_eq!(status_of(&out), "HTTP/1.1 400 Bad Request");
}

#[test]
fn malformed_chunked_bodies_get_400_and_close() {
    let (_dir, server) = server();
    for body in [
        "zz\r\n",
        "5\r\nhelloX\r\n0\r\n\r\n",
        "10000000000000000\r\n",
        "5\nhello\r\n0\r\n\r\n",
    ] {
        let raw = format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{body}GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
        );
        let out = server.raw(raw.as_bytes());
        let text = String::from_utf8_lossy(&out);
        assert_eq!(status_of(&out), "HTTP/1.1 400 Bad Request", "{body:?}");
        assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{body:?}: {text}");
    }
}

#[test]
fn bodies_over_the_bound_get_413_and_close() {
    let (_dir, server) = server();
    let out = server.raw(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048577\r\n\r\n");
    assert_eq!(status_of(&out), "HTTP/1.1 413 Content Too Large");
    assert!(String::from_utf8_lossy(&out).contains("Connection: close"));

    let mut client = server.connect();
    client.send(b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n");
    let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
    use std::io::Write;
    for _ in 0..17 {
        if client.stream.write_all(chunk.as_bytes()).is_err() {
            break;
        }
    }
    let response = client.response();
    assert_eq!(response.status, 413);
    assert_eq!(response.header("connection"), Some("close"));
}

#[test]
fn expect_100_continue() {
    let (_dir, server) = server();
    let mut client = server.connect();
    client.send(
        b"PUT /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    // The interim response comes before we send the body.
    let interim = client.response();
    assert_eq!(interim.status_line, "HTTP/1.1 100 Continue");
    assert!(interim.headers.is_empty());
    client.send(b"hello");
    assert_eq!(client.response().status, 405);

    // Too large: the final response at once, and a close.
    let mut client = server.connect();
    client.send(b"PUT /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n");
    let response = client.response();
    assert_eq!(response.status, 413);
    assert!(client.is_closed());

    // An expectation we cannot meet.
    let out = server.raw(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nExpect: teapot\r\n\r\n");
    assert_eq!(status_of(&out), "HTTP/1.1 417 Expectation Failed");
}

#[test]
fn http11_persists_by_default() {
    let (_dir, server) = server();
    let mut client = server.connect();
    for _ in 0..3 {
        client.send(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let response = client.response();
        assert_eq!(response.body, HELLO.as_bytes());
        assert_eq!(response.header("connection"), None);
    }
}

#[test]
fn connection_close_is_honoured_and_echoed() {
    let (_dir, server) = server();
    let mut client = server.connect();
    client.send(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let response = client.response();
    assert_eq!(response.header("connection"), Some("close"));
    assert!(client.is_closed());
}

#[test]
fn http10_closes_unless_keep_alive_is_asked_for() {
    let (_dir, server) = server();
    let mut client = server.connect();
    client.send(b"GET /hello.txt HTTP/1.0\r\n\r\n");
    let response = client.response();
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.header("connection"), Some("close"));
    assert!(client.is_closed());

    let mut client = server.connect();
    for _ in 0..2 {
        client.send(b"GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let response = client.response();
        assert_eq!(response.body, HELLO.as_bytes());
        assert_eq!(response.header("connection"), Some("keep-alive"));
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (_dir, server) = server();
    let mut raw = Vec::new();
    let targets = ["/hello.txt", "/missing", "/index.html", "/hello.txt", "/"];
    for target in targets {
        raw.extend_from_slice(
            format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes(),
        );
    }
    raw.extend_from_slice(b"HEAD /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let mut client = server.connect();
    client.send(&raw);
    let statuses: Vec<u16> = targets.iter().map(|_| client.response().status).collect();
    assert_eq!(statuses, [200, 404, 200, 200, 200]);
    let head = client.head_response();
    assert_eq!(head.header("content-length"), Some("14"));
    let last = client.response();
    assert_eq!(last.body, HELLO.as_bytes());
    assert!(client.is_closed());
}

#[test]
fn pipelined_requests_split_across_writes() {
    let (_dir, server) = server();
    let raw =
        b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\nGET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut client = server.connect();
    // Split inside the second request line.
    client.send(&raw[..45]);
    let first = client.response();
    client.send(&raw[45..]);
    let second = client.response();
    assert_eq!(first.body, HELLO.as_bytes());
    assert_eq!(second.status, 200);
}

#[test]
fn errors_to_head_requests_have_no_body_even_when_not_logging() {
    for args in [&[][..], &["--quiet"][..]] {
        let dir = TempDir::new("head-errors");
        let server = Server::start(&dir.path, args);
        // A framing error closes the connection: everything sent is the head.
        let out = server.raw(b"HEAD / HTTP/1.1\r\nHost: localhost\r\nContent-Length: x\r\n\r\n");
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{args:?}: {text}"
        );
        assert!(
            text.ends_with("\r\n\r\n"),
            "{args:?}: a body followed: {text}"
        );
        assert!(!text.contains("Content-Length: 0\r\n"), "{args:?}: {text}");
    }
}

#[test]
fn error_pages_are_html_and_keep_the_connection() {
    let (_dir, server) = server();
    let mut client = server.connect();
    client.send(b"GET /missing HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let response = client.response();
    assert_eq!(response.status_line, "HTTP/1.1 404 Not Found");
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(response.text().contains("<title>404 Not Found</title>"));
    assert_eq!(response.header("connection"), None);
    client.send(b"HEAD /missing HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let head = client.head_response();
    assert_eq!(head.status, 404);
    assert_eq!(
        head.header("content-length"),
        response.header("content-length")
    );
    client.send(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(client.response().status, 200);
}

#[test]
fn access_log_lines() {
    let (_dir, server) = server();
    server.get("/hello.txt");
    server.get("/a%22quote");
    // Each line is written after its response is sent, so wait for each.
    let log = server.wait_for_log("\"GET /hello.txt\" 200 14 ");
    // The access lines' target is named, whatever module writes them.
    assert!(
        log.contains(" INFO  tinyhttpd::access] 127.0.0.1:"),
        "{log}"
    );
    server.wait_for_log("\"GET /a%22quote\" 404 (no such file) ");
    let quiet_dir = TempDir::new("quiet");
    quiet_dir.write("a.txt", "a");
    let quiet = Server::start(&quiet_dir.path, &["--quiet"]);
    assert_eq!(quiet.get("/a.txt").status, 200);
    assert_eq!(quiet.get("/b.txt").status, 404);
    // A request served after those two, by a noisy server, shows logging
    // had time to happen; the quiet one must still have said nothing.
    server.get("/hello.txt?sync");
    server.wait_for_log("/hello.txt?sync");
    assert_eq!(quiet.log(), "");
}

#[test]
fn rust_log_decides_when_set() {
    let dir = TempDir::new("rust-log");
    dir.write("a.txt", "a");
    let mut command = std::process::Command::new(common::BIN);
    command
        .arg("--root")
        .arg(&dir.path)
        .args(["--port", "0", "--quiet"])
        .env("RUST_LOG", "debug");
    let server = Server::spawn(command);
    // --quiet alone logs warnings only; RUST_LOG=debug shows the start-up
    // debug line naming the served folder.
    let log = server.wait_for_log("serving ");
    assert!(log.contains(" DEBUG "), "{log}");
}

/// The README's example: `RUST_LOG=info,tinyhttpd::access=off` keeps every
/// line but the access lines.
#[test]
fn the_access_lines_can_be_filtered_out_by_their_target() {
    let dir = TempDir::new("rust-log-access");
    dir.write("a.txt", "a");
    let mut command = std::process::Command::new(common::BIN);
    command
        .arg("--root")
        .arg(&dir.path)
        .args(["--port", "0", "--auth", "alice:secret"])
        .env("RUST_LOG", "info,tinyhttpd::access=off");
    let server = Server::spawn(command);
    // Two refused requests on one connection: each refusal is a warning,
    // logged while its request is answered, so once the second one's is
    // in, the first one's access line would be too.
    let mut client = server.connect();
    for (user, basic) in [("alice", "YWxpY2U6d3Jvbmc="), ("bob", "Ym9iOng=")] {
        let request = format!(
            "GET /a.txt HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {basic}\r\n\r\n"
        );
        client.send(request.as_bytes());
        assert_eq!(client.response().status, 401, "{user}");
    }
    let log = server.wait_for_log("wrong credentials for user 'bob'");
    assert!(log.contains("wrong credentials for user 'alice'"), "{log}");
    assert!(!log.contains("\"GET /a.txt\""), "{log}");
}
