//! The watcher: the set of paths the server has answered for, each with the
//! stamp of what was on disk then (at most `MAX_WATCHED`, the one served
//! longest ago forgotten first); the thread that, while at least one page
//! listens, polls just those paths every `POLL`; the wait for a change to
//! settle (`settle`, in `QUIET_STEP`s) before the pages are told once; and the
//! count of listening pages that wakes and idles that thread.
//!
//! Streams (`events`) read the latest change through the few `pub(super)`
//! methods here; nothing here knows about streams. May import std, its
//! sibling `stamp`, and from the crate what all of `dev/` may: `fs`, `http`
//! and `sys`, never `serve` or `net`.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use super::stamp::{Stamp, file_stamp, stamp};

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
pub(super) const MAX_WATCHED: usize = 10_000;

/// What the pages should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Change {
    /// Only stylesheets changed: swap them in place.
    Css,
    /// Anything else: reload the page.
    #[default]
    Reload,
}

/// A path the server answered for.
#[derive(Debug)]
struct Watched {
    stamp: Stamp,
    /// When it was last answered for, as a count of answers: later is larger.
    served: u64,
}

#[derive(Debug, Default)]
struct WatchList {
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
    state: Mutex<WatchList>,
    /// The watcher thread sleeps on it while no page listens.
    listening: Condvar,
    /// Streams wait on it for the next change.
    changed: Condvar,
}

/// The lock, even if a thread panicked while holding it, as every lock in
/// the server is taken: no update here leaves the list half-made, so the
/// data is still good, and one panic must not stop live reload for good.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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

    pub(super) fn new() -> Watcher {
        Watcher {
            state: Mutex::new(WatchList::default()),
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

    /// Keeps `path` watched (a file the server reads for itself, which no
    /// page loads): known, it is only marked as just served, and its stamp
    /// stays, so a change not yet seen by the watcher is still reported;
    /// new, it is stamped with what is there now.
    pub fn keep_watching(&self, path: &Path) {
        let mut state = lock(&self.state);
        state.answers += 1;
        let served = state.answers;
        if let Some(watched) = state.watched.get_mut(path) {
            watched.served = served;
            return;
        }
        drop(state);
        self.remember(path, stamp(path));
    }

    pub(super) fn remember(&self, path: &Path, stamp: Stamp) {
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

    /// Whether a path has been forgotten to stay within `MAX_WATCHED`.
    pub(super) fn limit_reached(&self) -> bool {
        lock(&self.state).limit_reached
    }

    /// The number of the latest change: what a new stream has seen.
    pub(super) fn latest(&self) -> u64 {
        lock(&self.state).latest.0
    }

    /// Waits at most `timeout` for a change numbered other than `seen`.
    /// If one came, moves `seen` to it and returns what it asks of pages.
    pub(super) fn next_change(&self, seen: &mut u64, timeout: Duration) -> Option<Change> {
        let state = lock(&self.state);
        let (state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |state| state.latest.0 == *seen)
            .unwrap_or_else(|p| p.into_inner());
        (state.latest.0 != *seen).then(|| {
            *seen = state.latest.0;
            state.latest.1
        })
    }

    /// Pages listening now.
    #[cfg(test)]
    pub(super) fn listeners(&self) -> usize {
        lock(&self.state).listeners
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

/// Counts one listening page for as long as it lives.
pub(super) struct Listening<'a>(&'a Watcher);

impl<'a> Listening<'a> {
    pub(super) fn new(watcher: &'a Watcher) -> Self {
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
fn forget_oldest(state: &mut WatchList) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

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
}
