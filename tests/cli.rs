//! The command line: help, version, bad arguments and start-up failures
//! (one line on stderr, exit status 1, no panic), and the address flags.

mod common;

use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

use common::{BIN, Server, TempDir};

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .env_remove("RUST_LOG")
        .output()
        .expect("run tinyhttpd")
}

/// Checks a start-up failure: status 1, nothing on stdout, one line on
/// stderr that contains `expected`.
fn assert_fails(args: &[&str], expected: &str) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("tinyhttpd: "), "{args:?}: {stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
}

#[test]
fn help_lists_every_flag() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--root",
        "--port",
        "--bind",
        "--index",
        "--no-listing",
        "--hidden",
        "--quiet",
        "--verbose",
        "--version",
    ] {
        assert!(help.contains(flag), "{flag} missing from help:\n{help}");
    }
}

#[test]
fn version() {
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("tinyhttpd {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_roots() {
    assert_fails(
        &["--root", "/no/such/folder", "--port", "0"],
        "cannot serve '/no/such/folder': No such file or directory",
    );
    let dir = TempDir::new("cli-file-root");
    let file = dir.write("file.txt", "x");
    assert_fails(
        &["--root", file.to_str().unwrap(), "--port", "0"],
        "not a directory",
    );
}

#[test]
fn bad_ports_and_addresses() {
    assert_fails(&["--port", "65536"], "65536");
    assert_fails(&["--port", "-5"], "-5");
    assert_fails(&["--port", "http"], "http");
    assert_fails(&["--bind", "localhost", "--port", "0"], "localhost");
    assert_fails(&["--bind", "999.1.1.1", "--port", "0"], "999.1.1.1");
    assert_fails(&["--no-such-flag"], "--no-such-flag");
    // A documentation address (RFC 5737) is not on this machine: bind fails
    // without any packet being sent.
    assert_fails(
        &["--bind", "192.0.2.1", "--port", "0"],
        "cannot listen on 192.0.2.1:0",
    );
    assert_fails(&["--index", "../x.html", "--port", "0"], "--index");
}

#[test]
fn a_port_in_use_is_an_error_not_a_second_server() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    assert_fails(
        &["--port", &port],
        &format!("cannot listen on 127.0.0.1:{port}: Address already in use"),
    );
}

#[test]
fn binds_loopback_by_default_and_prints_the_real_port() {
    let dir = TempDir::new("cli-default");
    dir.write("a.txt", "a");
    let server = Server::start(&dir.path, &[]);
    assert!(server.addr.ip().is_loopback());
    assert_eq!(server.addr.ip().to_string(), "127.0.0.1");
    assert_ne!(server.addr.port(), 0);
    assert_eq!(
        server.url,
        format!("http://127.0.0.1:{}/", server.addr.port())
    );
    assert_eq!(server.get("/a.txt").text(), "a");
}

#[test]
fn binds_ipv6_loopback() {
    let dir = TempDir::new("cli-ipv6");
    dir.write("a.txt", "six");
    let server = Server::start(&dir.path, &["--bind", "::1"]);
    assert!(server.url.starts_with("http://[::1]:"), "{}", server.url);
    assert_eq!(server.get("/a.txt").text(), "six");
}

#[test]
fn root_defaults_to_the_current_folder() {
    let dir = TempDir::new("cli-cwd");
    dir.write("here.txt", "cwd");
    let mut command = Command::new(BIN);
    command
        .current_dir(&dir.path)
        .args(["--port", "0"])
        .env_remove("RUST_LOG");
    let server = Server::spawn(command);
    assert_eq!(server.get("/here.txt").text(), "cwd");
}

/// `tinyhttpd DIR` serves DIR, as `--root DIR` does; naming the folder both
/// ways is an error, even when both name the same folder.
#[test]
fn the_folder_as_a_plain_argument() {
    let dir = TempDir::new("cli-positional");
    dir.write("page.txt", "positional");
    let root = dir.path.to_str().unwrap();
    let mut command = Command::new(BIN);
    command.args([root, "--port", "0"]).env_remove("RUST_LOG");
    let server = Server::spawn(command);
    assert_eq!(server.get("/page.txt").text(), "positional");
    assert_fails(
        &[root, "--root", root, "--port", "0"],
        "the argument '[DIR]' cannot be used with '--root <DIR>'",
    );
    assert_fails(
        &["/no/such/folder", "--port", "0"],
        "cannot serve '/no/such/folder': No such file or directory",
    );
    assert_fails(&[root, root, "--port", "0"], "unexpected argument");
}
