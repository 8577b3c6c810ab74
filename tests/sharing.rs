//! Sharing the folder on the network: `--qr` prints the URLs a phone can
//! open as QR codes, read back here by a decoder we did not write (zbarimg,
//! from Debian's zbar-tools); `--auth` warns that Basic credentials cross
//! the network in clear text.
//!
//! A server that other machines can reach has to listen beyond loopback.
//! So that no test server is ever reachable from the network, these run it
//! in a network namespace of its own (`unshare`, as an unprivileged user
//! namespace allows), where the only interface is a loopback with one
//! extra address, 198.51.100.7 (a documentation address, RFC 5737), for
//! the server to find and print.
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;

use common::{BIN, TIMEOUT, TempDir};

/// The address the namespace gives the server.
const LAN_ADDRESS: &str = "198.51.100.7";

/// Runs tinyhttpd with `args` in a network namespace of its own, and
/// returns it with its stdout, line by line as they come.
fn start_isolated(root: &Path, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    start_isolated_with(root, args, Stdio::piped())
}

fn start_isolated_with(
    root: &Path,
    args: &[&str],
    stderr: Stdio,
) -> (Child, mpsc::Receiver<String>) {
    let script =
        format!("ip link set lo up && ip addr add {LAN_ADDRESS}/32 dev lo && exec \"$0\" \"$@\"");
    let mut child = Command::new("unshare")
        .args(["--net", "--map-root-user", "sh", "-c", &script, BIN])
        .arg(root)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("run unshare (util-linux)");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Everything the server printed at start: it prints it in one write, so
/// once its first line is here, the rest is in the pipe; the server is then
/// stopped and the pipe read to its end.
fn printed_at_start(mut child: Child, lines: mpsc::Receiver<String>) -> Vec<String> {
    let first = lines.recv_timeout(TIMEOUT);
    let _ = child.kill();
    let _ = child.wait();
    let Ok(first) = first else {
        // The namespace could not be made, or the server did not start.
        let why = child.stderr.take().map(std::io::read_to_string);
        panic!("no listening line; stderr: {why:?}");
    };
    let mut printed = vec![first];
    printed.extend(lines.iter());
    printed
}

/// Modules from half-block lines: each character is two rows, its upper
/// and lower half. Every line must be black on white and end in a reset.
fn modules(code_lines: &[String]) -> Vec<Vec<bool>> {
    const COLOURS: &str = "\x1b[38;5;16;48;5;231m";
    const RESET: &str = "\x1b[0m";
    let mut rows = Vec::new();
    for line in code_lines {
        let drawn = line
            .strip_prefix(COLOURS)
            .and_then(|l| l.strip_suffix(RESET))
            .unwrap_or_else(|| panic!("not black on white: {line:?}"));
        let (upper, lower): (Vec<bool>, Vec<bool>) = drawn
            .chars()
            .map(|c| match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected {other:?} in {line:?}"),
            })
            .unzip();
        rows.push(upper);
        rows.push(lower);
    }
    rows
}

/// Writes modules as a greyscale image, each module `scale` pixels square,
/// and has zbarimg read it.
fn decode(rows: &[Vec<bool>], dir: &TempDir) -> String {
    let scale = 4;
    let width = rows[0].len() * scale;
    let mut image = format!("P5\n{width} {}\n255\n", rows.len() * scale).into_bytes();
    for row in rows {
        let line: Vec<u8> = row
            .iter()
            .flat_map(|&dark| [if dark { 0 } else { 255 }; 4])
            .collect();
        for _ in 0..scale {
            image.extend_from_slice(&line);
        }
    }
    let path = dir.write("code.pgm", image);
    let out = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(&path)
        .output()
        .expect("run zbarimg (Debian's zbar-tools)");
    assert!(out.status.success(), "zbarimg found no code: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn each_reachable_url_is_printed_as_a_qr_code_that_decodes_to_it() {
    let dir = TempDir::new("qr");
    dir.write("index.html", "phone");
    let (child, lines) = start_isolated(&dir.path, &["--bind", "0.0.0.0", "--port", "0", "--qr"]);
    let printed = printed_at_start(child, lines);
    // The listening line, the URL, its code, and an empty line.
    assert_eq!(printed.len(), 2 + 17 + 1, "{printed:?}");
    assert_eq!(printed[19], "");
    let port = printed[0]
        .strip_prefix("listening on http://0.0.0.0:")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("{printed:?}"));
    let url = format!("http://{LAN_ADDRESS}:{port}/");
    assert_eq!(printed[1], format!("  reachable at {url}"));
    let code = &printed[2..printed.len() - 1];
    let rows = modules(code);
    // Version 2 (25 modules) for this URL, and a 4-module quiet zone on
    // every side: 33 modules, in 17 lines, the last one's lower half blank.
    assert_eq!((rows.len(), rows[0].len()), (34, 33));
    for quiet in [&rows[..4], &rows[29..]] {
        assert!(quiet.iter().flatten().all(|&dark| !dark));
    }
    assert!(
        rows.iter()
            .all(|row| row[..4] == [false; 4] && row[29..] == [false; 4])
    );
    assert_eq!(decode(&rows, &dir), format!("{url}\n"));
}

#[test]
fn without_qr_or_beyond_loopback_there_is_no_code() {
    let dir = TempDir::new("qr-none");
    let (child, lines) = start_isolated(&dir.path, &["--bind", "0.0.0.0", "--port", "0"]);
    let printed = printed_at_start(child, lines);
    assert_eq!(printed.len(), 2, "{printed:?}");
    assert!(printed[1].starts_with(&format!("  reachable at http://{LAN_ADDRESS}:")));

    // On loopback a phone cannot connect: a warning says so.
    let out = Command::new(BIN)
        .arg(&dir.path)
        .args(["--port", "0", "--qr"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = out;
    let stderr = child.stderr.take().unwrap();
    // Other lines may come first (under a small open-file limit, how it
    // was shared out).
    let wanted = "--qr: nothing to print, as no other device can reach 127.0.0.1:";
    let mut read = String::new();
    for line in BufReader::new(stderr).lines().take(5) {
        read.push_str(&line.unwrap());
        read.push('\n');
        if read.contains(wanted) {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(read.contains(wanted), "{read}");
}

#[test]
fn auth_beyond_loopback_warns_that_basic_is_clear_text() {
    let dir = TempDir::new("auth-warning");
    let (mut child, lines) = start_isolated_with(
        &dir.path,
        &["--bind", "0.0.0.0", "--port", "0", "--auth", "u:p"],
        Stdio::piped(),
    );
    let stderr = child.stderr.take().unwrap();
    let printed = printed_at_start(child, lines);
    assert!(printed[0].starts_with("listening on http://0.0.0.0:"));
    let log = std::io::read_to_string(stderr).unwrap();
    assert!(
        log.contains(
            "--auth: browsers send the user name and password in clear text with every \
             request, so anyone on the network between them and this server can read them"
        ),
        "{log}"
    );
}
