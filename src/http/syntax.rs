//! The small pieces of HTTP syntax that every parser here shares, so each
//! rule is written once: list members (RFC 9110 section 5.6.1), optional
//! whitespace, tokens, field values, weights (q-values), percent-encoding
//! (RFC 3986 section 2.1) and HTML escaping.
//!
//! Everything here is a pure function of its input: no I/O, no statuses, and
//! no other module of the server below it.
#![forbid(unsafe_code)]

use std::borrow::Cow;

/// The members of a comma-separated list field value, trimmed of optional
/// whitespace. RFC 9110 section 5.6.1: a recipient MUST accept and ignore
/// empty members (`a, , b,`), so they are dropped.
pub fn list_members(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|member| !member.is_empty())
}

/// A list member split at its first `;`: the value, and its parameters,
/// each trimmed of optional whitespace.
pub fn split_parameters(member: &[u8]) -> (&[u8], impl Iterator<Item = &[u8]>) {
    let mut parts = member.split(|&b| b == b';').map(trim_ows);
    let value = parts.next().unwrap_or_default();
    (value, parts)
}

/// The weight a `q=` parameter gives (RFC 9110 section 12.4.2), if
/// `parameter` is one: `Some(Some(thousandths))`, or `Some(None)` when its
/// value is malformed.
pub fn weight(parameter: &[u8]) -> Option<Option<u16>> {
    let (name, value) = parameter.split_at_checked(2)?;
    name.eq_ignore_ascii_case(b"q=")
        .then(|| parse_qvalue(value))
}

/// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
/// (RFC 9110 section 12.4.2), in thousandths.
pub fn parse_qvalue(text: &[u8]) -> Option<u16> {
    let (whole, fraction) = match text.iter().position(|&b| b == b'.') {
        Some(dot) => (&text[..dot], &text[dot + 1..]),
        None => (text, &b""[..]),
    };
    if fraction.len() > 3 || !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths = 0u16;
    for i in 0..3 {
        let digit = fraction.get(i).map_or(0, |d| u16::from(d - b'0'));
        thousandths = thousandths * 10 + digit;
    }
    match whole {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Removes optional whitespace (SP and HTAB) from both ends.
pub fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// tchar from RFC 9110 section 5.6.2: the characters of a token.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// token = 1*tchar (RFC 9110 section 5.6.2).
pub fn is_token(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(|&b| is_tchar(b))
}

/// Whether every byte may stand in a field value (RFC 9110 section 5.5):
/// visible characters, obs-text and inner whitespace; NUL, CR, LF and other
/// controls may not.
pub fn is_field_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b' ' || b == b'\t' || b.is_ascii_graphic() || b >= 0x80)
}

/// Decodes `%XX` escapes once. A malformed escape, an encoded NUL, or a
/// result that is not UTF-8 (overlong encodings included) is an error, with
/// its reason. `+` is a literal plus in a path.
pub fn percent_decode(encoded: &str) -> Result<Cow<'_, str>, &'static str> {
    if !encoded.contains('%') {
        return Ok(Cow::Borrowed(encoded));
    }
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let digit = |at: usize| bytes.get(at).and_then(|&b| (b as char).to_digit(16));
            let hex = match (digit(i + 1), digit(i + 2)) {
                (Some(high), Some(low)) => (high * 16 + low) as u8,
                _ => return Err("malformed percent-encoding"),
            };
            if hex == 0 {
                return Err("NUL in path");
            }
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| "path is not UTF-8")
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so the
/// result is safe as a path segment, a relative link, or inside an HTML
/// attribute.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    push_encoded(&mut out, segment);
    out
}

/// `encode_segment`, appending to `out`.
pub fn push_encoded(out: &mut String, segment: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in segment.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// Escapes the five characters that matter in HTML text and attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_html_escaped(&mut out, text);
    out
}

/// `escape_html`, appending to `out`.
pub fn push_html_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// A decimal number, as `Content-Length` has (RFC 9110 section 8.6):
/// digits only, no sign, no spaces, no hex, no overflow.
pub fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(value: &str) -> Vec<&str> {
        list_members(value.as_bytes())
            .map(|m| std::str::from_utf8(m).unwrap())
            .collect()
    }

    #[test]
    fn list_members_drop_empty_ones_and_whitespace() {
        assert_eq!(members("a, b,c"), ["a", "b", "c"]);
        assert_eq!(members(" a ,\t, ,b,,"), ["a", "b"]);
        assert_eq!(members(",,"), Vec::<&str>::new());
        assert_eq!(members(""), Vec::<&str>::new());
        assert_eq!(members("\"x\" , W/\"y\""), ["\"x\"", "W/\"y\""]);
    }

    #[test]
    fn parameters_and_weights() {
        let (value, params) = split_parameters(b"text/html ; level=1;q=0.5 ");
        assert_eq!(value, b"text/html");
        let params: Vec<&[u8]> = params.collect();
        assert_eq!(params, [&b"level=1"[..], b"q=0.5"]);
        assert_eq!(weight(b"q=0.5"), Some(Some(500)));
        assert_eq!(weight(b"Q=1"), Some(Some(1000)));
        assert_eq!(weight(b"q=2"), Some(None));
        assert_eq!(weight(b"q="), Some(None));
        assert_eq!(weight(b"level=1"), None);
        assert_eq!(weight(b"q"), None);
    }

    #[test]
    fn qvalue_edges() {
        assert_eq!(parse_qvalue(b"1"), Some(1000));
        assert_eq!(parse_qvalue(b"1.000"), Some(1000));
        assert_eq!(parse_qvalue(b"0.5"), Some(500));
        assert_eq!(parse_qvalue(b"0.123"), Some(123));
        assert_eq!(parse_qvalue(b"0"), Some(0));
        assert_eq!(parse_qvalue(b"0."), Some(0));
        assert_eq!(parse_qvalue(b"1.5"), None);
        assert_eq!(parse_qvalue(b".5"), None);
        assert_eq!(parse_qvalue(b""), None);
        assert_eq!(parse_qvalue(b"0.0000"), None);
        assert_eq!(parse_qvalue(b"1.001"), None);
        assert_eq!(parse_qvalue(b"00.5"), None);
        assert_eq!(parse_qvalue(b"0.5 "), None);
        assert_eq!(parse_qvalue(b"-0"), None);
    }

    #[test]
    fn whitespace_tokens_and_field_values() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        assert!(is_token(b"X-Custom_1.0~!"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a:b"));
        assert!(is_field_value(b"text/html; q=0.5\t\x80"));
        assert!(!is_field_value(b"a\rb"));
        assert!(!is_field_value(b"a\x00"));
        assert!(!is_field_value(b"a\x7f"));
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("/a%20b+c%2Fd").unwrap(), "/a b+c/d");
        assert_eq!(percent_decode("/caf%C3%A9").unwrap(), "/café");
        assert_eq!(
            percent_decode("/%252e").unwrap(),
            "/%2e",
            "decoded once only"
        );
        for bad in [
            "/%", "/%2", "/%zz", "/%+1", "/%-1", "/%00", "/%c0%ae", "/%ff", "/%e2%82",
        ] {
            assert!(percent_decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn encoding() {
        assert_eq!(
            encode_segment("a b#c?d%e&f<g>\"h'i:j"),
            "a%20b%23c%3Fd%25e%26f%3Cg%3E%22h%27i%3Aj"
        );
        assert_eq!(encode_segment("café-1.txt_~"), "caf%C3%A9-1.txt_~");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape_html("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape_html("café"), "café");
    }
}
