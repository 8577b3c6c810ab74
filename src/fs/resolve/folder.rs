//! What a folder holds, as a listing may show it: the entries that could
//! be requested, within the root's rules.
//!
//! Imports `path` and `root` beside it, and `sys`.
#![forbid(unsafe_code)]

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use crate::fs::resolve::path::aliased_name;
use crate::fs::resolve::root::{ServedRoot, canonical_inside};
use crate::http::error::HttpError;
use crate::sys;

/// One file or folder a listing may show (see `list_dir`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FolderEntry {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    pub modified: Option<SystemTime>,
}

/// The entries of the directory `dir` a listing may show: names that are
/// UTF-8 (no other name can be requested), not hidden unless asked, files or
/// folders, not the host's rules files while they apply, and whose
/// symlinks stay inside the root.
pub fn list_dir(dir: &Path, root: &ServedRoot<'_>) -> Result<Vec<FolderEntry>, HttpError> {
    let mut entries = Vec::new();
    let at_root = root.rules_files.is_some() && dir == root.path;
    for entry in fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if (!root.hidden && name.starts_with('.'))
            || (sys::ALIASED_NAMES && aliased_name(&name).is_some())
        {
            continue;
        }
        // The entry's own metadata comes from fstatat against the open
        // folder, without walking the whole path again; a symlink is
        // followed only if it stays inside the root.
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        let metadata = if is_link {
            let path = entry.path();
            if canonical_inside(&path, root).is_err() {
                continue;
            }
            fs::metadata(&path)
        } else {
            entry.metadata()
        };
        // Only what can be served: FIFOs, sockets and devices are left out.
        let Ok(metadata) = metadata else {
            continue;
        };
        if (!metadata.is_dir() && !metadata.is_file())
            || root.withholds_entry(at_root, &name, &metadata)
        {
            continue;
        }
        entries.push(FolderEntry {
            name,
            is_dir: metadata.is_dir(),
            size: metadata.len(),
            modified: metadata.modified().ok(),
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::resolve::tests::Fixture;

    #[test]
    fn listing_entries_are_filtered() {
        let f = Fixture::new("list");
        let mut names: Vec<String> = list_dir(&f.root, &f.served())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        names.sort();
        // No ".env", no "escape" or "up" (outside); "to-hidden" is a link
        // inside the root.
        if cfg!(unix) {
            assert_eq!(names, ["dir", "file.txt", "inside", "site", "to-hidden"]);
        } else {
            assert_eq!(names, ["dir", "file.txt", "site"]);
        }
    }
}
