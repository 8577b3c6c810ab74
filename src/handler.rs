//! What to answer: from a parsed request to a `Response` or an `HttpError`.
//!
//! The pipeline is: method check, target resolution, then a file (through
//! preconditions and ranges), a listing or a redirect. It reads the file system but never touches a socket, so
//! everything here can be tested with a request built from bytes.
#![forbid(unsafe_code)]

use std::fs::{File, Metadata};
use std::path::Path;

use crate::cli::Config;
use crate::conditional::{self, Outcome, Validators};
use crate::error::{ALLOW, HttpError};
use crate::listing::{self, escape_html};
use crate::mime::content_type;
use crate::range::{self, ByteRange, Ranges};
use crate::request::Request;
use crate::resolve::{self, Resolved};
use crate::response::{Body, Response, Status, http_date};

/// Methods registered for HTTP that a static server does not allow: 405 for
/// these, 501 for names it has never heard of (RFC 9110 sections 9.1, 15.5.6
/// and 15.6.2).
const KNOWN_METHODS: &[&str] = &["POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE"];

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
        root_dir: config.root_dir.as_ref(),
        index: &config.index,
        hidden: config.hidden,
    };
    match resolve::resolve(&target, &options)? {
        Resolved::File {
            file,
            metadata,
            path,
        } => serve_file(file, &metadata, &path, request, config),
        Resolved::Directory { path, url_path } if config.listing => {
            let entries = resolve::list_dir(&path, &options)?;
            Ok(Response::new(Status::Ok)
                .header("Cache-Control", config.cache_control)
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

/// A file: preconditions first (RFC 9110 section 13.2.2), then, for a GET,
/// the Range field (section 14.2), then the file whole.
/// `metadata` is the open file's own, so what is announced matches what is
/// sent even if the path has been replaced since.
fn serve_file(
    file: File,
    metadata: &Metadata,
    path: &Path,
    request: &Request<'_>,
    config: &Config,
) -> Result<Response, HttpError> {
    let validators = Validators::of(metadata);
    // Section 15.4.5: a 304 carries the fields a 200 would have had that
    // describe the cache entry: ETag, Last-Modified, Cache-Control (and Date).
    let mut response = Response::new(Status::Ok)
        .header("ETag", validators.etag.clone())
        .header("Cache-Control", config.cache_control);
    if let Some(date) = validators.last_modified.and_then(http_date) {
        response = response.header("Last-Modified", date);
    }
    match conditional::evaluate(request, &validators) {
        Outcome::Proceed => {}
        Outcome::NotModified => {
            response.status = Status::NotModified;
            return Ok(response);
        }
        Outcome::PreconditionFailed => return Err(HttpError::PreconditionFailed),
    }

    let content_type = content_type(path);
    let len = metadata.len();
    let response = response
        .header("Accept-Ranges", "bytes")
        .header("Content-Type", content_type.clone());
    // Section 14.2: Range is defined for GET only; several Range fields are
    // not a valid Range, and If-Range can turn it off.
    let mut ranges = request.values("range");
    let range = match (ranges.next(), ranges.next()) {
        (Some(value), None)
            if request.method == "GET" && conditional::if_range(request, &validators) =>
        {
            range::parse(value, len)
        }
        _ => Ranges::Ignore,
    };
    match range {
        Ranges::Ignore => Ok(response.body(Body::File {
            file,
            offset: 0,
            len,
        })),
        Ranges::Unsatisfiable => Err(HttpError::RangeNotSatisfiable(len)),
        Ranges::Satisfiable(ranges) => Ok(partial(response, file, &ranges, &content_type, len)),
    }
}

/// A 206: one range with Content-Range, or several as multipart/byteranges
/// (section 14.6), each part with its own Content-Type and Content-Range.
fn partial(
    mut response: Response,
    file: File,
    ranges: &[ByteRange],
    content_type: &str,
    len: u64,
) -> Response {
    response.status = Status::PartialContent;
    if let [range] = ranges {
        return response
            .header("Content-Range", range.content_range(len))
            .body(Body::File {
                file,
                offset: range.start,
                len: range.len,
            });
    }
    let boundary = range::boundary();
    let (parts, closing) = range::multipart(ranges, content_type, len, &boundary);
    // The whole body is of the multipart type, not the file's.
    response.headers.retain(|(name, _)| *name != "Content-Type");
    response
        .header(
            "Content-Type",
            format!("multipart/byteranges; boundary={boundary}"),
        )
        .body(Body::Multipart {
            file,
            parts,
            closing,
        })
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
