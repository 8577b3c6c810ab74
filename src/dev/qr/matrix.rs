//! The symbol itself: the `QrCode` type and its grid of modules, the
//! function patterns (finders, separators, timing, alignment), the format
//! and version information with their BCH check bits (sections 7.9 and
//! 7.10), and the zigzag placement of the codewords (section 7.7.3).
//!
//! Owns `QrCode` and its fields, which its sibling modules read and write.
//! May import std only (all of `dev/` may import `fs`, `http` and `sys`,
//! never `serve` or `net`; this file needs none of them, nor its siblings).
#![forbid(unsafe_code)]

/// Level M in the format information (section 7.9.1: L 01, M 00, Q 11,
/// H 10).
const LEVEL_M_BITS: u32 = 0b00;

/// A QR code symbol: `size` by `size` modules, `true` for dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCode {
    pub(super) size: usize,
    pub(super) modules: Vec<bool>,
    /// Which modules belong to function patterns (not data).
    pub(super) reserved: Vec<bool>,
}

impl QrCode {
    /// Whether the module at column `x`, row `y` is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.size && y < self.size && self.modules[y * self.size + x]
    }

    /// A symbol of `version` with its function patterns drawn and the
    /// format and version areas reserved.
    pub(super) fn blank(version: usize) -> QrCode {
        let size = 17 + 4 * version;
        let mut symbol = QrCode {
            size,
            modules: vec![false; size * size],
            reserved: vec![false; size * size],
        };
        // Timing patterns (section 6.3.5), before the finders cover their
        // ends.
        for i in 0..size {
            symbol.set_function(6, i, i % 2 == 0);
            symbol.set_function(i, 6, i % 2 == 0);
        }
        for (x, y) in [(0, 0), (size - 7, 0), (0, size - 7)] {
            symbol.draw_finder(x, y);
        }
        let centres = alignment_centres(version);
        for &cx in &centres {
            for &cy in &centres {
                // None where a finder is: at two of the corner centres,
                // one of them the top or left one.
                let corner = |c: usize| c == 6 || c == size - 7;
                let on_finder = corner(cx) && corner(cy) && cx.min(cy) == 6;
                if !on_finder {
                    symbol.draw_alignment(cx, cy);
                }
            }
        }
        // Reserve the format areas (drawn once the mask is chosen), and
        // the dark module beside the lower one (section 7.9.1).
        symbol.draw_format(0);
        symbol.draw_version(version);
        symbol
    }

    fn set_function(&mut self, x: usize, y: usize, dark: bool) {
        let at = y * self.size + x;
        self.modules[at] = dark;
        self.reserved[at] = true;
    }

    /// A 7x7 finder pattern with its top-left corner at `(x, y)`, and the
    /// light separator around it (section 6.3.3).
    fn draw_finder(&mut self, x: usize, y: usize) {
        for dy in -1..=7_isize {
            for dx in -1..=7_isize {
                let (Some(mx), Some(my)) = (x.checked_add_signed(dx), y.checked_add_signed(dy))
                else {
                    continue;
                };
                if mx >= self.size || my >= self.size {
                    continue;
                }
                // Distance from the centre, in rings: 0 and 1 dark (the 3x3
                // core), 2 light, 3 dark, 4 the separator.
                let distance = (dx - 3).abs().max((dy - 3).abs());
                self.set_function(mx, my, distance != 2 && distance != 4);
            }
        }
    }

    /// A 5x5 alignment pattern centred on `(x, y)` (section 6.3.6).
    fn draw_alignment(&mut self, x: usize, y: usize) {
        for dy in -2..=2_isize {
            for dx in -2..=2_isize {
                let distance = dx.abs().max(dy.abs());
                self.set_function(
                    x.wrapping_add_signed(dx),
                    y.wrapping_add_signed(dy),
                    distance != 1,
                );
            }
        }
    }

    /// The format information for level M and `mask`, in both copies
    /// (section 7.9), and the dark module.
    pub(super) fn draw_format(&mut self, mask: u32) {
        let bits = format_bits(mask);
        let bit = |i: u32| (bits >> i) & 1 == 1;
        let size = self.size;
        // Around the top-left finder: bits 0 to 7 down column 8 (skipping
        // the timing row), bits 8 to 14 leftwards along row 8.
        for i in 0..6 {
            self.set_function(8, i as usize, bit(i));
        }
        self.set_function(8, 7, bit(6));
        self.set_function(8, 8, bit(7));
        self.set_function(7, 8, bit(8));
        for i in 9..15 {
            self.set_function(14 - i as usize, 8, bit(i));
        }
        // The second copy: bits 0 to 7 along row 8 from the right edge,
        // bits 8 to 14 down column 8 to the bottom edge.
        for i in 0..8 {
            self.set_function(size - 1 - i as usize, 8, bit(i));
        }
        for i in 8..15 {
            self.set_function(8, size - 15 + i as usize, bit(i));
        }
        self.set_function(8, size - 8, true);
    }

    /// The version information, for version 7 and up (section 7.10): two
    /// 6x3 blocks, beside the top-right and bottom-left finders.
    fn draw_version(&mut self, version: usize) {
        if version < 7 {
            return;
        }
        let bits = version_bits(version);
        for i in 0..18 {
            let dark = (bits >> i) & 1 == 1;
            let a = self.size - 11 + i % 3;
            let b = i / 3;
            self.set_function(a, b, dark);
            self.set_function(b, a, dark);
        }
    }

    /// Places the codewords' bits, most significant first, in the zigzag
    /// of section 7.7.3: two-module columns from the right, upwards then
    /// downwards, skipping function patterns and the vertical timing
    /// column. Modules left over (the remainder bits) stay light.
    pub(super) fn place(&mut self, codewords: &[u8]) {
        let size = self.size;
        let total_bits = codewords.len() * 8;
        let mut next = 0;
        let mut right = size - 1;
        loop {
            if right == 6 {
                right = 5;
            }
            let upward = (right + 1) & 2 == 0;
            for step in 0..size {
                let y = if upward { size - 1 - step } else { step };
                for x in [right, right - 1] {
                    if self.reserved[y * size + x] || next >= total_bits {
                        continue;
                    }
                    self.modules[y * size + x] = (codewords[next / 8] >> (7 - next % 8)) & 1 == 1;
                    next += 1;
                }
            }
            if right < 2 {
                break;
            }
            right -= 2;
        }
    }
}

/// Where the alignment patterns' centres are, along either axis (annex E):
/// 6, then evenly spaced (by an even step) up to `size - 7`.
fn alignment_centres(version: usize) -> Vec<usize> {
    if version == 1 {
        return Vec::new();
    }
    let count = version / 7 + 2;
    let last = 17 + 4 * version - 7;
    // The step is the even number nearest above (last - 6) / (count - 1).
    let step = (last - 6).div_ceil(2 * (count - 1)) * 2;
    let mut centres = vec![6];
    centres.extend((1..count).rev().map(|i| last - (count - 1 - i) * step));
    centres.sort_unstable();
    centres
}

/// The remainder of `value * x^degree(generator)` divided by `generator`,
/// over GF(2): the BCH check bits of sections 7.9 and 7.10.
fn bch_remainder(value: u32, generator: u32) -> u32 {
    let degree = 31 - generator.leading_zeros();
    let mut remainder = value << degree;
    for shift in (0..32 - degree).rev() {
        if remainder & (1 << (shift + degree)) != 0 {
            remainder ^= generator << shift;
        }
    }
    remainder
}

/// The 15 format bits: level and mask, 10 BCH bits, masked with
/// 101010000010010 so they are never all light (section 7.9.1).
fn format_bits(mask: u32) -> u32 {
    let data = LEVEL_M_BITS << 3 | mask;
    (data << 10 | bch_remainder(data, 0b101_0011_0111)) ^ 0b101_0100_0001_0010
}

/// The 18 version bits: 6 of version, 12 of BCH (section 7.10).
fn version_bits(version: usize) -> u32 {
    let v = version as u32;
    v << 12 | bch_remainder(v, 0b1_1111_0010_0101)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev::qr::codewords::MAX_VERSION;

    /// Format information for level M and each mask, as table C.1 of the
    /// standard lists it.
    #[test]
    fn format_bits_match_the_standards_table() {
        let table = [
            0b101010000010010,
            0b101000100100101,
            0b101111001111100,
            0b101101101001011,
            0b100010111111001,
            0b100000011001110,
            0b100111110010111,
            0b100101010100000,
        ];
        for (mask, expected) in table.into_iter().enumerate() {
            assert_eq!(format_bits(mask as u32), expected, "mask {mask}");
        }
    }

    /// Version information, as table D.1 lists it.
    #[test]
    fn version_bits_match_the_standards_table() {
        assert_eq!(version_bits(7), 0b000111110010010100);
        assert_eq!(version_bits(8), 0b001000010110111100);
        assert_eq!(version_bits(9), 0b001001101010011001);
        assert_eq!(version_bits(10), 0b001010010011010011);
    }

    /// Annex E: the alignment patterns' centres, by version.
    #[test]
    fn alignment_centres_match_annex_e() {
        let centres: Vec<Vec<usize>> = (1..=MAX_VERSION).map(alignment_centres).collect();
        assert_eq!(centres[0], Vec::<usize>::new());
        assert_eq!(centres[1], [6, 18]);
        assert_eq!(centres[5], [6, 34]);
        assert_eq!(centres[6], [6, 22, 38]);
        assert_eq!(centres[8], [6, 26, 46]);
        assert_eq!(centres[9], [6, 28, 50]);
    }
}
