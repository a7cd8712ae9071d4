//! The registry's versions and closures as stored, each chained in the records chain.

use ledger_core::estate::records::Field;

use super::records::{text, Chained, SqlRow};
use crate::group::Value;

/// A unit's owner from `effective_from` (过户), with who recorded it, when and why.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct UnitVersionRow {
    pub unit_id: String,
    pub seq: i64,
    pub effective_from: String,
    pub owner: String,
    pub actor: String,
    pub role: String,
    pub recorded_on: String,
    pub reason: String,
}

impl Chained for UnitVersionRow {
    const KIND: &'static str = "unit_version";
    const SELECT_ALL: &'static str =
        "SELECT unit_id, seq, effective_from, owner, actor, role, recorded_on, reason FROM unit_versions";

    fn key(&self) -> String {
        format!("{}/{}", self.unit_id, self.seq)
    }

    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            (&self.unit_id).into(),
            self.seq.into(),
            (&self.effective_from).into(),
            (&self.owner).into(),
            (&self.actor).into(),
            (&self.role).into(),
            (&self.recorded_on).into(),
            (&self.reason).into(),
        ]
    }
}

impl UnitVersionRow {
    pub(crate) fn insert(&self) -> SqlRow {
        SqlRow::one(
            "INSERT INTO unit_versions (unit_id, seq, effective_from, owner, actor, role, recorded_on, reason) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                text(&self.unit_id),
                self.seq.into(),
                text(&self.effective_from),
                text(&self.owner),
                text(&self.actor),
                text(&self.role),
                text(&self.recorded_on),
                text(&self.reason),
            ],
        )
    }
}

/// An estate's street office and property company from `effective_from`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EstateVersionRow {
    pub estate_id: String,
    pub seq: i64,
    pub effective_from: String,
    pub street_office: String,
    pub property_company: String,
    pub actor: String,
    pub role: String,
    pub recorded_on: String,
    pub reason: String,
}

impl Chained for EstateVersionRow {
    const KIND: &'static str = "estate_version";
    const SELECT_ALL: &'static str = "SELECT estate_id, seq, effective_from, street_office, property_company, actor, \
                                      role, recorded_on, reason FROM estate_versions";

    fn key(&self) -> String {
        format!("{}/{}", self.estate_id, self.seq)
    }

    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            (&self.estate_id).into(),
            self.seq.into(),
            (&self.effective_from).into(),
            (&self.street_office).into(),
            (&self.property_company).into(),
            (&self.actor).into(),
            (&self.role).into(),
            (&self.recorded_on).into(),
            (&self.reason).into(),
        ]
    }
}

impl EstateVersionRow {
    pub(crate) fn insert(&self) -> SqlRow {
        SqlRow::one(
            "INSERT INTO estate_versions (estate_id, seq, effective_from, street_office, property_company, actor, \
             role, recorded_on, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                text(&self.estate_id),
                self.seq.into(),
                text(&self.effective_from),
                text(&self.street_office),
                text(&self.property_company),
                text(&self.actor),
                text(&self.role),
                text(&self.recorded_on),
                text(&self.reason),
            ],
        )
    }
}

/// A unit closed by a refund (房屋灭失), with the refund's entry (none when nothing was left).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ClosureRow {
    pub unit_id: String,
    pub closed_on: String,
    pub entry_id: Option<String>,
    pub actor: String,
    pub role: String,
    pub recorded_on: String,
    pub reason: String,
}

impl Chained for ClosureRow {
    const KIND: &'static str = "unit_closure";
    const SELECT_ALL: &'static str =
        "SELECT unit_id, closed_on, entry_id, actor, role, recorded_on, reason FROM unit_closures";

    fn key(&self) -> String {
        self.unit_id.clone()
    }

    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            (&self.unit_id).into(),
            (&self.closed_on).into(),
            self.entry_id.as_deref().into(),
            (&self.actor).into(),
            (&self.role).into(),
            (&self.recorded_on).into(),
            (&self.reason).into(),
        ]
    }
}

impl ClosureRow {
    pub(crate) fn insert(&self) -> SqlRow {
        SqlRow::one(
            "INSERT INTO unit_closures (unit_id, closed_on, entry_id, actor, role, recorded_on, reason) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            vec![
                text(&self.unit_id),
                text(&self.closed_on),
                self.entry_id.clone().map_or(Value::NoText, Value::from),
                text(&self.actor),
                text(&self.role),
                text(&self.recorded_on),
                text(&self.reason),
            ],
        )
    }
}
