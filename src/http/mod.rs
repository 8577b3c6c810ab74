//! HTTP/1.1 messages, and nothing of files or sockets' lifetimes: the
//! request parser (`request`, its target in `target`, its body's framing in
//! `request_body`), the chunked coding both ways (`chunked`), a backend's
//! response head for the proxy (`response_head`), the one response writer
//! (`response`, through `sender` with its deadline), and the RFC 9110
//! vocabulary between: shared syntax, dates, statuses (`status`),
//! validators and preconditions (`conditional`), ranges, content codings
//! (`encoding`), media types (`mime`), errors and the statuses they become
//! (`error`), and the HTML frame of every generated page (`page`).
//!
//! May import `sys` only. The file system side uses its vocabulary (errors,
//! validators, dates, types), never its parser or writer.
#![forbid(unsafe_code)]

pub mod chunked;
pub mod conditional;
pub mod date;
pub mod encoding;
pub mod error;
pub mod mime;
pub mod page;
pub mod range;
pub mod request;
pub mod request_body;
pub mod response;
pub mod response_head;
pub mod sender;
pub mod status;
pub mod syntax;
pub mod target;

/// Bodies up to this size leave with their head in one write, from memory:
/// for a file, a read and one write cost less than a write and a
/// `sendfile` that leave as two segments (see `response`). The file cache
/// keeps files up to this size as bytes, sent from memory with no read at
/// all, and larger ones open, for `sendfile`.
pub const INLINE_BODY: u64 = 16 * 1024;
