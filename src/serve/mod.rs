//! What to answer: the handler that turns a request into a response.

pub mod auth;
pub mod handler;
pub mod host;
pub mod listing;
