//! The host's rules, read from the served folder: `_redirects` and
//! `_headers`, in the format Netlify created and Cloudflare Pages, GitLab
//! Pages and IPFS gateways read (issue 25). Work in progress on this
//! branch: the patterns and the parsers, not yet wired into `serve`.
//!
//! Imports std only.
#![forbid(unsafe_code)]
// Not yet used by `serve`: this branch is a start on issue 25.
#![allow(dead_code)]

pub mod headers;
pub mod pattern;
pub mod redirects;
