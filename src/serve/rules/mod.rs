//! The host's rules, read from the served folder: `_redirects` and
//! `_headers`, in the format Netlify created and Cloudflare Pages, GitLab
//! Pages and IPFS gateways read.
//!
//! - `pattern`: the paths both files match, and what a match binds;
//! - `redirects` and `headers`: the two parsers, each reporting bad lines;
//! - here: the rules in force (`RuleSet`), what a matching rule asks for
//!   (`Action`), and `HostRules`, which reads the files at start and again
//!   when they change, so an edit applies with no restart.
//!
//! Which rule applies where a file answers the path (shadowing) is decided
//! here too; the pipeline in `serve` asks, and does what the `Action` says.
//!
//! Imports `http`, `fs` (versions), `dev` (live reload) and `proxy`'s
//! backends.
#![forbid(unsafe_code)]

pub mod headers;
pub mod pattern;
pub mod redirects;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use crate::dev::livereload::Watcher;
use crate::fs::resolve::RULES_FILES;
use crate::fs::version::Version;
use crate::http::response::{Response, Status};
use crate::serve::proxy::backend::Backend;
use crate::serve::proxy::route::split_url;
use crate::serve::rules::headers::Block;
use crate::serve::rules::pattern::Captures;
use crate::serve::rules::redirects::{BadLine, Redirect};

/// How long a request may go on with the rules as last read before the
/// files are looked at again. A navigation always looks (see
/// `HostRules::current`).
const CHECK_EVERY: Duration = Duration::from_millis(250);

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
    proxying: bool,
}

impl RuleSet {
    /// The rules of the two files' texts, and each file's bad lines.
    /// `backend` gives the backend for a proxying rule's authority.
    fn build(
        redirects: &str,
        headers: &str,
        mut backend: impl FnMut(&str, &str, u16) -> Arc<Backend>,
    ) -> (RuleSet, [Vec<BadLine>; 2]) {
        let (parsed, mut bad_redirects) = redirects::parse(redirects);
        let mut rules = Vec::with_capacity(parsed.len());
        for redirect in parsed {
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
        let (blocks, bad_headers) = headers::parse(headers);
        let set = RuleSet {
            proxying: rules.iter().any(|r| matches!(r.to, To::Proxy { .. })),
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
        self.proxying
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
        if self.blocks.is_empty() {
            return;
        }
        let fields = headers::fields_for(&self.blocks, path);
        if fields.replaced.is_empty() {
            return;
        }
        response
            .headers
            .retain(|(name, _)| !fields.replaced.iter().any(|r| r.eq_ignore_ascii_case(name)));
        for (name, value) in fields.set {
            response.headers.push((name, value.into()));
        }
    }

    /// The summary the log gives at start and on each change.
    fn summary(&self) -> String {
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
        let with_query = |mut to: String| {
            if let Some(query) = query
                && !to.contains('?')
            {
                to.push('?');
                to.push_str(query);
            }
            to
        };
        let to = captures.substitute(&self.redirect.to);
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

/// The rules as read from the served folder, kept current: the files are
/// looked at again when a request comes `CHECK_EVERY` after the last look,
/// and on every navigation, so the page a browser reloads after an edit
/// sees it. A file is read again when its version changed, or has not
/// settled (a write within the file system's clock tick could leave the
/// version as it was).
#[derive(Debug)]
pub struct HostRules {
    paths: [PathBuf; 2],
    current: RwLock<Arc<RuleSet>>,
    seen: Mutex<Seen>,
    /// Whether the rules in force may proxy: looked at without a lock on
    /// every request, to know whether `proxy::forward` must ask.
    proxying: AtomicBool,
    /// Milliseconds from `start` to the last look.
    last_look: AtomicU64,
    start: Instant,
    /// The backends of proxying rules, by authority, kept across re-reads
    /// so their idle connections are too.
    backends: Mutex<Vec<Arc<Backend>>>,
    proxy_timeout: Duration,
}

/// The files as last read: each one's version (`None` when it is not
/// there) and text.
#[derive(Debug, Default)]
struct Seen {
    versions: [Option<Version>; 2],
    texts: [String; 2],
}

impl HostRules {
    /// Reads the rules under `root`, and logs what was loaded when either
    /// file is there; with live reload, both are watched from the start.
    pub fn load(root: &Path, proxy_timeout: Duration, watcher: Option<&Watcher>) -> HostRules {
        let rules = HostRules {
            paths: RULES_FILES.map(|name| root.join(name)),
            current: RwLock::new(Arc::new(RuleSet::default())),
            seen: Mutex::new(Seen::default()),
            proxying: AtomicBool::new(false),
            last_look: AtomicU64::new(0),
            start: Instant::now(),
            backends: Mutex::new(Vec::new()),
            proxy_timeout,
        };
        rules.look(watcher, true);
        rules
    }

    /// The rules in force for a request; a `navigation` always looks at
    /// the files first.
    pub fn current(&self, navigation: bool, watcher: Option<&Watcher>) -> Arc<RuleSet> {
        let now = self.start.elapsed().as_millis() as u64;
        let last = self.last_look.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= CHECK_EVERY.as_millis() as u64
            && self
                .last_look
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        if navigation || due {
            self.look(watcher, false);
        }
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether a rule may proxy, as last read.
    pub fn may_proxy(&self) -> bool {
        self.proxying.load(Ordering::Relaxed)
    }

    /// Closes the proxying rules' idle connections; says how many.
    pub fn close_idle_backends(&self) -> usize {
        lock(&self.backends).iter().map(|b| b.close_idle()).sum()
    }

    /// Looks at both files, and reads them again if either may have
    /// changed. With live reload, both paths are watched (a page reloads
    /// when either changes), whether they are there or not.
    fn look(&self, watcher: Option<&Watcher>, at_start: bool) {
        let mut seen = lock(&self.seen);
        if let Some(watcher) = watcher {
            for path in &self.paths {
                watcher.served(path);
            }
        }
        let now = SystemTime::now();
        let versions = self.paths.clone().map(|path| {
            std::fs::metadata(path)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| Version::of(&m))
        });
        let stale = (0..2).any(|i| {
            versions[i] != seen.versions[i] || versions[i].is_some_and(|v| !v.has_settled(now))
        });
        if !stale && !at_start {
            return;
        }
        let texts = [0, 1].map(|i| match versions[i] {
            Some(_) => read(&self.paths[i]),
            None => String::new(),
        });
        let changed = texts != seen.texts;
        seen.versions = versions;
        if !changed && !at_start {
            return;
        }
        let (set, bad) = RuleSet::build(&texts[0], &texts[1], |authority, host, port| {
            self.backend(authority, host, port)
        });
        for (name, lines) in RULES_FILES.iter().zip(&bad) {
            for line in lines {
                log::warn!("{name} line {}: skipped: {}", line.line, line.reason);
            }
        }
        if versions.iter().any(Option::is_some) || !at_start {
            match at_start {
                true => log::info!("rules: {}", set.summary()),
                false => log::info!("rules: read again: {}", set.summary()),
            }
        }
        seen.texts = texts;
        self.proxying.store(set.proxies(), Ordering::Relaxed);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
    }

    fn backend(&self, authority: &str, host: &str, port: u16) -> Arc<Backend> {
        let mut backends = lock(&self.backends);
        if let Some(known) = backends.iter().find(|b| b.authority == authority) {
            return Arc::clone(known);
        }
        let backend = Arc::new(Backend::new(authority, host, port, self.proxy_timeout));
        backends.push(Arc::clone(&backend));
        backend
    }
}

/// A rules file's text: empty, with a warning, when it cannot be read, is
/// over `redirects::MAX_FILE` (none of it applies, rather than a part cut
/// at a place no one chose), or is not UTF-8.
fn read(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut bytes = Vec::new();
    let limit = redirects::MAX_FILE as u64 + 1;
    if let Err(e) = File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes)) {
        log::warn!("{name}: cannot read it: {e}; no rules from it apply");
        return String::new();
    }
    if bytes.len() > redirects::MAX_FILE {
        log::warn!("{name}: over the 64 KiB a rules file may hold; no rules from it apply");
        return String::new();
    }
    match String::from_utf8(bytes) {
        // A byte-order mark, as some Windows editors write.
        Ok(text) => text
            .strip_prefix('\u{feff}')
            .map(String::from)
            .unwrap_or(text),
        Err(_) => {
            log::warn!("{name}: not UTF-8 text; no rules from it apply");
            String::new()
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
