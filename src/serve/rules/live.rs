//! The rules files, kept current: `HostRules` reads `_redirects` and
//! `_headers` at start, looks at them again as requests come, reads them
//! again when they may have changed, and logs what it loaded and every bad
//! line. With live reload, both files are watched.
//!
//! Imports `fs` (versions), `dev` (the watcher), `proxy`'s backends and
//! the rules beside it.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use crate::dev::livereload::Watcher;
use crate::fs::resolve::RULES_FILES;
use crate::fs::version::Version;
use crate::serve::proxy::backend::Backend;
use crate::serve::rules::RuleSet;

/// How long a request may go on with the rules as last read before the
/// files are looked at again (see `HostRules::refresh`).
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// The rules as read from the served folder, kept current: the files are
/// looked at again when a request comes `CHECK_EVERY` after the last look,
/// and with live reload on every navigation, so the page a browser reloads
/// after an edit sees it. A file is read again when its version changed,
/// or when it was last read before its version had settled (a write in the
/// same tick of the file system's clock can leave the version as it was).
#[derive(Debug)]
pub struct HostRules {
    paths: [PathBuf; 2],
    /// `--base`, which every path the rules see is under.
    base: String,
    current: RwLock<Arc<RuleSet>>,
    seen: Mutex<Seen>,
    /// Whether the rules in force may proxy: looked at without a lock on
    /// every request, to know whether `proxy::forward` must ask.
    proxying: AtomicBool,
    /// Whether the rules in force hold anything at all.
    any: AtomicBool,
    /// The fingerprints of the two files' versions as last looked at (0
    /// when not there), which the resolver withholds.
    fingerprints: [AtomicU64; 2],
    /// Milliseconds from `start` to the last look.
    last_look: AtomicU64,
    start: Instant,
    /// The backends of proxying rules, by authority, kept across re-reads
    /// so their idle connections are too.
    backends: Mutex<Vec<Arc<Backend>>>,
    proxy_timeout: Duration,
}

/// The files as last read: each one's version (`None` when it is not
/// there), whether that version had settled when the text was read (if
/// not, a write in the same clock tick may have left the version as it
/// was, and the text is read again at the next look), the text, and why
/// none of it applies, if that is so.
#[derive(Debug, Default)]
struct Seen {
    versions: [Option<Version>; 2],
    settled: [bool; 2],
    texts: [String; 2],
    problems: [Option<String>; 2],
}

impl HostRules {
    /// Reads the rules under `root`, and logs what was loaded when either
    /// file is there; with live reload, both are watched from the start.
    pub fn load(
        root: &Path,
        base: &str,
        proxy_timeout: Duration,
        watcher: Option<&Watcher>,
    ) -> HostRules {
        let rules = HostRules {
            base: base.to_string(),
            paths: RULES_FILES.map(|name| root.join(name)),
            current: RwLock::new(Arc::new(RuleSet::default())),
            seen: Mutex::new(Seen::default()),
            proxying: AtomicBool::new(false),
            any: AtomicBool::new(false),
            fingerprints: Default::default(),
            last_look: AtomicU64::new(0),
            start: Instant::now(),
            backends: Mutex::new(Vec::new()),
            proxy_timeout,
        };
        rules.look(watcher, true);
        rules
    }

    /// Looks at the files for a request, before it is routed, if it is
    /// time: `CHECK_EVERY` after the last look, or with live reload
    /// (`watcher`) for a `navigation`, as the page that reloads after an
    /// edit must see it. Without live reload the person who edits and
    /// reloads is slower than `CHECK_EVERY`, and `navigation` is not asked.
    pub fn refresh(&self, navigation: impl FnOnce() -> bool, watcher: Option<&Watcher>) {
        let now = self.start.elapsed().as_millis() as u64;
        let last = self.last_look.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= CHECK_EVERY.as_millis() as u64
            && self
                .last_look
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        if due || (watcher.is_some() && navigation()) {
            self.look(watcher, false);
        }
    }

    /// The rules in force, `None` when there are none (then no lock is
    /// taken: the common case).
    pub fn current(&self) -> Option<Arc<RuleSet>> {
        if !self.any.load(Ordering::Relaxed) {
            return None;
        }
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }

    /// The fingerprints of the two files' versions, as last looked at.
    pub fn fingerprints(&self) -> [u64; 2] {
        [0, 1].map(|i| self.fingerprints[i].load(Ordering::Relaxed))
    }

    /// Whether a rule may proxy, as last read.
    pub fn may_proxy(&self) -> bool {
        self.proxying.load(Ordering::Relaxed)
    }

    /// Closes the proxying rules' idle connections; says how many.
    pub fn close_idle_backends(&self) -> usize {
        lock(&self.backends).iter().map(|b| b.close_idle()).sum()
    }

    /// Looks at both files, and reads them again if either may have
    /// changed. With live reload, both paths are kept watched (a page
    /// reloads when either changes), whether they are there or not; the
    /// watcher's stamp is left as it is, so reading an edit here first
    /// does not hide it from the pages.
    fn look(&self, watcher: Option<&Watcher>, at_start: bool) {
        let mut seen = lock(&self.seen);
        if let Some(watcher) = watcher {
            for path in &self.paths {
                watcher.keep_watching(path);
            }
        }
        let now = SystemTime::now();
        let versions = self.paths.clone().map(|path| {
            std::fs::metadata(path)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| Version::of(&m))
        });
        for (i, version) in versions.iter().enumerate() {
            let fingerprint = version.map_or(0, |v| v.fingerprint());
            self.fingerprints[i].store(fingerprint, Ordering::Relaxed);
        }
        if !must_read(&versions, &seen) && !at_start {
            return;
        }
        let read = [0, 1].map(|i| match versions[i] {
            Some(_) => read(&self.paths[i]),
            None => Ok(String::new()),
        });
        seen.versions = versions;
        seen.settled = versions.map(|v| v.is_none_or(|v| v.has_settled(now)));
        let problems = read.clone().map(Result::err);
        let texts = read.map(Result::unwrap_or_default);
        if texts == seen.texts && problems == seen.problems && !at_start {
            return;
        }
        // Said once, not at every look while the file stays as it is.
        for (name, problem) in RULES_FILES.iter().zip(&problems) {
            if let Some(problem) = problem {
                log::warn!("{name}: {problem}; no rules from it apply");
            }
        }
        seen.problems = problems;
        let (set, bad) =
            RuleSet::build(&texts[0], &texts[1], &self.base, |authority, host, port| {
                self.backend(authority, host, port)
            });
        for (name, lines) in RULES_FILES.iter().zip(&bad) {
            for line in lines {
                log::warn!("{name} line {}: skipped: {}", line.line, line.reason);
            }
        }
        if versions.iter().any(Option::is_some) || !at_start {
            match at_start {
                true => log::info!("rules: {}", set.summary()),
                false => log::info!("rules: read again: {}", set.summary()),
            }
        }
        seen.texts = texts;
        self.proxying.store(set.proxies(), Ordering::Relaxed);
        self.any.store(!set.is_empty(), Ordering::Relaxed);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
    }

    fn backend(&self, authority: &str, host: &str, port: u16) -> Arc<Backend> {
        let mut backends = lock(&self.backends);
        if let Some(known) = backends.iter().find(|b| b.authority == authority) {
            return Arc::clone(known);
        }
        let backend = Arc::new(Backend::new(authority, host, port, self.proxy_timeout));
        backends.push(Arc::clone(&backend));
        backend
    }
}

/// Whether the files must be read again: a version changed, or a text was
/// read before its version had settled (a write in the same clock tick
/// may have left the version as it was, so only the text can tell).
fn must_read(versions: &[Option<Version>; 2], seen: &Seen) -> bool {
    (0..2).any(|i| versions[i] != seen.versions[i] || !seen.settled[i])
}

/// The largest rules file read, `_redirects` or `_headers` (the IPFS
/// specification's limit for `_redirects`).
pub const MAX_FILE: usize = 64 * 1024;

/// A rules file's text; or why none of it applies: it cannot be read, is
/// over `MAX_FILE` (rather than a part cut at a place no one chose), or is
/// not UTF-8.
fn read(path: &Path) -> Result<String, String> {
    let mut bytes = Vec::new();
    let limit = MAX_FILE as u64 + 1;
    if let Err(e) = File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes)) {
        return Err(format!("cannot read it: {e}"));
    }
    if bytes.len() > MAX_FILE {
        return Err("over the 64 KiB a rules file may hold".into());
    }
    match String::from_utf8(bytes) {
        // A byte-order mark, as some Windows editors write.
        Ok(text) => Ok(text
            .strip_prefix('\u{feff}')
            .map(String::from)
            .unwrap_or(text)),
        Err(_) => Err("not UTF-8 text".into()),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_read_before_its_version_settled_is_read_again() {
        let version = Some(Version {
            identity: [1, 2],
            len: 10,
            modified: (100, 0),
            changed: Some((100, 0)),
        });
        let seen = |settled| Seen {
            versions: [version, None],
            settled,
            ..Seen::default()
        };
        assert!(!must_read(&[version, None], &seen([true, true])));
        // The same version, but read while a write could still hide in it.
        assert!(must_read(&[version, None], &seen([false, true])));
        assert!(must_read(&[None, None], &seen([true, true])));
    }
}
