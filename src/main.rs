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

mod body;
mod cli;
mod conditional;
mod error;
#[cfg(test)]
mod fuzz_tests;
mod handler;
mod listing;
mod mime;
mod pool;
mod range;
mod registry;
mod request;
mod resolve;
mod response;
mod server;
#[allow(unsafe_code)]
mod sys;

use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::{Cli, Config, io_message};

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
    fit_connections_to_descriptors(&mut config);
    let listener = match TcpListener::bind(config.addr) {
        Ok(listener) => listener,
        Err(e) => {
            return fail(&format!(
                "cannot listen on {}: {}",
                config.addr,
                io_message(&e)
            ));
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            return fail(&format!(
                "cannot read the bound address: {}",
                io_message(&e)
            ));
        }
    };
    log::debug!("serving {}", config.root.display());
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on http://{addr}/");
    let _ = stdout.flush();
    server::run(listener, Arc::new(config));
    ExitCode::SUCCESS
}

/// Each connection holds up to three descriptors: its socket, the registry's
/// clone of it, and the file it is sending. Raise the soft limit as far as
/// the hard one allows and keep the connection cap within it, so the server
/// degrades by shedding idle connections rather than by failing `accept`.
fn fit_connections_to_descriptors(config: &mut Config) {
    const PER_CONNECTION: u64 = 3;
    const RESERVED: u64 = 64;
    match sys::raise_open_file_limit() {
        Ok(limit) => {
            let fits = usize::try_from(limit.saturating_sub(RESERVED) / PER_CONNECTION)
                .unwrap_or(usize::MAX);
            if fits < config.max_connections {
                log::warn!(
                    "the open-file limit ({limit}) allows {fits} connections, not {}: using {fits}",
                    config.max_connections
                );
                config.max_connections = fits.max(1);
            }
        }
        Err(e) => log::debug!("open-file limit left as it is: {e}"),
    }
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
