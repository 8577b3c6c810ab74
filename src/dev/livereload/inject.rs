//! The script that makes a page listen for changes, and its injection into
//! HTML: before the last `</body>`, else the last `</html>`, else at the end.
//!
//! Owns `SCRIPT` and `inject`. May import std only (all of `dev/` may import
//! `fs`, `http` and `sys`, never `serve` or `net`; this file needs none of
//! them, nor its siblings).
#![forbid(unsafe_code)]

/// The script a page runs: reload on `reload`, re-fetch stylesheets on
/// `css`, and reload after the stream comes back from a server restart.
/// The path it listens at is `EVENTS_PATH`, spelled out because `concat!`
/// takes only literals.
pub const SCRIPT: &str = concat!(
    "<script>/* tinyhttpd live reload */(() => {",
    "const events = new EventSource(\"/.tinyhttpd/events\"); let lost = false;",
    "events.addEventListener(\"reload\", () => location.reload());",
    "events.addEventListener(\"notice\", (e) => console.warn(\"tinyhttpd: \" + e.data));",
    "events.addEventListener(\"css\", () => {",
    "for (const link of document.querySelectorAll('link[rel=\"stylesheet\"]')) {",
    "const url = new URL(link.href); url.searchParams.set(\"tinyhttpd-reload\", Date.now()); link.href = url.href; } });",
    "events.onerror = () => { lost = true; };",
    "events.onopen = () => { if (lost) location.reload(); };",
    "})();</script>"
);

/// `html` with the script inserted before the last `</body>`, else before
/// the last `</html>`, else at the end (tags matched in any letter case).
pub fn inject(html: &[u8]) -> Vec<u8> {
    let at = rfind_ignore_case(html, b"</body>")
        .or_else(|| rfind_ignore_case(html, b"</html>"))
        .unwrap_or(html.len());
    let mut out = Vec::with_capacity(html.len() + SCRIPT.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(SCRIPT.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}

fn rfind_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .rposition(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injection_points() {
        // Each page with `|` where the script goes.
        let cases = [
            "<html><body><p>x</p>|</body></html>",
            "<HTML><BODY>x|</BODY></HTML>",
            "<p>a</body> in text</p>|</body>",
            "<html><p>no body</p>|</html>\n",
            "<p>fragment</p>|",
            "|",
        ];
        for case in cases {
            let html = case.replace('|', "");
            let injected = String::from_utf8(inject(html.as_bytes())).unwrap();
            assert_eq!(injected, case.replace('|', SCRIPT), "{html}");
        }
    }

    /// The script's spelled-out path is the one the stream is served at.
    #[test]
    fn the_script_listens_at_the_events_path() {
        let source = format!(
            "new EventSource(\"{}\")",
            crate::dev::livereload::EVENTS_PATH
        );
        assert!(SCRIPT.contains(&source));
    }
}
