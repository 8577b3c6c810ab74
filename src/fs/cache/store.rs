//! The file cache's two maps and its bounds: routes by request path,
//! cached files by version, the bytes and descriptors they hold, and the
//! eviction of the least recently used.
//!
//! Imports `route` beside it and `fs::version`.
#![forbid(unsafe_code)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::fs::cache::route::{CachedFile, Route};
use crate::fs::version::Version;

#[derive(Debug, Default)]
pub struct Store {
    /// By request path, as it came.
    pub routes: HashMap<Box<str>, Arc<Route>>,
    /// By version; every route's entry is here.
    pub files: HashMap<Version, Arc<CachedFile>>,
    /// The bytes all entries hold.
    pub bytes: usize,
    /// The files entries hold open.
    pub open: usize,
}

impl Store {
    pub fn insert_entry(&mut self, entry: Arc<CachedFile>) {
        let (bytes, open) = entry.weight();
        self.bytes += bytes;
        self.open += open;
        self.files.insert(entry.version, entry);
    }

    /// Removes the entries `doomed` picks, and the routes to them.
    pub fn remove_entries(&mut self, doomed: impl Fn(&Version, &CachedFile) -> bool) -> usize {
        let before = self.files.len();
        let (mut bytes, mut open) = (0, 0);
        self.files.retain(|version, entry| {
            let drop = doomed(version, entry);
            if drop {
                let (b, o) = entry.weight();
                bytes += b;
                open += o;
            }
            !drop
        });
        self.bytes -= bytes;
        self.open -= open;
        let files = &self.files;
        self.routes
            .retain(|_, route| files.contains_key(&route.place.version));
        before - self.files.len()
    }

    /// Removes the route at `key` (if it still leads to `only`, when
    /// given), and its entry if no other route leads there.
    pub fn remove_route(&mut self, key: &str, only: Option<&Version>) {
        let Some(current) = self.routes.get(key) else {
            return;
        };
        if only.is_some_and(|version| *version != current.place.version) {
            return;
        }
        let Some(route) = self.routes.remove(key) else {
            return;
        };
        let version = route.place.version;
        if !self.routes.values().any(|r| r.place.version == version)
            && let Some(entry) = self.files.remove(&version)
        {
            let (bytes, open) = entry.weight();
            self.bytes -= bytes;
            self.open -= open;
        }
    }

    pub fn counts(&self) -> Counts {
        Counts {
            bytes: self.bytes,
            open: self.open,
            files: self.files.len(),
            routes: self.routes.len(),
        }
    }

    /// Evicts the least recently used entries of those `kind` picks, with
    /// their routes, until `fits` holds. Evicts at least a sixteenth of
    /// them at once, so that a cache being filled with new files does not
    /// sort its entries for every one.
    pub fn evict(&mut self, kind: impl Fn(&CachedFile) -> bool, fits: impl Fn(&Counts) -> bool) {
        let mut left = self.counts();
        if fits(&left) {
            return;
        }
        let mut candidates: Vec<(u64, Version)> = self
            .files
            .iter()
            .filter(|(_, entry)| kind(entry))
            .map(|(version, entry)| (entry.used.load(Ordering::Relaxed), *version))
            .collect();
        candidates.sort_unstable_by_key(|&(used, _)| used);
        let mut routes_to: HashMap<Version, usize> = HashMap::new();
        for route in self.routes.values() {
            *routes_to.entry(route.place.version).or_default() += 1;
        }
        let at_least = (candidates.len() / 16).max(1);
        let mut doomed = HashSet::new();
        for (_, version) in candidates {
            if doomed.len() >= at_least && fits(&left) {
                break;
            }
            if let Some(entry) = self.files.get(&version) {
                let (bytes, open) = entry.weight();
                left.bytes -= bytes;
                left.open -= open;
                left.files -= 1;
                left.routes -= routes_to.get(&version).copied().unwrap_or(0);
            }
            doomed.insert(version);
        }
        self.remove_entries(|version, _| doomed.contains(version));
    }
}

/// What the cache's bounds are about.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub bytes: usize,
    pub open: usize,
    pub files: usize,
    pub routes: usize,
}

#[cfg(test)]
mod tests {
    use crate::fs::cache::tests::{TempDir, admit, counts, hit};
    use crate::fs::cache::*;

    #[test]
    fn the_least_recently_used_files_go_first() {
        let dir = TempDir::new("lru");
        // Room for two open files.
        let cache = FileCache::new(2);
        let big = |name: &str| dir.write(name, &vec![b'x'; MAX_FILE as usize + 1]);
        let (a, b, c) = (big("a.bin"), big("b.bin"), big("c.bin"));
        if sys::KEEP_FILES_OPEN {
            admit(&cache, "/a.bin", &a).unwrap();
            admit(&cache, "/b.bin", &b).unwrap();
            assert!(hit(&cache, "/a.bin").is_some());
            admit(&cache, "/c.bin", &c).unwrap();
            assert!(hit(&cache, "/b.bin").is_none(), "b was used least recently");
            assert!(hit(&cache, "/a.bin").is_some());
            assert!(hit(&cache, "/c.bin").is_some());
            assert_eq!(counts(&cache).open, 2);
        }

        // Small files, past the byte bound: the ones never used again go,
        // the one used after them stays.
        let cache = FileCache::new(MAX_OPEN);
        let fits = MAX_BYTES / MAX_FILE as usize;
        let paths: Vec<PathBuf> = (0..fits + 10)
            .map(|i| dir.write(&format!("{i}.bin"), &i.to_le_bytes().repeat(2048)))
            .collect();
        for (i, path) in paths.iter().enumerate() {
            admit(&cache, &format!("/{i}.bin"), path).unwrap();
            if i == 0 {
                // Used again at once: more recently than all but itself.
                assert!(hit(&cache, "/0.bin").is_some());
            }
            if i == fits / 2 {
                assert!(hit(&cache, "/0.bin").is_some());
            }
        }
        let c = counts(&cache);
        assert!(c.bytes <= MAX_BYTES);
        assert!(c.files > fits - fits / 16 - 2, "{c:?}");
        assert!(hit(&cache, "/0.bin").is_some());
        assert!(hit(&cache, "/1.bin").is_none());
        assert!(hit(&cache, &format!("/{}.bin", fits + 9)).is_some());
    }

    #[test]
    fn entries_and_routes_are_bounded() {
        let dir = TempDir::new("bounds");
        let cache = FileCache::new(MAX_OPEN);
        for i in 0..MAX_ENTRIES + 10 {
            let path = dir.write(&format!("{i}.txt"), b"");
            admit(&cache, &format!("/{i}.txt"), &path).unwrap();
        }
        let files = counts(&cache).files;
        // Evicted a sixteenth at once.
        assert!(
            (MAX_ENTRIES - MAX_ENTRIES / 16..=MAX_ENTRIES).contains(&files),
            "{files}"
        );
        // Many routes to one file.
        let cache = FileCache::new(MAX_OPEN);
        let path = dir.write("one.txt", b"one");
        for i in 0..MAX_ROUTES + 10 {
            admit(&cache, &format!("/{i}/one.txt"), &path).unwrap();
            assert!(counts(&cache).routes <= MAX_ROUTES);
        }
        assert!(counts(&cache).files <= 1);
    }
}
