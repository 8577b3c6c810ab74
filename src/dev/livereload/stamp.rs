//! Stamps: what is on disk at a path, as one number to compare with what was
//! there when the path was served. A file's stamp is its version (the one the
//! file cache and the `ETag` use), hashed; a folder's is its entries as a
//! listing shows them, hashed; nothing there is `None`.
//!
//! Owns `Stamp`, `stamp` and `file_stamp`. May import std and `crate::fs`
//! (as all of `dev/` may import `fs`, `http` and `sys`, never `serve` or
//! `net`); nothing from its sibling modules.
#![forbid(unsafe_code)]

use std::fs::{self, Metadata};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use crate::fs::version::Version;

/// What was on disk at a path: a hash of a file's identity, size and time,
/// or of a folder's entries; `None` when nothing was there.
pub(super) type Stamp = Option<u64>;

/// What is at `path` now: a file's stamp, a folder's (its entries, as a
/// listing shows them), or `None`.
pub(super) fn stamp(path: &Path) -> Stamp {
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
pub(super) fn file_stamp(metadata: &Metadata) -> u64 {
    let mut hasher = DefaultHasher::new();
    Version::of(metadata).hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

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
}
