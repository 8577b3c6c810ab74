//! What Unix offers through std: a file's identity, modification and change
//! times, positional reads, which errors mean no descriptor was left, the
//! accept timeout (Linux's), the desktop's opener, and that no name is an
//! alias, a write that timed out may be tried again and the cache may keep
//! files open. And the limit on open files, read and raised with
//! `getrlimit` and `setrlimit` on Linux and macOS whichever path the rest
//! takes: the only `unsafe` code here, each block saying why it is sound.

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

/// The limit on open files, where `struct rlimit` and `RLIMIT_NOFILE` are
/// spelled out here: 64-bit Linux on the architectures of `linux.rs`
/// (whichever path the rest takes) and macOS. Both have a 64-bit `rlim_t`.
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

/// Elsewhere on Unix the limit is not read: other systems are not described
/// here.
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

pub use limit::{open_file_limit, raise_open_file_limit};

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
