//! The system calls std does not expose, and the only module allowed `unsafe`.
//!
//! `send_file` copies a range of a file to a socket inside the kernel with
//! `sendfile(2)`: `std::io::copy` from a `File` to a `TcpStream` does not use it
//! (it moves 8 KiB at a time through user space). Elsewhere than 64-bit Linux it
//! falls back to a plain copy. Every `unsafe` block says why it is sound;
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
