//! The portable fallbacks for the calls `linux.rs` makes fast: what macOS,
//! Windows, other systems and a Linux build with `--cfg portable` use. Each
//! does the same work more slowly through std, or says `Unsupported` and
//! the caller does without.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;

/// The most one write hands over. Where a timed-out write ends the
/// connection (Windows), small enough that a client reading 40 KiB a
/// second takes it well within a second.
const CHUNK: usize = if super::TIMED_OUT_SEND_IS_FINAL {
    16 * 1024
} else {
    64 * 1024
};

/// Reads up to `CHUNK` bytes at `offset` and writes what the socket
/// takes; the rest is read again by the next call.
pub fn send_file_once(socket: &TcpStream, file: &File, offset: u64, len: u64) -> io::Result<usize> {
    let mut chunk = vec![0; len.min(CHUNK as u64) as usize];
    let read = super::read_at(file, &mut chunk, offset)?;
    if read == 0 {
        return Ok(0);
    }
    (&*socket).write(&chunk[..read])
}

pub fn send_once(socket: &TcpStream, buf: &[u8], _more: bool) -> io::Result<usize> {
    (&*socket).write(&buf[..buf.len().min(CHUNK)])
}

pub fn send_pair(socket: &TcpStream, first: &[u8], second: &[u8]) -> io::Result<usize> {
    let first = &first[..first.len().min(CHUNK)];
    let second = &second[..second.len().min(CHUNK - first.len())];
    (&*socket).write_vectored(&[IoSlice::new(first), IoSlice::new(second)])
}

pub fn peek_now(socket: &TcpStream) -> io::Result<usize> {
    socket.set_nonblocking(true)?;
    let mut probe = [0u8; 1];
    let got = socket.peek(&mut probe);
    socket.set_nonblocking(false)?;
    got
}

pub fn queued(_socket: &TcpStream) -> io::Result<u64> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "the send queue cannot be read on this platform",
    ))
}

pub fn open_beneath(_dir: &File, _relative: &Path) -> io::Result<File> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "openat2 is Linux's",
    ))
}

pub fn defer_accept(_listener: &TcpListener, _seconds: u32) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "TCP_DEFER_ACCEPT is Linux-only",
    ))
}

pub fn keep_alive(_socket: &TcpStream, _idle_seconds: u32) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "std cannot set TCP keepalive's timings",
    ))
}

pub fn set_backlog(_listener: &TcpListener, _backlog: u32) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "std listens with a backlog of 128 and offers no way to change it",
    ))
}
