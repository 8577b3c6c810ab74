//! The proxy to the developer's backend (`--proxy PREFIX=URL`): a request
//! under a proxied prefix is forwarded by its connection's own thread, and
//! the backend's answer passed back as it arrives.
//!
//! - `route`: the rules, and which request goes where;
//! - `fields`: what is passed on and what is added (RFC 9110 section 7.6);
//! - `backend`: connecting, and the connections kept alive;
//! - `relay`: one exchange with the backend, and the response it becomes;
//! - `heads`: what a backend's response head means for the client;
//!
//! `forward` decides, while the request is at hand, whether it is the
//! proxy's and works out all it needs as owned values (a `Forward`); the
//! connection then opens the exchange, passes the body on and sends the
//! response. This folder touches the backend's sockets, never the client's:
//! those are `net`'s.
#![forbid(unsafe_code)]

pub mod backend;
mod body;
mod fields;
mod heads;
pub mod relay;
pub mod route;

use std::net::IpAddr;
use std::sync::Arc;

use crate::dev::livereload;
use crate::http::error::HttpError;
use crate::http::request::Request;
use crate::http::request_body::Framing;
use crate::http::syntax::list_members;
use crate::http::target::{self, Target};
use crate::serve::guards;
use crate::serve::navigation::{accepts, is_navigation, is_preflight};
use crate::serve::proxy::backend::Backend;
use crate::serve::rewrites;
use crate::serve::rules;
use crate::serve::site::Site;

/// A request to forward, worked out while it was at hand.
#[derive(Debug)]
pub struct Forward {
    pub backend: Arc<Backend>,
    /// The head for the backend, but for its framing and its end.
    head: Vec<u8>,
    /// An upgrade (a WebSocket) was asked for, and is passed on.
    pub upgrade: bool,
    /// The method may be sent twice (RFC 9110 section 9.2.2): a request
    /// without a body that met a kept-alive connection the backend had
    /// closed is sent again on a new one.
    idempotent: bool,
    to_head: bool,
    client_minor: u8,
    /// Whether an error is answered with a page rather than a line of text.
    wants_html: bool,
    /// Whether an HTML answer gets the live-reload script.
    inject: bool,
    /// Whether the client sent a `Content-Length` (perhaps 0).
    has_length: bool,
    /// Whether the backend's connection may carry another exchange after
    /// this one: not once the body was not sent in full.
    reusable: bool,
}

/// `Some` when `request` is for a proxied prefix: the `Forward`, or why it
/// is refused (the `Host` check and the credentials guard the backend as
/// they guard files). `None` leaves it to the files.
#[inline(never)]
pub fn forward(
    request: &Request<'_>,
    site: &Site,
    peer: IpAddr,
) -> Option<Result<Forward, HttpError>> {
    // CONNECT asks for a tunnel to another host, which no backend gives:
    // it is answered here (405).
    if request.method == "CONNECT" {
        return None;
    }
    let target = target::split_target(request.target).ok()?;
    let path = route::remove_dot_segments(target.path);
    // The live-reload stream stays ours under any prefix.
    if path.starts_with(livereload::OWN_PATHS) {
        return None;
    }
    let (backend, mut path_and_query) = match route::find(&site.proxies, &path) {
        Some(route) => (
            Arc::clone(&route.backend),
            route.backend_path(&path).into_owned(),
        ),
        None => {
            let for_rules = rules::path_for_rules(&path);
            let as_sent = Target {
                path: &for_rules,
                query: target.query,
            };
            rewrites::proxied_by_rule(request, &as_sent, site)?
        }
    };
    if let Err(refused) = guards::admit(request, site) {
        return Some(Err(refused));
    }
    // A CORS preflight passes the guards without credentials (browsers
    // send none with one); with `--auth` it is answered here, as for a
    // file, and never reaches the backend unauthenticated.
    if site.settings.credentials.required() && is_preflight(request) {
        return None;
    }
    // RFC 9112 section 6.1: a transfer coding we cannot pass on (the body
    // is re-chunked here, so only chunked itself) is a 501.
    let mut codings = request.values("transfer-encoding").flat_map(list_members);
    if codings.any(|c| !c.eq_ignore_ascii_case(b"chunked")) {
        return Some(Err(HttpError::NotImplemented));
    }
    // A rule's TO has the query already, its own or the request's.
    if let Some(query) = target.query
        && !path_and_query.contains('?')
    {
        path_and_query.push('?');
        path_and_query.push_str(query);
    }
    // RFC 9110 section 7.8: Upgrade belongs to HTTP/1.1, and takes effect
    // only with the `upgrade` connection option.
    let upgrade = request.minor >= 1
        && request.header("upgrade").is_some()
        && request.has_token("connection", "upgrade");
    let inject = site.live_reload.is_some() && request.method == "GET" && is_navigation(request);
    let omit = fields::Omit {
        authorization: site.settings.credentials.required(),
        accept_encoding: inject,
    };
    let head = fields::request_head(
        request,
        &path_and_query,
        &backend.authority,
        peer.to_canonical(),
        upgrade,
        &omit,
    );
    Some(Ok(Forward {
        backend,
        head,
        upgrade,
        idempotent: matches!(
            request.method,
            "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
        ),
        to_head: request.method == "HEAD",
        client_minor: request.minor,
        wants_html: accepts(request, "text/html"),
        inject,
        has_length: request.header("content-length").is_some(),
        reusable: true,
    }))
}

impl Forward {
    /// Ends the head with the framing of the body that follows: ours, from
    /// how the client framed it.
    pub fn frame(&mut self, framing: Framing) {
        match framing {
            // No body and no length: a GET stays as the client sent it.
            Framing::Length(0) if !self.has_length => {}
            Framing::Length(len) => {
                self.head
                    .extend_from_slice(format!("Content-Length: {len}\r\n").as_bytes());
            }
            Framing::Chunked => self
                .head
                .extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        }
        self.head.extend_from_slice(b"\r\n");
        if framing != Framing::Length(0) {
            self.idempotent = false;
        }
    }
}
