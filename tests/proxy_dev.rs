//! `--proxy` with the development conveniences (/work/proxy-spec.md): a
//! `/` prefix that proxies everything but live reload's own paths, and the
//! live-reload script put into the backend's pages (by length or as a last
//! chunk), with everything else passing untouched.

mod backend;
mod common;

use std::io::Write;

use backend::{After, Backend, Conn, Seen, proxy, reply, site};
use common::subscribe;

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
