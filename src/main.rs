//! tinyhttpd: a small, strict HTTP/1.1 static file server.
//!
//! `main` only wires things together: parse the command line, start logging,
//! bind, print the one `listening on http://ADDR/` line that scripts and tests
//! wait for, and hand the listener to the server. Every start-up problem is a
//! single line on stderr and exit status 1.
//!
//! Unsafe code is denied in the whole crate and forbidden in every module but
//! `sys`, which holds the system calls std does not expose.
#![deny(unsafe_code)]

mod cli;
mod dev;
mod fs;
mod http;
mod net;
mod serve;
#[allow(unsafe_code)]
mod sys;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::{Cli, Config, DEFAULT_PORT, LAST_FALLBACK_PORT, io_message};
use crate::serve::Site;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message spans several lines; its first says what is wrong.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            return fail(&format!("{first} (see --help)"));
        }
    };
    init_logging(cli.quiet, cli.verbose);
    log_panics();
    let mut config = match cli.into_config() {
        Ok(config) => config,
        Err(message) => return fail(&message),
    };
    let listener = match bind(&config) {
        Ok(listener) => listener,
        Err(message) => return fail(&message),
    };
    // After binding: a command line that cannot work gets its one line of
    // error and nothing else.
    budget_descriptors(&mut config);
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            return fail(&format!(
                "cannot read the bound address: {}",
                io_message(&e)
            ));
        }
    };
    if config.site.credentials.required() && !addr.ip().is_loopback() {
        // RFC 7617 section 4: Basic is only as safe as the connection.
        log::warn!(
            "--auth: browsers send the user name and password in clear text with every \
             request, so anyone on the network between them and this server can read them"
        );
    }
    net::listener::prepare(&listener);
    log::debug!("serving {}", config.site.root.display());
    announce(addr, config.qr);
    if config.open {
        let host = if addr.ip().is_unspecified() {
            format!("localhost:{}", addr.port())
        } else {
            addr.to_string()
        };
        open_browser(&format!("http://{host}/"));
    }
    let site = Site::new(config.site, config.kept_open_files);
    net::listener::run(listener, Arc::new(site), config.net);
    ExitCode::SUCCESS
}

/// Prints the `listening on` line, then, when other machines can connect,
/// the URLs they can use (bound to every interface, the machine's own
/// addresses), each also as a QR code with `--qr`. All of it leaves in one
/// write, so whoever reads the first line has the rest in the pipe too.
fn announce(addr: SocketAddr, qr: bool) {
    let mut text = format!("listening on http://{addr}/\n");
    let reachable: Vec<SocketAddr> = if addr.ip().is_unspecified() {
        dev::addresses::local()
            .into_iter()
            .filter(|ip| !(addr.is_ipv4() && ip.is_ipv6()))
            .map(|ip| SocketAddr::new(ip, addr.port()))
            .collect()
    } else if !addr.ip().is_loopback() {
        vec![addr]
    } else {
        Vec::new()
    };
    for at in &reachable {
        let url = format!("http://{at}/");
        if addr.ip().is_unspecified() {
            text.push_str(&format!("  reachable at {url}\n"));
        }
        if qr {
            match dev::qr::QrCode::encode(url.as_bytes()) {
                Some(code) => {
                    text.push_str(&code.to_terminal());
                    text.push('\n');
                }
                None => log::warn!("--qr: {url} is too long for a QR code"),
            }
        }
    }
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    if qr && reachable.is_empty() {
        log::warn!(
            "--qr: nothing to print, as no other device can reach {addr}; \
             share the folder with --bind 0.0.0.0"
        );
    }
}

/// What one connection holds open at most at once: its socket, the file it
/// is answering with, and that file's precompressed variant while the
/// answer is worked out (or a folder being listed); or, proxied, its socket
/// and the backend's (a WebSocket's too). The registry shares the socket,
/// it holds no descriptor of its own.
const PER_CONNECTION: u64 = 3;
/// Kept back for the rest: the standard streams, the listener, the served
/// folder, the live-reload watcher's reads, and a margin.
const RESERVED: u64 = 32;

/// Raises the soft limit on open files as far as the system allows, then
/// shares the descriptors out: an eighth of what is left after `RESERVED`
/// (at most `fs::cache::MAX_OPEN`) to files the cache keeps open, the rest to
/// connections, `PER_CONNECTION` each. The connection cap comes down (with
/// a warning if the user chose it) if the limit cannot hold it, so the
/// server degrades by shedding idle connections rather than by failing
/// `accept` or `open`.
fn budget_descriptors(config: &mut Config) {
    let limit = sys::raise_open_file_limit().or_else(|e| {
        log::debug!("open-file limit not raised: {e}");
        sys::open_file_limit()
    });
    let limit = match limit {
        Ok(limit) => limit,
        Err(e) => {
            log::debug!("open-file limit unknown ({e}): connections are not capped by it");
            return;
        }
    };
    // Idle connections to backends are nobody's: they are kept back too.
    let idle = (config.site.proxies.len() * serve::proxy::backend::MAX_IDLE) as u64;
    let (connections, kept_open) =
        share_descriptors(limit.saturating_sub(idle), config.net.max_connections);
    let backends = match idle {
        0 => String::new(),
        idle => format!("{idle} for idle connections to backends, "),
    };
    log::debug!(
        "open files: a limit of {limit}; {RESERVED} kept back, {backends}{kept_open} for the file \
         cache, {PER_CONNECTION} for each of {connections} connections"
    );
    if connections < config.net.max_connections {
        let message = format!(
            "the open-file limit ({limit}) allows {connections} connections, not {}: using \
             {connections}",
            config.net.max_connections
        );
        // Only a number the user asked for is worth a warning.
        if config.max_connections_given {
            log::warn!("{message}");
        } else {
            log::info!("{message}");
        }
    }
    config.net.max_connections = connections;
    config.kept_open_files = kept_open;
}

/// The connections (at most `wanted`, at least one) and the files kept
/// open that `limit` descriptors hold.
fn share_descriptors(limit: u64, wanted: usize) -> (usize, usize) {
    let available = limit.saturating_sub(RESERVED);
    let kept_open = (available / 8).min(fs::cache::MAX_OPEN as u64);
    let fits = (available - kept_open) / PER_CONNECTION;
    let connections = usize::try_from(fits)
        .unwrap_or(usize::MAX)
        .clamp(1, wanted.max(1));
    (connections, kept_open as usize)
}

/// A panic in a connection's thread ends that connection only; say so in the
/// log rather than as a bare message on stderr.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        log::error!(
            "thread '{}' panicked: {info}",
            thread.name().unwrap_or("unnamed")
        );
    }));
}

/// Binds the configured address. A port the user chose must be free; when
/// none was chosen and 8080 is taken, the next free port up to 8099 is used,
/// and the log says so.
fn bind(config: &Config) -> Result<TcpListener, String> {
    let error = match TcpListener::bind(config.addr) {
        Ok(listener) => return Ok(listener),
        Err(e) => e,
    };
    let message = format!("cannot listen on {}: {}", config.addr, io_message(&error));
    if config.port_given || error.kind() != std::io::ErrorKind::AddrInUse {
        return Err(message);
    }
    for port in DEFAULT_PORT + 1..=LAST_FALLBACK_PORT {
        if let Ok(listener) = TcpListener::bind(SocketAddr::new(config.addr.ip(), port)) {
            log::warn!("port {DEFAULT_PORT} is in use, so serving on port {port} instead");
            return Ok(listener);
        }
    }
    Err(format!(
        "{message}, and so are ports up to {LAST_FALLBACK_PORT}; choose one with --port"
    ))
}

/// Opens `url` with the desktop's opener, without waiting for it (a thread
/// reaps it when it exits).
fn open_browser(url: &str) {
    let opener = sys::OPENER;
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => log::warn!("cannot open a browser with {opener}: {e}"),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("tinyhttpd: {message}");
    ExitCode::FAILURE
}

/// Access lines are logged at info; `--quiet` drops to warnings, `-v` and
/// `-vv` raise to debug and trace. `RUST_LOG`, when set, decides instead.
fn init_logging(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => log::LevelFilter::Warn,
        (false, 0) => log::LevelFilter::Info,
        (false, 1) => log::LevelFilter::Debug,
        (false, _) => log::LevelFilter::Trace,
    };
    let mut builder = env_logger::Builder::new();
    builder.filter_level(level);
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    builder.init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_are_shared_between_connections_and_the_cache() {
        let cases = [
            // (limit, connections wanted, connections, kept open)
            // macOS's default: 224 after the reserve, 28 to the cache.
            (256, 2048, 65, 28),
            (256, 10, 10, 28),
            // macOS raised to OPEN_MAX, and Linux's usual hard limits.
            (10_240, 2048, 2048, 256),
            (1_048_576, 2048, 2048, 256),
            (4096, 2048, 1269, 256),
            // Tiny limits still leave one connection.
            (40, 2048, 2, 1),
            (10, 2048, 1, 0),
        ];
        for (limit, wanted, connections, kept_open) in cases {
            assert_eq!(
                share_descriptors(limit, wanted),
                (connections, kept_open),
                "{limit}"
            );
            let used = RESERVED + connections as u64 * PER_CONNECTION + kept_open as u64;
            assert!(used <= limit || connections == 1, "{limit}: {used}");
        }
    }
}
