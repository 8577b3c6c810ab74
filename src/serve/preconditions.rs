//! The head a file and a listing share: the fields a 200 and its 304 both
//! carry, then what the preconditions (`http::conditional`) decided.
//!
//! Imports `http`.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::ops::ControlFlow;

use crate::http::conditional::{Outcome, Validators};
use crate::http::error::HttpError;
use crate::http::response::{Response, Status};
use crate::serve::site::Site;

/// The fields a 200 and its 304 share (RFC 9110 section 15.4.5: ETag,
/// Last-Modified when given, Cache-Control, Vary), then what the
/// preconditions' `outcome` calls for: `Continue` with the 200 to complete,
/// or `Break` with the 304 or 412 to send instead.
pub fn validated(
    outcome: Outcome,
    validators: Validators,
    last_modified: Option<String>,
    vary: Option<&'static str>,
    site: &Site,
) -> ControlFlow<Result<Response, HttpError>, Response> {
    let mut response = Response::new(Status::Ok);
    response.add("ETag", validators.etag);
    response.add("Cache-Control", site.settings.cache_control);
    if let Some(date) = last_modified {
        response.add("Last-Modified", date);
    }
    if let Some(vary) = vary {
        response.add("Vary", vary);
    }
    match outcome {
        Outcome::Proceed => ControlFlow::Continue(response),
        Outcome::NotModified(by) => {
            response.status = Status::NotModified;
            response.note = Some(Cow::Borrowed(by.name()));
            ControlFlow::Break(Ok(response))
        }
        Outcome::PreconditionFailed => ControlFlow::Break(Err(HttpError::PreconditionFailed)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::conditional::Validator;
    use crate::serve::tests::{TempDir, field, site_with};

    #[test]
    fn a_304_repeats_the_fields_of_its_200() {
        let folder = TempDir::new("validated");
        let site = site_with(&folder, |_| {});
        let validators = || Validators {
            etag: "\"1-2\"".into(),
            last_modified: None,
        };
        let date = || Some("Sun, 06 Nov 1994 08:49:37 GMT".to_string());
        let ControlFlow::Continue(ok) = validated(
            Outcome::Proceed,
            validators(),
            date(),
            Some("Accept"),
            &site,
        ) else {
            panic!("a 200 goes on");
        };
        let ControlFlow::Break(Ok(not_modified)) = validated(
            Outcome::NotModified(Validator::Etag),
            validators(),
            date(),
            Some("Accept"),
            &site,
        ) else {
            panic!("a 304 is the answer");
        };
        assert_eq!(not_modified.status, Status::NotModified);
        assert_eq!(not_modified.note.as_deref(), Some("etag"));
        assert_eq!(ok.headers, not_modified.headers);
        assert_eq!(field(&ok, "ETag"), Some("\"1-2\""));
        assert_eq!(field(&ok, "Cache-Control"), Some("no-cache"));
        assert_eq!(field(&ok, "Vary"), Some("Accept"));
        let failed = validated(Outcome::PreconditionFailed, validators(), None, None, &site);
        assert!(matches!(
            failed,
            ControlFlow::Break(Err(HttpError::PreconditionFailed))
        ));
    }
}
