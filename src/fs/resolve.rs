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

use std::borrow::Cow;
use std::fs::{self, File, Metadata};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::http::error::HttpError;
use crate::http::syntax::{encode_segment, percent_decode, push_encoded};
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
}

/// The still-encoded `path` of a target, decoded and with its dot-segments
/// removed: the path whose segments name a file under the root.
fn clean_path(path: &str) -> Result<Cow<'_, str>, HttpError> {
    let decoded = percent_decode(path).map_err(HttpError::BadRequest)?;
    // On Unix a backslash is an ordinary file-name character, but other
    // servers treat it as a separator; refusing it keeps links portable and
    // closes the door on `..\` tricks.
    if decoded.contains('\\') {
        return Err(HttpError::BadRequest("backslash in path"));
    }
    Ok(match remove_dot_segments(&decoded)? {
        Cow::Borrowed(_) => decoded,
        Cow::Owned(normalized) => Cow::Owned(normalized),
    })
}

/// Removes `.` and `..` segments from a decoded path, as RFC 3986 section
/// 5.2.4 does (an escaped dot is a dot: section 6.2.2.2, so this runs after
/// decoding). Empty segments are merged first, as every lookup here does
/// (`//a` names `/a`). A path ending in a dot-segment names a folder:
/// `/a/b/..` is `/a/`. A `..` with nothing left to remove would climb above
/// the root, and is refused with 400. Paths without dot-segments are
/// returned as they are, without copying.
fn remove_dot_segments(decoded: &str) -> Result<Cow<'_, str>, HttpError> {
    let is_dots = |segment: &str| segment == "." || segment == "..";
    if !decoded.split('/').any(is_dots) {
        return Ok(Cow::Borrowed(decoded));
    }
    let mut kept: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if kept.pop().is_none() {
                    return Err(HttpError::BadRequest("dot-dot segment above the root"));
                }
            }
            _ => kept.push(segment),
        }
    }
    let mut normalized = String::with_capacity(decoded.len());
    for segment in &kept {
        normalized.push('/');
        normalized.push_str(segment);
    }
    let last = decoded.rsplit('/').next().unwrap_or_default();
    if normalized.is_empty() || decoded.ends_with('/') || is_dots(last) {
        normalized.push('/');
    }
    Ok(Cow::Owned(normalized))
}

/// Resolves the still-encoded `target.path` under `root.path`.
pub fn resolve(target: &Target<'_>, root: &ServedRoot<'_>) -> Result<Resolved, HttpError> {
    let decoded = clean_path(target.path)?;
    let segments = segments(&decoded, root.hidden)?;
    let mut path = PathBuf::with_capacity(root.path.as_os_str().len() + decoded.len() + 1);
    path.push(root.path);
    path.extend(segments.clone());
    let opened = open_inside(path, root)?;

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

/// `path` with `suffix` appended to its file name: `app.js.br`.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut sibling = path.as_os_str().to_owned();
    sibling.push(suffix);
    PathBuf::from(sibling)
}

/// The path of the file a target that resolved to a file names, links not
/// resolved: for a folder's, its index file in it.
pub fn file_path(target: &Target<'_>, root: &ServedRoot<'_>) -> Option<PathBuf> {
    let decoded = clean_path(target.path).ok()?;
    let mut path = root.path.to_path_buf();
    path.extend(segments(&decoded, root.hidden).ok()?);
    if decoded.ends_with('/') {
        path.push(root.index);
    }
    Some(path)
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
    let decoded = clean_path(target.path).ok()?;
    let mut path = root.path.to_path_buf();
    path.extend(segments(&decoded, root.hidden).ok()?);
    Some(path)
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

/// Splits a decoded path, its dot-segments removed, into plain segments:
/// checks them all first, then returns an iterator over them, so nothing is
/// collected.
fn segments(decoded: &str, hidden: bool) -> Result<impl Iterator<Item = &str> + Clone, HttpError> {
    let plain = decoded.split('/').filter(|segment| !segment.is_empty());
    for segment in plain.clone() {
        match segment {
            // `clean_path` removed them all; refused again here because
            // nothing may ever join a `..` to the root.
            "." | ".." => return Err(HttpError::BadRequest("dot segment")),
            _ if segment.starts_with('.') && !hidden => {
                return Err(HttpError::NotFound("hidden"));
            }
            _ => {}
        }
        if sys::ALIASED_NAMES
            && let Some(alias) = aliased_name(segment)
        {
            return Err(HttpError::NotFound(alias));
        }
        let mut components = Path::new(segment).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(_)), None) => {}
            _ => return Err(HttpError::BadRequest("invalid path segment")),
        }
    }
    Ok(plain)
}

/// What Windows would read into `name` beyond the name itself, if anything:
/// it drops trailing dots and spaces (`.env.` opens `.env`), reads `:` as a
/// stream or drive (`a.txt::$DATA` is `a.txt`), opens a device for a
/// reserved name whatever its extension (`con.txt` is the console), and
/// finds a file by its 8.3 short name (`ENV~1` may be `.env`, past the
/// dotfile rule). Such a name is refused as naming nothing, so no alias
/// reaches a file the request did not name. Pure, so tested everywhere;
/// applied where `sys::ALIASED_NAMES` says the file system does this.
fn aliased_name(name: &str) -> Option<&'static str> {
    const DEVICES: &[&str] = &["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"];
    if name.ends_with(['.', ' ']) {
        return Some("name ending in a dot or space");
    }
    if name.contains(':') {
        return Some("stream or drive in a name");
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    // COM0 to COM9 and LPT0 to LPT9, and ¹²³ as digits (Microsoft's list
    // of reserved names, "Naming Files, Paths, and Namespaces").
    const PORT_NUMBERS: &[&str] = &[
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³",
    ];
    let port = |prefix: &str| {
        stem.get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
            && stem.get(3..).is_some_and(|n| PORT_NUMBERS.contains(&n))
    };
    if DEVICES.iter().any(|d| stem.eq_ignore_ascii_case(d)) || port("COM") || port("LPT") {
        return Some("device name");
    }
    let bytes = name.as_bytes();
    if bytes
        .windows(2)
        .any(|w| w[0] == b'~' && w[1].is_ascii_digit())
    {
        return Some("possible short (8.3) name");
    }
    None
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
/// folders, and whose symlinks stay inside the root.
pub fn list_dir(dir: &Path, root: &ServedRoot<'_>) -> Result<Vec<FolderEntry>, HttpError> {
    let mut entries = Vec::new();
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
        if !metadata.is_dir() && !metadata.is_file() {
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

    #[test]
    fn names_windows_would_alias() {
        let aliased = [
            ".env.",
            "secret.txt ",
            "a.txt::$DATA",
            "a:b",
            "C:",
            "con",
            "CON.txt",
            "con .txt",
            "nul.tar.gz",
            "Aux",
            "com1",
            "LPT9.log",
            "com¹",
            "conin$",
            "ENV~1",
            "PROGRA~1",
        ];
        for name in aliased {
            assert!(aliased_name(name).is_some(), "{name}");
        }
        let plain = [
            "index.html",
            ".env",
            "console.log",
            "com10",
            "lpt",
            "a~b",
            "x~",
            "nullable.js",
            "auxiliary",
        ];
        for name in plain {
            assert_eq!(aliased_name(name), None, "{name}");
        }
    }

    #[test]
    fn dot_segments_are_removed_before_resolution() {
        let cases: &[(&str, &str)] = &[
            ("/", "/"),
            ("/a/b", "/a/b"),
            ("/a/./b", "/a/b"),
            ("/a/../b", "/b"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/a/b/../", "/a/"),
            ("/a/..", "/"),
            ("/.", "/"),
            ("/./", "/"),
            ("/a/b/../../c/./d/", "/c/d/"),
            ("//a//..//b", "/b"),
            ("/a/.../b", "/a/.../b"),
            ("/a/..b/c", "/a/..b/c"),
        ];
        for (path, want) in cases {
            assert_eq!(remove_dot_segments(path).unwrap(), *want, "{path}");
        }
        assert!(matches!(remove_dot_segments("/a/b"), Ok(Cow::Borrowed(_))));
        for above in ["/..", "/../", "/a/../..", "/a/./../../b", "/./../a"] {
            assert!(
                matches!(remove_dot_segments(above), Err(HttpError::BadRequest(_))),
                "{above}"
            );
        }
        // Escaped dots are dots (RFC 3986 section 6.2.2.2).
        assert_eq!(clean_path("/a/%2e%2E/b/%2e/c").unwrap(), "/b/c");
        assert_eq!(clean_path("/a/.%2e").unwrap(), "/");
        assert!(matches!(
            clean_path("/%2e%2e/x"),
            Err(HttpError::BadRequest(_))
        ));
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
