//! Live reload in a project of real size: a page and its sources beside a
//! `node_modules/` of 30,000 files. Every way an editor saves a file the
//! page loaded gives one event within a second; a path that was a 404 and
//! a listed folder are watched too; and the watcher does no work while no
//! page listens.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use common::{Response, Server, TempDir, next_event, subscribe};

/// A top-level navigation, as a browser sends it.
const NAVIGATION: &[(&str, &str)] = &[("Sec-Fetch-Dest", "document"), ("Accept", "text/html")];

/// The README's promise.
const WITHIN: Duration = Duration::from_secs(1);

fn get(server: &Server, target: &str, fields: &[(&str, &str)]) -> Response {
    server.request("GET", target, fields)
}

/// `index.html` loading `src/app.js` and `src/style.css`, beside 300
/// packages of 100 files each in `node_modules/` (which sorts first). The
/// packages' files are hard links to one file: 30,000 names a scan of the
/// tree must visit, made in a fraction of the time 30,000 new files take on
/// a slow disk.
fn project() -> TempDir {
    let dir = TempDir::new("live-project");
    dir.write(
        "index.html",
        "<!DOCTYPE html><html><head><link rel=\"stylesheet\" href=\"src/style.css\"></head>\
         <body><script type=\"module\" src=\"src/app.js\"></script></body></html>",
    );
    dir.write("src/app.js", "console.log('v1');\n");
    dir.write("src/style.css", "body { color: black; }\n");
    let first = dir.write("node_modules/pkg-000/f00.js", "x");
    for package in 0..300 {
        let folder = dir.mkdir(&format!("node_modules/pkg-{package:03}"));
        for file in 0..100 {
            let name = folder.join(format!("f{file:02}.js"));
            if name != first {
                std::fs::hard_link(&first, name).unwrap();
            }
        }
    }
    dir
}

/// Loads what the page loads, as a browser would, then opens its event
/// stream.
fn open_page(server: &Server) -> BufReader<TcpStream> {
    assert_eq!(get(server, "/", NAVIGATION).status, 200);
    assert_eq!(get(server, "/src/app.js", &[]).status, 200);
    assert_eq!(get(server, "/src/style.css", &[]).status, 200);
    subscribe(server)
}

/// Asserts that no event comes within `quiet` (heartbeats come every 15 s).
fn assert_no_event(reader: &mut BufReader<TcpStream>, quiet: Duration) {
    reader.get_ref().set_read_timeout(Some(quiet)).unwrap();
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected no event, got {other:?} {line:?}"),
    }
}

/// A time that no write made now can have, so every save changes it.
fn later() -> SystemTime {
    static STEP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let step = STEP.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    SystemTime::now() + Duration::from_secs(10 * step)
}

/// One way an editor saves a file.
type Save = fn(&Path, &str);

/// VS Code: truncate and write the file in place.
fn write_in_place(path: &Path, contents: &str) {
    let mut file = std::fs::File::create(path).unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file.set_modified(later()).unwrap();
}

/// vim and JetBrains' "safe write": write a temporary file beside it, then
/// rename it over the original.
fn write_and_rename(path: &Path, contents: &str) {
    let temporary = path.with_extension("tmp~");
    write_in_place(&temporary, contents);
    std::fs::rename(&temporary, path).unwrap();
}

/// Some editors and tools: delete, then create again.
fn delete_and_recreate(path: &Path, contents: &str) {
    std::fs::remove_file(path).unwrap();
    write_in_place(path, contents);
}

#[test]
fn every_kind_of_save_of_a_loaded_file_reloads_once_within_a_second() {
    let dir = project();
    let server = Server::start(&dir.path, &["--live-reload"]);
    let mut events = open_page(&server);
    let app = dir.path.join("src/app.js");
    let saves: [(&str, Save); 3] = [
        ("in place", write_in_place),
        ("rename over", write_and_rename),
        ("delete and recreate", delete_and_recreate),
    ];
    for (how, save) in saves {
        save(&app, &format!("console.log('{how}');\n"));
        let (event, after) = next_event(&mut events);
        assert_eq!(event, "reload", "{how}");
        assert!(after < WITHIN, "{how}: after {after:?}");
        // Once: nothing more for this save.
        assert_no_event(&mut events, Duration::from_millis(700));
    }
    // A stylesheet alone swaps in place.
    write_and_rename(&dir.path.join("src/style.css"), "body { color: red; }\n");
    let (event, after) = next_event(&mut events);
    assert_eq!(event, "css");
    assert!(after < WITHIN, "after {after:?}");
}

#[test]
fn files_the_page_did_not_load_do_not_reload_it() {
    let dir = project();
    dir.write("src/unused.js", "1");
    let server = Server::start(&dir.path, &["--live-reload"]);
    let mut events = open_page(&server);
    write_in_place(&dir.path.join("src/unused.js"), "2");
    write_in_place(&dir.path.join("node_modules/pkg-000/f00.js"), "y");
    assert_no_event(&mut events, Duration::from_millis(800));
    // The same file, once a page has fetched it, is watched.
    assert_eq!(get(&server, "/src/unused.js", &[]).text(), "2");
    write_in_place(&dir.path.join("src/unused.js"), "3");
    assert_eq!(next_event(&mut events).0, "reload");
}

#[test]
fn a_missing_file_that_appears_and_a_listed_folder_that_changes_reload() {
    let dir = project();
    let server = Server::start(&dir.path, &["--live-reload"]);
    let mut events = open_page(&server);
    // The page asked for a file that is not there yet.
    assert_eq!(get(&server, "/src/later.js", &[]).status, 404);
    let created = Instant::now();
    write_in_place(&dir.path.join("src/later.js"), "ok");
    assert_eq!(next_event(&mut events).0, "reload");
    assert!(created.elapsed() < WITHIN, "after {:?}", created.elapsed());
    // A listing of a folder: a new entry reloads it.
    assert_eq!(get(&server, "/src/", NAVIGATION).status, 200);
    write_in_place(&dir.path.join("src/new.txt"), "new");
    assert_eq!(next_event(&mut events).0, "reload");
}

/// A clean URL that was a 404 reloads its page when the page it would name
/// appears, and then serves it.
#[test]
fn a_clean_url_reloads_when_its_page_appears() {
    let dir = project();
    let server = Server::start(&dir.path, &["--live-reload"]);
    let mut events = open_page(&server);
    assert_eq!(get(&server, "/pricing", NAVIGATION).status, 404);
    write_in_place(&dir.path.join("pricing.html"), "<p>prices</p>");
    assert_eq!(next_event(&mut events).0, "reload");
    let page = get(&server, "/pricing", &[]);
    assert_eq!((page.status, page.text().as_str()), (200, "<p>prices</p>"));
}

/// Voluntary context switches of the server's live-reload thread: it wakes
/// four times a second when it polls, never when it does not. (The thread
/// names itself once it runs, so the first look may have to wait for it.)
#[cfg(target_os = "linux")]
fn watcher_wakeups(server: &Server) -> u64 {
    let tasks = format!("/proc/{}/task", server.pid());
    let deadline = Instant::now() + common::TIMEOUT;
    loop {
        for task in std::fs::read_dir(&tasks).unwrap().flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim_end() != "live-reload" {
                continue;
            }
            let status = std::fs::read_to_string(task.path().join("status")).unwrap();
            return status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
        }
        assert!(Instant::now() < deadline, "no live-reload thread");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until the watcher thread has stopped waking (no page listens).
#[cfg(target_os = "linux")]
fn wait_until_the_watcher_sleeps(server: &Server) {
    let deadline = Instant::now() + common::TIMEOUT;
    let mut last = watcher_wakeups(server);
    loop {
        std::thread::sleep(Duration::from_millis(600));
        let now = watcher_wakeups(server);
        if now == last {
            return;
        }
        assert!(Instant::now() < deadline, "the watcher kept waking");
        last = now;
    }
}

/// Counts the watcher thread's wake-ups in /proc, so Linux only.
#[cfg(target_os = "linux")]
#[test]
fn an_edit_made_while_no_page_listened_to_a_file_no_page_uses_now_is_not_news() {
    let dir = project();
    dir.write("other.html", "<!DOCTYPE html><p>other</p>");
    let server = Server::start(&dir.path, &["--live-reload"]);
    // A page that used other.html listened, then went.
    assert_eq!(get(&server, "/other.html", NAVIGATION).status, 200);
    drop(open_page(&server));
    wait_until_the_watcher_sleeps(&server);
    write_in_place(&dir.path.join("other.html"), "<!DOCTYPE html><p>edited</p>");
    // Another page opens: what it loaded is current, and other.html is no
    // longer on any page, so nothing to reload.
    let mut events = open_page(&server);
    assert_no_event(&mut events, Duration::from_millis(800));
    // Its own files are watched as ever, and so is other.html from now on.
    write_in_place(&dir.path.join("src/app.js"), "console.log('v2');\n");
    assert_eq!(next_event(&mut events).0, "reload");
    write_in_place(&dir.path.join("other.html"), "<!DOCTYPE html><p>again</p>");
    assert_eq!(next_event(&mut events).0, "reload");
}

/// Counts the watcher thread's wake-ups in /proc, so Linux only.
#[cfg(target_os = "linux")]
#[test]
fn the_watcher_does_nothing_while_no_page_listens() {
    let dir = project();
    let server = Server::start(&dir.path, &["--live-reload"]);
    // Pages loaded, no stream open: the watcher does not wake, however long
    // we look (three poll intervals here).
    assert_eq!(get(&server, "/", NAVIGATION).status, 200);
    // Once it has settled into its wait after starting up.
    wait_until_the_watcher_sleeps(&server);
    let before = watcher_wakeups(&server);
    std::thread::sleep(Duration::from_millis(750));
    assert_eq!(watcher_wakeups(&server), before);
    // A page listens: it polls, and an edit is seen.
    let mut events = open_page(&server);
    write_in_place(&dir.path.join("src/app.js"), "console.log('v2');\n");
    assert_eq!(next_event(&mut events).0, "reload");
    assert!(watcher_wakeups(&server) > before);
    // The page goes: the watcher goes back to sleep.
    drop(events);
    wait_until_the_watcher_sleeps(&server);
}
