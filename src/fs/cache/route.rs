//! What the file cache holds: routes from request paths to cached files,
//! each route with the place it is checked by, and each cached file's
//! content (bytes, or the file kept open) and validators.
//!
//! Imports `fs::version`, `http`'s vocabulary and std.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fs::{self, File, Metadata};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::fs::version::Version;
use crate::http::conditional::Validators;

/// Where a request path led, and how to tell it still leads there.
#[derive(Debug)]
pub struct Route {
    pub place: Place,
    /// The file's type, from its name (`path`).
    pub content_type: Cow<'static, str>,
    pub entry: Arc<CachedFile>,
}

impl Route {
    /// Where the file was found, links resolved: its type, its
    /// precompressed variants and live reload's watch go by it, as for a
    /// file that is not cached.
    pub fn path(&self) -> &Path {
        &self.place.path
    }
}

/// What a route is checked by, apart from its entry: the sweeper checks
/// copies of these, so that it never holds an entry (and its open file)
/// beyond the cache's own.
#[derive(Debug, Clone)]
pub struct Place {
    /// The path that is checked on each use: the root and the request's
    /// segments (and the index file's name for a folder), links not
    /// resolved.
    pub lookup: PathBuf,
    /// Where the file was found, links resolved.
    pub path: PathBuf,
    /// Whether links led from `lookup` to `path`.
    pub linked: bool,
    /// The version the route was admitted with; its entry's.
    pub version: Version,
}

impl Place {
    /// The file's metadata now, if the path still leads to the version it
    /// led to.
    pub fn current(&self) -> Option<Metadata> {
        let metadata = if self.linked {
            // The links are followed again: they must still end where they
            // ended. The real path has no links left to follow.
            let real = fs::canonicalize(&self.lookup).ok()?;
            if real != self.path {
                return None;
            }
            fs::metadata(&real).ok()?
        } else {
            // Not following a link here: a link put in the file's place
            // is a change of route.
            fs::symlink_metadata(&self.lookup).ok()?
        };
        (metadata.is_file() && Version::of(&metadata) == self.version).then_some(metadata)
    }
}

/// A cached version of a file.
#[derive(Debug)]
pub struct CachedFile {
    pub version: Version,
    pub data: Data,
    /// What a response says of the file, worked out once: its validators
    /// and its Last-Modified field's value.
    pub validators: Validators,
    pub last_modified: Option<String>,
    /// When it was last used, by the cache's clock.
    pub used: AtomicU64,
}

/// What a cache entry holds of the file's content.
#[derive(Debug)]
pub enum Data {
    /// A small file's bytes.
    Bytes(Arc<[u8]>),
    /// A larger file, kept open: it is sent from the page cache as before,
    /// without opening and closing it each time. Read only at explicit
    /// offsets (the entry is shared between threads). A response sending
    /// it holds it open until it is done, even once the cache lets it go.
    Open(Arc<File>),
}

impl CachedFile {
    /// What the entry counts against the cache's bounds: bytes, open files.
    pub fn weight(&self) -> (usize, usize) {
        match &self.data {
            Data::Bytes(bytes) => (bytes.len(), 0),
            Data::Open(_) => (0, 1),
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self.data, Data::Open(_))
    }
}
