//! HTTP/1.1 messages: parsing requests, writing responses, and the RFC 9110 vocabulary between.

pub mod conditional;
pub mod date;
pub mod encoding;
pub mod error;
pub mod mime;
pub mod page;
pub mod range;
pub mod request;
pub mod request_body;
pub mod response;
pub mod sender;
pub mod syntax;
pub mod target;
