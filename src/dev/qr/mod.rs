//! QR codes for `--qr`: a URL as a symbol a phone's camera can read,
//! drawn in the terminal.
//!
//! A small encoder for what a URL needs, after ISO/IEC 18004: byte
//! mode, error correction level M (15% of the symbol can be lost), versions
//! 1 to 10 (up to 213 bytes), Reed-Solomon codewords over GF(256), block
//! interleaving, the function patterns, all eight masks scored by the
//! standard's penalty rules, and the format and version information. Then
//! `to_terminal` draws two rows of modules per line with Unicode half
//! blocks, black on white whatever the terminal's colours, inside the
//! four-module quiet zone a reader needs.
//!
//! Coordinates are `(x, y)`: column, then row, from the top left.
//!
//! The files, each importing only those listed before it:
//! - `codewords`: the data codewords and their error correction.
//! - `matrix`: `QrCode`, its function patterns, format and version
//!   information, and where the codewords' bits go.
//! - `mask`: the eight masks and the penalty that picks one.
//! - `terminal`: the drawing.
//!
//! This file owns `QrCode::encode`, which runs them in turn, and re-exports
//! `QrCode` at the path the rest of the program uses. All of `dev/` may
//! import `fs`, `http` and `sys`, never `serve` or `net`; nothing here needs
//! more than std.
#![forbid(unsafe_code)]

mod codewords;
mod mask;
mod matrix;
mod terminal;

pub use matrix::QrCode;

use codewords::{MAX_VERSION, capacity, data_codewords, with_error_correction};

impl QrCode {
    /// Encodes `data` in byte mode at level M, in the smallest version that
    /// holds it, with the mask that scores best. `None` if it is too long.
    pub fn encode(data: &[u8]) -> Option<QrCode> {
        let version = (1..=MAX_VERSION).find(|&v| data.len() <= capacity(v))?;
        let codewords = with_error_correction(&data_codewords(data, version), version);
        let mut best: Option<(u32, QrCode)> = None;
        for mask in 0..8 {
            let mut symbol = QrCode::blank(version);
            symbol.place(&codewords);
            symbol.apply_mask(mask);
            symbol.draw_format(mask);
            let score = symbol.penalty();
            if best.as_ref().is_none_or(|(lowest, _)| score < *lowest) {
                best = Some((score, symbol));
            }
        }
        best.map(|(_, symbol)| symbol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_picks_the_smallest_version() {
        let url = b"http://192.168.100.200:65535/";
        let symbol = QrCode::encode(url).unwrap();
        assert_eq!(symbol.size, 29); // version 3
        // The finder patterns' corners and the dark module.
        assert!(symbol.is_dark(0, 0) && symbol.is_dark(28, 0) && symbol.is_dark(0, 28));
        assert!(!symbol.is_dark(7, 7) && symbol.is_dark(8, 29 - 8));
        assert!(QrCode::encode(&[b'a'; 213]).is_some_and(|s| s.size == 57));
        assert!(QrCode::encode(&[b'a'; 214]).is_none());
        // Eight masks tried, the same choice every time.
        assert_eq!(QrCode::encode(url), QrCode::encode(url));
    }

    /// Every version, each filled to capacity (so versions 4 to 10 with
    /// their several blocks, 8 to 10 with blocks of two lengths, and 7 to
    /// 10 with version information), read back by zbarimg.
    #[cfg(target_os = "linux")]
    #[test]
    fn zbarimg_reads_every_version() {
        let dir = std::env::temp_dir().join(format!("tinyhttpd-qr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for version in 1..=MAX_VERSION {
            let text: String = (0..capacity(version))
                .map(|i| char::from(b"http://example.test/0123456789?#"[i % 32]))
                .collect();
            let symbol = QrCode::encode(text.as_bytes()).unwrap();
            assert_eq!(symbol.size, 17 + 4 * version);
            // Four pixels a module, four modules of quiet zone.
            let side = (symbol.size + 8) * 4;
            let mut image = format!("P5\n{side} {side}\n255\n").into_bytes();
            for y in 0..side {
                for x in 0..side {
                    let (mx, my) = ((x / 4).wrapping_sub(4), (y / 4).wrapping_sub(4));
                    image.push(if symbol.is_dark(mx, my) { 0 } else { 255 });
                }
            }
            let path = dir.join(format!("v{version}.pgm"));
            std::fs::write(&path, image).unwrap();
            let out = std::process::Command::new("zbarimg")
                .args(["--quiet", "--raw"])
                .arg(&path)
                .output()
                .expect("run zbarimg (Debian's zbar-tools)");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                format!("{text}\n"),
                "version {version}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
