//! What the pipeline needs to carry out a `_redirects` rule: the request's
//! path as the rules see it (`Matching`), whether a file answers a path
//! (Netlify's shadowing), a 404, 410 or 451 page from TO's file, and the
//! rule a request is proxied by, which `proxy::forward` asks for before
//! the pipeline runs. Redirects and rewrites themselves are carried out in
//! `serve`'s pipeline, which a rewrite runs again for TO.
//!
//! Imports `http`, `fs`, `rules`, `base`, `files` and `fallbacks` beside it.
#![forbid(unsafe_code)]

use std::sync::Arc;

use crate::fs::resolve::{self, Resolved, ServedRoot};
use crate::http::mime::content_type;
use crate::http::page;
use crate::http::request::Request;
use crate::http::response::{Body, Content, Response, Status};
use crate::http::target::Target;
use crate::serve::base::{self, Place};
use crate::serve::proxy::backend::Backend;
use crate::serve::rules::pattern::Captures;
use crate::serve::rules::{Action, Rule, RuleSet};
use crate::serve::site::Site;

/// The rules in force for a request, and its target as sent (with the
/// base: the rules see the URL the browser sees).
#[derive(Debug, Clone, Copy)]
pub struct Matching<'a> {
    pub rules: &'a RuleSet,
    pub target: &'a Target<'a>,
}

impl Matching<'_> {
    /// The action of the rule that applies where nothing answers the path.
    pub fn unshadowed(&self) -> Option<(Action, usize)> {
        self.action(self.rules.unshadowed(self.target.path))
    }

    /// The action of the rule for a method files do not take, if it
    /// redirects: 301 to 308 redirect any method.
    pub fn redirect(
        &self,
        inner: &Target<'_>,
        root: &ServedRoot<'_>,
        site: &Site,
    ) -> Option<(Action, usize)> {
        let answers = || file_answers(inner, root, site);
        self.action(self.rules.find(self.target.path, answers))
            .filter(|(action, _)| matches!(action, Action::Redirect { .. }))
    }

    /// The action of a forced rule that applies before any file is looked
    /// for; `inner` is the target's path in the folder.
    pub fn forced(
        &self,
        inner: &Target<'_>,
        root: &ServedRoot<'_>,
        site: &Site,
    ) -> Option<(Action, usize)> {
        let answers = || file_answers(inner, root, site);
        self.action(self.rules.forced_first(self.target.path, answers))
    }

    /// What a rule that matched asks for, and its line.
    fn action(&self, found: Option<(&Rule, Captures<'_, '_>)>) -> Option<(Action, usize)> {
        let (rule, captures) = found?;
        Some((rule.action(&captures, self.target.query), rule.line()))
    }
}

/// Whether the pipeline would answer `target` (in the folder) from a file:
/// the file itself, a folder's index, or a clean URL's page. A listing is
/// not a file, nor the SPA index or a 404 page: a rule applies there.
pub fn file_answers(target: &Target<'_>, root: &ServedRoot<'_>, site: &Site) -> bool {
    if site.cache.get(target.path).is_some() {
        return true;
    }
    let is_file = |path: &str| {
        let target = Target { path, query: None };
        matches!(resolve::resolve(&target, root), Ok(Resolved::File { .. }))
    };
    match resolve::resolve(target, root) {
        Ok(Resolved::File { .. }) => true,
        Ok(Resolved::Directory { .. }) => false,
        Ok(Resolved::Redirect { .. }) => {
            is_file(&format!("{}/", target.path))
                || (site.settings.clean_urls
                    && resolve::html_sibling(target).is_some_and(|html| is_file(&html)))
        }
        Err(_) => {
            site.settings.clean_urls
                && resolve::html_sibling(target).is_some_and(|html| is_file(&html))
        }
    }
}

/// A rule's 404, 410 or 451: TO's file (a path as the browser sees it)
/// with that status, whole, without validators, so no condition or range
/// turns it into something else; the status with its standard page when
/// TO is not a file.
#[inline(never)]
pub fn page(status: Status, to: &str, root: &ServedRoot<'_>, site: &Site) -> Response {
    let inner = to.strip_prefix(site.settings.base.as_str());
    let found = inner.filter(|p| p.starts_with('/')).and_then(|path| {
        let target = Target { path, query: None };
        match resolve::resolve(&target, root) {
            Ok(Resolved::File {
                file,
                metadata,
                path,
            }) => Some((file, metadata, path)),
            _ => None,
        }
    });
    let Some((file, metadata, path)) = found else {
        let (code, reason) = status.line();
        return Response::new(status).html(page::simple(&format!("{code} {reason}"), ""));
    };
    if let Some(watcher) = &site.live_reload {
        watcher.served_file(&path, &metadata);
    }
    Response::new(status)
        .header("Content-Type", content_type(&path))
        .header("Cache-Control", site.settings.cache_control)
        .body(Body::File {
            content: Content::Open(file),
            offset: 0,
            len: metadata.len(),
        })
}

/// The backend and the path and query to send it, when a `_redirects`
/// rule proxies `target` (a 200 to an `http://` URL): the first rule that
/// matches, unless a file answers the path and the rule has no `!`.
pub fn proxied_by_rule(
    request: &Request<'_>,
    target: &Target<'_>,
    site: &Site,
) -> Option<(Arc<Backend>, String)> {
    let rules = site.rules()?;
    if !rules.may_proxy(target.path) {
        return None;
    }
    let root = site.root();
    let file_answers = || match base::inside(target, &site.settings.base, request) {
        Place::Inside(inner) => file_answers(&inner, &root, site),
        Place::Outside(_) => false,
    };
    let (rule, captures) = rules.find(target.path, file_answers)?;
    match rule.action(&captures, target.query) {
        Action::Proxy {
            backend,
            path_and_query,
        } => Some((backend, path_and_query)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::tests::{TempDir, site_with};

    #[test]
    fn files_indexes_and_clean_urls_answer_and_listings_do_not() {
        let folder = TempDir::new("file-answers");
        folder.write("a.txt", b"a");
        folder.write("docs/index.html", b"docs");
        folder.write("about.html", b"about");
        folder.write("empty/notes.md", b"notes");
        let site = site_with(&folder, |_| {});
        let answers = |path: &str| file_answers(&Target { path, query: None }, &site.root(), &site);
        for path in ["/a.txt", "/docs", "/docs/", "/about"] {
            assert!(answers(path), "{path}");
        }
        for path in ["/empty", "/empty/", "/missing", "/about/"] {
            assert!(!answers(path), "{path}");
        }
        let plain = site_with(&folder, |s| s.clean_urls = false);
        assert!(!file_answers(
            &Target {
                path: "/about",
                query: None
            },
            &plain.root(),
            &plain
        ));
    }
}
