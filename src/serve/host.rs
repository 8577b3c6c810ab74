//! The `Host` check that protects a loopback server from DNS rebinding.
//!
//! A page on an attacker's site can make the browser resolve the attacker's
//! own name to 127.0.0.1 and then read whatever a local server answers, as
//! the browser thinks it is talking to the attacker's origin. What gives it
//! away is the `Host` field, which still carries the attacker's name. So a
//! server that is only reachable from this machine answers only requests
//! whose `Host` names this machine: `localhost`, a `*.localhost` name, a
//! loopback address, or a name the user allowed with `--allow-host`.
//! (webpack-dev-server and Vite check `Host` for the same reason.)
#![forbid(unsafe_code)]

use std::net::IpAddr;

/// Whether a request with this `Host` value may be served by a server
/// bound to a loopback address. `allowed` holds the `--allow-host` names,
/// lower-cased.
pub fn is_allowed(host: &[u8], allowed: &[String]) -> bool {
    let Ok(host) = std::str::from_utf8(host) else {
        return false;
    };
    let name = strip_port(host);
    if name.is_empty() {
        // No authority at all (HTTP/1.0 without Host): not a browser.
        return true;
    }
    let lower = name.to_ascii_lowercase();
    let lower = lower.strip_suffix('.').unwrap_or(&lower);
    if lower == "localhost" || lower.ends_with(".localhost") {
        return true;
    }
    let literal = lower
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .unwrap_or(lower);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    allowed.iter().any(|a| a == lower)
}

/// `name[:port]` to `name`; an IPv6 literal keeps its brackets.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rfind(':') {
        Some(colon) => &host[..colon],
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let allowed = vec!["myapp.test".to_string()];
        let cases: &[(&str, bool)] = &[
            ("localhost", true),
            ("localhost:8080", true),
            ("LOCALHOST:8080", true),
            ("localhost.", true),
            ("app.localhost:3000", true),
            ("127.0.0.1:8080", true),
            ("127.1.2.3", true),
            ("[::1]:8080", true),
            ("[::1]", true),
            ("", true),
            ("myapp.test:8080", true),
            ("MyApp.Test", true),
            ("evil.example", false),
            ("evil.example:8080", false),
            ("localhost.evil.example", false),
            ("evillocalhost", false),
            ("10.0.0.1", false),
            ("192.168.1.10:8080", false),
            ("[::2]:80", false),
            ("[fe80::1]", false),
            ("myapp.test.evil", false),
        ];
        for (host, want) in cases {
            assert_eq!(is_allowed(host.as_bytes(), &allowed), *want, "{host}");
        }
        assert!(!is_allowed(b"\xff", &allowed));
    }
}
