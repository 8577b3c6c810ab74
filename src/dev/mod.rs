//! Developer conveniences that are not on the core path: live reload, QR codes, local addresses.
//!
//! `dev/` may import `fs`, `http` and `sys` (the folders below it), never
//! `serve` or `net` (above it): the server calls in here, never the reverse.
#![forbid(unsafe_code)]

pub mod addresses;
pub mod livereload;
pub mod qr;
