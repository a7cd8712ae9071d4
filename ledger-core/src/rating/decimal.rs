//! Exact decimals for scores: strict parsing, the one rounding §9 names (half up), and serde as
//! text, so that no score ever passes through binary floating point.

use rust_decimal::{Decimal, RoundingStrategy};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecimalError {
    #[error("expected a plain decimal number such as `4.5`, found `{0}`")]
    NotANumber(String),
    #[error("expected at most {max} decimal(s), found `{found}`")]
    TooManyDecimals { max: u32, found: String },
}

/// Rounds half up (a tie goes away from zero: 89.995 → 90.00), the only rounding of §9.
pub fn half_up(value: Decimal, decimals: u32) -> Decimal {
    value.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero)
}

/// `value` rounded half up and written with exactly `decimals` digits after the point.
pub fn fixed(value: Decimal, decimals: u32) -> String {
    let mut rounded = half_up(value, decimals);
    rounded.rescale(decimals);
    rounded.to_string()
}

/// Parses a non-negative decimal as people write it: digits, then optionally a point and at
/// most `max_decimals` digits. No sign, exponent, separators or spaces.
pub fn parse_plain(text: &str, max_decimals: u32) -> Result<Decimal, DecimalError> {
    let not_a_number = || DecimalError::NotANumber(text.to_owned());
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || (text.contains('.') && fraction.is_empty()) {
        return Err(not_a_number());
    }
    if fraction.len() > max_decimals as usize {
        return Err(DecimalError::TooManyDecimals { max: max_decimals, found: text.to_owned() });
    }
    if whole.len() > 12 {
        return Err(not_a_number());
    }
    text.parse::<Decimal>().map_err(|_| not_a_number())
}

/// Serde for a `Decimal` as text (`"0.8"`); reads text, integers, and TOML/JSON floats by their
/// shortest decimal form (`0.8` is 0.8, not 0.8000000000000000444).
pub mod text {
    use rust_decimal::Decimal;
    use serde::{de, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&value.normalize())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        deserializer.deserialize_any(DecimalVisitor)
    }

    pub(crate) struct DecimalVisitor;

    impl de::Visitor<'_> for DecimalVisitor {
        type Value = Decimal;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a decimal number such as 0.8 or \"0.8\"")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
            let (sign, digits) = v.strip_prefix('-').map_or((1, v), |rest| (-1, rest));
            let parsed = super::parse_plain(digits, 10).map_err(E::custom)?;
            Ok(if sign < 0 { -parsed } else { parsed })
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
            if !v.is_finite() {
                return Err(E::custom(format!("expected a finite number, found {v}")));
            }
            // Rust prints the shortest text that reads back as the same f64: the number as written.
            self.visit_str(&format!("{v}"))
        }
    }
}

/// Serde for a score in a report: text with exactly 2 decimals (`"90.00"`), or null.
pub mod score2 {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Decimal>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => serializer.serialize_str(&super::fixed(*v, 2)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
        let text: Option<String> = Option::deserialize(deserializer)?;
        text.map(|t| t.parse::<Decimal>().map_err(serde::de::Error::custom)).transpose()
    }
}

/// Serde for four quarterly scores, each 2-decimal text or null.
pub mod quarters {
    use rust_decimal::Decimal;
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &[Option<Decimal>; 4], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(4))?;
        for q in value {
            seq.serialize_element(&q.map(|v| super::fixed(v, 2)))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[Option<Decimal>; 4], D::Error> {
        let texts: [Option<String>; 4] = Deserialize::deserialize(deserializer)?;
        let mut out = [None; 4];
        for (slot, text) in out.iter_mut().zip(texts) {
            *slot = text.map(|t| t.parse::<Decimal>().map_err(serde::de::Error::custom)).transpose()?;
        }
        Ok(out)
    }
}

/// Serde for a [`crate::Date`] as `YYYY-MM-DD`.
pub mod date_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::Date;

    pub fn serialize<S: Serializer>(value: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strictly() {
        assert_eq!(parse_plain("4.5", 1).unwrap().to_string(), "4.5");
        assert_eq!(parse_plain("5", 1).unwrap().to_string(), "5");
        assert!(matches!(parse_plain("4.55", 1), Err(DecimalError::TooManyDecimals { .. })));
        for bad in ["", "-1", "+1", "1e2", "1,5", " 1", "1.", ".5", "NaN", "1.2.3"] {
            assert!(matches!(parse_plain(bad, 2), Err(DecimalError::NotANumber(_))), "{bad}");
        }
    }

    #[test]
    fn half_up_at_the_tie() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(fixed(d("89.995"), 2), "90.00");
        assert_eq!(fixed(d("89.9949"), 2), "89.99");
        assert_eq!(fixed(d("3.25"), 1), "3.3");
        assert_eq!(fixed(d("90"), 2), "90.00");
    }
}
