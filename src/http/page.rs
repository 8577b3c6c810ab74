//! The frame of every page the server writes itself: listings, error pages
//! and redirects.
//!
//! One small stylesheet, inline so a page needs no second request, in the
//! demo site's colours, readable on a phone (`viewport`) and dark when the
//! system is (`prefers-color-scheme`). Each page also names an empty icon
//! (`data:,`), so a browser showing one never asks for `/favicon.ico`, a
//! request that would be a 404 line in the log for every page viewed.
//! It knows nothing of what goes inside a page.
#![forbid(unsafe_code)]

use crate::http::syntax::push_html_escaped;

/// Listings put size and time in the second and third columns; the time
/// gives way on a narrow screen.
const STYLE: &str = "\
:root{color-scheme:light dark;--accent:#2f7d5b;--faint:#0001;--muted:#666}\
@media(prefers-color-scheme:dark){:root{--accent:#7fd4a8;--faint:#fff1;--muted:#aaa}}\
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}\
h1{font-size:1.4rem;overflow-wrap:anywhere}a{color:var(--accent)}\
table{border-collapse:collapse;width:100%}\
th,td{padding:.3rem .5rem;text-align:left}tbody tr:nth-child(odd){background:var(--faint)}\
td:nth-child(2){text-align:right;white-space:nowrap}\
td:nth-child(3){color:var(--muted);white-space:nowrap}\
@media(max-width:36rem){th:nth-child(3),td:nth-child(3){display:none}}";

/// Starts a page titled `title` (escaped here): everything up to and
/// including `<body>`.
pub fn open(page: &mut String, title: &str) {
    page.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <link rel=\"icon\" href=\"data:,\">\n<title>",
    );
    push_html_escaped(page, title);
    page.push_str("</title>\n<style>");
    page.push_str(STYLE);
    page.push_str("</style>\n</head>\n<body>\n");
}

/// Ends a page begun with `open`.
pub fn close(page: &mut String) {
    page.push_str("</body>\n</html>\n");
}

/// A whole page: `title` as its title and heading, then `body` (HTML, as
/// it is).
pub fn simple(title: &str, body: &str) -> String {
    let mut page = String::with_capacity(1024 + body.len());
    open(&mut page, title);
    page.push_str("<h1>");
    push_html_escaped(&mut page, title);
    page.push_str("</h1>\n");
    page.push_str(body);
    close(&mut page);
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_has_the_frame_and_escapes_its_title() {
        let page = simple("404 <Not> Found", "<p>body</p>\n");
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"));
        assert!(page.contains(
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        ));
        assert!(page.contains("<link rel=\"icon\" href=\"data:,\">\n"));
        assert!(page.contains("<title>404 &lt;Not&gt; Found</title>"));
        assert!(page.contains("@media(prefers-color-scheme:dark)"));
        assert!(page.ends_with("<h1>404 &lt;Not&gt; Found</h1>\n<p>body</p>\n</body>\n</html>\n"));
        // Small enough to send with every page.
        assert!(page.len() < 1200, "{}", page.len());
    }
}
