//! The numbers of SPEC §9 as one value: the defaults, and a city's own from a TOML file with the
//! same names (`--rules FILE`). Every published year records the rules it used.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::decimal::text as dec;

/// A company's grade (企业等级), best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    Excellent,
    Good,
    Qualified,
    Basic,
    Unqualified,
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Excellent => "excellent",
            Grade::Good => "good",
            Grade::Qualified => "qualified",
            Grade::Basic => "basic",
            Grade::Unqualified => "unqualified",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Grade::Excellent => "优秀",
            Grade::Good => "良好",
            Grade::Qualified => "合格",
            Grade::Basic => "基本合格",
            Grade::Unqualified => "不合格",
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    pub response: ResponseRules,
    pub annual: AnnualRules,
    pub stars: StarRules,
    pub grades: GradeRules,
    pub rectification: RectificationRules,
    pub lists: ListRules,
    pub fee_float: FeeFloatRules,
}

/// `response.1` from the tickets: the share answered within the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseRules {
    pub indicator: String,
    /// A ticket answered this many minutes after opening is still on time; one minute more is late.
    pub within_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnnualRules {
    #[serde(with = "dec")]
    pub quarters_weight: Decimal,
    #[serde(with = "dec")]
    pub credit_weight: Decimal,
}

/// The lowest annual total for each number of stars; below `two` is one star.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StarRules {
    #[serde(with = "dec")]
    pub five: Decimal,
    #[serde(with = "dec")]
    pub four: Decimal,
    #[serde(with = "dec")]
    pub three: Decimal,
    #[serde(with = "dec")]
    pub two: Decimal,
}

/// The lowest weighted total for each grade; below `basic` is `unqualified`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GradeRules {
    #[serde(with = "dec")]
    pub excellent: Decimal,
    #[serde(with = "dec")]
    pub good: Decimal,
    #[serde(with = "dec")]
    pub qualified: Decimal,
    #[serde(with = "dec")]
    pub basic: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RectificationRules {
    /// Estates with this many stars or fewer get an order.
    pub max_stars: u8,
    /// Every estate of a company with one of these grades gets an order.
    pub grades: Vec<Grade>,
    /// The order is due this many months after publication.
    pub months: u32,
    /// The mean monthly total from which a recheck passes.
    #[serde(with = "dec")]
    pub pass_mean: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListRules {
    /// A company with one of these grades is black-listed.
    pub black_grades: Vec<Grade>,
    /// Black-listed when an estate's satisfaction points, averaged over the year's checked
    /// months, are at most this share of the dimension's points.
    #[serde(with = "dec")]
    pub black_satisfaction_share: Decimal,
    pub red_grade: Grade,
    #[serde(with = "dec")]
    pub red_min_credit: Decimal,
    /// Red-listed only if none of its estates has fewer stars than this.
    pub red_min_stars: u8,
}

/// The fee float for the year after, in whole percent, by stars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeeFloatRules {
    pub five: i32,
    pub four: i32,
    pub three: i32,
    pub two: i32,
    pub one: i32,
    /// The estates of a black-listed company float at most this much.
    pub black_cap: i32,
}

impl Default for ResponseRules {
    fn default() -> Self {
        ResponseRules { indicator: "response.1".to_owned(), within_minutes: 120 }
    }
}

impl Default for AnnualRules {
    fn default() -> Self {
        AnnualRules { quarters_weight: Decimal::new(8, 1), credit_weight: Decimal::new(2, 1) }
    }
}

impl Default for StarRules {
    fn default() -> Self {
        StarRules { five: 90.into(), four: 80.into(), three: 70.into(), two: 60.into() }
    }
}

impl Default for GradeRules {
    fn default() -> Self {
        GradeRules { excellent: 90.into(), good: 80.into(), qualified: 70.into(), basic: 60.into() }
    }
}

impl Default for RectificationRules {
    fn default() -> Self {
        RectificationRules {
            max_stars: 2,
            grades: vec![Grade::Basic, Grade::Unqualified],
            months: 3,
            pass_mean: 70.into(),
        }
    }
}

impl Default for ListRules {
    fn default() -> Self {
        ListRules {
            black_grades: vec![Grade::Unqualified],
            black_satisfaction_share: Decimal::new(5, 1),
            red_grade: Grade::Excellent,
            red_min_credit: 90.into(),
            red_min_stars: 4,
        }
    }
}

impl Default for FeeFloatRules {
    fn default() -> Self {
        FeeFloatRules { five: 5, four: 0, three: 0, two: -5, one: -10, black_cap: -5 }
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            response: ResponseRules::default(),
            annual: AnnualRules::default(),
            stars: StarRules::default(),
            grades: GradeRules::default(),
            rectification: RectificationRules::default(),
            lists: ListRules::default(),
            fee_float: FeeFloatRules::default(),
        }
    }
}

/// A rules file that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct RulesError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Rules {
    /// Reads a TOML rules file (`file` names it in errors). Absent names keep their defaults;
    /// an unknown name is an error, never ignored.
    pub fn from_toml(file: &str, text: &str) -> Result<Rules, RulesError> {
        let rules: Rules = toml::from_str(text).map_err(|e| {
            let (line, column) = line_column(text, e.span().map_or(0, |s| s.start));
            RulesError { file: file.to_owned(), line, column, message: e.message().trim().to_owned() }
        })?;
        rules.check().map_err(|message| RulesError { file: file.to_owned(), line: 1, column: 1, message })?;
        Ok(rules)
    }

    /// The thresholds must make sense together: descending, weights summing to 1.
    pub fn check(&self) -> Result<(), String> {
        let a = &self.annual;
        if a.quarters_weight < Decimal::ZERO || a.credit_weight < Decimal::ZERO {
            return Err("annual weights must not be negative".to_owned());
        }
        if a.quarters_weight + a.credit_weight != Decimal::ONE {
            return Err(format!(
                "annual.quarters_weight + annual.credit_weight must be 1, found {} + {}",
                a.quarters_weight, a.credit_weight
            ));
        }
        let s = &self.stars;
        descending("stars", &[("five", s.five), ("four", s.four), ("three", s.three), ("two", s.two)])?;
        let g = &self.grades;
        descending(
            "grades",
            &[("excellent", g.excellent), ("good", g.good), ("qualified", g.qualified), ("basic", g.basic)],
        )?;
        if self.response.within_minutes == 0 {
            return Err("response.within_minutes must be at least 1".to_owned());
        }
        if !(1..=24).contains(&self.rectification.months) {
            return Err(format!("rectification.months must be 1 to 24, found {}", self.rectification.months));
        }
        if self.rectification.max_stars > 5 || !(1..=5).contains(&self.lists.red_min_stars) {
            return Err("rectification.max_stars must be 0 to 5 and lists.red_min_stars 1 to 5".to_owned());
        }
        let share = self.lists.black_satisfaction_share;
        if share < Decimal::ZERO || share > Decimal::ONE {
            return Err(format!("lists.black_satisfaction_share must be from 0 to 1, found {share}"));
        }
        Ok(())
    }

    /// Stars for an annual total.
    pub fn stars(&self, total: Decimal) -> u8 {
        let s = &self.stars;
        match total {
            t if t >= s.five => 5,
            t if t >= s.four => 4,
            t if t >= s.three => 3,
            t if t >= s.two => 2,
            _ => 1,
        }
    }

    /// The grade for a company's weighted total.
    pub fn grade(&self, total: Decimal) -> Grade {
        let g = &self.grades;
        match total {
            t if t >= g.excellent => Grade::Excellent,
            t if t >= g.good => Grade::Good,
            t if t >= g.qualified => Grade::Qualified,
            t if t >= g.basic => Grade::Basic,
            _ => Grade::Unqualified,
        }
    }

    /// The fee float for the year after, by stars.
    pub fn fee_float(&self, stars: u8) -> i32 {
        let f = &self.fee_float;
        match stars {
            5 => f.five,
            4 => f.four,
            3 => f.three,
            2 => f.two,
            _ => f.one,
        }
    }
}

fn descending(section: &str, thresholds: &[(&str, Decimal)]) -> Result<(), String> {
    for w in thresholds.windows(2) {
        if w[0].1 <= w[1].1 {
            return Err(format!("{section}.{} ({}) must be above {section}.{} ({})", w[0].0, w[0].1, w[1].0, w[1].1));
        }
    }
    Ok(())
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_defaults_and_names_override() {
        assert_eq!(Rules::from_toml("r.toml", "").unwrap(), Rules::default());
        let text =
            "[stars]\nfive = 95\n[annual]\nquarters_weight = 0.7\ncredit_weight = \"0.3\"\n[fee_float]\nfive = 8\n";
        let rules = Rules::from_toml("r.toml", text).unwrap();
        assert_eq!(rules.stars.five, Decimal::from(95));
        assert_eq!(rules.annual.quarters_weight, Decimal::new(7, 1));
        assert_eq!(rules.annual.credit_weight, Decimal::new(3, 1));
        assert_eq!(rules.fee_float.five, 8);
        assert_eq!(rules.stars.four, Decimal::from(80));
    }

    #[test]
    fn bad_toml_names_file_line_and_column() {
        let error = Rules::from_toml("rules.toml", "[stars]\nfive = 90\nfour = = 3\n").unwrap_err();
        assert_eq!((error.file.as_str(), error.line), ("rules.toml", 3), "{error}");
        assert!(error.to_string().starts_with("rules.toml:3:"), "{error}");
        let unknown = Rules::from_toml("rules.toml", "[stars]\nsix = 99\n").unwrap_err();
        assert!(unknown.to_string().contains("six") && unknown.line == 2, "{unknown}");
        let weights = Rules::from_toml("rules.toml", "[annual]\nquarters_weight = 0.9\n").unwrap_err();
        assert!(weights.message.contains("must be 1"), "{weights}");
        let order = Rules::from_toml("rules.toml", "[stars]\nfour = 95\n").unwrap_err();
        assert!(order.message.contains("stars.five"), "{order}");
    }

    #[test]
    fn stars_and_grades_at_their_thresholds() {
        let r = Rules::default();
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!((r.stars(d("89.99")), r.stars(d("90.00"))), (4, 5));
        assert_eq!((r.stars(d("59.99")), r.stars(d("60.00"))), (1, 2));
        assert_eq!((r.stars(d("69.99")), r.stars(d("70"))), (2, 3));
        assert_eq!((r.grade(d("60.00")), r.grade(d("59.99"))), (Grade::Basic, Grade::Unqualified));
        assert_eq!((r.grade(d("89.99")), r.grade(d("90.00"))), (Grade::Good, Grade::Excellent));
        assert_eq!([5, 4, 3, 2, 1].map(|s| r.fee_float(s)), [5, 0, 0, -5, -10]);
    }
}
