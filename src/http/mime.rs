//! The `Content-Type` of a file, from its extension.
//!
//! mime_guess knows most extensions; a few it gets wrong or that browsers are
//! strict about are fixed here first (`.mjs` must be JavaScript or module
//! scripts refuse to load). Text types and JavaScript get `; charset=utf-8`
//! so a browser never guesses the encoding of a page. JSON does not: it is
//! UTF-8 by definition and its media type defines no charset parameter
//! (RFC 8259 sections 8.1 and 11), nor do types built on it (`+json`). An
//! unknown extension is `application/octet-stream`, which a browser downloads
//! rather than sniffs.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::path::Path;

pub fn content_type(path: &Path) -> Cow<'static, str> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let is = |name: &str| extension.eq_ignore_ascii_case(name);
    // RFC 9239: text/javascript is the one JavaScript type.
    let essence = if is("js") || is("mjs") || is("cjs") {
        "text/javascript"
    } else if is("wasm") {
        "application/wasm"
    } else if is("webmanifest") {
        "application/manifest+json"
    } else if is("svg") {
        "image/svg+xml"
    } else if is("map") {
        "application/json"
    } else {
        mime_guess::from_ext(extension)
            .first_raw()
            .unwrap_or("application/octet-stream")
    };
    with_charset(essence)
}

/// The type as sent: with `; charset=utf-8` where it applies, the common
/// ones spelled out so that serving them allocates nothing.
fn with_charset(essence: &'static str) -> Cow<'static, str> {
    Cow::Borrowed(match essence {
        "text/html" => "text/html; charset=utf-8",
        "text/css" => "text/css; charset=utf-8",
        "text/javascript" => "text/javascript; charset=utf-8",
        "text/plain" => "text/plain; charset=utf-8",
        _ if needs_charset(essence) => return Cow::Owned(format!("{essence}; charset=utf-8")),
        _ => essence,
    })
}

fn needs_charset(essence: &str) -> bool {
    essence.starts_with("text/") || essence == "application/javascript"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        let cases = [
            ("index.html", "text/html; charset=utf-8"),
            ("INDEX.HTM", "text/html; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("module.mjs", "text/javascript; charset=utf-8"),
            ("data.json", "application/json"),
            ("app.js.map", "application/json"),
            ("site.webmanifest", "application/manifest+json"),
            ("logo.svg", "image/svg+xml"),
            ("module.wasm", "application/wasm"),
            ("photo.PNG", "image/png"),
            ("clip.mp4", "video/mp4"),
            ("notes.txt", "text/plain; charset=utf-8"),
            ("archive.unknownext", "application/octet-stream"),
            ("Makefile", "application/octet-stream"),
            ("notes.md", "text/markdown; charset=utf-8"),
            ("data.CSV", "text/csv; charset=utf-8"),
        ];
        for (name, want) in cases {
            assert_eq!(content_type(Path::new(name)), want, "{name}");
        }
    }
}
