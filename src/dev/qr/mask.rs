//! Masks: the eight patterns of section 7.8.2 that invert the data
//! modules, and the penalty score of section 7.8.3 that chooses among them.
//!
//! Owns `mask_holds` and the `QrCode` methods `apply_mask` and `penalty`.
//! May import std and its sibling `matrix` (all of `dev/` may import `fs`,
//! `http` and `sys`, never `serve` or `net`; this file needs none of them).
#![forbid(unsafe_code)]

use super::matrix::QrCode;

impl QrCode {
    /// Inverts every data module where mask pattern `mask` (section 7.8.2)
    /// holds; applying it twice undoes it.
    pub(super) fn apply_mask(&mut self, mask: u32) {
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
    pub(super) fn penalty(&self) -> u32 {
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
