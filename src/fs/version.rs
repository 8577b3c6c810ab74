//! A file's version: the one answer to "is this still the file we saw?".
//!
//! The file cache uses it to decide whether an entry still stands for the
//! file on disk, the validators build the `ETag` from it, and live reload
//! compares it to tell a page that a file it loaded changed. All three must
//! agree: a version the cache would call unchanged must keep its tag, and a
//! change the tag shows must reach the pages too.
//!
//! A version is the file's identity (device and inode on Unix), its size,
//! its modification time and, where the system keeps one, its status change
//! time, each to the nanosecond. The modification time alone is not enough:
//! tools set it back on purpose (`cp -p`, `rsync -t`, `tar x`, `touch -d`),
//! while the change time is set by the kernel on every write, `chmod`,
//! rename and link, and nothing can set it back.
//!
//! Two writes within one tick of the file system's clock can still leave
//! every field equal, if the size stays the same. `has_settled` says when
//! that can no longer happen to a version: once the later of its two times
//! is further back than the coarsest clock a served file may sit on (FAT
//! and exFAT keep modification times in 2-second steps), any later write
//! must show a later time. Nothing here does I/O.
#![forbid(unsafe_code)]

use std::fs::Metadata;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::http::conditional::Validators;
use crate::sys;

/// How long a version must have been left alone before the next write is
/// sure to show: longer than FAT's 2-second step, with a margin for a clock
/// that rounds up.
pub const SETTLE: Duration = Duration::from_secs(3);

/// What tells one state of a file from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version {
    /// Device and inode on Unix; on Windows the creation time stands in
    /// (see `sys::file_identity`).
    pub identity: [u64; 2],
    pub len: u64,
    /// The modification time, as seconds since the epoch and nanoseconds.
    pub modified: (i64, i64),
    /// The status change time likewise, where the system has one.
    pub changed: Option<(i64, i64)>,
}

impl Version {
    /// A number that stands for this version, never 0: what is kept where
    /// a whole version cannot be (in an atomic), to tell this state of this
    /// file from others, a file given the same inode later included. A
    /// cheap mix, as it is taken for every file served while a rules file
    /// exists: two versions that share a number are only a rare false
    /// match, never a miss of the version itself.
    pub fn fingerprint(&self) -> u64 {
        let (changed_secs, changed_nanos) = self.changed.unwrap_or((0, 0));
        let words = [
            self.identity[0],
            self.identity[1],
            self.len,
            self.modified.0 as u64,
            self.modified.1 as u64,
            changed_secs as u64,
            changed_nanos as u64,
        ];
        let mixed = words.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, &word| {
            (hash ^ word)
                .wrapping_mul(0x0000_0100_0000_01b3)
                .rotate_left(29)
        });
        mixed | 1
    }

    pub fn of(metadata: &Metadata) -> Version {
        Version {
            identity: sys::file_identity(metadata),
            len: metadata.len(),
            modified: sys::modified_parts(metadata),
            changed: sys::changed_parts(metadata),
        }
    }

    /// Whether no write can come that would leave this version's fields as
    /// they are: the later of its two times is more than `SETTLE` before
    /// `now`. A time in the future has not settled.
    pub fn has_settled(&self, now: SystemTime) -> bool {
        let last = nanos(self.modified).max(self.changed.map_or(i128::MIN, nanos));
        let now = match now.duration_since(UNIX_EPOCH) {
            Ok(since) => since.as_nanos() as i128,
            Err(before) => -(before.duration().as_nanos() as i128),
        };
        now - last > SETTLE.as_nanos() as i128
    }
}

/// The validators of a file as `metadata` shows it (RFC 9110 section
/// 8.8): its modification time, and a strong tag that changes whenever its
/// version does. The tag is `"DEVICE-INODE-SIZE-MSECS.MNANOS-CSECS.CNANOS"` (the
/// modification and change times), each number in hex (a negative time
/// as its two's complement, as `{:x}` writes it); without the change
/// time where the system has none.
pub fn validators(metadata: &Metadata) -> Validators {
    let version = Version::of(metadata);
    let [device, file] = version.identity;
    let (m_secs, m_nanos) = version.modified;
    // Room for the longest tag and a suffix, so it is allocated once.
    let mut etag = String::with_capacity(128);
    etag.push('"');
    for (value, after) in [
        (device, '-'),
        (file, '-'),
        (version.len, '-'),
        (m_secs as u64, '.'),
        (m_nanos as u64, '-'),
    ] {
        push_hex(&mut etag, value);
        etag.push(after);
    }
    match version.changed {
        Some((c_secs, c_nanos)) => {
            push_hex(&mut etag, c_secs as u64);
            etag.push('.');
            push_hex(&mut etag, c_nanos as u64);
        }
        None => {
            etag.pop();
        }
    }
    etag.push('"');
    Validators {
        etag,
        last_modified: metadata.modified().ok(),
    }
}

/// Appends `value` in lowercase hex without leading zeros, as `{:x}` does;
/// by hand, since a tag is made for every file response and `core::fmt`
/// costs time and stack.
fn push_hex(out: &mut String, value: u64) {
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b"0123456789abcdef"[(rest & 0xf) as usize];
        rest >>= 4;
        if rest == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
}

/// Seconds and nanoseconds as nanoseconds since the epoch.
fn nanos((secs, nanos): (i64, i64)) -> i128 {
    i128::from(secs) * 1_000_000_000 + i128::from(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(modified: (i64, i64), changed: Option<(i64, i64)>) -> Version {
        Version {
            identity: [1, 2],
            len: 3,
            modified,
            changed,
        }
    }

    fn at(secs: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    #[test]
    fn settling_goes_by_the_later_of_both_times() {
        let cases = [
            // (modified, changed, now, settled)
            ((1000, 0), Some((1000, 0)), at(1003, 1), true),
            ((1000, 0), Some((1000, 0)), at(1003, 0), false),
            // Back-dated by a tool: the change time says it was just written.
            ((10, 0), Some((1000, 0)), at(1002, 0), false),
            ((10, 0), Some((1000, 0)), at(1004, 0), true),
            // No change time (Windows): the modification time decides.
            ((1000, 0), None, at(1002, 999), false),
            ((1000, 0), None, at(1004, 0), true),
            // Dated in the future: not settled.
            ((5000, 0), Some((1000, 0)), at(1004, 0), false),
            // Before the epoch.
            ((-100, 0), Some((-100, 0)), at(0, 0), true),
            ((-1, 500_000_000), None, at(1, 0), false),
        ];
        for (modified, changed, now, settled) in cases {
            assert_eq!(
                version(modified, changed).has_settled(now),
                settled,
                "{modified:?} {changed:?} {now:?}"
            );
        }
    }

    #[test]
    fn every_field_tells_versions_apart() {
        let path = std::env::temp_dir().join(format!("tinyhttpd-version-{}", std::process::id()));
        std::fs::write(&path, "one").unwrap();
        let first = Version::of(&std::fs::metadata(&path).unwrap());
        assert_eq!(first, Version::of(&std::fs::metadata(&path).unwrap()));
        assert_eq!(first.len, 3);
        // Rewritten with the same size and the modification time set back
        // to what it was: on Unix the change time still tells.
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&path, "two").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        let second = Version::of(&std::fs::metadata(&path).unwrap());
        assert_eq!(second.modified, first.modified);
        if cfg!(unix) {
            assert_ne!(second, first);
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn hex_is_written_as_format_writes_it() {
        for value in [
            0,
            1,
            15,
            16,
            255,
            0xdead_beef,
            u64::MAX,
            -1i64 as u64,
            1 << 63,
        ] {
            let mut out = String::new();
            push_hex(&mut out, value);
            assert_eq!(out, format!("{value:x}"));
        }
        assert_eq!(format!("{:x}", -2i64), format!("{:x}", -2i64 as u64));
    }

    #[test]
    fn etags_change_with_content_and_time() {
        let dir = std::env::temp_dir().join(format!("tinyhttpd-etag-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.txt");
        std::fs::write(&path, "one").unwrap();
        let first = validators(&std::fs::metadata(&path).unwrap());
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        // Same size, a modification time one step of the file system's
        // clock later: a nanosecond on Linux, 100 ns on Windows (NTFS).
        let step = Duration::from_nanos(if cfg!(windows) { 100 } else { 1 });
        let later = first.last_modified.unwrap() + step;
        file.set_modified(later).unwrap();
        let second = validators(&std::fs::metadata(&path).unwrap());
        assert_ne!(first.etag, second.etag);
        assert!(first.etag.starts_with('"') && first.etag.ends_with('"'));
        assert!(crate::http::conditional::EntityTag::parse(first.etag.as_bytes()).is_some());
        // Every field of the version, in hex, as `{:x}` writes them.
        let version = Version::of(&std::fs::metadata(&path).unwrap());
        let [device, inode] = version.identity;
        let (m_secs, m_nanos) = version.modified;
        let mut want = format!(
            "\"{device:x}-{inode:x}-{:x}-{m_secs:x}.{m_nanos:x}",
            version.len
        );
        if let Some((c_secs, c_nanos)) = version.changed {
            want.push_str(&format!("-{c_secs:x}.{c_nanos:x}"));
        }
        want.push('"');
        assert_eq!(second.etag, want);
        drop(file);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
