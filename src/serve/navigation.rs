//! What kind of request a browser sent: a page opened by the user (a
//! navigation), a script's or an image's fetch, a CORS preflight, and what
//! media types it accepts. The fallbacks, the live-reload script and the
//! listing's format go by these.
//!
//! Imports `http` only.
#![forbid(unsafe_code)]

use crate::http::request::Request;
use crate::http::syntax;

/// A top-level navigation, as opposed to a script, image or `fetch()`: by
/// Fetch Metadata when the browser sends it, else by an `Accept` that names
/// HTML.
pub fn is_navigation(request: &Request<'_>) -> bool {
    match request.header("sec-fetch-dest") {
        Some(dest) => {
            dest.eq_ignore_ascii_case(b"document") || dest.eq_ignore_ascii_case(b"iframe")
        }
        None => accepts(request, "text/html"),
    }
}

/// Whether an `Accept` field names `media_type` with a non-zero weight (a
/// member with a malformed weight names nothing).
pub fn accepts(request: &Request<'_>, media_type: &str) -> bool {
    request
        .values("accept")
        .flat_map(syntax::list_members)
        .any(|member| {
            let (named, mut parameters) = syntax::split_parameters(member);
            let weight = parameters.find_map(syntax::weight).unwrap_or(Some(1000));
            named.eq_ignore_ascii_case(media_type.as_bytes()) && weight.is_some_and(|q| q > 0)
        })
}

/// A CORS preflight (Fetch standard, "CORS-preflight request"): an OPTIONS
/// with `Origin` and `Access-Control-Request-Method`. Browsers never send
/// credentials with one, so it is answered without them.
pub fn is_preflight(request: &Request<'_>) -> bool {
    request.method == "OPTIONS"
        && request.header("origin").is_some()
        && request.header("access-control-request-method").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::tests::with_request;

    #[test]
    fn navigations_by_fetch_metadata_else_by_accept() {
        let cases: &[(&[&str], bool)] = &[
            (&["Sec-Fetch-Dest: document"], true),
            (&["Sec-Fetch-Dest: IFRAME"], true),
            // A script's fetch says so, whatever it accepts.
            (&["Sec-Fetch-Dest: script", "Accept: text/html"], false),
            (&["Sec-Fetch-Dest: empty"], false),
            (&["Accept: text/html,application/xhtml+xml,*/*;q=0.8"], true),
            (&["Accept: */*"], false),
            (&["Accept: text/html;q=0"], false),
            (&[], false),
        ];
        for (fields, want) in cases {
            let mut head = vec!["GET /app HTTP/1.1", "Host: localhost"];
            head.extend_from_slice(fields);
            assert_eq!(with_request(&head, is_navigation), *want, "{fields:?}");
        }
    }

    #[test]
    fn accepted_types_need_a_weight_above_zero() {
        let cases: &[(&str, bool)] = &[
            ("application/json", true),
            ("APPLICATION/JSON;q=0.5", true),
            ("text/html, application/json;q=0.001", true),
            ("application/json;q=0", false),
            ("application/json;q=2", false),
            ("application/jsonx", false),
            ("*/*", false),
        ];
        for (accept, want) in cases {
            let field = format!("Accept: {accept}");
            let head = ["GET / HTTP/1.1", "Host: localhost", &field];
            assert_eq!(
                with_request(&head, |r| accepts(r, "application/json")),
                *want,
                "{accept}"
            );
        }
    }

    #[test]
    fn a_preflight_is_an_options_with_origin_and_method() {
        let origin = "Origin: http://localhost:3000";
        let method = "Access-Control-Request-Method: PUT";
        let preflight = |head: &[&str]| with_request(head, is_preflight);
        assert!(preflight(&[
            "OPTIONS / HTTP/1.1",
            "Host: a",
            origin,
            method
        ]));
        assert!(!preflight(&["OPTIONS / HTTP/1.1", "Host: a", origin]));
        assert!(!preflight(&["OPTIONS / HTTP/1.1", "Host: a", method]));
        assert!(!preflight(&["GET / HTTP/1.1", "Host: a", origin, method]));
    }
}
