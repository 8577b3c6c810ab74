//! Live reload: pages reload themselves when a file under the root changes.
//!
//! Three pieces. A watcher thread polls modification times under the root
//! (no file-notification crate: std has none, and polling a developer's site
//! a few times a second costs little), skipping dot-folders and capping how
//! many files it watches. Each open page holds a server-sent-events stream at
//! `EVENTS_PATH`, served by its connection's own thread, which waits for the
//! watcher and writes `reload` or `css` events, with heartbeat comments in
//! between. And `inject` puts the small script that listens to that stream
//! into HTML pages sent for a top-level navigation.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, SystemTime};

use crate::sender::Sender;

/// Where pages listen for changes; under a dot-folder, so it can never shadow
/// a served file.
pub const EVENTS_PATH: &str = "/.tinyhttpd/events";
/// How often the tree is scanned.
const POLL: Duration = Duration::from_millis(250);
/// After a change, how long to wait for the rest of an editor's save (or a
/// build's burst of writes) before telling the pages, once.
const DEBOUNCE: Duration = Duration::from_millis(100);
/// The most files watched; past it the rest are not, and a warning says so.
const MAX_WATCHED: usize = 20_000;
/// A comment line this often keeps proxies and the browser from giving up on
/// a quiet stream, and finds clients that have left.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// What the pages should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Only stylesheets changed: swap them in place.
    Css,
    /// Anything else: reload the page.
    Reload,
}

/// The latest change, numbered, for every stream to wait on.
#[derive(Debug)]
pub struct Watcher {
    latest: Mutex<(u64, Change)>,
    changed: Condvar,
}

impl Watcher {
    /// Starts watching `root` in a thread of its own.
    pub fn start(root: PathBuf) -> Arc<Watcher> {
        let watcher = Arc::new(Watcher {
            latest: Mutex::new((0, Change::Reload)),
            changed: Condvar::new(),
        });
        // The first picture of the tree is taken before the server starts
        // listening, so no change made after that can go unnoticed.
        let mut warned = false;
        let known = snapshot(&root, MAX_WATCHED, &mut warned);
        let publisher = Arc::clone(&watcher);
        let spawned = thread::Builder::new()
            .name("live-reload".into())
            .spawn(move || publisher.poll(&root, known, warned));
        if let Err(e) = spawned {
            log::warn!("live reload is off: cannot start its watcher: {e}");
        }
        watcher
    }

    fn poll(&self, root: &Path, mut known: Snapshot, mut warned: bool) {
        loop {
            thread::sleep(POLL);
            let now = snapshot(root, MAX_WATCHED, &mut warned);
            let Some(mut change) = difference(&known, &now) else {
                continue;
            };
            // Let the burst finish, then tell the pages once.
            thread::sleep(DEBOUNCE);
            let settled = snapshot(root, MAX_WATCHED, &mut warned);
            if difference(&now, &settled) == Some(Change::Reload) {
                change = Change::Reload;
            }
            known = settled;
            log::debug!("live reload: files changed, telling pages to {change:?}");
            let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
            *latest = (latest.0 + 1, change);
            self.changed.notify_all();
        }
    }

    /// Streams events to one page until it goes away. The response head has
    /// been written by the caller.
    pub fn stream(&self, out: &mut Sender) -> io::Result<()> {
        // Reconnect quickly when the server restarts.
        out.write_all(b"retry: 500\n\n", false)?;
        let mut seen = self.latest.lock().unwrap_or_else(|p| p.into_inner()).0;
        loop {
            let event = {
                let latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
                let (latest, _) = self
                    .changed
                    .wait_timeout_while(latest, HEARTBEAT, |latest| latest.0 == seen)
                    .unwrap_or_else(|p| p.into_inner());
                (latest.0 != seen).then(|| {
                    seen = latest.0;
                    latest.1
                })
            };
            let text: &[u8] = match event {
                Some(Change::Reload) => b"event: reload\ndata: now\n\n",
                Some(Change::Css) => b"event: css\ndata: now\n\n",
                None => b": heartbeat\n\n",
            };
            out.write_all(text, false)?;
        }
    }
}

/// Modification time and length of every watched file.
type Snapshot = HashMap<PathBuf, (Option<SystemTime>, u64)>;

/// The files under `root`, at most `limit` of them; past the limit a warning
/// is logged once (`warned` remembers it).
fn snapshot(root: &Path, limit: usize, warned: &mut bool) -> Snapshot {
    let mut files = Snapshot::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name().as_encoded_bytes().starts_with(b".") {
                continue;
            }
            // Symlinks are not followed: no loops, no trees outside the root.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                folders.push(entry.path());
            } else if kind.is_file() {
                if files.len() == limit {
                    if !*warned {
                        log::warn!(
                            "live reload watches only the first {limit} files under the root"
                        );
                        *warned = true;
                    }
                    return files;
                }
                if let Ok(meta) = entry.metadata() {
                    files.insert(entry.path(), (meta.modified().ok(), meta.len()));
                }
            }
        }
    }
    files
}

/// What changed between two snapshots: nothing, only stylesheets, or more.
fn difference(before: &Snapshot, after: &Snapshot) -> Option<Change> {
    let mut changed = after
        .iter()
        .filter(|(path, stamp)| before.get(*path) != Some(*stamp))
        .map(|(path, _)| path)
        .chain(before.keys().filter(|path| !after.contains_key(*path)))
        .peekable();
    changed.peek()?;
    let only_css = changed.all(|path| {
        path.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("css"))
    });
    Some(if only_css {
        Change::Css
    } else {
        Change::Reload
    })
}

/// The script a page runs: reload on `reload`, re-fetch stylesheets on
/// `css`, and reload after the stream comes back from a server restart.
pub const SCRIPT: &str = concat!(
    "<script>/* tinyhttpd live reload */(() => {",
    "const events = new EventSource(\"/.tinyhttpd/events\"); let lost = false;",
    "events.addEventListener(\"reload\", () => location.reload());",
    "events.addEventListener(\"css\", () => {",
    "for (const link of document.querySelectorAll('link[rel=\"stylesheet\"]')) {",
    "const url = new URL(link.href); url.searchParams.set(\"tinyhttpd-reload\", Date.now()); link.href = url.href; } });",
    "events.onerror = () => { lost = true; };",
    "events.onopen = () => { if (lost) location.reload(); };",
    "})();</script>"
);

/// `html` with the script inserted before the last `</body>`, else before
/// the last `</html>`, else at the end (tags matched in any letter case).
pub fn inject(html: &[u8]) -> Vec<u8> {
    let at = rfind_ignore_case(html, b"</body>")
        .or_else(|| rfind_ignore_case(html, b"</html>"))
        .unwrap_or(html.len());
    let mut out = Vec::with_capacity(html.len() + SCRIPT.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(SCRIPT.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}

fn rfind_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .rposition(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injection_points() {
        let cases: &[(&str, &str)] = &[
            (
                "<html><body><p>x</p></body></html>",
                "<html><body><p>x</p>{S}</body></html>",
            ),
            (
                "<HTML><BODY>x</BODY></HTML>",
                "<HTML><BODY>x{S}</BODY></HTML>",
            ),
            (
                "<p>a</body> in text</p></body>",
                "<p>a</body> in text</p>{S}</body>",
            ),
            (
                "<html><p>no body</p></html>\n",
                "<html><p>no body</p>{S}</html>\n",
            ),
            ("<p>fragment</p>", "<p>fragment</p>{S}"),
            ("", "{S}"),
        ];
        for (html, want) in cases {
            let want = want.replace("{S}", SCRIPT);
            assert_eq!(
                String::from_utf8(inject(html.as_bytes())).unwrap(),
                want,
                "{html}"
            );
        }
    }

    fn stamp(secs: u64, len: u64) -> (Option<SystemTime>, u64) {
        (
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)),
            len,
        )
    }

    #[test]
    fn differences() {
        let before: Snapshot = [
            (PathBuf::from("a.html"), stamp(1, 10)),
            (PathBuf::from("s.css"), stamp(1, 10)),
        ]
        .into();
        assert_eq!(difference(&before, &before), None);
        let mut css = before.clone();
        css.insert("s.css".into(), stamp(2, 10));
        assert_eq!(difference(&before, &css), Some(Change::Css));
        let mut html = before.clone();
        html.insert("a.html".into(), stamp(1, 11));
        assert_eq!(difference(&before, &html), Some(Change::Reload));
        let mut removed = before.clone();
        removed.remove(&PathBuf::from("a.html"));
        assert_eq!(difference(&before, &removed), Some(Change::Reload));
        let mut added_css = before.clone();
        added_css.insert("new.CSS".into(), stamp(3, 1));
        assert_eq!(difference(&before, &added_css), Some(Change::Css));
    }

    #[test]
    fn snapshots_skip_dot_folders() {
        let root = std::env::temp_dir().join(format!("tinyhttpd-watch-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join(".git/objects")).unwrap();
        fs::create_dir_all(root.join("src")).unwrap();
        fs::write(root.join(".git/objects/x"), "x").unwrap();
        fs::write(root.join("src/app.js"), "x").unwrap();
        fs::write(root.join("index.html"), "x").unwrap();
        let mut warned = false;
        let mut names: Vec<PathBuf> = snapshot(&root, MAX_WATCHED, &mut warned)
            .into_keys()
            .map(|p| p.strip_prefix(&root).unwrap().to_path_buf())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [PathBuf::from("index.html"), PathBuf::from("src/app.js")]
        );
        assert!(!warned);
        // Past the limit the rest is not watched, and the warning is noted.
        assert_eq!(snapshot(&root, 1, &mut warned).len(), 1);
        assert!(warned);
        fs::remove_dir_all(&root).unwrap();
    }
}
