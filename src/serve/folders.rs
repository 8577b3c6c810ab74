//! A folder's response: its listing as HTML, or the same data as JSON,
//! with validators of its own. What a listing shows and how it is drawn
//! are `listing`'s; which entries may be shown is `fs::resolve`'s.
//!
//! Imports `http`, `fs` and `listing` beside it.
#![forbid(unsafe_code)]

use std::ops::ControlFlow;
use std::path::Path;

use crate::fs::resolve::{self, ServedRoot};
use crate::http::conditional::{self, Validators};
use crate::http::date::http_date;
use crate::http::error::HttpError;
use crate::http::request::Request;
use crate::http::response::{Body, Response};
use crate::serve::listing::{self, Format, Listing};
use crate::serve::navigation::accepts;
use crate::serve::preconditions::validated;
use crate::serve::site::Site;

/// A folder's listing: HTML, or the same data as JSON for a client that
/// asks for JSON and not HTML. It has validators like a file (a tag of what
/// it shows, and the newest time of the folder and its entries) and the same
/// preconditions (RFC 9110 section 13.2.2), so a browser revalidating an
/// unchanged listing gets a 304 and nothing is rendered.
#[inline(never)]
pub fn list(
    request: &Request<'_>,
    path: &Path,
    url_path: &str,
    query: Option<&str>,
    root: &ServedRoot<'_>,
    site: &Site,
) -> Result<Response, HttpError> {
    if let Some(watcher) = &site.live_reload {
        watcher.served(path);
    }
    let order = listing::Order::from_query(query);
    let listing = Listing::new(resolve::list_dir(path, root)?, order);
    let format = if accepts(request, "application/json") && !accepts(request, "text/html") {
        Format::Json
    } else {
        Format::Html
    };
    // The folder's own time changes when an entry is added, removed or
    // renamed; the entries' when one is edited.
    let folder_modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let validators = Validators {
        etag: listing::etag(url_path, &listing, format),
        last_modified: listing
            .entries()
            .iter()
            .map(|entry| entry.modified)
            .chain([folder_modified])
            .max()
            .flatten(),
    };
    let outcome = conditional::evaluate(request, &validators);
    // The format follows Accept: caches must key on it.
    let last_modified = validators.last_modified.and_then(http_date);
    let response = match validated(outcome, validators, last_modified, Some("Accept"), site) {
        ControlFlow::Continue(response) => response,
        ControlFlow::Break(answer) => return answer,
    };
    Ok(match format {
        Format::Json => {
            let json = listing::render_json(url_path, &listing);
            response
                .header("Content-Type", "application/json")
                .body(Body::Bytes(json.into_bytes()))
        }
        Format::Html => response.html(listing::render(url_path, &listing)),
    })
}

#[cfg(test)]
mod tests {
    use crate::http::response::Status;
    use crate::serve::tests::{TempDir, answer, field, site_with, text};

    #[test]
    fn a_listing_is_html_or_json_and_revalidates() {
        let folder = TempDir::new("folders");
        folder.write("d/b.txt", b"bb");
        folder.write("d/a.txt", b"a");
        let site = site_with(&folder, |_| {});
        let html = answer(&site, &["GET /d/ HTTP/1.1", "Host: localhost"]);
        assert_eq!(html.status, Status::Ok);
        assert_eq!(field(&html, "Vary"), Some("Accept"));
        assert!(
            field(&html, "Content-Type")
                .unwrap()
                .starts_with("text/html")
        );
        let json_head = [
            "GET /d/ HTTP/1.1",
            "Host: localhost",
            "Accept: application/json",
        ];
        let json = answer(&site, &json_head);
        assert_eq!(field(&json, "Content-Type"), Some("application/json"));
        let text = text(&json);
        assert!(
            text.find("\"a.txt\"").unwrap() < text.find("\"b.txt\"").unwrap(),
            "{text}"
        );
        // Each format has its own tag.
        assert_ne!(field(&html, "ETag"), field(&json, "ETag"));
        let if_none_match = format!("If-None-Match: {}", field(&html, "ETag").unwrap());
        let again = answer(
            &site,
            &["GET /d/ HTTP/1.1", "Host: localhost", &if_none_match],
        );
        assert_eq!(again.status, Status::NotModified);
    }

    #[test]
    fn without_listings_a_folder_is_a_404() {
        let folder = TempDir::new("no-listing");
        folder.write("d/a.txt", b"a");
        let site = site_with(&folder, |s| s.listing = false);
        let response = answer(&site, &["GET /d/ HTTP/1.1", "Host: localhost"]);
        assert_eq!(response.status, Status::NotFound);
        assert_eq!(response.note.as_deref(), Some("listing disabled"));
    }
}
