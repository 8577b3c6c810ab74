//! Resolving targets to files over real sockets: traversal, symlinks,
//! dotfiles, redirects, index files, listings, content types, special files
//! and large bodies.

mod common;

use common::{Server, TempDir, symlink_on_unix};

/// A token that exists only in a file outside the served root.
const SECRET: &str = "TOKEN-7f3a9c-outside-the-root";

/// `base/secret.txt` holds the secret; `base/root` is served.
fn site() -> (TempDir, std::path::PathBuf) {
    let base = TempDir::new("files");
    base.write("secret.txt", SECRET);
    let root = base.mkdir("root");
    base.write("root/hello.txt", "hello\n");
    base.write("root/.env", "API_KEY=hidden\n");
    base.write("root/.git/config", "[core]\n");
    base.write("root/docs/index.html", "<!DOCTYPE html><title>docs</title>");
    base.write("root/files/a.txt", "a\n");
    base.write("root/a+b.txt", "plus\n");
    base.write("root/with space.txt", "space\n");
    symlink_on_unix(base.path.join("secret.txt"), root.join("escape"));
    symlink_on_unix(&base.path, root.join("parent-link"));
    symlink_on_unix(root.join("hello.txt"), root.join("alias.txt"));
    (base, root)
}

#[test]
fn traversal_never_reaches_outside_the_root() {
    let (_base, root) = site();
    let server = Server::start(&root, &[]);
    let attacks = [
        "/../secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/files/../../secret.txt",
        "/files/%2e%2e/%2e%2e/secret.txt",
        "/%252e%252e/secret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/%c0%af..%c0%afsecret.txt",
        "/..%00/secret.txt",
        "/escape",
        "/parent-link/secret.txt",
        "/.%2e/secret.txt",
        "http://localhost/../secret.txt",
        "//../secret.txt",
    ];
    for attack in attacks {
        let out =
            server.raw(format!("GET {attack} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains(SECRET), "{attack} leaked the secret");
        let status = &text[9..12];
        assert!(status == "400" || status == "404", "{attack}: {status}");
    }
}

#[cfg(unix)]
#[test]
fn symlinks_inside_the_root_are_followed() {
    let (_base, root) = site();
    let server = Server::start(&root, &[]);
    assert_eq!(server.get("/alias.txt").text(), "hello\n");
    assert_eq!(server.get("/escape").status, 404);
}

#[test]
fn dot_segments_are_removed_and_the_rest_is_served() {
    let (_base, root) = site();
    symlink_on_unix(root.join("files"), root.join("files-link"));
    let server = Server::start(&root, &[]);
    for target in [
        "/files/../hello.txt",
        "/files/./../hello.txt",
        "/./hello.txt",
        "/files/%2e%2e/hello.txt",
        "/files/%2E%2e/%2e/hello.txt",
        // A `..` after a symlinked folder removes the link's name from the
        // URL; it is never applied to the folder the link leads to.
        "/files-link/../hello.txt",
        "/parent-link/../hello.txt",
    ] {
        let response = server.get(target);
        assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{target}");
        assert_eq!(response.text(), "hello\n", "{target}");
    }
    // A path that ends in a dot-segment names a folder.
    let listing = server.get("/files/a.txt/..");
    assert_eq!(listing.status, 200);
    assert!(listing.text().contains("<title>Index of /files/</title>"));
    let redirect = server.get("/docs/../files");
    assert_eq!(redirect.header("location"), Some("/files/"));
    // Climbing above the root is refused, however it is spelled.
    for target in [
        "/..",
        "/../hello.txt",
        "/files/../..",
        "/%2e%2e/",
        "/parent-link/../../secret.txt",
    ] {
        let response = server.get(target);
        assert_eq!(response.status_line, "HTTP/1.1 400 Bad Request", "{target}");
        assert!(!response.text().contains(SECRET));
    }
    // A dot-segment cannot uncover a dotfile.
    assert_eq!(server.get("/files/../.env").status, 404);
    assert_eq!(server.get("/.git/../hello.txt").text(), "hello\n");
}

/// A project installed with pnpm: `node_modules/NAME` is a symlink into
/// `node_modules/.pnpm/NAME@VERSION/node_modules/NAME`.
#[cfg(unix)]
fn pnpm_project() -> (TempDir, std::path::PathBuf) {
    let base = TempDir::new("pnpm");
    let root = base.mkdir("project");
    let store = "node_modules/.pnpm/lodash@4.17.21/node_modules/lodash";
    base.write(
        &format!("project/{store}/index.js"),
        "module.exports = 'lodash';\n",
    );
    base.write(
        &format!("project/{store}/package.json"),
        "{\"name\":\"lodash\"}\n",
    );
    base.write("project/index.html", "<!DOCTYPE html><title>app</title>");
    // pnpm's links are relative.
    symlink_on_unix(
        ".pnpm/lodash@4.17.21/node_modules/lodash",
        root.join("node_modules/lodash"),
    );
    base.write("secret.txt", SECRET);
    symlink_on_unix(base.path.join("secret.txt"), root.join("node_modules/out"));
    (base, root)
}

#[cfg(unix)]
#[test]
fn a_pnpm_node_modules_is_served_through_its_links() {
    let (_base, root) = pnpm_project();
    let server = Server::start(&root, &[]);
    let script = server.get("/node_modules/lodash/index.js");
    assert_eq!(script.status_line, "HTTP/1.1 200 OK");
    assert_eq!(script.text(), "module.exports = 'lodash';\n");
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    // The listing shows the link, and the link's folder lists its files.
    let listing = server.get("/node_modules/").text();
    assert!(
        listing.contains("<a href=\"lodash/\">lodash/</a>"),
        "{listing}"
    );
    assert!(!listing.contains(".pnpm"), "{listing}");
    assert!(!listing.contains("\"out\""), "{listing}");
    let inside = server.get("/node_modules/lodash/").text();
    assert!(inside.contains("<a href=\"index.js\">"), "{inside}");
    // Asking for the dot-folder itself is still refused, and a link out of
    // the root is still a 404.
    assert_eq!(
        server
            .get("/node_modules/.pnpm/lodash@4.17.21/node_modules/lodash/index.js")
            .status,
        404
    );
    let out = server.get("/node_modules/out");
    assert_eq!(out.status, 404);
    assert!(!out.text().contains(SECRET));
}

#[test]
fn dotfiles_are_hidden_unless_asked_for() {
    let (_base, root) = site();
    let server = Server::start(&root, &[]);
    for target in ["/.env", "/.git/config", "/.git/", "/%2eenv"] {
        assert_eq!(server.get(target).status, 404, "{target}");
    }
    let listing = server.get("/").text();
    assert!(
        !listing.contains(".env") && !listing.contains(".git"),
        "{listing}"
    );

    let open = Server::start(&root, &["--hidden"]);
    assert_eq!(open.get("/.env").text(), "API_KEY=hidden\n");
    assert_eq!(open.get("/.git/config").status, 200);
    assert!(open.get("/").text().contains("href=\".env\""));
}

#[test]
fn percent_decoding() {
    let (_base, root) = site();
    let server = Server::start(&root, &[]);
    assert_eq!(server.get("/with%20space.txt").text(), "space\n");
    // '+' is a literal plus in a path, and so is its escape.
    assert_eq!(server.get("/a+b.txt").text(), "plus\n");
    assert_eq!(server.get("/a%2Bb.txt").text(), "plus\n");
    assert_eq!(server.get("/hello.txt?x=1&y=%zz").text(), "hello\n");
    for bad in ["/hello%2", "/hello%zz.txt", "/hello%00.txt", "/%ff"] {
        let response = server.get(bad);
        assert_eq!(response.status, 400, "{bad}");
    }
}

#[test]
fn directories_redirect_to_the_slashed_path() {
    let (_base, root) = site();
    let server = Server::start(&root, &[]);
    let response = server.get("/docs?lang=en");
    assert_eq!(response.status_line, "HTTP/1.1 301 Moved Permanently");
    assert_eq!(response.header("location"), Some("/docs/?lang=en"));
    let response = server.get("/files");
    assert_eq!(response.header("location"), Some("/files/"));
    // A protocol-relative path is never echoed as a Location.
    let response = server.get("//files");
    assert_eq!(response.header("location"), Some("/files/"));
}

#[test]
fn index_files_listings_and_trailing_slashes() {
    let (_base, root) = site();
    let server = Server::start(&root, &[]);
    let docs = server.get("/docs/");
    assert_eq!(docs.text(), "<!DOCTYPE html><title>docs</title>");
    assert_eq!(
        docs.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let files = server.get("/files/");
    assert_eq!(files.status, 200);
    assert!(files.text().contains("<title>Index of /files/</title>"));
    assert_eq!(server.get("/hello.txt/").status, 404);

    let no_listing = Server::start(&root, &["--no-listing"]);
    assert_eq!(no_listing.get("/files/").status, 404);
    assert_eq!(no_listing.get("/docs/").status, 200);

    let other_index = Server::start(&root, &["--index", "a.txt"]);
    assert_eq!(other_index.get("/files/").text(), "a\n");
}

#[test]
fn listing_links_work_for_awkward_names() {
    let dir = TempDir::new("listing");
    // Windows allows none of < > " ? : in a name.
    let names: &[&str] = if cfg!(windows) {
        &["notes #1 100% café.txt", "a&b 'e'.txt"]
    } else {
        &[
            "notes #1 100% café.txt",
            "a&b <c> \"d\" 'e'.txt",
            "q?.txt",
            "colon:name.txt",
        ]
    };
    for name in names {
        dir.write(&format!("files/{name}"), format!("content of {name}"));
    }
    dir.mkdir("files/sub folder");
    dir.write("files/.hidden", "x");
    let server = Server::start(&dir.path, &[]);
    let listing = server.get("/files/");
    assert_eq!(
        listing.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let page = listing.text();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<a href=\"../\">../</a>"));
    assert!(
        page.contains("<a href=\"sub%20folder/\">sub folder/</a>"),
        "{page}"
    );
    let escaped = if cfg!(windows) {
        "a&amp;b &#39;e&#39;.txt</a>"
    } else {
        "&lt;c&gt; &quot;d&quot; &#39;e&#39;.txt</a>"
    };
    assert!(page.contains(escaped), "{page}");
    assert!(!page.contains(".hidden"));
    // Folders first.
    assert!(page.find("sub%20folder/").unwrap() < page.find("a%26b").unwrap());
    // Every file link, requested as a browser would, returns that file.
    let hrefs: Vec<&str> = page
        .split("<a href=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .filter(|href| !href.ends_with('/') && !href.starts_with('?'))
        .collect();
    assert_eq!(hrefs.len(), names.len(), "{page}");
    for href in hrefs {
        let response = server.get(&format!("/files/{href}"));
        assert_eq!(response.status, 200, "{href}");
        assert!(response.text().starts_with("content of "), "{href}");
    }
}

#[test]
fn a_folder_of_two_thousand_files_lists_them_all() {
    let dir = TempDir::new("big-listing");
    for i in 0..2000 {
        dir.write(&format!("many/file-{i:04}.txt"), "x");
    }
    let server = Server::start(&dir.path, &[]);
    let page = server.get("/many/").text();
    assert_eq!(page.matches("<a href=\"file-").count(), 2000);
    assert!(page.find("file-0001.txt").unwrap() < page.find("file-1999.txt").unwrap());
}

#[test]
fn content_types() {
    let dir = TempDir::new("types");
    let cases = [
        ("page.html", "text/html; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("module.mjs", "text/javascript; charset=utf-8"),
        ("data.json", "application/json"),
        ("site.webmanifest", "application/manifest+json"),
        ("logo.svg", "image/svg+xml"),
        ("code.wasm", "application/wasm"),
        ("photo.png", "image/png"),
        ("blob.zzunknown", "application/octet-stream"),
        ("README", "application/octet-stream"),
    ];
    for (name, _) in cases {
        dir.write(name, "x");
    }
    let server = Server::start(&dir.path, &[]);
    for (name, want) in cases {
        assert_eq!(
            server.get(&format!("/{name}")).header("content-type"),
            Some(want),
            "{name}"
        );
    }
}

/// Unix: a FIFO (`mkfifo`). Windows' special names are refused by name (see
/// `windows_aliases_name_nothing`).
#[cfg(unix)]
#[test]
fn special_files_are_refused_without_opening_them() {
    let dir = TempDir::new("fifo");
    let fifo = dir.path.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let server = Server::start(&dir.path, &[]);
    // Opening a FIFO for reading would block the thread until a writer came.
    let response = server.get("/pipe");
    assert_eq!(response.status, 403);
    // Nor are they listed.
    assert!(!server.get("/").text().contains("pipe"));
}

/// An index file that is there but cannot be served is a 403 with its
/// reason, said even with `--quiet`, never a listing that hides the
/// problem. A FIFO stands for any unusable index here: permissions would
/// not stop the root user CI runs as.
#[cfg(unix)]
#[test]
fn an_index_that_cannot_be_served_is_a_403_in_the_log() {
    let dir = TempDir::new("fifo-index");
    dir.write("docs/guide.txt", "guide");
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path.join("docs/index.html"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let server = Server::start(&dir.path, &["--quiet"]);
    let response = server.get("/docs/");
    assert_eq!(response.status, 403);
    assert!(
        !response.text().contains("guide.txt"),
        "{}",
        response.text()
    );
    server.wait_for_log("\"GET /docs/\": 403 index file index.html: not a regular file");
}

/// Names Windows reads more into than the name: trailing dots and spaces
/// (dropped), streams and drives (`:`), device names (with any extension),
/// 8.3 short names, backslashes. Each names nothing, on every platform, and
/// no answer carries a served file's bytes (under wine this is the Windows
/// build meeting a real Windows file system's rules; on Linux the names are
/// merely absent).
#[test]
fn windows_aliases_name_nothing() {
    let dir = TempDir::new("aliases");
    dir.write("index.html", "INDEX");
    dir.write(".env", "SECRET=1");
    dir.write("docs/readme.txt", "README");
    let server = Server::start(&dir.path, &[]);
    let aliases = [
        "/index.html.",
        "/index.html%20",
        "/index.html.%20.",
        "/.env.",
        "/.ENV",
        "/.env::$DATA",
        "/index.html::$DATA",
        "/index.html:stream",
        "/docs/readme.txt.",
        "/docs./readme.txt",
        "/docs%20/readme.txt",
        "/con",
        "/CON.txt",
        "/nul",
        "/aux.html",
        "/com1",
        "/LPT9.txt",
        "/conin$",
        "/ENV~1",
        "/INDEX~1.HTM",
        "/C:/Windows/win.ini",
        "/c:%5cwindows%5cwin.ini",
        "/%5c%5clocalhost%5cc$%5cindex.html",
        "/docs%5creadme.txt",
    ];
    for target in aliases {
        let response = server.get(target);
        assert!(
            response.status == 400 || response.status == 404,
            "{target}: {}",
            response.status
        );
        let text = response.text();
        for content in ["INDEX", "SECRET", "README"] {
            assert!(!text.contains(content), "{target} gave {content}");
        }
    }
    // The names themselves are served.
    assert_eq!(server.get("/index.html").text(), "INDEX");
    assert_eq!(server.get("/docs/readme.txt").text(), "README");
}

#[test]
fn a_five_mib_file_arrives_byte_exact() {
    let dir = TempDir::new("large");
    // Not a repeating pattern: every offset is distinguishable.
    let mut data = Vec::with_capacity(5 * 1024 * 1024);
    let mut x: u32 = 0x1234_5678;
    while data.len() < 5 * 1024 * 1024 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.extend_from_slice(&x.to_le_bytes());
    }
    dir.write("big.bin", &data);
    let server = Server::start(&dir.path, &[]);
    let mut client = server.connect();
    client
        .send(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n");
    for _ in 0..2 {
        let response = client.response();
        assert_eq!(response.header("content-length"), Some("5242880"));
        assert_eq!(
            response.header("content-type"),
            Some("application/octet-stream")
        );
        assert!(response.body == data, "body differs");
    }
}

#[test]
fn an_empty_file_has_an_empty_body() {
    let dir = TempDir::new("empty");
    dir.write("empty.txt", "");
    let server = Server::start(&dir.path, &[]);
    let mut client = server.connect();
    client.send(
        b"GET /empty.txt HTTP/1.1\r\nHost: localhost\r\n\r\nGET /empty.txt HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    for _ in 0..2 {
        let response = client.response();
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-length"), Some("0"));
    }
}
