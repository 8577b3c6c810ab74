//! The codewords of a QR code: the data codewords for bytes at level M
//! (section 7.4), how many a version holds (tables 1 and 7), and the
//! Reed-Solomon error correction over GF(256) with the blocks interleaved
//! (sections 7.5 and 7.6).
//!
//! Owns the version limit and the per-version tables. May import std only
//! (all of `dev/` may import `fs`, `http` and `sys`, never `serve` or `net`;
//! this file needs none of them, nor its siblings).
#![forbid(unsafe_code)]

/// The largest version supported, and the most bytes it holds at level M.
pub(super) const MAX_VERSION: usize = 10;

/// Error correction codewords per block at level M, by version (table 9
/// of the standard).
const EC_PER_BLOCK: [usize; MAX_VERSION] = [10, 16, 26, 18, 24, 16, 18, 22, 22, 26];
/// Blocks at level M, by version (same table).
const BLOCKS: [usize; MAX_VERSION] = [1, 1, 1, 2, 2, 4, 4, 4, 5, 5];

/// Bytes that fit in `version` at level M, in byte mode: the data
/// codewords less the mode indicator and the character count.
pub(super) fn capacity(version: usize) -> usize {
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

/// The data codewords (section 7.4): mode 0100 (byte), the count, the
/// bytes, up to four zero bits of terminator, zero bits to a byte boundary,
/// then the pad codewords 11101100 and 00010001 in turn.
pub(super) fn data_codewords(data: &[u8], version: usize) -> Vec<u8> {
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
pub(super) fn with_error_correction(data: &[u8], version: usize) -> Vec<u8> {
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

    /// Table 1 (data modules) and table 7 (byte capacity at level M).
    #[test]
    fn sizes_and_capacities() {
        let totals = [26, 44, 70, 100, 134, 172, 196, 242, 292, 346];
        let bytes = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213];
        for v in 1..=MAX_VERSION {
            assert_eq!(total_codewords(v), totals[v - 1], "version {v}");
            assert_eq!(capacity(v), bytes[v - 1], "version {v}");
        }
    }

    #[test]
    fn data_codewords_are_framed_and_padded() {
        // "AB" at 1-M: 0100, 00000010, 01000001, 01000010, 0000, then pads.
        let codewords = data_codewords(b"AB", 1);
        assert_eq!(codewords.len(), 16);
        assert_eq!(codewords[..4], [0x40, 0x24, 0x14, 0x20]);
        assert_eq!(codewords[4..8], [0xEC, 0x11, 0xEC, 0x11]);
    }
}
