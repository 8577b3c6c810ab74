//! This machine's own addresses, for the start-up message of a server bound
//! to every interface (`0.0.0.0` or `::`): "listening on 0.0.0.0" does not
//! tell anyone which URL to open on their phone.
//!
//! std has no way to list interface addresses, so on Linux they are read
//! from /proc: IPv4 from the routing trie (`/proc/net/fib_trie`, the local
//! host routes), IPv6 from `/proc/net/if_inet6` (global scope only). The
//! parsers are pure and tested on sample text. Where there is no /proc
//! (macOS, Windows), the address a socket would send from towards the
//! internet is the one given: a UDP socket "connected" to a documentation
//! address sends nothing but learns its route.
//!
//! Owns `local` and its parsers. May import std only (all of `dev/` may
//! import `fs`, `http` and `sys`, never `serve` or `net`).
#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};

/// The non-loopback addresses of this machine, IPv4 first, without
/// duplicates.
pub fn local() -> Vec<IpAddr> {
    let v4 = std::fs::read_to_string("/proc/net/fib_trie");
    let v6 = std::fs::read_to_string("/proc/net/if_inet6");
    if v4.is_err() && v6.is_err() {
        return routed();
    }
    let mut all: Vec<IpAddr> = parse_fib_trie(&v4.unwrap_or_default())
        .into_iter()
        .map(IpAddr::V4)
        .collect();
    all.extend(
        parse_if_inet6(&v6.unwrap_or_default())
            .into_iter()
            .map(IpAddr::V6),
    );
    all
}

/// The addresses this machine would send from towards the internet, IPv4
/// and IPv6 (RFC 5737 and RFC 3849 documentation addresses: no packet is
/// sent, connecting a UDP socket only picks its route).
fn routed() -> Vec<IpAddr> {
    [("0.0.0.0:0", "192.0.2.1:9"), ("[::]:0", "[2001:db8::1]:9")]
        .into_iter()
        .filter_map(|(bind, towards)| {
            let socket = UdpSocket::bind(bind).ok()?;
            socket.connect(towards).ok()?;
            let ip = socket.local_addr().ok()?.ip();
            (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
        })
        .collect()
}

/// In the trie, a local address is a `|-- a.b.c.d` line followed by a
/// `/32 host LOCAL` line.
fn parse_fib_trie(text: &str) -> Vec<Ipv4Addr> {
    let mut found = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("|-- ") {
            last = addr.trim().parse().ok();
        } else if line.contains("/32 host LOCAL")
            && let Some(addr) = last.filter(|a| !a.is_loopback())
            && !found.contains(&addr)
        {
            found.push(addr);
        }
    }
    found
}

/// Each line: 32 hex digits of address, interface index, prefix length,
/// scope, flags, name. Scope 00 is global.
fn parse_if_inet6(text: &str) -> Vec<Ipv6Addr> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let hex = fields.next()?;
            let scope = fields.nth(2)?;
            if scope != "00" || hex.len() != 32 {
                return None;
            }
            let bits = u128::from_str_radix(hex, 16).ok()?;
            let addr = Ipv6Addr::from(bits);
            (!addr.is_loopback()).then_some(addr)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fib_trie() {
        let sample = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n\
                      +-- 127.0.0.0/8 2 0 2\n        |-- 127.0.0.1\n           /32 host LOCAL\n\
                      |-- 192.168.1.0\n           /24 link UNICAST\n        |-- 192.168.1.23\n\
                      /32 host LOCAL\n        |-- 192.168.1.255\n           /32 link BROADCAST\n\
                      Local:\n        |-- 192.168.1.23\n           /32 host LOCAL\n\
                      |-- 10.0.0.5\n           /32 host LOCAL\n";
        assert_eq!(
            parse_fib_trie(sample),
            [Ipv4Addr::new(192, 168, 1, 23), Ipv4Addr::new(10, 0, 0, 5)]
        );
        assert!(parse_fib_trie("").is_empty());
    }

    /// Where there is no /proc, `routed` gives the addresses: each must be
    /// one this machine really has (here, as /proc lists them).
    #[cfg(target_os = "linux")]
    #[test]
    fn the_routed_address_is_one_of_this_machines() {
        let all = local();
        for ip in routed() {
            assert!(all.contains(&ip), "{ip} is not among {all:?}");
        }
    }

    #[test]
    fn if_inet6() {
        let sample = "00000000000000000000000000000001 01 80 10 80       lo\n\
                      fe800000000000000000000000000001 02 40 20 80     eth0\n\
                      20010db8000000000000000000000042 02 40 00 00     eth0\n\
                      garbage\n";
        assert_eq!(
            parse_if_inet6(sample),
            ["2001:db8::42".parse::<Ipv6Addr>().unwrap()]
        );
    }
}
