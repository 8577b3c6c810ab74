//! The served folder, and its bound: nothing outside it is ever opened,
//! whatever links lead there.
//!
//! Imports `http`'s error.
#![forbid(unsafe_code)]

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

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
    /// Whether the host's rules files at the root (`RULES_FILES`) are
    /// withheld, as they are while they apply.
    pub rules_files: bool,
}

/// The host's rules files, which a host reads and never serves.
pub const RULES_FILES: [&str; 2] = ["_redirects", "_headers"];

impl ServedRoot<'_> {
    /// Whether `path` (under the root, symlinks resolved) is a rules file
    /// that must not be served: by name in any case, as a file system that
    /// ignores case would open it so.
    pub fn withholds(&self, path: &Path) -> bool {
        self.rules_files
            && path.parent() == Some(self.path)
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|name| RULES_FILES.iter().any(|r| r.eq_ignore_ascii_case(name)))
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
