//! Months (`YYYY-MM`), quarters and minutes (`YYYY-MM-DDTHH:MM`, China time) of the ratings.

use std::fmt;

use crate::Date;

/// A calendar month. Ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Month> {
        ((1..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Month { year, month })
    }

    /// Strictly `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        let b = text.as_bytes();
        if b.len() != 7 || b[4] != b'-' || !b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit()) {
            return None;
        }
        Month::new(text[..4].parse().ok()?, text[5..].parse().ok()?)
    }

    pub fn of(date: Date) -> Month {
        let (year, month, _) = date.ymd();
        Month { year, month }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// 0 for January–March … 3 for October–December.
    pub fn quarter_index(self) -> usize {
        ((self.month - 1) / 3) as usize
    }

    pub fn next(self) -> Month {
        match self.month {
            12 => Month { year: self.year + 1, month: 1 },
            m => Month { year: self.year, month: m + 1 },
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// `months` calendar months after `date`: the same day of the month, or that month's last day
/// when it has no such day (31 January + 3 months = 30 April).
pub fn add_months(date: Date, months: u32) -> Date {
    let (year, month, day) = date.ymd();
    let index = (year * 12 + month as i32 - 1) + months as i32;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
    (0..4).find_map(|back| Date::from_ymd(year, month, day.saturating_sub(back))).expect("every month has its 28th day")
}

/// A minute in China time, as minutes since 1970-01-01T00:00 (local).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Moment(i64);

impl Moment {
    /// Strictly `YYYY-MM-DDTHH:MM`.
    pub fn parse(text: &str) -> Option<Moment> {
        let (day, time) = text.split_once('T')?;
        let date = Date::parse(day).ok()?;
        let t = time.as_bytes();
        if t.len() != 5 || t[2] != b':' || !t.iter().enumerate().all(|(i, c)| i == 2 || c.is_ascii_digit()) {
            return None;
        }
        let (hour, minute): (i64, i64) = (time[..2].parse().ok()?, time[3..].parse().ok()?);
        if hour > 23 || minute > 59 {
            return None;
        }
        Some(Moment(i64::from(date.days_since_epoch()) * 1440 + hour * 60 + minute))
    }

    pub fn date(self) -> Date {
        Date::from_days_since_epoch(self.0.div_euclid(1440) as i32)
    }

    pub fn minutes_since(self, earlier: Moment) -> i64 {
        self.0 - earlier.0
    }
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let minutes = self.0.rem_euclid(1440);
        write!(f, "{}T{:02}:{:02}", self.date(), minutes / 60, minutes % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn three_months_after_the_31st_is_the_30th_of_april() {
        assert_eq!(add_months(d("2025-01-31"), 3), d("2025-04-30"));
        assert_eq!(add_months(d("2025-01-15"), 3), d("2025-04-15"));
        assert_eq!(add_months(d("2023-11-30"), 3), d("2024-02-29"));
        assert_eq!(add_months(d("2024-10-31"), 3), d("2025-01-31"));
    }

    #[test]
    fn months_and_moments_parse_strictly() {
        assert_eq!(Month::parse("2024-03").unwrap().to_string(), "2024-03");
        assert_eq!(Month::parse("2024-12").unwrap().next().to_string(), "2025-01");
        for bad in ["2024-3", "2024-13", "2024-00", "202403", "2024-03-01"] {
            assert!(Month::parse(bad).is_none(), "{bad}");
        }
        let m = Moment::parse("2024-03-01T08:05").unwrap();
        assert_eq!(m.to_string(), "2024-03-01T08:05");
        assert_eq!(Moment::parse("2024-03-01T10:05").unwrap().minutes_since(m), 120);
        for bad in ["2024-03-01 08:05", "2024-03-01T8:05", "2024-03-01T24:00", "2024-02-30T08:00", "2024-03-01T08:60"] {
            assert!(Moment::parse(bad).is_none(), "{bad}");
        }
    }
}
