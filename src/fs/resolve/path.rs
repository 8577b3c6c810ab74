//! From a target's path, as sent, to the plain segments that may name a
//! file: decoded once, dot-segments removed (a `..` that would climb above
//! the root is refused), and each segment checked to be a single normal
//! path component, not hidden unless asked for, and not a name the file
//! system would read as another (Windows' aliases). Nothing here touches
//! the disk.
//!
//! Imports `http`'s error and syntax, and `sys` for which names alias.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use crate::http::error::HttpError;
use crate::http::syntax::percent_decode;
use crate::sys;

/// The still-encoded `path` of a target, decoded and with its dot-segments
/// removed: the path whose segments name a file under the root.
pub fn clean_path(path: &str) -> Result<Cow<'_, str>, HttpError> {
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

/// `path` with `suffix` appended to its file name: `app.js.br`.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut sibling = path.as_os_str().to_owned();
    sibling.push(suffix);
    PathBuf::from(sibling)
}

/// Splits a decoded path, its dot-segments removed, into plain segments:
/// checks them all first, then returns an iterator over them, so nothing is
/// collected.
pub fn segments(
    decoded: &str,
    hidden: bool,
) -> Result<impl Iterator<Item = &str> + Clone, HttpError> {
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
pub fn aliased_name(name: &str) -> Option<&'static str> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
