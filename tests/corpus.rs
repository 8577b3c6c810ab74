//! Regression corpora of hostile requests, in `tests/corpus/`: path
//! traversal targets (each with its exact status, and no response may carry
//! the token kept outside the root) and request-smuggling shapes (each with
//! its status and whether the connection must close).

mod common;

use common::{Server, TempDir, symlink_on_unix};

const SECRET: &str = "TOKEN-c0rpu5-outside-the-root";

/// The non-comment lines of a corpus file.
fn lines(name: &str) -> Vec<String> {
    let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn status_line(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.split("\r\n").next().unwrap_or_default().to_string()
}

#[test]
fn traversal_corpus() {
    let base = TempDir::new("corpus-traversal");
    base.write("secret.txt", SECRET);
    let root = base.mkdir("root");
    base.write("root/files/a.txt", "a");
    // Without links (not on Unix), the cases about them (every target
    // naming `escape` or `parent-link`) are left out.
    let links = cfg!(unix);
    symlink_on_unix(base.path.join("secret.txt"), root.join("escape"));
    symlink_on_unix(&base.path, root.join("parent-link"));
    let server = Server::start(&root, &[]);

    let cases = lines("traversal.txt");
    assert!(cases.len() >= 60, "only {} traversal cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let (status, target) = case.split_once(' ').unwrap();
        if !links && (target.contains("/escape") || target.contains("/parent-link")) {
            continue;
        }
        let out =
            server.raw(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
        let text = String::from_utf8_lossy(&out);
        if text.contains(SECRET) {
            failures.push(format!("{target}: LEAKED THE SECRET"));
        }
        let got = status_line(&out);
        if !got.starts_with(&format!("HTTP/1.1 {status} ")) {
            failures.push(format!("{target}: want {status}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Decodes the corpus's escapes: \r \n \t \0 \\ and \xHH.
fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'\\' => out.push(b'\\'),
            b'x' => {
                let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            other => panic!("unknown escape \\{}", other as char),
        }
        i += 2;
    }
    out
}

#[test]
fn smuggling_corpus() {
    let dir = TempDir::new("corpus-smuggling");
    dir.write("canary.txt", "CANARY");
    dir.write("index.html", "index");
    let server = Server::start(&dir.path, &[]);
    let canary = b"GET /canary.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";

    let cases = lines("smuggling.txt");
    assert!(cases.len() >= 30, "only {} smuggling cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let (expect, raw) = case.split_once(" | ").unwrap();
        let (status, action) = expect.split_once(' ').unwrap();
        let mut request = unescape(raw);
        request.extend_from_slice(canary);
        let out = server.raw(&request);
        let text = String::from_utf8_lossy(&out);
        let responses = text.matches("HTTP/1.1 ").count();
        let first = status_line(&out);
        let label = raw;
        if !first.starts_with(&format!("HTTP/1.1 {status} ")) {
            failures.push(format!("{label}: want {status}, got {first:?}"));
            continue;
        }
        match action {
            "close" => {
                let head_end = text.find("\r\n\r\n").unwrap_or(text.len());
                if !text[..head_end].contains("\r\nConnection: close") {
                    failures.push(format!("{label}: no Connection: close"));
                }
                if responses != 1 || text.contains("CANARY") {
                    failures.push(format!("{label}: the canary was answered after a {status}"));
                }
            }
            "keep" => {
                if responses != 2 || !text.ends_with("CANARY") {
                    failures.push(format!(
                        "{label}: the canary was not answered next: {text:?}"
                    ));
                }
            }
            other => panic!("unknown action {other}"),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
