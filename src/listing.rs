//! The directory listing page.
//!
//! Renders the entries it is given (it never reads the disk) as an HTML5 page:
//! folders first, then files, each sorted by name; every link percent-encoded
//! and every name HTML-escaped, so a file called `a #1 <b>?.txt` both shows
//! as itself and opens when clicked. Times are ISO 8601 in UTC.
#![forbid(unsafe_code)]

use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::resolve::push_encoded;

/// One file or folder in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    pub modified: Option<SystemTime>,
}

/// The page for the folder whose decoded path is `url_path` (with a trailing
/// slash).
pub fn render(url_path: &str, mut entries: Vec<Entry>) -> String {
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    let title = escape_html(&format!("Index of {url_path}"));
    let mut page = String::with_capacity(512 + entries.len() * 160);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;margin:2em}}\
         td,th{{padding:.2em 1em;text-align:left}}td.size{{text-align:right}}</style>\n\
         </head>\n<body>\n<h1>{title}</h1>\n<table>\n\
         <thead><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr></thead>\n<tbody>\n"
    );
    if url_path != "/" {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    // Thousands of rows: each is appended in place, with no temporaries.
    for entry in &entries {
        let slash = if entry.is_dir { "/" } else { "" };
        page.push_str("<tr><td><a href=\"");
        push_encoded(&mut page, &entry.name);
        page.push_str(slash);
        page.push_str("\">");
        push_escaped(&mut page, &entry.name);
        page.push_str(slash);
        page.push_str("</a></td><td class=\"size\">");
        if entry.is_dir {
            page.push('-');
        } else {
            let _ = write!(page, "{}", entry.size);
        }
        page.push_str("</td><td>");
        if let Some(modified) = entry.modified {
            push_iso8601(&mut page, modified);
        }
        page.push_str("</td></tr>\n");
    }
    page.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    page
}

/// Escapes the five characters that matter in HTML text and attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// `escape_html`, appending to `out`.
fn push_escaped(out: &mut String, text: &str) {
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

/// Appends `YYYY-MM-DDTHH:MM:SSZ` for a time at or after 1970; earlier times
/// show as the epoch.
fn push_iso8601(out: &mut String, time: SystemTime) {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
}

/// The proleptic Gregorian date of the day `days` after 1970-01-01. Counts in
/// 400-year eras (146,097 days) that start on a 1 March, so the leap day falls
/// at the end of each counted year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // 1970-01-01 is day 719,468 counted from 0000-03-01.
    let since_0000_03_01 = days + 719_468;
    let era = since_0000_03_01 / 146_097;
    let day_of_era = since_0000_03_01 % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March: 0 = March .. 11 = February.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(name: &str, is_dir: bool, size: u64) -> Entry {
        Entry {
            name: name.to_string(),
            is_dir,
            size,
            modified: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        }
    }

    fn iso8601(time: SystemTime) -> String {
        let mut out = String::new();
        push_iso8601(&mut out, time);
        out
    }

    #[test]
    fn dates() {
        let at = |secs: u64| iso8601(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(
            iso8601(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape_html("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape_html("café"), "café");
    }

    #[test]
    fn names_are_escaped_and_links_encoded() {
        let page = render(
            "/files/",
            vec![
                entry("a #1 <b>?&'\"%.txt", false, 12),
                entry("café au lait", true, 0),
            ],
        );
        assert!(page.contains(
            "<a href=\"a%20%231%20%3Cb%3E%3F%26%27%22%25.txt\">a #1 &lt;b&gt;?&amp;&#39;&quot;%.txt</a>"
        ), "{page}");
        assert!(
            page.contains("<a href=\"caf%C3%A9%20au%20lait/\">café au lait/</a>"),
            "{page}"
        );
        assert!(
            page.contains("<td class=\"size\">12</td><td>2023-11-14T22:13:20Z</td>"),
            "{page}"
        );
        assert!(page.contains("<title>Index of /files/</title>"));
        assert!(page.contains("<a href=\"../\">../</a>"));
    }

    #[test]
    fn title_is_escaped_and_root_has_no_parent_link() {
        let page = render("/", vec![]);
        assert!(page.contains("<title>Index of /</title>"));
        assert!(!page.contains("../"));
        let page = render("/<x>/", vec![]);
        assert!(page.contains("<title>Index of /&lt;x&gt;/</title>"));
    }

    #[test]
    fn folders_first_then_files_by_name() {
        let page = render(
            "/",
            vec![
                entry("b.txt", false, 1),
                entry("z", true, 0),
                entry("a.txt", false, 1),
                entry("c", true, 0),
            ],
        );
        let order: Vec<usize> = ["\"c/\"", "\"z/\"", "\"a.txt\"", "\"b.txt\""]
            .iter()
            .map(|needle| page.find(needle).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{page}");
    }
}
