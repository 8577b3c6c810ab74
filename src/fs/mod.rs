//! The file system side: from a target's path to a file under the root
//! (`resolve`, the security boundary), the file cache that skips that work
//! for files already served (`cache`), and the one definition of a file's
//! version (`version`) that the cache, the ETag and live reload share.
//!
//! May import `sys`, and from `http` its vocabulary only (errors,
//! validators, dates, media types, the target): never the request parser or
//! the response writer. Nothing here knows of requests or connections.
#![forbid(unsafe_code)]

pub mod cache;
pub mod resolve;
pub mod version;

#[cfg(test)]
mod fuzz_tests;
