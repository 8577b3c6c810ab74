//! What to answer: from a parsed request to a `Response` or an `HttpError`.
//!
//! The pipeline is: the `Host` check, the method, target resolution, then a
//! file (through its precompressed variant, preconditions and ranges), a
//! listing or a redirect; a path that resolves to nothing may still get the
//! single-page-app index or a hint about letter case. It reads the file
//! system but never touches a socket.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use crate::cli::Config;
use crate::dev::livereload::{self, Watcher};
use crate::fs::cache::{Data, FileCache};
use crate::fs::resolve::{self, Resolved, Target};
use crate::http::conditional::{self, Outcome, Validators};
use crate::http::encoding::{self, Coding};
use crate::http::error::{ALLOW, HttpError};
use crate::http::mime::content_type;
use crate::http::page;
use crate::http::range::{self, ByteRange, Ranges};
use crate::http::request::Request;
use crate::http::response::{Body, Content, Response, Status, http_date};
use crate::http::syntax;
use crate::serve::auth;
use crate::serve::host;
use crate::serve::listing::{self, Format};
use crate::sys;

/// Methods registered for HTTP that a static server does not allow: 405 for
/// these, 501 for names it has never heard of (RFC 9110 sections 9.1, 15.5.6
/// and 15.6.2).
const KNOWN_METHODS: &[&str] = &["POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE"];

/// What the handler answers from: the validated configuration, and what
/// the running server keeps beside it.
#[derive(Debug)]
pub struct Site {
    pub config: Config,
    /// The served folder, open, for opening files beneath it in one system
    /// call (`None` if it cannot be opened, and the slow way is used).
    pub root_dir: Option<File>,
    /// The live-reload watcher, with `--live-reload`.
    pub live_reload: Option<Arc<Watcher>>,
    /// Files already served (small ones' bytes, larger ones open), by
    /// request path.
    pub cache: Arc<FileCache>,
}

impl Site {
    /// Opens the root and starts what the configuration asks for.
    pub fn new(config: Config) -> Site {
        Site {
            root_dir: File::open(&config.root).ok(),
            live_reload: config.live_reload.then(Watcher::start),
            cache: FileCache::new(config.kept_open_files),
            config,
        }
    }
}

#[inline(never)]
pub fn handle(request: &Request<'_>, site: &Site) -> Result<Response, HttpError> {
    if site.config.guard_host {
        refuse_rebinding(request, site)?;
    }
    if site.config.credentials.required() && !is_preflight(request) {
        authenticate(request, site)?;
    }
    match request.method {
        "GET" | "HEAD" => {}
        "OPTIONS" => return options(request, site),
        m if KNOWN_METHODS.contains(&m) => return Err(HttpError::MethodNotAllowed),
        _ => return Err(HttpError::NotImplemented),
    }
    let target = resolve::split_target(request.target)?;
    let root = resolve::ServedRoot {
        path: &site.config.root,
        dir: site.root_dir.as_ref(),
        index: &site.config.index,
        hidden: site.config.hidden,
    };
    if target.path == livereload::EVENTS_PATH
        && let Some(watcher) = &site.live_reload
    {
        return Ok(events(watcher));
    }
    if let Some(response) = serve_cached(request, &target, &root, site) {
        return response;
    }
    match serve_resolved(request, &target, &root, site) {
        Err(error) if error.is_out_of_descriptors() => retry(error, request, &target, &root, site),
        answer => answer,
    }
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
    root: &resolve::ServedRoot<'_>,
    site: &Site,
) -> Result<Response, HttpError> {
    let closed = site.cache.close_open_files();
    log::warn!(
        "out of file descriptors ({}): the file cache closed the {closed} files it kept open; \
         trying once more",
        error.reason()
    );
    serve_resolved(request, target, root, site)
}

/// A file from the cache, if it is there and still the file on disk.
// This, `serve_resolved` and `serve_file` are kept out of line, as are the
// other branches `handle` takes: a function's frame holds what all it
// inlines needs, and the deepest path of calls sets how much stack every
// connection's thread touches.
#[inline(never)]
fn serve_cached(
    request: &Request<'_>,
    target: &Target<'_>,
    root: &resolve::ServedRoot<'_>,
    site: &Site,
) -> Option<Result<Response, HttpError>> {
    let hit = site.cache.get(target.path)?;
    let route = &hit.route;
    let content = Content::Cached(Arc::clone(&route.entry));
    Some(serve_file(
        (content, route.content_type.clone()),
        &hit.metadata,
        route.path(),
        request,
        root,
        site,
    ))
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

/// The way without the cache: resolve the target, and keep a file found
/// in the cache.
#[inline(never)]
fn serve_resolved(
    request: &Request<'_>,
    target: &Target<'_>,
    root: &resolve::ServedRoot<'_>,
    site: &Site,
) -> Result<Response, HttpError> {
    let resolved = match resolve::resolve(target, root) {
        Ok(resolved) => resolved,
        Err(HttpError::NoSuchFile) => {
            return not_found(request, target, root, site);
        }
        Err(e) => return Err(e),
    };
    match resolved {
        Resolved::File {
            file,
            metadata,
            path,
        } => serve_opened(file, &metadata, &path, request, target, root, site),
        Resolved::Directory { path, url_path } if site.config.listing => {
            list(request, &path, &url_path, target.query, root, site)
        }
        Resolved::Directory { .. } => Err(HttpError::NotFound("listing disabled")),
        // A folder `about/` beside `about.html`: `/about` is the page, as
        // on GitHub Pages, Netlify and Cloudflare Pages, and `/about/` the
        // folder. A redirect would make the page unreachable.
        Resolved::Redirect { location } => match clean_url(request, target, root, site) {
            Some(answer) => answer,
            None => Ok(redirect(location)),
        },
    }
}

/// A file `target` resolved to, opened: kept in the cache under the
/// target's path if it may be, then served.
fn serve_opened(
    file: File,
    metadata: &Metadata,
    path: &Path,
    request: &Request<'_>,
    target: &Target<'_>,
    root: &resolve::ServedRoot<'_>,
    site: &Site,
) -> Result<Response, HttpError> {
    let lookup = || resolve::file_path(target, root);
    let content = match site.cache.admit(target.path, lookup, path, file, metadata) {
        Ok(route) => (
            Content::Cached(Arc::clone(&route.entry)),
            route.content_type.clone(),
        ),
        Err(file) => (Content::Open(file), content_type(path)),
    };
    serve_file(content, metadata, path, request, root, site)
}

/// Clean URLs: `/about` answered from `about.html`, when `about` is not a
/// file and the last segment has no extension. The page is served as if it
/// had been asked for by its own name (same validators, ranges and cache
/// entry, under `/about.html`), so the dotfile rule and the root's bounds
/// hold for it as for any path. `None` if there is no such page.
#[inline(never)]
fn clean_url(
    request: &Request<'_>,
    target: &Target<'_>,
    root: &resolve::ServedRoot<'_>,
    site: &Site,
) -> Option<Result<Response, HttpError>> {
    if !site.config.clean_urls {
        return None;
    }
    let html_path = resolve::html_sibling(target)?;
    let html = Target {
        path: &html_path,
        query: target.query,
    };
    let answer = match serve_cached(request, &html, root, site) {
        Some(answer) => answer,
        None => match resolve::resolve(&html, root) {
            Ok(Resolved::File {
                file,
                metadata,
                path,
            }) => serve_opened(file, &metadata, &path, request, &html, root, site),
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

/// A file's response, from its content and type and the metadata that goes
/// with them.
#[inline(never)]
fn serve_file(
    content: (Content, Cow<'static, str>),
    metadata: &Metadata,
    path: &Path,
    request: &Request<'_>,
    root: &resolve::ServedRoot<'_>,
    site: &Site,
) -> Result<Response, HttpError> {
    serve_content(
        pick_representation(content, metadata, path, request, root, site),
        request,
        site,
    )
}

/// Refuses a request whose host is not this machine (see `host.rs`). With
/// an absolute-form target its authority is the host, whatever the Host
/// field says (RFC 9112 section 3.2.2).
#[inline(never)]
fn refuse_rebinding(request: &Request<'_>, site: &Site) -> Result<(), HttpError> {
    let host = resolve::authority(request.target)
        .map(str::as_bytes)
        .or(request.header("host"));
    match host {
        Some(host) if !host::is_allowed(host, &site.config.allowed_hosts) => {
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
    site.config.credentials.check(request).map_err(|refusal| {
        if let auth::Refusal::Wrong(_) = refusal {
            log::warn!(
                "refused a request for {}: {}",
                request.target.escape_default(),
                refusal.note()
            );
        }
        HttpError::Unauthorized(refusal.note())
    })
}

/// A CORS preflight (Fetch standard, "CORS-preflight request"): an OPTIONS
/// with `Origin` and `Access-Control-Request-Method`. Browsers never send
/// credentials with one, so it is answered without them.
fn is_preflight(request: &Request<'_>) -> bool {
    request.method == "OPTIONS"
        && request.header("origin").is_some()
        && request.header("access-control-request-method").is_some()
}

/// A folder's listing: HTML, or the same data as JSON for a client that
/// asks for JSON and not HTML. It has validators like a file (a tag of what
/// it shows, and the newest time of the folder and its entries) and the same
/// preconditions (RFC 9110 section 13.2.2), so a browser revalidating an
/// unchanged listing gets a 304 and nothing is rendered.
#[inline(never)]
fn list(
    request: &Request<'_>,
    path: &Path,
    url_path: &str,
    query: Option<&str>,
    root: &resolve::ServedRoot<'_>,
    site: &Site,
) -> Result<Response, HttpError> {
    if let Some(watcher) = &site.live_reload {
        watcher.served(path);
    }
    let mut entries = resolve::list_dir(path, root)?;
    let order = listing::Order::from_query(query);
    let format = if accepts(request, "application/json") && !accepts(request, "text/html") {
        Format::Json
    } else {
        Format::Html
    };
    order.sort(&mut entries);
    // The folder's own time changes when an entry is added, removed or
    // renamed; the entries' when one is edited.
    let folder_modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let validators = Validators {
        etag: listing::etag(url_path, &entries, order, format),
        last_modified: entries
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
            let json = listing::render_json(url_path, entries, order);
            response
                .header("Content-Type", "application/json")
                .body(Body::Bytes(json.into_bytes()))
        }
        Format::Html => response.html(listing::render(url_path, entries, order)),
    })
}

/// The fields a 200 and its 304 share (RFC 9110 section 15.4.5: ETag,
/// Last-Modified when given, Cache-Control, Vary), then what
/// the preconditions' `outcome` calls for: `Continue` with the 200 to
/// complete, or `Break` with the 304 or 412 to send instead.
fn validated(
    outcome: Outcome,
    validators: Validators,
    last_modified: Option<String>,
    vary: Option<&'static str>,
    site: &Site,
) -> ControlFlow<Result<Response, HttpError>, Response> {
    let mut response = Response::new(Status::Ok);
    response.add("ETag", validators.etag);
    response.add("Cache-Control", site.config.cache_control);
    if let Some(date) = last_modified {
        response.add("Last-Modified", date);
    }
    if let Some(vary) = vary {
        response.add("Vary", vary);
    }
    match outcome {
        Outcome::Proceed => ControlFlow::Continue(response),
        Outcome::NotModified(by) => {
            response.status = Status::NotModified;
            response.note = Some(Cow::Borrowed(by.name()));
            ControlFlow::Break(Ok(response))
        }
        Outcome::PreconditionFailed => ControlFlow::Break(Err(HttpError::PreconditionFailed)),
    }
}

/// A path that names nothing. A clean URL's page comes first. With
/// `--spa`, a navigation to a path without a file extension gets the root's
/// index page, since the app routes it in the browser; a missing script or
/// image keeps its 404, so the browser never runs an HTML page as
/// JavaScript. Otherwise a 404, naming the file the client may have meant
/// if one differs only in letter case.
#[inline(never)]
fn not_found(
    request: &Request<'_>,
    target: &Target<'_>,
    root: &resolve::ServedRoot<'_>,
    site: &Site,
) -> Result<Response, HttpError> {
    if let Some(answer) = clean_url(request, target, root, site) {
        return answer;
    }
    let last_segment = target.path.rsplit('/').next().unwrap_or_default();
    if site.config.spa && is_navigation(request) && Path::new(last_segment).extension().is_none() {
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
            let content = (Content::Open(file), content_type(&path));
            return serve_file(content, &metadata, &path, request, root, site);
        }
    }
    if let Some(watcher) = &site.live_reload
        && let Some(path) = resolve::local_path(target, root)
    {
        // A page that asked for it reloads when it appears, or when the
        // page a clean URL would name does.
        watcher.served(&path);
        if site.config.clean_urls && resolve::html_sibling(target).is_some() {
            watcher.served(&resolve::sibling(&path, ".html"));
        }
    }
    match resolve::case_insensitive_match(target, root) {
        Some(existing) => Err(HttpError::WrongCase(existing)),
        None => Err(HttpError::NoSuchFile),
    }
}

/// A top-level navigation, as opposed to a script, image or `fetch()`: by
/// Fetch Metadata when the browser sends it, else by an `Accept` that names
/// HTML.
fn is_navigation(request: &Request<'_>) -> bool {
    match request.header("sec-fetch-dest") {
        Some(dest) => {
            dest.eq_ignore_ascii_case(b"document") || dest.eq_ignore_ascii_case(b"iframe")
        }
        None => accepts(request, "text/html"),
    }
}

/// Whether an `Accept` field names `media_type` with a non-zero weight (a
/// member with a malformed weight names nothing).
fn accepts(request: &Request<'_>, media_type: &str) -> bool {
    request
        .values("accept")
        .flat_map(syntax::list_members)
        .any(|member| {
            let (named, mut parameters) = syntax::split_parameters(member);
            let weight = parameters.find_map(syntax::weight).unwrap_or(Some(1000));
            named.eq_ignore_ascii_case(media_type.as_bytes()) && weight.is_some_and(|q| q > 0)
        })
}

/// OPTIONS, for `*` or any path: what the server allows (RFC 9110 section
/// 9.3.7). With `--cors`, a preflight request (Fetch standard, "CORS
/// protocol") is told that any page may use these methods and the headers it
/// asked about.
#[inline(never)]
fn options(request: &Request<'_>, site: &Site) -> Result<Response, HttpError> {
    if request.target != "*" {
        resolve::split_target(request.target)?;
    }
    let response = Response::new(Status::NoContent).header("Allow", ALLOW);
    if !(site.config.cors && is_preflight(request)) {
        return Ok(response);
    }
    let mut response = response
        .header("Access-Control-Allow-Methods", ALLOW)
        .header("Access-Control-Max-Age", "600");
    if let Some(asked) = request.header("access-control-request-headers") {
        response = response.header(
            "Access-Control-Allow-Headers",
            String::from_utf8_lossy(asked).into_owned(),
        );
    }
    Ok(response)
}

/// The response for an error: the user's `--404` page for a 404 (read at
/// each use, so edits to it show), else the standard page. Either way the
/// error's reason goes with it, for the log.
#[inline(never)]
pub fn error_response(error: HttpError, site: &Site) -> Response {
    let note = error.reason();
    let mut response = match &site.config.not_found_page {
        Some(page) if error.status() == Status::NotFound => {
            if let Some(watcher) = &site.live_reload {
                watcher.served(page);
            }
            match std::fs::read(page) {
                Ok(bytes) => Response::new(Status::NotFound)
                    .header("Content-Type", content_type(page))
                    .header("Cache-Control", site.config.cache_control)
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

/// Adds what `--cors` and `--header` put on every response.
pub fn decorate(response: &mut Response, site: &Site) {
    if site.config.cors {
        response
            .headers
            .push(("Access-Control-Allow-Origin", "*".into()));
    }
    for &(name, value) in &site.config.extra_headers {
        response.headers.push((name, value.into()));
    }
}

/// What is sent for a file.
struct Representation {
    content: Content,
    len: u64,
    validators: Validators,
    /// Its Last-Modified field's value.
    last_modified: Option<String>,
    /// The file's type, whatever its encoding.
    content_type: Cow<'static, str>,
    form: Form,
}

enum Form {
    /// The file as it is.
    Plain,
    /// Its precompressed variant, in this coding.
    Encoded(Coding),
    /// An HTML page with the live-reload script added.
    WithReloadScript,
}

/// A file is served in the order Go's `serveFile` and `serveContent` read:
/// this picks the representation, then `serve_content` evaluates the
/// preconditions (RFC 9110 section 13.2.2), then ranges (section 14.2) and
/// the response. The representation is the file itself, its precompressed
/// variant, or the page with the live-reload script; each has validators of
/// its own. `metadata` is the open file's own, so what is announced matches
/// what is sent even if the path has been replaced since. The type comes
/// with the content: a cached file's was worked out when it was cached,
/// from the same path.
fn pick_representation(
    (content, content_type): (Content, Cow<'static, str>),
    metadata: &Metadata,
    path: &Path,
    request: &Request<'_>,
    root: &resolve::ServedRoot<'_>,
    site: &Site,
) -> Representation {
    // With live reload, an HTML page opened as a page (not fetched, not a
    // range) carries the reload script, and so its own length and tag.
    let has_range = request.header("range").is_some();
    let inject = site.live_reload.is_some()
        && content_type.starts_with("text/html")
        && !has_range
        && is_navigation(request);
    // A precompressed variant replaces the file whole: validators and
    // length are those of the encoded bytes. A range is always of the file
    // itself, whatever Accept-Encoding says: a slice of a gzip stream is of
    // no use to a client resuming a download or seeking in a video, and an
    // If-Range naming the variant's tag then gets the whole file.
    let variant = if inject || has_range {
        None
    } else {
        variant(path, request, root, site)
    };
    if let Some(watcher) = &site.live_reload {
        // Whatever the answer (a 304 included), the page now uses this file.
        watcher.served_file(path, metadata);
        if let Some((_, variant_metadata, coding)) = &variant {
            watcher.served_file(&resolve::sibling(path, coding.suffix()), variant_metadata);
        }
    }
    let mut variant_metadata = None;
    let (content, form) = match variant {
        Some((file, metadata, coding)) => {
            variant_metadata = Some(metadata);
            (Content::Open(file), Form::Encoded(coding))
        }
        None if inject => (content, Form::WithReloadScript),
        None => (content, Form::Plain),
    };
    let metadata = variant_metadata.as_ref().unwrap_or(metadata);
    // A cached file's validators were worked out when it was cached, from
    // (the cache checked) the same version.
    let (validators, last_modified) = match &content {
        Content::Cached(entry) => (entry.validators.clone(), entry.last_modified.clone()),
        Content::Open(_) => (
            Validators::of(metadata),
            metadata.modified().ok().and_then(http_date),
        ),
    };
    let validators = match form {
        Form::Plain => validators,
        Form::Encoded(coding) => validators.variant(coding.token()),
        Form::WithReloadScript => validators.variant("live-reload"),
    };
    Representation {
        content,
        len: metadata.len(),
        validators,
        last_modified,
        content_type,
        form,
    }
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
    let injected = matches!(form, Form::WithReloadScript);
    // All read the validators before the tag moves into the response.
    let outcome = conditional::evaluate(request, &validators);
    let range = match outcome {
        Outcome::Proceed if !injected => requested_range(request, &validators, len),
        _ => Ranges::Ignore,
    };
    // Section 15.3.7: a 206 that answers an If-Range goes to a client that
    // already has the representation's metadata, so it repeats none of it
    // (no Last-Modified, no Content-Type on a single part).
    let describe =
        !(matches!(range, Ranges::Satisfiable(_)) && request.header("if-range").is_some());
    // Any file may have a variant: caches must key on Accept-Encoding.
    let vary = site.config.precompressed.then_some("Accept-Encoding");
    let last_modified = last_modified.filter(|_| describe);
    let mut response = match validated(outcome, validators, last_modified, vary, site) {
        ControlFlow::Continue(response) => response,
        ControlFlow::Break(answer) => return answer,
    };
    match form {
        Form::Plain => {}
        Form::Encoded(coding) => response.add("Content-Encoding", coding.token()),
        Form::WithReloadScript => {
            let html = read_bounded(content, len)?;
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

/// Reads a whole file of `len` bytes (as its metadata said), refusing files
/// too large to hold in memory for injection.
#[inline(never)]
fn read_bounded(content: Content, len: u64) -> Result<Vec<u8>, HttpError> {
    const MAX_INJECTED: u64 = 16 * 1024 * 1024;
    if len > MAX_INJECTED {
        return Err(HttpError::Forbidden("page too large for live reload"));
    }
    let file = match &content {
        Content::Open(file) => file,
        Content::Cached(entry) => match &entry.data {
            Data::Bytes(bytes) => return Ok(bytes.to_vec()),
            Data::Open(file) => file,
        },
    };
    // At explicit offsets: a cached file is shared between threads. A page
    // that shrank since it was stat'ed is sent as it now is.
    let mut html = vec![0; len as usize];
    let mut filled = 0;
    while filled < html.len() {
        match sys::read_at(file, &mut html[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    html.truncate(filled);
    Ok(html)
}

/// The precompressed variant to send instead of `path`, if one exists that
/// the client accepts.
#[inline(never)]
fn variant(
    path: &Path,
    request: &Request<'_>,
    root: &resolve::ServedRoot<'_>,
    site: &Site,
) -> Option<(File, Metadata, Coding)> {
    if !site.config.precompressed {
        return None;
    }
    encoding::acceptable(request)
        .into_iter()
        .find_map(|coding| {
            let (file, metadata) = resolve::open_sibling(path, coding.suffix(), root)?;
            Some((file, metadata, coding))
        })
}

#[inline(never)]
fn redirect(location: String) -> Response {
    let page = page::simple(
        "301 Moved Permanently",
        &format!(
            "<p><a href=\"{}\">Moved here</a></p>\n",
            syntax::escape_html(&location)
        ),
    );
    Response::new(Status::MovedPermanently)
        .header("Location", location)
        .html(page)
}
