//! The host's rules, read from the served folder: `_redirects` and
//! `_headers`, in the format Netlify created and Cloudflare Pages, GitLab
//! Pages and IPFS gateways read.
//!
//! - `pattern`: the paths both files match, and what a match binds;
//! - `redirects` and `headers`: the two parsers, each reporting bad lines;
//! - `live`: `HostRules`, which reads the files at start and again when
//!   they change, so an edit applies with no restart;
//! - here: the rules in force (`RuleSet`), and what a matching rule asks
//!   for (`Action`).
//!
//! Which rule applies where a file answers the path (shadowing) is decided
//! here too; the pipeline in `serve` asks, and does what the `Action` says.
//!
//! Imports `http`, `fs`, `dev` (live reload) and `proxy`'s backends.
#![forbid(unsafe_code)]

pub mod headers;
pub mod live;
pub mod pattern;
pub mod redirects;

use std::borrow::Cow;
use std::sync::Arc;

use crate::http::response::{Response, Status};
use crate::serve::proxy::backend::Backend;
use crate::serve::proxy::route::{remove_dot_segments, split_url};
use crate::serve::rules::headers::Block;
use crate::serve::rules::pattern::Captures;
use crate::serve::rules::redirects::{BadLine, Redirect};

/// A `_redirects` rule and what its TO is.
#[derive(Debug)]
pub struct Rule {
    pub redirect: Redirect,
    to: To,
}

#[derive(Debug)]
enum To {
    /// 301, 302, 303, 307, 308: a `Location`.
    Location(Status),
    /// 200 to a path: that file, in place.
    Rewrite,
    /// 200 to an `http://` URL: the backend there, and the URL's path and
    /// query after its authority (with placeholders), `/` if it has none.
    Proxy { backend: Arc<Backend>, path: String },
    /// 404, 410, 451: TO's file with this status.
    Page(Status),
}

/// What the rule that matched asks for, its TO worked out for the request.
#[derive(Debug)]
pub enum Action {
    Redirect {
        status: Status,
        location: String,
    },
    Rewrite {
        path: String,
        query: Option<String>,
    },
    Page {
        status: Status,
        path: String,
    },
    Proxy {
        backend: Arc<Backend>,
        path_and_query: String,
    },
}

/// The rules in force.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// The indexes of the rules with `!`, which apply even where a file
    /// answers: a request for a file looks through these alone.
    forced: Vec<usize>,
    blocks: Vec<Block>,
    /// The indexes of the rules that proxy.
    proxying: Vec<usize>,
}

impl RuleSet {
    /// The rules of the two files' texts, and each file's bad lines.
    /// `backend` gives the backend for a proxying rule's authority.
    /// With `--base` (`base` not empty), a rule or block that can match
    /// no path under it is reported and left out.
    pub(super) fn build(
        redirects: &str,
        headers: &str,
        base: &str,
        mut backend: impl FnMut(&str, &str, u16) -> Arc<Backend>,
    ) -> (RuleSet, [Vec<BadLine>; 2]) {
        let outside = |line| BadLine {
            line,
            reason: format!("it matches no path under the base {base}/ (write the base in it)"),
        };
        let (parsed, mut bad_redirects) = redirects::parse(redirects);
        let mut rules = Vec::with_capacity(parsed.len());
        for redirect in parsed {
            if !redirect.from.can_match_under(base) {
                bad_redirects.push(outside(redirect.line));
                continue;
            }
            let to = match redirect.status {
                200 if redirect.to.starts_with("http://") => match split_url(&redirect.to) {
                    Some((authority, host, port, path)) => To::Proxy {
                        backend: backend(authority, host, port),
                        path: path.to_string(),
                    },
                    None => {
                        bad_redirects.push(BadLine {
                            line: redirect.line,
                            reason: format!("'{}' is not an http:// URL", redirect.to),
                        });
                        continue;
                    }
                },
                200 => To::Rewrite,
                code => match status(code) {
                    Some(status @ (Status::NotFound | Status::Gone)) => To::Page(status),
                    Some(Status::UnavailableForLegalReasons) => {
                        To::Page(Status::UnavailableForLegalReasons)
                    }
                    Some(status) => To::Location(status),
                    None => continue,
                },
            };
            rules.push(Rule { redirect, to });
        }
        bad_redirects.sort_by_key(|bad| bad.line);
        let forced = (0..rules.len())
            .filter(|&i| rules[i].redirect.force)
            .collect();
        let (mut blocks, mut bad_headers) = headers::parse(headers);
        blocks.retain(|block| {
            let under = block.pattern.can_match_under(base);
            if !under {
                bad_headers.push(outside(block.line));
            }
            under
        });
        bad_headers.sort_by_key(|bad| bad.line);
        let set = RuleSet {
            proxying: (0..rules.len())
                .filter(|&i| matches!(rules[i].to, To::Proxy { .. }))
                .collect(),
            rules,
            forced,
            blocks,
        };
        (set, [bad_redirects, bad_headers])
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.blocks.is_empty()
    }

    /// Whether a rule may proxy, so `proxy::forward` must ask.
    pub fn proxies(&self) -> bool {
        !self.proxying.is_empty()
    }

    /// Whether a rule that proxies matches `path`: only then can the rule
    /// for it be one (a look at those rules alone, not all of them, for
    /// every request while one rule proxies).
    pub fn may_proxy(&self, path: &str) -> bool {
        self.proxying
            .iter()
            .any(|&i| self.rules[i].redirect.from.matches(path).is_some())
    }

    /// The rule for `path` (as sent, with the query apart): the first that
    /// matches, but where a file answers only a rule with `!` may
    /// (Netlify's shadowing). `file_answers` is asked only when that
    /// decides it.
    pub fn find<'r, 'p>(
        &'r self,
        path: &'p str,
        file_answers: impl FnOnce() -> bool,
    ) -> Option<(&'r Rule, Captures<'r, 'p>)> {
        let (index, first, captures) = self.first_match(path, 0)?;
        if first.redirect.force || !file_answers() {
            return Some((first, captures));
        }
        self.forced_from(path, index)
            .map(|(_, rule, captures)| (rule, captures))
    }

    /// The first forced rule for `path`, which applies before any file is
    /// looked for: unless a rule without `!` matches before it and no file
    /// answers (`file_answers`, asked only then), when that rule applies
    /// where nothing answers. A request for a file pays for the forced
    /// rules only.
    pub fn forced_first<'r, 'p>(
        &'r self,
        path: &'p str,
        file_answers: impl FnOnce() -> bool,
    ) -> Option<(&'r Rule, Captures<'r, 'p>)> {
        let (index, rule, captures) = self.forced_from(path, 0)?;
        let earlier = self.rules[..index]
            .iter()
            .any(|r| r.redirect.from.matches(path).is_some());
        match earlier && !file_answers() {
            true => None,
            false => Some((rule, captures)),
        }
    }

    /// The rule for `path` where no file answers it: the first that
    /// matches, or `None`.
    pub fn unshadowed<'r, 'p>(&'r self, path: &'p str) -> Option<(&'r Rule, Captures<'r, 'p>)> {
        self.first_match(path, 0)
            .map(|(_, rule, captures)| (rule, captures))
    }

    fn first_match<'r, 'p>(
        &'r self,
        path: &'p str,
        from: usize,
    ) -> Option<(usize, &'r Rule, Captures<'r, 'p>)> {
        self.rules
            .iter()
            .enumerate()
            .skip(from)
            .find_map(|(i, rule)| {
                let captures = rule.redirect.from.matches(path)?;
                Some((i, rule, captures))
            })
    }

    fn forced_from<'r, 'p>(
        &'r self,
        path: &'p str,
        from: usize,
    ) -> Option<(usize, &'r Rule, Captures<'r, 'p>)> {
        self.forced.iter().filter(|&&i| i >= from).find_map(|&i| {
            let rule = &self.rules[i];
            Some((i, rule, rule.redirect.from.matches(path)?))
        })
    }

    /// Puts the `_headers` fields for `path` on `response`: each replaces
    /// the server's own field of that name.
    pub fn add_headers(&self, response: &mut Response, path: &str) {
        if !self.blocks.is_empty() {
            headers::add_to(&self.blocks, response, path);
        }
    }

    /// The summary the log gives at start and on each change.
    pub(super) fn summary(&self) -> String {
        format!(
            "{} redirects, {} header blocks",
            self.rules.len(),
            self.blocks.len()
        )
    }
}

impl Rule {
    /// What this rule asks for, given what its FROM bound and the
    /// request's query, which goes on to TO unless TO has one of its own.
    pub fn action(&self, captures: &Captures<'_, '_>, query: Option<&str>) -> Action {
        // Before a fragment, if TO has one: `/page?a=1#top`.
        let with_query = |mut to: String| {
            let at = to.find('#').unwrap_or(to.len());
            if let Some(query) = query
                && !to[..at].contains('?')
            {
                to.insert_str(at, &format!("?{query}"));
            }
            to
        };
        let mut to = captures.substitute(&self.redirect.to);
        // A path stays a path on this site: `/:splat` must not become
        // `//evil.example` or `/\evil.example`, which browsers read as
        // another host.
        if to.starts_with('/') {
            let rest = to.trim_start_matches(['/', '\\']);
            to = format!("/{rest}");
        }
        match &self.to {
            To::Location(status) => Action::Redirect {
                status: *status,
                location: with_query(to),
            },
            To::Rewrite => {
                let (path, own) = match to.split_once('?') {
                    Some((path, own)) => (path.to_string(), Some(own.to_string())),
                    None => (to, None),
                };
                Action::Rewrite {
                    path,
                    query: own.or(query.map(String::from)),
                }
            }
            To::Page(status) => Action::Page {
                status: *status,
                path: to.split('?').next().unwrap_or_default().to_string(),
            },
            To::Proxy { backend, path } => Action::Proxy {
                backend: Arc::clone(backend),
                path_and_query: with_query(captures.substitute(path)),
            },
        }
    }

    /// The line it came from, for the access log.
    pub fn line(&self) -> usize {
        self.redirect.line
    }
}

/// A request's path as the rules match it: in one spelling
/// (`pattern::normalized`) and with its dot-segments removed, so no other
/// spelling of a path a rule or block names passes it by.
pub fn path_for_rules(path: &str) -> Cow<'_, str> {
    match pattern::normalized(path) {
        Cow::Borrowed(path) => remove_dot_segments(path),
        Cow::Owned(path) => Cow::Owned(remove_dot_segments(&path).into_owned()),
    }
}

/// The status a rule's code stands for.
fn status(code: u16) -> Option<Status> {
    Some(match code {
        301 => Status::MovedPermanently,
        302 => Status::Found,
        303 => Status::SeeOther,
        307 => Status::TemporaryRedirect,
        308 => Status::PermanentRedirect,
        404 => Status::NotFound,
        410 => Status::Gone,
        451 => Status::UnavailableForLegalReasons,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(redirects: &str, headers: &str) -> RuleSet {
        let backend = |authority: &str, host: &str, port| {
            Arc::new(Backend::new(
                authority,
                host,
                port,
                std::time::Duration::from_secs(1),
            ))
        };
        let (set, bad) = RuleSet::build(redirects, headers, "", backend);
        assert_eq!(bad, [Vec::new(), Vec::new()]);
        set
    }

    /// The line of the rule that applies to `path`, given whether a file
    /// answers it, as the pipeline asks: a forced rule first, else the
    /// first rule where no file answers.
    fn applies(set: &RuleSet, path: &str, file: bool) -> Option<usize> {
        if let Some((rule, _)) = set.forced_first(path, || file) {
            return Some(rule.line());
        }
        match file {
            true => None,
            false => set.unshadowed(path).map(|(rule, _)| rule.line()),
        }
    }

    #[test]
    fn a_file_shadows_all_but_forced_rules_and_the_first_match_wins() {
        let set = rules(
            "/a /x 302\n/a /y 302!\n/b/* /z 200\n/b/c /w 301!\n/* /index.html 200\n",
            "",
        );
        assert_eq!(applies(&set, "/a", false), Some(1));
        assert_eq!(applies(&set, "/a", true), Some(2));
        assert_eq!(applies(&set, "/b/c", false), Some(3));
        assert_eq!(applies(&set, "/b/c", true), Some(4));
        assert_eq!(applies(&set, "/other", false), Some(5));
        assert_eq!(applies(&set, "/other", true), None);
        // `find`, for the proxy, agrees.
        assert_eq!(set.find("/a", || true).map(|(r, _)| r.line()), Some(2));
        assert_eq!(set.find("/other", || true).map(|(r, _)| r.line()), None);
    }

    #[test]
    fn actions_carry_the_query_unless_to_has_its_own() {
        let set = rules(
            "/r/:id /items/:id 307\n/own /x?a=1 302\n/s/* /app.html 200\n\
             /open/* /:splat 301\n/frag /page#top 302\n/frag-q /p#a?b 302\n\
             /gone /gone.html 410\n/api/* http://localhost:3000/v1/:splat 200\n",
            "",
        );
        let act = |path: &str, query: Option<&str>| {
            let (rule, captures) = set.unshadowed(path).unwrap();
            format!("{:?}", rule.action(&captures, query))
        };
        assert_eq!(
            act("/r/7", Some("q=1")),
            "Redirect { status: TemporaryRedirect, location: \"/items/7?q=1\" }"
        );
        assert_eq!(
            act("/open/\\evil.example/x", None),
            "Redirect { status: MovedPermanently, location: \"/evil.example/x\" }"
        );
        assert_eq!(
            act("/frag-q", Some("q=1")),
            "Redirect { status: Found, location: \"/p?q=1#a?b\" }"
        );
        assert_eq!(
            act("/frag", Some("a=1")),
            "Redirect { status: Found, location: \"/page?a=1#top\" }"
        );
        assert_eq!(
            act("/own", Some("q=1")),
            "Redirect { status: Found, location: \"/x?a=1\" }"
        );
        assert_eq!(
            act("/s/deep/link", Some("q")),
            "Rewrite { path: \"/app.html\", query: Some(\"q\") }"
        );
        assert_eq!(
            act("/gone", None),
            "Page { status: Gone, path: \"/gone.html\" }"
        );
        let (rule, captures) = set.unshadowed("/api/a/b").unwrap();
        match rule.action(&captures, Some("x=1")) {
            Action::Proxy {
                backend,
                path_and_query,
            } => {
                assert_eq!(backend.authority, "localhost:3000");
                assert_eq!(path_and_query, "/v1/a/b?x=1");
            }
            other => panic!("{other:?}"),
        }
        assert!(set.proxies());
    }
}
