//! Which bytes stand for a file in this response, and their validators:
//! the file itself, its precompressed variant (`NAME.br`, `NAME.gz`) or,
//! for a page opened in a browser with live reload on, the page with the
//! reload script. Each has a tag of its own (RFC 9110 section 8.8.3).
//!
//! Imports `http`, `fs` and `dev`.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::path::Path;
use std::sync::Arc;

use crate::dev::livereload::Watcher;
use crate::fs::cache::{CachedFile, Data, Route};
use crate::fs::resolve::{self, ServedRoot};
use crate::fs::version;
use crate::http::conditional::Validators;
use crate::http::date::http_date;
use crate::http::encoding::{self, Coding};
use crate::http::error::HttpError;
use crate::http::mime::content_type;
use crate::http::request::Request;
use crate::http::response::Content;
use crate::serve::navigation::is_navigation;
use crate::serve::site::Site;

/// The most bytes of a page read into memory to add the reload script.
/// A page is a few hundred KiB at most; anything far larger named `.html`
/// is a data dump that no one edits while watching it reload.
const MAX_INJECTED: u64 = 16 * 1024 * 1024;

/// A file found for a request, before its representation is picked.
#[derive(Debug)]
pub struct Found {
    pub content: Content,
    /// The file's type, from its name.
    pub content_type: Cow<'static, str>,
    /// The file cache's entry, when it came from there: its validators
    /// and Last-Modified value were worked out as it took the file in,
    /// from the version it checked.
    pub cached: Option<Arc<CachedFile>>,
}

impl Found {
    /// A file just opened at `path`.
    pub fn opened(file: File, path: &Path) -> Found {
        Found {
            content: Content::Open(file),
            content_type: content_type(path),
            cached: None,
        }
    }

    /// What the file cache holds for `route`, shared with it.
    #[inline]
    pub fn cached(route: &Route) -> Found {
        let entry = &route.entry;
        Found {
            content: match &entry.data {
                Data::Bytes(bytes) => Content::Bytes(Arc::clone(bytes)),
                Data::Open(file) => Content::Shared(Arc::clone(file)),
            },
            content_type: route.content_type.clone(),
            cached: Some(Arc::clone(entry)),
        }
    }
}

/// What is sent for a file.
#[derive(Debug)]
pub struct Representation {
    pub content: Content,
    pub len: u64,
    pub validators: Validators,
    /// Its Last-Modified field's value.
    pub last_modified: Option<String>,
    /// The file's type, whatever its encoding.
    pub content_type: Cow<'static, str>,
    pub form: Form,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The file as it is.
    Plain,
    /// Its precompressed variant, in this coding.
    Encoded(Coding),
    /// An HTML page with the live-reload script added.
    WithReloadScript,
}

/// Picks the representation of the file `found` at `path`, whose open
/// file's own metadata is `metadata` (so what is announced matches what is
/// sent even if the path has been replaced since). A file is served in the
/// order Go's `serveFile` and `serveContent` read: this first, then the
/// preconditions (RFC 9110 section 13.2.2), then ranges (section 14.2).
pub fn pick(
    found: Found,
    metadata: &Metadata,
    path: &Path,
    request: &Request<'_>,
    root: &ServedRoot<'_>,
    site: &Site,
) -> Representation {
    let Found {
        content,
        content_type,
        cached,
    } = found;
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
        watch(watcher, path, metadata, variant.as_ref());
    }
    let (content, metadata, form, cached) = match variant {
        Some((file, metadata, coding)) => (
            Content::Open(file),
            Cow::Owned(metadata),
            Form::Encoded(coding),
            None,
        ),
        None if inject => (
            content,
            Cow::Borrowed(metadata),
            Form::WithReloadScript,
            cached,
        ),
        None => (content, Cow::Borrowed(metadata), Form::Plain, cached),
    };
    let (validators, last_modified) = match cached {
        Some(entry) => (entry.validators.clone(), entry.last_modified.clone()),
        None => (
            version::validators(&metadata),
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

/// Whatever the answer (a 304 included), the page now uses this file, and
/// the variant sent in its place.
fn watch(
    watcher: &Watcher,
    path: &Path,
    metadata: &Metadata,
    variant: Option<&(File, Metadata, Coding)>,
) {
    watcher.served_file(path, metadata);
    if let Some((_, variant_metadata, coding)) = variant {
        watcher.served_file(&resolve::sibling(path, coding.suffix()), variant_metadata);
    }
}

/// The precompressed variant to send instead of `path`, if one exists that
/// the client accepts.
#[inline(never)]
fn variant(
    path: &Path,
    request: &Request<'_>,
    root: &ServedRoot<'_>,
    site: &Site,
) -> Option<(File, Metadata, Coding)> {
    if !site.settings.precompressed {
        return None;
    }
    encoding::acceptable(request)
        .into_iter()
        .find_map(|coding| {
            let (file, metadata) = resolve::open_sibling(path, coding.suffix(), root)?;
            Some((file, metadata, coding))
        })
}

/// The whole page (`len` bytes, as its metadata said), to add the reload
/// script to; refuses pages too large to hold (`MAX_INJECTED`).
#[inline(never)]
pub fn read_page(content: &Content, len: u64) -> Result<Vec<u8>, HttpError> {
    if len > MAX_INJECTED {
        return Err(HttpError::Forbidden("page too large for live reload"));
    }
    Ok(content.read_all(len)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::tests::{TempDir, settings, with_request};

    /// Picks the representation of `name` in `folder` for a request with
    /// `fields`, on a site `change` sets up.
    fn pick_for(
        folder: &TempDir,
        name: &str,
        fields: &[&str],
        change: impl FnOnce(&mut crate::serve::site::Settings),
    ) -> Representation {
        let mut settings = settings(&folder.0);
        change(&mut settings);
        let site = Site::new(settings, 0);
        let path = folder.0.join(name);
        let file = File::open(&path).unwrap();
        let metadata = file.metadata().unwrap();
        let mut head = vec!["GET / HTTP/1.1", "Host: localhost"];
        head.extend_from_slice(fields);
        with_request(&head, |request| {
            pick(
                Found::opened(file, &path),
                &metadata,
                &path,
                request,
                &site.root(),
                &site,
            )
        })
    }

    #[test]
    fn a_precompressed_variant_replaces_the_file_with_a_tag_of_its_own() {
        let folder = TempDir::new("variant");
        folder.write("app.js", b"console.log(1)");
        folder.write("app.js.gz", b"gzip!");
        folder.write("app.js.br", b"br");
        let plain = pick_for(&folder, "app.js", &[], |_| {});
        assert_eq!((plain.form, plain.len), (Form::Plain, 14));
        assert_eq!(plain.content_type, "text/javascript; charset=utf-8");

        let brotli = pick_for(&folder, "app.js", &["Accept-Encoding: gzip, br"], |_| {});
        assert_eq!(
            (brotli.form, brotli.len),
            (Form::Encoded(Coding::Brotli), 2)
        );
        assert!(
            brotli.validators.etag.ends_with("-br\""),
            "{}",
            brotli.validators.etag
        );
        assert_eq!(brotli.content_type, "text/javascript; charset=utf-8");

        let gzip = pick_for(
            &folder,
            "app.js",
            &["Accept-Encoding: gzip, br;q=0"],
            |_| {},
        );
        assert_eq!((gzip.form, gzip.len), (Form::Encoded(Coding::Gzip), 5));

        // A range is of the file itself; and the flag turns variants off.
        let range = pick_for(
            &folder,
            "app.js",
            &["Accept-Encoding: br", "Range: bytes=0-1"],
            |_| {},
        );
        assert_eq!(range.form, Form::Plain);
        let off = pick_for(&folder, "app.js", &["Accept-Encoding: br"], |s| {
            s.precompressed = false
        });
        assert_eq!(off.form, Form::Plain);
    }

    #[test]
    fn a_page_opened_with_live_reload_gets_the_script_and_its_own_tag() {
        let folder = TempDir::new("inject");
        folder.write("index.html", b"<p>hi</p>");
        folder.write("index.html.gz", b"gz");
        let live = |s: &mut crate::serve::site::Settings| s.live_reload = true;
        let page = pick_for(
            &folder,
            "index.html",
            &["Sec-Fetch-Dest: document", "Accept-Encoding: gzip"],
            live,
        );
        assert_eq!(page.form, Form::WithReloadScript);
        assert!(page.validators.etag.ends_with("-live-reload\""));
        assert_eq!(read_page(&page.content, page.len).unwrap(), b"<p>hi</p>");
        // A fetch of the same page is sent as it is (here, its variant).
        let fetched = pick_for(
            &folder,
            "index.html",
            &["Sec-Fetch-Dest: empty", "Accept-Encoding: gzip"],
            live,
        );
        assert_eq!(fetched.form, Form::Encoded(Coding::Gzip));
        let plain = pick_for(&folder, "index.html", &["Sec-Fetch-Dest: document"], |_| {});
        assert_eq!(plain.form, Form::Plain);
        assert_eq!(
            plain.validators.etag.matches('-').count(),
            page.validators.etag.matches('-').count() - 2
        );
    }
}
