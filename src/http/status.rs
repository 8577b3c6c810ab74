//! The statuses this server sends, with their reason phrases in one place,
//! and the phrases of those it passes on from a backend (RFC 9110 section
//! 15).
#![forbid(unsafe_code)]

/// The statuses this server sends, with their reason phrases in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    NoContent,
    PartialContent,
    MovedPermanently,
    Found,
    SeeOther,
    NotModified,
    TemporaryRedirect,
    PermanentRedirect,
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Gone,
    RequestTimeout,
    PreconditionFailed,
    ContentTooLarge,
    UriTooLong,
    RangeNotSatisfiable,
    ExpectationFailed,
    HeaderFieldsTooLarge,
    UnavailableForLegalReasons,
    InternalServerError,
    NotImplemented,
    BadGateway,
    ServiceUnavailable,
    GatewayTimeout,
    VersionNotSupported,
    /// Another server's status, passed on by the proxy.
    Relayed(u16),
}

impl Status {
    /// Its code and reason phrase, in one table.
    #[inline]
    pub fn line(self) -> (u16, &'static str) {
        match self {
            Status::Ok => (200, "OK"),
            Status::NoContent => (204, "No Content"),
            Status::PartialContent => (206, "Partial Content"),
            Status::MovedPermanently => (301, "Moved Permanently"),
            Status::Found => (302, "Found"),
            Status::SeeOther => (303, "See Other"),
            Status::NotModified => (304, "Not Modified"),
            Status::TemporaryRedirect => (307, "Temporary Redirect"),
            Status::PermanentRedirect => (308, "Permanent Redirect"),
            Status::BadRequest => (400, "Bad Request"),
            Status::Unauthorized => (401, "Unauthorized"),
            Status::Forbidden => (403, "Forbidden"),
            Status::NotFound => (404, "Not Found"),
            Status::MethodNotAllowed => (405, "Method Not Allowed"),
            Status::Gone => (410, "Gone"),
            Status::RequestTimeout => (408, "Request Timeout"),
            Status::PreconditionFailed => (412, "Precondition Failed"),
            Status::ContentTooLarge => (413, "Content Too Large"),
            Status::UriTooLong => (414, "URI Too Long"),
            Status::RangeNotSatisfiable => (416, "Range Not Satisfiable"),
            Status::ExpectationFailed => (417, "Expectation Failed"),
            Status::HeaderFieldsTooLarge => (431, "Request Header Fields Too Large"),
            Status::UnavailableForLegalReasons => (451, "Unavailable For Legal Reasons"),
            Status::InternalServerError => (500, "Internal Server Error"),
            Status::NotImplemented => (501, "Not Implemented"),
            Status::BadGateway => (502, "Bad Gateway"),
            Status::ServiceUnavailable => (503, "Service Unavailable"),
            Status::GatewayTimeout => (504, "Gateway Timeout"),
            Status::VersionNotSupported => (505, "HTTP Version Not Supported"),
            Status::Relayed(code) => (code, standard_reason(code)),
        }
    }

    pub fn code(self) -> u16 {
        self.line().0
    }

    pub fn reason(self) -> &'static str {
        self.line().1
    }

    /// RFC 9110 sections 15.2, 15.3.5 and 15.4.5: 1xx, 204 and 304 never
    /// have content.
    pub fn forbids_body(self) -> bool {
        match self {
            Status::NoContent | Status::NotModified => true,
            Status::Relayed(code) => code < 200 || code == 204 || code == 304,
            _ => false,
        }
    }
}

/// The reason phrase RFC 9110 section 15 gives a status code, for one
/// relayed from elsewhere; empty for a code it does not register (the
/// phrase is optional, RFC 9112 section 4).
fn standard_reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        101 => "Switching Protocols",
        // RFC 8297.
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        // RFC 7725.
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_reasons() {
        assert_eq!(Status::NotFound.code(), 404);
        assert_eq!(
            Status::HeaderFieldsTooLarge.reason(),
            "Request Header Fields Too Large"
        );
        assert!(Status::NoContent.forbids_body());
        assert!(Status::NotModified.forbids_body());
        assert!(!Status::NotFound.forbids_body());
    }
}
