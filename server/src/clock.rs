//! Wall-clock helpers: milliseconds since the Unix epoch and UTC calendar
//! days (`YYYY-MM-DD`), without a date-time dependency; and [`Clock`], the
//! server's clock for what tests must be able to move forward.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    now_ms() / 1000
}

/// The server's clock for the device-bound sessions' times: a resume's
/// `ts` window, a ticket's lifetime, and the `serverTime` of `loginOk`
/// (from which clients take the offset they sign `ts` with). It is the
/// wall clock plus an offset that only tests move (`POST /_test/clock`,
/// or [`Clock::advance`] in-process), so that a ticket's 30 days pass
/// without waiting for them. One per server.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// Now, in ms since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        now_ms().saturating_add_signed(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock by `ms` (back when negative); returns the new now.
    pub fn advance(&self, ms: i64) -> u64 {
        let _ = self
            .offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                Some(o.saturating_add(ms))
            });
        self.now_ms()
    }
}

/// The UTC day of a time in ms since the epoch, as `YYYY-MM-DD`.
pub fn utc_day(ms: u64) -> String {
    let days = i64::try_from(ms / 86_400_000).unwrap_or(i64::MAX / 2);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Whether `s` is a real calendar day written `YYYY-MM-DD`.
pub fn is_valid_day(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: core::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let max = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=max).contains(&d)
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (y, m, d).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // d is 1..=31 and m is 1..=12 by construction.
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(951_782_400_000), "2000-02-29");
        assert_eq!(utc_day(1_767_225_599_999), "2025-12-31");
        assert_eq!(utc_day(1_767_225_600_000), "2026-01-01");
    }

    #[test]
    fn a_clock_moves_by_its_offset_only() {
        let clock = Clock::default();
        let before = clock.now_ms();
        let moved = clock.advance(86_400_000);
        assert!(moved >= before + 86_400_000 && moved < before + 86_400_000 + 60_000);
        assert!(clock.now_ms() >= moved);
        assert!(clock.advance(-86_400_000) < moved);
    }

    #[test]
    fn day_validation() {
        assert!(is_valid_day("2024-02-29"));
        assert!(!is_valid_day("2023-02-29"));
        assert!(!is_valid_day("2023-13-01"));
        assert!(!is_valid_day("2023-1-01"));
        assert!(!is_valid_day("2023-01-0a"));
        assert!(!is_valid_day("+023-01-01"));
    }
}
