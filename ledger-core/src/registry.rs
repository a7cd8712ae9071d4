//! The registry of estates (小区), buildings (幢) and units (户).

use std::fmt;

use serde::{Serialize, Serializer};
use thiserror::Error;

use crate::fixed::{self, DecimalError};

/// A floor area in hundredths of a square metre: positive, at most 2 decimals, exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FloorArea {
    centi_m2: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AreaError {
    #[error("{0}")]
    Decimal(#[from] DecimalError),
    #[error("expected a floor area greater than 0 m², found `{0}`")]
    NotPositive(String),
}

impl FloorArea {
    pub fn parse(text: &str) -> Result<FloorArea, AreaError> {
        let centi_m2 = fixed::parse_hundredths(text)?;
        FloorArea::from_centi_m2(centi_m2).ok_or_else(|| AreaError::NotPositive(text.to_owned()))
    }

    pub fn from_centi_m2(centi_m2: i64) -> Option<FloorArea> {
        (centi_m2 > 0 && centi_m2 <= fixed::MAX_HUNDREDTHS).then_some(FloorArea { centi_m2 })
    }

    pub const fn centi_m2(self) -> i64 {
        self.centi_m2
    }
}

impl fmt::Display for FloorArea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fixed::format_hundredths(self.centi_m2, f)
    }
}

impl Serialize for FloorArea {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitUse {
    Residential,
    Commercial,
}

impl UnitUse {
    pub fn parse(text: &str) -> Option<UnitUse> {
        match text {
            "residential" => Some(UnitUse::Residential),
            "commercial" => Some(UnitUse::Commercial),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UnitUse::Residential => "residential",
            UnitUse::Commercial => "commercial",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Estate {
    pub estate_id: String,
    pub name: String,
    pub district: String,
    pub street_office: String,
    pub property_company: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Building {
    pub building_id: String,
    pub estate_id: String,
    pub name: String,
    pub floors: u16,
    pub has_elevator: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    pub unit_id: String,
    pub building_id: String,
    pub floor_area: FloorArea,
    #[serde(rename = "use")]
    pub unit_use: UnitUse,
    pub owner: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_are_positive_with_two_decimals() {
        assert_eq!(FloorArea::parse("89.5").unwrap().centi_m2(), 8950);
        assert!(matches!(FloorArea::parse("0"), Err(AreaError::NotPositive(_))));
        assert!(matches!(FloorArea::parse("-3"), Err(AreaError::NotPositive(_))));
        assert!(matches!(FloorArea::parse("89.555"), Err(AreaError::Decimal(DecimalError::TooManyDecimals(..)))));
    }
}
