//! `_redirects`: one rule a line, `FROM TO [STATUS[!]]`, tried in order,
//! the first match winning. Blank lines and `#` comments are skipped. A
//! line that cannot be a rule is reported (its number and why) and skipped;
//! the other rules still apply.
//!
//! Imports `pattern` beside it.
#![forbid(unsafe_code)]

use crate::serve::rules::pattern::{Pattern, ascii};

/// The statuses a rule may have: redirects, a rewrite (200), and pages
/// served with an error status (the IPFS specification's set).
const STATUSES: &[u16] = &[200, 301, 302, 303, 307, 308, 404, 410, 451];

/// One rule.
#[derive(Debug, PartialEq, Eq)]
pub struct Redirect {
    pub from: Pattern,
    /// A path or an absolute `http://` or `https://` URL, with `:name`
    /// and `:splat` to substitute.
    pub to: String,
    /// 301 unless the line says otherwise.
    pub status: u16,
    /// `!`: applies even where a file answers the path.
    pub force: bool,
    /// The line it came from, from 1.
    pub line: usize,
}

/// A line skipped, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
    pub reason: String,
}

/// The rules of a `_redirects` file, and the lines that are not rules.
pub fn parse(text: &str) -> (Vec<Redirect>, Vec<BadLine>) {
    let mut rules = Vec::new();
    let mut bad = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        // A `#` token ends the rule: what follows it is a comment.
        let tokens: Vec<&str> = line
            .split_whitespace()
            .take_while(|token| !token.starts_with('#'))
            .collect();
        if tokens.is_empty() {
            continue;
        }
        match rule(&tokens, line_number) {
            Ok(rule) => rules.push(rule),
            Err(reason) => bad.push(BadLine {
                line: line_number,
                reason,
            }),
        }
    }
    (rules, bad)
}

/// The rule on one line of tokens.
fn rule(tokens: &[&str], line: usize) -> Result<Redirect, String> {
    let from = tokens[0];
    if from.starts_with("http://") || from.starts_with("https://") {
        return Err("rules for another domain are not supported".into());
    }
    let from = Pattern::parse(from)?;
    let Some(&to) = tokens.get(1) else {
        return Err("no TO after FROM".into());
    };
    if to.starts_with("//") {
        return Err(format!(
            "'{to}' is a URL without its scheme: write https:// or http://"
        ));
    }
    if to.bytes().any(|b| b.is_ascii_control()) {
        return Err("TO holds a control character".into());
    }
    let is_target = to.starts_with('/') || to.starts_with("http://") || to.starts_with("https://");
    // Netlify's `/store id=:id /blog/:id`: tokens before TO match the query.
    if !is_target && to.contains('=') {
        return Err("matching query parameters is not supported".into());
    }
    if !is_target {
        return Err(format!("'{to}' is not a path or an http:// URL"));
    }
    let (status, force) = match tokens.get(2) {
        None => (301, false),
        // `/a /b Country=us`: conditions with the default status.
        Some(text) if text.contains('=') => {
            return Err(format!(
                "conditions ('{}') are not supported",
                tokens[2..].join(" ")
            ));
        }
        Some(text) => status(text)?,
    };
    let is_url = !to.starts_with('/');
    if status == 200 && to.starts_with("https://") {
        return Err("a 200 to https:// would proxy there, and there is no TLS client".into());
    }
    if is_url && matches!(status, 404 | 410 | 451) {
        return Err(format!(
            "a {status} answers with a file here: TO must be a path"
        ));
    }
    if tokens.len() > 3 {
        return Err(format!(
            "conditions ('{}') are not supported",
            tokens[3..].join(" ")
        ));
    }
    Ok(Redirect {
        from,
        // A `Location` or a path is ASCII: `/café` goes out as browsers
        // would send it.
        to: ascii(to),
        status,
        force,
        line,
    })
}

/// `301`, `200!`: the status and whether it is forced.
fn status(text: &str) -> Result<(u16, bool), String> {
    let (digits, force) = match text.strip_suffix('!') {
        Some(digits) => (digits, true),
        None => (text, false),
    };
    match digits.parse::<u16>() {
        Ok(code) if STATUSES.contains(&code) && digits.len() == 3 => Ok((code, force)),
        _ => Err(format!(
            "status '{text}' is not one of 200, 301, 302, 303, 307, 308, 404, 410, 451"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ipfs_specifications_examples_parse() {
        let text = "# comments are skipped\r\n\
                    /redirect-one /one.html\r\n\
                    \r\n\
                    /posts/:year/:month/:day/:title /articles/:year/:month/:day/:title 301\n\
                    /splat/* /redirected-splat/:splat 301 # a comment after the rule\n\
                    /not-found/* /404.html 404\n\
                    /* /index.html 200\n\
                    /api/* http://localhost:3000/:splat 200!\n";
        let (rules, bad) = parse(text);
        assert_eq!(bad, Vec::new());
        let summary: Vec<(usize, &str, u16, bool)> = rules
            .iter()
            .map(|r| (r.line, r.to.as_str(), r.status, r.force))
            .collect();
        assert_eq!(
            summary,
            [
                (2, "/one.html", 301, false),
                (4, "/articles/:year/:month/:day/:title", 301, false),
                (5, "/redirected-splat/:splat", 301, false),
                (6, "/404.html", 404, false),
                (7, "/index.html", 200, false),
                (8, "http://localhost:3000/:splat", 200, true),
            ]
        );
        let captures = rules[1].from.matches("/posts/2024/05/06/hello").unwrap();
        assert_eq!(
            captures.substitute(&rules[1].to),
            "/articles/2024/05/06/hello"
        );
        let (rules, _) = parse("/cafe /café 302\n");
        assert_eq!(rules[0].to, "/caf%C3%A9");
    }

    #[test]
    fn each_bad_line_is_reported_with_its_number_and_the_rest_apply() {
        let text = "/ok /fine\n\
                    /no-target\n\
                    /a /b 418\n\
                    /a /b 30x\n\
                    /a/*/b /c\n\
                    /a/*/* /c\n\
                    relative /b\n\
                    /store id=:id /blog/:id 301\n\
                    /a /b 302 Country=us\n\
                    /a /b Language=en\n\
                    https://other.example/* /b\n\
                    /a ftp://b\n\
                    /also-ok /fine 302!\n\
                    /p https://backend.example/ 200\n\
                    /c /a\x01b 302\n\
                    /cdn //cdn.example/x 302\n\
                    /gone http://example.com/gone.html 410\n";
        let (rules, bad) = parse(text);
        assert_eq!(rules.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 13]);
        let reasons: Vec<(usize, &str)> = bad.iter().map(|b| (b.line, b.reason.as_str())).collect();
        let want = [
            (2, "no TO"),
            (3, "status '418'"),
            (4, "status '30x'"),
            (5, "may only end"),
            (6, "a second `*`"),
            (7, "not a path starting with /"),
            (8, "query parameters"),
            (9, "conditions ('Country=us')"),
            (10, "conditions ('Language=en')"),
            (11, "another domain"),
            (12, "'ftp://b' is not"),
            (14, "no TLS client"),
            (15, "control character"),
            (16, "without its scheme"),
            (17, "TO must be a path"),
        ];
        assert_eq!(reasons.len(), want.len(), "{reasons:?}");
        for ((line, reason), (want_line, want_reason)) in reasons.iter().zip(want) {
            assert_eq!(*line, want_line);
            assert!(reason.contains(want_reason), "line {line}: {reason}");
        }
    }
}
