//! The file system side: from a target's path to a file under the root
//! (`resolve`, the security boundary), the file cache that skips that work
//! for files already served (`cache`), and the one definition of a file's
//! version (`version`) that the cache, the ETag and live reload share.
//!
//! May import `sys`, and from `http` its vocabulary only (errors,
//! validators, dates, media types, the target): never the request parser or
//! the response writer. Nothing here knows of requests or connections.
#![forbid(unsafe_code)]

pub mod cache;
pub mod resolve;
pub mod version;

#[cfg(test)]
mod fuzz_tests;

/// What unit tests across the crate share: a folder of a test's own.
#[cfg(test)]
pub(crate) mod testing {
    use std::fs::{self, File};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, SystemTime};

    /// A folder under the system's temporary one, of its own even when
    /// tests run at once or one test makes several; removed when dropped.
    pub struct TempDir(pub PathBuf);

    impl TempDir {
        pub fn new(name: &str) -> TempDir {
            static MADE: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "tinyhttpd-unit-{name}-{}-{}",
                std::process::id(),
                MADE.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(fs::canonicalize(dir).unwrap())
        }

        /// Writes `name` (its folders made as needed) and says where.
        pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let path = self.0.join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, bytes).unwrap();
            path
        }

        /// Writes `name` with its modification time set to `secs` after the
        /// epoch, whenever it is written.
        pub fn write_dated(&self, name: &str, bytes: &[u8], secs: u64) -> PathBuf {
            let path = self.write(name, bytes);
            File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
                .unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}
