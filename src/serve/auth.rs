//! HTTP Basic authentication (RFC 7617) for `--auth USER:PASSWORD`.
//!
//! Owns the accepted credentials, the parsing of an `Authorization` field
//! and the comparison. A request's credentials are compared with every
//! accepted pair, each comparison taking the same time whatever the bytes,
//! so the time an answer takes says nothing about how close a guess was or
//! which user it named. It decides only yes or no, and gives the challenge
//! a 401 carries; the 401 itself is `http::error`'s business.
//!
//! Basic credentials are sent in clear text on every request: this keeps
//! strangers on a shared network out of a folder, nothing more.
#![forbid(unsafe_code)]

use std::borrow::Cow;

use crate::http::request::Request;

/// The realm and charset of the challenge (RFC 7617 sections 2 and 2.1:
/// UTF-8 is the only charset allowed, and it tells browsers to encode the
/// user name and password in it).
pub const CHALLENGE: &str = "Basic realm=\"tinyhttpd\", charset=\"UTF-8\"";

/// The user-pass pairs (`user:password`) allowed in.
#[derive(Default)]
pub struct Credentials {
    accepted: Vec<Vec<u8>>,
}

/// Says how many pairs there are, never what they are: the configuration
/// holding them may be printed while debugging.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({} accepted)", self.accepted.len())
    }
}

/// Why a request was not let in, for the access log (never the password).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` field, or another scheme: a browser's first try.
    Missing,
    /// A Basic field whose credentials cannot be decoded.
    Malformed,
    /// Decoded credentials that match no accepted pair, naming this user.
    Wrong(String),
}

impl Refusal {
    /// The note on the access line.
    pub fn note(&self) -> Cow<'static, str> {
        match self {
            Refusal::Missing => Cow::Borrowed("no credentials"),
            Refusal::Malformed => Cow::Borrowed("malformed credentials"),
            Refusal::Wrong(user) => Cow::Owned(format!(
                "wrong credentials for user '{}'",
                user.escape_default()
            )),
        }
    }
}

impl Credentials {
    /// Parses `USER:PASSWORD` values, from the command line or the
    /// environment. The message for a bad one never repeats the value, as it
    /// holds a password.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Credentials, String> {
        let mut accepted = Vec::new();
        for value in values {
            // RFC 7617 section 2: the user-id cannot contain a colon, and
            // neither part may contain control characters.
            let valid = match value.split_once(':') {
                Some((user, _)) => !user.is_empty() && !value.chars().any(char::is_control),
                None => false,
            };
            if !valid {
                return Err(
                    "--auth must be USER:PASSWORD, with a user name and no control characters"
                        .to_string(),
                );
            }
            accepted.push(value.as_bytes().to_vec());
        }
        Ok(Credentials { accepted })
    }

    /// Whether any credentials are required.
    pub fn required(&self) -> bool {
        !self.accepted.is_empty()
    }

    /// Lets the request in, or says why not.
    pub fn check(&self, request: &Request<'_>) -> Result<(), Refusal> {
        let Some(field) = request.header("authorization") else {
            return Err(Refusal::Missing);
        };
        let Some(token) = basic_token(field) else {
            return Err(Refusal::Missing);
        };
        let Some(user_pass) = decode_base64(token) else {
            return Err(Refusal::Malformed);
        };
        // Every pair is compared, whatever matched before.
        let matched = self
            .accepted
            .iter()
            .fold(false, |any, pair| any | same_bytes(pair, &user_pass));
        if matched {
            return Ok(());
        }
        let user = user_pass.split(|&b| b == b':').next().unwrap_or_default();
        Err(Refusal::Wrong(String::from_utf8_lossy(user).into_owned()))
    }
}

/// The token68 of a `Basic` credentials field (RFC 9110 section 11.4: the
/// scheme is case-insensitive, then one or more spaces).
fn basic_token(field: &[u8]) -> Option<&[u8]> {
    let scheme = field.get(..6)?;
    if !scheme.eq_ignore_ascii_case(b"basic ") {
        return None;
    }
    let token = field[6..].trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// Whether `a` and `b` hold the same bytes, in a time that depends on
/// their lengths only, never on where they differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let mut difference = u8::from(a.len() != b.len());
    for (i, &byte) in a.iter().enumerate() {
        // Past b's end, a byte of a is compared with itself plus one: a
        // difference, already counted by the length.
        let other = b.get(i).copied().unwrap_or(byte.wrapping_add(1));
        difference |= byte ^ other;
    }
    std::hint::black_box(difference) == 0
}

/// Decodes base64 with the standard alphabet (RFC 4648 section 4), with or
/// without its `=` padding. `None` for anything else.
fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let unpadded = match text {
        [rest @ .., b'=', b'='] | [rest @ .., b'='] => rest,
        _ => text,
    };
    if text.len() != unpadded.len() && text.len() & 3 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(unpadded.len() / 4 * 3 + 2);
    for chunk in unpadded.chunks(4) {
        let mut bits = 0u32;
        for &c in chunk {
            bits = bits << 6 | value(c)?;
        }
        match chunk.len() {
            4 => out.extend_from_slice(&bits.to_be_bytes()[1..]),
            // Two characters carry one byte, three carry two; the bits left
            // over must be zero (RFC 4648 section 3.5 lets a decoder refuse
            // anything else).
            3 if bits & 0b11 == 0 => out.extend_from_slice(&(bits >> 2).to_be_bytes()[2..]),
            2 if bits & 0b1111 == 0 => out.push((bits >> 4) as u8),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::{Parsed, parse};

    fn check(credentials: &Credentials, authorization: Option<&str>) -> Result<(), Refusal> {
        let field = authorization
            .map(|value| format!("Authorization: {value}\r\n"))
            .unwrap_or_default();
        let head = format!("GET / HTTP/1.1\r\nHost: x\r\n{field}\r\n");
        let Ok(Parsed::Complete(request, _)) = parse(head.as_bytes()) else {
            panic!("{head:?} does not parse");
        };
        credentials.check(&request)
    }

    #[test]
    fn base64_as_rfc_4648_tests_it() {
        // RFC 4648 section 10.
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(
                decode_base64(encoded.as_bytes()).as_deref(),
                Some(plain.as_bytes())
            );
            let unpadded = encoded.trim_end_matches('=');
            assert_eq!(
                decode_base64(unpadded.as_bytes()).as_deref(),
                Some(plain.as_bytes())
            );
        }
        for bad in [
            "Z",
            "Zh==",
            "Zm9=",
            "Zg=",
            "Zm9v=",
            "Z===",
            "Zm 9v",
            "Zm9v\u{e9}",
            "Zg==Zg==",
        ] {
            assert_eq!(decode_base64(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn rfc_7617_example_and_refusals() {
        let credentials = Credentials::parse(["Aladdin:open sesame", "bob:s:e:c"]).unwrap();
        assert!(credentials.required());
        // RFC 7617 section 2's example.
        let aladdin = Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(check(&credentials, aladdin), Ok(()));
        assert_eq!(
            check(&credentials, Some("bAsIc   QWxhZGRpbjpvcGVuIHNlc2FtZQ")),
            Ok(())
        );
        // "bob:s:e:c": the password may hold colons.
        assert_eq!(check(&credentials, Some("Basic Ym9iOnM6ZTpj")), Ok(()));
        assert_eq!(check(&credentials, None), Err(Refusal::Missing));
        assert_eq!(
            check(&credentials, Some("Bearer abc")),
            Err(Refusal::Missing)
        );
        assert_eq!(check(&credentials, Some("Basic")), Err(Refusal::Missing));
        assert_eq!(
            check(&credentials, Some("Basic ***")),
            Err(Refusal::Malformed)
        );
        // "Aladdin:open sesam", "Aladdin:open sesame!", "aladdin:open sesame"
        for wrong in [
            "QWxhZGRpbjpvcGVuIHNlc2Ft",
            "QWxhZGRpbjpvcGVuIHNlc2FtZSE=",
            "YWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        ] {
            let refused = check(&credentials, Some(&format!("Basic {wrong}")));
            let Err(Refusal::Wrong(user)) = refused else {
                panic!("{wrong}: {refused:?}");
            };
            assert!(user.eq_ignore_ascii_case("aladdin"));
        }
        let note = Refusal::Wrong("Aladdin".into()).note();
        assert_eq!(note, "wrong credentials for user 'Aladdin'");
    }

    #[test]
    fn bad_flags_do_not_repeat_the_password() {
        for bad in [
            "no-colon-secret",
            ":secret",
            "user:sec\nret",
            "us\u{7f}er:secret",
        ] {
            let message = Credentials::parse([bad]).unwrap_err();
            assert!(!message.contains("secret"), "{message}");
        }
        assert!(!Credentials::parse([]).unwrap().required());
        let debug = format!("{:?}", Credentials::parse(["user:secret"]).unwrap());
        assert_eq!(debug, "Credentials(1 accepted)");
        assert!(Credentials::parse(["user:"]).is_ok());
    }

    #[test]
    fn comparison() {
        assert!(same_bytes(b"", b""));
        assert!(same_bytes(b"abc", b"abc"));
        for (a, b) in [
            (&b"abc"[..], &b"abd"[..]),
            (b"abc", b"ab"),
            (b"ab", b"abc"),
            (b"", b"a"),
            (b"a", b""),
            (b"\xff", b"\x00"),
        ] {
            assert!(!same_bytes(a, b), "{a:?} {b:?}");
        }
    }
}
