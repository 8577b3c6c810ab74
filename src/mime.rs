//! The `Content-Type` of a file, from its extension.
//!
//! mime_guess knows most extensions; a few it gets wrong or that browsers are
//! strict about are fixed here first (`.mjs` must be JavaScript or module
//! scripts refuse to load). Text types, JavaScript and JSON get
//! `; charset=utf-8` so a browser never guesses the encoding of a page; an
//! unknown extension is `application/octet-stream`, which a browser downloads
//! rather than sniffs.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::path::Path;

pub fn content_type(path: &Path) -> Cow<'static, str> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    // RFC 9239: text/javascript is the one JavaScript type.
    let essence = match extension.as_deref() {
        Some("js" | "mjs" | "cjs") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("map") => "application/json",
        _ => mime_guess::from_path(path)
            .first_raw()
            .unwrap_or("application/octet-stream"),
    };
    if needs_charset(essence) {
        Cow::Owned(format!("{essence}; charset=utf-8"))
    } else {
        Cow::Borrowed(essence)
    }
}

fn needs_charset(essence: &str) -> bool {
    essence.starts_with("text/")
        || essence == "application/json"
        || essence == "application/manifest+json"
        || essence == "application/javascript"
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
            ("data.json", "application/json; charset=utf-8"),
            ("app.js.map", "application/json; charset=utf-8"),
            (
                "site.webmanifest",
                "application/manifest+json; charset=utf-8",
            ),
            ("logo.svg", "image/svg+xml"),
            ("module.wasm", "application/wasm"),
            ("photo.PNG", "image/png"),
            ("clip.mp4", "video/mp4"),
            ("notes.txt", "text/plain; charset=utf-8"),
            ("archive.unknownext", "application/octet-stream"),
            ("Makefile", "application/octet-stream"),
        ];
        for (name, want) in cases {
            assert_eq!(content_type(Path::new(name)), want, "{name}");
        }
    }
}
