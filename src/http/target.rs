//! The request target (RFC 9112 section 3.2): split into the path and
//! query that name a resource, and the authority of an absolute-form
//! target. Nothing is decoded here: the path stays as it was sent, for the
//! file system side (`fs::resolve`) to decode once. Imports `error` only.
#![forbid(unsafe_code)]

use crate::http::error::HttpError;

/// The parts of a request target that name a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// The path, still percent-encoded, always starting with `/`.
    pub path: &'a str,
    pub query: Option<&'a str>,
}

/// Splits an origin-form (`/path?query`) or absolute-form
/// (`http://host/path?query`) target (RFC 9112 section 3.2). The asterisk form
/// is the caller's business, as only OPTIONS may use it.
pub fn split_target(target: &str) -> Result<Target<'_>, HttpError> {
    if target.contains('#') {
        return Err(HttpError::BadRequest("fragment in request target"));
    }
    let path_and_query = if target.starts_with('/') {
        target
    } else {
        // RFC 9112 section 3.2.2: a server MUST accept the absolute form. The
        // authority is ignored: we serve one folder whatever the host.
        let (_, rest) =
            absolute_form(target).ok_or(HttpError::BadRequest("invalid request target"))?;
        rest
    };
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    Ok(Target {
        path: if path.is_empty() { "/" } else { path },
        query,
    })
}

/// The authority of an absolute-form target (`host:port` in
/// `http://host:port/path`), if the target is one.
pub fn authority(target: &str) -> Option<&str> {
    absolute_form(target).map(|(authority, _)| authority)
}

/// An absolute-form target split after its `http://` or `https://` scheme
/// (any letter case) into its authority and the path and query after it.
fn absolute_form(target: &str) -> Option<(&str, &str)> {
    // Compared in place: this runs for every request (the Host check).
    let after_scheme = ["http://", "https://"].into_iter().find_map(|scheme| {
        let head = target.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| &target[scheme.len()..])
    })?;
    let end = after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
    Some(after_scheme.split_at(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_forms() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("/", "/", None),
            ("/a/b?x=1&y", "/a/b", Some("x=1&y")),
            ("/a?", "/a", Some("")),
            ("/a?b?c", "/a", Some("b?c")),
            ("http://example.com/a/b?q", "/a/b", Some("q")),
            ("HTTP://example.com", "/", None),
            ("https://example.com:8443?q", "/", Some("q")),
        ];
        for (target, path, query) in cases {
            assert_eq!(
                split_target(target).unwrap(),
                Target {
                    path,
                    query: *query
                },
                "{target}"
            );
        }
        for bad in ["*", "a/b", "ftp://x/y", "/a#frag", "http:/x"] {
            assert!(
                matches!(split_target(bad), Err(HttpError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
