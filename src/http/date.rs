//! Dates as HTTP and the listings write them: the IMF-fixdate of RFC 9110
//! section 5.6.7 (on every response, and for Last-Modified) and the ISO 8601
//! times of a listing, from one calendar conversion. Written by hand rather
//! than through `core::fmt` or `httpdate`, as the current date is on every
//! response (see `imf_fixdate`). Imports std only.
#![forbid(unsafe_code)]

use std::cell::Cell;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// The seconds since the epoch of the year 10000, which HTTP-dates cannot
/// express.
const YEAR_10000: u64 = 253_402_300_800;

/// An HTTP-date (RFC 9110 section 5.6.7) for `time`, or `None` for a time
/// the format cannot express (before 1970 or after 9999): a file's timestamp
/// can be anything, and formatting one must not panic.
pub fn http_date(time: SystemTime) -> Option<String> {
    let secs = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
    (secs < YEAR_10000).then(|| imf_fixdate(secs).iter().map(|&b| char::from(b)).collect())
}

/// The IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 section
/// 5.6.7) for `secs` since the epoch, which must be before the year 10000.
/// Written here rather than through `core::fmt`, as it is on every response:
/// fixed places take a few divisions, where the formatting machinery costs
/// time and the deepest stack of a request (and every page of stack a
/// thread touches stays its memory).
fn imf_fixdate(secs: u64) -> [u8; 29] {
    const WEEKDAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let secs = secs.min(YEAR_10000 - 1);
    let days = secs / 86_400;
    let of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);

    let mut text = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    let mut digits = |at: usize, width: usize, mut value: u64| {
        for place in (at..at + width).rev() {
            text[place] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    digits(5, 2, day);
    digits(12, 4, year);
    digits(17, 2, of_day / 3_600);
    digits(20, 2, of_day / 60 % 60);
    digits(23, 2, of_day % 60);
    text[..3].copy_from_slice(WEEKDAYS[(days % 7) as usize]);
    text[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    text
}

/// Appends the current time as an HTTP-date. The text changes once a second,
/// so each thread formats it at most once a second and reuses it.
pub fn push_now(out: &mut Vec<u8>) {
    thread_local! {
        static CACHE: Cell<(u64, [u8; 29])> = const { Cell::new((u64::MAX, [0; 29])) };
    }
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHE.with(|cache| {
        let (cached, mut text) = cache.get();
        if cached != second {
            text = imf_fixdate(second);
            cache.set((second, text));
        }
        out.extend_from_slice(&text);
    });
}

/// Appends `YYYY-MM-DDTHH:MM:SSZ` for a time at or after 1970; earlier times
/// show as the epoch.
pub fn push_iso8601(out: &mut String, time: SystemTime) {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
}

/// The proleptic Gregorian date of the day `days` after 1970-01-01. Counts in
/// 400-year eras (146,097 days) that start on a 1 March, so the leap day falls
/// at the end of each counted year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // 1970-01-01 is day 719,468 counted from 0000-03-01.
    let since_0000_03_01 = days + 719_468;
    let era = since_0000_03_01 / 146_097;
    let day_of_era = since_0000_03_01 % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March: 0 = March .. 11 = February.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_written_as_httpdate_writes_them() {
        let mut samples = vec![
            0,
            784_111_777,
            951_782_400,    // 2000-02-29
            4_107_542_400,  // 2100-03-01
            13_574_563_200, // 2400-02-29
            YEAR_10000 - 1,
        ];
        // And a spread over the whole range, from a fixed generator.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            samples.push((state >> 11) % YEAR_10000);
        }
        for secs in samples {
            let time = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(
                std::str::from_utf8(&imf_fixdate(secs)).unwrap(),
                httpdate::fmt_http_date(time),
                "{secs}"
            );
        }
    }

    #[test]
    fn http_dates_never_panic() {
        let at = |secs| http_date(UNIX_EPOCH + Duration::from_secs(secs));
        let nov_1994 = Some("Sun, 06 Nov 1994 08:49:37 GMT".to_string());
        assert_eq!(at(784_111_777), nov_1994);
        assert_eq!(http_date(UNIX_EPOCH - Duration::from_secs(1)), None);
        // The last second of the year 9999, and the first after it.
        assert!(at(253_402_300_799).is_some());
        assert_eq!(at(253_402_300_800), None);
    }

    #[test]
    fn the_cached_date_is_the_current_one() {
        let mut out = Vec::new();
        push_now(&mut out);
        let date = httpdate::parse_http_date(std::str::from_utf8(&out).unwrap()).unwrap();
        let now = SystemTime::now();
        let age = now.duration_since(date).unwrap_or_default();
        assert!(age < Duration::from_secs(2), "{age:?}");
    }

    fn iso8601(time: SystemTime) -> String {
        let mut out = String::new();
        push_iso8601(&mut out, time);
        out
    }

    #[test]
    fn dates() {
        let at = |secs: u64| iso8601(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(
            iso8601(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00Z"
        );
    }
}
