//! Calendar dates as a day count, parsed strictly from `YYYY-MM-DD`.

use std::fmt;

use serde::{Serialize, Serializer};
use thiserror::Error;

/// A proleptic Gregorian date, stored as days since 1970-01-01 so that comparisons, day
/// distances (the statement matcher's 3-day window) and weekdays are integer arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    days: i32,
}

/// The fund's days are China Standard Time (UTC+8, no daylight saving): "today" and a street
/// office's deadline turn over at midnight in the city, not eight hours later at Greenwich.
pub const FUND_UTC_OFFSET_SECONDS: i64 = 8 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("expected a date as YYYY-MM-DD, found `{0}`")]
pub struct DateError(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Date {
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { days: days_from_civil(year, month, day) })
    }

    pub fn parse(text: &str) -> Result<Date, DateError> {
        let b = text.as_bytes();
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
        };
        let parsed = (b.len() == 10 && b[4] == b'-' && b[7] == b'-')
            .then(|| Some((digits(0..4)?, digits(5..7)?, digits(8..10)?)))
            .flatten()
            .and_then(|(y, m, d)| Date::from_ymd(y as i32, m, d));
        parsed.ok_or_else(|| DateError(text.to_owned()))
    }

    pub const fn days_since_epoch(self) -> i32 {
        self.days
    }

    pub const fn from_days_since_epoch(days: i32) -> Date {
        Date { days }
    }

    /// The fund's day (see [`FUND_UTC_OFFSET_SECONDS`]) at a moment in seconds since
    /// 1970-01-01T00:00:00Z.
    pub fn of_unix_seconds(seconds: i64) -> Date {
        Date { days: (seconds + FUND_UTC_OFFSET_SECONDS).div_euclid(86_400) as i32 }
    }

    pub fn add_days(self, days: i32) -> Date {
        Date { days: self.days + days }
    }

    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday.
        const ORDER: [Weekday; 7] = [
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
        ];
        ORDER[self.days.rem_euclid(7) as usize]
    }

    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.days)
    }
}

fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i32::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_day_turns_at_midnight_in_the_city() {
        let midnight_in_beijing = 1_795_276_800; // 2026-11-21T16:00:00Z = 2026-11-22 00:00 +08:00
        assert_eq!(Date::of_unix_seconds(midnight_in_beijing).to_string(), "2026-11-22");
        assert_eq!(Date::of_unix_seconds(midnight_in_beijing - 1).to_string(), "2026-11-21");
        assert_eq!(Date::of_unix_seconds(0).to_string(), "1970-01-01");
    }

    #[test]
    fn parses_strictly() {
        assert_eq!(Date::parse("1970-01-01").unwrap().days_since_epoch(), 0);
        assert_eq!(Date::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        for bad in ["2023-02-29", "2024-13-01", "2024-1-01", "24-01-01", "2024/01/01", "", "2024-01-001"] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Date::parse("2026-11-22").unwrap().weekday(), Weekday::Sunday);
    }

    proptest! {
        #[test]
        fn days_round_trip(days in -700_000i32..2_900_000) {
            let date = Date::from_days_since_epoch(days);
            prop_assert_eq!(Date::parse(&date.to_string()), Ok(date));
        }
    }
}
