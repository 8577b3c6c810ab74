//! From request target to a file under the root.
//!
//! This module is the security boundary of the server. A target is split into
//! path and query, percent-decoded exactly once, its dot-segments removed
//! (a `..` that would climb above the root is refused), and rebuilt from
//! plain segments: every segment must be a single normal path component. The result
//! is canonicalized (following symlinks) and must still lie inside the
//! canonical root, so neither an encoded `..` nor a symlink pointing out of the
//! root ever reaches a file outside it. Dotfiles are hidden unless the user
//! asked for them: no segment of the requested path may start with a dot. A
//! symlink inside the root is followed wherever inside the root it leads,
//! through dot-folders too, as package managers' links do.
//!
//! It knows nothing of headers or responses; it answers with a `Resolved`
//! or an `HttpError`.
#![forbid(unsafe_code)]

use std::fs::{self, File, Metadata};
use std::io;
use std::path::{Path, PathBuf};

mod folder;
mod path;
mod root;

pub use crate::fs::resolve::folder::{FolderEntry, list_dir};
pub use crate::fs::resolve::path::sibling;
use crate::fs::resolve::path::{clean_path, segments};
pub use crate::fs::resolve::root::{RULES_FILES, ServedRoot, canonical_inside};
use crate::http::error::HttpError;
use crate::http::syntax::{encode_segment, push_encoded};
use crate::http::target::Target;
use crate::sys;

/// What a path names.
#[derive(Debug)]
pub enum Resolved {
    /// A regular file to serve (possibly a directory's index file), already
    /// open, with the metadata of the open file and its path (for its type).
    File {
        file: File,
        metadata: Metadata,
        path: PathBuf,
    },
    /// A directory without an index file. `url_path` is its decoded path with
    /// a trailing slash, for the listing's title.
    Directory { path: PathBuf, url_path: String },
    /// A directory named without its trailing slash: where to send the client.
    Redirect { location: String },
}

/// Resolves the still-encoded `target.path` under `root.path`.
pub fn resolve(target: &Target<'_>, root: &ServedRoot<'_>) -> Result<Resolved, HttpError> {
    let decoded = clean_path(target.path)?;
    let segments = segments(&decoded, root.hidden)?;
    let mut path = PathBuf::with_capacity(root.path.as_os_str().len() + decoded.len() + 1);
    path.push(root.path);
    path.extend(segments.clone());
    let opened = open_inside(path, root)?;
    if root.withholds(&opened.path, &opened.metadata) {
        return Err(HttpError::NotFound("host rules file"));
    }

    if opened.metadata.is_dir() {
        if !decoded.ends_with('/') {
            // Without the slash, every relative link in the page would resolve
            // against the parent folder.
            let mut location = String::from("/");
            for segment in segments {
                location.push_str(&encode_segment(segment));
                location.push('/');
            }
            if let Some(query) = target.query {
                location.push('?');
                location.push_str(query);
            }
            return Ok(Resolved::Redirect { location });
        }
        // An index file that is there but cannot be served is an error
        // the site's owner must hear of, not a reason to list the folder.
        let unusable = |why: &str| HttpError::UnusableIndex(format!("{}: {why}", root.index));
        match open_inside(opened.path.join(root.index), root) {
            Ok(index) if index.metadata.is_dir() => {}
            Ok(index) => {
                return index
                    .into_file()
                    .ok_or_else(|| unusable("not a regular file"));
            }
            Err(HttpError::NoSuchFile | HttpError::NotFound(_)) => {}
            Err(HttpError::Forbidden(why)) => return Err(unusable(why)),
            Err(HttpError::Io(e)) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(unusable(&e.to_string()));
            }
            Err(e) => return Err(e),
        }
        let mut url_path = String::from("/");
        for segment in segments {
            url_path.push_str(segment);
            url_path.push('/');
        }
        return Ok(Resolved::Directory {
            path: opened.path,
            url_path,
        });
    }
    if decoded.ends_with('/') && opened.metadata.is_file() {
        return Err(HttpError::NotFound("file named with a trailing slash"));
    }
    // A FIFO, socket or device: reading it could block a thread forever.
    opened
        .into_file()
        .ok_or(HttpError::Forbidden("not a regular file"))
}

/// A file or folder opened inside the root.
struct Opened {
    /// The open file; a folder found the slow way is not opened (Windows
    /// cannot open one as a `File`), as it is read by its path.
    file: Option<File>,
    metadata: Metadata,
    /// Its path under the root, with symlinks resolved.
    path: PathBuf,
}

impl Opened {
    /// A regular file to serve, if that is what this is.
    #[inline]
    fn into_file(self) -> Option<Resolved> {
        match self.file {
            Some(file) if self.metadata.is_file() => Some(Resolved::File {
                file,
                metadata: self.metadata,
                path: self.path,
            }),
            _ => None,
        }
    }
}

/// Opens `path`, the root followed by plain segments.
///
/// The fast way is one `openat2` that refuses symlinks and escapes, then one
/// `fstat` on the open file: without symlinks, the path is the segments,
/// which were already checked. A path through a symlink takes the slow way:
/// canonicalize, check the real path is inside the root and not hidden, and
/// check the type before opening, so a FIFO or device is never opened.
fn open_inside(path: PathBuf, root: &ServedRoot<'_>) -> Result<Opened, HttpError> {
    let Ok(relative) = path.strip_prefix(root.path) else {
        return Err(HttpError::NotFound("outside root"));
    };
    if let Some(root_dir) = root.dir {
        let beneath = if relative.as_os_str().is_empty() {
            Path::new(".")
        } else {
            relative
        };
        match sys::open_beneath(root_dir, beneath) {
            Ok(file) => {
                let metadata = file.metadata()?;
                return Ok(Opened {
                    file: Some(file),
                    metadata,
                    path,
                });
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound
                        | io::ErrorKind::NotADirectory
                        | io::ErrorKind::PermissionDenied
                ) =>
            {
                return Err(e.into());
            }
            // A symlink on the way (or no openat2): the slow way decides.
            Err(_) => {}
        }
    }
    let real = canonical_inside(&path, root)?;
    let metadata = fs::metadata(&real)?;
    if metadata.is_dir() {
        return Ok(Opened {
            file: None,
            metadata,
            path: real,
        });
    }
    if !metadata.is_file() {
        return Err(HttpError::Forbidden("not a regular file"));
    }
    let file = File::open(&real)?;
    let metadata = file.metadata()?;
    Ok(Opened {
        file: Some(file),
        metadata,
        path: real,
    })
}

/// The variant `path` + `suffix` (`app.js.br` for `app.js`) under the same
/// rules as any file: inside the root, a regular file.
pub fn open_sibling(path: &Path, suffix: &str, root: &ServedRoot<'_>) -> Option<(File, Metadata)> {
    match open_inside(sibling(path, suffix), root).ok()?.into_file()? {
        Resolved::File { file, metadata, .. } => Some((file, metadata)),
        _ => None,
    }
}

/// For a clean URL: the still-encoded path of `NAME.html` for a target
/// whose last segment, dot-segments removed, is a `NAME` without an
/// extension. A path naming a folder (ending in `/`) has none. Appending to
/// the path as sent names the same file: its last segment is `NAME` too, as
/// a dot-segment there would have made the path a folder's.
pub fn html_sibling(target: &Target<'_>) -> Option<String> {
    let decoded = clean_path(target.path).ok()?;
    let last = decoded.rsplit('/').next()?;
    if last.is_empty() || Path::new(last).extension().is_some() {
        return None;
    }
    Some(format!("{}.html", target.path))
}

/// Where under the root a valid target would be, whether or not anything
/// is there (symlinks not resolved): for watching a path that was a 404.
pub fn local_path(target: &Target<'_>, root: &ServedRoot<'_>) -> Option<PathBuf> {
    under_root(target, root).map(|(path, _)| path)
}

/// The path of the file a target that resolved to a file names, links not
/// resolved: for a folder's, its index file in it.
pub fn file_path(target: &Target<'_>, root: &ServedRoot<'_>) -> Option<PathBuf> {
    let (mut path, names_folder) = under_root(target, root)?;
    if names_folder {
        path.push(root.index);
    }
    Some(path)
}

/// The path under the root that a valid target's segments name, and
/// whether the target names a folder (its clean path ends in `/`).
fn under_root(target: &Target<'_>, root: &ServedRoot<'_>) -> Option<(PathBuf, bool)> {
    let decoded = clean_path(target.path).ok()?;
    let mut path = root.path.to_path_buf();
    path.extend(segments(&decoded, root.hidden).ok()?);
    Some((path, decoded.ends_with('/')))
}

/// For a target that names nothing: the path of an existing file or folder
/// that differs from it only in letter case, if there is one (the "works on
/// my Mac, 404 on the server" bug). Only runs for 404s, and reads at most
/// `MAX_SCANNED` names per folder.
pub fn case_insensitive_match(target: &Target<'_>, root: &ServedRoot<'_>) -> Option<String> {
    const MAX_SCANNED: usize = 10_000;
    let decoded = clean_path(target.path).ok()?;
    let mut dir = root.path.to_path_buf();
    let mut fixed = Vec::new();
    let mut changed = false;
    for segment in segments(&decoded, root.hidden).ok()? {
        let exact = dir.join(segment);
        let name = if fs::symlink_metadata(&exact).is_ok() {
            segment.to_string()
        } else {
            let wanted = segment.to_lowercase();
            let found = fs::read_dir(&dir)
                .ok()?
                .take(MAX_SCANNED)
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .find(|name| name.to_lowercase() == wanted)?;
            changed = true;
            found
        };
        dir.push(&name);
        fixed.push(name);
    }
    if !changed {
        return None;
    }
    let mut location = String::new();
    for name in &fixed {
        location.push('/');
        push_encoded(&mut location, name);
    }
    if location.is_empty() || decoded.ends_with('/') {
        location.push('/');
    }
    // Only suggest what would really be served.
    let suggestion = Target {
        path: &location,
        query: None,
    };
    resolve(&suggestion, root).ok()?;
    Some(location)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::http::response::Status;
    use crate::http::target::split_target;

    #[test]
    fn html_siblings() {
        let sibling = |path| html_sibling(&Target { path, query: None });
        let cases: &[(&str, Option<&str>)] = &[
            ("/about", Some("/about.html")),
            ("/blog/first-post", Some("/blog/first-post.html")),
            ("/caf%C3%A9", Some("/caf%C3%A9.html")),
            ("/a/../about", Some("/a/../about.html")),
            ("/.secret", Some("/.secret.html")),
            ("/", None),
            ("/about/", None),
            ("/a/..", None),
            ("/a/%2e%2e", None),
            ("/a/.", None),
            ("/v1.2", None),
            ("/about.html", None),
            ("/..", None),
            ("/%zz", None),
        ];
        for &(path, expected) in cases {
            assert_eq!(sibling(path).as_deref(), expected, "{path}");
        }
    }

    /// A root with a secret beside it, a hidden file, and on Unix symlinks
    /// out and in (Windows needs a privilege to make one, and wine 8 only
    /// pretends to); the fuzzer uses it too.
    pub struct Fixture {
        base: PathBuf,
        pub root: PathBuf,
        /// `None` where a folder cannot be opened as a file (Windows).
        root_dir: Option<File>,
    }

    impl Fixture {
        pub fn new(name: &str) -> Fixture {
            let base = std::env::temp_dir()
                .join(format!("tinyhttpd-resolve-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&base);
            let root = base.join("root");
            fs::create_dir_all(root.join("dir/sub")).unwrap();
            fs::create_dir_all(root.join("site")).unwrap();
            fs::write(base.join("secret.txt"), "SECRET").unwrap();
            fs::write(root.join("file.txt"), "hello").unwrap();
            fs::write(root.join(".env"), "hidden").unwrap();
            fs::write(root.join("site/index.html"), "index").unwrap();
            fs::write(root.join("dir/a+b.txt"), "plus").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::symlink;
                symlink(base.join("secret.txt"), root.join("escape")).unwrap();
                symlink(&base, root.join("up")).unwrap();
                symlink(root.join("file.txt"), root.join("inside")).unwrap();
                symlink(root.join(".env"), root.join("to-hidden")).unwrap();
            }
            let root = fs::canonicalize(root).unwrap();
            let root_dir = File::open(&root).ok();
            Fixture {
                base,
                root,
                root_dir,
            }
        }

        pub fn served(&self) -> ServedRoot<'_> {
            ServedRoot {
                path: &self.root,
                dir: self.root_dir.as_ref(),
                index: "index.html",
                hidden: false,
                rules_files: Some([0, 0]),
            }
        }

        /// Resolves `target` the fast way, having checked that the slow way
        /// agrees.
        pub fn resolve(&self, target: &str) -> Result<Resolved, HttpError> {
            let fast = self.served();
            let slow = ServedRoot { dir: None, ..fast };
            let target = split_target(target)?;
            let (a, b) = (resolve(&target, &fast), resolve(&target, &slow));
            assert_eq!(self.summary(&a), self.summary(&b));
            a
        }

        /// What a resolution names, without the open file, with paths under
        /// the root: `file dir/a+b.txt`, `dir dir /dir/`, `redirect /dir/`,
        /// `status 404`.
        pub fn summary(&self, resolved: &Result<Resolved, HttpError>) -> String {
            let under = |path: &Path| {
                let relative = path.strip_prefix(&self.root).unwrap().components();
                let names: Vec<_> = relative.map(|c| c.as_os_str().to_string_lossy()).collect();
                names.join("/")
            };
            match resolved {
                Ok(Resolved::File { path, .. }) => format!("file {}", under(path)),
                Ok(Resolved::Directory { path, url_path }) => {
                    format!("dir {} {url_path}", under(path))
                }
                Ok(Resolved::Redirect { location }) => format!("redirect {location}"),
                Err(e) => format!("status {}", e.status().code()),
            }
        }

        /// The summary of resolving `target`.
        fn names(&self, target: &str) -> String {
            self.summary(&self.resolve(target))
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.base);
        }
    }

    #[test]
    fn traversal_attempts_never_leave_the_root() {
        let f = Fixture::new("traversal");
        let attacks = [
            "/../secret.txt",
            "/..%2fsecret.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2E%2Fsecret.txt",
            "/.%2e/secret.txt",
            "/dir/../../secret.txt",
            "/dir/%2e%2e/%2e%2e/secret.txt",
            "/%252e%252e/secret.txt",
            "/..%5csecret.txt",
            "/..\\secret.txt",
            "/%c0%ae%c0%ae/secret.txt",
            "/%e0%80%ae%e0%80%ae/secret.txt",
            "/..%00/secret.txt",
            "/escape",
            "/up/secret.txt",
            "//..//secret.txt",
            "/./../secret.txt",
            "http://host/../secret.txt",
            "/dir/sub/../../../secret.txt",
            "/%2e%2e%5c%2e%2e%5csecret.txt",
        ];
        for attack in attacks {
            match f.resolve(attack) {
                Err(e) if matches!(e.status(), Status::BadRequest | Status::NotFound) => {}
                Err(other) => panic!("{attack}: unexpected {other:?}"),
                Ok(resolved) => panic!("{attack}: resolved to {resolved:?}"),
            }
        }
    }

    #[test]
    fn what_resolves() {
        let f = Fixture::new("resolves");
        let cases = [
            ("/file.txt", "file file.txt"),
            ("/./file.txt", "file file.txt"),
            ("//dir//a+b.txt", "file dir/a+b.txt"),
            ("/dir/a%2Bb.txt", "file dir/a+b.txt"),
            ("/site/", "file site/index.html"),
            ("/site/?q=1", "file site/index.html"),
            ("/dir/", "dir dir /dir/"),
            ("/", "dir  /"),
            ("/dir", "redirect /dir/"),
            ("/dir/sub?x=1", "redirect /dir/sub/?x=1"),
            ("//dir", "redirect /dir/"),
            ("/site", "redirect /site/"),
        ];
        for (target, want) in cases {
            assert_eq!(f.names(target), want, "{target}");
        }
        for missing in [
            "/file.txt/",
            "/nope",
            "/.env",
            "/dir/.hidden",
            "/file.txt/x",
            "/dir/../.env",
            "/%2eenv",
        ] {
            assert_eq!(f.names(missing), "status 404", "{missing}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_inside_the_root_are_followed() {
        let f = Fixture::new("links");
        assert_eq!(f.names("/inside"), "file file.txt");
        // A link the user made to a dotfile inside the root is followed:
        // the dotfile rule is for the requested path.
        assert_eq!(f.names("/to-hidden"), "file .env");
    }

    #[test]
    fn dot_segments_resolve_inside_the_root() {
        let f = Fixture::new("dots");
        let cases = [
            ("/dir/../file.txt", "file file.txt"),
            ("/dir/%2e%2e/file.txt", "file file.txt"),
            ("/dir/sub/%2E%2e/%2e/a+b.txt", "file dir/a+b.txt"),
            // `..` is removed from the URL, not applied to where a link
            // leads: `up` points above the root, and `/up/..` is the root.
            ("/up/../", "dir  /"),
            ("/up/../../secret.txt", "status 400"),
            // A folder named through a dot-segment without the slash is
            // still redirected to its one name.
            ("/site/../dir/sub/..", "dir dir /dir/"),
            ("/site/../dir", "redirect /dir/"),
        ];
        for (target, want) in cases {
            assert_eq!(f.names(target), want, "{target}");
        }
    }
}
