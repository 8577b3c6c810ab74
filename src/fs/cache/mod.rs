//! The file cache: the bytes of small files already served, and larger
//! ones kept open, so that serving one again costs one `stat` of its path
//! instead of opening, reading and closing it.
//!
//! Two maps. A route leads from a request path as it came (still
//! percent-encoded, so a hit costs no decoding) to the file it named: the
//! path to check it by, where it was found and its type. An entry is a
//! file's content, one per version of a file (see `version`), however many
//! routes lead to it: `/a`, `//a`, `/%61`, `/docs/` and `/docs/index.html`
//! are routes of their own, to one copy or one descriptor.
//!
//! A hit answers exactly as the slow path would. A route is used only while
//! a `stat` of its path shows the very version it was admitted with (same
//! identity, size, modification and change time), and while that path
//! still leads where it led: one that went through links is resolved again
//! (a link pointed at a hard link of another name is the same inode under
//! another type), and one that did not is checked with `lstat`, so a link
//! put in its place is noticed. A file is admitted only once its version
//! has settled, so that no later write can leave every field as it was.
//! One case is the slow path's and not the cache's: a folder moved out of
//! the root by its owner and linked back in from there keeps serving the
//! files it had while it was inside, until they change. Nothing that was
//! never inside the root is served.
//!
//! Bounds: `MAX_ENTRIES` entries, `MAX_ROUTES` routes, `MAX_BYTES` of small
//! files, and as many open files as the descriptor budget gives the cache
//! (see `main`). Past a bound the least recently used entries go, with their
//! routes. A sweeper thread looks at the routes to open files every `SWEEP`
//! while there are any, and closes files that were deleted or replaced,
//! so their disk space is freed with no request for them. Out of
//! descriptors, `close_open_files` gives them all back. Windows keeps no
//! file open (see `sys::KEEP_FILES_OPEN`).
#![forbid(unsafe_code)]

use std::fs::{File, Metadata};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::thread::Thread;
use std::time::SystemTime;

mod route;
mod store;
mod sweeper;

use crate::fs::cache::route::Place;
pub use crate::fs::cache::route::{CachedFile, Data, Route};
use crate::fs::cache::store::Store;
use crate::fs::version::{self, Version};
use crate::http::INLINE_BODY;
use crate::http::date::http_date;
use crate::http::mime::content_type;
use crate::sys;

/// Files up to this size are cached as bytes: those a response sends from
/// memory (`http::INLINE_BODY`). Larger ones are kept open, for `sendfile`.
pub const MAX_FILE: u64 = INLINE_BODY;
/// The most files kept open when the descriptor budget allows it.
pub const MAX_OPEN: usize = 256;
/// The most bytes all entries hold together.
const MAX_BYTES: usize = 8 * 1024 * 1024;
/// Longer request paths are not cached.
const MAX_KEY: usize = 1024;
/// The most entries: bytes alone would not bound them, as empty files weigh
/// nothing.
const MAX_ENTRIES: usize = 4096;
/// The most routes: spellings, links and index files can lead many paths
/// to one file.
const MAX_ROUTES: usize = 2 * MAX_ENTRIES;

/// A route that still holds, and the file's metadata now.
#[derive(Debug)]
pub struct Hit {
    pub route: Arc<Route>,
    pub metadata: Metadata,
}

#[derive(Debug)]
pub struct FileCache {
    state: RwLock<Store>,
    /// The most files kept open: this cache's share of the descriptors.
    max_open: usize,
    /// Counts uses, to find the least recently used entries.
    clock: AtomicU64,
    /// The cache itself, for the sweeper thread to hold without keeping
    /// the cache alive.
    me: Weak<FileCache>,
    /// The sweeper, started when the first file is kept open and woken
    /// when another is (`None` if it could not be started).
    sweeper: OnceLock<Option<Thread>>,
}

impl FileCache {
    /// A cache that keeps at most `max_open` files open.
    pub fn new(max_open: usize) -> Arc<FileCache> {
        Arc::new_cyclic(|me| FileCache {
            state: RwLock::new(Store::default()),
            max_open,
            clock: AtomicU64::new(0),
            me: Weak::clone(me),
            sweeper: OnceLock::new(),
        })
    }

    /// The store to change, even if a thread panicked while holding it, as
    /// every lock in the server is taken: each change to the store is
    /// complete before anything can panic, so the data is still good.
    fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The store to read, likewise.
    fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The route at the request path `key`, if it still leads to the
    /// version cached. One that no longer does is dropped.
    // Out of line (see `net::listener::STACK_SIZE`): `fs::metadata` takes a
    // deep frame.
    #[inline(never)]
    pub fn get(&self, key: &str) -> Option<Hit> {
        let route = {
            let state = self.read();
            Arc::clone(state.routes.get(key)?)
        };
        match route.place.current() {
            Some(metadata) => {
                let now = self.clock.fetch_add(1, Ordering::Relaxed);
                route.entry.used.store(now, Ordering::Relaxed);
                Some(Hit { route, metadata })
            }
            None => {
                self.write().remove_route(key, Some(&route.place.version));
                None
            }
        }
    }

    /// Takes `file` (just opened and stat'ed as `metadata`, found at `path`
    /// for the request path `key`) into the cache if its version
    /// has settled: a small one's bytes, a larger one open (where
    /// `sys::KEEP_FILES_OPEN` and the budget allow). A version cached
    /// under another route already is shared, and `file` closed. The file
    /// comes back when it is not taken, to be served as usual. `lookup`
    /// gives the path to check the route by.
    pub fn admit(
        &self,
        key: &str,
        lookup: impl FnOnce() -> Option<PathBuf>,
        path: &Path,
        file: File,
        metadata: &Metadata,
    ) -> Result<Arc<Route>, File> {
        self.admit_at(SystemTime::now(), key, lookup, path, file, metadata)
    }

    /// `admit`, with the time it is now.
    fn admit_at(
        &self,
        now: SystemTime,
        key: &str,
        lookup: impl FnOnce() -> Option<PathBuf>,
        path: &Path,
        file: File,
        metadata: &Metadata,
    ) -> Result<Arc<Route>, File> {
        let version = Version::of(metadata);
        let keep_open = version.len > MAX_FILE;
        if key.len() > MAX_KEY
            || !version.has_settled(now)
            || (keep_open && (!sys::KEEP_FILES_OPEN || self.max_open == 0))
        {
            return Err(file);
        }
        let Some(lookup) = lookup() else {
            return Err(file);
        };
        let cached = {
            let state = self.read();
            state.files.get(&version).cloned()
        };
        let entry = match cached {
            Some(entry) => entry,
            None => Arc::new(CachedFile {
                version,
                data: if keep_open {
                    Data::Open(Arc::new(file))
                } else {
                    let mut bytes = vec![0; version.len as usize];
                    if sys::read_exact_at(&file, &mut bytes, 0).is_err() {
                        return Err(file);
                    }
                    Data::Bytes(bytes.into())
                },
                validators: version::validators(metadata),
                last_modified: metadata.modified().ok().and_then(http_date),
                used: AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed)),
            }),
        };
        let mut state = self.write();
        state.remove_route(key, None);
        // Another thread may have cached this version meanwhile: one entry.
        let entry = match state.files.get(&version) {
            Some(existing) => Arc::clone(existing),
            None => {
                let (bytes, open) = entry.weight();
                let max_open = self.max_open;
                state.evict(CachedFile::is_open, |c| c.open + open <= max_open);
                state.evict(|e| !e.is_open(), |c| c.bytes + bytes <= MAX_BYTES);
                state.evict(|_| true, |c| c.files < MAX_ENTRIES);
                state.insert_entry(Arc::clone(&entry));
                entry
            }
        };
        state.evict(|_| true, |c| c.routes < MAX_ROUTES);
        let route = Arc::new(Route {
            place: Place {
                linked: lookup != path,
                lookup,
                path: path.to_path_buf(),
                version,
            },
            content_type: content_type(path),
            entry: Arc::clone(&entry),
        });
        // The eviction may have taken this very entry (a cache whose bound
        // is a single file): then the route is not kept either.
        if state.files.contains_key(&version) {
            state.routes.insert(key.into(), Arc::clone(&route));
        }
        let opened = entry.is_open();
        drop(state);
        if opened && let Some(sweeper) = self.sweeper.get_or_init(|| self.start_sweeper()) {
            sweeper.unpark();
        }
        Ok(route)
    }

    /// Closes every file the cache holds open (a response still sending
    /// one keeps it until it is done), and says how many there were: for
    /// when the process has run out of descriptors.
    pub fn close_open_files(&self) -> usize {
        self.write().remove_entries(|_, entry| entry.is_open())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::fs::cache::store::Counts;
    pub use crate::fs::testing::TempDir;
    use std::fs;
    use std::time::Duration;

    /// A time at which every file written by the test has settled.
    pub fn later() -> SystemTime {
        SystemTime::now() + Duration::from_secs(3600)
    }

    /// Admits `path` under `key`, checked by `lookup` (the path itself
    /// unless given), as if an hour had passed.
    pub fn admit_via(cache: &FileCache, key: &str, lookup: &Path, path: &Path) -> Option<Vec<u8>> {
        let file = File::open(path).unwrap();
        let metadata = file.metadata().unwrap();
        let route = cache
            .admit_at(
                later(),
                key,
                || Some(lookup.to_path_buf()),
                path,
                file,
                &metadata,
            )
            .ok()?;
        assert_eq!(route.entry.validators, version::validators(&metadata));
        assert_eq!(route.content_type, content_type(path));
        Some(bytes(&route.entry))
    }

    pub fn admit(cache: &FileCache, key: &str, path: &Path) -> Option<Vec<u8>> {
        admit_via(cache, key, path, path)
    }

    pub fn hit(cache: &FileCache, key: &str) -> Option<Vec<u8>> {
        cache.get(key).map(|hit| bytes(&hit.route.entry))
    }

    /// An entry's content, read from the open file if it is one.
    pub fn bytes(entry: &CachedFile) -> Vec<u8> {
        match &entry.data {
            Data::Bytes(bytes) => bytes.to_vec(),
            Data::Open(file) => {
                let mut bytes = vec![0; entry.version.len as usize];
                sys::read_exact_at(file, &mut bytes, 0).unwrap();
                bytes
            }
        }
    }

    pub fn counts(cache: &FileCache) -> Counts {
        cache.state.read().unwrap().counts()
    }

    #[test]
    fn a_hit_is_the_file_as_it_is_now() {
        let dir = TempDir::new("hit");
        let cache = FileCache::new(MAX_OPEN);
        let path = dir.write_dated("a.txt", b"first", 1_000);
        assert_eq!(
            admit(&cache, "/a.txt", &path).as_deref(),
            Some(&b"first"[..])
        );
        assert_eq!(hit(&cache, "/a.txt").as_deref(), Some(&b"first"[..]));
        assert_eq!(hit(&cache, "/b.txt"), None);

        // Same size, the modification time set back to the very same
        // second: the change time still tells (Unix). The wait lets the
        // clock it comes from tick.
        if cfg!(unix) {
            std::thread::sleep(Duration::from_millis(20));
            dir.write_dated("a.txt", b"again", 1_000);
            assert_eq!(hit(&cache, "/a.txt"), None);
            let c = counts(&cache);
            assert_eq!((c.bytes, c.files, c.routes), (0, 0, 0));
        }

        // Renamed over, with the same size and time: another inode (on
        // Windows the creation time stands in for one, and the file system
        // may carry the old one over to a file renamed into its name, so
        // there the time differs too).
        let path = dir.write_dated("a.txt", b"third", 2_000);
        admit(&cache, "/a.txt", &path).unwrap();
        let other = dir.write_dated("new.txt", b"third", if cfg!(unix) { 2_000 } else { 3_000 });
        fs::rename(&other, &path).unwrap();
        assert_eq!(hit(&cache, "/a.txt"), None);

        // Removed.
        admit(&cache, "/a.txt", &path).unwrap();
        fs::remove_file(&path).unwrap();
        assert_eq!(hit(&cache, "/a.txt"), None);
        assert_eq!(counts(&cache).files, 0);
    }

    #[test]
    fn only_settled_files_are_cached_and_large_ones_are_kept_open() {
        let dir = TempDir::new("settled");
        let cache = FileCache::new(MAX_OPEN);
        // Written just now, even if dated long ago: its change time is now.
        let path = dir.write_dated("fresh.txt", b"just written", 1_000);
        let file = File::open(&path).unwrap();
        let metadata = file.metadata().unwrap();
        let lookup = || Some(path.clone());
        let admitted = cache.admit("/fresh.txt", lookup, &path, file, &metadata);
        assert_eq!(admitted.is_ok(), !cfg!(unix));

        let small = dir.write("small.bin", &vec![7; MAX_FILE as usize]);
        assert!(admit(&cache, "/small.bin", &small).is_some());
        let big_bytes = vec![8; MAX_FILE as usize + 1];
        let big = dir.write("big.bin", &big_bytes);
        let kept = admit(&cache, "/big.bin", &big);
        if sys::KEEP_FILES_OPEN {
            assert_eq!(kept.as_deref(), Some(&big_bytes[..]));
            assert_eq!(hit(&cache, "/big.bin").as_deref(), Some(&big_bytes[..]));
            let c = counts(&cache);
            assert_eq!((c.open, c.files), (1, 2 + usize::from(!cfg!(unix))));
        } else {
            assert_eq!(kept, None);
        }
        // A budget that leaves the cache no descriptors keeps none open.
        let closed = FileCache::new(0);
        assert_eq!(admit(&closed, "/big.bin", &big), None);
        assert!(admit(&closed, "/small.bin", &small).is_some());
    }

    #[test]
    fn one_entry_per_file_whatever_the_route() {
        let dir = TempDir::new("routes");
        let cache = FileCache::new(MAX_OPEN);
        fs::create_dir(dir.0.join("d")).unwrap();
        let index = dir.write("d/index.html", &vec![b'i'; MAX_FILE as usize + 10]);
        for key in ["/d/", "/d/index.html"] {
            let kept = admit(&cache, key, &index);
            assert_eq!(kept.is_some(), sys::KEEP_FILES_OPEN, "{key}");
        }
        if sys::KEEP_FILES_OPEN {
            let c = counts(&cache);
            assert_eq!((c.files, c.routes, c.open), (1, 2, 1));
            let first = Arc::clone(&cache.get("/d/").unwrap().route.entry);
            let second = Arc::clone(&cache.get("/d/index.html").unwrap().route.entry);
            assert!(Arc::ptr_eq(&first, &second));
            // Gone from one route, the entry stays for the other; gone from
            // both, it is dropped.
            let mut state = cache.write();
            state.remove_route("/d/", None);
            assert_eq!((state.files.len(), state.routes.len()), (1, 1));
            state.remove_route("/d/index.html", None);
            assert_eq!(
                (state.files.len(), state.routes.len(), state.open),
                (0, 0, 0)
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_route_through_links_is_followed_again() {
        use std::os::unix::fs::symlink;
        let dir = TempDir::new("links");
        let css = dir.write("one.css", b"a{}");
        let js = dir.0.join("two.js");
        fs::hard_link(&css, &js).unwrap();
        let link = dir.0.join("theme");
        symlink("one.css", &link).unwrap();
        let cache = FileCache::new(MAX_OPEN);
        admit_via(&cache, "/theme", &link, &css).unwrap();
        assert!(hit(&cache, "/theme").is_some());
        // Pointed at the hard link: the same inode, under another name.
        fs::remove_file(&link).unwrap();
        symlink("two.js", &link).unwrap();
        assert!(hit(&cache, "/theme").is_none());

        // A route that went through no link: a link put in its file's
        // place, to the same inode, is a change of route.
        admit(&cache, "/one.css", &css).unwrap();
        assert!(hit(&cache, "/one.css").is_some());
        fs::remove_file(&css).unwrap();
        symlink("two.js", &css).unwrap();
        assert!(hit(&cache, "/one.css").is_none());
    }
}
