//! `--proxy` with the development conveniences (/work/proxy-spec.md): a
//! `/` prefix that proxies everything but live reload's own paths, and the
//! live-reload script put into the backend's pages (by length or as a last
//! chunk), with everything else passing untouched; and an event stream
//! (as dev servers hold open) quiet for longer than `--proxy-timeout`.

mod backend;
mod common;

use std::io::{Read, Write};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use backend::{After, Backend, Conn, Seen, proxy, reply, request, site};
use common::{TIMEOUT, subscribe, wait_until};

/// What a browser sends when it navigates.
const NAVIGATION: &[(&str, &str)] = &[
    ("Sec-Fetch-Dest", "document"),
    ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
    ("Accept-Encoding", "gzip, br"),
];

/// The opening of the script live reload puts into pages.
const SCRIPT_START: &str = "<script>/* tinyhttpd live reload */";

const PAGE: &str = "<!DOCTYPE html><html><body><p>from the backend</p></body></html>";

/// Pages and other answers by path: `/page` with a length and an ETag,
/// `/chunked` in two chunks, `/data` JSON, `/missing` a 404 page.
fn pages() -> Backend {
    Backend::start(|seen, out| {
        let html = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("ETag", "\"p1\""),
        ];
        match seen.target().as_str() {
            "/page" => reply(out, "200 OK", &html, PAGE.as_bytes()),
            "/data" => reply(
                out,
                "200 OK",
                &[("Content-Type", "application/json")],
                b"{}",
            ),
            "/missing" => reply(out, "404 Not Found", &html, PAGE.as_bytes()),
            "/chunked" => {
                let _ = out.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n\
                      6\r\n<html>\r\n7\r\n</html>\r\n0\r\n\r\n",
                );
            }
            other => reply(out, "200 OK", &[], other.as_bytes()),
        }
        After::KeepAlive
    })
}

#[test]
fn a_root_prefix_proxies_everything_but_live_reloads_paths() {
    let dir = site();
    let a = Backend::echo("A");
    let server = proxy(&dir, &[("/", a.url())], &["--live-reload"]);
    let mut conn = Conn::connect(server.addr);
    assert_eq!(conn.get("/hello.txt", &[]).text(), "A /hello.txt");
    assert_eq!(conn.get("/", &[]).text(), "A /");
    assert_eq!(conn.get("/missing?x", &[]).text(), "A /missing?x");
    // The event stream is ours: subscribe() checks its head and first lines.
    drop(subscribe(&server));
    let targets: Vec<String> = a.seen().iter().map(Seen::target).collect();
    assert_eq!(targets, ["/hello.txt", "/", "/missing?x"]);
    // The whole /.tinyhttpd/ namespace is live reload's, not the backend's.
    let other = conn.get("/.tinyhttpd/other", &[]);
    assert_ne!(other.text(), "A /.tinyhttpd/other", "{other:?}");
    assert_eq!(a.seen().len(), 3);
}

#[test]
fn live_reload_goes_into_a_page_with_a_length() {
    let dir = site();
    let a = pages();
    let server = proxy(&dir, &[("/", a.url())], &["--live-reload"]);
    let mut conn = Conn::connect(server.addr);
    let reply = conn.get("/page", NAVIGATION);
    assert_eq!(reply.status, 200);
    let body = reply.text();
    let at = body.find(SCRIPT_START).expect("the script");
    assert_eq!(
        &body[..at],
        "<!DOCTYPE html><html><body><p>from the backend</p>"
    );
    assert!(body.ends_with("</script></body></html>"), "{body}");
    assert_eq!(
        reply.field("content-length").unwrap(),
        body.len().to_string()
    );
    assert_eq!(reply.field("etag"), None, "{reply:?}");
    assert_eq!(reply.field("transfer-encoding"), None);
    let seen = a.wait_for(1);
    assert_eq!(seen[0].field("accept-encoding"), None, "{}", seen[0].text());
}

#[test]
fn live_reload_goes_into_a_chunked_page_as_a_last_chunk() {
    let dir = site();
    let a = pages();
    let server = proxy(&dir, &[("/", a.url())], &["--live-reload"]);
    let mut conn = Conn::connect(server.addr);
    let reply = conn.get("/chunked", NAVIGATION);
    assert_eq!(reply.field("transfer-encoding").unwrap(), "chunked");
    let body = reply.text();
    assert!(body.starts_with("<html></html><script>"), "{body}");
    assert!(body.ends_with("</script>"), "{body}");
    assert!(body.contains(SCRIPT_START), "{body}");
    // The connection goes on.
    assert_eq!(conn.get("/hello.txt", &[]).text(), "/hello.txt");
}

#[test]
fn everything_else_passes_untouched_under_live_reload() {
    let dir = site();
    let a = pages();
    let server = proxy(&dir, &[("/", a.url())], &["--live-reload"]);
    let mut conn = Conn::connect(server.addr);
    // Not a navigation: a fetch() of the same page.
    let fetched = conn.get("/page", &[("Accept", "*/*"), ("Accept-Encoding", "gzip")]);
    assert_eq!(fetched.text(), PAGE);
    assert_eq!(fetched.field("etag").unwrap(), "\"p1\"");
    // A navigation answered with JSON, or with a 404 page.
    assert_eq!(conn.get("/data", NAVIGATION).text(), "{}");
    let missing = conn.get("/missing", NAVIGATION);
    assert_eq!((missing.status, missing.text().as_str()), (404, PAGE));
    // Without --live-reload, a navigation's page is the backend's own.
    let plain = proxy(&dir, &[("/", a.url())], &[]);
    let page = Conn::connect(plain.addr).get("/page", NAVIGATION);
    assert_eq!(page.text(), PAGE);
    assert_eq!(page.field("etag").unwrap(), "\"p1\"");

    let seen = a.wait_for(4);
    assert_eq!(seen[0].field("accept-encoding").unwrap(), "gzip");
    assert_eq!(seen[3].field("accept-encoding").unwrap(), "gzip, br");
}

#[test]
fn a_quiet_event_stream_outlives_the_proxy_timeout_until_the_client_leaves() {
    let dir = site();
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Mutex::new(rx);
    let a = Backend::start(move |seen, out| {
        if seen.target() != "/api/events" {
            reply(out, "200 OK", &[], seen.target().as_bytes());
            return After::KeepAlive;
        }
        let _ = out.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n\
              b\r\ndata: one\n\n\r\n",
        );
        let _ = rx.lock().unwrap().recv_timeout(TIMEOUT);
        let _ = out.write_all(b"b\r\ndata: two\n\n\r\n");
        // The stream stays open, with nothing more to say.
        After::KeepAlive
    });
    let server = proxy(&dir, &[("/api", a.url())], &["--proxy-timeout", "0.3"]);
    let mut conn = Conn::connect(server.addr);
    conn.send(&request(
        "GET",
        "/api/events",
        &[("Accept", "text/event-stream")],
    ));
    assert_eq!(conn.head().status, 200);
    assert_eq!(conn.chunk().unwrap(), b"data: one\n\n");
    // Other requests go on meanwhile, on another backend connection.
    assert_eq!(
        Conn::connect(server.addr).get("/api/other", &[]).text(),
        "/api/other"
    );
    // Quiet for longer than --proxy-timeout: nothing comes, nothing ends.
    conn.stream
        .set_read_timeout(Some(Duration::from_millis(900)))
        .unwrap();
    let mut byte = [0; 1];
    let quiet = conn.reader.read(&mut byte);
    assert!(quiet.is_err(), "the stream sent or ended: {quiet:?}");
    conn.stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    tx.send(()).unwrap();
    assert_eq!(conn.chunk().unwrap(), b"data: two\n\n");
    // The client leaves; the backend's connection is closed in turn.
    drop(conn);
    wait_until(
        TIMEOUT,
        "the event stream's backend connection closed",
        || a.closed() == 1,
    );
    let streams: Vec<usize> = a.seen().iter().map(|s| s.connection).collect();
    assert_eq!(streams, [0, 1]);
}
