//! Previewing a site as its host serves it, and sharing it safely: clean
//! URLs (`/about` answered from `about.html`), with everything a file has
//! (validators, ranges), beside folders, `--spa` and `--404`, and never
//! around the dotfile rule or the root; `--auth` (HTTP Basic) in front of
//! everything but CORS preflights.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{BIN, Response, Server, TIMEOUT, TempDir, symlink_on_unix};

fn get(server: &Server, target: &str, fields: &[(&str, &str)]) -> Response {
    server.request("GET", target, fields)
}

const ABOUT: &str = "<!DOCTYPE html><title>About</title><p>about us</p>";

/// A static export: pages as `NAME.html`, linked as `/NAME`.
fn exported_site() -> TempDir {
    let dir = TempDir::new("clean-urls");
    dir.write("index.html", "<p>home</p>");
    dir.write("about.html", ABOUT);
    dir.write("blog/first-post.html", "<p>first post</p>");
    dir.write("docs/index.html", "<p>docs folder</p>");
    dir.write("docs.html", "<p>docs page</p>");
    dir.write("guide/index.html", "<p>guide folder</p>");
    dir.write("v1.2.html", "<p>release notes</p>");
    dir.write("plain", "a file without an extension");
    dir.write("plain.html", "<p>never reached</p>");
    dir.write(".secret.html", "secret page");
    dir.write(".secret", "secret file");
    dir
}

#[test]
fn a_path_without_extension_is_served_from_its_html_file() {
    let dir = exported_site();
    let server = Server::start(&dir.path, &[]);
    let about = get(&server, "/about", &[]);
    assert_eq!((about.status, about.text().as_str()), (200, ABOUT));
    assert_eq!(
        about.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(about.header("content-length"), Some("50"));
    server.wait_for_log("\"GET /about\" 200 (from /about.html) 50 ");

    // The same representation as by its own name: same validators.
    let by_name = get(&server, "/about.html", &[]);
    assert_eq!((by_name.status, by_name.text().as_str()), (200, ABOUT));
    let etag = about.header("etag").unwrap();
    assert_eq!(by_name.header("etag"), Some(etag));
    assert_eq!(
        by_name.header("last-modified"),
        about.header("last-modified")
    );

    let revalidated = get(&server, "/about", &[("If-None-Match", etag)]);
    assert_eq!(revalidated.status, 304);
    assert!(revalidated.body.is_empty());
    assert_eq!(revalidated.header("etag"), Some(etag));
    server.wait_for_log("\"GET /about\" 304 (etag, from /about.html) 0 ");

    let range = get(&server, "/about", &[("Range", "bytes=15-28")]);
    assert_eq!(range.status, 206);
    assert_eq!(range.text(), "<title>About</");
    assert_eq!(range.header("content-range"), Some("bytes 15-28/50"));
    let if_range = get(
        &server,
        "/about",
        &[("Range", "bytes=0-8"), ("If-Range", "\"stale\"")],
    );
    assert_eq!((if_range.status, if_range.text().as_str()), (200, ABOUT));

    // Deeper pages, a query, and HEAD.
    let post = get(&server, "/blog/first-post?utm=x", &[]);
    assert_eq!(
        (post.status, post.text().as_str()),
        (200, "<p>first post</p>")
    );
    let head = server.request("HEAD", "/about", &[]);
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.header("content-length"), Some("50"));
}

#[test]
fn files_and_folders_keep_their_own_names() {
    let dir = exported_site();
    let server = Server::start(&dir.path, &[]);
    // A file that exists as named wins over NAME.html.
    let plain = get(&server, "/plain", &[]);
    assert_eq!(plain.text(), "a file without an extension");
    // A folder beside a page: the page without the slash, the folder with
    // it, as GitHub Pages, Netlify and Cloudflare Pages answer.
    let docs = get(&server, "/docs", &[]);
    assert_eq!(
        (docs.status, docs.text().as_str()),
        (200, "<p>docs page</p>")
    );
    let folder = get(&server, "/docs/", &[]);
    assert_eq!(folder.text(), "<p>docs folder</p>");
    // A folder alone still gets its slash.
    let guide = get(&server, "/guide?x=1", &[]);
    assert_eq!(guide.status, 301);
    assert_eq!(guide.header("location"), Some("/guide/?x=1"));
    // A last segment with an extension, or a slash, is never completed.
    assert_eq!(get(&server, "/v1.2", &[]).status, 404);
    assert_eq!(get(&server, "/v1.2.html", &[]).status, 200);
    assert_eq!(get(&server, "/about/", &[]).status, 404);
    assert_eq!(get(&server, "/nothing", &[]).status, 404);
    assert_eq!(get(&server, "/", &[]).text(), "<p>home</p>");
}

/// The site the trailing-slash guide (github.com/slorber/trailing-slash-guide)
/// deploys to every host, and what GitHub Pages answers for each path in
/// its table: the page or index named, or a redirect.
#[test]
fn answers_as_github_pages_does_in_the_trailing_slash_guide() {
    let dir = TempDir::new("trailing-slash-guide");
    dir.write("file.html", "file.html");
    dir.write("folder/index.html", "folder/index.html");
    dir.write("both.html", "both.html");
    dir.write("both/index.html", "both/index.html");
    let server = Server::start(&dir.path, &[]);
    let table: &[(&str, u16, &str)] = &[
        ("/file", 200, "file.html"),
        ("/file/", 404, ""),
        ("/file.html", 200, "file.html"),
        ("/folder", 301, "/folder/"),
        ("/folder/", 200, "folder/index.html"),
        ("/folder/index.html", 200, "folder/index.html"),
        ("/both", 200, "both.html"),
        ("/both/", 200, "both/index.html"),
        ("/both.html", 200, "both.html"),
        ("/both/index.html", 200, "both/index.html"),
    ];
    for &(path, status, expected) in table {
        let response = get(&server, path, &[]);
        assert_eq!(response.status, status, "{path}");
        match status {
            200 => assert_eq!(response.text(), expected, "{path}"),
            301 => assert_eq!(response.header("location"), Some(expected), "{path}"),
            _ => {}
        }
    }
}

#[test]
fn clean_urls_never_reach_hidden_files_or_leave_the_root() {
    let dir = exported_site();
    let outside = TempDir::new("clean-urls-outside");
    outside.write("escape.html", "outside the root");
    symlink_on_unix(
        outside.path.join("escape.html"),
        dir.path.join("escape.html"),
    );
    let server = Server::start(&dir.path, &[]);
    for target in [
        "/.secret",
        "/%2esecret",
        "/.secret.html",
        "/blog/.secret",
        "/escape",
        "/escape.html",
    ] {
        let response = get(&server, target, &[]);
        assert_eq!(response.status, 404, "{target}");
        assert!(!response.text().contains("secret page"), "{target}");
        assert!(!response.text().contains("outside"), "{target}");
    }
    for target in ["/..", "/blog/../../about", "/%2e%2e/about"] {
        assert_eq!(get(&server, target, &[]).status, 400, "{target}");
    }
    // Dot-segments are removed first: this names /about.
    assert_eq!(get(&server, "/blog/../about", &[]).text(), ABOUT);
    // With --hidden, a dotfile is a file like any other.
    let hidden = Server::start(&dir.path, &["--hidden"]);
    assert_eq!(get(&hidden, "/.secret", &[]).text(), "secret file");
}

#[test]
fn no_clean_urls_turns_it_off() {
    let dir = exported_site();
    let server = Server::start(&dir.path, &["--no-clean-urls"]);
    assert_eq!(get(&server, "/about", &[]).status, 404);
    let docs = get(&server, "/docs", &[]);
    assert_eq!(docs.status, 301);
    assert_eq!(docs.header("location"), Some("/docs/"));
    assert_eq!(get(&server, "/about.html", &[]).text(), ABOUT);
}

const NAVIGATION: &[(&str, &str)] = &[
    ("Sec-Fetch-Dest", "document"),
    ("Accept", "text/html,*/*;q=0.8"),
];

#[test]
fn clean_urls_come_before_the_spa_fallback_and_the_404_page() {
    let dir = exported_site();
    let elsewhere = TempDir::new("clean-urls-404");
    let page = elsewhere.write("404.html", "<h1>custom 404</h1>");
    let spa = Server::start(&dir.path, &["--spa"]);
    assert_eq!(get(&spa, "/about", NAVIGATION).text(), ABOUT);
    let route = get(&spa, "/app/settings", NAVIGATION);
    assert_eq!((route.status, route.text().as_str()), (200, "<p>home</p>"));
    assert_eq!(get(&spa, "/app/settings.js", NAVIGATION).status, 404);

    let custom = Server::start(&dir.path, &["--404", page.to_str().unwrap()]);
    assert_eq!(get(&custom, "/about", &[]).text(), ABOUT);
    let missing = get(&custom, "/missing", &[]);
    assert_eq!(
        (missing.status, missing.text().as_str()),
        (404, "<h1>custom 404</h1>")
    );
}

/// The page a clean URL names is cached under its own name, and every use
/// checks what is on disk: an edit shows, and a file later made under the
/// clean name takes over.
#[test]
fn clean_urls_follow_the_files_on_disk() {
    let dir = exported_site();
    let server = Server::start(&dir.path, &[]);
    for _ in 0..3 {
        assert_eq!(get(&server, "/about", &[]).text(), ABOUT);
    }
    dir.write("about.html", "<p>edited</p>");
    assert_eq!(get(&server, "/about", &[]).text(), "<p>edited</p>");
    dir.write("about", "now a file of its own");
    assert_eq!(get(&server, "/about", &[]).text(), "now a file of its own");
    std::fs::remove_file(dir.path.join("about")).unwrap();
    std::fs::remove_file(dir.path.join("about.html")).unwrap();
    assert_eq!(get(&server, "/about", &[]).status, 404);
}

// --auth

const CHALLENGE: &str = "Basic realm=\"tinyhttpd\", charset=\"UTF-8\"";
/// "alice:wonder land" and "bob:b:o:b" in base64.
const ALICE: &str = "Basic YWxpY2U6d29uZGVyIGxhbmQ=";
const BOB: &str = "Basic Ym9iOmI6bzpi";
/// "alice:wonderland"
const WRONG: &str = "Basic YWxpY2U6d29uZGVybGFuZA==";

fn private_site(args: &[&str]) -> (TempDir, Server) {
    let dir = TempDir::new("auth");
    dir.write("index.html", "<p>private</p>");
    dir.write("notes.txt", "secret notes");
    let mut all = vec!["--auth", "alice:wonder land", "--auth", "bob:b:o:b"];
    all.extend_from_slice(args);
    let server = Server::start(&dir.path, &all);
    (dir, server)
}

fn assert_refused(response: &Response) {
    assert_eq!(response.status, 401, "{response:?}");
    assert_eq!(response.header("www-authenticate"), Some(CHALLENGE));
    assert!(!response.text().contains("secret"));
}

#[test]
fn auth_asks_for_credentials_on_every_request() {
    let (_dir, server) = private_site(&[]);
    for target in ["/", "/notes.txt", "/nothing", "/notes"] {
        assert_refused(&get(&server, target, &[]));
    }
    let head = server.request("HEAD", "/notes.txt", &[]);
    assert_refused(&head);
    assert!(head.body.is_empty());
    assert_refused(&server.request("POST", "/notes.txt", &[]));
    assert_refused(&server.request("OPTIONS", "/notes.txt", &[]));
    server.wait_for_log("\"GET /notes.txt\" 401 (no credentials) ");

    for wrong in [
        WRONG,
        "Basic !!!!",
        "Basic YWxpY2U=",
        "Bearer YWxpY2U6d29uZGVyIGxhbmQ=",
    ] {
        assert_refused(&get(&server, "/notes.txt", &[("Authorization", wrong)]));
    }
    // Each line is waited for: a response can reach us before its log line.
    server.wait_for_log("401 (malformed credentials)");
    server.wait_for_log(
        "WARN  tinyhttpd::serve::guards] refused a request for /notes.txt: \
         wrong credentials for user 'alice'",
    );
    server.wait_for_log("\"GET /notes.txt\" 401 (wrong credentials for user 'alice')");

    for user in [ALICE, BOB, "basic  YWxpY2U6d29uZGVyIGxhbmQ"] {
        let notes = get(&server, "/notes.txt", &[("Authorization", user)]);
        assert_eq!((notes.status, notes.text().as_str()), (200, "secret notes"));
    }
    // A file now in the cache is behind the same check.
    assert_refused(&get(&server, "/notes.txt", &[]));
    // Once every request is in the log, no line holds a password.
    let deadline = Instant::now() + TIMEOUT;
    let log = loop {
        let log = server.log();
        if log.matches("\"GET /notes.txt\" ").count() == 9 || Instant::now() > deadline {
            break log;
        }
        thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(log.matches("\"GET /notes.txt\" ").count(), 9, "{log}");
    assert!(!log.contains("wonder"), "the log holds a password:\n{log}");
    assert!(!log.contains("clear text"));
}

#[test]
fn preflights_pass_without_credentials_and_the_event_stream_does_not() {
    let (_dir, server) = private_site(&["--cors", "--live-reload"]);
    let preflight = server.request(
        "OPTIONS",
        "/notes.txt",
        &[
            ("Origin", "http://localhost:3000"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization"),
        ],
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("authorization")
    );
    assert_refused(&get(&server, "/.tinyhttpd/events", &[]));
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(
        stream,
        "GET /.tinyhttpd/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: {BOB}\r\n\r\n"
    )
    .unwrap();
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status).unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK\r\n");
}

#[test]
fn auth_from_the_environment_and_bad_values() {
    let dir = TempDir::new("auth-env");
    dir.write("a.txt", "from env");
    let mut command = Command::new(BIN);
    command
        .arg(&dir.path)
        .args(["--port", "0"])
        .env("TINYHTTPD_AUTH", "alice:wonder land\n\nbob:b:o:b\n")
        .env_remove("RUST_LOG");
    let server = Server::spawn(command);
    assert_refused(&get(&server, "/a.txt", &[]));
    for user in [ALICE, BOB] {
        assert_eq!(
            get(&server, "/a.txt", &[("Authorization", user)]).text(),
            "from env"
        );
    }

    for (flag, variable) in [
        (Some("secret-without-colon"), None),
        (None, Some(":secret")),
    ] {
        let mut command = Command::new(BIN);
        command.args(["--port", "0"]).env_remove("RUST_LOG");
        if let Some(flag) = flag {
            command.args(["--auth", flag]);
        }
        if let Some(variable) = variable {
            command.env("TINYHTTPD_AUTH", variable);
        }
        let out = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            stderr,
            "tinyhttpd: --auth must be USER:PASSWORD, with a user name and no control characters\n"
        );
    }
}

// Generated pages

#[test]
fn generated_pages_share_one_frame_and_never_ask_for_a_favicon() {
    let dir = TempDir::new("pages");
    dir.write("a b/c&d/file.txt", "x");
    let server = Server::start(&dir.path, &[]);
    let listing = get(&server, "/a%20b/c%26d/", &[]);
    let not_found = get(&server, "/missing", &[]);
    let redirect = get(&server, "/a%20b", &[]);
    let (_private, locked) = private_site(&[]);
    let unauthorized = get(&locked, "/", &[]);
    for (page, title) in [
        (&listing, "Index of /a b/c&amp;d/"),
        (&not_found, "404 Not Found"),
        (&redirect, "301 Moved Permanently"),
        (&unauthorized, "401 Unauthorized"),
    ] {
        let html = page.text();
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert!(html.contains(&format!("<title>{title}</title>")), "{html}");
        assert!(
            html.contains("<link rel=\"icon\" href=\"data:,\">"),
            "{html}"
        );
        assert!(html.contains("content=\"width=device-width, initial-scale=1\""));
        assert!(html.contains("@media(prefers-color-scheme:dark)"), "{html}");
    }
    assert!(
        listing
            .text()
            .contains("<h1>Index of <a href=\"/\">/</a><a href=\"/a%20b/\">a b</a>/c&amp;d/</h1>")
    );
    assert!(
        redirect
            .text()
            .contains("<a href=\"/a%20b/\">Moved here</a>")
    );
}
