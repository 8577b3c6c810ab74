//! The file system side: resolving a target under the root, the file cache, a file's version.

pub mod cache;
pub mod resolve;
pub mod version;

#[cfg(test)]
mod fuzz_tests;
