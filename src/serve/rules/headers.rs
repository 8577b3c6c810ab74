//! `_headers`: blocks of header fields by path. A line starting with `/`
//! opens a block and gives its pattern; the indented `Name: value` lines
//! under it are its fields, and an indented `! Name` (Cloudflare's form)
//! removes a field set before. `#` lines are comments. Every block whose
//! pattern matches applies, in file order; a field set twice gets both
//! values joined with `, `.
//!
//! Fields that frame the message or belong to the server cannot be set
//! here; `Basic-Auth` (Netlify's password protection, not a header) is
//! never sent. Bad lines are reported with their number and skipped.
//!
//! Imports `pattern` and `redirects` (`BadLine`) beside it, and `http`'s
//! field syntax and responses.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use crate::http::response::{Response, Status};
use crate::http::syntax::{is_field_value, is_token};
use crate::serve::rules::pattern::Pattern;
use crate::serve::rules::redirects::BadLine;

/// Fields `_headers` may not set: the framing and connection's (ours on
/// every response), those this server writes itself (`Location` is the
/// redirects' to set), and Netlify's `Basic-Auth`, whose value is a
/// password.
const NOT_SETTABLE: &[&str] = &[
    "connection",
    "keep-alive",
    "content-length",
    "transfer-encoding",
    "trailer",
    "upgrade",
    "content-range",
    "content-encoding",
    "date",
    "server",
    "location",
    "basic-auth",
];

/// One block.
#[derive(Debug, PartialEq, Eq)]
pub struct Block {
    pub pattern: Pattern,
    /// Its fields, in the order written.
    pub fields: Vec<(&'static str, Cow<'static, str>)>,
    /// The names its `! Name` lines remove.
    pub detach: Vec<&'static str>,
    pub line: usize,
}

/// The blocks of a `_headers` file, and the lines that are not part of one.
pub fn parse(text: &str) -> (Vec<Block>, Vec<BadLine>) {
    let mut blocks: Vec<Block> = Vec::new();
    let mut bad = Vec::new();
    // Whether the last path line was bad: its fields go with it, unreported
    // (its own line says what is wrong).
    let mut skipping = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        let outcome = if !indented {
            let parsed = Pattern::parse(trimmed).map(|pattern| {
                blocks.push(Block {
                    pattern,
                    fields: Vec::new(),
                    detach: Vec::new(),
                    line: number,
                });
            });
            skipping = parsed.is_err();
            parsed
        } else if skipping {
            Ok(())
        } else {
            match blocks.last_mut() {
                None => Err("a field before any path".to_string()),
                Some(block) => field(trimmed, block),
            }
        };
        if let Err(reason) = outcome {
            bad.push(BadLine {
                line: number,
                reason,
            });
        }
    }
    (blocks, bad)
}

/// One indented line: `Name: value` or `! Name`, added to `block`.
fn field(text: &str, block: &mut Block) -> Result<(), String> {
    if let Some(name) = text.strip_prefix('!') {
        let name = name.trim();
        if !is_token(name.as_bytes()) {
            return Err(format!("'{name}' is not a field name"));
        }
        block.detach.push(intern(name));
        return Ok(());
    }
    let Some((name, value)) = text.split_once(':') else {
        return Err("a field line without a colon".into());
    };
    let (name, value) = (name.trim_end(), value.trim());
    if !is_token(name.as_bytes()) {
        return Err(format!("'{name}' is not a field name"));
    }
    if NOT_SETTABLE.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        return Err(format!("{name} cannot be set from _headers"));
    }
    if value.is_empty() || !value.is_ascii() || !is_field_value(value.as_bytes()) {
        return Err(format!(
            "the value of {name} is not one line of visible ASCII"
        ));
    }
    block.fields.push((intern(name), kept(value)));
    Ok(())
}

/// A field name that lives as long as the program, as a response's field
/// names do. Each name is kept once, however often the file is re-read:
/// what this holds grows only with the names a user ever writes.
fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    let names = names.get_or_insert_with(HashSet::new);
    if let Some(&known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// The most bytes of field values kept for the program's life.
const KEPT_VALUES: usize = 1 << 20;

/// A field value, borrowed by every response that carries it: kept for the
/// program's life, once per distinct value, until `KEPT_VALUES` bytes are
/// kept (edits of `_headers` add values); past that, each response gets a
/// copy of its own.
fn kept(value: &str) -> Cow<'static, str> {
    static VALUES: Mutex<Option<(HashSet<&'static str>, usize)>> = Mutex::new(None);
    let mut values = VALUES.lock().unwrap_or_else(PoisonError::into_inner);
    let (values, size) = values.get_or_insert_with(|| (HashSet::new(), 0));
    if let Some(&known) = values.get(value) {
        return Cow::Borrowed(known);
    }
    if *size + value.len() > KEPT_VALUES {
        return Cow::Owned(value.to_string());
    }
    let leaked: &'static str = Box::leak(value.to_string().into_boxed_str());
    values.insert(leaked);
    *size += value.len();
    Cow::Borrowed(leaked)
}

/// Puts the fields of the blocks that match `path` on `response` (see
/// `apply`). RFC 9110 section 15.4.5: a 304 sends no representation
/// metadata beyond what updates a cache; and a multipart 206's type frames
/// its parts: neither gets a block's `Content-Type`.
pub fn add_to(blocks: &[Block], response: &mut Response, path: &str) {
    let multipart = response.headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("content-type") && value.starts_with("multipart/byteranges")
    });
    let kept: &[&str] = match response.status == Status::NotModified || multipart {
        true => &["content-type", "content-language"],
        false => &[],
    };
    apply(blocks, path, &mut response.headers, kept);
}

/// A response's fields, as `http::response::Response` keeps them.
pub type FieldList = Vec<(&'static str, Cow<'static, str>)>;

/// Applies the blocks that match `path` to `fields`, in file order: a
/// block's field replaces the server's own of that name, a name set again
/// is joined to the earlier value with `, `, and `! Name` removes what came
/// before it, the server's own included (Cloudflare's rules). `Set-Cookie`
/// is never joined (RFC 9110 section 5.3): each is a field of its own.
/// Names in `kept` (lower case) are left as the server set them. Values are
/// borrowed, and nothing is allocated but a joined value.
pub fn apply(blocks: &[Block], path: &str, fields: &mut FieldList, kept: &[&str]) {
    // `fields[..server]` are the server's own; the blocks' come after.
    let mut server = fields.len();
    for block in blocks.iter().filter(|b| b.pattern.matches(path).is_some()) {
        for &name in block.detach.iter().filter(|n| !is_kept(kept, n)) {
            let end = fields.len();
            remove(fields, &mut server, name, end);
        }
        for (name, value) in &block.fields {
            if is_kept(kept, name) {
                continue;
            }
            let ours = (server..fields.len()).find(|&i| fields[i].0.eq_ignore_ascii_case(name));
            if ours.is_none() {
                let end = server;
                remove(fields, &mut server, name, end);
            }
            match ours.filter(|_| !name.eq_ignore_ascii_case("set-cookie")) {
                Some(i) => {
                    let joined = format!("{}, {value}", fields[i].1);
                    fields[i].1 = Cow::Owned(joined);
                }
                None => fields.push((name, value.clone())),
            }
        }
    }
}

fn is_kept(kept: &[&str], name: &str) -> bool {
    kept.iter().any(|k| k.eq_ignore_ascii_case(name))
}

/// Removes the fields named `name` among `fields[..end]`, keeping `server`
/// the count of the server's own fields at the front.
fn remove(fields: &mut FieldList, server: &mut usize, name: &str, end: usize) {
    let mut i = 0;
    let mut end = end;
    while i < end {
        if fields[i].0.eq_ignore_ascii_case(name) {
            fields.remove(i);
            end -= 1;
            if i < *server {
                *server -= 1;
            }
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_blocks_merge_in_order() {
        let text = "# security\n\
                    /*\n  X-Frame-Options: DENY\n  Cache-Control: no-cache\n\n\
                    /assets/*\r\n  Cache-Control: public, max-age=31536000\r\n\
                    /assets/legacy/*\n  ! X-Frame-Options\n  X-Legacy: 1\n";
        let (blocks, bad) = parse(text);
        assert_eq!(bad, Vec::new());
        assert_eq!(blocks.iter().map(|b| b.line).collect::<Vec<_>>(), [2, 6, 8]);
        let owned = |pairs: &[(&'static str, &str)]| -> FieldList {
            pairs
                .iter()
                .map(|(n, v)| (*n, Cow::Owned(v.to_string())))
                .collect()
        };
        let fields_for = |path: &str| {
            let mut fields = owned(&[("ETag", "\"1\""), ("X-Frame-Options", "SAMEORIGIN")]);
            apply(&blocks, path, &mut fields, &[]);
            fields
        };
        assert_eq!(
            fields_for("/index.html"),
            owned(&[
                ("ETag", "\"1\""),
                ("X-Frame-Options", "DENY"),
                ("Cache-Control", "no-cache")
            ])
        );
        assert_eq!(
            fields_for("/assets/app.js"),
            owned(&[
                ("ETag", "\"1\""),
                ("X-Frame-Options", "DENY"),
                ("Cache-Control", "no-cache, public, max-age=31536000")
            ])
        );
        assert_eq!(
            fields_for("/assets/legacy/a.js"),
            owned(&[
                ("ETag", "\"1\""),
                ("Cache-Control", "no-cache, public, max-age=31536000"),
                ("X-Legacy", "1")
            ])
        );
    }

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let text = "  X-Early: 1\n\
                    /a/*/b\n\
                    /ok\n  No colon here\n  Bad Name: x\n  Content-Length: 5\n\
                    \x20 Basic-Auth: user:secret\n  X-Empty:\n  ! two words\n\
                    not-a-path\n  X-Fine: yes\n";
        let (blocks, bad) = parse(text);
        let reasons: Vec<(usize, &str)> = bad.iter().map(|b| (b.line, b.reason.as_str())).collect();
        let want = [
            (1, "before any path"),
            (2, "may only end"),
            (4, "without a colon"),
            (5, "'Bad Name' is not a field name"),
            (6, "Content-Length cannot be set"),
            (7, "Basic-Auth cannot be set"),
            (8, "not one line of visible ASCII"),
            (9, "'two words' is not a field name"),
            (10, "not a path starting with /"),
        ];
        assert_eq!(reasons.len(), want.len(), "{reasons:?}");
        for ((line, reason), (want_line, want_reason)) in reasons.iter().zip(want) {
            assert_eq!(*line, want_line);
            assert!(reason.contains(want_reason), "line {line}: {reason}");
        }
        // The fields under a bad path line go with it: the good block
        // before it keeps none of them.
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].fields, Vec::new());
    }

    /// The blocks of a `_headers` text without bad lines.
    fn blocks(text: &str) -> Vec<Block> {
        let (blocks, bad) = parse(text);
        assert_eq!(bad, Vec::new());
        blocks
    }

    #[test]
    fn header_fields_replace_the_servers_own() {
        let set = blocks("/*\n  Cache-Control: max-age=60\n  X-A: 1\n/a/*\n  ! Vary\n  X-A: 2\n");
        let mut response = Response::new(Status::Ok)
            .header("Cache-Control", "no-cache")
            .header("Vary", "Accept-Encoding")
            .header("ETag", "\"1\"");
        add_to(&set, &mut response, "/a/b");
        let fields: Vec<(&str, &str)> = response
            .headers
            .iter()
            .map(|(n, v)| (*n, v.as_ref()))
            .collect();
        assert_eq!(
            fields,
            [
                ("ETag", "\"1\""),
                ("Cache-Control", "max-age=60"),
                ("X-A", "1, 2")
            ]
        );
    }

    #[test]
    fn cookies_stay_apart_and_a_304_keeps_its_type() {
        let set =
            blocks("/*\n  Set-Cookie: a=1\n  Content-Type: text/x-a\n/b\n  Set-Cookie: b=2\n");
        let fields = |status| {
            let mut response = Response::new(status).header("Content-Type", "text/plain");
            add_to(&set, &mut response, "/b");
            let fields: Vec<(&str, String)> = response
                .headers
                .iter()
                .map(|(n, v)| (*n, v.to_string()))
                .collect();
            fields
        };
        let owned = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
            pairs.iter().map(|(n, v)| (*n, v.to_string())).collect()
        };
        assert_eq!(
            fields(Status::Ok),
            owned(&[
                ("Set-Cookie", "a=1"),
                ("Content-Type", "text/x-a"),
                ("Set-Cookie", "b=2")
            ])
        );
        assert_eq!(
            fields(Status::NotModified),
            owned(&[
                ("Content-Type", "text/plain"),
                ("Set-Cookie", "a=1"),
                ("Set-Cookie", "b=2")
            ])
        );
    }

    #[test]
    fn a_multipart_206_keeps_its_type() {
        let set = blocks("/*\n  Content-Type: text/x-a\n  ! Content-Type\n  X-A: 1\n");
        let multipart = "multipart/byteranges; boundary=b";
        let mut response = Response::new(Status::PartialContent).header("Content-Type", multipart);
        add_to(&set, &mut response, "/a");
        let fields: Vec<(&str, &str)> = response
            .headers
            .iter()
            .map(|(n, v)| (*n, v.as_ref()))
            .collect();
        assert_eq!(fields, [("Content-Type", multipart), ("X-A", "1")]);
    }
}
