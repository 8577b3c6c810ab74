//! The path patterns of `_redirects` and `_headers`: literal segments,
//! `:name` for one non-empty segment, and a last `*` for the rest of the
//! path (`:splat`). Paths are compared percent-encoded, in the one spelling
//! `normalized` gives both sides, and one trailing slash on either side
//! does not stop a match (Netlify's rule).
//!
//! Imports std only.
#![forbid(unsafe_code)]

use std::borrow::Cow;

/// The most segments a pattern may have.
const MAX_SEGMENTS: usize = 64;

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    segments: Vec<Segment>,
    /// Whether a `*` ends it.
    splat: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Named(String),
}

/// What a match bound: each `:name`'s segment, and the rest of the path a
/// `*` took (without its leading `/`, with a trailing one kept).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Captures<'r, 'p> {
    pub named: Vec<(&'r str, &'p str)>,
    pub splat: Option<&'p str>,
}

impl Pattern {
    /// Parses `text`; the error says why it is not a pattern, for the
    /// warning that names its line.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!("'{text}' is not a path starting with /"));
        };
        if text.matches('*').count() > 1 {
            return Err("a second `*`".into());
        }
        // Bounds the work a line can ask for: each placeholder is checked
        // against those before it.
        if text.matches('/').count() > MAX_SEGMENTS {
            return Err(format!("more than {MAX_SEGMENTS} segments"));
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut segments = Vec::new();
        let mut splat = false;
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        for (i, part) in parts.iter().enumerate() {
            if part.is_empty() {
                return Err("an empty segment (`//`), which no request path has".into());
            }
            if splat {
                return Err("a `*` may only end the path".into());
            }
            if *part == "*" {
                if i + 1 != parts.len() {
                    return Err("a `*` may only end the path".into());
                }
                splat = true;
            } else if part.contains('*') {
                return Err(format!("a `*` inside the segment '{part}'"));
            } else if let Some(name) = part.strip_prefix(':') {
                if !is_name(name) || name == "splat" {
                    return Err(format!("':{name}' is not a placeholder name"));
                }
                if segments
                    .iter()
                    .any(|s| *s == Segment::Named(name.to_string()))
                {
                    return Err(format!("the placeholder ':{name}' appears twice"));
                }
                segments.push(Segment::Named(name.to_string()));
            } else {
                segments.push(Segment::Literal(normalized(part).into_owned()));
            }
        }
        Ok(Pattern { segments, splat })
    }

    /// What `path` binds, if it matches. Nothing is allocated unless a
    /// `:name` binds, and a pattern whose first segment differs is passed
    /// over at the first compare: this runs for every rule and every
    /// `_headers` block on a request's way.
    pub fn matches<'r, 'p>(&'r self, path: &'p str) -> Option<Captures<'r, 'p>> {
        let rest = path.strip_prefix('/')?;
        if let Some(Segment::Literal(first)) = self.segments.first()
            && !rest.starts_with(first.as_str())
        {
            return None;
        }
        let trimmed = rest.strip_suffix('/').unwrap_or(rest);
        // The parts not yet taken; `None` once all are.
        let mut left = (!trimmed.is_empty()).then_some(trimmed);
        let mut next_part = || {
            let text = left?;
            match text.bytes().position(|b| b == b'/') {
                Some(at) => {
                    left = Some(&text[at + 1..]);
                    Some(&text[..at])
                }
                None => {
                    left = None;
                    Some(text)
                }
            }
        };
        let mut captures = Captures::default();
        let mut consumed = 0;
        for segment in &self.segments {
            let part = next_part()?;
            match segment {
                Segment::Literal(literal) if literal == part => {}
                Segment::Named(name) if !part.is_empty() => {
                    captures.named.push((name, part));
                }
                _ => return None,
            }
            consumed += part.len() + 1;
        }
        match self.splat {
            true => captures.splat = Some(rest.get(consumed..).unwrap_or("")),
            false if next_part().is_some() => return None,
            false => {}
        }
        Some(captures)
    }
}

impl Pattern {
    /// Whether a path under `base` (`/REPO`, a path of plain segments) can
    /// match: with `--base`, every request the rules see is under it.
    pub fn can_match_under(&self, base: &str) -> bool {
        let mut segments = self.segments.iter();
        for part in base.split('/').skip(1) {
            match segments.next() {
                Some(Segment::Literal(literal)) if literal != part => return false,
                Some(_) => {}
                // `/*` and the like match anything below; a shorter
                // pattern only paths above the base.
                None => return self.splat,
            }
        }
        true
    }
}

impl Captures<'_, '_> {
    /// `to` with `:splat` and each bound `:name` replaced; a name nothing
    /// bound stays as it is.
    pub fn substitute(&self, to: &str) -> String {
        let mut out = String::with_capacity(to.len());
        let mut rest = to;
        while let Some(colon) = rest.find(':') {
            out.push_str(&rest[..colon]);
            let after = &rest[colon + 1..];
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let name = &after[..len];
            let value = match name {
                "splat" => self.splat,
                _ => self.named.iter().find(|(n, _)| *n == name).map(|(_, v)| *v),
            };
            match value {
                Some(value) if !name.is_empty() => out.push_str(value),
                _ => {
                    out.push(':');
                    out.push_str(name);
                }
            }
            rest = &after[len..];
        }
        out.push_str(rest);
        out
    }
}

/// `text` (a path, or a piece of one) in the one spelling the rules
/// compare (RFC 3986 section 6.2.2): an escape of an unreserved character
/// decoded (`%61` is `a`), `%2F` read as the `/` the resolver reads it as,
/// other escapes in upper case, raw non-ASCII bytes encoded, and runs of
/// `/` merged into one, as the resolver merges them (`//admin` names
/// `/admin`). So `céline`, `c%c3%a9line` and `c%C3%A9line`
/// are one spelling, and no other spelling of a path a rule or block names
/// passes it by. Borrowed when `text` already is in that spelling.
pub fn normalized(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let plain = |i: usize| {
        let byte = bytes[i];
        byte.is_ascii() && byte != b'%' && !(byte == b'/' && i > 0 && bytes[i - 1] == b'/')
    };
    if (0..bytes.len()).all(plain) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let escaped = (byte == b'%')
            .then(|| Some((hex(*bytes.get(i + 1)?)?, hex(*bytes.get(i + 2)?)?)))
            .flatten();
        match escaped {
            Some((high, low)) => {
                let decoded = high << 4 | low;
                match decoded {
                    // The resolver reads `%2F` as the `/` it stands for.
                    b'/' if out.ends_with('/') => {}
                    b'/' => out.push('/'),
                    _ if decoded.is_ascii_alphanumeric() || b"-._~".contains(&decoded) => {
                        out.push(decoded as char)
                    }
                    _ => out.push_str(&format!("%{decoded:02X}")),
                }
                i += 3;
                continue;
            }
            None if !byte.is_ascii() => out.push_str(&format!("%{byte:02X}")),
            None if byte == b'/' && out.ends_with('/') => {}
            None => out.push(byte as char),
        }
        i += 1;
    }
    Cow::Owned(out)
}

/// `text` with its raw non-ASCII bytes percent-encoded, and nothing else
/// changed: a rule's TO, which goes out in a `Location` or a request line.
pub fn ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte.is_ascii() {
            true => out.push(byte as char),
            false => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn hex(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names bound and the splat, owned.
    type Bound = Option<(Vec<(String, String)>, Option<String>)>;

    fn bound(pattern: &str, path: &str) -> Bound {
        let pattern = Pattern::parse(pattern).unwrap();
        pattern.matches(path).map(|c| {
            let named = c
                .named
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            (named, c.splat.map(String::from))
        })
    }

    #[test]
    fn literals_placeholders_and_splats_match_as_netlify_does() {
        let none: Vec<(String, String)> = Vec::new();
        assert_eq!(bound("/a/b", "/a/b"), Some((none.clone(), None)));
        assert_eq!(bound("/a/b", "/a/b/"), Some((none.clone(), None)));
        assert_eq!(bound("/a/b/", "/a/b"), Some((none.clone(), None)));
        assert_eq!(bound("/a/b", "/a/bc"), None);
        assert_eq!(bound("/a/b", "/a"), None);
        assert_eq!(bound("/a", "/a/b"), None);
        assert_eq!(bound("/", "/"), Some((none.clone(), None)));
        assert_eq!(bound("/", "/a"), None);
        let year = vec![("year".to_string(), "2024".to_string())];
        assert_eq!(bound("/posts/:year", "/posts/2024"), Some((year, None)));
        assert_eq!(bound("/posts/:year", "/posts/"), None);
        assert_eq!(bound("/posts/:year", "/posts"), None);
        assert_eq!(
            bound("/splat/*", "/splat/a/b"),
            Some((none.clone(), Some("a/b".into())))
        );
        assert_eq!(
            bound("/splat/*", "/splat/a/b/"),
            Some((none.clone(), Some("a/b/".into())))
        );
        assert_eq!(
            bound("/splat/*", "/splat/"),
            Some((none.clone(), Some("".into())))
        );
        assert_eq!(
            bound("/splat/*", "/splat"),
            Some((none.clone(), Some("".into())))
        );
        assert_eq!(bound("/splat/*", "/splatter"), None);
        assert_eq!(
            bound("/*", "/index.html"),
            Some((none, Some("index.html".into())))
        );
        for written in ["/c%C3%A9line", "/c%c3%a9line", "/céline"] {
            assert_eq!(bound(written, "/c%C3%A9line"), Some((Vec::new(), None)));
        }
        assert_eq!(bound("/a%3a", "/a%3A"), Some((Vec::new(), None)));
        assert_eq!(bound("/%61dmin", "/admin"), Some((Vec::new(), None)));
    }

    #[test]
    fn paths_are_compared_in_one_spelling() {
        for (text, want) in [
            ("/admin/x", "/admin/x"),
            ("//admin///x", "/admin/x"),
            ("/%61dmin/%7e%2D%2e", "/admin/~-."),
            ("/a%2fb%3f%25", "/a/b%3F%25"),
            ("/admin%2F%2fsecret", "/admin/secret"),
            ("/café", "/caf%C3%A9"),
            ("/bad%zz%4", "/bad%zz%4"),
        ] {
            assert_eq!(normalized(text), want, "{text}");
        }
        assert!(matches!(normalized("/plain/path.js"), Cow::Borrowed(_)));
    }

    #[test]
    fn what_can_match_under_a_base() {
        let under = |pattern: &str| Pattern::parse(pattern).unwrap().can_match_under("/repo/v1");
        for pattern in [
            "/repo/v1/a",
            "/repo/v1",
            "/*",
            "/repo/*",
            "/:name/v1/x",
            "/repo/v1/*",
        ] {
            assert!(under(pattern), "{pattern}");
        }
        for pattern in ["/a", "/repo", "/repo/v2/*", "/other/*"] {
            assert!(!under(pattern), "{pattern}");
        }
    }

    #[test]
    fn what_is_not_a_pattern_says_why() {
        for (text, want) in [
            ("a/b", "not a path"),
            ("/a/*/b", "may only end"),
            ("/a*/b", "inside the segment"),
            ("/a/:1x", "not a placeholder name"),
            ("/:a/:a", "appears twice"),
            ("/a/:splat", "not a placeholder name"),
            (&"/:a".repeat(65), "more than 64 segments"),
            ("/a//b", "an empty segment"),
        ] {
            let error = Pattern::parse(text).unwrap_err();
            assert!(error.contains(want), "{text}: {error}");
        }
    }

    #[test]
    fn captures_go_into_the_target_and_unbound_names_stay() {
        let pattern = Pattern::parse("/posts/:year/:month/*").unwrap();
        let captures = pattern.matches("/posts/2024/05/a/b").unwrap();
        assert_eq!(
            captures.substitute("/articles/:year/:month/:splat?x=:unbound"),
            "/articles/2024/05/a/b?x=:unbound"
        );
        assert_eq!(
            captures.substitute("http://h:8080/:year"),
            "http://h:8080/2024"
        );
    }
}
