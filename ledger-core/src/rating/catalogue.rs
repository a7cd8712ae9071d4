//! The 20 indicators in 5 dimensions that a street office scores each month (SPEC §9), or the
//! city's own catalogue from `indicators.csv`; either way its points sum to 100.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// 履约能力
    Performance,
    /// 响应速度
    Response,
    /// 公共安全
    Safety,
    /// 环境维护
    Environment,
    /// 居民满意度
    Satisfaction,
}

impl Dimension {
    pub const ALL: [Dimension; 5] = [
        Dimension::Performance,
        Dimension::Response,
        Dimension::Safety,
        Dimension::Environment,
        Dimension::Satisfaction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Performance => "performance",
            Dimension::Response => "response",
            Dimension::Safety => "safety",
            Dimension::Environment => "environment",
            Dimension::Satisfaction => "satisfaction",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Dimension::Performance => "履约能力",
            Dimension::Response => "响应速度",
            Dimension::Safety => "公共安全",
            Dimension::Environment => "环境维护",
            Dimension::Satisfaction => "居民满意度",
        }
    }

    pub fn parse(text: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    pub indicator_id: String,
    pub dimension: Dimension,
    pub name: String,
    #[serde(with = "super::decimal::text")]
    pub max_points: Decimal,
}

/// What the catalogue's points must sum to.
pub const CATALOGUE_POINTS: Decimal = Decimal::ONE_HUNDRED;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CatalogueError {
    #[error("the indicators' max_points sum to {0}, expected 100")]
    Sum(Decimal),
    #[error("indicator `{0}` appears twice")]
    Duplicate(String),
    #[error("the catalogue has no indicator")]
    Empty,
}

/// A checked catalogue: ids unique, every indicator worth more than 0, 100 points in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Catalogue {
    indicators: Vec<Indicator>,
}

const DEFAULT_NAMES: [[&str; 4]; 5] = [
    ["合同履约", "人员配置", "档案管理", "收费公示"],
    ["响应时限", "报修处理", "投诉处理", "应急处置"],
    ["消防设施", "安全巡查", "电梯运行", "车辆秩序"],
    ["清洁卫生", "绿化养护", "垃圾分类", "公共设施维护"],
    ["业主满意度", "回访评价", "信息公开", "业主沟通"],
];

impl Catalogue {
    pub fn new(indicators: Vec<Indicator>) -> Result<Catalogue, CatalogueError> {
        if indicators.is_empty() {
            return Err(CatalogueError::Empty);
        }
        let mut ids: Vec<&str> = indicators.iter().map(|i| i.indicator_id.as_str()).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(CatalogueError::Duplicate(pair[0].to_owned()));
        }
        let sum: Decimal = indicators.iter().map(|i| i.max_points).sum();
        if sum != CATALOGUE_POINTS {
            return Err(CatalogueError::Sum(sum));
        }
        Ok(Catalogue { indicators })
    }

    /// SPEC §9's: `performance.1` … `satisfaction.4`, 5 points each.
    pub fn standard() -> Catalogue {
        let indicators = Dimension::ALL
            .iter()
            .zip(DEFAULT_NAMES)
            .flat_map(|(dimension, names)| {
                names.into_iter().enumerate().map(move |(k, name)| Indicator {
                    indicator_id: format!("{dimension}.{}", k + 1),
                    dimension: *dimension,
                    name: name.to_owned(),
                    max_points: Decimal::from(5),
                })
            })
            .collect();
        Catalogue::new(indicators).expect("the standard catalogue sums to 100")
    }

    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    pub fn get(&self, indicator_id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.indicator_id == indicator_id)
    }

    /// The points of one dimension (20 in the standard catalogue).
    pub fn dimension_points(&self, dimension: Dimension) -> Decimal {
        self.indicators.iter().filter(|i| i.dimension == dimension).map(|i| i.max_points).sum()
    }
}

impl Default for Catalogue {
    fn default() -> Catalogue {
        Catalogue::standard()
    }
}

impl<'de> Deserialize<'de> for Catalogue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Catalogue, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            indicators: Vec<Indicator>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Catalogue::new(raw.indicators).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_catalogue() {
        let c = Catalogue::standard();
        assert_eq!(c.indicators().len(), 20);
        assert_eq!(c.indicators()[0].indicator_id, "performance.1");
        assert_eq!(c.indicators()[19].indicator_id, "satisfaction.4");
        assert_eq!(c.dimension_points(Dimension::Satisfaction), Decimal::from(20));
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Catalogue>(&json).unwrap(), c);
    }

    #[test]
    fn points_must_sum_to_100() {
        let mut indicators = Catalogue::standard().indicators().to_vec();
        indicators[0].max_points = Decimal::from(4);
        assert_eq!(Catalogue::new(indicators.clone()), Err(CatalogueError::Sum(Decimal::from(99))));
        indicators[0].max_points = Decimal::from(5);
        indicators[1].indicator_id = "performance.1".into();
        assert!(matches!(Catalogue::new(indicators), Err(CatalogueError::Duplicate(_))));
    }
}
