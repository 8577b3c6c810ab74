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

/// A small, fast, strict HTTP/1.1 static file server for web development.
///
/// Serves the files under --root on 127.0.0.1 (this machine only) unless
/// --bind says otherwise. Pages are always revalidated, so a reload shows
/// your latest edit.
#[derive(Debug, Parser)]
#[command(version, about, max_term_width = 100)]
pub struct Cli {
    /// Folder to serve.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub root: PathBuf,

    /// Port to listen on; 0 picks a free one.
    #[arg(long, short, value_name = "N", default_value_t = 8080)]
    pub port: u16,

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

    /// Most connections open at once. At the cap, the oldest connections
    /// waiting for a request are closed to make room; when all are busy a
    /// newcomer gets 503.
    #[arg(long, value_name = "N", default_value_t = 2048, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

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
}

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    /// Canonical path of the served folder.
    pub root: PathBuf,
    /// The served folder, open, for opening files beneath it in one system
    /// call (`None` if it cannot be opened, and the slow way is used).
    pub root_dir: Option<File>,
    pub addr: SocketAddr,
    pub index: String,
    pub listing: bool,
    pub hidden: bool,
    pub access_log: bool,
    /// Lives as long as the program, so responses borrow it.
    pub cache_control: &'static str,
    pub max_connections: usize,
    pub timeouts: Timeouts,
}

/// How long the server waits on a client.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From the first byte of a request to the end of its head (and again for
    /// its body): a total, so a client trickling bytes cannot hold a thread.
    pub head: Duration,
    /// Between requests on a kept-alive connection.
    pub idle: Duration,
    /// For any one write to a client that stopped reading.
    pub send: Duration,
}

impl Cli {
    pub fn into_config(self) -> Result<Config, String> {
        let root = checked_root(&self.root)?;
        if !is_plain_file_name(&self.index) {
            return Err(format!(
                "--index must be a plain file name, not '{}'",
                self.index
            ));
        }
        if !is_field_value(&self.cache_control) {
            return Err(format!(
                "--cache-control must be a header value on one line of visible characters, not '{}'",
                self.cache_control.escape_default()
            ));
        }
        Ok(Config {
            root_dir: File::open(&root).ok(),
            root,
            addr: SocketAddr::new(self.bind, self.port),
            index: self.index,
            listing: !self.no_listing,
            hidden: self.hidden,
            access_log: !self.quiet,
            cache_control: Box::leak(self.cache_control.into_boxed_str()),
            max_connections: self.max_connections as usize,
            timeouts: Timeouts {
                head: self.head_timeout,
                idle: self.idle_timeout,
                send: self.send_timeout,
            },
        })
    }
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

/// A non-empty field value (RFC 9110 section 5.5) that is safe to write:
/// visible ASCII and inner spaces, no control characters.
fn is_field_value(value: &str) -> bool {
    !value.trim().is_empty()
        && value
            .bytes()
            .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
}

/// One normal path component: no separators, not `.` or `..`.
fn is_plain_file_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    ) && !name.contains('/')
}

/// The error's text without Rust's " (os error N)" suffix.
pub fn io_message(e: &std::io::Error) -> String {
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

    #[test]
    fn defaults() {
        let config = cli(&[]).unwrap().into_config().unwrap();
        assert_eq!(config.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.index, "index.html");
        assert!(config.listing && !config.hidden && config.access_log);
        assert!(config.root.is_absolute());
        assert_eq!(config.timeouts.idle, Duration::from_secs(5));
        assert_eq!(config.timeouts.head, Duration::from_secs(10));
        assert_eq!(config.timeouts.send, Duration::from_secs(30));
        assert_eq!(config.cache_control, "no-cache");
        assert_eq!(config.max_connections, 2048);
    }

    #[test]
    fn cache_control() {
        let config = cli(&["--cache-control", "public, max-age=60"])
            .unwrap()
            .into_config()
            .unwrap();
        assert_eq!(config.cache_control, "public, max-age=60");
        for bad in ["", " ", "no-cache\r\nX-Injected: 1", "a\u{0}b", "caf\u{e9}"] {
            assert!(
                cli(&["--cache-control", bad])
                    .unwrap()
                    .into_config()
                    .is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn timeouts() {
        let config = cli(&[
            "--idle-timeout",
            "0.25",
            "--head-timeout",
            "2",
            "--send-timeout",
            "1.5",
        ])
        .unwrap()
        .into_config()
        .unwrap();
        assert_eq!(config.timeouts.idle, Duration::from_millis(250));
        assert_eq!(config.timeouts.head, Duration::from_secs(2));
        assert_eq!(config.timeouts.send, Duration::from_millis(1500));
        for bad in ["0", "-1", "abc", "NaN", "inf", "86401", ""] {
            assert!(cli(&["--idle-timeout", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv6_and_flags() {
        let config = cli(&[
            "--bind",
            "::1",
            "--port",
            "0",
            "--no-listing",
            "--hidden",
            "-q",
        ])
        .unwrap()
        .into_config()
        .unwrap();
        assert_eq!(config.addr, "[::1]:0".parse().unwrap());
        assert!(!config.listing && config.hidden && !config.access_log);
    }

    #[test]
    fn rejected() {
        assert!(cli(&["--port", "65536"]).is_err());
        assert!(cli(&["--port", "-1"]).is_err());
        assert!(cli(&["--bind", "localhost"]).is_err());
        assert!(cli(&["--max-connections", "0"]).is_err());
        let missing = cli(&["--root", "/definitely/not/here"])
            .unwrap()
            .into_config();
        assert_eq!(
            missing.unwrap_err(),
            "cannot serve '/definitely/not/here': No such file or directory"
        );
        let file = cli(&["--root", "Cargo.toml"]).unwrap().into_config();
        assert_eq!(
            file.unwrap_err(),
            "cannot serve 'Cargo.toml': not a directory"
        );
        for bad in ["../x.html", "a/b.html", "..", ".", ""] {
            assert!(
                cli(&["--index", bad]).unwrap().into_config().is_err(),
                "{bad}"
            );
        }
    }
}
