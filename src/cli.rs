//! The command line, and the configuration the server runs on.
//!
//! `Cli` is what the user typed, as clap parsed it. `Cli::into_config` checks
//! it against the world (the root exists and is a folder, the index name is a
//! plain file name) and produces a `Config`, the only thing the rest of the
//! program reads. A problem is a one-line message for `main` to print.
#![forbid(unsafe_code)]

use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use clap::Parser;

use crate::http::syntax;
use crate::net::{Options, Timeouts};
use crate::serve::Settings;
use crate::serve::auth::Credentials;
use crate::serve::proxy::route;

/// A small, fast, strict HTTP/1.1 static file server for web development.
///
/// Serves the files in DIR on 127.0.0.1 (this machine only) unless
/// --bind says otherwise. Pages are always revalidated, so a reload shows
/// your latest edit.
#[derive(Debug, Parser)]
#[command(version, about, max_term_width = 100)]
pub struct Cli {
    /// Folder to serve (the current folder if neither DIR nor --root is
    /// given).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Folder to serve, the same as DIR.
    #[arg(long = "root", value_name = "DIR", conflicts_with = "dir")]
    pub root: Option<PathBuf>,

    /// Port to listen on; 0 picks a free one. Without --port, 8080 is tried
    /// first, then the next free port up to 8099.
    #[arg(long, short, value_name = "N")]
    pub port: Option<u16>,

    /// Address to listen on. The default keeps the folder private to this
    /// machine; use 0.0.0.0 or :: to share it on your network.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// File served for a folder that contains it.
    #[arg(long, value_name = "NAME", default_value = "index.html")]
    pub index: String,

    /// Answer 404 for folders without an index file instead of listing them.
    #[arg(long)]
    pub no_listing: bool,

    /// Serve dotfiles and dot-folders (by default any path segment starting
    /// with '.' is a 404, and they are left out of listings).
    #[arg(long)]
    pub hidden: bool,

    /// Do not log a line per request.
    #[arg(long, short)]
    pub quiet: bool,

    /// More log output (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(long, short, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Cache-Control sent with every file and listing. The default makes
    /// browsers revalidate on every use, so an edit shows on the next reload.
    #[arg(long, value_name = "VALUE", default_value = "no-cache")]
    pub cache_control: String,

    /// Most connections open at once (2048 by default, fewer if the
    /// open-file limit cannot hold them). At the cap, the oldest connections
    /// waiting for a request are closed to make room; when all are busy a
    /// newcomer gets 503.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: Option<u32>,

    /// Seconds a kept-alive connection may sit idle between requests.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_seconds)]
    pub idle_timeout: Duration,

    /// Seconds a client has to send a whole request head once it has
    /// started (and again for a request body).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub head_timeout: Duration,

    /// Seconds a write may wait on a client that stopped reading.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub send_timeout: Duration,

    /// Single-page apps: a navigation to a path that does not exist and has
    /// no file extension gets the root's index page (a missing script or
    /// image still gets its 404).
    #[arg(long)]
    pub spa: bool,

    /// Do not answer /NAME with NAME.html when NAME does not exist (by
    /// default, as GitHub Pages, Netlify and Cloudflare Pages do).
    #[arg(long)]
    pub no_clean_urls: bool,

    /// A page to send, with status 404, for paths that do not exist.
    #[arg(long = "404", value_name = "FILE")]
    pub not_found_page: Option<PathBuf>,

    /// Do not serve NAME.br or NAME.gz in place of NAME to clients that
    /// accept those encodings.
    #[arg(long)]
    pub no_precompressed: bool,

    /// Allow cross-origin requests from any page:
    /// Access-Control-Allow-Origin: * and answers to preflight requests.
    #[arg(long)]
    pub cors: bool,

    /// A header to add to every response, as 'Name: value' (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Open the served URL in the default browser once listening.
    #[arg(long)]
    pub open: bool,

    /// Reload open pages when a file they loaded changes; a change to CSS
    /// only swaps the stylesheets in place.
    #[arg(long)]
    pub live_reload: bool,

    /// Also print each address the server can be reached at from the
    /// network as a QR code, for opening the page on a phone (with --bind
    /// 0.0.0.0 or another address that is not loopback).
    #[arg(long)]
    pub qr: bool,

    /// Ask for this user name and password (HTTP Basic authentication) on
    /// every request; repeatable. TINYHTTPD_AUTH may hold more, one
    /// USER:PASSWORD per line, to keep passwords out of shell history.
    #[arg(long = "auth", value_name = "USER:PASSWORD")]
    pub auth: Vec<String>,

    /// A host name to accept in the Host header besides localhost names and
    /// loopback addresses, when bound to a loopback address (repeatable).
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,

    /// Forward requests under PREFIX to a backend at URL, as in
    /// /api=http://localhost:3000 (repeatable; the longest prefix wins).
    #[arg(long = "proxy", value_name = "PREFIX=URL")]
    pub proxies: Vec<String>,

    /// How long a backend may take to start its answer before the client
    /// gets a 504. A minute: a development server compiling a page on its
    /// first request can take tens of seconds, and nginx waits as long.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    pub proxy_timeout: Duration,

    /// Ignore the host's rules files: _redirects and _headers at the
    /// folder's root are then served as ordinary files.
    #[arg(long)]
    pub no_host_rules: bool,

    /// Serve the folder under this path, as a host serves a project site
    /// (/REPO/ on GitHub Pages): paths outside it are 404s.
    #[arg(long, value_name = "PATH", value_parser = parse_base)]
    pub base: Option<String>,
}

/// `--base`: a path of plain segments, kept without its last slash (`/`
/// alone is no base).
fn parse_base(text: &str) -> Result<String, String> {
    let Some(rest) = text.strip_prefix('/') else {
        return Err(format!("'{text}' must start with /, as in /REPO/"));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    // Characters a path segment may hold as they are (RFC 3986 section
    // 3.3), so the base compares equal to what browsers send.
    let plain = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@".contains(c);
    let segments_ok = rest
        .split('/')
        .all(|s| !s.is_empty() && s != "." && s != ".." && s.chars().all(plain));
    match rest {
        "" => Ok(String::new()),
        _ if segments_ok => Ok(format!("/{rest}")),
        _ => Err(format!(
            "'{text}' must be a path of plain segments, as in /REPO/"
        )),
    }
}

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    /// What `serve` reads: the site and how it is served.
    pub site: Settings,
    /// What `net` reads: connections and their timeouts.
    pub net: Options,
    pub addr: SocketAddr,
    /// Whether the user chose `net.max_connections` (if not, the open-file
    /// limit may lower it without a warning).
    pub max_connections_given: bool,
    /// How many files the file cache may keep open: its share of the
    /// descriptors, which `main` works out at start.
    pub kept_open_files: usize,
    /// Whether the user chose the port (if not, the next free one is taken).
    pub port_given: bool,
    /// Whether to open a browser at start.
    pub open: bool,
    /// Whether to print network addresses as QR codes too.
    pub qr: bool,
}

/// Connections at once unless `--max-connections` says otherwise.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 2048;

/// The environment variable `--auth` values may come from instead.
pub const AUTH_VARIABLE: &str = "TINYHTTPD_AUTH";

impl Cli {
    pub fn into_config(self) -> Result<Config, String> {
        let root = match self.dir.as_ref().or(self.root.as_ref()) {
            Some(dir) => checked_root(dir)?,
            None => checked_root(Path::new("."))?,
        };
        if !is_plain_file_name(&self.index) {
            return Err(format!(
                "--index must be a plain file name, not '{}'",
                self.index
            ));
        }
        if !is_writable_value(&self.cache_control) {
            return Err(format!(
                "--cache-control must be a header value on one line of visible characters, not '{}'",
                self.cache_control.escape_default()
            ));
        }
        let not_found_page = match &self.not_found_page {
            Some(page) => Some(checked_page(page)?),
            None => None,
        };
        let extra_headers = self
            .headers
            .iter()
            .map(|h| parse_header_flag(h))
            .collect::<Result<Vec<_>, _>>()?;
        let from_environment = match std::env::var(AUTH_VARIABLE) {
            Ok(value) => value,
            Err(std::env::VarError::NotPresent) => String::new(),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(format!("{AUTH_VARIABLE} is not valid UTF-8"));
            }
        };
        let credentials = Credentials::parse(
            self.auth
                .iter()
                .map(String::as_str)
                .chain(from_environment.lines().filter(|line| !line.is_empty())),
        )?;
        let proxies = self
            .proxies
            .iter()
            .map(|rule| route::parse_rule(rule))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            site: Settings {
                root,
                index: self.index,
                listing: !self.no_listing,
                hidden: self.hidden,
                cache_control: Box::leak(self.cache_control.into_boxed_str()),
                spa: self.spa,
                clean_urls: !self.no_clean_urls,
                not_found_page,
                precompressed: !self.no_precompressed,
                cors: self.cors,
                extra_headers,
                guard_host: self.bind.is_loopback(),
                allowed_hosts: self
                    .allow_hosts
                    .iter()
                    .map(|h| h.to_ascii_lowercase())
                    .collect(),
                live_reload: self.live_reload,
                credentials,
                proxies,
                proxy_timeout: self.proxy_timeout,
                host_rules: !self.no_host_rules,
                base: self.base.unwrap_or_default(),
            },
            net: Options {
                max_connections: self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS) as usize,
                timeouts: Timeouts {
                    request: self.head_timeout,
                    idle: self.idle_timeout,
                    send: self.send_timeout,
                },
                access_log: !self.quiet,
            },
            addr: SocketAddr::new(self.bind, self.port.unwrap_or(DEFAULT_PORT)),
            port_given: self.port.is_some(),
            max_connections_given: self.max_connections.is_some(),
            kept_open_files: crate::fs::cache::MAX_OPEN,
            open: self.open,
            qr: self.qr,
        })
    }
}

/// The port tried first when none is given, and the last one tried after it.
pub const DEFAULT_PORT: u16 = 8080;
pub const LAST_FALLBACK_PORT: u16 = 8099;

/// The custom 404 page must be a readable file.
fn checked_page(page: &Path) -> Result<PathBuf, String> {
    let canonical = page
        .canonicalize()
        .map_err(|e| format!("--404 '{}': {}", page.display(), io_message(&e)))?;
    File::open(&canonical)
        .map_err(|e| format!("--404 '{}': {}", page.display(), io_message(&e)))?;
    if !canonical.is_file() {
        return Err(format!("--404 '{}': not a file", page.display()));
    }
    Ok(canonical)
}

/// `Name: value` with a token for a name (RFC 9110 section 5.1) and a
/// one-line value; both leaked, as they live as long as the program.
fn parse_header_flag(flag: &str) -> Result<(&'static str, &'static str), String> {
    let bad = || {
        format!(
            "--header must look like 'Name: value', not '{}'",
            flag.escape_default()
        )
    };
    let (name, value) = flag.split_once(':').ok_or_else(bad)?;
    let value = value.trim();
    if !syntax::is_token(name.as_bytes()) || !is_writable_value(value) {
        return Err(bad());
    }
    Ok((
        Box::leak(name.to_string().into_boxed_str()),
        Box::leak(value.to_string().into_boxed_str()),
    ))
}

fn checked_root(root: &Path) -> Result<PathBuf, String> {
    let canonical = root
        .canonicalize()
        .map_err(|e| format!("cannot serve '{}': {}", root.display(), io_message(&e)))?;
    if !canonical.is_dir() {
        return Err(format!(
            "cannot serve '{}': not a directory",
            root.display()
        ));
    }
    Ok(canonical)
}

/// A positive number of seconds, fractions allowed, at most a day.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!("'{text}' is not between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A value a user may give for a field we write on every response: a field
/// value (RFC 9110 section 5.5, `syntax::is_field_value`), and stricter:
/// not empty or blank, and US-ASCII only (section 5.5: newly defined
/// fields SHOULD limit their values to visible US-ASCII octets).
fn is_writable_value(value: &str) -> bool {
    !value.trim().is_empty() && value.is_ascii() && syntax::is_field_value(value.as_bytes())
}

/// One normal path component: no separators, not `.` or `..`.
fn is_plain_file_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    ) && !name.contains('/')
}

/// The error's text without Rust's " (os error N)" suffix. The errors a
/// user meets at start-up read the same on every platform (Windows' own
/// texts are long, and wine has none for some).
pub fn io_message(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let same_everywhere = match e.kind() {
        ErrorKind::NotFound => "No such file or directory",
        ErrorKind::PermissionDenied => "Permission denied",
        ErrorKind::AddrInUse => "Address already in use",
        ErrorKind::AddrNotAvailable => "Cannot assign requested address",
        _ => "",
    };
    if !same_everywhere.is_empty() {
        return same_everywhere.to_string();
    }
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("tinyhttpd").chain(args.iter().copied()))
    }

    /// The configuration from arguments that clap accepts.
    fn config(args: &[&str]) -> Result<Config, String> {
        cli(args).unwrap().into_config()
    }

    /// `config` of arguments split at spaces.
    fn config_of(args: &str) -> Config {
        let args: Vec<&str> = args.split_whitespace().collect();
        config(&args).unwrap()
    }

    #[test]
    fn defaults() {
        let config = config(&[]).unwrap();
        assert_eq!(config.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.site.index, "index.html");
        assert!(config.site.listing && !config.site.hidden && config.net.access_log);
        assert!(config.site.root.is_absolute());
        assert_eq!(config.net.timeouts.idle, Duration::from_secs(5));
        assert_eq!(config.net.timeouts.request, Duration::from_secs(10));
        assert_eq!(config.net.timeouts.send, Duration::from_secs(30));
        assert_eq!(config.site.cache_control, "no-cache");
        assert_eq!(config.net.max_connections, 2048);
    }

    #[test]
    fn cache_control() {
        let value = "public, max-age=60";
        assert_eq!(
            config(&["--cache-control", value])
                .unwrap()
                .site
                .cache_control,
            value
        );
        for bad in ["", " ", "no-cache\r\nX-Injected: 1", "a\u{0}b", "caf\u{e9}"] {
            assert!(config(&["--cache-control", bad]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn timeouts() {
        let config = config_of("--idle-timeout 0.25 --head-timeout 2 --send-timeout 1.5");
        assert_eq!(config.net.timeouts.idle, Duration::from_millis(250));
        assert_eq!(config.net.timeouts.request, Duration::from_secs(2));
        assert_eq!(config.net.timeouts.send, Duration::from_millis(1500));
        for bad in ["0", "-1", "abc", "NaN", "inf", "86401", ""] {
            assert!(cli(&["--idle-timeout", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv6_and_flags() {
        let config = config_of("--bind ::1 --port 0 --no-listing --hidden -q");
        assert_eq!(config.addr, "[::1]:0".parse().unwrap());
        assert!(!config.site.listing && config.site.hidden && !config.net.access_log);
    }

    #[test]
    fn positional_folder() {
        let by_flag = config(&["--root", "src"]).unwrap();
        assert_eq!(config(&["src"]).unwrap().site.root, by_flag.site.root);
        assert!(by_flag.site.root.ends_with("src"));
        assert!(cli(&["src", "--root", "src"]).is_err());
    }

    #[test]
    fn rejected() {
        assert!(cli(&["--port", "65536"]).is_err());
        assert!(cli(&["--port", "-1"]).is_err());
        assert!(cli(&["--bind", "localhost"]).is_err());
        assert!(cli(&["--max-connections", "0"]).is_err());
        assert_eq!(
            config(&["--root", "/definitely/not/here"]).unwrap_err(),
            "cannot serve '/definitely/not/here': No such file or directory"
        );
        assert_eq!(
            config(&["--root", "Cargo.toml"]).unwrap_err(),
            "cannot serve 'Cargo.toml': not a directory"
        );
        for bad in ["../x.html", "a/b.html", "..", ".", ""] {
            assert!(config(&["--index", bad]).is_err(), "{bad}");
        }
    }
}
