//! A file's response: from the file cache or just opened, through its
//! representation (`representation`) and the preconditions, to the whole
//! of it or the ranges asked for (RFC 9110 sections 13.2.2 and 14).
//!
//! Imports `http` and `fs`.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::ops::ControlFlow;
use std::path::Path;

use crate::dev::livereload;
use crate::fs::resolve::{self, ServedRoot};
use crate::http::conditional::{self, Outcome, Validators};
use crate::http::error::HttpError;
use crate::http::range::{self, ByteRange, Ranges};
use crate::http::request::Request;
use crate::http::response::{Body, Content, Response, Status};
use crate::http::target::Target;
use crate::serve::preconditions::validated;
use crate::serve::representation::{self, Form, Found, Representation};
use crate::serve::site::Site;

/// A file from the cache, if it is there and still the file on disk.
#[inline(never)]
pub fn serve_cached(
    request: &Request<'_>,
    target: &Target<'_>,
    root: &ServedRoot<'_>,
    site: &Site,
) -> Option<Result<Response, HttpError>> {
    let hit = site.cache.get(target.path)?;
    // A rules file that a cached file has become since is withheld (the
    // resolver says why, as for any path).
    if root.withholds_version(&hit.metadata) {
        return None;
    }
    let route = &hit.route;
    Some(serve_file(
        Found::cached(route),
        &hit.metadata,
        route.path(),
        request,
        root,
        site,
    ))
}

/// A file `target` resolved to, opened: kept in the cache under the
/// target's path if it may be, then served.
pub fn serve_opened(
    file: File,
    metadata: &Metadata,
    path: &Path,
    request: &Request<'_>,
    target: &Target<'_>,
    root: &ServedRoot<'_>,
    site: &Site,
) -> Result<Response, HttpError> {
    let lookup = || resolve::file_path(target, root);
    let found = match site.cache.admit(target.path, lookup, path, file, metadata) {
        Ok(route) => Found::cached(&route),
        Err(file) => Found::opened(file, path),
    };
    serve_file(found, metadata, path, request, root, site)
}

/// A file's response, from what was found and the metadata that goes
/// with it.
#[inline(never)]
pub fn serve_file(
    found: Found,
    metadata: &Metadata,
    path: &Path,
    request: &Request<'_>,
    root: &ServedRoot<'_>,
    site: &Site,
) -> Result<Response, HttpError> {
    serve_content(
        representation::pick(found, metadata, path, request, root, site),
        request,
        site,
    )
}

/// The response for a representation: 304 or 412 as the preconditions say,
/// else the whole of it or the ranges asked for.
fn serve_content(
    representation: Representation,
    request: &Request<'_>,
    site: &Site,
) -> Result<Response, HttpError> {
    let Representation {
        content,
        len,
        validators,
        last_modified,
        content_type,
        form,
    } = representation;
    // All read the validators before the tag moves into the response.
    let outcome = conditional::evaluate(request, &validators);
    let range = match outcome {
        Outcome::Proceed if form != Form::WithReloadScript => {
            requested_range(request, &validators, len)
        }
        _ => Ranges::Ignore,
    };
    // Section 15.3.7: a 206 that answers an If-Range goes to a client that
    // already has the representation's metadata, so it repeats none of it
    // (no Last-Modified, no Content-Type on a single part).
    let describe =
        !(matches!(range, Ranges::Satisfiable(_)) && request.header("if-range").is_some());
    // Any file may have a variant: caches must key on Accept-Encoding.
    let vary = site.settings.precompressed.then_some("Accept-Encoding");
    let last_modified = last_modified.filter(|_| describe);
    let mut response = match validated(outcome, validators, last_modified, vary, site) {
        ControlFlow::Continue(response) => response,
        ControlFlow::Break(answer) => return answer,
    };
    match form {
        Form::Plain => {}
        Form::Encoded(coding) => response.add("Content-Encoding", coding.token()),
        Form::WithReloadScript => {
            let html = representation::read_page(&content, len)?;
            response.add("Content-Type", content_type);
            response.body = Body::Bytes(livereload::inject(&html));
            return Ok(response);
        }
    }
    response.add("Accept-Ranges", "bytes");
    match range {
        Ranges::Ignore => {
            response.add("Content-Type", content_type);
            response.body = Body::File {
                content,
                offset: 0,
                len,
            };
            Ok(response)
        }
        Ranges::Unsatisfiable => Err(HttpError::RangeNotSatisfiable(len)),
        Ranges::Satisfiable(ranges) => Ok(partial(
            response,
            content,
            &ranges,
            content_type,
            describe,
            len,
        )),
    }
}

/// The ranges a GET asks for (section 14.2): Range is defined for GET
/// only, several Range fields are not a valid Range, and If-Range can turn
/// it off (section 13.1.5).
fn requested_range(request: &Request<'_>, validators: &Validators, len: u64) -> Ranges {
    if request.method != "GET" || !conditional::if_range(request, validators) {
        return Ranges::Ignore;
    }
    let mut ranges = request.values("range");
    match (ranges.next(), ranges.next()) {
        (Some(value), None) => range::parse(value, len),
        _ => Ranges::Ignore,
    }
}

/// A 206: one range with Content-Range, or several as multipart/byteranges
/// (section 14.6), each part with the file's Content-Type and its own
/// Content-Range. A single range says the file's type only if `describe`.
#[inline(never)]
fn partial(
    mut response: Response,
    content: Content,
    ranges: &[ByteRange],
    content_type: Cow<'static, str>,
    describe: bool,
    len: u64,
) -> Response {
    response.status = Status::PartialContent;
    if let [range] = ranges {
        if describe {
            response = response.header("Content-Type", content_type);
        }
        return response
            .header("Content-Range", range.content_range(len))
            .body(Body::File {
                content,
                offset: range.start,
                len: range.len,
            });
    }
    let boundary = range::boundary();
    // Each part's head says the file's type: it is part of the body.
    let (parts, closing) = range::multipart(ranges, &content_type, len, &boundary);
    response
        .header(
            "Content-Type",
            format!("multipart/byteranges; boundary={boundary}"),
        )
        .body(Body::Multipart {
            content,
            parts,
            closing,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::tests::{TempDir, answer, field, site_with, text};

    /// `GET /f.txt` with `fields`, where f.txt holds the ten digits.
    fn get(site: &Site, fields: &[&str]) -> Response {
        let mut head = vec!["GET /f.txt HTTP/1.1", "Host: localhost"];
        head.extend_from_slice(fields);
        answer(site, &head)
    }

    fn file_body(response: &Response) -> (u64, u64) {
        match &response.body {
            Body::File { offset, len, .. } => (*offset, *len),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn whole_ranges_and_preconditions_in_the_rfc_order() {
        let folder = TempDir::new("files");
        folder.write("f.txt", b"0123456789");
        let site = site_with(&folder, |_| {});
        let whole = get(&site, &[]);
        assert_eq!(whole.status, Status::Ok);
        assert_eq!(file_body(&whole), (0, 10));
        assert_eq!(field(&whole, "Accept-Ranges"), Some("bytes"));
        assert_eq!(field(&whole, "Vary"), Some("Accept-Encoding"));
        let etag = field(&whole, "ETag").unwrap().to_string();
        assert!(field(&whole, "Last-Modified").is_some());

        let part = get(&site, &["Range: bytes=2-4"]);
        assert_eq!(part.status, Status::PartialContent);
        assert_eq!(file_body(&part), (2, 3));
        assert_eq!(field(&part, "Content-Range"), Some("bytes 2-4/10"));
        assert_eq!(
            field(&part, "Content-Type"),
            Some("text/plain; charset=utf-8")
        );

        // If-Range with the current tag: the range, without the metadata
        // the client already has (section 15.3.7).
        let if_range = format!("If-Range: {etag}");
        let resumed = get(&site, &["Range: bytes=8-", &if_range]);
        assert_eq!(file_body(&resumed), (8, 2));
        assert_eq!(field(&resumed, "Content-Type"), None);
        assert_eq!(field(&resumed, "Last-Modified"), None);
        // With a stale tag: the whole file.
        let stale = get(&site, &["Range: bytes=8-", "If-Range: \"old\""]);
        assert_eq!((stale.status, file_body(&stale)), (Status::Ok, (0, 10)));

        let if_none_match = format!("If-None-Match: {etag}");
        let not_modified = get(&site, &[&if_none_match, "Range: bytes=0-0"]);
        assert_eq!(not_modified.status, Status::NotModified);
        let failed = get(&site, &["If-Match: \"other\""]);
        assert_eq!(failed.status, Status::PreconditionFailed);
        let unsatisfiable = get(&site, &["Range: bytes=20-"]);
        assert_eq!(unsatisfiable.status, Status::RangeNotSatisfiable);
        assert_eq!(field(&unsatisfiable, "Content-Range"), Some("bytes */10"));
        // Two Range fields are no valid Range: the whole file.
        let two = get(&site, &["Range: bytes=0-0", "Range: bytes=1-1"]);
        assert_eq!(two.status, Status::Ok);
    }

    #[test]
    fn several_ranges_are_a_multipart_body() {
        let folder = TempDir::new("multipart");
        folder.write("f.txt", b"0123456789");
        let site = site_with(&folder, |_| {});
        let response = get(&site, &["Range: bytes=0-0,5-6"]);
        assert_eq!(response.status, Status::PartialContent);
        let content_type = field(&response, "Content-Type").unwrap();
        assert!(
            content_type.starts_with("multipart/byteranges; boundary="),
            "{content_type}"
        );
        match &response.body {
            Body::Multipart { parts, .. } => assert_eq!(parts.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_page_with_the_reload_script_is_sent_whole_with_its_own_length() {
        let folder = TempDir::new("injected");
        folder.write("index.html", b"<body>hi</body>");
        let site = site_with(&folder, |s| s.live_reload = true);
        let head = [
            "GET / HTTP/1.1",
            "Host: localhost",
            "Sec-Fetch-Dest: document",
        ];
        let page = answer(&site, &head);
        assert_eq!(page.status, Status::Ok);
        let text = text(&page);
        assert!(text.starts_with("<body>hi<script"), "{text}");
        assert!(text.ends_with("</body>"), "{text}");
        assert_eq!(field(&page, "Accept-Ranges"), None);
        assert!(field(&page, "ETag").unwrap().ends_with("-live-reload\""));
    }
}
