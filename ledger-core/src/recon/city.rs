//! The registry as reconciliation needs it: dense indices instead of ids.

use rustc_hash::FxHashMap;

use crate::interchange::{unknown_parent, InputError, Located, BUILDINGS_FILE, UNITS_FILE};
use crate::registry::{Building, Estate, Unit};

/// Estates, buildings and units numbered in file order, with the links between them checked.
#[derive(Debug, Clone, Default)]
pub struct CityIndex {
    pub estate_ids: Vec<String>,
    pub building_ids: Vec<String>,
    pub building_estate: Vec<u32>,
    /// Unit ids end to end in one buffer, so neighbours share cache lines (see [`UnitCursor`]).
    unit_text: String,
    unit_ends: Vec<u32>,
    pub unit_building: Vec<u32>,
    unit_lookup: FxHashMap<Box<str>, u32>,
}

/// Remembers the last unit found: journals list units in registry order (a deposit per unit, an
/// allocation over a building), so the next unit is usually the same or the one after, and a
/// comparison with its neighbour saves a hash lookup that would miss the cache.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitCursor {
    last: u32,
}

impl CityIndex {
    /// Numbers the registry; a building or unit pointing at an unknown parent is an error of form.
    pub fn build(
        estates: &[Located<Estate>],
        buildings: &[Located<Building>],
        units: &[Located<Unit>],
    ) -> Result<CityIndex, InputError> {
        let estate_lookup: FxHashMap<&str, u32> =
            estates.iter().enumerate().map(|(i, e)| (e.value.estate_id.as_str(), i as u32)).collect();
        let mut building_lookup: FxHashMap<&str, u32> = FxHashMap::default();
        let mut city = CityIndex {
            estate_ids: estates.iter().map(|e| e.value.estate_id.clone()).collect(),
            ..CityIndex::default()
        };
        for (i, row) in buildings.iter().enumerate() {
            let b = &row.value;
            let estate = *estate_lookup.get(b.estate_id.as_str()).ok_or_else(|| {
                unknown_parent(
                    BUILDINGS_FILE,
                    row.line,
                    "estate_id",
                    "building",
                    &b.building_id,
                    "estate",
                    &b.estate_id,
                )
            })?;
            building_lookup.insert(&b.building_id, i as u32);
            city.building_ids.push(b.building_id.clone());
            city.building_estate.push(estate);
        }
        city.unit_lookup.reserve(units.len());
        for (i, row) in units.iter().enumerate() {
            let u = &row.value;
            let building = *building_lookup.get(u.building_id.as_str()).ok_or_else(|| {
                unknown_parent(UNITS_FILE, row.line, "building_id", "unit", &u.unit_id, "building", &u.building_id)
            })?;
            city.unit_lookup.insert(u.unit_id.as_str().into(), i as u32);
            city.unit_text.push_str(&u.unit_id);
            city.unit_ends.push(u32::try_from(city.unit_text.len()).expect("unit ids fit in 4 GiB"));
            city.unit_building.push(building);
        }
        Ok(city)
    }

    pub fn unit(&self, unit_id: &str) -> Option<u32> {
        self.unit_lookup.get(unit_id).copied()
    }

    /// Like [`CityIndex::unit`], trying the cursor's unit and the next one first.
    pub fn unit_near(&self, unit_id: &str, cursor: &mut UnitCursor) -> Option<u32> {
        for guess in [cursor.last, cursor.last + 1] {
            if (guess as usize) < self.units() && self.unit_id(guess) == unit_id {
                cursor.last = guess;
                return Some(guess);
            }
        }
        let found = self.unit(unit_id)?;
        cursor.last = found;
        Some(found)
    }

    pub fn unit_id(&self, unit: u32) -> &str {
        let i = unit as usize;
        let start = if i == 0 { 0 } else { self.unit_ends[i - 1] as usize };
        &self.unit_text[start..self.unit_ends[i] as usize]
    }

    pub fn units(&self) -> usize {
        self.unit_ends.len()
    }

    /// The units of each building, in unit order.
    pub fn units_by_building(&self) -> Vec<Vec<u32>> {
        let mut by_building = vec![Vec::new(); self.building_ids.len()];
        for (unit, &building) in self.unit_building.iter().enumerate() {
            by_building[building as usize].push(unit as u32);
        }
        by_building
    }
}
