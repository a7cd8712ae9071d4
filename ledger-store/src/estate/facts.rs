//! The registry's facts in force on a day, as SQL expressions the other reads embed: the
//! latest version dated on or before the day, else the registration.

/// The day that selects the latest version whatever its date (what a change is judged against).
pub(crate) const LATEST: &str = "9999-12-31";

/// An estate's street office in force: the estate's row is `e`, the day is parameter `day`.
pub(crate) fn street_office(day: &str) -> String {
    format!(
        "COALESCE((SELECT v.street_office FROM estate_versions v WHERE v.estate_id = e.estate_id \
         AND v.effective_from <= {day} ORDER BY v.effective_from DESC, v.seq DESC LIMIT 1), e.street_office)"
    )
}

/// An estate's property company in force (the estate's row is `e`).
pub(crate) fn company(day: &str) -> String {
    format!(
        "COALESCE((SELECT v.property_company FROM estate_versions v WHERE v.estate_id = e.estate_id \
         AND v.effective_from <= {day} ORDER BY v.effective_from DESC, v.seq DESC LIMIT 1), e.property_company)"
    )
}

/// A unit's owner in force (the unit's row is `u`).
pub(crate) fn owner(day: &str) -> String {
    format!(
        "COALESCE((SELECT v.owner FROM unit_versions v WHERE v.unit_id = u.unit_id \
         AND v.effective_from <= {day} ORDER BY v.effective_from DESC, v.seq DESC LIMIT 1), u.owner)"
    )
}

/// True for a unit (row `u`) closed by a refund.
pub(crate) const OPEN_UNIT: &str = "NOT EXISTS (SELECT 1 FROM unit_closures c WHERE c.unit_id = u.unit_id)";
