//! Exact money: integer fen (分) behind a private field.

use std::fmt;

use serde::{Serialize, Serializer};
use thiserror::Error;

use crate::fixed::{self, DecimalError};

/// An amount of money in fen. Built only by parsing a SPEC amount string or from whole fen, so
/// it can never hold a fraction of a fen; arithmetic is checked and never wraps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MoneyError {
    #[error("{0}")]
    Decimal(#[from] DecimalError),
    #[error("expected a positive amount, found `{0}`")]
    NotPositive(String),
    #[error("amount overflow: the sum exceeds the largest representable amount")]
    Overflow,
}

impl Money {
    pub const ZERO: Money = Money { fen: 0 };

    pub const fn from_fen(fen: i64) -> Money {
        Money { fen }
    }

    pub const fn fen(self) -> i64 {
        self.fen
    }

    /// Parses a signed SPEC amount in yuan (`-12.3`, `0.07`, `12`).
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        Ok(Money { fen: fixed::parse_hundredths(text)? })
    }

    /// Parses a journal debit or credit, which must be strictly positive.
    pub fn parse_positive(text: &str) -> Result<Money, MoneyError> {
        let money = Money::parse(text)?;
        if money.fen <= 0 {
            return Err(MoneyError::NotPositive(text.to_owned()));
        }
        Ok(money)
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.fen.checked_add(other.fen).map(Money::from_fen).ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.fen.checked_sub(other.fen).map(Money::from_fen).ok_or(MoneyError::Overflow)
    }

    pub const fn is_positive(self) -> bool {
        self.fen > 0
    }

    pub const fn is_negative(self) -> bool {
        self.fen < 0
    }
}

/// Prints yuan with exactly two decimals (`-12.30`), the SPEC's report format.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fixed::format_hundredths(self.fen, f)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prints_two_decimals() {
        assert_eq!(Money::from_fen(-1230).to_string(), "-12.30");
        assert_eq!(Money::from_fen(7).to_string(), "0.07");
        assert_eq!(Money::from_fen(-7).to_string(), "-0.07");
        assert_eq!(Money::ZERO.to_string(), "0.00");
    }

    #[test]
    fn positive_amounts_refuse_zero_and_negative() {
        assert!(matches!(Money::parse_positive("0"), Err(MoneyError::NotPositive(_))));
        assert!(matches!(Money::parse_positive("-1"), Err(MoneyError::NotPositive(_))));
        assert_eq!(Money::parse_positive("0.01"), Ok(Money::from_fen(1)));
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Money::from_fen(i64::MAX).checked_add(Money::from_fen(1)), Err(MoneyError::Overflow));
        assert_eq!(Money::from_fen(i64::MIN).checked_sub(Money::from_fen(1)), Err(MoneyError::Overflow));
    }

    proptest! {
        #[test]
        fn print_then_parse_round_trips(fen in -crate::fixed::MAX_HUNDREDTHS..=crate::fixed::MAX_HUNDREDTHS) {
            let money = Money::from_fen(fen);
            prop_assert_eq!(Money::parse(&money.to_string()), Ok(money));
        }

        #[test]
        fn parse_then_print_is_canonical(int in 0u64..10_000_000, frac in 0u32..100, short in any::<bool>()) {
            let text = if short && frac % 10 == 0 { format!("{int}.{}", frac / 10) } else { format!("{int}.{frac:02}") };
            let money = Money::parse(&text).unwrap();
            prop_assert_eq!(money.fen(), int as i64 * 100 + i64::from(frac));
            prop_assert_eq!(money.to_string(), format!("{int}.{frac:02}"));
        }
    }
}
