//! The header fields the proxy passes on, both ways (RFC 9110 section 7.6):
//! the hop-by-hop fields (`Connection`, every field it names, and those
//! RFC 9112 lists) stay on their own connection, framing is ours on each
//! side and never copied from the other, `Via` records the hop, and the
//! `X-Forwarded-*` fields tell the backend who asked and by which name.
//!
//! Every field that passes is copied byte for byte, in the order it came.
//!
//! Imports `http`.
#![forbid(unsafe_code)]

use std::net::IpAddr;

use crate::http::request::{Header, Request};
use crate::http::response_head::ResponseHead;
use crate::http::syntax::list_members;
use crate::http::target;

/// What this hop adds to `Via` (RFC 9110 section 7.6.3), after the
/// version of the message it received.
const VIA: &[u8] = b"tinyhttpd";

/// Fields never passed on as they are, in either direction: the
/// hop-by-hop ones (RFC 9110 section 7.6.1, and `Proxy-Connection`, which
/// old clients still send), the framing (ours on each side), and those this
/// hop writes itself.
const NOT_PASSED: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "content-length",
    "upgrade",
    "via",
];

/// Request fields this hop replaces or answers itself: the backend gets
/// its own `Host`; `Expect` was answered here (`100 Continue`).
const NOT_PASSED_IN_REQUESTS: &[&str] = &[
    "host",
    "expect",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
];

/// Response fields this server writes itself on every response (as nginx
/// does, the backend's own are not passed).
const NOT_PASSED_IN_RESPONSES: &[&str] = &["date", "server"];

/// What to leave out of the request beyond the fixed lists.
pub struct Omit {
    /// The `Authorization` that answered `--auth`: it is ours, not the
    /// backend's.
    pub authorization: bool,
    /// `Accept-Encoding`, so that a page gets to us uncompressed and the
    /// live-reload script can go in.
    pub accept_encoding: bool,
}

/// The request head for the backend, up to (not including) the framing
/// fields and the empty line that ends it.
pub fn request_head(
    request: &Request<'_>,
    path_and_query: &str,
    authority: &str,
    peer: IpAddr,
    upgrade: bool,
    omit: &Omit,
) -> Vec<u8> {
    let mut head = Vec::with_capacity(512);
    push_all(
        &mut head,
        &[
            request.method.as_bytes(),
            b" ",
            path_and_query.as_bytes(),
            b" HTTP/1.1\r\nHost: ",
            authority.as_bytes(),
            b"\r\n",
        ],
    );
    let named = named_in_connection(request.values("connection"));
    for field in &request.headers {
        let name = field.name;
        let left_out = is_one_of(name, NOT_PASSED)
            || is_one_of(name, NOT_PASSED_IN_REQUESTS)
            || named
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            || (omit.authorization && name.eq_ignore_ascii_case("authorization"))
            || (omit.accept_encoding && name.eq_ignore_ascii_case("accept-encoding"));
        if !left_out {
            push_field(&mut head, name.as_bytes(), field.value);
        }
    }
    if upgrade {
        let protocols = joined(request.values("upgrade"));
        push_field(&mut head, b"Connection", b"upgrade");
        push_field(&mut head, b"Upgrade", &protocols);
    }
    let via = via_of(request.minor);
    push_field(&mut head, b"Via", &appended(request.values("via"), &via));
    let peer = peer.to_string();
    let forwarded_for = appended(request.values("x-forwarded-for"), peer.as_bytes());
    push_field(&mut head, b"X-Forwarded-For", &forwarded_for);
    // The host the client asked for: an absolute-form target's authority
    // wins over `Host` (RFC 9112 section 3.2.2), as in the `Host` check.
    let host = target::authority(request.target)
        .map(str::as_bytes)
        .or(request.header("host"));
    if let Some(host) = host {
        push_field(&mut head, b"X-Forwarded-Host", host);
    }
    push_field(&mut head, b"X-Forwarded-Proto", b"http");
    head
}

/// The backend's response fields for the client, each a line ending in
/// CRLF: all but the hop-by-hop and framing ones, then `Via`. For a 101,
/// the `Upgrade` and `Connection: upgrade` that make the switch.
/// `also_omit` names more to leave out (the `ETag` of a page changed here).
pub fn response_fields(head: &ResponseHead<'_>, also_omit: &[&str]) -> Vec<u8> {
    let mut fields = Vec::with_capacity(256);
    let named = named_in_connection(head.values("connection"));
    let passes = |field: &&Header<'_>| {
        let name = field.name;
        !(is_one_of(name, NOT_PASSED)
            || is_one_of(name, NOT_PASSED_IN_RESPONSES)
            || is_one_of(name, also_omit)
            || named
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name.as_bytes())))
    };
    for field in head.headers.iter().filter(passes) {
        push_field(&mut fields, field.name.as_bytes(), field.value);
    }
    if head.code == 101 {
        push_field(&mut fields, b"Connection", b"upgrade");
        push_field(&mut fields, b"Upgrade", &joined(head.values("upgrade")));
    }
    let via = via_of(head.minor);
    push_field(&mut fields, b"Via", &appended(head.values("via"), &via));
    fields
}

/// This hop's `Via` member for a message received in HTTP/1.`minor`.
fn via_of(minor: u8) -> Vec<u8> {
    let mut via = if minor == 0 {
        b"1.0 ".to_vec()
    } else {
        b"1.1 ".to_vec()
    };
    via.extend_from_slice(VIA);
    via
}

/// The field names a `Connection` field lists, but for `close`,
/// `keep-alive` and `upgrade`, which are options rather than names.
fn named_in_connection<'a>(values: impl Iterator<Item = &'a [u8]>) -> Vec<&'a [u8]> {
    values
        .flat_map(list_members)
        .filter(|member| {
            !member.eq_ignore_ascii_case(b"close") && !member.eq_ignore_ascii_case(b"upgrade")
        })
        .collect()
}

fn is_one_of(name: &str, names: &[&str]) -> bool {
    names.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The values joined as one list, with `last` at its end.
fn appended<'a>(values: impl Iterator<Item = &'a [u8]>, last: &[u8]) -> Vec<u8> {
    let mut list = joined(values);
    if !list.is_empty() {
        list.extend_from_slice(b", ");
    }
    list.extend_from_slice(last);
    list
}

/// Several fields of one name as one list (RFC 9110 section 5.3).
fn joined<'a>(values: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut list = Vec::new();
    for value in values.filter(|v| !v.is_empty()) {
        if !list.is_empty() {
            list.extend_from_slice(b", ");
        }
        list.extend_from_slice(value);
    }
    list
}

fn push_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    push_all(out, &[name, b": ", value, b"\r\n"]);
}

fn push_all(out: &mut Vec<u8>, pieces: &[&[u8]]) {
    for piece in pieces {
        out.extend_from_slice(piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::response_head;
    use crate::serve::tests::with_request;

    const NONE: Omit = Omit {
        authorization: false,
        accept_encoding: false,
    };

    #[test]
    fn the_request_loses_its_hop_by_hop_fields_and_gains_via_and_forwarded() {
        let head = [
            "POST /api/x?y=%2F HTTP/1.1",
            "Host: localhost:8080",
            "Connection: keep-alive, X-Secret-Hop",
            "X-Secret-Hop: 1",
            "Keep-Alive: timeout=5",
            "Proxy-Connection: keep-alive",
            "TE: trailers",
            "Upgrade: h2c",
            "Content-Length: 3",
            "Expect: 100-continue",
            "Cookie: a=1",
            "Via: 1.0 corporate",
            "X-Forwarded-For: 10.0.0.1",
            "X-Forwarded-Host: spoofed",
            "Authorization: Bearer t",
            "Accept-Encoding: gzip",
        ];
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let built = with_request(&head, |request| {
            request_head(request, "/v1/x?y=%2F", "127.0.0.1:3000", peer, false, &NONE)
        });
        assert_eq!(
            String::from_utf8(built).unwrap(),
            "POST /v1/x?y=%2F HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nCookie: a=1\r\n\
             Authorization: Bearer t\r\nAccept-Encoding: gzip\r\n\
             Via: 1.0 corporate, 1.1 tinyhttpd\r\n\
             X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\nX-Forwarded-Host: localhost:8080\r\n\
             X-Forwarded-Proto: http\r\n"
        );
        let omit = Omit {
            authorization: true,
            accept_encoding: true,
        };
        let upgrade = [
            "GET /ws HTTP/1.1",
            "Host: localhost",
            "Connection: Upgrade",
            "Upgrade: websocket",
            "Authorization: Basic YTpi",
            "Accept-Encoding: br",
            "Sec-WebSocket-Key: k",
        ];
        let built = with_request(&upgrade, |request| {
            request_head(request, "/ws", "[::1]:3000", peer, true, &omit)
        });
        assert_eq!(
            String::from_utf8(built).unwrap(),
            "GET /ws HTTP/1.1\r\nHost: [::1]:3000\r\nSec-WebSocket-Key: k\r\n\
             Connection: upgrade\r\nUpgrade: websocket\r\nVia: 1.1 tinyhttpd\r\n\
             X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Host: localhost\r\n\
             X-Forwarded-Proto: http\r\n"
        );
        // An absolute-form target's authority is the host asked for (RFC
        // 9112 section 3.2.2), and an HTTP/1.0 request is named so in Via.
        let absolute = ["GET http://localhost:8080/api HTTP/1.0", "Host: other"];
        let built = with_request(&absolute, |request| {
            request_head(request, "/api", "b:1", peer, false, &NONE)
        });
        let built = String::from_utf8(built).unwrap();
        assert!(
            built.contains("\r\nX-Forwarded-Host: localhost:8080\r\n"),
            "{built}"
        );
        assert!(built.contains("\r\nVia: 1.0 tinyhttpd\r\n"), "{built}");
    }

    #[test]
    fn the_response_keeps_its_own_fields_byte_for_byte_and_in_order() {
        let bytes: &[u8] =
            b"HTTP/1.1 200 OK\r\nDate: x\r\nServer: node\r\nConnection: close, X-Hop\r\n\
                    X-Hop: 1\r\nSet-Cookie: a=1\r\nContent-Length: 5\r\nSet-Cookie: b=2\r\n\
                    Transfer-Encoding: chunked\r\nETag: \"1\"\r\nX-Latin: caf\xe9\r\n\r\n";
        let Ok(Some((head, _))) = response_head::parse(bytes) else {
            panic!()
        };
        let fields = response_fields(&head, &["etag"]);
        assert_eq!(
            fields,
            b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Latin: caf\xe9\r\nVia: 1.1 tinyhttpd\r\n"
        );
        let switch = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                       Connection: Upgrade\r\nSec-WebSocket-Accept: a\r\n\r\n";
        let Ok(Some((head, _))) = response_head::parse(switch) else {
            panic!()
        };
        assert_eq!(
            response_fields(&head, &[]),
            b"Sec-WebSocket-Accept: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\
              Via: 1.1 tinyhttpd\r\n"
        );
    }
}
