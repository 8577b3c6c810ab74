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
mod handler;
mod listing;
mod mime;
mod range;
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

use crate::cli::{Cli, io_message};

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
    let config = match cli.into_config() {
        Ok(config) => config,
        Err(message) => return fail(&message),
    };
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
