//! The file cache seen from outside: a file served again comes from memory
//! (or a descriptor kept open), and whatever happens to the file on disk,
//! the next response is the file as it is now, exactly as without the
//! cache. The cache takes a file only once it has settled (its modification
//! and change times are more than `common::SETTLE` back), so the tests that
//! want a file cached wait for that first.

mod common;

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::{Client, Response, Server, TempDir, wait_until_settled};

fn an_hour_ago() -> SystemTime {
    SystemTime::now() - Duration::from_secs(3600)
}

/// Writes `contents` to `relative` and dates it `when`.
fn write_dated(dir: &TempDir, relative: &str, contents: &[u8], when: SystemTime) {
    let path = dir.write(relative, contents);
    set_modified(&path, when);
}

fn set_modified(path: &Path, when: SystemTime) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

fn get(client: &mut Client, target: &str, fields: &str) -> Response {
    client.send(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n{fields}\r\n").as_bytes());
    client.response()
}

/// How many read system calls the server has made on files (Linux counts
/// them in /proc; the server reads sockets with `recvfrom`, which it does
/// not count).
#[cfg(target_os = "linux")]
fn file_reads(server: &Server) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{}/io", server.pid())).unwrap();
    io.lines()
        .find_map(|line| line.strip_prefix("syscr: "))
        .unwrap()
        .parse()
        .unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn a_settled_small_file_is_read_once_and_a_fresh_one_every_time() {
    let dir = TempDir::new("cache-reads");
    write_dated(&dir, "settled.js", &[b'a'; 1000], an_hour_ago());
    write_dated(&dir, "large.bin", &[b'c'; 64 * 1024], an_hour_ago());
    wait_until_settled(&dir.path);
    // Back-dated, but just written: its change time says so, and it is
    // not cached, as a second write within the same tick of the file
    // system's clock, of the same size and dated back the same, would leave
    // every field of the file as it is.
    write_dated(&dir, "fresh.js", &[b'b'; 1000], an_hour_ago());
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    for (target, byte, reads_for_five) in [
        ("/settled.js", b'a', 0),
        ("/fresh.js", b'b', 5),
        // Larger files are kept open, not read into memory: each is sent
        // with a `sendfile`, which Linux counts as a read.
        ("/large.bin", b'c', 5),
    ] {
        let first = get(&mut client, target, "");
        assert_eq!(first.status, 200);
        let before = file_reads(&server);
        for _ in 0..5 {
            let response = get(&mut client, target, "");
            assert_eq!(response.body, first.body, "{target}");
            assert!(response.body.iter().all(|&b| b == byte));
        }
        assert_eq!(file_reads(&server) - before, reads_for_five, "{target}");
    }
}

#[test]
fn an_edited_file_is_served_as_it_is_now() {
    let dir = TempDir::new("cache-edits");
    let path = dir.path.join("app.js");
    write_dated(&dir, "app.js", b"export const v = 1;", an_hour_ago());
    wait_until_settled(&dir.path);
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    let first = get(&mut client, "/app.js", "");
    assert_eq!(first.body, b"export const v = 1;");
    assert_eq!(get(&mut client, "/app.js", "").body, first.body);

    // An editor's save: new bytes, a new time.
    std::fs::write(&path, b"export const v = 2;").unwrap();
    let second = get(&mut client, "/app.js", "");
    assert_eq!(second.body, b"export const v = 2;");
    assert_ne!(second.header("etag"), first.header("etag"));

    // Saved by writing a new file and renaming it over the old one.
    write_dated(&dir, "app.js.tmp", b"export const v = 3;", an_hour_ago());
    std::fs::rename(dir.path.join("app.js.tmp"), &path).unwrap();
    assert_eq!(get(&mut client, "/app.js", "").body, b"export const v = 3;");
    assert_eq!(get(&mut client, "/app.js", "").body, b"export const v = 3;");

    // Removed.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(get(&mut client, "/app.js", "").status, 404);
}

/// The same size and the very same modification time, set back by a tool
/// (`cp -p`, `rsync -t`, `touch -d`): on Unix the change time still tells,
/// and the tag says so too, so a revalidating browser gets the new bytes
/// (Windows has no change time in std; see the README).
#[cfg(unix)]
#[test]
fn a_back_dated_edit_of_the_same_size_is_served_with_a_new_tag() {
    let dir = TempDir::new("cache-same-time");
    let when = an_hour_ago();
    write_dated(&dir, "data.txt", b"first", when);
    wait_until_settled(&dir.path);
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    let first = get(&mut client, "/data.txt", "");
    assert_eq!(first.body, b"first");
    let etag = first.header("etag").unwrap().to_string();
    assert_eq!(get(&mut client, "/data.txt", "").body, b"first");
    write_dated(&dir, "data.txt", b"again", when);
    let revalidated = get(
        &mut client,
        "/data.txt",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!(revalidated.status, 200);
    assert_eq!(revalidated.body, b"again");
    assert_ne!(revalidated.header("etag"), Some(etag.as_str()));
    assert_eq!(
        revalidated.header("last-modified"),
        first.header("last-modified")
    );
}

#[cfg(unix)]
#[test]
fn a_link_pointed_elsewhere_serves_its_new_target() {
    let dir = TempDir::new("cache-link");
    write_dated(&dir, "one.css", b"a{}", an_hour_ago());
    write_dated(&dir, "two.css", b"b{}", an_hour_ago());
    common::symlink_on_unix("one.css", dir.path.join("theme.css"));
    wait_until_settled(&dir.path);
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    assert_eq!(get(&mut client, "/theme.css", "").body, b"a{}");
    assert_eq!(get(&mut client, "/theme.css", "").body, b"a{}");
    std::fs::remove_file(dir.path.join("theme.css")).unwrap();
    common::symlink_on_unix("two.css", dir.path.join("theme.css"));
    assert_eq!(get(&mut client, "/theme.css", "").body, b"b{}");
    // A link out of the root is refused, cached target or not.
    let outside = TempDir::new("cache-link-outside");
    write_dated(&outside, "one.css", b"a{}", an_hour_ago());
    std::fs::remove_file(dir.path.join("theme.css")).unwrap();
    common::symlink_on_unix(outside.path.join("one.css"), dir.path.join("theme.css"));
    assert_eq!(get(&mut client, "/theme.css", "").status, 404);
}

/// A link pointed at a hard link of its old target under another name is
/// the same file (the same inode, the same version) with another type.
#[cfg(unix)]
#[test]
fn a_hard_link_alias_is_answered_with_its_own_type() {
    let dir = TempDir::new("cache-hard-link");
    write_dated(&dir, "theme.css", b"a{}", an_hour_ago());
    std::fs::hard_link(dir.path.join("theme.css"), dir.path.join("theme.js")).unwrap();
    common::symlink_on_unix("theme.css", dir.path.join("current"));
    wait_until_settled(&dir.path);
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    for _ in 0..2 {
        let css = get(&mut client, "/current", "");
        assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    }
    std::fs::remove_file(dir.path.join("current")).unwrap();
    common::symlink_on_unix("theme.js", dir.path.join("current"));
    let js = get(&mut client, "/current", "");
    assert_eq!(js.body, b"a{}");
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
}

#[test]
fn cached_files_answer_ranges_conditionals_and_head_exactly() {
    let dir = TempDir::new("cache-ranges");
    let content: Vec<u8> = (0..=255u8).collect();
    write_dated(&dir, "data.bin", &content, an_hour_ago());
    wait_until_settled(&dir.path);
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    let whole = get(&mut client, "/data.bin", "");
    let etag = whole.header("etag").unwrap().to_string();
    // From here on every answer comes from memory.
    let again = get(&mut client, "/data.bin", "");
    assert_eq!(again.body, content);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(again.header("content-length"), Some("256"));

    let range = get(&mut client, "/data.bin", "Range: bytes=10-19\r\n");
    assert_eq!(range.status, 206);
    assert_eq!(range.header("content-range"), Some("bytes 10-19/256"));
    assert_eq!(range.body, &content[10..20]);

    let suffix = get(&mut client, "/data.bin", "Range: bytes=-6\r\n");
    assert_eq!(suffix.body, &content[250..]);

    let multi = get(&mut client, "/data.bin", "Range: bytes=0-1,254-\r\n");
    assert_eq!(multi.status, 206);
    let text = String::from_utf8_lossy(&multi.body);
    assert!(
        text.contains("Content-Range: bytes 0-1/256\r\n\r\n\u{0}\u{1}\r\n"),
        "{text}"
    );
    assert!(multi.body.windows(2).any(|w| w == [254, 255]));
    assert_eq!(
        multi.header("content-length").unwrap(),
        multi.body.len().to_string()
    );

    let unsatisfiable = get(&mut client, "/data.bin", "Range: bytes=300-\r\n");
    assert_eq!(unsatisfiable.status, 416);
    assert_eq!(unsatisfiable.header("content-range"), Some("bytes */256"));

    let not_modified = get(
        &mut client,
        "/data.bin",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());

    client.send(b"HEAD /data.bin HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let head = client.head_response();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("256"));
    // Still in step after the HEAD.
    assert_eq!(get(&mut client, "/data.bin", "").body, content);
}

#[test]
fn a_cached_index_gives_way_to_the_listing_when_removed() {
    let dir = TempDir::new("cache-index");
    write_dated(&dir, "docs/index.html", b"<p>docs</p>", an_hour_ago());
    write_dated(&dir, "docs/a.txt", b"a", an_hour_ago());
    wait_until_settled(&dir.path);
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    assert_eq!(get(&mut client, "/docs/", "").body, b"<p>docs</p>");
    assert_eq!(get(&mut client, "/docs/", "").body, b"<p>docs</p>");
    // The same file by its own name: the same entry, the same bytes.
    assert_eq!(
        get(&mut client, "/docs/index.html", "").body,
        b"<p>docs</p>"
    );
    std::fs::remove_file(dir.path.join("docs/index.html")).unwrap();
    let listing = get(&mut client, "/docs/", "");
    assert_eq!(listing.status, 200);
    assert!(listing.text().contains("a.txt"), "{}", listing.text());
    assert_eq!(get(&mut client, "/docs/index.html", "").status, 404);
}

#[test]
fn a_larger_file_kept_open_still_follows_every_change() {
    let dir = TempDir::new("cache-open");
    let path = dir.path.join("video.bin");
    let first: Vec<u8> = (0..100 * 1024).map(|i| (i % 251) as u8).collect();
    write_dated(&dir, "video.bin", &first, an_hour_ago());
    wait_until_settled(&dir.path);
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    assert_eq!(get(&mut client, "/video.bin", "").body, first);
    assert_eq!(get(&mut client, "/video.bin", "").body, first);
    // On Unix the file stays open between requests (not on Windows, where
    // that would keep its name taken).
    #[cfg(target_os = "linux")]
    {
        let held = common::open_files(server.pid());
        let name = path.to_string_lossy();
        assert!(held.iter().any(|f| *f == name), "{held:?}");
    }
    let range = get(&mut client, "/video.bin", "Range: bytes=70000-70009\r\n");
    assert_eq!(range.status, 206);
    assert_eq!(range.body, &first[70000..70010]);

    // Rewritten in place, same size.
    let second: Vec<u8> = first.iter().map(|b| b ^ 0xff).collect();
    std::fs::write(&path, &second).unwrap();
    assert_eq!(get(&mut client, "/video.bin", "").body, second);

    // Replaced by a new file renamed over it: the new one is served.
    let third = vec![3u8; 50 * 1024];
    write_dated(&dir, "video.new", &third, an_hour_ago());
    std::fs::rename(dir.path.join("video.new"), &path).unwrap();
    assert_eq!(get(&mut client, "/video.bin", "").body, third);
    assert_eq!(get(&mut client, "/video.bin", "").body, third);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(get(&mut client, "/video.bin", "").status, 404);
}

/// Every spelling of a path, and a folder and its index file by name, share
/// one descriptor.
#[cfg(target_os = "linux")]
#[test]
fn one_file_is_held_open_once_whatever_the_path_says() {
    let dir = TempDir::new("cache-spellings");
    let big = vec![b'x'; 64 * 1024];
    write_dated(&dir, "a.bin", &big, an_hour_ago());
    write_dated(&dir, "d/index.html", &big, an_hour_ago());
    wait_until_settled(&dir.path);
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    let held = |name: &str| {
        let path = dir.path.join(name).to_string_lossy().into_owned();
        let files = common::open_files(server.pid());
        files.iter().filter(|f| **f == path).count()
    };
    for target in ["/a.bin", "/%61.bin", "//a.bin", "/d/../a.bin", "/a.bin"] {
        assert_eq!(get(&mut client, target, "").body, big, "{target}");
    }
    assert_eq!(held("a.bin"), 1);
    for target in ["/d/", "/d/index.html", "/d//index.html", "/d/"] {
        assert_eq!(get(&mut client, target, "").body, big, "{target}");
    }
    assert_eq!(held("d/index.html"), 1);
}

/// A file kept open that is deleted, or replaced by a rename, is closed
/// within a few seconds with no request for it, so its disk space is freed
/// (and the drive it is on can be unmounted).
#[cfg(target_os = "linux")]
#[test]
fn deleted_and_replaced_files_are_let_go_without_a_request() {
    let dir = TempDir::new("cache-release");
    let big = vec![b'y'; 64 * 1024];
    write_dated(&dir, "old-bundle.js", &big, an_hour_ago());
    write_dated(&dir, "video.bin", &big, an_hour_ago());
    wait_until_settled(&dir.path);
    let server = Server::start(&dir.path, &["--quiet"]);
    for target in ["/old-bundle.js", "/video.bin"] {
        assert_eq!(server.get(target).body, big);
    }
    let held = || common::open_files(server.pid());
    let name = |file: &str| dir.path.join(file).to_string_lossy().into_owned();
    assert!(held().contains(&name("old-bundle.js")), "{:?}", held());
    assert!(held().contains(&name("video.bin")), "{:?}", held());

    std::fs::remove_file(dir.path.join("old-bundle.js")).unwrap();
    write_dated(&dir, "video.new", b"new", an_hour_ago());
    std::fs::rename(dir.path.join("video.new"), dir.path.join("video.bin")).unwrap();
    common::wait_until(Duration::from_secs(5), "deleted files closed", || {
        !held().iter().any(|f| f.ends_with("(deleted)"))
    });
    let files = held();
    assert!(!files.contains(&name("video.bin")), "{files:?}");
}
