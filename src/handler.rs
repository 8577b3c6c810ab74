//! What to answer: from a parsed request to a `Response` or an `HttpError`.
//!
//! The pipeline is: method check, target resolution, then a file, a listing
//! or a redirect. It reads the file system but never touches a socket, so
//! everything here can be tested with a request built from bytes.
#![forbid(unsafe_code)]

use std::fs::File;
use std::path::Path;

use crate::cli::Config;
use crate::error::{ALLOW, HttpError};
use crate::listing::{self, escape_html};
use crate::mime::content_type;
use crate::request::Request;
use crate::resolve::{self, Resolved};
use crate::response::{Body, Response, Status, http_date};

/// Methods registered for HTTP that a static server does not allow: 405 for
/// these, 501 for names it has never heard of (RFC 9110 sections 9.1, 15.5.6
/// and 15.6.2).
const KNOWN_METHODS: &[&str] = &["POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE"];

/// Every response to a file or listing says this, so a browser revalidates
/// on each use and a developer's edit shows on the next reload.
const CACHE_CONTROL: &str = "no-cache";

pub fn handle(request: &Request<'_>, config: &Config) -> Result<Response, HttpError> {
    match request.method {
        "GET" | "HEAD" => {}
        "OPTIONS" => return options(request),
        m if KNOWN_METHODS.contains(&m) => return Err(HttpError::MethodNotAllowed),
        _ => return Err(HttpError::NotImplemented),
    }
    let target = resolve::split_target(request.target)?;
    let options = resolve::Options {
        root: &config.root,
        index: &config.index,
        hidden: config.hidden,
    };
    match resolve::resolve(&target, &options)? {
        Resolved::File { path } => serve_file(&path),
        Resolved::Directory { path, url_path } if config.listing => {
            let entries = resolve::list_dir(&path, &options)?;
            Ok(Response::new(Status::Ok)
                .header("Cache-Control", CACHE_CONTROL)
                .html(listing::render(&url_path, entries)))
        }
        Resolved::Directory { .. } => Err(HttpError::NotFound("listing disabled")),
        Resolved::Redirect { location } => Ok(redirect(location)),
    }
}

/// OPTIONS, for `*` or any path: what the server allows (RFC 9110 section 9.3.7).
fn options(request: &Request<'_>) -> Result<Response, HttpError> {
    if request.target != "*" {
        resolve::split_target(request.target)?;
    }
    Ok(Response::new(Status::NoContent).header("Allow", ALLOW))
}

fn serve_file(path: &Path) -> Result<Response, HttpError> {
    let file = File::open(path)?;
    // Ask the open file, not the path: it may have been replaced since it
    // was resolved, and what we send must match what we announce.
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(HttpError::Forbidden("not a regular file"));
    }
    let mut response = Response::new(Status::Ok)
        .header("Content-Type", content_type(path))
        .header("Cache-Control", CACHE_CONTROL);
    if let Some(date) = metadata.modified().ok().and_then(http_date) {
        response = response.header("Last-Modified", date);
    }
    let len = metadata.len();
    Ok(response.body(Body::File {
        file,
        offset: 0,
        len,
    }))
}

fn redirect(location: String) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>301 Moved Permanently</title></head>\n\
         <body><a href=\"{}\">Moved here</a></body>\n</html>\n",
        escape_html(&location)
    );
    Response::new(Status::MovedPermanently)
        .header("Location", location)
        .html(page)
}
