//! The transport: where connections come in (`listener`, `pool`,
//! `registry`), and each connection's loop (`connection`), which reads with
//! `inbox` and answers with `outbox`; a proxied request's exchange
//! (`forward`), and a WebSocket's bytes both ways (`tunnel`). One thread
//! per connection (a tunnel adds one), blocking reads and writes with
//! deadlines.
//!
//! May import `http`, `serve` and `sys`; `serve` gives it the answer, it
//! never looks at files itself.
#![forbid(unsafe_code)]

pub mod connection;
mod forward;
pub mod inbox;
pub mod listener;
pub mod outbox;
pub mod pool;
pub mod registry;
mod tunnel;

use std::time::Duration;

/// How one exchange ended.
pub enum Next {
    /// Read the next request.
    KeepAlive,
    /// Close at once: the client left, went quiet, or asked us to close
    /// after this answer (and so will send nothing more, RFC 9112
    /// section 9.6).
    Close,
    /// We decided to close, with the client perhaps still sending: shut our
    /// side and drain what comes before closing (`Inbox::linger`).
    Linger,
}

/// What the transport is told by the command line.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The most connections open at once; past it a new one gets a 503.
    pub max_connections: usize,
    pub timeouts: Timeouts,
    /// Whether each response gets a line in the log at info level.
    pub access_log: bool,
}

/// How long the server waits on a client.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// To read a request: from its first byte to the end of its head, and
    /// the same again for its body. A total, so a client trickling bytes
    /// cannot hold a thread.
    pub request: Duration,
    /// Between requests on a kept-alive connection.
    pub idle: Duration,
    /// For any one write to a client that stopped reading.
    pub send: Duration,
}
