//! Everything that differs between platforms, and the only module allowed
//! `unsafe`: the rest of the server does not know which system it runs on.
//!
//! Linux's fast paths, on 64-bit Linux on the architectures below,
//! whose constants they use:
//! - `send_file_once` copies a range of a file to a socket inside the kernel
//!   with `sendfile(2)`: `std::io::copy` from a `File` to a `TcpStream` moves
//!   8 KiB at a time through user space instead.
//! - `send_once` writes with `MSG_MORE` when asked, so a response head waits
//!   in the kernel for the body that follows and both leave in the same
//!   segments.
//! - `queued` reads how much of what was written to a socket the peer has
//!   not yet acknowledged (`SIOCOUTQ`), which is how `sender` tells a client
//!   that reads slowly from one that stopped reading.
//! - `open_beneath` opens a path relative to the root folder with
//!   `openat2(2)`, which refuses (rather than follows) any symlink and any
//!   escape from that folder: one system call instead of resolving every
//!   component in user space.
//! - `defer_accept` sets `TCP_DEFER_ACCEPT` on the listener, so a connection
//!   is handed to `accept` once its first bytes have arrived.
//! - `set_backlog` lets 4,096 connections wait for `accept`, where std's
//!   `bind` leaves 128.
//! - `send_pair` (portable too) writes a head and a body in one `writev`.
//!
//! Elsewhere (macOS, Windows, other systems, and a Linux build
//! with `RUSTFLAGS='--cfg portable'`, which is how the portable path is
//! tested on Linux) each does the same work more slowly through std, or says
//! `Unsupported` and the caller does without. The limit on open files is
//! read and raised on Linux and macOS whichever path is taken (`limit`).
//! What Unix and Windows each offer through std (`unix`, `windows`): a
//! file's identity and change time for its version, whether an error means
//! no descriptor was left, reading at an offset, the accept timeout, the
//! desktop's opener, which file names the file system aliases, whether a
//! write that timed out may be tried again, and whether the cache may keep
//! files open. Every `unsafe` block says why it is
//! sound; `main.rs` allows unsafe code for this module alone.

use std::fs::File;
use std::io;

#[cfg(all(
    target_os = "linux",
    not(portable),
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
))]
/// Linux's fast paths.
mod imp {
    use std::fs::File;
    use std::io::{self, IoSlice, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    unsafe extern "C" {
        // ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count);
        // off_t is 64 bits on these targets.
        fn sendfile(out_fd: i32, in_fd: i32, offset: *mut i64, count: usize) -> isize;
        // ssize_t send(int sockfd, const void *buf, size_t len, int flags);
        fn send(fd: i32, buf: *const u8, len: usize, flags: i32) -> isize;
        // long syscall(long number, ...);
        fn syscall(number: i64, ...) -> i64;
        // int setsockopt(int fd, int level, int name, const void *value, socklen_t len);
        fn setsockopt(fd: i32, level: i32, name: i32, value: *const i32, len: u32) -> i32;
        fn listen(fd: i32, backlog: i32) -> i32;
        // int ioctl(int fd, unsigned long request, ...);
        fn ioctl(fd: i32, request: u64, ...) -> i32;
    }

    /// struct open_how from <linux/openat2.h>.
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }

    const IPPROTO_TCP: i32 = 6;
    const TCP_DEFER_ACCEPT: i32 = 9;
    const MSG_MORE: i32 = 0x8000;
    /// TIOCOUTQ: for a TCP socket, the bytes in its send queue (not yet
    /// sent, or sent and not yet acknowledged).
    const SIOCOUTQ: u64 = 0x5411;
    const MSG_NOSIGNAL: i32 = 0x4000;
    const SYS_OPENAT2: i64 = 437;
    const O_NOCTTY: u64 = 0o400;
    const O_NONBLOCK: u64 = 0o4000;
    const O_CLOEXEC: u64 = 0o2000000;
    const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
    const RESOLVE_NO_SYMLINKS: u64 = 0x04;
    const RESOLVE_BENEATH: u64 = 0x08;
    /// Linux transfers at most 0x7ffff000 bytes per sendfile call.
    const MAX_CHUNK: u64 = 0x7fff_f000;

    pub fn send_file_once(
        socket: &TcpStream,
        file: &File,
        offset: u64,
        len: u64,
    ) -> io::Result<usize> {
        let mut position = i64::try_from(offset)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
        let count = len.min(MAX_CHUNK) as usize;
        // SAFETY: both descriptors are open for the whole call, borrowed
        // from live `TcpStream` and `File` values; `position` is a valid,
        // exclusively borrowed i64 the kernel reads and advances; `count`
        // is bounded above.
        let sent = unsafe { sendfile(socket.as_raw_fd(), file.as_raw_fd(), &mut position, count) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(sent as usize)
    }

    pub fn send_once(socket: &TcpStream, buf: &[u8], more: bool) -> io::Result<usize> {
        let flags = if more {
            MSG_MORE | MSG_NOSIGNAL
        } else {
            MSG_NOSIGNAL
        };
        // SAFETY: `buf` is a live, initialised slice for the whole call and
        // its length is passed with it; the descriptor is borrowed from a
        // live `TcpStream`.
        let sent = unsafe { send(socket.as_raw_fd(), buf.as_ptr(), buf.len(), flags) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(sent as usize)
    }

    pub fn send_pair(socket: &TcpStream, first: &[u8], second: &[u8]) -> io::Result<usize> {
        // writev(2); std leaves SIGPIPE ignored, so a closed peer is EPIPE.
        (&*socket).write_vectored(&[IoSlice::new(first), IoSlice::new(second)])
    }

    pub fn queued(socket: &TcpStream) -> io::Result<u64> {
        let mut queued: i32 = 0;
        // SAFETY: SIOCOUTQ writes one int through the pointer, which points
        // to a live, exclusively borrowed i32; the descriptor is borrowed
        // from a live `TcpStream`.
        let status = unsafe { ioctl(socket.as_raw_fd(), SIOCOUTQ, &mut queued as *mut i32) };
        if status != 0 {
            return Err(io::Error::last_os_error());
        }
        u64::try_from(queued).map_err(|_| io::Error::other("negative send queue"))
    }

    pub fn open_beneath(dir: &File, relative: &Path) -> io::Result<File> {
        let bytes = relative.as_os_str().as_bytes();
        if bytes.contains(&0) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"));
        }
        // The NUL-terminated copy the kernel needs: on the stack for the
        // usual short path, on the heap for a long one.
        let mut short = [0u8; 256];
        let long;
        let path: &[u8] = if bytes.len() < short.len() {
            short[..bytes.len()].copy_from_slice(bytes);
            &short[..=bytes.len()]
        } else {
            long = [bytes, &[0]].concat();
            &long
        };
        let how = OpenHow {
            // Read-only; non-blocking, so opening a FIFO cannot wait for a
            // writer (nothing is ever read from one: the caller checks the
            // type first); never a controlling terminal.
            flags: O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
            mode: 0,
            resolve: RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        // SAFETY: the arguments match openat2(int dirfd, const char *path,
        // struct open_how *how, size_t size): a descriptor borrowed from a
        // live `File`, a NUL-terminated string (`path` ends in its only NUL,
        // checked above) that outlives the call, a pointer to a live
        // `OpenHow` with the kernel's layout, and its size.
        let fd = unsafe {
            syscall(
                SYS_OPENAT2,
                dir.as_raw_fd() as i64,
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = i32::try_from(fd).map_err(|_| io::Error::other("descriptor out of range"))?;
        // SAFETY: the kernel just returned this descriptor to us; nothing else
        // owns it, so `OwnedFd` may take it and close it once.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(File::from(owned))
    }

    pub fn defer_accept(listener: &TcpListener, seconds: u32) -> io::Result<()> {
        let value = i32::try_from(seconds).unwrap_or(i32::MAX);
        // SAFETY: the descriptor is borrowed from a live `TcpListener`; the
        // value points to a live i32 and its size is passed with it.
        let status = unsafe {
            setsockopt(
                listener.as_raw_fd(),
                IPPROTO_TCP,
                TCP_DEFER_ACCEPT,
                &value,
                std::mem::size_of::<i32>() as u32,
            )
        };
        if status != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub fn set_backlog(listener: &TcpListener, backlog: u32) -> io::Result<()> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        // SAFETY: the descriptor is borrowed from a live `TcpListener`;
        // listen(2) on a listening socket only changes its backlog.
        if unsafe { listen(listener.as_raw_fd(), backlog) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(not(all(
    target_os = "linux",
    not(portable),
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
)))]
/// The portable fallbacks.
mod imp {
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
    pub fn send_file_once(
        socket: &TcpStream,
        file: &File,
        offset: u64,
        len: u64,
    ) -> io::Result<usize> {
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

    pub fn set_backlog(_listener: &TcpListener, _backlog: u32) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "std listens with a backlog of 128 and offers no way to change it",
        ))
    }
}

/// The limit on open files, where `struct rlimit` and `RLIMIT_NOFILE` are
/// spelled out here: 64-bit Linux on the architectures above (whichever
/// path the rest takes) and macOS. Both have a 64-bit `rlim_t`.
#[cfg(any(
    all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    ),
    target_os = "macos"
))]
mod limit {
    use std::io;

    /// struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; }
    #[repr(C)]
    struct Rlimit {
        cur: u64,
        max: u64,
    }

    unsafe extern "C" {
        fn getrlimit(resource: i32, rlim: *mut Rlimit) -> i32;
        fn setrlimit(resource: i32, rlim: *const Rlimit) -> i32;
    }

    #[cfg(target_os = "linux")]
    const RLIMIT_NOFILE: i32 = 7;
    #[cfg(target_os = "macos")]
    const RLIMIT_NOFILE: i32 = 8;

    /// The most the soft limit may be raised to. macOS refuses a soft
    /// limit above `OPEN_MAX` (10,240, <sys/syslimits.h>) whatever the hard
    /// limit says, which is often "unlimited": Go's runtime caps it the same
    /// way.
    #[cfg(target_os = "macos")]
    fn ceiling(hard: u64) -> u64 {
        hard.min(10_240)
    }
    #[cfg(not(target_os = "macos"))]
    fn ceiling(hard: u64) -> u64 {
        hard
    }

    fn get() -> io::Result<Rlimit> {
        let mut limit = Rlimit { cur: 0, max: 0 };
        // SAFETY: `limit` is a valid, writable `struct rlimit` for the call.
        if unsafe { getrlimit(RLIMIT_NOFILE, &mut limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(limit)
    }

    pub fn open_file_limit() -> io::Result<u64> {
        get().map(|limit| limit.cur)
    }

    pub fn raise_open_file_limit() -> io::Result<u64> {
        let limit = get()?;
        let target = ceiling(limit.max);
        if limit.cur >= target {
            return Ok(limit.cur);
        }
        let raised = Rlimit {
            cur: target,
            max: limit.max,
        };
        // SAFETY: `raised` is a valid `struct rlimit` that lives across the call.
        if unsafe { setrlimit(RLIMIT_NOFILE, &raised) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(target)
    }
}

/// Elsewhere the limit is not read: Windows has no such small per-process
/// limit, and other systems are not described here.
#[cfg(not(any(
    all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    ),
    target_os = "macos"
)))]
mod limit {
    use std::io;

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "the open-file limit is not read on this platform",
        )
    }

    pub fn open_file_limit() -> io::Result<u64> {
        Err(unsupported())
    }

    pub fn raise_open_file_limit() -> io::Result<u64> {
        Err(unsupported())
    }
}

#[cfg(unix)]
mod unix {
    use std::fs::{File, Metadata};
    use std::io;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::OwnedFd;
    use std::os::unix::fs::{FileExt, MetadataExt};
    use std::time::Duration;

    pub fn file_identity(metadata: &Metadata) -> [u64; 2] {
        [metadata.dev(), metadata.ino()]
    }

    pub fn modified_parts(metadata: &Metadata) -> (i64, i64) {
        (metadata.mtime(), metadata.mtime_nsec())
    }

    pub fn changed_parts(metadata: &Metadata) -> Option<(i64, i64)> {
        Some((metadata.ctime(), metadata.ctime_nsec()))
    }

    /// `ENFILE` and `EMFILE`: the same numbers on Linux, macOS and the BSDs.
    pub fn is_out_of_descriptors(error: &io::Error) -> bool {
        matches!(error.raw_os_error(), Some(23 | 24))
    }

    pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        file.read_at(buf, offset)
    }

    pub fn set_accept_timeout(listener: &TcpListener, timeout: Duration) -> io::Result<()> {
        if !cfg!(target_os = "linux") {
            // macOS's and the BSDs' accept(2) wait without a timeout.
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "only Linux applies a receive timeout to accept",
            ));
        }
        // std sets SO_RCVTIMEO only through a `TcpStream`: one made from a
        // duplicate of the listener's descriptor shares its socket.
        let duplicate = OwnedFd::from(listener.try_clone()?);
        TcpStream::from(duplicate).set_read_timeout(Some(timeout))
    }

    pub const OPENER: &str = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };

    pub const ALIASED_NAMES: bool = false;

    pub const KEEP_FILES_OPEN: bool = true;

    pub const TIMED_OUT_SEND_IS_FINAL: bool = false;
}

#[cfg(windows)]
mod windows {
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
}

#[cfg(unix)]
use unix as os;
#[cfg(windows)]
use windows as os;

/// Two numbers that, with its size and modification time, tell one file
/// from another: device and inode on Unix (a file renamed over another is
/// another file); the creation time on Windows.
pub use os::file_identity;

/// A file's modification time as seconds since the epoch and nanoseconds,
/// read straight from the metadata where the platform keeps it so.
pub use os::modified_parts;

/// A file's status change time (`chmod`, `rename`, `link` and writes set
/// it, and no tool can set it back) as seconds and nanoseconds; `None`
/// where std does not offer it (Windows).
pub use os::changed_parts;

/// Whether an error says the process or the system has no descriptor left
/// for another file or socket (`EMFILE`, `ENFILE`).
pub use os::is_out_of_descriptors;

/// Whether the file cache may keep files open between requests.
pub use os::KEEP_FILES_OPEN;

/// One positional read of `file` at `offset`, as `Read::read` counts.
pub use os::read_at;

/// Fills `buf` from `file` at `offset`; `UnexpectedEof` if the file ends
/// first (it shrank while being served).
pub fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match read_at(file, buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Bounds how long `accept` on `listener` blocks (Linux applies a socket's
/// receive timeout to it); `Unsupported` elsewhere.
pub use os::set_accept_timeout;

/// The program that opens a URL in the desktop's browser.
pub use os::OPENER;

/// Whether a write that timed out may have sent part of its data without
/// saying so. Then the socket's write timeout is the whole send timeout,
/// and a write that reaches it ends the connection; writes are small (see
/// `send_once`), so a client that reads slowly but steadily finishes each
/// one in time.
pub use os::TIMED_OUT_SEND_IS_FINAL;

/// Whether the file system gives some names a second meaning that could
/// reach a file the request did not name (Windows: trailing dots and
/// spaces, streams, device names, short names); `resolve` refuses them.
pub use os::ALIASED_NAMES;

/// One call that sends up to `len` bytes of `file`, from `offset`, to
/// `socket`, and says how many it sent: 0 means the file ended (it was
/// truncated while being sent). A blocked call ends when the socket's write
/// timeout expires, with what it sent so far or `WouldBlock`.
pub use imp::send_file_once;

/// One `send` of `buf`, returning how many bytes the kernel took. With
/// `more`, the kernel is told more data follows at once, so a response head
/// waits to leave in the same segments as its body.
pub use imp::send_once;

/// One vectored write of `first` and then `second`, returning how many bytes
/// the kernel took: a head and a body in one system call, without copying.
pub use imp::send_pair;

/// The bytes written to `socket` that the peer has not yet acknowledged.
/// The peer's TCP acknowledges only what fits in its receive buffer, so
/// this falls only as the peer application reads. `Unsupported` where the
/// platform cannot tell.
pub use imp::queued;

/// Opens `relative` (read-only, non-blocking) under the folder `dir`, failing
/// if any component is a symlink or the path would leave `dir`. An error of
/// kind `Unsupported`, or any error but not-found and permission-denied, means
/// the caller should resolve the path the slow way.
pub use imp::open_beneath;

/// Raises the soft limit on open files as far as the system allows (to
/// the hard limit; on macOS no further than `OPEN_MAX`, 10,240) and returns
/// the soft limit now in force. Linux often starts processes with a soft
/// limit of 1,024 and macOS with 256, which a thread-per-connection server
/// exhausts long before the machine is busy (Go's runtime raises it at
/// start for the same reason). `Unsupported` where the limit is not read.
pub use limit::raise_open_file_limit;

/// The soft limit on open files in force now; `Unsupported` where it is
/// not read.
pub use limit::open_file_limit;

/// Asks the kernel to queue a new connection for `accept` only once the
/// client has sent something, or `seconds` have passed (Linux's
/// `TCP_DEFER_ACCEPT`). A thread then never wakes for a connection only to
/// wait again for its request, and a connection that sends nothing occupies
/// no thread until the wait is over.
pub use imp::defer_accept;

/// Lets `backlog` connections wait for `accept` (the kernel caps it at
/// `net.core.somaxconn`) where std's `bind` leaves 128: a burst of new
/// connections beyond the backlog is dropped or answered with SYN cookies,
/// and a dropped client tries again only a second later.
pub use imp::set_backlog;

#[cfg(all(test, target_os = "linux", not(portable)))]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io;
    use std::path::{Path, PathBuf};

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tinyhttpd-sys-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn open_beneath_refuses_symlinks_and_escapes() {
        let dir = temp_dir("beneath");
        std::fs::create_dir_all(dir.join("root/sub")).unwrap();
        std::fs::write(dir.join("root/sub/a.txt"), "a").unwrap();
        std::fs::write(dir.join("outside.txt"), "out").unwrap();
        std::os::unix::fs::symlink("a.txt", dir.join("root/sub/link")).unwrap();
        std::os::unix::fs::symlink("../../outside.txt", dir.join("root/sub/out")).unwrap();
        let root = File::open(dir.join("root")).unwrap();

        let open = |path: &str| open_beneath(&root, Path::new(path));
        assert_eq!(io::read_to_string(open("sub/a.txt").unwrap()).unwrap(), "a");
        assert!(open(".").unwrap().metadata().unwrap().is_dir());
        let missing = open("sub/missing").unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        // Symlinks, even ones that stay inside, and any way out are refused.
        for refused in [
            "sub/link",
            "sub/out",
            "../outside.txt",
            "sub/../../outside.txt",
        ] {
            let err = open(refused).unwrap_err();
            assert!(
                !matches!(
                    err.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                ),
                "{refused}: {err}"
            );
        }
        // Absolute paths are refused too.
        assert!(open_beneath(&root, &dir.join("outside.txt")).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn open_beneath_takes_paths_of_any_length_and_refuses_nul() {
        let dir = temp_dir("beneath-long");
        // Paths just under, at and over the short on-stack copy's size.
        for len in [254, 255, 256, 257, 600] {
            let mut relative = PathBuf::new();
            let mut used = 0;
            while len - used > 101 {
                relative.push("d".repeat(100));
                used += 101;
            }
            relative.push("f".repeat(len - used));
            assert_eq!(relative.as_os_str().len(), len);
            std::fs::create_dir_all(dir.join("root").join(relative.parent().unwrap())).unwrap();
            std::fs::write(dir.join("root").join(&relative), len.to_string()).unwrap();
            let root = File::open(dir.join("root")).unwrap();
            let contents = io::read_to_string(open_beneath(&root, &relative).unwrap()).unwrap();
            assert_eq!(contents, len.to_string());
        }
        let root = File::open(dir.join("root")).unwrap();
        use std::os::unix::ffi::OsStrExt;
        let nul = Path::new(std::ffi::OsStr::from_bytes(b"a\0b"));
        assert_eq!(
            open_beneath(&root, nul).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// The limit is read and raised on Linux whichever path the rest takes.
#[cfg(all(test, target_os = "linux"))]
mod limit_tests {
    use super::*;

    #[test]
    fn the_open_file_limit_is_raised_to_the_hard_limit() {
        let soft = raise_open_file_limit().unwrap();
        assert_eq!(open_file_limit().unwrap(), soft);
        let status = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap();
        let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
        assert_eq!(numbers[0], soft.to_string(), "{line}");
        assert_eq!(numbers[0], numbers[1], "{line}");
    }

    #[test]
    fn running_out_of_descriptors_is_recognised() {
        for (errno, out) in [(24, true), (23, true), (2, false), (13, false)] {
            let error = io::Error::from_raw_os_error(errno);
            assert_eq!(is_out_of_descriptors(&error), out, "{errno}");
        }
        assert!(!is_out_of_descriptors(&io::Error::other("other")));
    }
}
