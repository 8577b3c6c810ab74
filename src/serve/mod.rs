//! What to answer: from a parsed request to a `Response` or an `HttpError`.
//!
//! `handle` is the whole pipeline, in the order a request meets it:
//! - `guards`: the `Host` check against DNS rebinding, the credentials,
//!   the method (and OPTIONS, answered there);
//! - the target, then live reload's event stream;
//! - `base`: with `--base`, the path in the folder, or the answer outside;
//! - the host's rules in force (`rules`): a forced `_redirects` rule
//!   answers before any file is looked for;
//! - the file cache (`fs::cache`), else the resolver (`fs::resolve`);
//! - `files`: a file, through `representation` (the file itself, its
//!   precompressed variant or the page with the reload script), the
//!   preconditions and the ranges;
//! - `folders`: a folder's listing, rendered by `listing`;
//! - `fallbacks`: a path that names nothing (a clean URL's page, then a
//!   `_redirects` rule, carried out by `act` with `rewrites`; then the
//!   single-page app's index, the 404 with a hint), redirects, and every
//!   error's page;
//! - `_headers` fields on whatever answered.
//!
//! `navigation` tells what kind of request a browser sent; `host` and
//! `auth` hold the rules the guards apply.
//!
//! `proxy` is the other way: a request under a proxied prefix is worked
//! out there, and forwarded by `net`.
//!
//! May import `http`, `fs`, `dev` and `sys`. Never `net`: the client's
//! socket is `net`'s (`proxy` holds the backends', and only writes a
//! relayed body to the client through `http::sender`). Never the command
//! line: `main` hands it `Settings`.
#![forbid(unsafe_code)]

pub mod auth;
mod base;
mod fallbacks;
mod files;
mod folders;
mod guards;
pub mod host;
pub mod listing;
mod navigation;
mod preconditions;
pub mod proxy;
mod representation;
mod rewrites;
pub mod rules;
pub mod site;

use std::sync::Arc;

use crate::dev::livereload::{self, Watcher};
use crate::fs::resolve::{self, Resolved, ServedRoot};
use crate::http::error::HttpError;
use crate::http::request::Request;
use crate::http::response::{Body, Response, Status};
use crate::http::target::{self, Target};
use crate::serve::base::Place;
use crate::serve::rewrites::Matching;
use crate::serve::rules::Action;

pub use crate::serve::fallbacks::error_response;
pub use crate::serve::site::{Settings, Site};

/// The answer to `request`. Out of line, as is every branch it takes (see
/// `net::listener::STACK_SIZE`, and the test that measures it there).
#[inline(never)]
pub fn handle(request: &Request<'_>, site: &Site) -> Result<Response, HttpError> {
    guards::admit(request, site)?;
    // A method files do not take may still be redirected by a rule.
    let refused = match guards::method(request) {
        Ok(()) => None,
        Err(HttpError::MethodNotAllowed) => Some(HttpError::MethodNotAllowed),
        Err(other) => return Err(other),
    };
    if request.method == "OPTIONS" {
        return guards::options(request, site);
    }
    let target = target::split_target(request.target)?;
    let root = site.root();
    if target.path == livereload::EVENTS_PATH
        && let Some(watcher) = &site.live_reload
        && refused.is_none()
    {
        return Ok(events(watcher));
    }
    let inner = match site.settings.base.is_empty() {
        true => target,
        false => match base::inside(&target, &site.settings.base, request) {
            Place::Inside(inner) => inner,
            Place::Outside(answer) => return answer,
        },
    };
    let rules = site.rules();
    let Some(rules) = rules.as_deref() else {
        return match refused {
            Some(refused) => Err(refused),
            None => serve_target(request, &inner, &root, site, None),
        };
    };
    // Rules see the path as sent, in one spelling and with its
    // dot-segments gone: `/a/../b` and `//%62` are matched as the `/b` the
    // resolver would open.
    let path = rules::path_for_rules(target.path);
    let as_sent = Target {
        path: &path,
        query: target.query,
    };
    let matching = Matching {
        rules,
        target: &as_sent,
    };
    let mut answer = match refused {
        None => match matching.forced(&inner, &root, site) {
            Some(forced) => act(forced, request, &root, site),
            None => serve_target(request, &inner, &root, site, Some(matching)),
        },
        Some(refused) => match matching.redirect(&inner, &root, site) {
            Some(redirect) => act(redirect, request, &root, site),
            None => Err(refused),
        },
    };
    if let Ok(response) = &mut answer {
        rules.add_headers(response, &path);
    }
    answer
}

/// The answer from the folder for `target` (a path in it): the file
/// cache, else the resolver. With `rules`, a `_redirects` rule answers
/// where no file does.
#[inline]
fn serve_target(
    request: &Request<'_>,
    target: &Target<'_>,
    root: &ServedRoot<'_>,
    site: &Site,
    rules: Option<Matching<'_>>,
) -> Result<Response, HttpError> {
    if let Some(response) = files::serve_cached(request, target, root, site) {
        return response;
    }
    match serve_resolved(request, target, root, site, rules) {
        Err(error) if error.is_out_of_descriptors() => {
            retry(error, request, target, root, site, rules)
        }
        answer => answer,
    }
}

/// The way without the cache: what the resolver finds for the target.
#[inline(never)]
fn serve_resolved(
    request: &Request<'_>,
    target: &Target<'_>,
    root: &ServedRoot<'_>,
    site: &Site,
    rules: Option<Matching<'_>>,
) -> Result<Response, HttpError> {
    let resolved = match resolve::resolve(target, root) {
        Ok(resolved) => resolved,
        Err(HttpError::NoSuchFile) => {
            if let Some(answer) = fallbacks::clean_url(request, target, root, site) {
                return answer;
            }
            if let Some(action) = rules.and_then(|r| r.unshadowed()) {
                return act(action, request, root, site);
            }
            return fallbacks::not_found(request, target, root, site);
        }
        // Nothing answers a dotfile's path, or a rules file's: a rule may.
        Err(e) if e.status() == Status::NotFound => {
            return match rules.and_then(|r| r.unshadowed()) {
                Some(action) => act(action, request, root, site),
                None => Err(e),
            };
        }
        Err(e) => return Err(e),
    };
    match resolved {
        Resolved::File {
            file,
            metadata,
            path,
        } => files::serve_opened(file, &metadata, &path, request, target, root, site),
        // A folder without an index is no file: a rule comes first.
        Resolved::Directory { .. } if let Some(action) = rules.and_then(|r| r.unshadowed()) => {
            act(action, request, root, site)
        }
        Resolved::Directory { path, url_path } if site.settings.listing => {
            let url_path = base::outside(&site.settings.base, &url_path);
            folders::list(request, &path, &url_path, target.query, root, site)
        }
        Resolved::Directory { .. } => Err(HttpError::NotFound("listing disabled")),
        // A folder `about/` beside `about.html`: `/about` is the page, as
        // on GitHub Pages, Netlify and Cloudflare Pages, and `/about/` the
        // folder. A redirect would make the page unreachable.
        Resolved::Redirect { location } => {
            if let Some(answer) = fallbacks::clean_url(request, target, root, site) {
                return answer;
            }
            // A folder without an index is no file: a rule comes before
            // the slash is added.
            if let Some(matching) = rules
                && !rewrites::file_answers(target, root, site)
                && let Some(action) = matching.unshadowed()
            {
                return act(action, request, root, site);
            }
            Ok(fallbacks::redirect(base::outside(
                &site.settings.base,
                &location,
            )))
        }
    }
}

/// Carries out what a `_redirects` rule asks for (from line `line`); the
/// access log names the line.
#[inline(never)]
fn act(
    (action, line): (Action, usize),
    request: &Request<'_>,
    root: &ServedRoot<'_>,
    site: &Site,
) -> Result<Response, HttpError> {
    let answer = match action {
        // Browsers keep a 301 for good unless told not to, and a rule
        // being edited must not stay in their cache.
        Action::Redirect { status, location } => Ok(fallbacks::redirect_to(status, location)
            .header("Cache-Control", site.settings.cache_control)),
        // One hop: TO is served as any path is, but no rule applies to it.
        Action::Rewrite { path, query } => match path.strip_prefix(site.settings.base.as_str()) {
            Some(inner) if inner.starts_with('/') => {
                let target = Target {
                    path: inner,
                    query: query.as_deref(),
                };
                serve_target(request, &target, root, site, None)
            }
            _ => Err(HttpError::NoSuchFile),
        },
        Action::Page { status, path } => Ok(rewrites::page(status, &path, root, site)),
        // `proxy::forward` takes these before the pipeline, with the rules
        // brought up to date first; one is met here only for a request the
        // proxy never takes (CONNECT, live reload's own paths), or if the
        // rules changed between the two.
        Action::Proxy { .. } => Err(HttpError::NotFound("a proxying rule not taken")),
    };
    let by = format!("_redirects line {line}");
    answer.map(|mut response| {
        response.note = Some(match response.note.take() {
            Some(note) => format!("{note}, by {by}").into(),
            None => by.into(),
        });
        response
    })
}

/// Out of descriptors: the descriptor budget (see `main`) should have made
/// this impossible, but another process may have filled the system's table,
/// or the limit may have been lowered under us. The cache gives back the
/// files it keeps open, and the request is tried once more.
#[inline(never)]
fn retry(
    error: HttpError,
    request: &Request<'_>,
    target: &Target<'_>,
    root: &ServedRoot<'_>,
    site: &Site,
    rules: Option<Matching<'_>>,
) -> Result<Response, HttpError> {
    let closed = site.cache.close_open_files();
    let idle = site.close_idle_backends();
    let and_proxy = match site.proxies.is_empty() {
        true => String::new(),
        false => format!(", the proxy its {idle} idle connections"),
    };
    log::warn!(
        "out of file descriptors ({}): the file cache closed the {closed} files it kept \
         open{and_proxy}; trying once more",
        error.reason()
    );
    serve_resolved(request, target, root, site, rules)
}

/// The live-reload event stream: no length, it lasts until the page goes
/// away.
#[inline(never)]
fn events(watcher: &Arc<Watcher>) -> Response {
    Response::new(Status::Ok)
        .header("Content-Type", "text/event-stream")
        .header("Cache-Control", "no-store")
        .body(Body::Stream(Box::new(livereload::Events(Arc::clone(
            watcher,
        )))))
}

/// Adds what `--cors` and `--header` put on every response of ours; a
/// backend's response, relayed by the proxy, passes untouched.
pub fn decorate(response: &mut Response, site: &Site) {
    if let Status::Relayed(_) = response.status {
        return;
    }
    if site.settings.cors {
        response
            .headers
            .push(("Access-Control-Allow-Origin", "*".into()));
    }
    for &(name, value) in &site.settings.extra_headers {
        response.headers.push((name, value.into()));
    }
}

/// What the unit tests of this folder share: a site over a folder of their
/// own, and requests parsed from text.
#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use super::*;
    use crate::http::request::{Parsed, parse};

    pub use crate::fs::testing::TempDir;

    /// The settings `tinyhttpd DIR` runs with.
    pub fn settings(root: &Path) -> Settings {
        Settings {
            root: root.to_path_buf(),
            index: "index.html".into(),
            listing: true,
            hidden: false,
            cache_control: "no-cache",
            spa: false,
            clean_urls: true,
            not_found_page: None,
            precompressed: true,
            cors: false,
            extra_headers: Vec::new(),
            guard_host: true,
            allowed_hosts: Vec::new(),
            live_reload: false,
            credentials: auth::Credentials::default(),
            proxies: Vec::new(),
            proxy_timeout: std::time::Duration::from_secs(1),
            host_rules: true,
            base: String::new(),
        }
    }

    /// A site over `folder`, with the settings `change` makes.
    pub fn site_with(folder: &TempDir, change: impl FnOnce(&mut Settings)) -> Site {
        let mut settings = settings(&folder.0);
        change(&mut settings);
        Site::new(settings, 0)
    }

    /// The body of `response` as text, when it is held in memory.
    pub fn text(response: &Response) -> String {
        match &response.body {
            Body::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            other => panic!("{other:?}"),
        }
    }

    /// The request `head` (its lines without their CRLF) parsed, given to
    /// `f`.
    pub fn with_request<T>(head: &[&str], f: impl FnOnce(&Request<'_>) -> T) -> T {
        let mut text = head.join("\r\n");
        text.push_str("\r\n\r\n");
        match parse(text.as_bytes()) {
            Ok(Parsed::Complete(request, _)) => f(&request),
            other => panic!("{other:?}"),
        }
    }

    /// A field's value in `response`, if it has the field.
    pub fn field<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
        response
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// `handle`'s answer for `head` on `site`: the status, and the response
    /// or the error's.
    pub fn answer(site: &Site, head: &[&str]) -> Response {
        with_request(head, |request| {
            handle(request, site).unwrap_or_else(|e| error_response(e, site))
        })
    }

    #[test]
    fn the_pipeline_answers_a_file_a_listing_a_redirect_and_a_404() {
        let folder = TempDir::new("pipeline");
        folder.write("a.txt", b"hello");
        folder.write("d/b.txt", b"b");
        let site = Site::new(settings(&folder.0), 8);
        let get = |target: &str| {
            let line = format!("GET {target} HTTP/1.1");
            answer(&site, &[&line, "Host: localhost"])
        };
        let file = get("/a.txt");
        assert_eq!((file.status, file.body.len()), (Status::Ok, 5));
        assert_eq!(
            field(&file, "Content-Type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(get("/d/").status, Status::Ok);
        let redirect = get("/d");
        assert_eq!(redirect.status, Status::MovedPermanently);
        assert_eq!(field(&redirect, "Location"), Some("/d/"));
        assert_eq!(get("/missing").status, Status::NotFound);
        assert_eq!(get("/a.txt#x").status, Status::BadRequest);
    }

    #[test]
    fn cors_and_extra_headers_go_on_every_response() {
        let folder = TempDir::new("decorate");
        let mut settings = settings(&folder.0);
        settings.cors = true;
        settings.extra_headers = vec![("X-Frame-Options", "DENY")];
        let site = Site::new(settings, 0);
        let mut response = Response::new(Status::NotFound);
        decorate(&mut response, &site);
        assert_eq!(field(&response, "Access-Control-Allow-Origin"), Some("*"));
        assert_eq!(field(&response, "X-Frame-Options"), Some("DENY"));
    }
}
