//! `--proxy PREFIX=URL` (/work/proxy-spec.md): which paths go to the
//! backend and as what, the request head the backend sees, the response the
//! client sees, and errors, guards, flags and the access log. Streams,
//! upgrades and backend connections are in tests/proxy_streams.rs.

mod backend;
mod common;

use backend::{After, Backend, Conn, Seen, proxy, reply, request, site};
use common::Server;

/// GETs each target on one connection and checks the body (`NAME TARGET`
/// from an echo backend, or a local file's contents).
fn expect_bodies(server: &Server, cases: &[(&str, u16, &str)]) {
    let mut conn = Conn::connect(server.addr);
    for (target, status, body) in cases {
        let reply = conn.get(target, &[]);
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (*status, *body),
            "{target}"
        );
    }
}

#[test]
fn prefixes_match_whole_segments_and_the_longest_wins() {
    let dir = site();
    let (a, b) = (Backend::echo("A"), Backend::echo("B"));
    let server = proxy(&dir, &[("/api", a.url()), ("/api/v2/", b.url())], &[]);
    expect_bodies(
        &server,
        &[
            ("/api", 200, "A /api"),
            ("/api/", 200, "A /api/"),
            ("/api/x?q=1", 200, "A /api/x?q=1"),
            ("/api?q", 200, "A /api?q"),
            ("/apiary", 200, "local apiary\n"),
            ("/api/v2", 200, "B /api/v2"),
            ("/api/v2/items?id=3", 200, "B /api/v2/items?id=3"),
            ("/api/v2x", 200, "A /api/v2x"),
            ("/hello.txt", 200, "hello\n"),
        ],
    );
    let reply = Conn::connect(server.addr).get("/apix", &[]);
    assert_eq!(reply.status, 404);
    assert_eq!(a.seen().len(), 5);
    assert_eq!(b.seen().len(), 2);
}

#[test]
fn a_url_path_replaces_the_prefix() {
    let dir = site();
    let b = Backend::echo("B");
    let root = Backend::echo("R");
    let server = proxy(
        &dir,
        &[
            ("/api", format!("{}/v1", b.url())),
            ("/svc/", format!("{}/", root.url())),
        ],
        &[],
    );
    expect_bodies(
        &server,
        &[
            ("/api/x", 200, "B /v1/x"),
            ("/api", 200, "B /v1"),
            ("/api?q", 200, "B /v1?q"),
            ("/api/x/y?z=%2F", 200, "B /v1/x/y?z=%2F"),
            ("/svc/x", 200, "R /x"),
            ("/svc", 200, "R /"),
            ("/svc?z=1", 200, "R /?z=1"),
        ],
    );
    assert_eq!(Conn::connect(server.addr).get("/svcs", &[]).status, 404);
}

#[test]
fn path_and_query_are_forwarded_byte_for_byte_and_dot_segments_removed() {
    let dir = site();
    let a = Backend::echo("A");
    let server = proxy(&dir, &[("/api", a.url())], &[]);
    expect_bodies(
        &server,
        &[
            ("/api/a%20b?x=%2F", 200, "A /api/a%20b?x=%2F"),
            (
                "/api/%7Euser/caf%C3%A9?q=a+b&r=%26",
                200,
                "A /api/%7Euser/caf%C3%A9?q=a+b&r=%26",
            ),
            ("/api/x//y", 200, "A /api/x//y"),
            ("/api/../secret", 200, "local secret\n"),
            ("/api/%2e%2e/secret", 200, "local secret\n"),
            ("/api/%2E%2E/secret", 200, "local secret\n"),
            ("/x/../api/a", 200, "A /api/a"),
            ("/x/%2e%2e/api/a?b", 200, "A /api/a?b"),
            ("/x/%2E%2E/api/a", 200, "A /api/a"),
            // Dot-segments are a path's: a query keeps them.
            ("/api/x?next=/a/../b", 200, "A /api/x?next=/a/../b"),
            ("/x/../api?q=../..", 200, "A /api?q=../.."),
        ],
    );
    for seen in a.seen() {
        let path = seen
            .target()
            .split('?')
            .next()
            .unwrap()
            .to_ascii_lowercase();
        assert!(!path.contains("%2e") && !path.contains(".."), "{seen:?}");
    }
}

#[test]
fn absolute_form_targets_are_forwarded_by_their_path() {
    let dir = site();
    let a = Backend::echo("A");
    let server = proxy(&dir, &[("/api", a.url())], &[]);
    let mut conn = Conn::connect(server.addr);
    let port = server.addr.port();
    conn.send(
        format!("GET http://localhost:{port}/api/x?y=1 HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(conn.response().text(), "A /api/x?y=1");
    let seen = a.wait_for(1);
    assert_eq!(seen[0].request_line(), "GET /api/x?y=1 HTTP/1.1");
    assert_eq!(seen[0].field("host"), Some(a.addr.to_string()));
}

#[test]
fn the_backend_sees_its_own_host_and_no_hop_by_hop_fields() {
    let dir = site();
    let a = Backend::echo("A");
    let server = proxy(&dir, &[("/api", a.url())], &[]);
    let port = server.addr.port();
    let mut conn = Conn::connect(server.addr);
    conn.send(
        format!(
            "GET /api/head?x=1 HTTP/1.1\r\nHost: localhost:{port}\r\nUser-Agent: proxy-test/1\r\n\
             Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\n\
             Accept: */*\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\n\
             x-lower-Case: Mixed  Value\r\nAuthorization: Bearer tok\r\nVia: 1.0 corp-proxy\r\n\
             X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Host: spoofed.example\r\n\
             X-Forwarded-Proto: https\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(conn.response().text(), "A /api/head?x=1");
    // The same connection, with none of those fields.
    assert_eq!(conn.get("/api/plain", &[]).text(), "A /api/plain");
    // An HTTP/1.0 request goes on as HTTP/1.1.
    conn.send(b"GET /api/old HTTP/1.0\r\nHost: localhost\r\n\r\n");
    assert_eq!(conn.response().text(), "A /api/old");

    let seen = a.wait_for(3);
    let first = &seen[0];
    assert_eq!(first.request_line(), "GET /api/head?x=1 HTTP/1.1");
    assert_eq!(first.field("host"), Some(format!("127.0.0.1:{}", a.port())));
    let added = [
        "host",
        "via",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
    ];
    let passed: Vec<String> = first
        .field_lines()
        .into_iter()
        .filter(|line| {
            let name = line.split(':').next().unwrap().to_ascii_lowercase();
            !added.contains(&name.as_str())
        })
        .collect();
    assert_eq!(
        passed,
        [
            "User-Agent: proxy-test/1",
            "Accept: */*",
            "x-lower-Case: Mixed  Value",
            "Authorization: Bearer tok",
        ],
        "{}",
        first.text()
    );
    assert_eq!(first.field("via").unwrap(), "1.0 corp-proxy, 1.1 tinyhttpd");
    assert_eq!(
        first.field("x-forwarded-for").unwrap(),
        "203.0.113.7, 127.0.0.1"
    );
    assert_eq!(
        first.field("x-forwarded-host").unwrap(),
        format!("localhost:{port}")
    );
    assert_eq!(first.field("x-forwarded-proto").unwrap(), "http");

    for (n, plain) in seen.iter().enumerate().skip(1) {
        let mut names = plain.names();
        names.sort();
        assert_eq!(names, added, "{}", plain.text());
        // Via names the version the request came in (RFC 9110 section
        // 7.6.3): the third is HTTP/1.0's.
        let version = if n == 2 { "1.0" } else { "1.1" };
        assert_eq!(plain.field("via").unwrap(), format!("{version} tinyhttpd"));
        assert_eq!(plain.field("x-forwarded-for").unwrap(), "127.0.0.1");
        assert_eq!(plain.field("x-forwarded-host").unwrap(), "localhost");
    }
    assert_eq!(seen[2].request_line(), "GET /api/old HTTP/1.1");
}

/// A backend answering by path with the responses the tests below read.
fn answers() -> Backend {
    Backend::start(|seen, out| {
        let raw: Vec<u8> = match seen.target().as_str() {
            "/api/fields" => b"HTTP/1.1 404 Not Found Here\r\nDate: Mon, 01 Jan 2001 00:00:00 GMT\r\n\
                Server: backend/1.0\r\nContent-Type: text/html; charset=utf-8\r\n\
                Set-Cookie: a=1; Path=/\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\n\
                Keep-Alive: timeout=5\r\nSet-Cookie: b=2; HttpOnly\r\nProxy-Connection: keep-alive\r\n\
                Trailer: X-Checksum\r\nUpgrade: h2c\r\nTE: trailers\r\n\
                x-mixed-Case: Value  With  Spaces\r\nVia: 1.0 upstream\r\nContent-Length: 14\r\n\r\n\
                <h1>gone</h1>\n"
                .to_vec(),
            "/api/close" => b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            "/api/302" => b"HTTP/1.1 302 Found\r\nLocation: /login?next=%2Fapi\r\nContent-Length: 0\r\n\r\n".to_vec(),
            "/api/304" => b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n".to_vec(),
            "/api/204" => b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n".to_vec(),
            "/api/500" => b"HTTP/1.1 500 Oops\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<h1>boom</h1>".to_vec(),
            "/api/299" => b"HTTP/1.1 299 Whatever\r\nContent-Length: 2\r\n\r\nhi".to_vec(),
            "/api/head" => b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1234\r\n\r\n".to_vec(),
            _ => b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(),
        };
        use std::io::Write;
        let _ = out.write_all(&raw);
        if seen.target() == "/api/close" {
            After::Close
        } else {
            After::KeepAlive
        }
    })
}

#[test]
fn the_client_sees_the_backends_status_and_fields() {
    let dir = site();
    let backend = answers();
    let server = proxy(&dir, &[("/api", backend.url())], &[]);
    let mut conn = Conn::connect(server.addr);
    let reply = conn.get("/api/fields", &[]);
    assert_eq!(reply.status_line, "HTTP/1.1 404 Not Found");
    assert_eq!(reply.names()[..2], ["date", "server"], "{reply:?}");
    assert_eq!(reply.field("server").unwrap(), "tinyhttpd");
    let date = reply.field("date").unwrap();
    assert!(httpdate::parse_http_date(&date).is_ok(), "{date}");
    assert_ne!(date, "Mon, 01 Jan 2001 00:00:00 GMT");
    let ours = ["date", "server", "via", "content-length", "connection"];
    let passed: Vec<&String> = reply
        .lines
        .iter()
        .filter(|line| {
            let name = line.split(':').next().unwrap().to_ascii_lowercase();
            !ours.contains(&name.as_str())
        })
        .collect();
    assert_eq!(
        passed,
        [
            "Content-Type: text/html; charset=utf-8",
            "Set-Cookie: a=1; Path=/",
            "Set-Cookie: b=2; HttpOnly",
            "x-mixed-Case: Value  With  Spaces",
        ],
        "{reply:?}"
    );
    assert!(
        !reply
            .field("connection")
            .unwrap_or_default()
            .contains("X-Hop")
    );
    assert_eq!(reply.field("via").unwrap(), "1.0 upstream, 1.1 tinyhttpd");
    assert_eq!(reply.field("content-length").unwrap(), "14");
    assert_eq!(reply.text(), "<h1>gone</h1>\n");

    // The backend closes its connection; the client's stays open.
    let reply = conn.get("/api/close", &[]);
    assert_eq!((reply.status, reply.text().as_str()), (200, "ok"));
    assert_ne!(
        reply.field("connection").as_deref(),
        Some("close"),
        "{reply:?}"
    );
    assert_eq!(conn.get("/hello.txt", &[]).text(), "hello\n");
}

#[test]
fn cors_and_header_flags_leave_proxied_responses_alone() {
    let dir = site();
    let backend = answers();
    let flags = ["--cors", "--header", "X-Site: 1"];
    let server = proxy(&dir, &[("/api", backend.url())], &flags);
    let mut conn = Conn::connect(server.addr);
    // The flags do apply to local files.
    let local = conn.get("/hello.txt", &[("Origin", "http://localhost:5173")]);
    assert_eq!(local.field("x-site").unwrap(), "1");
    assert_eq!(local.field("access-control-allow-origin").unwrap(), "*");
    let reply = conn.get("/api/fields", &[("Origin", "http://localhost:5173")]);
    assert_eq!(reply.status, 404);
    assert_eq!(reply.field("x-site"), None, "{reply:?}");
    assert_eq!(
        reply.field("access-control-allow-origin"),
        None,
        "{reply:?}"
    );
}

#[test]
fn redirects_errors_and_bodiless_statuses_pass() {
    let dir = site();
    let backend = answers();
    let server = proxy(&dir, &[("/api", backend.url())], &[]);
    let mut conn = Conn::connect(server.addr);

    let found = conn.get("/api/302", &[]);
    assert_eq!(found.status_line, "HTTP/1.1 302 Found");
    assert_eq!(found.field("location").unwrap(), "/login?next=%2Fapi");
    assert_eq!(found.field("content-length").unwrap(), "0");

    let not_modified = conn.get("/api/304", &[("If-None-Match", "\"v1\"")]);
    assert_eq!(not_modified.status_line, "HTTP/1.1 304 Not Modified");
    assert_eq!(not_modified.field("etag").unwrap(), "\"v1\"");
    assert_eq!(not_modified.field("transfer-encoding"), None);

    let no_content = conn.get("/api/204", &[]);
    assert_eq!(no_content.status_line, "HTTP/1.1 204 No Content");
    assert_eq!(no_content.field("x-a").unwrap(), "1");
    assert_eq!(no_content.field("content-length"), None);
    assert_eq!(no_content.field("transfer-encoding"), None);

    let error = conn.get("/api/500", &[]);
    assert_eq!(error.status_line, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(error.field("content-type").unwrap(), "text/html");
    assert_eq!(error.text(), "<h1>boom</h1>");

    let unknown = conn.get("/api/299", &[]);
    assert_eq!(unknown.status_line, "HTTP/1.1 299 ");
    assert_eq!(unknown.text(), "hi");

    conn.send(&request("HEAD", "/api/head", &[]));
    let head = conn.head_response();
    assert_eq!(head.status, 200);
    assert_eq!(head.field("content-length").unwrap(), "1234");
    assert_eq!(head.field("content-type").unwrap(), "application/json");
    // Had anything followed a bodiless answer, this would read it.
    let local = conn.get("/hello.txt", &[]);
    assert_eq!((local.status, local.text().as_str()), (200, "hello\n"));
    let heads: Vec<String> = backend.wait_for(6).iter().map(Seen::request_line).collect();
    assert_eq!(heads[5], "HEAD /api/head HTTP/1.1");
}

#[test]
fn every_method_is_forwarded() {
    let dir = site();
    let a = Backend::echo("A");
    let server = proxy(&dir, &[("/api", a.url())], &[]);
    let mut conn = Conn::connect(server.addr);
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE"] {
        conn.send(&request(method, "/api/m", &[("Content-Length", "2")]));
        conn.send(b"{}");
        let reply = conn.response();
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (200, "A /api/m"),
            "{method}"
        );
    }
    conn.send(&request("HEAD", "/api/m", &[]));
    assert_eq!(conn.head_response().field("content-length").unwrap(), "8");
    let seen = a.wait_for(8);
    for (seen, method) in seen.iter().zip([
        "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE", "HEAD",
    ]) {
        assert_eq!(seen.request_line(), format!("{method} /api/m HTTP/1.1"));
        if method != "HEAD" {
            assert_eq!(seen.body, b"{}", "{method}");
            assert_eq!(seen.field("content-length").unwrap(), "2");
        }
    }
}

#[test]
fn an_ipv6_backend_by_address_and_by_localhost() {
    let backend = match Backend::bind("[::1]:0", |seen, out| {
        reply(
            out,
            "200 OK",
            &[],
            format!("v6 {}", seen.target()).as_bytes(),
        );
        After::KeepAlive
    }) {
        Ok(backend) => backend,
        Err(e) => {
            println!("note: cannot bind [::1] here ({e}); IPv6 backend test skipped");
            return;
        }
    };
    let port = backend.port();
    let dir = site();
    let server = proxy(
        &dir,
        &[
            ("/six", format!("http://[::1]:{port}")),
            ("/local", format!("http://localhost:{port}")),
        ],
        &[],
    );
    let mut conn = Conn::connect(server.addr);
    assert_eq!(conn.get("/six/a", &[]).text(), "v6 /six/a");
    assert_eq!(
        backend.wait_for(1)[0].field("host").unwrap(),
        format!("[::1]:{port}")
    );
    // Whatever the hosts file says (here it may list 127.0.0.1 only),
    // `localhost` is tried at ::1 too.
    let reply = conn.get("/local/b", &[]);
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "v6 /local/b"),
        "{reply:?}"
    );
    let seen = backend.wait_for(2);
    assert_eq!(seen[1].field("host").unwrap(), format!("localhost:{port}"));
}

#[test]
fn the_access_line_names_the_backend() {
    let dir = site();
    let backend = Backend::echo("A");
    let server = proxy(&dir, &[("/api", backend.url())], &[]);
    assert_eq!(
        Conn::connect(server.addr).get("/api/logged", &[]).status,
        200
    );
    let needle = format!(
        "\"GET /api/logged\" 200 (backend 127.0.0.1:{}, ",
        backend.port()
    );
    let log = server.wait_for_log(&needle);
    let line = log.lines().find(|l| l.contains(&needle)).unwrap();
    let note = line.split(&needle).nth(1).unwrap();
    let (time, _) = note.split_once("ms)").unwrap_or_else(|| panic!("{line}"));
    assert!(time.parse::<f64>().is_ok(), "{line}");
    assert_eq!(
        Conn::connect(server.addr).get("/hello.txt", &[]).status,
        200
    );
    let log = server.wait_for_log("\"GET /hello.txt\" 200");
    let local = log
        .lines()
        .find(|l| l.contains("\"GET /hello.txt\""))
        .unwrap();
    assert!(!local.contains("backend"), "{local}");
}

#[test]
fn a_cors_preflight_on_a_proxied_path_is_the_backends() {
    let dir = site();
    let a = Backend::echo("A");
    let server = proxy(&dir, &[("/api", a.url())], &["--cors"]);
    let preflight = [
        ("Origin", "http://localhost:5173"),
        ("Access-Control-Request-Method", "POST"),
    ];
    let mut conn = Conn::connect(server.addr);
    conn.send(&request("OPTIONS", "/api/x", &preflight));
    let reply = conn.response();
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "A /api/x"),
        "{reply:?}"
    );
    let seen = a.wait_for(1);
    assert_eq!(seen[0].request_line(), "OPTIONS /api/x HTTP/1.1");
}
