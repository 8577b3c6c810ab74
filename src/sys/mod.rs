//! Everything that differs between platforms, and the only module allowed
//! `unsafe`: the rest of the server does not know which system it runs on.
//! It imports std only: the system calls std does not expose are declared
//! here, from the C library std links anyway.
//!
//! This file holds the contract of each call, on a thin function (or
//! constant) that hands the work to one file per platform:
//!
//! - `linux.rs`: Linux's fast paths, on 64-bit Linux on x86_64, aarch64 and
//!   riscv64, whose constants they use.
//!   - `send_file_once` copies a range of a file to a socket inside the
//!     kernel with `sendfile(2)`: `std::io::copy` from a `File` to a
//!     `TcpStream` moves 8 KiB at a time through user space instead.
//!   - `send_once` writes with `MSG_MORE` when asked, so a response head
//!     waits in the kernel for the body that follows and both leave in the
//!     same segments.
//!   - `queued` reads how much of what was written to a socket the peer has
//!     not yet acknowledged (`SIOCOUTQ`), which is how `sender` tells a
//!     client that reads slowly from one that stopped reading.
//!   - `open_beneath` opens a path relative to the root folder with
//!     `openat2(2)`, which refuses (rather than follows) any symlink and any
//!     escape from that folder: one system call instead of resolving every
//!     component in user space.
//!   - `defer_accept` sets `TCP_DEFER_ACCEPT` on the listener, so a
//!     connection is handed to `accept` once its first bytes have arrived.
//!   - `set_backlog` lets 4,096 connections wait for `accept`, where std's
//!     `bind` leaves 128.
//!   - `keep_alive` turns on TCP keepalive, with timings of its own.
//!   - `send_pair` (portable too) writes a head and a body in one `writev`.
//!   - `peek_now` looks at a socket without waiting in one `recv`.
//! - `portable.rs`: the same calls elsewhere (macOS, Windows, other systems,
//!   and a Linux build with `RUSTFLAGS='--cfg portable'`, which is how the
//!   portable path is tested on Linux). Each does the same work more slowly
//!   through std, or says `Unsupported` and the caller does without.
//! - `unix.rs` and `windows.rs`: what each offers through std, whichever of
//!   the two above is taken: a file's identity and change time for its
//!   version, whether an error means no descriptor was left, reading at an
//!   offset, the accept timeout, the desktop's opener, which file names the
//!   file system aliases, whether a write that timed out may be tried again,
//!   and whether the cache may keep files open. And the limit on open files,
//!   read and raised on Linux and macOS (in `unix.rs`), not read elsewhere.
//!
//! Only `linux.rs` and `unix.rs` hold `unsafe` code, and every `unsafe`
//! block says why it is sound; the other files forbid it. `main.rs` allows
//! unsafe code for this module alone.

use std::fs::{File, Metadata};
use std::io;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

// The calls Linux makes fast, and their fallbacks.
#[cfg(all(
    target_os = "linux",
    not(portable),
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
))]
#[path = "linux.rs"]
mod imp;
#[cfg(not(all(
    target_os = "linux",
    not(portable),
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
)))]
#[path = "portable.rs"]
mod imp;

// What each family of systems offers through std, and the open-file limit.
#[cfg(unix)]
#[path = "unix.rs"]
mod os;
#[cfg(windows)]
#[path = "windows.rs"]
mod os;

// Sending.

/// One call that sends up to `len` bytes of `file`, from `offset`, to
/// `socket`, and says how many it sent: 0 means the file ended (it was
/// truncated while being sent). A blocked call ends when the socket's write
/// timeout expires, with what it sent so far or `WouldBlock`.
#[inline]
pub fn send_file_once(socket: &TcpStream, file: &File, offset: u64, len: u64) -> io::Result<usize> {
    imp::send_file_once(socket, file, offset, len)
}

/// One `send` of `buf`, returning how many bytes the kernel took. With
/// `more`, the kernel is told more data follows at once, so a response head
/// waits to leave in the same segments as its body.
#[inline]
pub fn send_once(socket: &TcpStream, buf: &[u8], more: bool) -> io::Result<usize> {
    imp::send_once(socket, buf, more)
}

/// Looks, without waiting and without taking anything, at what `socket`
/// has to read: `Ok(0)` once the peer has closed its side, `Ok(1)` if a
/// byte waits, `WouldBlock` if nothing has come. One `recv` with
/// `MSG_PEEK | MSG_DONTWAIT` on Linux; elsewhere the socket is made
/// non-blocking for the look.
#[inline]
pub fn peek_now(socket: &TcpStream) -> io::Result<usize> {
    imp::peek_now(socket)
}

/// One vectored write of `first` and then `second`, returning how many bytes
/// the kernel took: a head and a body in one system call, without copying.
#[inline]
pub fn send_pair(socket: &TcpStream, first: &[u8], second: &[u8]) -> io::Result<usize> {
    imp::send_pair(socket, first, second)
}

/// The bytes written to `socket` that the peer has not yet acknowledged.
/// The peer's TCP acknowledges only what fits in its receive buffer, so
/// this falls only as the peer application reads. `Unsupported` where the
/// platform cannot tell.
#[inline]
pub fn queued(socket: &TcpStream) -> io::Result<u64> {
    imp::queued(socket)
}

/// Whether a write that timed out may have sent part of its data without
/// saying so. Then the socket's write timeout is the whole send timeout,
/// and a write that reaches it ends the connection; writes are small (see
/// `send_once`), so a client that reads slowly but steadily finishes each
/// one in time.
pub const TIMED_OUT_SEND_IS_FINAL: bool = os::TIMED_OUT_SEND_IS_FINAL;

// Listening and accepting.

/// Asks the kernel to queue a new connection for `accept` only once the
/// client has sent something, or `seconds` have passed (Linux's
/// `TCP_DEFER_ACCEPT`). A thread then never wakes for a connection only to
/// wait again for its request, and a connection that sends nothing occupies
/// no thread until the wait is over.
#[inline]
pub fn defer_accept(listener: &TcpListener, seconds: u32) -> io::Result<()> {
    imp::defer_accept(listener, seconds)
}

/// Lets `backlog` connections wait for `accept` (the kernel caps it at
/// `net.core.somaxconn`) where std's `bind` leaves 128: a burst of new
/// connections beyond the backlog is dropped or answered with SYN cookies,
/// and a dropped client tries again only a second later.
#[inline]
pub fn set_backlog(listener: &TcpListener, backlog: u32) -> io::Result<()> {
    imp::set_backlog(listener, backlog)
}

/// Has the kernel probe `socket` once it has been quiet for `idle_seconds`,
/// and fail its reads once the peer no longer answers (a few probes later):
/// how a connection that waits for ever (a WebSocket) notices a peer that
/// vanished without closing. `Unsupported` off Linux's fast path.
#[inline]
pub fn keep_alive(socket: &TcpStream, idle_seconds: u32) -> io::Result<()> {
    imp::keep_alive(socket, idle_seconds)
}

/// Bounds how long `accept` on `listener` blocks (Linux applies a socket's
/// receive timeout to it); `Unsupported` elsewhere.
#[inline]
pub fn set_accept_timeout(listener: &TcpListener, timeout: Duration) -> io::Result<()> {
    os::set_accept_timeout(listener, timeout)
}

/// Whether an error says the process or the system has no descriptor left
/// for another file or socket (`EMFILE`, `ENFILE`).
#[inline]
pub fn is_out_of_descriptors(error: &io::Error) -> bool {
    os::is_out_of_descriptors(error)
}

/// Raises the soft limit on open files as far as the system allows (to
/// the hard limit; on macOS no further than `OPEN_MAX`, 10,240) and returns
/// the soft limit now in force. Linux often starts processes with a soft
/// limit of 1,024 and macOS with 256, which a thread-per-connection server
/// exhausts long before the machine is busy (Go's runtime raises it at
/// start for the same reason). `Unsupported` where the limit is not read.
#[inline]
pub fn raise_open_file_limit() -> io::Result<u64> {
    os::raise_open_file_limit()
}

/// The soft limit on open files in force now; `Unsupported` where it is
/// not read.
#[inline]
pub fn open_file_limit() -> io::Result<u64> {
    os::open_file_limit()
}

// Files.

/// Opens `relative` (read-only, non-blocking) under the folder `dir`, failing
/// if any component is a symlink or the path would leave `dir`. An error of
/// kind `Unsupported`, or any error but not-found and permission-denied, means
/// the caller should resolve the path the slow way.
#[inline]
pub fn open_beneath(dir: &File, relative: &Path) -> io::Result<File> {
    imp::open_beneath(dir, relative)
}

/// Whether the file system gives some names a second meaning that could
/// reach a file the request did not name (Windows: trailing dots and
/// spaces, streams, device names, short names); `resolve` refuses them.
pub const ALIASED_NAMES: bool = os::ALIASED_NAMES;

/// Two numbers that, with its size and modification time, tell one file
/// from another: device and inode on Unix (a file renamed over another is
/// another file); the creation time on Windows.
#[inline]
pub fn file_identity(metadata: &Metadata) -> [u64; 2] {
    os::file_identity(metadata)
}

/// A file's modification time as seconds since the epoch and nanoseconds,
/// read straight from the metadata where the platform keeps it so.
#[inline]
pub fn modified_parts(metadata: &Metadata) -> (i64, i64) {
    os::modified_parts(metadata)
}

/// A file's status change time (`chmod`, `rename`, `link` and writes set
/// it, and no tool can set it back) as seconds and nanoseconds; `None`
/// where std does not offer it (Windows).
#[inline]
pub fn changed_parts(metadata: &Metadata) -> Option<(i64, i64)> {
    os::changed_parts(metadata)
}

/// Whether the file cache may keep files open between requests.
pub const KEEP_FILES_OPEN: bool = os::KEEP_FILES_OPEN;

/// One positional read of `file` at `offset`, as `Read::read` counts.
#[inline]
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    os::read_at(file, buf, offset)
}

/// Fills `buf` from `file` at `offset`; `UnexpectedEof` if the file ends
/// first (it shrank while being served).
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    match read_up_to_at(file, buf, offset)? {
        n if n == buf.len() => Ok(()),
        _ => Err(io::ErrorKind::UnexpectedEof.into()),
    }
}

/// Reads from `file` at `offset` until `buf` is full or the file ends, and
/// says how many bytes it read.
pub fn read_up_to_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match read_at(file, &mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

// The desktop.

/// The program that opens a URL in the desktop's browser.
pub const OPENER: &str = os::OPENER;
