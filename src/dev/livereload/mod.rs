//! Live reload: pages reload themselves when a file they use changes.
//!
//! Three pieces. The watcher remembers every path the server has answered
//! for (files, the folders of listings, paths that were a 404), with a stamp
//! of what was on disk when it answered; while at least one page listens, a
//! thread looks at just those paths four times a second, and when one no
//! longer matches what was served, it waits for the files to settle and tells
//! the pages once. So the cost follows what pages load, not the size of the
//! tree: a project with 200,000 files in `node_modules` costs what its page's
//! few dozen files cost, and nothing at all while no page listens. No
//! file-notification crate is needed (std has none). Each open page holds a
//! server-sent-events stream at `EVENTS_PATH`, served by its connection's own
//! thread, which waits for the watcher and writes `reload` or `css` events,
//! with heartbeat comments in between. And `inject` puts the small script
//! that listens to that stream into HTML pages sent for a top-level
//! navigation.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fs::{self, Metadata};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::fs::version::Version;
use crate::http::response::Stream;
use crate::http::sender::Sender;

/// Where pages listen for changes; under a dot-folder, so it can never shadow
/// a served file.
pub const EVENTS_PATH: &str = "/.tinyhttpd/events";
/// How often the watched paths are looked at while a page listens.
const POLL: Duration = Duration::from_millis(250);
/// After a change, how long the changed files must stay as they are before
/// the pages are told: the rest of an editor's save, or a build's burst of
/// writes, lands first, and the pages reload once.
const QUIET_STEP: Duration = Duration::from_millis(100);
/// How many `QUIET_STEP`s a file that has vanished may take to come back
/// (an editor that deletes and recreates, or renames the old file away
/// first) before its absence is the change.
const MISSING_STEPS: u32 = 4;
/// The most `QUIET_STEP`s a change waits: a file still being written after
/// them is reported as it is, and again when it changes later.
const MAX_STEPS: u32 = 6;
/// The most paths remembered. Past it, the path served longest ago is
/// forgotten, and the log and the pages' consoles say so.
const MAX_WATCHED: usize = 10_000;
/// A comment line this often keeps proxies and the browser from giving up on
/// a quiet stream.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// How often a stream looks whether its page has gone, so the watcher stops
/// soon after the last page closes.
const GONE_CHECK: Duration = Duration::from_secs(1);

/// What the pages should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Change {
    /// Only stylesheets changed: swap them in place.
    Css,
    /// Anything else: reload the page.
    #[default]
    Reload,
}

/// What was on disk at a path: a hash of a file's identity, size and time,
/// or of a folder's entries; `None` when nothing was there.
type Stamp = Option<u64>;

/// A path the server answered for.
#[derive(Debug)]
struct Watched {
    stamp: Stamp,
    /// When it was last answered for, as a count of answers: later is larger.
    served: u64,
}

#[derive(Debug, Default)]
struct State {
    watched: HashMap<PathBuf, Watched>,
    /// Answers so far, counted: the clock of `Watched::served`.
    answers: u64,
    /// Pages listening now.
    listeners: usize,
    /// When the last page stopped listening: paths served before then that
    /// no page has asked for since are stamped afresh when one listens again
    /// (see `Watcher::rebaseline`).
    idle_since: Option<u64>,
    /// Set when `idle_since` is to be acted on by the watcher thread.
    rebaseline: Option<u64>,
    /// Whether a path has been forgotten for `MAX_WATCHED`.
    limit_reached: bool,
    /// The latest change, numbered, for every stream to wait on.
    latest: (u64, Change),
}

/// The watched paths and the latest change.
#[derive(Debug)]
pub struct Watcher {
    state: Mutex<State>,
    /// The watcher thread sleeps on it while no page listens.
    listening: Condvar,
    /// Streams wait on it for the next change.
    changed: Condvar,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Watcher {
    /// Starts the watcher thread; it does nothing until a page listens.
    pub fn start() -> Arc<Watcher> {
        let watcher = Arc::new(Watcher::new());
        let publisher = Arc::clone(&watcher);
        let spawned = thread::Builder::new()
            .name("live-reload".into())
            .spawn(move || publisher.run());
        if let Err(e) = spawned {
            log::warn!("live reload is off: cannot start its watcher: {e}");
        }
        watcher
    }

    fn new() -> Watcher {
        Watcher {
            state: Mutex::new(State::default()),
            listening: Condvar::new(),
            changed: Condvar::new(),
        }
    }

    /// Notes that the file at `path`, whose metadata is `metadata`, was
    /// served (or found current by a conditional request).
    pub fn served_file(&self, path: &Path, metadata: &Metadata) {
        self.remember(path, Some(file_stamp(metadata)));
    }

    /// Notes that `path` was answered for (a listing's folder, or a path
    /// that named nothing), stamped with what is there now.
    pub fn served(&self, path: &Path) {
        self.remember(path, stamp(path));
    }

    fn remember(&self, path: &Path, stamp: Stamp) {
        let mut state = lock(&self.state);
        state.answers += 1;
        let served = state.answers;
        if let Some(watched) = state.watched.get_mut(path) {
            *watched = Watched { stamp, served };
            return;
        }
        if state.watched.len() >= MAX_WATCHED {
            forget_oldest(&mut state);
        }
        state
            .watched
            .insert(path.to_path_buf(), Watched { stamp, served });
    }

    /// Streams events to one page until it goes away. The response head has
    /// been written by the caller.
    pub fn stream(&self, out: &mut Sender) -> io::Result<()> {
        let _listening = Listening::new(self);
        // Reconnect quickly when the server restarts.
        out.write_all(b"retry: 500\n\n", false)?;
        if lock(&self.state).limit_reached {
            let notice = format!(
                "event: notice\ndata: live reload watches only the {MAX_WATCHED} paths served \
                 most recently; files served before them no longer trigger a reload\n\n"
            );
            out.write_all(notice.as_bytes(), false)?;
        }
        // A page sends nothing once its stream is open: a read that finds
        // the end of the stream means it has gone. The read must not wait.
        out.socket()
            .set_read_timeout(Some(Duration::from_millis(1)))?;
        let mut seen = lock(&self.state).latest.0;
        let mut last_write = Instant::now();
        loop {
            let event = {
                let state = lock(&self.state);
                let (state, _) = self
                    .changed
                    .wait_timeout_while(state, GONE_CHECK, |state| state.latest.0 == seen)
                    .unwrap_or_else(|p| p.into_inner());
                (state.latest.0 != seen).then(|| {
                    seen = state.latest.0;
                    state.latest.1
                })
            };
            let text: &[u8] = match event {
                Some(Change::Reload) => b"event: reload\ndata: now\n\n",
                Some(Change::Css) => b"event: css\ndata: now\n\n",
                None if has_left(out.socket()) => return Ok(()),
                None if last_write.elapsed() >= HEARTBEAT => b": heartbeat\n\n",
                None => continue,
            };
            out.write_all(text, false)?;
            last_write = Instant::now();
        }
    }

    /// The watcher thread: asleep while no page listens; otherwise looks at
    /// the watched paths every `POLL` and publishes what changed.
    fn run(&self) {
        loop {
            let rebaseline = {
                let mut state = lock(&self.state);
                while state.listeners == 0 {
                    state = self
                        .listening
                        .wait(state)
                        .unwrap_or_else(|p| p.into_inner());
                }
                state.rebaseline.take()
            };
            if let Some(idle_since) = rebaseline {
                self.rebaseline(idle_since);
            }
            thread::sleep(POLL);
            let changed = self.changed_paths();
            if changed.is_empty() {
                continue;
            }
            let settled = settle(changed, stamp);
            let change = if settled.iter().all(|(path, _)| is_css(path)) {
                Change::Css
            } else {
                Change::Reload
            };
            self.record(&settled, |_| true);
            log::debug!(
                "live reload: {} changed ({} paths), telling pages to {change:?}",
                settled[0].0.display(),
                settled.len()
            );
            let mut state = lock(&self.state);
            state.latest = (state.latest.0 + 1, change);
            self.changed.notify_all();
        }
    }

    /// A page listens again after none did since `idle_since`. What it loaded
    /// it loaded just now, and was stamped then; a path served before
    /// `idle_since` and not since belongs to pages that are gone, so what is
    /// on disk now is its new baseline, not a change to report.
    fn rebaseline(&self, idle_since: u64) {
        let stale = |watched: &Watched| watched.served < idle_since;
        let fresh: Vec<(PathBuf, Stamp)> = self
            .on_disk(stale)
            .into_iter()
            .map(|(path, _, now)| (path, now))
            .collect();
        self.record(&fresh, stale);
    }

    /// The watched paths whose disk no longer matches their stamp, with
    /// what is there now.
    fn changed_paths(&self) -> Vec<(PathBuf, Stamp)> {
        self.on_disk(|_| true)
            .into_iter()
            .filter(|(_, was, now)| was != now)
            .map(|(path, _, now)| (path, now))
            .collect()
    }

    /// The watched paths `pick` selects, with their stamps as recorded and
    /// as on disk now. The paths are copied out first, so no request waits
    /// while the disk is read.
    fn on_disk(&self, pick: impl Fn(&Watched) -> bool) -> Vec<(PathBuf, Stamp, Stamp)> {
        let picked: Vec<(PathBuf, Stamp)> = lock(&self.state)
            .watched
            .iter()
            .filter(|(_, watched)| pick(watched))
            .map(|(path, watched)| (path.clone(), watched.stamp))
            .collect();
        picked
            .into_iter()
            .map(|(path, was)| {
                let now = stamp(&path);
                (path, was, now)
            })
            .collect()
    }

    /// Records new stamps for the paths that are still watched and that
    /// `only` still selects.
    fn record(&self, stamps: &[(PathBuf, Stamp)], only: impl Fn(&Watched) -> bool) {
        let mut state = lock(&self.state);
        for (path, stamp) in stamps {
            if let Some(watched) = state.watched.get_mut(path)
                && only(watched)
            {
                watched.stamp = *stamp;
            }
        }
    }
}

/// Whether the client of an event stream has closed its side (or reset
/// the connection); the socket's read timeout is short.
fn has_left(socket: &TcpStream) -> bool {
    let mut byte = [0];
    match socket.peek(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
        ),
    }
}

/// One page's event stream: the body of the response at `EVENTS_PATH`.
#[derive(Debug)]
pub struct Events(pub Arc<Watcher>);

impl Stream for Events {
    fn write_to(&self, out: &mut Sender) -> io::Result<()> {
        self.0.stream(out)
    }
}

/// Counts one listening page for as long as it lives.
struct Listening<'a>(&'a Watcher);

impl<'a> Listening<'a> {
    fn new(watcher: &'a Watcher) -> Self {
        let mut state = lock(&watcher.state);
        if state.listeners == 0 {
            state.rebaseline = state.idle_since.take();
        }
        state.listeners += 1;
        watcher.listening.notify_all();
        Listening(watcher)
    }
}

impl Drop for Listening<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        state.listeners -= 1;
        if state.listeners == 0 {
            state.idle_since = Some(state.answers + 1);
        }
    }
}

/// Forgets the path served longest ago, to stay within `MAX_WATCHED`; the
/// first time, says so at warn level, and streams tell their pages.
fn forget_oldest(state: &mut State) {
    let oldest = state
        .watched
        .iter()
        .min_by_key(|(_, watched)| watched.served)
        .map(|(path, _)| path.clone());
    let Some(oldest) = oldest else { return };
    state.watched.remove(&oldest);
    if !state.limit_reached {
        state.limit_reached = true;
        log::warn!(
            "live reload watches only the {MAX_WATCHED} paths served most recently: \
             {} and others served before them no longer trigger a reload",
            oldest.display()
        );
    } else {
        log::debug!("live reload no longer watches {}", oldest.display());
    }
}

/// Waits until the changed paths stay as they are for one `QUIET_STEP` (and
/// a vanished one has had `MISSING_STEPS` to come back), at most
/// `MAX_STEPS`, and returns them with their settled stamps. `probe` reads a
/// path's stamp. Steps are counted, not timed, so a busy machine makes the
/// wait longer but never changes what it decides.
fn settle(
    changed: Vec<(PathBuf, Stamp)>,
    mut probe: impl FnMut(&Path) -> Stamp,
) -> Vec<(PathBuf, Stamp)> {
    let mut last = changed;
    for step in 1..=MAX_STEPS {
        thread::sleep(QUIET_STEP);
        let now: Vec<(PathBuf, Stamp)> = last
            .iter()
            .map(|(path, _)| (path.clone(), probe(path)))
            .collect();
        let steady = now == last;
        let missing = now.iter().any(|(_, stamp)| stamp.is_none());
        last = now;
        if steady && (!missing || step >= MISSING_STEPS) {
            break;
        }
    }
    last
}

fn is_css(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("css"))
}

/// What is at `path` now: a file's stamp, a folder's (its entries, as a
/// listing shows them), or `None`.
fn stamp(path: &Path) -> Stamp {
    let metadata = fs::metadata(path).ok()?;
    if !metadata.is_dir() {
        return Some(file_stamp(&metadata));
    }
    let mut entries: Vec<(String, u64)> = fs::read_dir(path)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            if name.starts_with('.') {
                return None;
            }
            let metadata = entry.metadata().ok()?;
            Some((name, file_stamp(&metadata)))
        })
        .collect();
    entries.sort();
    let mut hasher = DefaultHasher::new();
    entries.hash(&mut hasher);
    Some(hasher.finish())
}

/// A file's version (see `version`), hashed: the change the file cache
/// and the `ETag` see is the change that reloads the pages.
fn file_stamp(metadata: &Metadata) -> u64 {
    let mut hasher = DefaultHasher::new();
    Version::of(metadata).hash(&mut hasher);
    hasher.finish()
}

/// The script a page runs: reload on `reload`, re-fetch stylesheets on
/// `css`, and reload after the stream comes back from a server restart.
pub const SCRIPT: &str = concat!(
    "<script>/* tinyhttpd live reload */(() => {",
    "const events = new EventSource(\"/.tinyhttpd/events\"); let lost = false;",
    "events.addEventListener(\"reload\", () => location.reload());",
    "events.addEventListener(\"notice\", (e) => console.warn(\"tinyhttpd: \" + e.data));",
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
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn injection_points() {
        // Each page with `|` where the script goes.
        let cases = [
            "<html><body><p>x</p>|</body></html>",
            "<HTML><BODY>x|</BODY></HTML>",
            "<p>a</body> in text</p>|</body>",
            "<html><p>no body</p>|</html>\n",
            "<p>fragment</p>|",
            "|",
        ];
        for case in cases {
            let html = case.replace('|', "");
            let injected = String::from_utf8(inject(html.as_bytes())).unwrap();
            assert_eq!(injected, case.replace('|', SCRIPT), "{html}");
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "tinyhttpd-livereload-{}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Writes `contents` to `path` with a modification time `secs` after
    /// the epoch, so two writes differ however fast they come.
    fn write_at(path: &Path, contents: &str, secs: u64) {
        fs::write(path, contents).unwrap();
        let time = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(time)
            .unwrap();
    }

    #[test]
    fn stamps_change_with_every_kind_of_save() {
        let dir = temp_dir("stamps");
        let file = dir.join("app.js");
        write_at(&file, "v1", 1_000);
        let original = stamp(&file);
        assert!(original.is_some());
        assert_eq!(stamp(&file), original);
        // In place, the same length, a new time.
        write_at(&file, "v2", 2_000);
        let in_place = stamp(&file);
        assert_ne!(in_place, original);
        // In place, the same length, the time set back to what it was (as
        // `cp -p` or `rsync -t` do): on Unix the change time tells. The
        // wait lets the clock the change time comes from tick.
        std::thread::sleep(Duration::from_millis(20));
        write_at(&file, "v3", 2_000);
        let back_dated = stamp(&file);
        if cfg!(unix) {
            assert_ne!(back_dated, in_place);
        }
        let in_place = back_dated;
        // Renamed over, even with the same length and time: a new file (on
        // Unix, by its inode; Windows' identity is its creation time, which
        // the file system may carry over to a file renamed into the name).
        let staged = dir.join("app.js.tmp");
        write_at(&staged, "v3", if cfg!(unix) { 2_000 } else { 3_000 });
        fs::rename(&staged, &file).unwrap();
        assert_ne!(stamp(&file), in_place);
        fs::remove_file(&file).unwrap();
        assert_eq!(stamp(&file), None);

        // A folder: an entry added or edited changes it; a dotfile does not.
        let folder = stamp(&dir);
        write_at(&dir.join(".swp"), "x", 3_000);
        assert_eq!(stamp(&dir), folder);
        write_at(&dir.join("new.txt"), "x", 3_000);
        let added = stamp(&dir);
        assert_ne!(added, folder);
        write_at(&dir.join("new.txt"), "y", 4_000);
        assert_ne!(stamp(&dir), added);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A probe that answers from `script`, one stamp per call, and counts.
    fn scripted(script: &[Stamp]) -> (impl FnMut(&Path) -> Stamp, Rc<Cell<usize>>) {
        let calls = Rc::new(Cell::new(0));
        let counter = Rc::clone(&calls);
        let script = script.to_vec();
        let probe = move |_: &Path| {
            let n = counter.get();
            counter.set(n + 1);
            script[n.min(script.len() - 1)]
        };
        (probe, calls)
    }

    #[test]
    fn settling() {
        let changed = |stamp: Stamp| vec![(PathBuf::from("/app.js"), stamp)];
        // Already steady: one step.
        let (probe, calls) = scripted(&[Some(2)]);
        assert_eq!(settle(changed(Some(2)), probe), changed(Some(2)));
        assert_eq!(calls.get(), 1);
        // Still being written: waits until a step sees no change.
        let (probe, calls) = scripted(&[Some(3), Some(4), Some(4)]);
        assert_eq!(settle(changed(Some(2)), probe), changed(Some(4)));
        assert_eq!(calls.get(), 3);
        // Deleted, then created again: the new file, not the absence.
        let (probe, calls) = scripted(&[None, None, Some(5), Some(5)]);
        assert_eq!(settle(changed(None), probe), changed(Some(5)));
        assert_eq!(calls.get(), 4);
        // Deleted for good: reported after the grace.
        let (probe, calls) = scripted(&[None]);
        assert_eq!(settle(changed(None), probe), changed(None));
        assert_eq!(calls.get(), MISSING_STEPS as usize);
        // Never steady: reported as it is after the last step.
        let script: Vec<Stamp> = (1..=7).map(Some).collect();
        let (probe, calls) = scripted(&script);
        assert_eq!(settle(changed(Some(0)), probe), changed(Some(6)));
        assert_eq!(calls.get(), MAX_STEPS as usize);
    }

    #[test]
    fn past_the_limit_the_path_served_longest_ago_is_forgotten() {
        let watcher = Watcher::new();
        for n in 0..MAX_WATCHED {
            watcher.remember(Path::new(&format!("/site/{n}")), Some(1));
        }
        assert!(!lock(&watcher.state).limit_reached);
        // Served again: the first path is now the most recent.
        watcher.remember(Path::new("/site/0"), Some(1));
        watcher.remember(Path::new("/site/new"), Some(1));
        let state = lock(&watcher.state);
        assert_eq!(state.watched.len(), MAX_WATCHED);
        assert!(state.limit_reached);
        assert!(state.watched.contains_key(Path::new("/site/0")));
        assert!(state.watched.contains_key(Path::new("/site/new")));
        assert!(!state.watched.contains_key(Path::new("/site/1")));
    }

    #[test]
    fn past_the_limit_each_new_stream_tells_its_page() {
        use std::io::Read;
        let watcher = Arc::new(Watcher::new());
        for n in 0..=MAX_WATCHED {
            watcher.remember(Path::new(&format!("/site/{n}")), Some(1));
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut page = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        let streaming = Arc::clone(&watcher);
        let writer = thread::spawn(move || {
            let mut out = Sender::new(Arc::new(server_side), Duration::from_secs(5)).unwrap();
            streaming.stream(&mut out)
        });
        page.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let want = format!(
            "retry: 500\n\nevent: notice\ndata: live reload watches only the {MAX_WATCHED} paths \
             served most recently; files served before them no longer trigger a reload\n\n"
        );
        let mut got = vec![0; want.len()];
        page.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), want);
        // The page goes; its stream notices and ends.
        drop(page);
        assert!(writer.join().unwrap().is_ok());
        assert_eq!(lock(&watcher.state).listeners, 0);
    }
}
