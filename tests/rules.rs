//! The host's rules (issue 25): `_redirects` (the IPFS specification's
//! examples, shadowing and `!`, every status, the query carried over, a 200
//! that proxies) and `_headers` (merged blocks, on files, listings and
//! 304s, `! Name`), both withheld, both read again when edited, with
//! live reload, bad lines reported, and `--no-host-rules`.

mod backend;
mod common;

use std::time::Duration;

use backend::Backend;
use common::{Response, Server, TIMEOUT, TempDir, next_event, subscribe, wait_until};

fn get(server: &Server, target: &str) -> Response {
    server.get(target)
}

/// A site with the files the IPFS examples need.
fn ipfs_site(redirects: &str) -> TempDir {
    let dir = TempDir::new("rules");
    dir.write("index.html", "<p>index</p>");
    dir.write("one.html", "<p>one</p>");
    dir.write("404.html", "<p>custom 404</p>");
    dir.write("existing.txt", "an existing file");
    dir.write("assets/app.js", "console.log(1);");
    dir.write("_redirects", redirects);
    dir
}

const IPFS_EXAMPLES: &str = "# the examples of the IPFS web-redirects-file specification\n\
    /redirect-one /one.html\n\
    /posts/:year/:month/:day/:title /articles/:year/:month/:day/:title 301\n\
    /splat/* /redirected-splat/:splat 301\n\
    /not-found/* /404.html 404\n\
    /* /index.html 200\n";

#[test]
fn the_ipfs_specifications_examples_answer_as_it_says() {
    let dir = ipfs_site(IPFS_EXAMPLES);
    let server = Server::start(&dir.path, &[]);
    server.wait_for_log("rules: 5 redirects, 0 header blocks");
    let redirects = [
        ("/redirect-one", "/one.html"),
        ("/redirect-one/", "/one.html"),
        ("/posts/2022/05/06/hello", "/articles/2022/05/06/hello"),
        ("/splat/a/b", "/redirected-splat/a/b"),
        ("/splat/", "/redirected-splat/"),
    ];
    for (target, location) in redirects {
        let response = get(&server, target);
        assert_eq!(
            response.status_line, "HTTP/1.1 301 Moved Permanently",
            "{target}"
        );
        assert_eq!(response.header("Location"), Some(location), "{target}");
        // A rule being edited must not stay in the browser's cache.
        assert_eq!(
            response.header("Cache-Control"),
            Some("no-cache"),
            "{target}"
        );
    }
    let page = get(&server, "/not-found/deep/path");
    assert_eq!(page.status, 404);
    assert_eq!(page.text(), "<p>custom 404</p>");
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("ETag"), None);
    // The catch-all rewrite serves the index in place, as a file.
    let app = get(&server, "/app/settings?tab=2");
    assert_eq!((app.status, app.text().as_str()), (200, "<p>index</p>"));
    assert!(app.header("ETag").is_some());
    assert_eq!(app.header("Location"), None);
    // Files are served as they are.
    let file = get(&server, "/existing.txt");
    assert_eq!(
        (file.status, file.text().as_str()),
        (200, "an existing file")
    );
    assert_eq!(get(&server, "/assets/app.js").text(), "console.log(1);");
    assert_eq!(get(&server, "/one.html").text(), "<p>one</p>");
    // The access log names the rule.
    server.wait_for_log("\"GET /app/settings?tab=2\" 200 (_redirects line 6)");
}

#[test]
fn a_file_shadows_a_rule_unless_it_is_forced() {
    let dir = ipfs_site(
        "/existing.txt /one.html 302\n\
         /forced.txt /one.html 302!\n\
         /docs /one.html 302\n\
         /about /one.html 302\n\
         /empty/* /one.html 200\n\
         /late.txt /one.html 302\n\
         /late.txt /index.html 307!\n",
    );
    dir.write("forced.txt", "forced away");
    dir.write("docs/index.html", "<p>docs</p>");
    dir.write("about.html", "<p>about</p>");
    dir.write("empty/notes.md", "a folder without an index");
    dir.write("late.txt", "late");
    let server = Server::start(&dir.path, &[]);
    assert_eq!(get(&server, "/existing.txt").text(), "an existing file");
    let forced = get(&server, "/forced.txt");
    assert_eq!(
        (forced.status, forced.header("Location")),
        (302, Some("/one.html"))
    );
    // A folder's index and a clean URL's page are files too.
    assert_eq!(get(&server, "/docs/").text(), "<p>docs</p>");
    assert_eq!(get(&server, "/about").text(), "<p>about</p>");
    // A folder without an index is not: the rule answers, not a listing.
    assert_eq!(get(&server, "/empty/").text(), "<p>one</p>");
    // Where a file answers, the first forced rule applies, past the
    // unforced one before it.
    let late = get(&server, "/late.txt");
    assert_eq!(
        (late.status, late.header("Location")),
        (307, Some("/index.html"))
    );
    // Where none does, the first rule that matches.
    std::fs::remove_file(dir.path.join("late.txt")).unwrap();
    let gone = get(&server, "/late.txt");
    assert_eq!(
        (gone.status, gone.header("Location")),
        (302, Some("/one.html"))
    );
}

#[test]
fn every_status_answers_as_it_should_and_the_query_goes_on() {
    let dir = ipfs_site(
        "/found /one.html 302\n\
         /see-other /one.html 303\n\
         /temporary /one.html 307\n\
         /permanent http://example.com/x 308\n\
         /own /one.html?from=rule 301\n\
         /gone /404.html 410\n\
         /legal /404.html 451\n\
         /gone-bare /missing.html 410\n\
         /rewrite/:name /:name.html 200\n",
    );
    let server = Server::start(&dir.path, &[]);
    for (target, status, location) in [
        ("/found?a=1&b=2", 302, "/one.html?a=1&b=2"),
        ("/see-other", 303, "/one.html"),
        ("/temporary?x", 307, "/one.html?x"),
        ("/permanent?q=%20", 308, "http://example.com/x?q=%20"),
        // TO's own query replaces the request's.
        ("/own?a=1", 301, "/one.html?from=rule"),
    ] {
        let response = get(&server, target);
        assert_eq!(
            (response.status, response.header("Location")),
            (status, Some(location)),
            "{target}"
        );
    }
    // Whatever the method; but a rewrite serves a file, which a POST
    // does not reach.
    let post = server.request("POST", "/temporary", &[("Content-Length", "0")]);
    assert_eq!(
        (post.status, post.header("Location")),
        (307, Some("/one.html"))
    );
    let post = server.request("POST", "/rewrite/one", &[("Content-Length", "0")]);
    assert_eq!(post.status, 405);
    let gone = get(&server, "/gone");
    assert_eq!(
        (gone.status_line.as_str(), gone.text().as_str()),
        ("HTTP/1.1 410 Gone", "<p>custom 404</p>")
    );
    let legal = get(&server, "/legal");
    assert_eq!(
        legal.status_line,
        "HTTP/1.1 451 Unavailable For Legal Reasons"
    );
    let bare = get(&server, "/gone-bare");
    assert_eq!(bare.status, 410);
    assert!(bare.text().contains("410 Gone"), "{}", bare.text());
    // A rewrite with a placeholder; a HEAD gets the same head, no body.
    assert_eq!(get(&server, "/rewrite/one").text(), "<p>one</p>");
    let head = server.request("HEAD", "/rewrite/one", &[]);
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.header("Content-Length"), Some("10"));
    // A rewrite to nothing is the usual 404.
    assert_eq!(get(&server, "/rewrite/nothing").status, 404);
}

#[test]
fn headers_merge_and_go_on_files_listings_304s_and_rule_answers() {
    let dir = ipfs_site("/old /one.html 301\n/gone /404.html 410\n");
    dir.write("files/a.txt", "a");
    dir.write(
        "_headers",
        "# every page\n\
         /*\n  X-Frame-Options: DENY\n  X-Test: all\n\
         /assets/*\n  Cache-Control: public, max-age=31536000, immutable\n  X-Test: assets\n\
         /assets/embed.js\n  ! X-Frame-Options\n\
         /files/*\n  Content-Length: 5\n  X-Listing: yes\n",
    );
    dir.write("assets/embed.js", "embed();");
    let server = Server::start(&dir.path, &[]);
    server.wait_for_log("_headers line 11: skipped: Content-Length cannot be set from _headers");
    let page = get(&server, "/one.html");
    assert_eq!(page.header("X-Frame-Options"), Some("DENY"));
    assert_eq!(page.header("X-Test"), Some("all"));
    assert_eq!(page.header("Cache-Control"), Some("no-cache"));
    let asset = get(&server, "/assets/app.js");
    // Replaces the server's own Cache-Control: one field, the block's.
    assert_eq!(
        asset.header("Cache-Control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(asset.header("X-Test"), Some("all, assets"));
    let etag = asset.header("ETag").unwrap().to_string();
    // RFC 9110 section 15.4.5: a 304 repeats Cache-Control; the block's
    // other fields go with it.
    let not_modified = server.request("GET", "/assets/app.js", &[("If-None-Match", &etag)]);
    assert_eq!(not_modified.status, 304);
    assert_eq!(
        not_modified.header("Cache-Control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(not_modified.header("X-Frame-Options"), Some("DENY"));
    // `! Name` takes away what an earlier block set.
    let embed = get(&server, "/assets/embed.js");
    assert_eq!(embed.header("X-Frame-Options"), None);
    assert_eq!(embed.header("X-Test"), Some("all, assets"));
    let listing = get(&server, "/files/");
    assert_eq!(listing.status, 200);
    assert_eq!(listing.header("X-Listing"), Some("yes"));
    let gone = get(&server, "/gone");
    assert_eq!(
        (gone.status, gone.header("X-Frame-Options")),
        (410, Some("DENY"))
    );
    let redirect = get(&server, "/old");
    assert_eq!(
        (redirect.status, redirect.header("X-Frame-Options")),
        (301, Some("DENY"))
    );
}

#[test]
fn the_rules_files_are_never_served_unless_host_rules_are_off() {
    let dir = ipfs_site("/from /one.html 302\n");
    dir.write("_headers", "/*\n  X-Test: 1\n");
    let server = Server::start(&dir.path, &["--no-listing"]);
    for target in [
        "/_redirects",
        "/_headers",
        "/%5Fredirects",
        "/x/../_headers",
    ] {
        assert_eq!(get(&server, target).status, 404, "{target}");
    }
    drop(server);
    let off = Server::start(&dir.path, &["--no-host-rules"]);
    let file = get(&off, "/_redirects");
    assert_eq!(
        (file.status, file.text().as_str()),
        (200, "/from /one.html 302\n")
    );
    assert_eq!(get(&off, "/from").status, 404);
    assert_eq!(get(&off, "/one.html").header("X-Test"), None);
    assert!(!off.log().contains("rules:"), "{}", off.log());
}

#[test]
fn bad_lines_are_reported_and_the_rest_apply() {
    let dir = ipfs_site(
        "/ok /one.html 302\n\
         /no-target\n\
         /a /b 418\n\
         /a/*/* /c\n\
         /later /one.html 301\n",
    );
    let server = Server::start(&dir.path, &[]);
    let log = server.wait_for_log("rules: 2 redirects, 0 header blocks");
    for warning in [
        "_redirects line 2: skipped: no TO after FROM",
        "_redirects line 3: skipped: status '418' is not one of",
        "_redirects line 4: skipped: a second `*`",
    ] {
        assert!(log.contains(warning), "{warning}: {log}");
    }
    assert_eq!(get(&server, "/later").status, 301);
    // A file over 64 KiB applies not at all.
    let big = format!("/big /one.html 302\n{}", "# padding\n".repeat(7000));
    let dir = ipfs_site(&big);
    let server = Server::start(&dir.path, &[]);
    server
        .wait_for_log("_redirects: over the 64 KiB a rules file may hold; no rules from it apply");
    assert_eq!(get(&server, "/big").status, 404);
}

#[test]
fn an_edit_to_either_file_applies_while_the_server_runs() {
    let dir = ipfs_site("/from /one.html 302\n");
    let server = Server::start(&dir.path, &[]);
    assert_eq!(get(&server, "/from").header("Location"), Some("/one.html"));
    // The same length, written in place: the version may not show it
    // within the file system's clock tick, the text does.
    dir.write("_redirects", "/from /two.html 302\n");
    wait_until(TIMEOUT, "the new rule", || {
        get(&server, "/from").header("Location") == Some("/two.html")
    });
    server.wait_for_log("rules: read again: 1 redirects, 0 header blocks");
    dir.write("_headers", "/*\n  X-Edited: yes\n");
    wait_until(TIMEOUT, "the new header", || {
        get(&server, "/one.html").header("X-Edited") == Some("yes")
    });
    std::fs::remove_file(dir.path.join("_redirects")).unwrap();
    wait_until(TIMEOUT, "the rule gone", || {
        get(&server, "/from").status == 404
    });
}

#[test]
fn with_live_reload_an_edit_to_either_file_reloads_the_pages() {
    let dir = ipfs_site("/from /one.html 302\n");
    let server = Server::start(&dir.path, &["--live-reload"]);
    let mut events = subscribe(&server);
    let navigate = || server.request("GET", "/from", &[("Sec-Fetch-Dest", "document")]);
    for (file, text) in [
        ("_redirects", "/from /index.html 302\n"),
        ("_headers", "/*\n  X-A: 1\n"),
    ] {
        dir.write(file, text);
        // A navigation reads the edit before the watcher looks: the pages
        // must still hear of it.
        navigate();
        let (event, after) = next_event(&mut events);
        assert_eq!(event, "reload", "{file}");
        assert!(after < Duration::from_secs(3), "{file}: {after:?}");
    }
    let page = navigate();
    assert_eq!(page.header("Location"), Some("/index.html"));
    assert_eq!(page.header("X-A"), Some("1"));
}

#[test]
fn a_200_to_an_http_url_proxies_there_with_the_query() {
    let api = Backend::echo("API");
    let dir = ipfs_site("");
    dir.write(
        "_redirects",
        format!(
            "/api/* {}/v1/:splat 200\n/local.txt {}/shadowed 200\n",
            api.url(),
            api.url()
        ),
    );
    dir.write("local.txt", "local");
    let server = Server::start(&dir.path, &[]);
    let reply = get(&server, "/api/items/3?q=1");
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "API /v1/items/3?q=1")
    );
    assert_eq!(reply.header("Via"), Some("1.1 tinyhttpd"));
    // A file answers first.
    assert_eq!(get(&server, "/local.txt").text(), "local");
    assert_eq!(api.seen().len(), 1);
}

#[test]
fn no_other_spelling_or_link_passes_the_rules_by() {
    let dir = ipfs_site("/admin/* /login.html 302!\n/old/* /:splat 301\n");
    dir.write("_headers", "/admin/*\n  X-Robots-Tag: noindex\n");
    dir.write("admin/secret.html", "SECRET");
    let server = Server::start(&dir.path, &[]);
    for target in [
        "/admin/secret.html",
        "//admin/secret.html",
        "/%61dmin/secret.html",
        "/x/../admin/secret.html",
        "/admin%2Fsecret.html",
        "/x/..%2Fadmin/secret.html",
    ] {
        let response = get(&server, target);
        assert_eq!(
            (response.status, response.header("Location")),
            (302, Some("/login.html")),
            "{target}"
        );
        assert_eq!(response.header("X-Robots-Tag"), Some("noindex"), "{target}");
    }
    // A path stays on this site, whatever the splat holds.
    for target in ["/old//evil.example/x", "/old/%2F%2Fevil.example"] {
        let location = get(&server, target).header("Location").map(String::from);
        let location = location.unwrap_or_default();
        assert!(
            location.starts_with('/') && !location.starts_with("//"),
            "{target}: {location}"
        );
    }
    // The rules files stay out of the listing.
    let listing = server.request("GET", "/", &[("Accept", "application/json")]);
    assert!(!listing.text().contains("_redirects"), "{}", listing.text());
    assert!(!listing.text().contains("_headers"), "{}", listing.text());
}

#[cfg(unix)]
#[test]
fn a_rules_file_that_is_a_link_is_withheld_with_what_it_links_to() {
    let dir = ipfs_site("");
    std::fs::remove_file(dir.path.join("_redirects")).unwrap();
    dir.write("config/redirects.txt", "/from /one.html 302\n");
    common::symlink_on_unix("config/redirects.txt", dir.path.join("_redirects"));
    let server = Server::start(&dir.path, &[]);
    assert_eq!(get(&server, "/from").header("Location"), Some("/one.html"));
    assert_eq!(get(&server, "/_redirects").status, 404);
    assert_eq!(get(&server, "/config/redirects.txt").status, 404);
}

#[test]
fn a_rule_answers_dotfile_paths_and_folders_without_an_index() {
    let dir = ipfs_site(
        "/.well-known/change-password /account.html 302\n\
         /docs /one.html 302\n",
    );
    dir.write("docs/notes.md", "a folder without an index");
    let server = Server::start(&dir.path, &[]);
    let well_known = get(&server, "/.well-known/change-password");
    assert_eq!(
        (well_known.status, well_known.header("Location")),
        (302, Some("/account.html"))
    );
    // Before the slash is added: the rule, not a permanent 301 to /docs/.
    let docs = get(&server, "/docs");
    assert_eq!(
        (docs.status, docs.header("Location")),
        (302, Some("/one.html"))
    );
    // Dotfiles stay hidden where no rule names them.
    dir.write(".env", "SECRET=1");
    assert_eq!(get(&server, "/.env").status, 404);
}

#[test]
fn the_first_request_after_a_proxying_rule_appears_is_proxied() {
    let api = Backend::echo("API");
    let dir = ipfs_site("");
    let server = Server::start(&dir.path, &["--live-reload"]);
    assert_eq!(get(&server, "/api/x").status, 404);
    dir.write("_redirects", format!("/api/* {}/:splat 200\n", api.url()));
    // A navigation looks at the rules before it is routed.
    let reply = server.request("GET", "/api/x", &[("Sec-Fetch-Dest", "document")]);
    assert_eq!((reply.status, reply.text().as_str()), (200, "API /x"));
}

#[test]
fn a_file_given_a_rules_files_old_inode_is_served() {
    let dir = ipfs_site("/from /one.html 302\n");
    let server = Server::start(&dir.path, &[]);
    assert_eq!(get(&server, "/from").status, 302);
    // Saved by rename, as editors do: the old file's inode is free, and
    // the next new file may get it (ext4 gives it at once).
    let staged = dir.write("staged", "/from /index.html 302\n");
    std::fs::rename(staged, dir.path.join("_redirects")).unwrap();
    dir.write("new.txt", "new");
    let new = get(&server, "/new.txt");
    assert_eq!((new.status, new.text().as_str()), (200, "new"));
}

#[test]
fn a_proxy_prefix_comes_before_every_rule() {
    let api = Backend::echo("API");
    let dir = ipfs_site("/api/* /one.html 302!\n/* /index.html 200\n");
    let server = Server::start(&dir.path, &["--proxy", &format!("/api={}", api.url())]);
    let reply = get(&server, "/api/items");
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "API /api/items")
    );
    assert_eq!(get(&server, "/elsewhere").text(), "<p>index</p>");
}
