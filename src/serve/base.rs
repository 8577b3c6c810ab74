//! `--base PATH`: the folder served under a path, as a host serves a
//! project site (`/REPO/` on GitHub Pages). A path under the base is the
//! path in the folder; the base itself without its slash is redirected to
//! it; `/` sends a browser's navigation there; anything else is a 404 that
//! names the base, which is how an asset built without the base shows up.
//!
//! Imports `http` and `navigation` beside it.
#![forbid(unsafe_code)]

use crate::http::error::HttpError;
use crate::http::request::Request;
use crate::http::response::{Response, Status};
use crate::http::target::Target;
use crate::serve::fallbacks::redirect_to;
use crate::serve::navigation::is_navigation;

/// Where a request's target is, for the base.
#[derive(Debug)]
pub enum Place<'t> {
    /// Under the base: the path in the folder.
    Inside(Target<'t>),
    /// Outside: its answer.
    Outside(Result<Response, HttpError>),
}

/// `target` under `base` (`/REPO`, or empty for none), as the path in the
/// folder; else the answer for a path outside it.
pub fn inside<'t>(target: &Target<'t>, base: &str, request: &Request<'_>) -> Place<'t> {
    match split(target, base, request) {
        Ok(inner) => Place::Inside(inner),
        Err(answer) => Place::Outside(answer),
    }
}

#[allow(clippy::result_large_err)]
fn split<'t>(
    target: &Target<'t>,
    base: &str,
    request: &Request<'_>,
) -> Result<Target<'t>, Result<Response, HttpError>> {
    if base.is_empty() {
        return Ok(*target);
    }
    match target.path.strip_prefix(base) {
        Some(rest) if rest.starts_with('/') => {
            return Ok(Target {
                path: rest,
                query: target.query,
            });
        }
        // As GitHub Pages answers `/REPO`.
        Some("") => {
            return Err(Ok(redirect_to(
                Status::MovedPermanently,
                with_query(format!("{base}/"), target.query),
            )));
        }
        _ => {}
    }
    // A 302, not a 301: browsers keep a 301, and the next server on this
    // port may serve a site at `/`.
    if target.path == "/" && is_navigation(request) {
        return Err(Ok(redirect_to(
            Status::Found,
            with_query(format!("{base}/"), target.query),
        )));
    }
    Err(Err(HttpError::OutsideBase {
        base: format!("{base}/"),
        meant: format!("{base}{}", target.path),
    }))
}

/// `path` under `base`, for a path in the folder that goes out in a link
/// or a `Location`.
pub fn outside(base: &str, path: &str) -> String {
    format!("{base}{path}")
}

fn with_query(mut location: String, query: Option<&str>) -> String {
    if let Some(query) = query {
        location.push('?');
        location.push_str(query);
    }
    location
}

#[cfg(test)]
mod tests {
    use crate::serve::tests::{field, with_request};

    fn place(target: &str, accept: &str) -> Result<String, (u16, String)> {
        let line = format!("GET {target} HTTP/1.1");
        with_request(&[&line, "Host: localhost", accept], |request| {
            let split = crate::http::target::split_target(target).unwrap();
            match super::split(&split, "/repo", request) {
                Ok(inner) => Ok(format!("{} {:?}", inner.path, inner.query)),
                Err(Ok(response)) => Err((
                    response.status.code(),
                    field(&response, "Location").unwrap_or_default().to_string(),
                )),
                Err(Err(error)) => Err((error.status().code(), error.reason().into_owned())),
            }
        })
    }

    #[test]
    fn paths_under_the_base_are_the_folders_and_the_rest_are_answered() {
        let page = "Accept: text/html";
        let script = "Sec-Fetch-Dest: script";
        assert_eq!(place("/repo/", page), Ok("/ None".into()));
        assert_eq!(
            place("/repo/a/b.js?v=1", script),
            Ok("/a/b.js Some(\"v=1\")".into())
        );
        assert_eq!(place("/repo?x", page), Err((301, "/repo/?x".into())));
        assert_eq!(place("/", page), Err((302, "/repo/".into())));
        assert_eq!(
            place("/", script),
            Err((404, "outside the base /repo/".into()))
        );
        // Not a prefix of a longer name, and nothing outside is redirected.
        assert_eq!(
            place("/repository/x", page),
            Err((404, "outside the base /repo/".into()))
        );
        assert_eq!(
            place("/assets/app.js", script),
            Err((404, "outside the base /repo/".into()))
        );
    }
}
