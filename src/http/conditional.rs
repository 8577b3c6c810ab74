//! Validators and conditional requests (RFC 9110 sections 8.8 and 13).
//!
//! A file's validators are its `Last-Modified` date and a strong `ETag`;
//! `fs::version::validators` makes them from the file's version (identity,
//! size, modification time and change time to the nanosecond), so any edit
//! changes the tag, even one whose modification time a tool set back. This
//! module only compares them: `evaluate` applies the preconditions in the
//! order section 13.2.2 gives, one small function per field, each answering "absent or
//! ignored" (`None`), true or false. `if_range` decides whether a `Range`
//! still applies. Nothing here does I/O.
#![forbid(unsafe_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::http::request::Request;
use crate::http::syntax;

/// The validators of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// A strong entity tag, quotes included.
    pub etag: String,
    pub last_modified: Option<SystemTime>,
}

impl Validators {
    /// The validators of a variant of the file (its compressed form, or the
    /// page with a script added): the same, with `name` inside the tag's
    /// closing quote (`"…-br"`), so each variant's tag is its own and still
    /// strong.
    pub fn variant(mut self, name: &str) -> Validators {
        let close = self.etag.len() - 1;
        self.etag.insert_str(close, name);
        self.etag.insert(close, '-');
        self
    }
}

/// What the preconditions say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Go on and send the representation.
    Proceed,
    /// 304: the client's copy is current, as the field named said.
    NotModified(Validator),
    /// 412: a precondition failed.
    PreconditionFailed,
}

/// The validator a 304 was decided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// If-None-Match (step 3).
    Etag,
    /// If-Modified-Since (step 4).
    Date,
}

impl Validator {
    /// For the access log: `304 (etag)`.
    pub fn name(self) -> &'static str {
        match self {
            Validator::Etag => "etag",
            Validator::Date => "date",
        }
    }
}

/// Section 13.2.2, steps 1 to 4, for a request whose answer would otherwise
/// be a 2xx with these validators.
pub fn evaluate(request: &Request<'_>, validators: &Validators) -> Outcome {
    let safe = matches!(request.method, "GET" | "HEAD");
    // Step 1, else step 2.
    let unmodified = match if_match(request, &validators.etag) {
        Some(matched) => matched,
        None => if_unmodified_since(request, validators.last_modified).unwrap_or(true),
    };
    if !unmodified {
        return Outcome::PreconditionFailed;
    }
    // Step 3, else step 4.
    match if_none_match(request, &validators.etag) {
        Some(false) if safe => Outcome::NotModified(Validator::Etag),
        Some(false) => Outcome::PreconditionFailed,
        Some(true) => Outcome::Proceed,
        None if safe => match if_modified_since(request, validators.last_modified) {
            Some(false) => Outcome::NotModified(Validator::Date),
            _ => Outcome::Proceed,
        },
        None => Outcome::Proceed,
    }
}

/// Section 13.1.1: true if `*` or any listed tag matches strongly. A list we
/// cannot parse matches nothing.
fn if_match(request: &Request<'_>, etag: &str) -> Option<bool> {
    let members = field_members(request, "if-match")?;
    if members == [&b"*"[..]] {
        return Some(true);
    }
    Some(
        members
            .iter()
            .any(|m| EntityTag::parse(m).is_some_and(|tag| tag.strong_eq(etag))),
    )
}

/// Section 13.1.4: true if the file has not changed since the date. Ignored
/// when If-Match is present (the caller's order sees to it), and when the
/// value is not exactly one valid date.
fn if_unmodified_since(request: &Request<'_>, modified: Option<SystemTime>) -> Option<bool> {
    let since = single_date(request, "if-unmodified-since")?;
    Some(whole_seconds(modified?) <= since)
}

/// Section 13.1.2: false if `*` or any listed tag matches weakly, so the
/// client's copy is current.
fn if_none_match(request: &Request<'_>, etag: &str) -> Option<bool> {
    let members = field_members(request, "if-none-match")?;
    if members == [&b"*"[..]] {
        return Some(false);
    }
    let matched = members
        .iter()
        .any(|m| EntityTag::parse(m).is_some_and(|tag| tag.weak_eq(etag)));
    Some(!matched)
}

/// Section 13.1.3: true if the file changed after the date. Compared as
/// dates, in whole seconds, as HTTP dates have no finer resolution. Ignored
/// when the value is not exactly one valid date.
fn if_modified_since(request: &Request<'_>, modified: Option<SystemTime>) -> Option<bool> {
    let since = single_date(request, "if-modified-since")?;
    Some(whole_seconds(modified?) > since)
}

/// Section 13.1.5: whether a `Range` still applies. True only when the
/// validator in If-Range matches the current one: a strong entity tag
/// compared strongly, or a date equal to Last-Modified. Without If-Range the
/// range applies.
pub fn if_range(request: &Request<'_>, validators: &Validators) -> bool {
    let mut values = request.values("if-range");
    let value = match (values.next(), values.next()) {
        (None, _) => return true,
        (Some(value), None) => value,
        (Some(_), Some(_)) => return false,
    };
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        return EntityTag::parse(value).is_some_and(|tag| tag.strong_eq(&validators.etag));
    }
    match (parse_date(value), validators.last_modified) {
        (Some(date), Some(modified)) => whole_seconds(modified) == date,
        _ => false,
    }
}

/// The comma-separated members of every field named `name`, or `None` when
/// there is no such field.
fn field_members<'a>(request: &Request<'a>, name: &str) -> Option<Vec<&'a [u8]>> {
    let mut found = false;
    let mut members = Vec::new();
    for value in request.values(name) {
        found = true;
        members.extend(syntax::list_members(value));
    }
    found.then_some(members)
}

/// The date in the only field named `name`; `None` if absent, repeated or
/// not a valid HTTP-date.
fn single_date(request: &Request<'_>, name: &str) -> Option<SystemTime> {
    let mut values = request.values(name);
    match (values.next(), values.next()) {
        (Some(value), None) => parse_date(value),
        _ => None,
    }
}

/// Any of the three HTTP-date formats (section 5.6.7).
fn parse_date(value: &[u8]) -> Option<SystemTime> {
    httpdate::parse_http_date(std::str::from_utf8(value).ok()?).ok()
}

/// `time` with its fraction of a second dropped.
fn whole_seconds(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => UNIX_EPOCH + Duration::from_secs(since.as_secs()),
        Err(_) => time,
    }
}

/// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE (section 8.8.3).
pub struct EntityTag<'a> {
    weak: bool,
    /// The opaque tag, quotes included.
    opaque: &'a [u8],
}

impl<'a> EntityTag<'a> {
    pub fn parse(text: &'a [u8]) -> Option<Self> {
        let (weak, opaque) = match text.strip_prefix(b"W/") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let inner = opaque.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
        // etagc = %x21 / %x23-7E / obs-text
        let valid = opaque.len() >= 2
            && inner
                .iter()
                .all(|&b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80);
        valid.then_some(EntityTag { weak, opaque })
    }

    /// Strong comparison: neither weak, same opaque tag (section 8.8.3.2).
    /// Our own tags are always strong.
    fn strong_eq(&self, ours: &str) -> bool {
        !self.weak && self.opaque == ours.as_bytes()
    }

    /// Weak comparison: same opaque tag, weakness ignored.
    fn weak_eq(&self, ours: &str) -> bool {
        self.opaque == ours.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::{Parsed, parse};

    const ETAG: &str = "\"abc-1\"";
    /// Sun, 06 Nov 1994 08:49:37 GMT, plus a fraction the dates cannot see.
    fn modified() -> SystemTime {
        UNIX_EPOCH + Duration::new(784_111_777, 500_000_000)
    }
    const AT: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const BEFORE: &str = "Sun, 06 Nov 1994 08:49:36 GMT";
    const AFTER: &str = "Sun, 06 Nov 1994 08:49:38 GMT";

    fn validators() -> Validators {
        Validators {
            etag: ETAG.to_string(),
            last_modified: Some(modified()),
        }
    }

    /// Builds a request with `fields` and hands it to `f`.
    fn with_request<T>(
        method: &str,
        fields: &[(&str, &str)],
        f: impl FnOnce(&Request<'_>) -> T,
    ) -> T {
        let mut head = format!("{method} / HTTP/1.1\r\nHost: a\r\n");
        for (name, value) in fields {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        match parse(head.as_bytes()) {
            Ok(Parsed::Complete(request, _)) => f(&request),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_variant_has_its_own_strong_tag() {
        let plain = Validators {
            etag: "\"1-2-3\"".to_string(),
            last_modified: None,
        };
        let br = plain.clone().variant("br");
        assert_eq!(br.etag, "\"1-2-3-br\"");
        assert_ne!(br.etag, plain.clone().variant("gzip").etag);
        assert!(EntityTag::parse(br.etag.as_bytes()).is_some_and(|tag| tag.strong_eq(&br.etag)));
    }

    #[test]
    fn if_match_table() {
        let cases: &[(&[&str], Option<bool>)] = &[
            (&[], None),
            (&["*"], Some(true)),
            (&["\"abc-1\""], Some(true)),
            (&["\"x\", \"abc-1\""], Some(true)),
            (&["\"x\"", "\"abc-1\""], Some(true)),
            (&["W/\"abc-1\""], Some(false)),
            (&["\"abc-2\""], Some(false)),
            (&["abc-1"], Some(false)),
            (&["\"abc-1"], Some(false)),
            (&["*, \"abc-1\""], Some(true)),
            (&[""], Some(false)),
        ];
        for (values, want) in cases {
            let fields: Vec<(&str, &str)> = values.iter().map(|v| ("If-Match", *v)).collect();
            let got = with_request("GET", &fields, |r| if_match(r, ETAG));
            assert_eq!(got, *want, "{values:?}");
        }
    }

    #[test]
    fn if_none_match_table() {
        let cases: &[(&[&str], Option<bool>)] = &[
            (&[], None),
            (&["*"], Some(false)),
            (&["\"abc-1\""], Some(false)),
            (&["W/\"abc-1\""], Some(false)),
            (&["\"x\", W/\"abc-1\""], Some(false)),
            (&["\"x\"", "\"abc-1\""], Some(false)),
            (&["\"abc-2\""], Some(true)),
            (&["abc-1"], Some(true)),
            (&["w/\"abc-1\""], Some(true)),
        ];
        for (values, want) in cases {
            let fields: Vec<(&str, &str)> = values.iter().map(|v| ("If-None-Match", *v)).collect();
            let got = with_request("GET", &fields, |r| if_none_match(r, ETAG));
            assert_eq!(got, *want, "{values:?}");
        }
    }

    #[test]
    fn date_conditions_table() {
        let cases: &[(&str, Option<bool>, Option<bool>)] = &[
            // value, If-Modified-Since result, If-Unmodified-Since result
            (AT, Some(false), Some(true)),
            (BEFORE, Some(true), Some(false)),
            (AFTER, Some(false), Some(true)),
            // RFC 850 and asctime forms of the same instant.
            ("Sunday, 06-Nov-94 08:49:37 GMT", Some(false), Some(true)),
            ("Sun Nov  6 08:49:37 1994", Some(false), Some(true)),
            ("Sunday, 06-Nov-94 08:49:36 GMT", Some(true), Some(false)),
            // Invalid or list values are ignored.
            ("yesterday", None, None),
            ("", None, None),
            (
                "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
                None,
                None,
            ),
            ("Sun, 06 Nov 1994 08:49:37 UTC", None, None),
        ];
        for (value, modified_since, unmodified_since) in cases {
            let got = with_request("GET", &[("If-Modified-Since", value)], |r| {
                if_modified_since(r, Some(modified()))
            });
            assert_eq!(got, *modified_since, "IMS {value:?}");
            let got = with_request("GET", &[("If-Unmodified-Since", value)], |r| {
                if_unmodified_since(r, Some(modified()))
            });
            assert_eq!(got, *unmodified_since, "IUS {value:?}");
        }
        // Two fields: ignored.
        let got = with_request(
            "GET",
            &[("If-Modified-Since", AT), ("If-Modified-Since", AT)],
            |r| if_modified_since(r, Some(modified())),
        );
        assert_eq!(got, None);
    }

    #[test]
    fn evaluation_order() {
        use Outcome::*;
        use Validator::*;
        type Fields<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(&str, Fields, Outcome)] = &[
            ("GET", &[], Proceed),
            ("GET", &[("If-Match", "\"nope\"")], PreconditionFailed),
            ("HEAD", &[("If-Match", "\"nope\"")], PreconditionFailed),
            // If-Match decides; If-Unmodified-Since is then ignored.
            (
                "GET",
                &[("If-Match", ETAG), ("If-Unmodified-Since", BEFORE)],
                Proceed,
            ),
            (
                "GET",
                &[("If-Unmodified-Since", BEFORE)],
                PreconditionFailed,
            ),
            ("GET", &[("If-Unmodified-Since", "garbage")], Proceed),
            ("GET", &[("If-None-Match", ETAG)], NotModified(Etag)),
            ("HEAD", &[("If-None-Match", "*")], NotModified(Etag)),
            ("GET", &[("If-None-Match", "\"other\"")], Proceed),
            // If-None-Match decides; If-Modified-Since is then ignored.
            (
                "GET",
                &[("If-None-Match", "\"other\""), ("If-Modified-Since", AT)],
                Proceed,
            ),
            (
                "GET",
                &[("If-None-Match", ETAG), ("If-Modified-Since", BEFORE)],
                NotModified(Etag),
            ),
            ("GET", &[("If-Modified-Since", AT)], NotModified(Date)),
            ("GET", &[("If-Modified-Since", BEFORE)], Proceed),
            // A failed If-Match wins over a matching If-None-Match.
            (
                "GET",
                &[("If-Match", "\"nope\""), ("If-None-Match", ETAG)],
                PreconditionFailed,
            ),
            // Unsafe methods: If-None-Match fails with 412, IMS is ignored.
            ("DELETE", &[("If-None-Match", ETAG)], PreconditionFailed),
            ("DELETE", &[("If-Modified-Since", AT)], Proceed),
        ];
        for (method, fields, want) in cases {
            let got = with_request(method, fields, |r| evaluate(r, &validators()));
            assert_eq!(got, *want, "{method} {fields:?}");
        }
    }

    #[test]
    fn if_range_table() {
        let cases: &[(&[&str], bool)] = &[
            (&[], true),
            (&[ETAG], true),
            (&["W/\"abc-1\""], false),
            (&["\"abc-2\""], false),
            (&[AT], true),
            (&[AFTER], false),
            (&[BEFORE], false),
            (&["not a date"], false),
            (&[ETAG, ETAG], false),
        ];
        for (values, want) in cases {
            let fields: Vec<(&str, &str)> = values.iter().map(|v| ("If-Range", *v)).collect();
            let got = with_request("GET", &fields, |r| if_range(r, &validators()));
            assert_eq!(got, *want, "{values:?}");
        }
    }
}
