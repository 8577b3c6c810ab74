//! What answers when the path names no file as it is: a clean URL's page
//! (`/about` from `about.html`), the single-page app's index, a 404 that
//! names the file the client may have meant; and the pages of redirects
//! and errors, with the user's `--404` page.
//!
//! Imports `http`, `fs` and `files` beside it.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::path::Path;

use crate::fs::resolve::{self, Resolved, ServedRoot};
use crate::http::error::HttpError;
use crate::http::mime::content_type;
use crate::http::page;
use crate::http::request::Request;
use crate::http::response::{Body, Response, Status};
use crate::http::syntax;
use crate::http::target::Target;
use crate::serve::files;
use crate::serve::navigation::is_navigation;
use crate::serve::representation::Found;
use crate::serve::site::Site;

/// Clean URLs: `/about` answered from `about.html`, when `about` is not a
/// file and the last segment has no extension. The page is served as if it
/// had been asked for by its own name (same validators, ranges and cache
/// entry, under `/about.html`), so the dotfile rule and the root's bounds
/// hold for it as for any path. `None` if there is no such page.
#[inline(never)]
pub fn clean_url(
    request: &Request<'_>,
    target: &Target<'_>,
    root: &ServedRoot<'_>,
    site: &Site,
) -> Option<Result<Response, HttpError>> {
    if !site.settings.clean_urls {
        return None;
    }
    let html_path = resolve::html_sibling(target)?;
    let html = Target {
        path: &html_path,
        query: target.query,
    };
    let answer = match files::serve_cached(request, &html, root, site) {
        Some(answer) => answer,
        None => match resolve::resolve(&html, root) {
            Ok(Resolved::File {
                file,
                metadata,
                path,
            }) => files::serve_opened(file, &metadata, &path, request, &html, root, site),
            _ => return None,
        },
    };
    // The access line says which file answered.
    Some(answer.map(|mut response| {
        let from = match response.note.take() {
            Some(note) => format!("{note}, from {html_path}"),
            None => format!("from {html_path}"),
        };
        response.note = Some(Cow::Owned(from));
        response
    }))
}

/// A path that names nothing, no clean URL's page and no rule answer. With
/// `--spa`, a navigation to a path without a file extension gets the root's
/// index page, since the app routes it in the browser; a missing script or
/// image keeps its 404, so the browser never runs an HTML page as
/// JavaScript. Otherwise a 404, naming the file the client may have meant
/// if one differs only in letter case.
#[inline(never)]
pub fn not_found(
    request: &Request<'_>,
    target: &Target<'_>,
    root: &ServedRoot<'_>,
    site: &Site,
) -> Result<Response, HttpError> {
    let last_segment = target.path.rsplit('/').next().unwrap_or_default();
    if site.settings.spa && is_navigation(request) && Path::new(last_segment).extension().is_none()
    {
        let index = Target {
            path: "/",
            query: None,
        };
        if let Ok(Resolved::File {
            file,
            metadata,
            path,
        }) = resolve::resolve(&index, root)
        {
            let found = Found::opened(file, &path);
            return files::serve_file(found, &metadata, &path, request, root, site);
        }
    }
    if let Some(watcher) = &site.live_reload
        && let Some(path) = resolve::local_path(target, root)
    {
        // A page that asked for it reloads when it appears, or when the
        // page a clean URL would name does.
        watcher.served(&path);
        if site.settings.clean_urls && resolve::html_sibling(target).is_some() {
            watcher.served(&resolve::sibling(&path, ".html"));
        }
    }
    match resolve::case_insensitive_match(target, root) {
        Some(existing) => Err(HttpError::WrongCase(format!(
            "{}{existing}",
            site.settings.base
        ))),
        None => Err(HttpError::NoSuchFile),
    }
}

/// A 301 to `location`, with a page that links there.
#[inline(never)]
pub fn redirect(location: String) -> Response {
    redirect_to(Status::MovedPermanently, location)
}

/// A redirect with `status` to `location`, with a page that links there.
#[inline(never)]
pub fn redirect_to(status: Status, location: String) -> Response {
    let (code, reason) = status.line();
    let page = page::simple(
        &format!("{code} {reason}"),
        &format!(
            "<p><a href=\"{}\">Moved here</a></p>\n",
            syntax::escape_html(&location)
        ),
    );
    Response::new(status)
        .header("Location", location)
        .html(page)
}

/// The response for an error: the user's `--404` page for a 404 (read at
/// each use, so edits to it show), else the standard page. Either way the
/// error's reason goes with it, for the log.
#[inline(never)]
pub fn error_response(error: HttpError, site: &Site) -> Response {
    let note = error.reason();
    let mut response = match &site.settings.not_found_page {
        Some(page) if error.status() == Status::NotFound => {
            if let Some(watcher) = &site.live_reload {
                watcher.served(page);
            }
            match std::fs::read(page) {
                Ok(bytes) => Response::new(Status::NotFound)
                    .header("Content-Type", content_type(page))
                    .header("Cache-Control", site.settings.cache_control)
                    .body(Body::Bytes(bytes)),
                Err(e) => {
                    log::warn!("cannot read the --404 page {}: {e}", page.display());
                    error.into_response()
                }
            }
        }
        _ => error.into_response(),
    };
    response.note = Some(note);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::tests::{TempDir, answer, field, site_with, text};

    #[test]
    fn a_clean_url_is_served_from_its_page_and_says_so() {
        let folder = TempDir::new("clean");
        folder.write("about.html", b"<p>about</p>");
        let site = site_with(&folder, |_| {});
        let response = answer(&site, &["GET /about?x=1 HTTP/1.1", "Host: localhost"]);
        assert_eq!(response.status, Status::Ok);
        assert_eq!(response.note.as_deref(), Some("from /about.html"));
        let direct = answer(&site, &["GET /about.html HTTP/1.1", "Host: localhost"]);
        assert_eq!(field(&response, "ETag"), field(&direct, "ETag"));
        // Never for a folder's path or a name with an extension.
        for target in ["/about/", "/about.htm"] {
            let line = format!("GET {target} HTTP/1.1");
            assert_eq!(
                answer(&site, &[&line, "Host: localhost"]).status,
                Status::NotFound
            );
        }
    }

    #[test]
    fn the_spa_index_answers_navigations_only() {
        let folder = TempDir::new("spa");
        folder.write("index.html", b"<p>app</p>");
        let site = site_with(&folder, |s| s.spa = true);
        // A page, a missing script, and a fetch() of the page's path.
        for (target, field, want) in [
            ("/app/settings", "Accept: text/html", Status::Ok),
            ("/assets/missing.js", "Accept: text/html", Status::NotFound),
            ("/app/settings", "Sec-Fetch-Dest: empty", Status::NotFound),
        ] {
            let line = format!("GET {target} HTTP/1.1");
            let response = answer(&site, &[&line, "Host: localhost", field]);
            assert_eq!(response.status, want, "{target} {field}");
        }
    }

    #[test]
    fn a_404_names_the_file_that_differs_only_in_case() {
        let folder = TempDir::new("case");
        folder.write("Docs/About.html", b"x");
        let site = site_with(&folder, |_| {});
        let response = answer(&site, &["GET /docs/about.html HTTP/1.1", "Host: localhost"]);
        // Where the file system ignores case (Windows, macOS by default),
        // the file itself answers instead.
        if folder.0.join("docs/about.html").exists() {
            assert_eq!(response.status, Status::Ok);
            return;
        }
        assert_eq!(response.status, Status::NotFound);
        assert!(
            text(&response).contains("<a href=\"/Docs/About.html\">"),
            "{}",
            text(&response)
        );
    }

    #[test]
    fn the_users_404_page_is_read_at_each_use() {
        let folder = TempDir::new("not-found-page");
        folder.write("404.html", b"first");
        let site = site_with(&folder, |s| {
            s.not_found_page = Some(folder.0.join("404.html"))
        });
        let get = || answer(&site, &["GET /nothing HTTP/1.1", "Host: localhost"]);
        assert_eq!(
            (get().status, text(&get())),
            (Status::NotFound, "first".into())
        );
        folder.write("404.html", b"second");
        assert_eq!(text(&get()), "second");
        assert_eq!(get().note.as_deref(), Some("no such file"));
        // Other errors keep their own page.
        let bad = error_response(HttpError::BadRequest("test"), &site);
        assert_eq!(bad.status, Status::BadRequest);
        assert!(text(&bad).contains("400 Bad Request"));
    }

    #[test]
    fn a_redirect_escapes_its_location_in_the_page() {
        let response = redirect("/a\"<b>/".into());
        assert_eq!(response.status, Status::MovedPermanently);
        assert_eq!(field(&response, "Location"), Some("/a\"<b>/"));
        assert!(
            text(&response).contains("href=\"/a&quot;&lt;b&gt;/\""),
            "{}",
            text(&response)
        );
    }
}
