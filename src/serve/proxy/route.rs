//! Which requests go to which backend: `--proxy PREFIX=URL` checked and
//! parsed into a `Route`, the matching of a request's path against the
//! prefixes (whole segments, longest first), and the path the backend is
//! sent.
//!
//! Paths are compared and sent as they arrived, percent-encoded, once
//! their dot-segments are removed (RFC 3986 section 5.2.4), so that no
//! `..` ever reaches a backend and `/api/../secret` is not the API's.
//!
//! Imports `backend` beside it.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::sync::Arc;

use crate::serve::proxy::backend::Backend;

/// One `--proxy` rule.
#[derive(Debug)]
pub struct Route {
    /// Starts with `/`, and has no `/` at its end unless it is `/`.
    pub prefix: String,
    pub backend: Arc<Backend>,
    /// The URL's path, which replaces the prefix (as nginx's `proxy_pass`
    /// does); `None` keeps the request's path as it is.
    pub path: Option<String>,
}

/// A `--proxy` rule as the user wrote it, checked: its prefix, the
/// backend's host and port, and the URL's path.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub prefix: String,
    /// `host[:port]` as written in the URL: the backend's own `Host`.
    pub authority: String,
    /// The host to connect to (an IPv6 literal without its brackets).
    pub host: String,
    pub port: u16,
    pub path: Option<String>,
}

/// Parses `PREFIX=URL`; the error is the line the user sees.
pub fn parse_rule(text: &str) -> Result<Rule, String> {
    let Some((prefix, url)) = text.split_once('=') else {
        return Err(format!(
            "--proxy takes PREFIX=URL, as in /api=http://localhost:3000, not '{text}'"
        ));
    };
    if !prefix.starts_with('/') || prefix.contains(['?', '#', ' ']) {
        return Err(format!(
            "--proxy {text}: the prefix must be a path starting with '/', as in /api"
        ));
    }
    let prefix = match prefix.trim_end_matches('/') {
        "" => "/".to_string(),
        trimmed => trimmed.to_string(),
    };
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Err(format!(
            "--proxy {text}: tinyhttpd speaks plain HTTP to backends and has no TLS client; \
             point it at the backend's http:// address (a development backend on this machine \
             has one)"
        ));
    }
    let Some(rest) = lower
        .starts_with("http://")
        .then(|| &url["http://".len()..])
    else {
        return Err(format!(
            "--proxy {text}: the backend must be an http:// URL, as in http://localhost:3000"
        ));
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(at) if rest[at..].starts_with('/') && !rest[at..].contains(['?', '#']) => {
            (&rest[..at], Some(rest[at..].to_string()))
        }
        Some(_) => {
            return Err(format!(
                "--proxy {text}: the URL may have a path, but no query or fragment"
            ));
        }
        None => (rest, None),
    };
    let (host, port) = split_authority(authority)
        .ok_or_else(|| format!("--proxy {text}: '{authority}' is not a host and port"))?;
    Ok(Rule {
        prefix,
        authority: authority.to_string(),
        host: host.to_string(),
        port,
        path,
    })
}

/// An `http://` URL (the scheme in any case) split into its authority,
/// the host and port to connect to, and the rest (its path and query, `/`
/// when it has none); `None` if it is not one.
pub fn split_url(url: &str) -> Option<(&str, &str, u16, &str)> {
    let scheme = url.get(..7)?;
    if !scheme.eq_ignore_ascii_case("http://") {
        return None;
    }
    let rest = &url[7..];
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(at) if rest[at..].starts_with('/') => rest.split_at(at),
        Some(_) => return None,
        None => (rest, "/"),
    };
    let (host, port) = split_authority(authority)?;
    Some((authority, host, port, path))
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`, with a port from 1 to 65535
/// (80 when none is given).
fn split_authority(authority: &str) -> Option<(&str, u16)> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => {
            let (literal, after) = rest.split_once(']')?;
            let is_literal = |b: u8| b.is_ascii_hexdigit() || b == b':' || b == b'.';
            if literal.is_empty() || !literal.bytes().all(is_literal) {
                return None;
            }
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':')?),
            };
            (literal, port)
        }
        None => {
            let (name, port) = match authority.split_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (authority, None),
            };
            let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
            if name.is_empty() || !name.bytes().all(is_name) {
                return None;
            }
            (name, port)
        }
    };
    let port = match port {
        None => 80,
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<u16>().ok().filter(|&p| p != 0)?
        }
        Some(_) => return None,
    };
    Some((host, port))
}

impl Route {
    /// Whether `path` (dot-segments removed) is under this route's prefix,
    /// by whole segments: `/api` takes `/api` and `/api/x`, not `/apiary`.
    pub fn matches(&self, path: &str) -> bool {
        self.prefix == "/"
            || path
                .strip_prefix(self.prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// The path the backend is sent for `path`, which `matches`.
    pub fn backend_path<'p>(&self, path: &'p str) -> Cow<'p, str> {
        let Some(base) = &self.path else {
            return Cow::Borrowed(path);
        };
        let rest = if self.prefix == "/" {
            path
        } else {
            &path[self.prefix.len()..]
        };
        if rest.is_empty() {
            return Cow::Owned(base.clone());
        }
        let mut joined = base.trim_end_matches('/').to_string();
        joined.push_str(rest);
        Cow::Owned(joined)
    }
}

/// The route for `path` among `routes`, which are sorted longest prefix
/// first.
pub fn find<'r>(routes: &'r [Route], path: &str) -> Option<&'r Route> {
    routes.iter().find(|route| route.matches(path))
}

/// `path` (percent-encoded, starting with `/`) with its `.` and `..`
/// segments removed, including those spelled with `%2e`.
pub fn remove_dot_segments(path: &str) -> Cow<'_, str> {
    // A dot-segment starts `/.` or `/%`: without either, there is none
    // (the common case, told in one pass over the bytes).
    let may_have_dots = path
        .as_bytes()
        .windows(2)
        .any(|pair| pair[0] == b'/' && matches!(pair[1], b'.' | b'%'));
    if !may_have_dots || !path.split('/').any(|segment| dots(segment).is_some()) {
        return Cow::Borrowed(path);
    }
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut kept: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match dots(segment) {
            Some(1) => {}
            Some(_) => {
                kept.pop();
            }
            None => {
                kept.push(segment);
                continue;
            }
        }
        // `/a/.` and `/a/b/..` name the folder `/a/`.
        if last {
            kept.push("");
        }
    }
    Cow::Owned(format!("/{}", kept.join("/")))
}

/// 1 for a `.` segment, 2 for `..`, each dot perhaps written `%2e`.
fn dots(segment: &str) -> Option<u8> {
    let mut rest = segment.as_bytes();
    let mut count = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', after @ ..] => after,
            [b'%', b'2', b'e' | b'E', after @ ..] => after,
            _ => return None,
        };
        count += 1;
    }
    (1..=2).contains(&count).then_some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> Result<(String, String, String, u16, Option<String>), String> {
        parse_rule(text).map(|r| (r.prefix, r.authority, r.host, r.port, r.path))
    }

    #[test]
    fn rules_parse_into_prefix_backend_and_path() {
        let some = |s: &str| Some(s.to_string());
        let ok = |p: &str, a: &str, h: &str, port, path| {
            Ok((p.to_string(), a.to_string(), h.to_string(), port, path))
        };
        assert_eq!(
            rule("/api=http://localhost:3000"),
            ok("/api", "localhost:3000", "localhost", 3000, None)
        );
        assert_eq!(
            rule("/api/=HTTP://127.0.0.1:8000/v1"),
            ok("/api", "127.0.0.1:8000", "127.0.0.1", 8000, some("/v1"))
        );
        assert_eq!(
            rule("/=http://[::1]:5173/"),
            ok("/", "[::1]:5173", "::1", 5173, some("/"))
        );
        assert_eq!(
            rule("/x=http://backend"),
            ok("/x", "backend", "backend", 80, None)
        );
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let cases = [
            ("/api", "PREFIX=URL"),
            ("api=http://a:1", "must be a path"),
            ("/api=https://a:1", "no TLS client"),
            ("/api=ftp://a:1", "must be an http:// URL"),
            ("/api=http://a:0", "not a host and port"),
            ("/api=http://a:99999", "not a host and port"),
            ("/api=http://a:x", "not a host and port"),
            ("/api=http://a:", "not a host and port"),
            ("/api=http://", "not a host and port"),
            ("/api=http://[::1", "not a host and port"),
            ("/api=http://[::1]x", "not a host and port"),
            ("/api=http://a b:1", "not a host and port"),
            ("/api=http://a:1/?q", "no query"),
        ];
        for (text, want) in cases {
            let error = rule(text).unwrap_err();
            assert!(error.contains(want), "{text}: {error}");
            assert!(!error.contains('\n'));
        }
    }

    fn route(prefix: &str, path: Option<&str>) -> Route {
        Route {
            prefix: prefix.into(),
            backend: Arc::new(Backend::for_tests()),
            path: path.map(String::from),
        }
    }

    #[test]
    fn prefixes_match_whole_segments_and_paths_are_mapped() {
        let api = route("/api", None);
        assert!(api.matches("/api") && api.matches("/api/") && api.matches("/api/x"));
        assert!(!api.matches("/apiary") && !api.matches("/ap") && !api.matches("/"));
        assert!(route("/", None).matches("/anything"));
        assert_eq!(api.backend_path("/api/x"), "/api/x");
        let v1 = route("/api", Some("/v1"));
        assert_eq!(v1.backend_path("/api/x"), "/v1/x");
        assert_eq!(v1.backend_path("/api"), "/v1");
        assert_eq!(v1.backend_path("/api/"), "/v1/");
        let root = route("/api", Some("/"));
        assert_eq!(root.backend_path("/api/x"), "/x");
        assert_eq!(root.backend_path("/api"), "/");
        let routes = [route("/api/v2", None), route("/api", None)];
        assert_eq!(find(&routes, "/api/v2/x").unwrap().prefix, "/api/v2");
        assert_eq!(find(&routes, "/api/v3").unwrap().prefix, "/api");
        assert!(find(&routes, "/other").is_none());
    }

    #[test]
    fn dot_segments_are_removed_however_they_are_spelled() {
        let cases = [
            ("/api/x", "/api/x"),
            ("/api/../secret", "/secret"),
            ("/x/../api/a", "/api/a"),
            ("/api/%2e%2e/secret", "/secret"),
            ("/api/.%2E/secret", "/secret"),
            ("/api/./x", "/api/x"),
            ("/api/.", "/api/"),
            ("/api/x/..", "/api/"),
            ("/..", "/"),
            ("/../../a", "/a"),
            ("/a/...", "/a/..."),
            ("/a/%2e%2ex", "/a/%2e%2ex"),
            ("/a//b", "/a//b"),
        ];
        for (path, want) in cases {
            assert_eq!(remove_dot_segments(path), want, "{path}");
        }
    }
}
