//! Developer conveniences that are not on the core path: live reload, QR codes, local addresses.

pub mod addresses;
pub mod livereload;
pub mod qr;
