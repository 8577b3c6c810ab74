//! The system calls std does not expose, and the only module allowed `unsafe`.
//!
//! `send_file` copies a range of a file to a socket inside the kernel with
//! `sendfile(2)`: `std::io::copy` from a `File` to a `TcpStream` does not use it
//! (it moves 8 KiB at a time through user space). Elsewhere than 64-bit Linux it
//! falls back to a plain copy. `raise_open_file_limit` lifts the soft limit
//! on open files to the hard one. Every `unsafe` block says why it is sound;
//! `main.rs` allows unsafe code for this module alone.

use std::fs::File;
use std::io;
use std::net::TcpStream;

/// Sends `len` bytes of `file`, from `offset`, to `socket`. Fails with
/// `UnexpectedEof` when the file ends first (it was truncated while being
/// sent), and with `TimedOut` when the socket's write timeout expires.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub fn send_file(socket: &TcpStream, file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;

    unsafe extern "C" {
        // ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count);
        // off_t is 64 bits on every 64-bit Linux target.
        fn sendfile(out_fd: i32, in_fd: i32, offset: *mut i64, count: usize) -> isize;
    }
    // Linux transfers at most 0x7ffff000 bytes per call.
    const MAX_CHUNK: u64 = 0x7fff_f000;

    let mut position = i64::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
    let mut remaining = len;
    while remaining > 0 {
        let count = remaining.min(MAX_CHUNK) as usize;
        // SAFETY: both descriptors are open for the whole call, borrowed from
        // live `TcpStream` and `File` values; `position` is a valid, exclusively
        // borrowed i64 the kernel reads and advances; `count` is bounded above.
        let sent = unsafe { sendfile(socket.as_raw_fd(), file.as_raw_fd(), &mut position, count) };
        match sent {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file ended before its announced length",
                ));
            }
            n if n > 0 => remaining -= n as u64,
            _ => {
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::Interrupted => continue,
                    // SO_SNDTIMEO expired on a blocking socket.
                    io::ErrorKind::WouldBlock => return Err(io::ErrorKind::TimedOut.into()),
                    _ => return Err(err),
                }
            }
        }
    }
    Ok(())
}

/// The portable fallback: seek and copy through user space.
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
pub fn send_file(socket: &TcpStream, file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = file;
    file.seek(SeekFrom::Start(offset))?;
    let copied = io::copy(&mut file.take(len), &mut &*socket)?;
    if copied < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "file ended before its announced length",
        ));
    }
    Ok(())
}

/// Raises the soft limit on open files to the hard limit and returns the
/// soft limit now in force. Many systems start processes with a soft limit
/// of 1,024, which a thread-per-connection server exhausts long before the
/// machine is busy (Go's runtime raises it at start for the same reason).
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
))]
pub fn raise_open_file_limit() -> io::Result<u64> {
    // struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; }, rlim_t being 64
    // bits on these targets; RLIMIT_NOFILE is 7 on all of them.
    #[repr(C)]
    struct Rlimit {
        cur: u64,
        max: u64,
    }
    unsafe extern "C" {
        fn getrlimit(resource: i32, rlim: *mut Rlimit) -> i32;
        fn setrlimit(resource: i32, rlim: *const Rlimit) -> i32;
    }
    const RLIMIT_NOFILE: i32 = 7;

    let mut limit = Rlimit { cur: 0, max: 0 };
    // SAFETY: `limit` is a valid, writable `struct rlimit` for the call.
    if unsafe { getrlimit(RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.cur >= limit.max {
        return Ok(limit.cur);
    }
    let raised = Rlimit {
        cur: limit.max,
        max: limit.max,
    };
    // SAFETY: `raised` is a valid `struct rlimit` that lives across the call.
    if unsafe { setrlimit(RLIMIT_NOFILE, &raised) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit.max)
}

/// Elsewhere the limit is left as it is, and not known.
#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
)))]
pub fn raise_open_file_limit() -> io::Result<u64> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "not on this platform",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn temp_file(name: &str, contents: &[u8]) -> (std::path::PathBuf, File) {
        let path =
            std::env::temp_dir().join(format!("tinyhttpd-sys-{}-{name}", std::process::id()));
        File::create(&path)
            .and_then(|mut f| f.write_all(contents))
            .unwrap();
        let file = File::open(&path).unwrap();
        (path, file)
    }

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (server, client)
    }

    #[test]
    fn sends_a_range_of_a_file() {
        let (path, file) = temp_file("range", b"0123456789");
        let (server, mut client) = pair();
        send_file(&server, &file, 3, 4).unwrap();
        drop(server);
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"3456");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn the_open_file_limit_is_raised_to_the_hard_limit() {
        let soft = raise_open_file_limit().unwrap();
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
    fn a_short_file_is_an_error_not_padding() {
        let (path, file) = temp_file("short", b"abc");
        let (server, mut client) = pair();
        let err = send_file(&server, &file, 0, 10).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        drop(server);
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"abc");
        std::fs::remove_file(path).unwrap();
    }
}
