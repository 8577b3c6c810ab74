//! The site being served: its settings (the part of the validated command
//! line this layer reads), the open root, the file cache and the
//! live-reload watcher that live beside them while the server runs.
//!
//! Imports `fs` and `dev`.
#![forbid(unsafe_code)]

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::dev::livereload::Watcher;
use crate::fs::cache::FileCache;
use crate::fs::resolve::ServedRoot;
use crate::http::request::Request;
use crate::serve::auth::Credentials;
use crate::serve::navigation::is_navigation;
use crate::serve::proxy::backend::Backend;
use crate::serve::proxy::route::{Route, Rule};
use crate::serve::rules::RuleSet;
use crate::serve::rules::live::HostRules;

/// What the site is and how it is served: the part of the validated
/// command line this layer reads.
#[derive(Debug)]
pub struct Settings {
    /// Canonical path of the served folder.
    pub root: PathBuf,
    /// The file served for a folder that contains it.
    pub index: String,
    /// Whether folders without an index are listed.
    pub listing: bool,
    /// Whether dotfiles are served.
    pub hidden: bool,
    /// Lives as long as the program, so responses borrow it.
    pub cache_control: &'static str,
    /// Whether a navigation to a missing extension-less path gets the
    /// root's index.
    pub spa: bool,
    /// Whether `/NAME` may be answered from `NAME.html`.
    pub clean_urls: bool,
    /// The canonical path of the custom 404 page.
    pub not_found_page: Option<PathBuf>,
    /// Whether `NAME.br` and `NAME.gz` are sent in place of `NAME`.
    pub precompressed: bool,
    pub cors: bool,
    /// `--header` fields, validated; they live as long as the program.
    pub extra_headers: Vec<(&'static str, &'static str)>,
    /// Whether `Host` is checked against DNS rebinding: on a loopback address.
    pub guard_host: bool,
    /// `--allow-host` names, lower-cased.
    pub allowed_hosts: Vec<String>,
    /// Whether pages reload when a file they loaded changes.
    pub live_reload: bool,
    /// The users let in; none means anyone.
    pub credentials: Credentials,
    /// `--proxy` rules, in the order given.
    pub proxies: Vec<Rule>,
    /// How long a backend may take to answer (`--proxy-timeout`).
    pub proxy_timeout: Duration,
    /// Whether `_redirects` and `_headers` apply (not `--no-host-rules`).
    pub host_rules: bool,
    /// `--base`: where the folder is served, without its last slash
    /// (`/REPO`); empty for the root.
    pub base: String,
}

/// What `serve` answers from: the settings, and what the running
/// server keeps beside them.
#[derive(Debug)]
pub struct Site {
    pub settings: Settings,
    /// The served folder, open, for opening files beneath it in one system
    /// call (`None` if it cannot be opened, and the slow way is used).
    pub root_dir: Option<File>,
    /// The live-reload watcher, with `--live-reload`.
    pub live_reload: Option<Arc<Watcher>>,
    /// Files already served (small ones' bytes, larger ones open), by
    /// request path.
    pub cache: Arc<FileCache>,
    /// Where proxied prefixes go, the longest prefix first.
    pub proxies: Vec<Route>,
    /// `_redirects` and `_headers`, unless `--no-host-rules`.
    pub rules: Option<HostRules>,
}

impl Site {
    /// Opens the root and starts what the settings ask for; the file cache
    /// may keep `kept_open_files` files open (its share of the descriptors).
    pub fn new(settings: Settings, kept_open_files: usize) -> Site {
        let mut proxies: Vec<Route> = settings
            .proxies
            .iter()
            .map(|rule| Route {
                prefix: rule.prefix.clone(),
                backend: Arc::new(Backend::new(
                    &rule.authority,
                    &rule.host,
                    rule.port,
                    settings.proxy_timeout,
                )),
                path: rule.path.clone(),
            })
            .collect();
        // Longest first, so the first match is the longest; a prefix given
        // twice goes where it was first given.
        proxies.sort_by_key(|route| std::cmp::Reverse(route.prefix.len()));
        let live_reload = settings.live_reload.then(Watcher::start);
        let rules = settings.host_rules.then(|| {
            HostRules::load(
                &settings.root,
                &settings.base,
                settings.proxy_timeout,
                live_reload.as_deref(),
            )
        });
        Site {
            rules,
            root_dir: File::open(&settings.root).ok(),
            live_reload,
            cache: FileCache::new(kept_open_files),
            proxies,
            settings,
        }
    }

    /// Closes what is kept open only to be quick (the file cache's files,
    /// idle connections to backends), when descriptors run out; says how
    /// many were closed.
    pub fn give_back_descriptors(&self) -> usize {
        self.cache.close_open_files() + self.close_idle_backends()
    }

    /// Closes the idle connections to backends; says how many.
    pub fn close_idle_backends(&self) -> usize {
        let by_rules = self
            .rules
            .as_ref()
            .map_or(0, HostRules::close_idle_backends);
        self.proxies
            .iter()
            .map(|r| r.backend.close_idle())
            .sum::<usize>()
            + by_rules
    }

    /// Whether a request may be forwarded to a backend: by `--proxy`, or by
    /// a `_redirects` rule.
    pub fn may_forward(&self) -> bool {
        !self.proxies.is_empty() || self.rules.as_ref().is_some_and(HostRules::may_proxy)
    }

    /// Brings the host's rules up to date for `request`, before it is
    /// routed (a proxying rule decides its way).
    pub fn refresh_rules(&self, request: &Request<'_>) {
        if let Some(rules) = &self.rules {
            rules.refresh(|| is_navigation(request), self.live_reload.as_deref());
        }
    }

    /// The host's rules in force, if there are any.
    pub fn rules(&self) -> Option<Arc<RuleSet>> {
        self.rules.as_ref()?.current()
    }

    /// The root as the resolver sees it.
    pub fn root(&self) -> ServedRoot<'_> {
        ServedRoot {
            path: &self.settings.root,
            dir: self.root_dir.as_ref(),
            index: &self.settings.index,
            hidden: self.settings.hidden,
            rules_files: self.rules.as_ref().map(HostRules::fingerprints),
        }
    }
}
