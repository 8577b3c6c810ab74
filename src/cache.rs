//! The file cache: the bytes of small files already served, and larger
//! ones kept open, so that serving one again costs one `stat` of its path
//! instead of opening, reading and closing it.
//!
//! An entry is used only while that `stat` shows the very file that was
//! read: the same device and inode, size, modification time and change time
//! (to the nanosecond, as the ETag says it). An edit in place changes the
//! modification time, a file saved anew and renamed over the old one is
//! another inode, a link pointed elsewhere leads to another inode (the path
//! stat'ed is the one requested, links not yet followed), and `chmod`,
//! renaming or linking the file changes its change time. A file modified
//! within the last second is not cached at all: a writer could still change
//! it within the same tick of the file system's clock, which no stamp would
//! show.
//!
//! So a hit answers exactly as the slow path would, but for one case: a
//! folder moved out of the root by its owner and linked back in from there
//! still serves the bytes its files had while they were inside, until one of
//! them changes. Nothing that was never inside the root can be served.
//!
//! Entries are keyed by the request's path as it came (still
//! percent-encoded), which names the same file through the same checks every
//! time. The cache holds at most `MAX_ENTRIES` entries, `MAX_BYTES` of small
//! files and `MAX_OPEN` open ones; when a new entry would pass a bound,
//! entries are dropped in the map's (arbitrary) order. Windows keeps no file open (see
//! `sys::KEEP_FILES_OPEN`).
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use crate::conditional::Validators;
use crate::mime::content_type;
use crate::response::http_date;
use crate::sys;

/// Files up to this size are cached as bytes: those a response copies into
/// its write buffer anyway (see `response`). Larger ones are kept open.
pub const MAX_FILE: u64 = 16 * 1024;
/// The most bytes all entries hold together.
const MAX_BYTES: usize = 8 * 1024 * 1024;
/// The most files entries keep open (the server raises its own limit on
/// open files to the hard limit, often 1,048,576 and rarely below 4,096).
const MAX_OPEN: usize = 256;
/// Longer request paths are not cached.
const MAX_KEY: usize = 1024;
/// The most entries: bytes alone would not bound them, as empty files weigh
/// nothing and one file has many request paths (`/a`, `//a`, `/%61`).
const MAX_ENTRIES: usize = 4096;
/// How long after its last modification a file is left uncached.
const SETTLE: Duration = Duration::from_secs(1);

/// What tells one state of a file from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    identity: [u64; 2],
    len: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl Stamp {
    fn of(metadata: &Metadata) -> Stamp {
        Stamp {
            identity: sys::file_identity(metadata),
            len: metadata.len(),
            modified: sys::modified_parts(metadata),
            changed: sys::changed_parts(metadata),
        }
    }
}

/// A cached file.
#[derive(Debug)]
pub struct Entry {
    /// The path that is stat'ed to check the entry: the root and the
    /// request's segments (and the index file's name for a folder), links
    /// not resolved.
    lookup: PathBuf,
    /// Where the file was found, links resolved: its type and live reload's
    /// watch go by it, as for a file that is not cached.
    pub path: PathBuf,
    stamp: Stamp,
    pub data: Data,
    /// What a response says of the file, worked out once: its type, its
    /// validators and its Last-Modified field's value. The stamp pins the
    /// metadata they come from.
    pub content_type: Cow<'static, str>,
    pub validators: Validators,
    pub last_modified: Option<String>,
}

/// What a cache entry holds of the file's content.
#[derive(Debug)]
pub enum Data {
    /// A small file's bytes.
    Bytes(Box<[u8]>),
    /// A larger file, kept open: it is sent from the page cache as before,
    /// without opening and closing it each time. Read only at explicit
    /// offsets (the entry is shared between threads).
    Open(File),
}

impl Entry {
    /// What the entry counts against the cache's bounds: bytes, open files.
    fn weight(&self) -> (usize, usize) {
        match &self.data {
            Data::Bytes(bytes) => (bytes.len(), 0),
            Data::Open(_) => (0, 1),
        }
    }
}

#[derive(Debug, Default)]
pub struct FileCache {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<Box<str>, Arc<Entry>>,
    /// The bytes all entries hold.
    bytes: usize,
    /// The files entries hold open.
    open: usize,
}

impl State {
    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.entries.remove(key) {
            let (bytes, open) = entry.weight();
            self.bytes -= bytes;
            self.open -= open;
        }
    }

    /// Drops entries (in the map's order) until one weighing `weight` fits.
    fn make_room(&mut self, (bytes, open): (usize, usize)) {
        while self.bytes + bytes > MAX_BYTES
            || self.open + open > MAX_OPEN
            || self.entries.len() >= MAX_ENTRIES
        {
            let Some(victim) = self.entries.keys().next().cloned() else {
                return;
            };
            self.remove(&victim);
        }
    }
}

impl FileCache {
    /// The entry for the request path `key` and the file's metadata now, if
    /// the file is still the one cached. One that changed is dropped.
    // Out of line: `fs::metadata` takes a deep frame, which must not stay
    // on the stack under the response being made.
    #[inline(never)]
    pub fn get(&self, key: &str) -> Option<(Arc<Entry>, Metadata)> {
        let entry = {
            let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(state.entries.get(key)?)
        };
        match fs::metadata(&entry.lookup) {
            Ok(metadata) if metadata.is_file() && Stamp::of(&metadata) == entry.stamp => {
                Some((entry, metadata))
            }
            _ => {
                let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
                if state
                    .entries
                    .get(key)
                    .is_some_and(|current| Arc::ptr_eq(current, &entry))
                {
                    state.remove(key);
                }
                None
            }
        }
    }

    /// Takes `file` (just opened and stat'ed as `metadata`, found at `path`
    /// for the request path `key`) into the cache if it has settled: a small
    /// one's bytes, a larger one open (where `sys::KEEP_FILES_OPEN`). The
    /// file comes back when it is not taken, to be served as usual. `lookup`
    /// gives the path to check it by.
    pub fn admit(
        &self,
        key: &str,
        lookup: impl FnOnce() -> Option<PathBuf>,
        path: &Path,
        file: File,
        metadata: &Metadata,
    ) -> Result<Arc<Entry>, File> {
        let len = metadata.len();
        let settled = metadata
            .modified()
            .ok()
            .and_then(|modified| SystemTime::now().duration_since(modified).ok())
            .is_some_and(|age| age >= SETTLE);
        if !settled || key.len() > MAX_KEY || (len > MAX_FILE && !sys::KEEP_FILES_OPEN) {
            return Err(file);
        }
        let Some(lookup) = lookup() else {
            return Err(file);
        };
        let data = if len > MAX_FILE {
            Data::Open(file)
        } else {
            let mut bytes = vec![0; len as usize];
            if sys::read_exact_at(&file, &mut bytes, 0).is_err() {
                return Err(file);
            }
            Data::Bytes(bytes.into())
        };
        let entry = Arc::new(Entry {
            lookup,
            path: path.to_path_buf(),
            stamp: Stamp::of(metadata),
            data,
            content_type: content_type(path),
            validators: Validators::of(metadata),
            last_modified: metadata.modified().ok().and_then(http_date),
        });
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.remove(key);
        state.make_room(entry.weight());
        let (bytes, open) = entry.weight();
        state.bytes += bytes;
        state.open += open;
        state.entries.insert(key.into(), Arc::clone(&entry));
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir =
                std::env::temp_dir().join(format!("tinyhttpd-cache-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }

        /// Writes `name` and dates it a minute back, so it has settled.
        fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let path = self.0.join(name);
            let mut file = File::create(&path).unwrap();
            file.write_all(bytes).unwrap();
            file.set_modified(SystemTime::now() - Duration::from_secs(60))
                .unwrap();
            path
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn admit(cache: &FileCache, key: &str, path: &Path) -> Option<Vec<u8>> {
        let file = File::open(path).unwrap();
        let metadata = file.metadata().unwrap();
        let entry = cache
            .admit(key, || Some(path.to_path_buf()), path, file, &metadata)
            .ok()?;
        assert_eq!(entry.validators, Validators::of(&metadata));
        assert_eq!(entry.content_type, content_type(path));
        Some(bytes(&entry))
    }

    fn hit(cache: &FileCache, key: &str) -> Option<Vec<u8>> {
        cache.get(key).map(|(entry, _)| bytes(&entry))
    }

    /// An entry's content, read from the open file if it is one.
    fn bytes(entry: &Entry) -> Vec<u8> {
        match &entry.data {
            Data::Bytes(bytes) => bytes.to_vec(),
            Data::Open(file) => {
                let mut bytes = vec![0; entry.stamp.len as usize];
                sys::read_exact_at(file, &mut bytes, 0).unwrap();
                bytes
            }
        }
    }

    #[test]
    fn a_hit_is_the_file_as_it_is_now() {
        let dir = Dir::new("hit");
        let cache = FileCache::default();
        let path = dir.write("a.txt", b"first");
        assert_eq!(
            admit(&cache, "/a.txt", &path).as_deref(),
            Some(&b"first"[..])
        );
        assert_eq!(hit(&cache, "/a.txt").as_deref(), Some(&b"first"[..]));
        assert_eq!(hit(&cache, "/b.txt"), None);

        // Same size, back-dated again to the same second: the nanoseconds
        // and the change time still tell.
        dir.write("a.txt", b"again");
        assert_eq!(hit(&cache, "/a.txt"), None);
        assert_eq!(cache.state.read().unwrap().bytes, 0);

        // Renamed over: another inode.
        let path = dir.write("a.txt", b"third");
        admit(&cache, "/a.txt", &path).unwrap();
        let other = dir.write("new.txt", b"third");
        fs::rename(&other, &path).unwrap();
        assert_eq!(hit(&cache, "/a.txt"), None);

        // Removed.
        admit(&cache, "/a.txt", &path).unwrap();
        fs::remove_file(&path).unwrap();
        assert_eq!(hit(&cache, "/a.txt"), None);
    }

    #[test]
    fn fresh_files_are_not_cached_and_large_ones_are_kept_open() {
        let dir = Dir::new("fresh");
        let cache = FileCache::default();
        let path = dir.0.join("fresh.txt");
        fs::write(&path, b"just written").unwrap();
        assert_eq!(admit(&cache, "/fresh.txt", &path), None);
        assert_eq!(hit(&cache, "/fresh.txt"), None);

        let small = dir.write("small.bin", &vec![7; MAX_FILE as usize]);
        assert!(admit(&cache, "/small.bin", &small).is_some());
        let big_bytes = vec![8; MAX_FILE as usize + 1];
        let big = dir.write("big.bin", &big_bytes);
        let kept = admit(&cache, "/big.bin", &big);
        if sys::KEEP_FILES_OPEN {
            assert_eq!(kept.as_deref(), Some(&big_bytes[..]));
            assert_eq!(hit(&cache, "/big.bin").as_deref(), Some(&big_bytes[..]));
            let state = cache.state.read().unwrap();
            assert_eq!((state.bytes, state.open), (MAX_FILE as usize, 1));
        } else {
            assert_eq!(kept, None);
        }
    }

    #[test]
    fn the_cache_stays_within_its_bounds() {
        let dir = Dir::new("bound");
        let cache = FileCache::default();
        let path = dir.write("16k.bin", &vec![1; MAX_FILE as usize]);
        let fits = MAX_BYTES / MAX_FILE as usize;
        for i in 0..fits + 10 {
            admit(&cache, &format!("/{i}"), &path).unwrap();
        }
        {
            let state = cache.state.read().unwrap();
            assert_eq!(state.bytes, fits * MAX_FILE as usize);
            assert_eq!(state.entries.len(), fits);
        }
        let cache = FileCache::default();
        let empty = dir.write("empty.txt", b"");
        for i in 0..MAX_ENTRIES + 10 {
            admit(&cache, &format!("/{i}/empty.txt"), &empty).unwrap();
        }
        assert_eq!(cache.state.read().unwrap().entries.len(), MAX_ENTRIES);
        if sys::KEEP_FILES_OPEN {
            let cache = FileCache::default();
            let big = dir.write("big.bin", &vec![1; MAX_FILE as usize + 1]);
            for i in 0..MAX_OPEN + 10 {
                admit(&cache, &format!("/big{i}"), &big).unwrap();
            }
            let state = cache.state.read().unwrap();
            assert_eq!(state.open, MAX_OPEN);
            let open = state
                .entries
                .values()
                .filter(|e| matches!(e.data, Data::Open(_)));
            assert_eq!(open.count(), MAX_OPEN);
            assert!(state.bytes <= MAX_BYTES);
        }
    }
}
