//! The served folder, and its bound: nothing outside it is ever opened,
//! whatever links lead there.
//!
//! Imports `http`'s error.
#![forbid(unsafe_code)]

use std::fs::{self, File, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use crate::fs::version::Version;
use crate::http::error::HttpError;

/// The folder being served, and how.
#[derive(Debug, Clone, Copy)]
pub struct ServedRoot<'a> {
    /// Its canonical path.
    pub path: &'a Path,
    /// The folder, open, for `openat2`; `None` where that is not available.
    pub dir: Option<&'a File>,
    /// The file served for a folder that contains it.
    pub index: &'a str,
    /// Whether dotfiles are served.
    pub hidden: bool,
    /// While the host's rules apply, the rules files (`RULES_FILES`) are
    /// withheld: these are the fingerprints of their versions
    /// (`Version::fingerprint`, 0 for a file that is not there), so a link
    /// to one, a hard link, or a name the file system reads as one (letter
    /// case, Unicode folding) is withheld too, and a file given a rules
    /// file's old inode is not. `None` when the rules do not apply.
    pub rules_files: Option<[u64; 2]>,
}

/// The host's rules files, which a host reads and never serves.
pub const RULES_FILES: [&str; 2] = ["_redirects", "_headers"];

impl ServedRoot<'_> {
    /// Whether the file at `path` (under the root, symlinks resolved), with
    /// `metadata`, is a rules file that must not be served: by its name at
    /// the root in any letter case, or by its version.
    pub fn withholds(&self, path: &Path, metadata: &Metadata) -> bool {
        if self.rules_files.is_none() {
            return false;
        }
        let at_root = path.parent() == Some(self.path);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        self.withholds_entry(at_root, name, metadata)
    }

    /// `withholds` for the entry `name` of a folder, which is the root if
    /// `at_root`: for a listing, which asks for every entry.
    pub fn withholds_entry(&self, at_root: bool, name: &str, metadata: &Metadata) -> bool {
        let named = at_root && RULES_FILES.iter().any(|r| r.eq_ignore_ascii_case(name));
        named || self.withholds_version(metadata)
    }

    /// Whether the file with `metadata` is a rules file by its version:
    /// for a file the cache already holds, which was looked at by name
    /// when it came in (a rules file may have become it since).
    pub fn withholds_version(&self, metadata: &Metadata) -> bool {
        match self.rules_files {
            Some([0, 0]) | None => false,
            Some(fingerprints) => {
                metadata.is_file() && fingerprints.contains(&Version::of(metadata).fingerprint())
            }
        }
    }
}

/// Canonicalizes `path` and checks it is inside the root. A path that
/// cannot be canonicalized for any reason but permissions (missing, a
/// symlink loop, a file used as a folder) names nothing.
pub fn canonical_inside(path: &Path, root: &ServedRoot<'_>) -> Result<PathBuf, HttpError> {
    let real = fs::canonicalize(path).map_err(|e| match e.kind() {
        io::ErrorKind::PermissionDenied => HttpError::from(e),
        _ => HttpError::NoSuchFile,
    })?;
    // The dotfile rule is for the path the client asked for (`segments`):
    // a link the user made inside the root may lead anywhere inside it,
    // dot-folders included (pnpm links `node_modules/lodash` to
    // `node_modules/.pnpm/lodash@4.17.21/node_modules/lodash`).
    if real.strip_prefix(root.path).is_err() {
        return Err(HttpError::NotFound("outside root"));
    }
    Ok(real)
}
