//! Validators, conditional requests and byte ranges over real sockets
//! (RFC 9110 sections 8.8, 13 and 14), and the same checked with curl.

mod common;

use std::time::{Duration, SystemTime};

use common::{Response, Server, TempDir};

/// 256 distinct bytes, so every range is recognisable.
fn content() -> Vec<u8> {
    (0..=255u8).collect()
}

fn site() -> (TempDir, Server) {
    let dir = TempDir::new("caching");
    dir.write("data.bin", content());
    dir.write("page.html", "<!DOCTYPE html><title>v1</title>");
    dir.write("clip.mp4", content());
    dir.write("empty.txt", "");
    let server = Server::start(&dir.path, &[]);
    (dir, server)
}

fn request(server: &Server, method: &str, target: &str, fields: &[(&str, &str)]) -> Response {
    server.request(method, target, fields)
}

fn get(server: &Server, target: &str, fields: &[(&str, &str)]) -> Response {
    server.request("GET", target, fields)
}

#[test]
fn file_responses_carry_validators() {
    let (_dir, server) = site();
    let response = get(&server, "/data.bin", &[]);
    assert_eq!(response.status, 200);
    let etag = response.header("etag").unwrap();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "{etag}"
    );
    assert!(httpdate::parse_http_date(response.header("last-modified").unwrap()).is_ok());
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    assert_eq!(response.header("accept-ranges"), Some("bytes"));
    // The same file, asked again, has the same tag.
    assert_eq!(get(&server, "/data.bin", &[]).header("etag"), Some(etag));
}

#[test]
fn if_none_match_gives_304_with_the_cache_fields_and_no_body() {
    let (_dir, server) = site();
    let first = get(&server, "/data.bin", &[]);
    let etag = first.header("etag").unwrap();
    let mut client = server.connect();
    for value in [
        etag.to_string(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".to_string(),
    ] {
        client.send(
            format!("GET /data.bin HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: {value}\r\n\r\n")
                .as_bytes(),
        );
        let response = client.response();
        assert_eq!(response.status_line, "HTTP/1.1 304 Not Modified", "{value}");
        assert_eq!(response.header("etag"), Some(etag));
        assert_eq!(
            response.header("last-modified"),
            first.header("last-modified")
        );
        assert_eq!(response.header("cache-control"), Some("no-cache"));
        assert!(response.header("date").is_some());
        assert_eq!(response.header("content-length"), None);
        assert!(response.body.is_empty());
    }
    // The connection is still in step: the next response is a whole 200.
    client.send(b"GET /data.bin HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: \"other\"\r\n\r\n");
    let response = client.response();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, content());
}

#[test]
fn if_modified_since_compares_dates_in_all_three_formats() {
    let (_dir, server) = site();
    let first = get(&server, "/data.bin", &[]);
    let modified = httpdate::parse_http_date(first.header("last-modified").unwrap()).unwrap();
    let later = modified + Duration::from_secs(3600);
    let earlier = modified - Duration::from_secs(1);
    let imf = httpdate::fmt_http_date(later);
    let rfc850 = rfc850(later);
    let asctime = asctime(later);
    for value in [
        imf.as_str(),
        rfc850.as_str(),
        asctime.as_str(),
        first.header("last-modified").unwrap(),
    ] {
        let response = get(&server, "/data.bin", &[("If-Modified-Since", value)]);
        assert_eq!(response.status, 304, "{value}");
    }
    let response = get(
        &server,
        "/data.bin",
        &[("If-Modified-Since", &httpdate::fmt_http_date(earlier))],
    );
    assert_eq!(response.status, 200);
    // Invalid dates are ignored, not compared as strings.
    for value in [
        "not a date",
        "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
    ] {
        assert_eq!(
            get(&server, "/data.bin", &[("If-Modified-Since", value)]).status,
            200,
            "{value}"
        );
    }
    // If-None-Match takes precedence: a non-matching tag means 200 even
    // with a date that would give 304.
    let response = get(
        &server,
        "/data.bin",
        &[("If-None-Match", "\"x\""), ("If-Modified-Since", &imf)],
    );
    assert_eq!(response.status, 200);
}

#[test]
fn failed_preconditions_give_412() {
    let (_dir, server) = site();
    let first = get(&server, "/data.bin", &[]);
    let etag = first.header("etag").unwrap();
    let modified = httpdate::parse_http_date(first.header("last-modified").unwrap()).unwrap();
    let earlier = httpdate::fmt_http_date(modified - Duration::from_secs(60));

    let response = get(&server, "/data.bin", &[("If-Match", "\"other\"")]);
    assert_eq!(response.status_line, "HTTP/1.1 412 Precondition Failed");
    assert_eq!(
        get(&server, "/data.bin", &[("If-Match", &format!("W/{etag}"))]).status,
        412
    );
    assert_eq!(
        get(&server, "/data.bin", &[("If-Unmodified-Since", &earlier)]).status,
        412
    );
    assert_eq!(get(&server, "/data.bin", &[("If-Match", etag)]).status, 200);
    assert_eq!(get(&server, "/data.bin", &[("If-Match", "*")]).status, 200);
    // If-Match present: If-Unmodified-Since is not consulted.
    let response = get(
        &server,
        "/data.bin",
        &[("If-Match", etag), ("If-Unmodified-Since", &earlier)],
    );
    assert_eq!(response.status, 200);
}

#[test]
fn preconditions_do_not_turn_errors_into_304_or_412() {
    let (_dir, server) = site();
    assert_eq!(
        get(&server, "/missing", &[("If-None-Match", "*")]).status,
        404
    );
    assert_eq!(
        get(&server, "/missing", &[("If-Match", "\"x\"")]).status,
        404
    );
    let date = httpdate::fmt_http_date(SystemTime::now());
    assert_eq!(
        get(&server, "/missing", &[("If-Modified-Since", &date)]).status,
        404
    );
}

#[test]
fn an_edited_file_gets_a_new_etag_and_a_200() {
    let (dir, server) = site();
    let first = get(&server, "/page.html", &[]);
    let old_etag = first.header("etag").unwrap().to_string();
    let old_modified = first.header("last-modified").unwrap().to_string();
    // Same length, new content, a modification time a few seconds on (as
    // an editor saving a file a moment later would leave it).
    let path = dir.write("page.html", "<!DOCTYPE html><title>v2</title>");
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    let response = get(
        &server,
        "/page.html",
        &[
            ("If-None-Match", &old_etag),
            ("If-Modified-Since", &old_modified),
        ],
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "<!DOCTYPE html><title>v2</title>");
    assert_ne!(response.header("etag").unwrap(), old_etag);
}

#[test]
fn an_edit_within_the_same_second_still_changes_the_etag() {
    let (dir, server) = site();
    let path = dir.path.join("page.html");
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    file.set_modified(base).unwrap();
    let first = get(&server, "/page.html", &[]);
    file.set_modified(base + Duration::from_millis(300))
        .unwrap();
    let second = get(
        &server,
        "/page.html",
        &[("If-None-Match", first.header("etag").unwrap())],
    );
    assert_eq!(second.status, 200);
    assert_eq!(
        second.header("last-modified"),
        first.header("last-modified")
    );
    assert_ne!(second.header("etag"), first.header("etag"));
}

#[test]
fn single_ranges() {
    let (_dir, server) = site();
    let cases = [
        ("bytes=0-1", 0, 2),
        ("bytes=10-19", 10, 10),
        ("bytes=250-", 250, 6),
        ("bytes=-6", 250, 6),
        ("bytes=200-999", 200, 56),
        ("bytes=-1000", 0, 256),
        ("bytes=0-0,1-1", 0, 2),
    ];
    for (range, start, len) in cases {
        let response = get(&server, "/data.bin", &[("Range", range)]);
        assert_eq!(
            response.status_line, "HTTP/1.1 206 Partial Content",
            "{range}"
        );
        let last = start + len - 1;
        assert_eq!(
            response.header("content-range"),
            Some(format!("bytes {start}-{last}/256").as_str()),
            "{range}"
        );
        assert_eq!(
            response.header("content-length"),
            Some(len.to_string().as_str())
        );
        assert_eq!(
            response.header("content-type"),
            Some("application/octet-stream")
        );
        assert!(response.header("etag").is_some());
        assert_eq!(response.body, content()[start..start + len], "{range}");
    }
}

#[test]
fn the_safari_probe_on_a_media_file() {
    let (_dir, server) = site();
    let response = get(&server, "/clip.mp4", &[("Range", "bytes=0-1")]);
    assert_eq!(response.status, 206);
    assert_eq!(response.header("content-type"), Some("video/mp4"));
    assert_eq!(response.header("content-range"), Some("bytes 0-1/256"));
    assert_eq!(response.header("content-length"), Some("2"));
    assert_eq!(response.body, [0, 1]);
}

/// Splits a multipart/byteranges body into (Content-Type, Content-Range,
/// bytes) parts, checking the delimiters exactly.
fn multipart_parts(response: &Response) -> Vec<(String, String, Vec<u8>)> {
    let content_type = response.header("content-type").unwrap();
    let boundary = content_type
        .strip_prefix("multipart/byteranges; boundary=")
        .expect(content_type);
    let body = &response.body;
    let closing = format!("\r\n--{boundary}--\r\n");
    assert!(body.ends_with(closing.as_bytes()), "no closing delimiter");
    let mut rest = &body[..body.len() - closing.len()];
    let mut parts = Vec::new();
    let mut delimiter = format!("--{boundary}\r\n");
    while !rest.is_empty() {
        assert!(
            rest.starts_with(delimiter.as_bytes()),
            "expected a delimiter"
        );
        rest = &rest[delimiter.len()..];
        let head_end = rest.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(rest[..head_end].to_vec()).unwrap();
        rest = &rest[head_end + 4..];
        let mut fields = head.split("\r\n");
        let part_type = fields
            .next()
            .unwrap()
            .strip_prefix("Content-Type: ")
            .unwrap()
            .to_string();
        let part_range = fields
            .next()
            .unwrap()
            .strip_prefix("Content-Range: ")
            .unwrap()
            .to_string();
        let (first, last) = part_range
            .strip_prefix("bytes ")
            .and_then(|r| r.split('/').next())
            .and_then(|r| r.split_once('-'))
            .unwrap();
        let len = last.parse::<usize>().unwrap() - first.parse::<usize>().unwrap() + 1;
        parts.push((part_type, part_range, rest[..len].to_vec()));
        rest = &rest[len..];
        delimiter = format!("\r\n--{boundary}\r\n");
    }
    parts
}

#[test]
fn multiple_ranges_are_multipart() {
    let (_dir, server) = site();
    let response = get(&server, "/data.bin", &[("Range", "bytes=0-1, 10-12,-2")]);
    assert_eq!(response.status, 206);
    assert_eq!(response.header("content-range"), None);
    assert_eq!(
        response.header("content-length").unwrap(),
        response.body.len().to_string()
    );
    let parts = multipart_parts(&response);
    assert_eq!(
        parts,
        vec![
            (
                "application/octet-stream".into(),
                "bytes 0-1/256".into(),
                vec![0, 1]
            ),
            (
                "application/octet-stream".into(),
                "bytes 10-12/256".into(),
                vec![10, 11, 12]
            ),
            (
                "application/octet-stream".into(),
                "bytes 254-255/256".into(),
                vec![254, 255]
            ),
        ]
    );
    // Overlapping and adjacent ranges are coalesced, in ascending order.
    let response = get(
        &server,
        "/data.bin",
        &[("Range", "bytes=20-29,0-4,5-9,25-34")],
    );
    let parts = multipart_parts(&response);
    let ranges: Vec<&str> = parts.iter().map(|p| p.1.as_str()).collect();
    assert_eq!(ranges, ["bytes 0-9/256", "bytes 20-34/256"]);
    assert_eq!(parts[1].2, content()[20..35]);
    // Each response gets its own boundary.
    let again = get(&server, "/data.bin", &[("Range", "bytes=20-29,0-4")]);
    assert_ne!(
        again.header("content-type"),
        response.header("content-type")
    );
}

#[test]
fn unsatisfiable_ranges_get_416_with_the_length() {
    let (_dir, server) = site();
    for range in [
        "bytes=256-",
        "bytes=1000-2000",
        "bytes=-0",
        "bytes=300-400,500-",
    ] {
        let response = get(&server, "/data.bin", &[("Range", range)]);
        assert_eq!(
            response.status_line, "HTTP/1.1 416 Range Not Satisfiable",
            "{range}"
        );
        assert_eq!(
            response.header("content-range"),
            Some("bytes */256"),
            "{range}"
        );
    }
}

#[test]
fn invalid_or_inapplicable_ranges_are_ignored() {
    let (_dir, server) = site();
    for range in [
        "bytes=5-4",
        "bytes=--5",
        "bytes= 0-1",
        "bytes=a-b",
        "items=0-1",
        "bytes=0-1;x",
    ] {
        let response = get(&server, "/data.bin", &[("Range", range)]);
        assert_eq!(response.status, 200, "{range}");
        assert_eq!(response.body, content(), "{range}");
    }
    // Too many ranges: the whole file, once.
    let many: Vec<String> = (0..40).map(|i| format!("{}-{}", i * 2, i * 2)).collect();
    let response = get(
        &server,
        "/data.bin",
        &[("Range", &format!("bytes={}", many.join(",")))],
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.body.len(), 256);
    // Two Range fields are not a valid Range.
    let response = get(
        &server,
        "/data.bin",
        &[("Range", "bytes=0-1"), ("Range", "bytes=2-3")],
    );
    assert_eq!(response.status, 200);
    // An empty file has no byte to name.
    let response = get(&server, "/empty.txt", &[("Range", "bytes=0-1")]);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-length"), Some("0"));
}

#[test]
fn head_ignores_range() {
    let (_dir, server) = site();
    let response = request(&server, "HEAD", "/data.bin", &[("Range", "bytes=0-1")]);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-length"), Some("256"));
    assert_eq!(response.header("content-range"), None);
    assert_eq!(response.header("accept-ranges"), Some("bytes"));
}

#[test]
fn if_range_both_ways() {
    let (_dir, server) = site();
    let first = get(&server, "/data.bin", &[]);
    let etag = first.header("etag").unwrap();
    let modified = first.header("last-modified").unwrap();
    let stale_date = httpdate::fmt_http_date(
        httpdate::parse_http_date(modified).unwrap() - Duration::from_secs(1),
    );
    let weak = format!("W/{etag}");
    let cases: [(&str, u16); 5] = [
        (etag, 206),
        (modified, 206),
        ("\"some-old-version\"", 200),
        (&stale_date, 200),
        (&weak, 200),
    ];
    for (if_range, status) in cases {
        let response = get(
            &server,
            "/data.bin",
            &[("Range", "bytes=0-1"), ("If-Range", if_range)],
        );
        assert_eq!(response.status, status, "{if_range}");
        let want = if status == 206 {
            content()[..2].to_vec()
        } else {
            content()
        };
        assert_eq!(response.body, want, "{if_range}");
    }
}

#[test]
fn a_206_for_if_range_repeats_no_representation_metadata() {
    let (_dir, server) = site();
    let first = get(&server, "/data.bin", &[]);
    let etag = first.header("etag").unwrap();
    // RFC 9110 section 15.3.7: the client sending If-Range has the
    // representation's metadata already.
    let resumed = get(
        &server,
        "/data.bin",
        &[("Range", "bytes=0-1"), ("If-Range", etag)],
    );
    assert_eq!(resumed.status, 206);
    assert_eq!(
        resumed.header_names(),
        [
            "date",
            "server",
            "etag",
            "cache-control",
            "vary",
            "accept-ranges",
            "content-range",
            "content-length",
            "connection"
        ]
    );
    assert_eq!(resumed.header("etag"), Some(etag));
    assert_eq!(resumed.header("content-range"), Some("bytes 0-1/256"));
    // Without If-Range the 206 describes what it carries.
    let plain = get(&server, "/data.bin", &[("Range", "bytes=0-1")]);
    assert_eq!(plain.status, 206);
    assert_eq!(
        plain.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(plain.header("last-modified"), first.header("last-modified"));
    // Several ranges: the body's type is still multipart, and each part
    // still names the file's type.
    let multi = get(
        &server,
        "/data.bin",
        &[("Range", "bytes=0-1,4-5"), ("If-Range", etag)],
    );
    assert_eq!(multi.status, 206);
    assert!(
        multi
            .header("content-type")
            .unwrap()
            .starts_with("multipart/byteranges; boundary=")
    );
    assert_eq!(multi.header("last-modified"), None);
    assert!(
        multi
            .text()
            .contains("Content-Type: application/octet-stream\r\n")
    );
}

#[test]
fn listings_have_validators_and_revalidate() {
    let dir = TempDir::new("listing-validators");
    dir.write("files/a.txt", "a");
    dir.write("files/b.txt", "bb");
    let server = Server::start(&dir.path, &[]);
    let first = get(&server, "/files/", &[]);
    assert_eq!(first.status, 200);
    let etag = first.header("etag").unwrap().to_string();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    let modified = first.header("last-modified").unwrap().to_string();
    assert_eq!(first.header("vary"), Some("Accept"));
    assert_eq!(first.header("cache-control"), Some("no-cache"));

    // Unchanged: 304, with the validators and no body.
    let by_tag = get(&server, "/files/", &[("If-None-Match", &etag)]);
    assert_eq!(by_tag.status_line, "HTTP/1.1 304 Not Modified");
    assert_eq!(by_tag.header("etag"), Some(etag.as_str()));
    assert_eq!(by_tag.header("last-modified"), Some(modified.as_str()));
    assert_eq!(by_tag.header("vary"), Some("Accept"));
    assert!(by_tag.body.is_empty());
    let by_date = get(&server, "/files/", &[("If-Modified-Since", &modified)]);
    assert_eq!(by_date.status, 304);
    server.wait_for_log("\"GET /files/\" 304 (date)");
    // If-Match with another tag fails.
    assert_eq!(
        get(&server, "/files/", &[("If-Match", "\"other\"")]).status,
        412
    );

    // JSON has a tag of its own, and so has another order.
    let json = get(&server, "/files/", &[("Accept", "application/json")]);
    let json_tag = json.header("etag").unwrap().to_string();
    assert_ne!(json_tag, etag);
    assert_eq!(
        get(
            &server,
            "/files/",
            &[("Accept", "application/json"), ("If-None-Match", &json_tag)]
        )
        .status,
        304
    );
    assert_eq!(
        get(&server, "/files/", &[("If-None-Match", &json_tag)]).status,
        200,
        "the JSON tag does not validate the HTML page"
    );
    let by_size = get(&server, "/files/?sort=size", &[]);
    assert_ne!(by_size.header("etag"), Some(etag.as_str()));

    // A file added: a new tag, and the old one no longer matches.
    dir.write("files/c.txt", "ccc");
    let added = get(&server, "/files/", &[("If-None-Match", &etag)]);
    assert_eq!(added.status, 200);
    assert!(added.text().contains("c.txt"));
    let added_tag = added.header("etag").unwrap().to_string();
    assert_ne!(added_tag, etag);

    // A file touched (same size, a later time): a new tag and date.
    let later = httpdate::parse_http_date(&modified).unwrap() + Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(dir.path.join("files/a.txt"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    let touched = get(&server, "/files/", &[("If-None-Match", &added_tag)]);
    assert_eq!(touched.status, 200);
    assert_ne!(touched.header("etag"), Some(added_tag.as_str()));
    assert_eq!(
        touched.header("last-modified"),
        Some(httpdate::fmt_http_date(later).as_str())
    );
    assert_eq!(
        get(&server, "/files/", &[("If-Modified-Since", &modified)]).status,
        200
    );
}

#[test]
fn cache_control_can_be_changed() {
    let dir = TempDir::new("cache-control");
    dir.write("a.txt", "a");
    let server = Server::start(&dir.path, &["--cache-control", "public, max-age=60"]);
    assert_eq!(
        get(&server, "/a.txt", &[]).header("cache-control"),
        Some("public, max-age=60")
    );
    assert_eq!(
        get(&server, "/", &[]).header("cache-control"),
        Some("public, max-age=60")
    );
    let etag = get(&server, "/a.txt", &[])
        .header("etag")
        .unwrap()
        .to_string();
    let not_modified = get(&server, "/a.txt", &[("If-None-Match", &etag)]);
    assert_eq!(
        not_modified.header("cache-control"),
        Some("public, max-age=60")
    );
}

// A real client no one here wrote: curl.

#[cfg(not(windows))]
fn curl(server: &Server, args: &[&str]) -> (String, Vec<u8>) {
    common::curl(&format!("{}data.bin", server.url), args)
}

/// curl is a Linux program here, which the Windows build of this suite, run
/// under wine, cannot start.
#[cfg(not(windows))]
#[test]
fn curl_ranges_and_if_modified_since() {
    let (_dir, server) = site();
    let (code, body) = curl(&server, &["-r", "16-31"]);
    assert_eq!(code, "206");
    assert_eq!(body, content()[16..32]);

    let (code, body) = curl(&server, &["-r", "0-1,-2"]);
    assert_eq!(code, "206");
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("Content-Range: bytes 0-1/256"), "{text}");
    assert!(text.contains("Content-Range: bytes 254-255/256"), "{text}");

    let modified = get(&server, "/data.bin", &[])
        .header("last-modified")
        .unwrap()
        .to_string();
    let (code, body) = curl(&server, &["-z", &modified]);
    assert_eq!(code, "304");
    assert!(body.is_empty());
    let earlier = httpdate::fmt_http_date(
        httpdate::parse_http_date(&modified).unwrap() - Duration::from_secs(10),
    );
    let (code, body) = curl(&server, &["-z", &earlier]);
    assert_eq!(code, "200");
    assert_eq!(body, content());
}

/// `Sunday, 06-Nov-94 08:49:37 GMT` from an IMF-fixdate.
fn rfc850(time: SystemTime) -> String {
    let imf = httpdate::fmt_http_date(time);
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let day = match &imf[..3] {
        "Mon" => "Monday",
        "Tue" => "Tuesday",
        "Wed" => "Wednesday",
        "Thu" => "Thursday",
        "Fri" => "Friday",
        "Sat" => "Saturday",
        _ => "Sunday",
    };
    format!(
        "{day}, {}-{}-{} {} GMT",
        &imf[5..7],
        &imf[8..11],
        &imf[14..16],
        &imf[17..25]
    )
}

/// `Sun Nov  6 08:49:37 1994` from an IMF-fixdate.
fn asctime(time: SystemTime) -> String {
    let imf = httpdate::fmt_http_date(time);
    let day: u32 = imf[5..7].parse().unwrap();
    format!(
        "{} {} {day:>2} {} {}",
        &imf[..3],
        &imf[8..11],
        &imf[17..25],
        &imf[12..16]
    )
}
