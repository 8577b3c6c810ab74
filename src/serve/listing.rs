//! The directory listing page.
//!
//! Renders the entries it is given (it never reads the disk) as an HTML5 page:
//! folders first, then files, sorted by name (or by size or time, through the
//! column headings' links); every link percent-encoded and every name
//! HTML-escaped, so a file called `a #1 <b>?.txt` both shows as itself and
//! opens when clicked. Times are ISO 8601 in UTC; sizes are exact in bytes
//! and shown in binary units. The same data is available as JSON.
#![forbid(unsafe_code)]

use std::fmt::Write;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::fs::resolve::FolderEntry;
use crate::http::date::push_iso8601;
use crate::http::page;
use crate::http::syntax::{push_encoded, push_html_escaped};

/// What a listing is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Name,
    Size,
    Modified,
}

/// A listing's order: folders always come first, then entries by `key`,
/// ties broken by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Order {
    pub key: Key,
    pub descending: bool,
}

impl Order {
    /// `?sort=name|size|modified&order=asc|desc`; anything else is ignored.
    pub fn from_query(query: Option<&str>) -> Order {
        let mut order = Order {
            key: Key::Name,
            descending: false,
        };
        for pair in query.unwrap_or_default().split('&') {
            match pair {
                "sort=name" => order.key = Key::Name,
                "sort=size" => order.key = Key::Size,
                "sort=modified" => order.key = Key::Modified,
                "order=asc" => order.descending = false,
                "order=desc" => order.descending = true,
                _ => {}
            }
        }
        order
    }

    pub fn sort(self, entries: &mut [FolderEntry]) {
        entries.sort_by(|a, b| {
            let by_key = match self.key {
                Key::Name => a.name.cmp(&b.name),
                Key::Size => a.size.cmp(&b.size),
                Key::Modified => a.modified.cmp(&b.modified),
            };
            let by_key = if self.descending {
                by_key.reverse()
            } else {
                by_key
            };
            b.is_dir
                .cmp(&a.is_dir)
                .then(by_key)
                .then_with(|| a.name.cmp(&b.name))
        });
    }

    /// The query of a column heading's link: that column ascending, or
    /// descending if it is already the ascending one.
    fn link(self, key: Key, name: &str) -> String {
        let descending = self.key == key && !self.descending;
        format!(
            "?sort={name}&amp;order={}",
            if descending { "desc" } else { "asc" }
        )
    }
}

/// What a listing is rendered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Html,
    Json,
}

/// A folder's entries in the order asked for: sorted once, here, then
/// tagged and drawn as they are.
#[derive(Debug)]
pub struct Listing {
    entries: Vec<FolderEntry>,
    order: Order,
}

impl Listing {
    pub fn new(mut entries: Vec<FolderEntry>, order: Order) -> Listing {
        order.sort(&mut entries);
        Listing { entries, order }
    }

    pub fn entries(&self) -> &[FolderEntry] {
        &self.entries
    }
}

/// A strong entity tag for a listing (RFC 9110 section 8.8.3), derived from
/// everything it shows: the folder's path, each entry's name, kind, size and
/// modification time, the order, and the format, so an entry added, removed,
/// renamed, resized or touched gives a new tag, and each order and format
/// has its own. The server's version
/// is part of it, since a new version may render the same entries
/// differently.
pub fn etag(url_path: &str, listing: &Listing, format: Format) -> String {
    let mut hasher = DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    (url_path, listing.order, format).hash(&mut hasher);
    for entry in &listing.entries {
        entry.hash(&mut hasher);
    }
    format!("\"dir-{:016x}\"", hasher.finish())
}

/// The page for the folder whose decoded path is `url_path` (with a trailing
/// slash).
pub fn render(url_path: &str, listing: &Listing) -> String {
    let Listing { entries, order } = listing;
    let order = *order;
    let mut page = String::with_capacity(2048 + entries.len() * 160);
    page::open(&mut page, &format!("Index of {url_path}"));
    page.push_str("<h1>Index of ");
    push_breadcrumbs(&mut page, url_path);
    let _ = write!(
        page,
        "</h1>\n<table>\n\
         <thead><tr><th><a href=\"{}\">Name</a></th><th><a href=\"{}\">Size</a></th>\
         <th><a href=\"{}\">Modified (UTC)</a></th></tr></thead>\n<tbody>\n",
        order.link(Key::Name, "name"),
        order.link(Key::Size, "size"),
        order.link(Key::Modified, "modified"),
    );
    if url_path != "/" {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    // Thousands of rows: each is appended in place, with no temporaries.
    for entry in entries {
        let slash = if entry.is_dir { "/" } else { "" };
        page.push_str("<tr><td><a href=\"");
        push_encoded(&mut page, &entry.name);
        page.push_str(slash);
        page.push_str("\">");
        push_html_escaped(&mut page, &entry.name);
        page.push_str(slash);
        if entry.is_dir {
            page.push_str("</a></td><td>-");
        } else {
            let _ = write!(page, "</a></td><td title=\"{} bytes\">", entry.size);
            push_human_size(&mut page, entry.size);
        }
        page.push_str("</td><td>");
        if let Some(modified) = entry.modified {
            push_iso8601(&mut page, modified);
        }
        page.push_str("</td></tr>\n");
    }
    page.push_str("</tbody>\n</table>\n");
    page::close(&mut page);
    page
}

/// The folder's path with a link on each folder above it: `/` to the root,
/// then each segment to its folder; the last one, this folder, is text.
fn push_breadcrumbs(page: &mut String, url_path: &str) {
    let segments: Vec<&str> = url_path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() {
        page.push('/');
        return;
    }
    page.push_str("<a href=\"/\">/</a>");
    let mut href = String::from("/");
    for (i, segment) in segments.iter().enumerate() {
        push_encoded(&mut href, segment);
        href.push('/');
        if i + 1 == segments.len() {
            push_html_escaped(page, segment);
        } else {
            page.push_str("<a href=\"");
            page.push_str(&href);
            page.push_str("\">");
            push_html_escaped(page, segment);
            page.push_str("</a>");
        }
        page.push('/');
    }
}

/// The same listing as JSON, for scripts:
///
/// `{"path": "/files/", "entries": [{"name": "a.txt", "type": "file",
/// "size": 12, "modified": "2023-11-14T22:13:20Z"}, ...]}`
///
/// `type` is `"file"` or `"directory"`; `size` is in bytes (0 for folders);
/// `modified` is ISO 8601 in UTC, or null when the file system has no time.
pub fn render_json(url_path: &str, listing: &Listing) -> String {
    let entries = &listing.entries;
    let mut out = String::with_capacity(64 + entries.len() * 100);
    out.push_str("{\"path\":");
    push_json_string(&mut out, url_path);
    out.push_str(",\"entries\":[");
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        push_json_string(&mut out, &entry.name);
        let kind = if entry.is_dir { "directory" } else { "file" };
        let size = if entry.is_dir { 0 } else { entry.size };
        let _ = write!(out, ",\"type\":\"{kind}\",\"size\":{size},\"modified\":");
        match entry.modified {
            Some(time) => {
                out.push('"');
                push_iso8601(&mut out, time);
                out.push('"');
            }
            None => out.push_str("null"),
        }
        out.push('}');
    }
    out.push_str("]}\n");
    out
}

/// A JSON string literal: quotes, backslashes and control characters
/// escaped, everything else as it is (the output is UTF-8).
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `532 B`, `1.5 KiB`, `20.0 MiB`: binary units, one decimal.
fn push_human_size(out: &mut String, bytes: u64) {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        let _ = write!(out, "{bytes} B");
        return;
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let _ = write!(out, "{value:.1} {}", UNITS[unit]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use std::time::UNIX_EPOCH;

    fn entry(name: &str, is_dir: bool, size: u64) -> FolderEntry {
        entry_at(name, is_dir, size, 1_700_000_000)
    }

    /// An entry modified `secs` after the epoch.
    fn entry_at(name: &str, is_dir: bool, size: u64, secs: u64) -> FolderEntry {
        FolderEntry {
            name: name.to_string(),
            is_dir,
            size,
            modified: Some(UNIX_EPOCH + Duration::from_secs(secs)),
        }
    }

    const BY_NAME: Order = Order {
        key: Key::Name,
        descending: false,
    };

    #[test]
    fn names_are_escaped_and_links_encoded() {
        let page = render(
            "/files/",
            &Listing::new(
                vec![
                    entry("a #1 <b>?&'\"%.txt", false, 12),
                    entry("café au lait", true, 0),
                ],
                BY_NAME,
            ),
        );
        assert!(
            page.contains("<a href=\"a%20%231%20%3Cb%3E%3F%26%27%22%25.txt\">a #1 &lt;b&gt;?&amp;&#39;&quot;%.txt</a>"),
            "{page}"
        );
        assert!(
            page.contains("<a href=\"caf%C3%A9%20au%20lait/\">café au lait/</a>"),
            "{page}"
        );
        assert!(
            page.contains("<td title=\"12 bytes\">12 B</td><td>2023-11-14T22:13:20Z</td>"),
            "{page}"
        );
        assert!(page.contains("<title>Index of /files/</title>"));
        assert!(page.contains("<a href=\"../\">../</a>"));
    }

    #[test]
    fn breadcrumbs_link_each_folder_above() {
        let page = render("/", &Listing::new(vec![], BY_NAME));
        assert!(page.contains("<h1>Index of /</h1>"), "{page}");
        let page = render("/a b/c&d/caf\u{e9}/", &Listing::new(vec![], BY_NAME));
        assert!(
            page.contains(
                "<h1>Index of <a href=\"/\">/</a><a href=\"/a%20b/\">a b</a>/\
                 <a href=\"/a%20b/c%26d/\">c&amp;d</a>/caf\u{e9}/</h1>"
            ),
            "{page}"
        );
        assert!(page.contains("<link rel=\"icon\" href=\"data:,\">"));
    }

    #[test]
    fn title_is_escaped_and_root_has_no_parent_link() {
        let page = render("/", &Listing::new(vec![], BY_NAME));
        assert!(page.contains("<title>Index of /</title>"));
        assert!(!page.contains("../"));
        let page = render("/<x>/", &Listing::new(vec![], BY_NAME));
        assert!(page.contains("<title>Index of /&lt;x&gt;/</title>"));
    }

    /// The names in `page`'s rows, in order.
    fn row_names(page: &str) -> Vec<&str> {
        page.split("<tr><td><a href=\"")
            .skip(1)
            .map(|row| &row[..row.find('"').unwrap()])
            .filter(|href| *href != "../")
            .collect()
    }

    fn sample() -> Vec<FolderEntry> {
        vec![
            entry_at("b.txt", false, 300, 2),
            entry_at("z", true, 0, 1),
            entry_at("a.txt", false, 100, 3),
            entry_at("c", true, 0, 5),
            entry_at("d.txt", false, 200, 1),
        ]
    }

    #[test]
    fn orders() {
        let cases: &[(Option<&str>, [&str; 5])] = &[
            (None, ["c/", "z/", "a.txt", "b.txt", "d.txt"]),
            (
                Some("sort=name&order=desc"),
                ["z/", "c/", "d.txt", "b.txt", "a.txt"],
            ),
            (Some("sort=size"), ["c/", "z/", "a.txt", "d.txt", "b.txt"]),
            (
                Some("sort=size&order=desc"),
                ["c/", "z/", "b.txt", "d.txt", "a.txt"],
            ),
            (
                Some("order=desc&sort=modified"),
                ["c/", "z/", "a.txt", "b.txt", "d.txt"],
            ),
            (
                Some("sort=modified"),
                ["z/", "c/", "d.txt", "b.txt", "a.txt"],
            ),
            (
                Some("sort=bogus&x=1"),
                ["c/", "z/", "a.txt", "b.txt", "d.txt"],
            ),
        ];
        for (query, want) in cases {
            let page = render("/", &Listing::new(sample(), Order::from_query(*query)));
            assert_eq!(row_names(&page), want, "{query:?}");
        }
    }

    #[test]
    fn heading_links_toggle_the_order() {
        let page = render(
            "/",
            &Listing::new(vec![], Order::from_query(Some("sort=size"))),
        );
        assert!(
            page.contains("<a href=\"?sort=size&amp;order=desc\">Size</a>"),
            "{page}"
        );
        assert!(
            page.contains("<a href=\"?sort=name&amp;order=asc\">Name</a>"),
            "{page}"
        );
        let page = render(
            "/",
            &Listing::new(vec![], Order::from_query(Some("sort=size&order=desc"))),
        );
        assert!(
            page.contains("<a href=\"?sort=size&amp;order=asc\">Size</a>"),
            "{page}"
        );
    }

    #[test]
    fn human_sizes() {
        let human = |bytes| {
            let mut out = String::new();
            push_human_size(&mut out, bytes);
            out
        };
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1024), "1.0 KiB");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(20 * 1024 * 1024), "20.0 MiB");
        assert_eq!(human(u64::MAX), "16384.0 PiB");
    }

    #[test]
    fn json() {
        let mut entries = sample();
        entries.truncate(2);
        entries.push(FolderEntry {
            name: "q\"\\\n\u{1}é".into(),
            is_dir: false,
            size: 7,
            modified: None,
        });
        let json = render_json("/a \"b\"/", &Listing::new(entries, BY_NAME));
        assert_eq!(
            json,
            "{\"path\":\"/a \\\"b\\\"/\",\"entries\":[\
             {\"name\":\"z\",\"type\":\"directory\",\"size\":0,\"modified\":\"1970-01-01T00:00:01Z\"},\
             {\"name\":\"b.txt\",\"type\":\"file\",\"size\":300,\"modified\":\"1970-01-01T00:00:02Z\"},\
             {\"name\":\"q\\\"\\\\\\n\\u0001é\",\"type\":\"file\",\"size\":7,\"modified\":null}]}\n"
        );
    }

    #[test]
    fn the_tag_changes_with_anything_the_listing_shows() {
        let by_name = Order::from_query(None);
        let base = vec![entry("a.txt", false, 1), entry("b.txt", false, 2)];
        let tag = |entries: &[FolderEntry], order: Order, format: Format| {
            etag("/files/", &Listing::new(entries.to_vec(), order), format)
        };
        let original = tag(&base, by_name, Format::Html);
        assert!(original.starts_with("\"dir-") && original.ends_with('"'));
        assert_eq!(original, tag(&base.clone(), by_name, Format::Html));

        let mut changes: Vec<(&str, String)> = Vec::new();
        let mut added = base.clone();
        added.push(entry("c.txt", false, 3));
        changes.push(("added", tag(&added, by_name, Format::Html)));
        changes.push(("removed", tag(&base[..1], by_name, Format::Html)));
        let mut renamed = base.clone();
        renamed[1].name = "B.txt".into();
        changes.push(("renamed", tag(&renamed, by_name, Format::Html)));
        let mut resized = base.clone();
        resized[0].size = 5;
        changes.push(("resized", tag(&resized, by_name, Format::Html)));
        let mut touched = base.clone();
        // One step of the clock: 1 ns, or 100 ns on Windows.
        let step = Duration::from_nanos(if cfg!(windows) { 100 } else { 1 });
        touched[0].modified = touched[0].modified.map(|t| t + step);
        changes.push(("touched", tag(&touched, by_name, Format::Html)));
        let mut kind = base.clone();
        kind[0].is_dir = true;
        changes.push(("became a folder", tag(&kind, by_name, Format::Html)));
        changes.push(("json", tag(&base, by_name, Format::Json)));
        let by_size = Order::from_query(Some("sort=size&order=desc"));
        changes.push(("order", tag(&base, by_size, Format::Html)));
        changes.push((
            "path",
            etag(
                "/other/",
                &Listing::new(base.to_vec(), by_name),
                Format::Html,
            ),
        ));
        for (what, changed) in &changes {
            assert_ne!(&original, changed, "{what}");
        }
    }
}
