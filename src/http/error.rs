//! `HttpError`, and the one place an error becomes a status and a page.
//!
//! Parsing, framing, resolving and file errors all end up here. The page a
//! client sees names the status and nothing else: the text of an `io::Error`
//! (paths, errno names) is for the log only, via `reason`.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::io;

use crate::http::page;
use crate::http::request::ParseError;
use crate::http::request_body::BodyError;
use crate::http::response::{Body, Response, Status};
use crate::http::syntax::escape_html;
use crate::sys;

/// The methods `OPTIONS` and 405 responses list (RFC 9110 section 10.2.1).
pub const ALLOW: &str = "GET, HEAD, OPTIONS";

/// Seconds a 503 asks the client to wait (RFC 9110 section 10.2.3). A 503
/// means every connection slot was busy, and a slot frees as soon as any
/// connection closes; a client that honours the field (browsers do not,
/// scripts and load testers may) should come back soon, not in minutes.
const RETRY_AFTER: &str = "1";

#[derive(Debug)]
pub enum HttpError {
    BadRequest(&'static str),
    /// Credentials are required and were missing or wrong: the challenge
    /// to send (the `WWW-Authenticate` value of the scheme asked for), and
    /// which it was, for the log.
    Unauthorized {
        challenge: &'static str,
        note: Cow<'static, str>,
    },
    Forbidden(&'static str),
    /// A folder's index file is there but cannot be served (permissions, a
    /// FIFO): says which and why.
    UnusableIndex(String),
    NotFound(&'static str),
    /// The path names nothing at all (as opposed to something hidden or
    /// outside the root): `serve` may still answer it (single-page-app
    /// fallback, letter-case hint).
    NoSuchFile,
    /// Not found, but this path exists with other letter case.
    WrongCase(String),
    /// Not found: outside the `--base` the site is served under. Holds the
    /// base with its last slash, and the path under it the client may have
    /// meant.
    OutsideBase {
        base: String,
        meant: String,
    },
    /// A method we know but do not allow on files.
    MethodNotAllowed,
    /// A method we do not know at all.
    NotImplemented,
    /// The head did not arrive before its deadline.
    RequestTimeout,
    PreconditionFailed,
    ContentTooLarge,
    UriTooLong,
    /// No requested range overlaps a representation of this many bytes.
    RangeNotSatisfiable(u64),
    ExpectationFailed,
    HeaderFieldsTooLarge,
    /// The proxy's backend could not be reached, or did not answer in
    /// HTTP: what happened, in words for the developer whose backend it is.
    BadGateway(String),
    /// Every connection slot is busy.
    ServiceUnavailable,
    /// The proxy's backend sent no response head in time: which, and how
    /// long it was given.
    GatewayTimeout(String),
    VersionNotSupported,
    Io(io::Error),
}

impl HttpError {
    pub fn status(&self) -> Status {
        match self {
            HttpError::BadRequest(_) => Status::BadRequest,
            HttpError::Unauthorized { .. } => Status::Unauthorized,
            HttpError::Forbidden(_) | HttpError::UnusableIndex(_) => Status::Forbidden,
            HttpError::NotFound(_)
            | HttpError::NoSuchFile
            | HttpError::WrongCase(_)
            | HttpError::OutsideBase { .. } => Status::NotFound,
            HttpError::MethodNotAllowed => Status::MethodNotAllowed,
            HttpError::NotImplemented => Status::NotImplemented,
            HttpError::RequestTimeout => Status::RequestTimeout,
            HttpError::PreconditionFailed => Status::PreconditionFailed,
            HttpError::RangeNotSatisfiable(_) => Status::RangeNotSatisfiable,
            HttpError::ContentTooLarge => Status::ContentTooLarge,
            HttpError::UriTooLong => Status::UriTooLong,
            HttpError::ExpectationFailed => Status::ExpectationFailed,
            HttpError::HeaderFieldsTooLarge => Status::HeaderFieldsTooLarge,
            HttpError::BadGateway(_) => Status::BadGateway,
            HttpError::ServiceUnavailable => Status::ServiceUnavailable,
            HttpError::GatewayTimeout(_) => Status::GatewayTimeout,
            HttpError::VersionNotSupported => Status::VersionNotSupported,
            HttpError::Io(e) => match e.kind() {
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => Status::NotFound,
                io::ErrorKind::PermissionDenied => Status::Forbidden,
                _ => Status::InternalServerError,
            },
        }
    }

    /// A short reason for the log; may carry internal detail.
    pub fn reason(&self) -> Cow<'static, str> {
        match self {
            HttpError::BadRequest(why) | HttpError::Forbidden(why) | HttpError::NotFound(why) => {
                Cow::Borrowed(why)
            }
            HttpError::Unauthorized { note, .. } => note.clone(),
            HttpError::UnusableIndex(why) => Cow::Owned(format!("index file {why}")),
            HttpError::BadGateway(why) | HttpError::GatewayTimeout(why) => Cow::Owned(why.clone()),
            HttpError::NoSuchFile => Cow::Borrowed("no such file"),
            HttpError::WrongCase(existing) => {
                Cow::Owned(format!("no such file; {existing} differs only in case"))
            }
            HttpError::OutsideBase { base, .. } => Cow::Owned(format!("outside the base {base}")),
            HttpError::Io(e) => Cow::Owned(e.to_string()),
            other => Cow::Borrowed(other.status().reason()),
        }
    }

    /// Whether the site's owner should hear of this even with `--quiet`:
    /// the server failed (5xx), or the site is set up so that it cannot
    /// work (an index file that cannot be served).
    pub fn needs_attention(&self) -> bool {
        self.status().code() >= 500 || matches!(self, HttpError::UnusableIndex(_))
    }

    /// Whether opening a file failed for want of a descriptor.
    pub fn is_out_of_descriptors(&self) -> bool {
        matches!(self, HttpError::Io(e) if sys::is_out_of_descriptors(e))
    }

    /// The response a client gets: the status, a short HTML page naming it,
    /// and the fields that status requires.
    pub fn into_response(self) -> Response {
        let status = self.status();
        let title = format!("{} {}", status.code(), status.reason());
        // Names differing only in case work on some laptops' file systems
        // and fail everywhere else: say which name exists.
        let hint = match &self {
            HttpError::WrongCase(existing) => format!(
                "<p>Names are case-sensitive here. Did you mean <a href=\"{0}\">{0}</a>?</p>\n",
                escape_html(existing)
            ),
            // Vite answers the same way outside its `base`: a built asset
            // that asks for `/x` was built without the base.
            HttpError::OutsideBase { base, meant } => format!(
                "<p>This site is served under {0}, and this path is outside it. \
                 Did you mean <a href=\"{1}\">{1}</a>?</p>\n",
                escape_html(base),
                escape_html(meant)
            ),
            // The developer's own backend: what went wrong is theirs to see.
            HttpError::BadGateway(why) | HttpError::GatewayTimeout(why) => {
                format!("<p>{}</p>\n", escape_html(why))
            }
            _ => String::new(),
        };
        let page = page::simple(&title, &hint);
        let response = Response::new(status);
        let response = match self {
            // RFC 9110 section 15.5.2: a 401 MUST carry a challenge.
            HttpError::Unauthorized { challenge, .. } => {
                response.header("WWW-Authenticate", challenge)
            }
            // RFC 9110 section 15.5.6: a 405 MUST carry Allow.
            HttpError::MethodNotAllowed => response.header("Allow", ALLOW),
            // RFC 9110 section 10.2.3: when to try again.
            HttpError::ServiceUnavailable => response.header("Retry-After", RETRY_AFTER),
            // RFC 9110 section 15.5.17: a 416 says how long the file is.
            HttpError::RangeNotSatisfiable(len) => {
                response.header("Content-Range", format!("bytes */{len}"))
            }
            _ => response,
        };
        response.html(page)
    }
}

impl HttpError {
    /// The response for a client that did not ask for HTML (an API call
    /// through the proxy): the status and the reason as one line of text.
    pub fn into_text_response(self) -> Response {
        let status = self.status();
        let text = format!("{} {}: {}\n", status.code(), status.reason(), self.reason());
        Response::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(Body::Bytes(text.into_bytes()))
    }
}

/// The one place an I/O error is sorted: a path that leads to nothing
/// (missing, through a file used as a folder, a name too long) is
/// `NoSuchFile`; anything else keeps its error, which `status` maps.
impl From<io::Error> for HttpError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::InvalidFilename => HttpError::NoSuchFile,
            _ => HttpError::Io(e),
        }
    }
}

impl From<ParseError> for HttpError {
    fn from(e: ParseError) -> Self {
        match e {
            ParseError::Malformed(why) => HttpError::BadRequest(why),
            ParseError::TargetTooLong => HttpError::UriTooLong,
            ParseError::TooManyHeaders => HttpError::HeaderFieldsTooLarge,
            ParseError::VersionNotSupported => HttpError::VersionNotSupported,
        }
    }
}

impl From<BodyError> for HttpError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Invalid(why) => HttpError::BadRequest(why),
            BodyError::TooLarge => HttpError::ContentTooLarge,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_statuses_without_leaking_detail() {
        let cases = [
            (io::ErrorKind::NotFound, 404),
            (io::ErrorKind::PermissionDenied, 403),
            (io::ErrorKind::Other, 500),
        ];
        for (kind, code) in cases {
            let err = HttpError::Io(io::Error::new(kind, "/secret/path: errno 42"));
            assert_eq!(err.status().code(), code);
            assert!(err.reason().contains("/secret/path"));
            let response = err.into_response();
            let Body::Bytes(page) = &response.body else {
                panic!("error pages have a body")
            };
            let page = String::from_utf8_lossy(page);
            assert!(!page.contains("secret"), "{page}");
            assert!(page.contains(&format!("<title>{code} ")), "{page}");
        }
    }

    #[test]
    fn method_not_allowed_carries_allow() {
        let response = HttpError::MethodNotAllowed.into_response();
        assert_eq!(response.status.code(), 405);
        assert!(response.headers.contains(&("Allow", ALLOW.into())));
    }

    #[test]
    fn range_not_satisfiable_carries_the_length() {
        let response = HttpError::RangeNotSatisfiable(1234).into_response();
        assert_eq!(response.status.code(), 416);
        assert!(
            response
                .headers
                .contains(&("Content-Range", "bytes */1234".into()))
        );
    }

    #[test]
    fn a_backend_error_names_the_backend_in_html_or_in_text() {
        let why = "connection refused: is your backend running on 127.0.0.1:3000?";
        let page = HttpError::BadGateway(why.into()).into_response();
        assert_eq!(page.status.code(), 502);
        let Body::Bytes(html) = &page.body else {
            panic!("a page")
        };
        assert!(String::from_utf8_lossy(html).contains(&format!("<p>{why}</p>")));
        let text = HttpError::GatewayTimeout("no answer".into()).into_text_response();
        assert_eq!(text.status.code(), 504);
        let Body::Bytes(line) = &text.body else {
            panic!("a line")
        };
        assert_eq!(line, b"504 Gateway Timeout: no answer\n");
    }

    #[test]
    fn parse_and_body_errors_map() {
        let code = |error: HttpError| error.status().code();
        assert_eq!(code(ParseError::TargetTooLong.into()), 414);
        assert_eq!(code(ParseError::TooManyHeaders.into()), 431);
        assert_eq!(code(ParseError::VersionNotSupported.into()), 505);
        assert_eq!(code(ParseError::Malformed("x").into()), 400);
        assert_eq!(code(BodyError::TooLarge.into()), 413);
        assert_eq!(code(BodyError::Invalid("x").into()), 400);
    }
}
