//! What Windows offers through std: a file's identity and modification
//! time (it offers no change time), positional reads, which errors mean no
//! handle was left, the desktop's opener, the names the file system
//! aliases, and what a timed-out write leaves. Accept has no timeout here,
//! and the limit on open files is not read: Windows has no such small
//! per-process limit.
#![forbid(unsafe_code)]

use std::fs::{File, Metadata};
use std::io;
use std::net::TcpListener;
use std::os::windows::fs::FileExt;
use std::time::Duration;

/// The volume serial number and file index would identify the file, but
/// std offers them only on nightly: its creation time stands in (a file
/// written anew and renamed over another has its own, unless NTFS's
/// tunnelling carries the old one over), beside the size and last-write
/// time the callers add.
pub fn file_identity(metadata: &Metadata) -> [u64; 2] {
    use std::os::windows::fs::MetadataExt;
    [metadata.creation_time(), 0]
}

pub fn modified_parts(metadata: &Metadata) -> (i64, i64) {
    let since = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    since.map_or((0, 0), |d| {
        (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            i64::from(d.subsec_nanos()),
        )
    })
}

/// std offers no change time on Windows (only on nightly): the
/// identity, size and last-write time must do.
pub fn changed_parts(_metadata: &Metadata) -> Option<(i64, i64)> {
    None
}

/// `ERROR_TOO_MANY_OPEN_FILES`, and Winsock's `WSAEMFILE` for sockets.
pub fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(4 | 10024))
}

pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    // Moves the handle's position too, which nothing here relies on:
    // every read of a served file names its offset.
    file.seek_read(buf, offset)
}

pub fn set_accept_timeout(_listener: &TcpListener, _timeout: Duration) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "Windows' accept ignores a socket's receive timeout",
    ))
}

/// Windows has no such small per-process limit on open files as Unix
/// systems have: it is not read.
pub fn open_file_limit() -> io::Result<u64> {
    Err(limit_not_read())
}

pub fn raise_open_file_limit() -> io::Result<u64> {
    Err(limit_not_read())
}

fn limit_not_read() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "the open-file limit is not read on this platform",
    )
}

pub const OPENER: &str = "explorer";

pub const ALIASED_NAMES: bool = true;

/// A file open here keeps its name taken after it is deleted, until it
/// is closed: an editor that saves by deleting and writing anew could
/// fail.
pub const KEEP_FILES_OPEN: bool = false;

/// "If a send or receive operation times out on a socket, the socket
/// state is indeterminate, and should not be used" (Winsock's
/// documentation of SO_SNDTIMEO): some of the data may have gone.
pub const TIMED_OUT_SEND_IS_FINAL: bool = true;
