//! The symbol drawn in a terminal: two rows of modules per line in Unicode
//! half blocks, black on white whatever the terminal's colours, inside the
//! four-module quiet zone a reader needs.
//!
//! Owns `QrCode::to_terminal`. May import std and its sibling `matrix` (all
//! of `dev/` may import `fs`, `http` and `sys`, never `serve` or `net`; this
//! file needs none of them).
#![forbid(unsafe_code)]

use super::matrix::QrCode;

impl QrCode {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
