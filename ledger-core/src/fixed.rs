//! Strict parsing of decimal strings with at most two fractional digits.
//!
//! Money (yuan → fen) and floor area (m² → hundredths of m²) share this one parser, so that
//! both refuse exactly the same malformed input and neither ever touches binary floating point.

use thiserror::Error;

/// Why a decimal string was refused. Each SPEC-forbidden form has its own variant so that a
/// clerk's error message can say precisely what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecimalError {
    #[error("expected a number, found an empty field")]
    Empty,
    #[error("expected a number without thousands separators, found `{0}`")]
    ThousandsSeparator(String),
    #[error("expected at most 2 decimals, found `{0}` ({1} decimals); amounts are never rounded")]
    TooManyDecimals(String, usize),
    #[error("expected a plain decimal number, found `{0}` with an exponent")]
    Exponent(String),
    #[error("expected a number, found `{0}`")]
    NotANumber(String),
    #[error("expected digits with an optional `.` and up to 2 decimals, found `{0}`")]
    Malformed(String),
    #[error("number `{0}` is too large")]
    TooLarge(String),
}

/// Largest magnitude accepted, in hundredths: 10^15 yuan keeps every sum of a city's
/// postings far inside `i64`.
pub const MAX_HUNDREDTHS: i64 = 100_000_000_000_000_000;

/// Parses `-?digits(.d{1,2})?` into hundredths (`"12.5"` → 1250). Surrounding spaces are not
/// trimmed: interchange files are machine-written and a space is a sign of a broken export.
pub fn parse_hundredths(text: &str) -> Result<i64, DecimalError> {
    if text.is_empty() {
        return Err(DecimalError::Empty);
    }
    let (negative, body) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        _ => (false, text),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(int_part) || frac_part.is_some_and(|f| !digits_only(f)) {
        return Err(classify_malformed(text));
    }
    let frac = frac_part.unwrap_or("");
    if frac.len() > 2 {
        return Err(DecimalError::TooManyDecimals(text.to_owned(), frac.len()));
    }
    let too_large = || DecimalError::TooLarge(text.to_owned());
    if int_part.len() > 16 {
        return Err(too_large());
    }
    let mut value: i64 = 0;
    for b in int_part.bytes() {
        value = value * 10 + i64::from(b - b'0');
    }
    let mut fraction = 0;
    for (i, b) in frac.bytes().enumerate() {
        fraction += i64::from(b - b'0') * if i == 0 { 10 } else { 1 };
    }
    let magnitude = value.checked_mul(100).and_then(|v| v.checked_add(fraction)).ok_or_else(too_large)?;
    if magnitude > MAX_HUNDREDTHS {
        return Err(too_large());
    }
    Ok(if negative { -magnitude } else { magnitude })
}

fn classify_malformed(text: &str) -> DecimalError {
    let lower = text.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['-', '+']);
    if matches!(unsigned, "nan" | "inf" | "infinity") {
        DecimalError::NotANumber(text.to_owned())
    } else if text.contains(',') {
        DecimalError::ThousandsSeparator(text.to_owned())
    } else if lower.contains('e') && lower.bytes().any(|b| b.is_ascii_digit()) {
        DecimalError::Exponent(text.to_owned())
    } else if !lower.bytes().any(|b| b.is_ascii_digit()) {
        DecimalError::NotANumber(text.to_owned())
    } else {
        DecimalError::Malformed(text.to_owned())
    }
}

/// Writes hundredths as a decimal with exactly two fractional digits (`-1230` → `-12.30`).
pub fn format_hundredths(value: i64, out: &mut impl std::fmt::Write) -> std::fmt::Result {
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    write!(out, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_spec_forms() {
        assert_eq!(parse_hundredths("12"), Ok(1200));
        assert_eq!(parse_hundredths("0.5"), Ok(50));
        assert_eq!(parse_hundredths("0.07"), Ok(7));
        assert_eq!(parse_hundredths("1234.56"), Ok(123456));
        assert_eq!(parse_hundredths("-12.30"), Ok(-1230));
        assert_eq!(parse_hundredths("007"), Ok(700));
    }

    #[test]
    fn refuses_each_forbidden_form_distinctly() {
        assert_eq!(parse_hundredths(""), Err(DecimalError::Empty));
        assert!(matches!(parse_hundredths("1.234"), Err(DecimalError::TooManyDecimals(_, 3))));
        assert!(matches!(parse_hundredths("1,000"), Err(DecimalError::ThousandsSeparator(_))));
        assert!(matches!(parse_hundredths("1e3"), Err(DecimalError::Exponent(_))));
        assert!(matches!(parse_hundredths("1.5E2"), Err(DecimalError::Exponent(_))));
        assert!(matches!(parse_hundredths("NaN"), Err(DecimalError::NotANumber(_))));
        assert!(matches!(parse_hundredths("-inf"), Err(DecimalError::NotANumber(_))));
        assert!(matches!(parse_hundredths("abc"), Err(DecimalError::NotANumber(_))));
        for bad in [" 12", "12 ", "+12", ".5", "12.", "1.2.3", "--1", "1_000", "12.5x"] {
            assert!(matches!(parse_hundredths(bad), Err(DecimalError::Malformed(_))), "{bad}");
        }
        assert!(matches!(parse_hundredths("99999999999999999"), Err(DecimalError::TooLarge(_))));
    }
}
