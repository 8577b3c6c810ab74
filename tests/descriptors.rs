//! The server on the limits other machines start programs with: macOS
//! gives a program 256 open files, and the file cache, connections and
//! files being sent must share them. `prlimit` (util-linux) sets the limit
//! for the server alone, at start or while it runs, so these are Linux's.
#![cfg(target_os = "linux")]

mod common;

use std::process::Command;
use std::time::{Duration, SystemTime};

use common::{BIN, Client, Response, Server, TempDir, wait_until_settled};

fn get(client: &mut Client, target: &str) -> Response {
    client.send(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
    client.response()
}

/// Writes `count` files of 64 KiB, each starting with its number, dated an
/// hour back, and waits until they have settled, so the cache keeps them
/// open once served.
fn large_files(dir: &TempDir, count: usize) {
    let then = SystemTime::now() - Duration::from_secs(3600);
    for i in 0..count {
        let mut bytes = vec![b'.'; 64 * 1024];
        bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let path = dir.write(&format!("f{i}.bin"), &bytes);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(then)
            .unwrap();
    }
    wait_until_settled(&dir.path);
}

fn check_large(response: &Response, i: usize) {
    assert_eq!(response.status, 200, "f{i}.bin: {response:?}");
    assert_eq!(response.body.len(), 64 * 1024, "f{i}.bin");
    assert_eq!(response.body[..8], (i as u64).to_le_bytes(), "f{i}.bin");
}

/// Sets the server's soft limit on open files.
fn set_soft_limit(server: &Server, soft: u64) {
    let status = Command::new("prlimit")
        .arg(format!("--pid={}", server.pid()))
        .arg(format!("--nofile={soft}:"))
        .status()
        .expect("prlimit");
    assert!(status.success());
}

fn soft_limit(server: &Server) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

/// The descriptor numbers under which the server holds these files open.
fn descriptors_of(server: &Server, dir: &TempDir, names: &[&str]) -> Vec<u64> {
    let paths: Vec<String> = names
        .iter()
        .map(|name| dir.path.join(name).to_string_lossy().into_owned())
        .collect();
    std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .unwrap()
        .filter_map(|fd| {
            let fd = fd.ok()?;
            let target = std::fs::read_link(fd.path()).ok()?;
            paths
                .contains(&target.to_string_lossy().into_owned())
                .then(|| fd.file_name().to_str()?.parse().ok())?
        })
        .collect()
}

/// The lowest descriptor number the server has free as /proc lists them:
/// with its soft limit set to this, its next `open` or `accept` fails with
/// EMFILE, as long as no descriptor below it is closed meanwhile (see
/// `settle_descriptors`). A thread waiting in `accept` holds a number
/// that /proc does not list, which may be this one.
fn lowest_free_descriptor(server: &Server) -> u64 {
    let taken: Vec<u64> = std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .unwrap()
        .filter_map(|fd| fd.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    (0..).find(|n| !taken.contains(n)).unwrap()
}

/// Waits until the server holds no file under `dir` open but those it
/// keeps open in its cache, `kept`: a file sent is closed a moment after
/// the client has the last of it, and a descriptor freed after the limit
/// is set would let an `open` through.
fn settle_descriptors(server: &Server, dir: &TempDir, kept: &[&str]) {
    // The served folder itself is held open for good.
    let under = format!("{}/", dir.path.to_string_lossy());
    let kept: Vec<String> = kept
        .iter()
        .map(|name| dir.path.join(name).to_string_lossy().into_owned())
        .collect();
    common::wait_until(common::TIMEOUT, "files sent were closed", || {
        common::open_files(server.pid())
            .iter()
            .filter(|f| f.starts_with(&under))
            .all(|f| kept.contains(f))
    });
}

fn held_open(server: &Server, dir: &TempDir, name: &str) -> bool {
    let path = dir.path.join(name).to_string_lossy().into_owned();
    common::open_files(server.pid()).contains(&path)
}

/// More distinct large files than the limit has descriptors, all served,
/// and new connections answered afterwards: the cache keeps only its share
/// open (the split is logged at debug level).
#[test]
fn four_hundred_large_files_under_256_descriptors() {
    let dir = TempDir::new("fd-256");
    large_files(&dir, 400);
    let mut command = Command::new("prlimit");
    command
        .args(["--nofile=256:256", BIN, "--port", "0", "-v", "--root"])
        .arg(&dir.path);
    let server = Server::spawn(command);
    server.wait_for_log(
        "open files: a limit of 256; 32 kept back, 28 for the file cache, 3 for each of 65 \
         connections",
    );
    let mut client = server.connect();
    for i in 0..400 {
        check_large(&get(&mut client, &format!("/f{i}.bin")), i);
    }
    let kept = common::open_files(server.pid())
        .iter()
        .filter(|f| f.ends_with(".bin"))
        .count();
    assert_eq!(kept, 28);
    // Fifty more connections at once, each kept open.
    let mut others: Vec<Client> = (0..50).map(|_| server.connect()).collect();
    for (n, other) in others.iter_mut().enumerate() {
        check_large(&get(other, &format!("/f{n}.bin")), n);
    }
    assert!(!server.log().contains(" 500 "), "{}", server.log());
}

/// Out of descriptors all the same (here, the limit lowered under the
/// running server): the cache gives back the files it keeps open, and the
/// request is tried once more instead of failing.
#[test]
fn out_of_descriptors_the_cache_gives_them_back() {
    let dir = TempDir::new("fd-relief");
    large_files(&dir, 3);
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    check_large(&get(&mut client, "/f0.bin"), 0);
    check_large(&get(&mut client, "/f1.bin"), 1);
    assert!(held_open(&server, &dir, "f0.bin") && held_open(&server, &dir, "f1.bin"));
    settle_descriptors(&server, &dir, &["f0.bin", "f1.bin"]);
    // Just above the files the cache holds, so that closing them frees
    // descriptors under the limit. Every number below is taken: a thread
    // waiting in `accept` holds one that /proc does not list.
    let cached = descriptors_of(&server, &dir, &["f0.bin", "f1.bin"]);
    set_soft_limit(&server, cached.iter().max().unwrap() + 1);
    check_large(&get(&mut client, "/f2.bin"), 2);
    server.wait_for_log(
        "out of file descriptors (Too many open files (os error 24)): the file cache closed the 2 \
         files it kept open; trying once more",
    );
    assert!(!held_open(&server, &dir, "f0.bin"));
    assert!(!held_open(&server, &dir, "f1.bin"));
}

/// With nothing to give back, the answer is a 500, and the site's owner
/// hears of it even with `--quiet`; new connections meanwhile wait, without
/// the threads that accept them spinning or flooding the log, and are
/// served once descriptors are free again.
#[test]
fn a_500_is_a_warning_even_with_quiet() {
    let dir = TempDir::new("fd-500");
    // Just written: not cached, so opened for every request.
    dir.write("fresh.txt", "fresh");
    let server = Server::start(&dir.path, &["--quiet"]);
    let mut client = server.connect();
    assert_eq!(get(&mut client, "/fresh.txt").text(), "fresh");
    let normal = soft_limit(&server);
    settle_descriptors(&server, &dir, &[]);
    set_soft_limit(&server, lowest_free_descriptor(&server));
    let failed = get(&mut client, "/fresh.txt");
    assert_eq!(failed.status, 500);
    assert!(!failed.text().contains("open files"), "{}", failed.text());
    server.wait_for_log("\"GET /fresh.txt\": 500 Too many open files (os error 24)");

    // Linux takes the descriptor for a new connection when a thread starts
    // waiting in `accept`: the thread waiting since before the limit came
    // down may take one more connection (and answer it 500, as above).
    // After that every `accept` fails at once, and goes on failing while
    // the limit stays where it is.
    let mut first = server.connect();
    first.send(b"GET /fresh.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    server.wait_for_log("accept failed: Too many open files (os error 24); trying again in");
    let mut second = server.connect();
    second.send(b"GET /fresh.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    set_soft_limit(&server, normal);
    let served = second.response();
    assert_eq!(served.text(), "fresh", "{}", server.log());
    assert!(matches!(first.response().status, 200 | 500));
    // One warning for the streak of failures (one per thread that was
    // waiting in `accept`), the rest at debug level.
    let warnings = server.log().matches("accept failed:").count();
    assert!((1..=2).contains(&warnings), "{}", server.log());
}

/// A connection cap the user chose and the limit cannot hold is lowered
/// with a warning; the default is fitted to the limit with a line at info
/// level.
#[test]
fn a_cap_the_limit_cannot_hold_is_lowered() {
    let dir = TempDir::new("fd-cap");
    let start = |args: &[&str]| {
        let mut command = Command::new("prlimit");
        command
            .args(["--nofile=256:256", BIN, "--port", "0", "--root"])
            .arg(&dir.path)
            .args(args);
        Server::spawn(command)
    };
    let chosen = start(&["--quiet", "--max-connections", "100"]);
    chosen.wait_for_log(
        "WARN  tinyhttpd] the open-file limit (256) allows 65 connections, not 100: using 65",
    );
    let default = start(&[]);
    assert_eq!(default.get("/").status, 200);
    // Lines leave in order: the access line comes after the start's.
    let log = default.wait_for_log("\"GET /\" 200");
    assert!(
        log.contains(
            "INFO  tinyhttpd] the open-file limit (256) allows 65 connections, not 2048: using 65"
        ),
        "{log}"
    );
    assert!(!log.contains("WARN"), "{log}");
}
