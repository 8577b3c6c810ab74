//! QR codes for `--qr`: a URL as a symbol a phone's camera can read,
//! drawn in the terminal.
//!
//! Owns a small encoder for what a URL needs, after ISO/IEC 18004: byte
//! mode, error correction level M (15% of the symbol can be lost), versions
//! 1 to 10 (up to 213 bytes), Reed-Solomon codewords over GF(256), block
//! interleaving, the function patterns, all eight masks scored by the
//! standard's penalty rules, and the format and version information. Then
//! `to_terminal` draws two rows of modules per line with Unicode half
//! blocks, black on white whatever the terminal's colours, inside the
//! four-module quiet zone a reader needs.
//!
//! Coordinates are `(x, y)`: column, then row, from the top left.
#![forbid(unsafe_code)]

/// The largest version supported, and the most bytes it holds at level M.
const MAX_VERSION: usize = 10;

/// Error correction codewords per block at level M, by version (table 9
/// of the standard).
const EC_PER_BLOCK: [usize; MAX_VERSION] = [10, 16, 26, 18, 24, 16, 18, 22, 22, 26];
/// Blocks at level M, by version (same table).
const BLOCKS: [usize; MAX_VERSION] = [1, 1, 1, 2, 2, 4, 4, 4, 5, 5];
/// Level M in the format information (section 7.9.1: L 01, M 00, Q 11,
/// H 10).
const LEVEL_M_BITS: u32 = 0b00;

/// A QR code symbol: `size` by `size` modules, `true` for dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCode {
    size: usize,
    modules: Vec<bool>,
    /// Which modules belong to function patterns (not data).
    reserved: Vec<bool>,
}

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

    /// Whether the module at column `x`, row `y` is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.size && y < self.size && self.modules[y * self.size + x]
    }

    /// The symbol as terminal lines: each character is a column of two
    /// modules (upper and lower half block), drawn black on white with
    /// ANSI colours so that it reads the same on dark and light themes, with
    /// the four-module quiet zone on every side.
    pub fn to_terminal(&self) -> String {
        const QUIET: usize = 4;
        // Black text on a white background (the 256-colour palette's pure
        // black and white); reset at each line's end.
        const COLOURS: &str = "\x1b[38;5;16;48;5;231m";
        const RESET: &str = "\x1b[0m";
        let side = self.size + 2 * QUIET;
        let dark =
            |x: usize, y: usize| x >= QUIET && y >= QUIET && self.is_dark(x - QUIET, y - QUIET);
        let mut out = String::new();
        for y in (0..side).step_by(2) {
            out.push_str(COLOURS);
            for x in 0..side {
                out.push(match (dark(x, y), dark(x, y + 1)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push_str(RESET);
            out.push('\n');
        }
        out
    }

    /// A symbol of `version` with its function patterns drawn and the
    /// format and version areas reserved.
    fn blank(version: usize) -> QrCode {
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
    fn draw_format(&mut self, mask: u32) {
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
    fn place(&mut self, codewords: &[u8]) {
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

    /// Inverts every data module where mask pattern `mask` (section 7.8.2)
    /// holds; applying it twice undoes it.
    fn apply_mask(&mut self, mask: u32) {
        for y in 0..self.size {
            for x in 0..self.size {
                let at = y * self.size + x;
                if !self.reserved[at] && mask_holds(mask, x, y) {
                    self.modules[at] = !self.modules[at];
                }
            }
        }
    }

    /// The penalty score of section 7.8.3; the mask with the lowest wins.
    fn penalty(&self) -> u32 {
        let size = self.size;
        let mut score = 0;
        let rows = (0..size).map(|y| (0..size).map(move |x| (x, y)).collect::<Vec<_>>());
        let columns = (0..size).map(|x| (0..size).map(move |y| (x, y)).collect::<Vec<_>>());
        for line in rows.chain(columns) {
            let colours: Vec<bool> = line.iter().map(|&(x, y)| self.is_dark(x, y)).collect();
            // Rule 1: five or more in a row of one colour, 3 + the excess.
            let mut run = 1;
            for i in 1..=colours.len() {
                if i < colours.len() && colours[i] == colours[i - 1] {
                    run += 1;
                    continue;
                }
                if run >= 5 {
                    score += 3 + (run - 5);
                }
                run = 1;
            }
            // Rule 3: a finder-like 1:1:3:1:1 with four light modules on
            // one side; outside the symbol counts as light.
            const FINDER: [bool; 7] = [true, false, true, true, true, false, true];
            for start in 0..=colours.len() - 7 {
                if colours[start..start + 7] != FINDER {
                    continue;
                }
                let light = |from: isize| {
                    (from..from + 4)
                        .all(|i| i < 0 || !colours.get(i as usize).copied().unwrap_or(false))
                };
                if light(start as isize - 4) || light(start as isize + 7) {
                    score += 40;
                }
            }
        }
        // Rule 2: each 2x2 block of one colour.
        for y in 0..size - 1 {
            for x in 0..size - 1 {
                let c = self.is_dark(x, y);
                if c == self.is_dark(x + 1, y)
                    && c == self.is_dark(x, y + 1)
                    && c == self.is_dark(x + 1, y + 1)
                {
                    score += 3;
                }
            }
        }
        // Rule 4: 10 for each full 5% the dark share is away from half.
        let dark = self.modules.iter().filter(|&&m| m).count();
        let total = size * size;
        let percent = dark * 100 / total;
        score += percent.abs_diff(50) / 5 * 10;
        score as u32
    }
}

/// Bytes that fit in `version` at level M, in byte mode: the data
/// codewords less the mode indicator and the character count.
fn capacity(version: usize) -> usize {
    let count_bits = if version <= 9 { 8 } else { 16 };
    (data_codeword_count(version) * 8 - 4 - count_bits) / 8
}

/// All codewords of `version` (section 7.1): the modules left once the
/// function patterns and the format and version areas are taken, in bytes.
fn total_codewords(version: usize) -> usize {
    let v = version;
    let mut modules = (16 * v + 128) * v + 64;
    if v >= 2 {
        let alignments = v / 7 + 2;
        modules -= (25 * alignments - 10) * alignments - 55;
        if v >= 7 {
            modules -= 36;
        }
    }
    modules / 8
}

fn data_codeword_count(version: usize) -> usize {
    total_codewords(version) - EC_PER_BLOCK[version - 1] * BLOCKS[version - 1]
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

/// The data codewords (section 7.4): mode 0100 (byte), the count, the
/// bytes, up to four zero bits of terminator, zero bits to a byte boundary,
/// then the pad codewords 11101100 and 00010001 in turn.
fn data_codewords(data: &[u8], version: usize) -> Vec<u8> {
    let capacity_bits = data_codeword_count(version) * 8;
    let mut bits = Bits::default();
    bits.push(0b0100, 4);
    let count_bits = if version <= 9 { 8 } else { 16 };
    bits.push(data.len() as u32, count_bits);
    for &byte in data {
        bits.push(u32::from(byte), 8);
    }
    let terminator = (capacity_bits - bits.len).min(4);
    bits.push(0, terminator);
    let to_byte = (8 - bits.len % 8) % 8;
    bits.push(0, to_byte);
    let mut codewords = bits.bytes;
    for pad in [0xEC, 0x11].into_iter().cycle() {
        if codewords.len() * 8 >= capacity_bits {
            break;
        }
        codewords.push(pad);
    }
    codewords
}

/// Bits appended most significant first.
#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    len: usize,
}

impl Bits {
    fn push(&mut self, value: u32, count: usize) {
        for i in (0..count).rev() {
            if self.len % 8 == 0 {
                self.bytes.push(0);
            }
            if (value >> i) & 1 == 1 {
                let last = self.bytes.len() - 1;
                self.bytes[last] |= 0x80 >> (self.len % 8);
            }
            self.len += 1;
        }
    }
}

/// The data split into blocks, each followed by its error correction
/// codewords, interleaved as section 7.6 says: the first codeword of each
/// block, then the second, and so on (short blocks come first and have one
/// data codeword fewer), then the error correction codewords the same way.
fn with_error_correction(data: &[u8], version: usize) -> Vec<u8> {
    let blocks = BLOCKS[version - 1];
    let ec_len = EC_PER_BLOCK[version - 1];
    let total = total_codewords(version);
    let short_blocks = blocks - total % blocks;
    let short_data = total / blocks - ec_len;
    let mut split = Vec::with_capacity(blocks);
    let mut start = 0;
    for i in 0..blocks {
        let len = short_data + usize::from(i >= short_blocks);
        let block = &data[start..start + len];
        split.push((block, reed_solomon(block, ec_len)));
        start += len;
    }
    let mut out = Vec::with_capacity(total);
    for i in 0..=short_data {
        out.extend(split.iter().filter_map(|(block, _)| block.get(i)));
    }
    for i in 0..ec_len {
        out.extend(split.iter().map(|(_, ec)| ec[i]));
    }
    out
}

/// Multiplies in GF(256) with the QR code's field polynomial
/// x^8 + x^4 + x^3 + x^2 + 1 (section 7.5.2), by shifts and adds.
fn gf_multiply(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0;
    while b != 0 {
        if b & 1 == 1 {
            product ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= 0x1D;
        }
        b >>= 1;
    }
    product
}

/// The `count` error correction codewords of `data`: the remainder of
/// data(x) * x^count divided by the generator polynomial, the product of
/// (x - 2^i) for i below `count`.
fn reed_solomon(data: &[u8], count: usize) -> Vec<u8> {
    // The generator's coefficients below its leading 1, highest first.
    let mut generator = vec![0u8; count];
    generator[count - 1] = 1;
    let mut root = 1u8;
    for _ in 0..count {
        // Multiply by (x - root): shift up, add root times the old one.
        for j in 0..count {
            generator[j] = gf_multiply(generator[j], root);
            if j + 1 < count {
                generator[j] ^= generator[j + 1];
            }
        }
        root = gf_multiply(root, 2);
    }
    let mut remainder = vec![0u8; count];
    for &byte in data {
        let factor = byte ^ remainder[0];
        remainder.rotate_left(1);
        remainder[count - 1] = 0;
        for (r, &g) in remainder.iter_mut().zip(&generator) {
            *r ^= gf_multiply(g, factor);
        }
    }
    remainder
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

/// Mask patterns of section 7.8.2 (table 10), with `x` the column and `y`
/// the row.
fn mask_holds(mask: u32, x: usize, y: usize) -> bool {
    match mask {
        0 => (x + y) % 2 == 0,
        1 => y % 2 == 0,
        2 => x % 3 == 0,
        3 => (x + y) % 3 == 0,
        4 => (x / 3 + y / 2) % 2 == 0,
        5 => x * y % 2 + x * y % 3 == 0,
        6 => (x * y % 2 + x * y % 3) % 2 == 0,
        _ => ((x + y) % 2 + x * y % 3) % 2 == 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard's worked example (annex I): "01234567" as version 1-M.
    /// Its 16 data codewords (numeric mode) and the 10 error correction
    /// codewords the standard gives for them.
    #[test]
    fn reed_solomon_matches_the_standards_example() {
        let data = [
            0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11,
            0xEC, 0x11,
        ];
        let ec = [0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55];
        assert_eq!(reed_solomon(&data, 10), ec);
        // One block at 1-M: no interleaving.
        let all = with_error_correction(&data, 1);
        assert_eq!(all[..16], data);
        assert_eq!(all[16..], ec);
    }

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

    /// Table 1 (data modules) and table 7 (byte capacity at level M).
    #[test]
    fn sizes_and_capacities() {
        let totals = [26, 44, 70, 100, 134, 172, 196, 242, 292, 346];
        let bytes = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213];
        for v in 1..=MAX_VERSION {
            assert_eq!(total_codewords(v), totals[v - 1], "version {v}");
            assert_eq!(capacity(v), bytes[v - 1], "version {v}");
        }
        let centres: Vec<Vec<usize>> = (1..=MAX_VERSION).map(alignment_centres).collect();
        assert_eq!(centres[0], Vec::<usize>::new());
        assert_eq!(centres[1], [6, 18]);
        assert_eq!(centres[5], [6, 34]);
        assert_eq!(centres[6], [6, 22, 38]);
        assert_eq!(centres[8], [6, 26, 46]);
        assert_eq!(centres[9], [6, 28, 50]);
    }

    #[test]
    fn data_codewords_are_framed_and_padded() {
        // "AB" at 1-M: 0100, 00000010, 01000001, 01000010, 0000, then pads.
        let codewords = data_codewords(b"AB", 1);
        assert_eq!(codewords.len(), 16);
        assert_eq!(codewords[..4], [0x40, 0x24, 0x14, 0x20]);
        assert_eq!(codewords[4..8], [0xEC, 0x11, 0xEC, 0x11]);
    }

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

    #[test]
    fn terminal_drawing_has_the_quiet_zone_and_two_rows_per_line() {
        let symbol = QrCode::encode(b"x").unwrap();
        let drawing = symbol.to_terminal();
        let lines: Vec<&str> = drawing.lines().collect();
        // 21 modules and 8 of quiet zone: 29 rows in 15 lines.
        assert_eq!(lines.len(), 15);
        let plain = |line: &str| {
            line.replace("\x1b[38;5;16;48;5;231m", "")
                .replace("\x1b[0m", "")
        };
        assert_eq!(plain(lines[0]), " ".repeat(29));
        assert_eq!(plain(lines[1]), " ".repeat(29));
        // Rows 4 and 5: the finders' top edge (dark), then their light ring.
        let finders = plain(lines[2]);
        assert_eq!(finders.chars().nth(4), Some('█'));
        assert_eq!(finders.chars().nth(5), Some('▀'));
        assert!(lines.iter().all(|line| line.ends_with("\x1b[0m")));
    }
}
