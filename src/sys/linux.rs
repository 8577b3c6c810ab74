//! Linux's fast paths: the system calls std does not expose (`sendfile`,
//! `send` with `MSG_MORE`, the `SIOCOUTQ` ioctl, `openat2`,
//! `TCP_DEFER_ACCEPT`, TCP keepalive's timings, `listen` again), declared here from the C library
//! with the constants and `struct` layouts of 64-bit Linux on x86_64,
//! aarch64 and riscv64, the only targets `mod.rs` builds this file for.
//! Every `unsafe` block says why it is sound.

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
    // ssize_t recv(int sockfd, void *buf, size_t len, int flags);
    fn recv(fd: i32, buf: *mut u8, len: usize, flags: i32) -> isize;
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
const SOL_SOCKET: i32 = 1;
const SO_KEEPALIVE: i32 = 9;
const TCP_KEEPIDLE: i32 = 4;
const TCP_KEEPINTVL: i32 = 5;
const TCP_KEEPCNT: i32 = 6;
/// Once a quiet connection is probed: a probe every 10 seconds, and the
/// peer is given up after 3 unanswered.
const KEEPALIVE_INTERVAL: i32 = 10;
const KEEPALIVE_PROBES: i32 = 3;
const MSG_MORE: i32 = 0x8000;
/// TIOCOUTQ: for a TCP socket, the bytes in its send queue (not yet
/// sent, or sent and not yet acknowledged).
const SIOCOUTQ: u64 = 0x5411;
const MSG_NOSIGNAL: i32 = 0x4000;
const MSG_PEEK: i32 = 0x2;
const MSG_DONTWAIT: i32 = 0x40;
const SYS_OPENAT2: i64 = 437;
const O_NOCTTY: u64 = 0o400;
const O_NONBLOCK: u64 = 0o4000;
const O_CLOEXEC: u64 = 0o2000000;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;
/// Linux transfers at most 0x7ffff000 bytes per sendfile call.
const MAX_CHUNK: u64 = 0x7fff_f000;

pub fn send_file_once(socket: &TcpStream, file: &File, offset: u64, len: u64) -> io::Result<usize> {
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

pub fn peek_now(socket: &TcpStream) -> io::Result<usize> {
    let mut probe = [0u8; 1];
    // SAFETY: `probe` is a live, writable buffer for the whole call and its
    // length is passed with it; the descriptor is borrowed from a live
    // `TcpStream`. MSG_PEEK leaves the byte in the socket.
    let got = unsafe {
        recv(
            socket.as_raw_fd(),
            probe.as_mut_ptr(),
            probe.len(),
            MSG_PEEK | MSG_DONTWAIT,
        )
    };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(got as usize)
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

pub fn keep_alive(socket: &TcpStream, idle_seconds: u32) -> io::Result<()> {
    let idle = i32::try_from(idle_seconds).unwrap_or(i32::MAX);
    let options = [
        (SOL_SOCKET, SO_KEEPALIVE, 1),
        (IPPROTO_TCP, TCP_KEEPIDLE, idle),
        (IPPROTO_TCP, TCP_KEEPINTVL, KEEPALIVE_INTERVAL),
        (IPPROTO_TCP, TCP_KEEPCNT, KEEPALIVE_PROBES),
    ];
    for (level, name, value) in options {
        // SAFETY: the descriptor is borrowed from a live `TcpStream`; the
        // value points to a live i32 and its size is passed with it.
        let status = unsafe {
            setsockopt(
                socket.as_raw_fd(),
                level,
                name,
                &value,
                std::mem::size_of::<i32>() as u32,
            )
        };
        if status != 0 {
            return Err(io::Error::last_os_error());
        }
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

#[cfg(test)]
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
