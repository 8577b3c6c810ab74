//! `--base PATH` (issue 25): the folder served under a path, as a host
//! serves a project site, with everything that makes links (redirects,
//! listings, the 404's hint), clean URLs, `--spa`, `--404`, live reload and
//! the host's rules working under it.

mod common;

use std::process::Command;

use common::{BIN, Response, Server, TempDir, next_event, subscribe};

const PAGE: (&str, &str) = ("Accept", "text/html,*/*;q=0.8");
const SCRIPT: (&str, &str) = ("Sec-Fetch-Dest", "script");

fn project_site() -> TempDir {
    let dir = TempDir::new("base");
    dir.write("index.html", "<html><body><p>home</p></body></html>");
    dir.write("about.html", "<p>about</p>");
    dir.write("assets/app.js", "run();");
    dir.write("docs/guide.txt", "guide");
    dir.write("404.html", "<p>not here</p>");
    dir.write("Readme.txt", "read me");
    dir
}

fn get(server: &Server, target: &str, fields: &[(&str, &str)]) -> Response {
    server.request("GET", target, fields)
}

#[test]
fn the_folder_is_served_under_the_base_and_nothing_outside_it() {
    let dir = project_site();
    let server = Server::start(&dir.path, &["--base", "/repo/"]);
    let home = get(&server, "/repo/", &[PAGE]);
    assert_eq!((home.status, home.text().contains("home")), (200, true));
    assert_eq!(
        get(&server, "/repo/assets/app.js", &[SCRIPT]).text(),
        "run();"
    );
    // The base without its slash, as GitHub Pages answers it.
    let bare = get(&server, "/repo?v=1", &[PAGE]);
    assert_eq!(
        (bare.status, bare.header("Location")),
        (301, Some("/repo/?v=1"))
    );
    // `/`: a browser's navigation goes to the base, anything else learns of it.
    let root = get(&server, "/", &[PAGE]);
    assert_eq!(
        (root.status, root.header("Location")),
        (302, Some("/repo/"))
    );
    let fetched = get(&server, "/", &[SCRIPT]);
    assert_eq!(fetched.status, 404);
    // An asset built without the base: a 404 that says where it would be.
    let stray = get(&server, "/assets/app.js", &[SCRIPT]);
    assert_eq!(stray.status, 404);
    assert!(
        stray.text().contains("served under /repo/")
            && stray.text().contains("<a href=\"/repo/assets/app.js\">"),
        "{}",
        stray.text()
    );
    for outside in ["/repository/assets/app.js", "/about", "/repo.html"] {
        assert_eq!(get(&server, outside, &[PAGE]).status, 404, "{outside}");
    }
    server.wait_for_log("\"GET /assets/app.js\" 404 (outside the base /repo/)");
}

#[test]
fn links_clean_urls_listings_and_fallbacks_work_under_the_base() {
    let dir = project_site();
    let page = dir.path.join("404.html");
    let server = Server::start(
        &dir.path,
        &["--base", "/repo", "--spa", "--404", page.to_str().unwrap()],
    );
    assert_eq!(get(&server, "/repo/about", &[PAGE]).text(), "<p>about</p>");
    let folder = get(&server, "/repo/docs?x", &[PAGE]);
    assert_eq!(
        (folder.status, folder.header("Location")),
        (301, Some("/repo/docs/?x"))
    );
    let listing = get(&server, "/repo/docs/", &[PAGE]).text();
    assert!(
        listing.contains("<a href=\"/repo/\">repo</a>/docs/</h1>"),
        "{listing}"
    );
    assert!(listing.contains("<a href=\"guide.txt\">"), "{listing}");
    // The single-page app's index for a navigation, the 404 page for a
    // missing asset.
    let deep = get(&server, "/repo/app/settings", &[PAGE]);
    assert_eq!((deep.status, deep.text().contains("home")), (200, true));
    let missing = get(&server, "/repo/assets/missing.js", &[SCRIPT]);
    assert_eq!(
        (missing.status, missing.text().as_str()),
        (404, "<p>not here</p>")
    );
    drop(server);
    // The case hint links under the base (where case matters).
    let server = Server::start(&dir.path, &["--base", "/repo"]);
    let wrong = get(&server, "/repo/readme.txt", &[PAGE]);
    if wrong.status == 404 {
        assert!(
            wrong.text().contains("<a href=\"/repo/Readme.txt\">"),
            "{}",
            wrong.text()
        );
    }
}

#[test]
fn live_reload_and_the_hosts_rules_work_under_the_base() {
    let dir = project_site();
    dir.write(
        "_redirects",
        "/repo/old /repo/about.html 301\n/repo/app/* /repo/index.html 200\n\
         /old /repo/about.html 301\n",
    );
    dir.write("_headers", "/repo/assets/*\n  Cache-Control: max-age=60\n");
    let server = Server::start(&dir.path, &["--base", "/repo/", "--live-reload"]);
    // A rule written without the base could never match: the log says so.
    server.wait_for_log("_redirects line 3: skipped: it matches no path under the base /repo/");
    let moved = get(&server, "/repo/old", &[PAGE]);
    assert_eq!(
        (moved.status, moved.header("Location")),
        (301, Some("/repo/about.html"))
    );
    let app = get(&server, "/repo/app/x", &[SCRIPT]);
    assert_eq!((app.status, app.text().contains("home")), (200, true));
    let asset = get(&server, "/repo/assets/app.js", &[SCRIPT]);
    assert_eq!(asset.header("Cache-Control"), Some("max-age=60"));
    // The page gets the script, and its event stream lives outside the base.
    assert!(
        get(&server, "/repo/", &[PAGE])
            .text()
            .contains("/.tinyhttpd/")
    );
    let mut events = subscribe(&server);
    dir.write("index.html", "<html><body><p>edited</p></body></html>");
    assert_eq!(next_event(&mut events).0, "reload");
}

#[test]
fn a_base_that_is_not_a_plain_path_is_refused_at_start() {
    for (base, expected) in [
        ("repo", "must start with /"),
        ("/a/../b", "plain segments"),
        ("/a b", "plain segments"),
        ("/a//b", "plain segments"),
    ] {
        let out = Command::new(BIN)
            .args(["--port", "0", "--base", base, "."])
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{base}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{base}: {stderr}");
        assert!(stderr.contains(expected), "{base}: {stderr}");
    }
    // `/` is the root: no base at all.
    let dir = project_site();
    let server = Server::start(&dir.path, &["--base", "/"]);
    assert_eq!(get(&server, "/about", &[PAGE]).text(), "<p>about</p>");
}
