//! The small-file cache seen from outside: a file served again comes from
//! memory, and whatever happens to the file on disk, the next response is
//! the file as it is now, exactly as without the cache. The files here are
//! dated an hour back, as in a checkout, so the cache takes them (it leaves
//! files modified within the last second alone).

mod common;

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::{Client, Response, Server, TempDir};

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
    dir.write("fresh.js", [b'b'; 1000]);
    write_dated(&dir, "large.bin", &[b'c'; 64 * 1024], an_hour_ago());
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    for (target, byte, reads_for_five) in [
        ("/settled.js", b'a', 0),
        ("/fresh.js", b'b', 5),
        // Larger files are not cached: each is sent with a `sendfile`,
        // which Linux counts as a read.
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

/// The same size and the very same modification time, set back by a tool:
/// on Unix the change time still tells (Windows has no change time in std,
/// and its tags do not tell either).
#[cfg(unix)]
#[test]
fn an_edit_that_keeps_size_and_time_is_still_seen() {
    let dir = TempDir::new("cache-same-time");
    let when = an_hour_ago();
    write_dated(&dir, "data.txt", b"first", when);
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    assert_eq!(get(&mut client, "/data.txt", "").body, b"first");
    assert_eq!(get(&mut client, "/data.txt", "").body, b"first");
    write_dated(&dir, "data.txt", b"again", when);
    assert_eq!(get(&mut client, "/data.txt", "").body, b"again");
}

#[cfg(unix)]
#[test]
fn a_link_pointed_elsewhere_serves_its_new_target() {
    let dir = TempDir::new("cache-link");
    write_dated(&dir, "one.css", b"a{}", an_hour_ago());
    write_dated(&dir, "two.css", b"b{}", an_hour_ago());
    common::symlink_on_unix("one.css", dir.path.join("theme.css"));
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

#[test]
fn cached_files_answer_ranges_conditionals_and_head_exactly() {
    let dir = TempDir::new("cache-ranges");
    let content: Vec<u8> = (0..=255u8).collect();
    write_dated(&dir, "data.bin", &content, an_hour_ago());
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
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    assert_eq!(get(&mut client, "/docs/", "").body, b"<p>docs</p>");
    assert_eq!(get(&mut client, "/docs/", "").body, b"<p>docs</p>");
    // The same file by its own name is its own entry, and the same bytes.
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

/// The files the server holds open, as /proc names them.
#[cfg(target_os = "linux")]
fn open_files(server: &Server) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_larger_file_kept_open_still_follows_every_change() {
    let dir = TempDir::new("cache-open");
    let path = dir.path.join("video.bin");
    let first: Vec<u8> = (0..100 * 1024).map(|i| (i % 251) as u8).collect();
    write_dated(&dir, "video.bin", &first, an_hour_ago());
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    assert_eq!(get(&mut client, "/video.bin", "").body, first);
    assert_eq!(get(&mut client, "/video.bin", "").body, first);
    // On Unix the file stays open between requests (not on Windows, where
    // that would keep its name taken).
    #[cfg(target_os = "linux")]
    {
        let held = open_files(&server);
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

    // Replaced by a new file renamed over it: the new one is served, and
    // the old one, now deleted, is let go.
    let third = vec![3u8; 50 * 1024];
    write_dated(&dir, "video.new", &third, an_hour_ago());
    std::fs::rename(dir.path.join("video.new"), &path).unwrap();
    assert_eq!(get(&mut client, "/video.bin", "").body, third);
    assert_eq!(get(&mut client, "/video.bin", "").body, third);
    #[cfg(target_os = "linux")]
    {
        let held = open_files(&server);
        assert!(!held.iter().any(|f| f.ends_with("(deleted)")), "{held:?}");
    }
    std::fs::remove_file(&path).unwrap();
    assert_eq!(get(&mut client, "/video.bin", "").status, 404);
}
