//! `DateCache`: the `Date` header value (IMF-fixdate, RFC 9110 §5.6.7),
//! formatted once a second instead of once per response.
//!
//! The server refreshes it from a one-second timer; every response copies
//! its 29 bytes. Formatting is our own civil-from-days arithmetic (Howard
//! Hinnant's algorithm): no allocation, no locale, no time-zone database.
//! Invariant: `as_bytes` is always exactly 29 ASCII bytes,
//! `Www, DD Mmm YYYY HH:MM:SS GMT`; times before 1970 format as the epoch
//! and times after 9999 as its last second.

use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate.
pub const DATE_LEN: usize = 29;

/// Last second that fits in four year digits: 9999-12-31T23:59:59Z.
const MAX_SECS: u64 = 253_402_300_799;

const WEEKDAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// The current date as an HTTP `Date` value, refreshed by the server.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use eddy_http::DateCache;
///
/// let mut date = DateCache::new();
/// date.refresh(UNIX_EPOCH + Duration::from_secs(784_111_777));
/// assert_eq!(date.as_bytes(), b"Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateCache {
    bytes: [u8; DATE_LEN],
}

impl DateCache {
    /// A cache holding the current time.
    pub fn new() -> Self {
        let mut cache = DateCache { bytes: [b' '; DATE_LEN] };
        cache.refresh(SystemTime::now());
        cache
    }

    /// Formats `now` (call it once a second, from a timer).
    pub fn refresh(&mut self, now: SystemTime) {
        let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.bytes = imf_fixdate(secs.min(MAX_SECS));
    }

    /// The 29 bytes of the date, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl Default for DateCache {
    fn default() -> Self {
        DateCache::new()
    }
}

/// Formats seconds since the epoch (at most `MAX_SECS`).
fn imf_fixdate(secs: u64) -> [u8; DATE_LEN] {
    let days = secs / 86_400;
    let of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    // 1970-01-01 was a Thursday (index 4).
    out[..3].copy_from_slice(WEEKDAYS[((days + 4) % 7) as usize]);
    put2(&mut out, 5, day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize % 12]);
    put2(&mut out, 12, year / 100);
    put2(&mut out, 14, year % 100);
    put2(&mut out, 17, of_day / 3600);
    put2(&mut out, 20, of_day / 60 % 60);
    put2(&mut out, 23, of_day % 60);
    out
}

/// Writes `v % 100` as two digits at `out[at..at + 2]`.
fn put2(out: &mut [u8; DATE_LEN], at: usize, v: u64) {
    let v = (v % 100) as u8;
    if let Some(slot) = out.get_mut(at..at + 2) {
        slot.copy_from_slice(&[b'0' + v / 10, b'0' + v % 10]);
    }
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> String {
        let mut d = DateCache::new();
        d.refresh(UNIX_EPOCH + Duration::from_secs(secs));
        String::from_utf8(d.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn known_dates() {
        assert_eq!(at(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(at(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(at(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(at(1_709_210_096), "Thu, 29 Feb 2024 12:34:56 GMT");
        assert_eq!(at(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT");
        assert_eq!(at(MAX_SECS), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(at(u64::MAX / 2), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn before_the_epoch_is_the_epoch() {
        let mut d = DateCache::new();
        d.refresh(UNIX_EPOCH - Duration::from_secs(10));
        assert_eq!(d.as_bytes(), b"Thu, 01 Jan 1970 00:00:00 GMT");
    }

    fn month_len(y: u64, m: u64) -> u64 {
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    #[test]
    fn every_day_is_well_formed_and_increasing() {
        // Walk 1970..2100 day by day: the date must advance by exactly one
        // day each step and the weekday cycle by one.
        let mut prev = civil_from_days(0);
        for days in 1..47_482u64 {
            let (y, m, d) = civil_from_days(days);
            let next_day = (prev.0, prev.1, prev.2 + 1);
            let next_month = (prev.0, prev.1 + 1, 1);
            let next_year = (prev.0 + 1, 1, 1);
            assert!(
                (y, m, d) == next_day || (y, m, d) == next_month || (y, m, d) == next_year,
                "{days}: {prev:?} -> {:?}",
                (y, m, d)
            );
            if m != prev.1 {
                assert_eq!(prev.2, month_len(prev.0, prev.1), "{prev:?}");
            }
            prev = (y, m, d);
        }
        assert_eq!(prev, (2099, 12, 31));
    }
}
