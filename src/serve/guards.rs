//! What a request must pass before anything is looked up: the `Host`
//! check against DNS rebinding (`host`), the credentials (`auth`), the
//! method. OPTIONS is answered here too, as it names no file.
//!
//! Imports `http`, and `host` and `auth` beside it.
#![forbid(unsafe_code)]

use crate::http::error::{ALLOW, HttpError};
use crate::http::request::Request;
use crate::http::response::{Response, Status};
use crate::http::target;
use crate::serve::navigation::is_preflight;
use crate::serve::site::Site;
use crate::serve::{auth, host};

/// Methods registered for HTTP that a static server does not allow: 405 for
/// these, 501 for names it has never heard of (RFC 9110 sections 9.1, 15.5.6
/// and 15.6.2).
const KNOWN_METHODS: &[&str] = &["POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE"];

/// How long a browser may keep a preflight's answer (`--cors`), in seconds.
/// Without the field a browser keeps it 5 seconds (Fetch standard) and
/// sends a preflight before nearly every cross-origin call; ten minutes
/// saves those while a developer works, and is short enough that a server
/// restarted with other flags is believed soon.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The guards in order, as `serve::handle` applies them: `admit`, then
/// the method (which a `_redirects` rule may still redirect).
#[cfg(test)]
pub fn check(request: &Request<'_>, site: &Site) -> Result<(), HttpError> {
    admit(request, site)?;
    method(request)
}

/// Whether files take the request's method: `Ok` for GET, HEAD and
/// OPTIONS, 405 for another we know, 501 for one we do not.
#[inline]
pub fn method(request: &Request<'_>) -> Result<(), HttpError> {
    match request.method {
        "GET" | "HEAD" | "OPTIONS" => Ok(()),
        m if KNOWN_METHODS.contains(&m) => Err(HttpError::MethodNotAllowed),
        _ => Err(HttpError::NotImplemented),
    }
}

/// The guards every request passes, the proxy's too: the host, then the
/// credentials (a CORS preflight passes without them, as browsers never
/// send them with one).
#[inline]
pub fn admit(request: &Request<'_>, site: &Site) -> Result<(), HttpError> {
    if site.settings.guard_host {
        refuse_rebinding(request, site)?;
    }
    if site.settings.credentials.required() && !is_preflight(request) {
        authenticate(request, site)?;
    }
    Ok(())
}

/// Refuses a request whose host is not this machine (see `host.rs`). With
/// an absolute-form target its authority is the host, whatever the Host
/// field says (RFC 9112 section 3.2.2).
#[inline(never)]
fn refuse_rebinding(request: &Request<'_>, site: &Site) -> Result<(), HttpError> {
    let host = target::authority(request.target)
        .map(str::as_bytes)
        .or(request.header("host"));
    match host {
        Some(host) if !host::is_allowed(host, &site.settings.allowed_hosts) => {
            log::warn!(
                "refused a request for Host '{}': on a loopback address only localhost names \
                 are served, against DNS rebinding; allow this name with --allow-host",
                String::from_utf8_lossy(host).escape_default()
            );
            Err(HttpError::Forbidden("host"))
        }
        _ => Ok(()),
    }
}

/// Checks the request's credentials (see `auth.rs`); the live-reload
/// stream and every file are behind the same check. Wrong ones are logged
/// as a warning too, naming the user and never the password.
#[inline(never)]
fn authenticate(request: &Request<'_>, site: &Site) -> Result<(), HttpError> {
    site.settings.credentials.check(request).map_err(|refusal| {
        if let auth::Refusal::Wrong(_) = refusal {
            log::warn!(
                "refused a request for {}: {}",
                request.target.escape_default(),
                refusal.note()
            );
        }
        HttpError::Unauthorized {
            challenge: auth::CHALLENGE,
            note: refusal.note(),
        }
    })
}

/// OPTIONS, for `*` or any path: what the server allows (RFC 9110 section
/// 9.3.7). With `--cors`, a preflight request (Fetch standard, "CORS
/// protocol") is told that any page may use these methods and the headers it
/// asked about.
#[inline(never)]
pub fn options(request: &Request<'_>, site: &Site) -> Result<Response, HttpError> {
    if request.target != "*" {
        target::split_target(request.target)?;
    }
    let response = Response::new(Status::NoContent).header("Allow", ALLOW);
    if !(site.settings.cors && is_preflight(request)) {
        return Ok(response);
    }
    let mut response = response
        .header("Access-Control-Allow-Methods", ALLOW)
        .header("Access-Control-Max-Age", PREFLIGHT_MAX_AGE);
    if let Some(asked) = request.header("access-control-request-headers") {
        response = response.header(
            "Access-Control-Allow-Headers",
            String::from_utf8_lossy(asked).into_owned(),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::tests::{self, TempDir, field, with_request};

    fn site_with(change: impl FnOnce(&mut crate::serve::site::Settings)) -> (TempDir, Site) {
        let folder = TempDir::new("guards");
        let site = tests::site_with(&folder, change);
        (folder, site)
    }

    fn status_of(site: &Site, head: &[&str]) -> Result<(), u16> {
        with_request(head, |request| {
            check(request, site).map_err(|e| e.status().code())
        })
    }

    #[test]
    fn methods_are_sorted_into_allowed_not_allowed_and_unknown() {
        let (_folder, site) = site_with(|_| {});
        for (method, want) in [
            ("GET", Ok(())),
            ("HEAD", Ok(())),
            ("OPTIONS", Ok(())),
            ("POST", Err(405)),
            ("DELETE", Err(405)),
            ("TRACE", Err(405)),
            ("BREW", Err(501)),
        ] {
            let line = format!("{method} / HTTP/1.1");
            assert_eq!(
                status_of(&site, &[&line, "Host: localhost"]),
                want,
                "{method}"
            );
        }
    }

    #[test]
    fn the_host_is_checked_before_the_method_and_the_absolute_form_wins() {
        let (_folder, site) = site_with(|s| s.allowed_hosts = vec!["dev.test".into()]);
        assert_eq!(
            status_of(&site, &["BREW / HTTP/1.1", "Host: evil.example"]),
            Err(403)
        );
        assert_eq!(
            status_of(&site, &["GET / HTTP/1.1", "Host: dev.test:8080"]),
            Ok(())
        );
        assert_eq!(
            status_of(
                &site,
                &["GET http://evil.example/ HTTP/1.1", "Host: localhost"]
            ),
            Err(403)
        );
        let (_folder, open) = site_with(|s| s.guard_host = false);
        assert_eq!(
            status_of(&open, &["GET / HTTP/1.1", "Host: evil.example"]),
            Ok(())
        );
    }

    #[test]
    fn credentials_are_asked_for_except_in_a_preflight() {
        let (_folder, site) = site_with(|s| {
            s.credentials = auth::Credentials::parse(["alice:secret"]).unwrap();
        });
        let refused = with_request(&["GET / HTTP/1.1", "Host: localhost"], |request| {
            check(request, &site).unwrap_err()
        });
        let response = refused.into_response();
        assert_eq!(response.status, Status::Unauthorized);
        assert_eq!(field(&response, "WWW-Authenticate"), Some(auth::CHALLENGE));
        // "alice:secret" in Base64.
        let good = [
            "GET / HTTP/1.1",
            "Host: localhost",
            "Authorization: Basic YWxpY2U6c2VjcmV0",
        ];
        assert_eq!(status_of(&site, &good), Ok(()));
        let preflight = [
            "OPTIONS /api HTTP/1.1",
            "Host: localhost",
            "Origin: http://localhost:3000",
            "Access-Control-Request-Method: PUT",
        ];
        assert_eq!(status_of(&site, &preflight), Ok(()));
        assert_eq!(
            status_of(&site, &["OPTIONS * HTTP/1.1", "Host: localhost"]),
            Err(401)
        );
    }

    #[test]
    fn options_says_what_is_allowed_and_answers_a_preflight_with_cors() {
        let preflight = [
            "OPTIONS /a HTTP/1.1",
            "Host: localhost",
            "Origin: http://localhost:3000",
            "Access-Control-Request-Method: GET",
            "Access-Control-Request-Headers: x-one, x-two",
        ];
        let (_folder, plain) = site_with(|_| {});
        let response = with_request(&preflight, |r| options(r, &plain)).unwrap();
        assert_eq!(response.status, Status::NoContent);
        assert_eq!(field(&response, "Allow"), Some(ALLOW));
        assert_eq!(field(&response, "Access-Control-Allow-Methods"), None);

        let (_folder, cors) = site_with(|s| s.cors = true);
        let response = with_request(&preflight, |r| options(r, &cors)).unwrap();
        assert_eq!(
            field(&response, "Access-Control-Allow-Methods"),
            Some(ALLOW)
        );
        assert_eq!(field(&response, "Access-Control-Max-Age"), Some("600"));
        assert_eq!(
            field(&response, "Access-Control-Allow-Headers"),
            Some("x-one, x-two")
        );

        let star = with_request(&["OPTIONS * HTTP/1.1", "Host: localhost"], |r| {
            options(r, &cors)
        });
        assert_eq!(star.unwrap().status, Status::NoContent);
        let bad = with_request(&["OPTIONS /a#b HTTP/1.1", "Host: localhost"], |r| {
            options(r, &cors)
        });
        assert!(matches!(bad, Err(HttpError::BadRequest(_))));
    }
}
