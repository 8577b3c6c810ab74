//! The sweeper: a thread that, while the cache holds files open, looks at
//! their routes every `SWEEP` and lets go of files deleted or replaced, so
//! their disk space is freed with no request for them. It sleeps while the
//! cache holds none, and ends with the cache.
//!
//! Part of `cache`; imports std only.
#![forbid(unsafe_code)]

use std::sync::Weak;
use std::thread::{self, Thread};
use std::time::Duration;

use crate::fs::cache::FileCache;
use crate::fs::cache::route::Place;
use crate::fs::version::Version;

/// How often the sweeper looks for deleted or replaced open files.
const SWEEP: Duration = Duration::from_secs(1);

impl FileCache {
    /// Drops the routes to open files that no longer lead to the version
    /// cached (deleted, replaced, edited), and the files no route leads to
    /// any more. Says whether files are still held open.
    fn sweep(&self) -> bool {
        let open: Vec<(Box<str>, Place)> = {
            let state = self.read();
            if state.open == 0 {
                return false;
            }
            state
                .routes
                .iter()
                .filter(|(_, route)| route.entry.is_open())
                .map(|(key, route)| (key.clone(), route.place.clone()))
                .collect()
        };
        let stale: Vec<(Box<str>, Version)> = open
            .into_iter()
            .filter(|(_, place)| place.current().is_none())
            .map(|(key, place)| (key, place.version))
            .collect();
        let mut state = self.write();
        for (key, version) in &stale {
            state.remove_route(key, Some(version));
        }
        state.open > 0
    }

    /// Starts the thread that sweeps the cache while it holds files open
    /// and sleeps while it holds none. It ends with the cache.
    #[inline(never)]
    pub(super) fn start_sweeper(&self) -> Option<Thread> {
        let cache = Weak::clone(&self.me);
        let spawned = thread::Builder::new()
            .name("cache-sweeper".into())
            .spawn(move || {
                loop {
                    let Some(cache) = cache.upgrade() else { return };
                    let holding = cache.sweep();
                    drop(cache);
                    if holding {
                        thread::park_timeout(SWEEP);
                    } else {
                        thread::park();
                    }
                }
            });
        match spawned {
            Ok(handle) => Some(handle.thread().clone()),
            Err(e) => {
                log::warn!(
                    "cannot start the file cache's sweeper ({e}): deleted files it keeps open \
                     are closed only when their path is asked for again"
                );
                None
            }
        }
    }
}

impl Drop for FileCache {
    /// Wakes the sweeper, which then finds the cache gone and ends.
    fn drop(&mut self) {
        if let Some(Some(sweeper)) = self.sweeper.get() {
            sweeper.unpark();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::fs::cache::tests::{TempDir, admit, counts, hit};
    use crate::fs::cache::*;
    use std::fs;

    #[test]
    fn deleted_and_replaced_open_files_are_swept() {
        if !sys::KEEP_FILES_OPEN {
            return;
        }
        let dir = TempDir::new("sweep");
        let cache = FileCache::new(MAX_OPEN);
        let content = vec![b'v'; MAX_FILE as usize + 1];
        let (a, b, c) = (
            dir.write("a.bin", &content),
            dir.write("b.bin", &content),
            dir.write("c.bin", &content),
        );
        let small = dir.write("small.txt", b"small");
        for (key, path) in [("/a.bin", &a), ("/b.bin", &b), ("/c.bin", &c)] {
            admit(&cache, key, path).unwrap();
        }
        admit(&cache, "/small.txt", &small).unwrap();
        assert!(cache.sweep());
        assert_eq!(counts(&cache).open, 3);
        // Deleted, replaced by a rename, and left alone.
        fs::remove_file(&a).unwrap();
        fs::rename(dir.write("new.bin", &content), &b).unwrap();
        assert!(cache.sweep());
        let c_ = counts(&cache);
        assert_eq!((c_.open, c_.files, c_.routes), (1, 2, 2));
        assert!(hit(&cache, "/c.bin").is_some());
        // Out of descriptors: every open file goes, the bytes stay.
        assert_eq!(cache.close_open_files(), 1);
        assert!(!cache.sweep());
        assert!(hit(&cache, "/c.bin").is_none());
        assert!(hit(&cache, "/small.txt").is_some());
    }
}
