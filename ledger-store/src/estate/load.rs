//! What the registry planners need, read from the database. Reads only.

use std::collections::HashMap;

use ledger_core::actor::{CompanyId, EstateOffices, StreetOfficeId};
use ledger_core::estate::{ClosedUnits, Closure, EstateFound, UnitFound};
use ledger_core::{Date, Money};

use super::facts::{self, LATEST};
use crate::{dispatch, StoreError, Tx};

fn date(text: &str, what: &str) -> Result<Date, StoreError> {
    Date::parse(text).map_err(|_| StoreError::Corrupt(format!("{what}: date `{text}`")))
}

#[derive(sqlx::FromRow)]
struct UnitRecord {
    unit_id: String,
    estate_id: String,
    street_office: String,
    property_company: String,
    owner: String,
    latest_change: Option<String>,
    last_version: i64,
    closed_on: Option<String>,
    closure_entry: Option<String>,
}

/// A unit with its latest facts, and the number of its latest owner version; not found when
/// the unit is not registered.
pub(super) async fn unit(tx: &mut Tx, unit_id: &str) -> Result<(UnitFound, i64), StoreError> {
    let sql = format!(
        "SELECT u.unit_id, b.estate_id, {} AS street_office, {} AS property_company, {} AS owner, \
         (SELECT MAX(v.effective_from) FROM unit_versions v WHERE v.unit_id = u.unit_id) AS latest_change, \
         CAST((SELECT COALESCE(MAX(v.seq), 0) FROM unit_versions v WHERE v.unit_id = u.unit_id) AS BIGINT) AS last_version, \
         c.closed_on, c.entry_id AS closure_entry \
         FROM units u JOIN buildings b ON b.building_id = u.building_id JOIN estates e ON e.estate_id = b.estate_id \
         LEFT JOIN unit_closures c ON c.unit_id = u.unit_id WHERE u.unit_id = $2",
        facts::street_office("$1"),
        facts::company("$1"),
        facts::owner("$1"),
    );
    let record: Option<UnitRecord> =
        dispatch!(Tx, tx, |t| sqlx::query_as(&sql).bind(LATEST).bind(unit_id).fetch_optional(&mut **t).await?);
    let r = record.ok_or_else(|| StoreError::NotFound(format!("unit `{unit_id}`")))?;
    let what = format!("unit `{}`", r.unit_id);
    let closed = match r.closed_on {
        Some(on) => Some(Closure { closed_on: date(&on, &what)?, entry_id: r.closure_entry }),
        None => None,
    };
    let found = UnitFound {
        latest_change: r.latest_change.as_deref().map(|d| date(d, &what)).transpose()?,
        estate: EstateOffices {
            estate_id: r.estate_id,
            street_office: StreetOfficeId::new(&r.street_office),
            company: CompanyId::new(&r.property_company),
        },
        owner: r.owner,
        unit_id: r.unit_id,
        closed,
    };
    Ok((found, r.last_version))
}

#[derive(sqlx::FromRow)]
struct EstateRecord {
    street_office: String,
    property_company: String,
    latest_change: Option<String>,
    last_version: i64,
}

/// An estate with its latest offices, and the number of its latest version.
pub(super) async fn estate(tx: &mut Tx, estate_id: &str) -> Result<(EstateFound, i64), StoreError> {
    let sql = format!(
        "SELECT {} AS street_office, {} AS property_company, \
         (SELECT MAX(v.effective_from) FROM estate_versions v WHERE v.estate_id = e.estate_id) AS latest_change, \
         CAST((SELECT COALESCE(MAX(v.seq), 0) FROM estate_versions v WHERE v.estate_id = e.estate_id) AS BIGINT) AS last_version \
         FROM estates e WHERE e.estate_id = $2",
        facts::street_office("$1"),
        facts::company("$1"),
    );
    let record: Option<EstateRecord> =
        dispatch!(Tx, tx, |t| sqlx::query_as(&sql).bind(LATEST).bind(estate_id).fetch_optional(&mut **t).await?);
    let r = record.ok_or_else(|| StoreError::NotFound(format!("estate `{estate_id}`")))?;
    let found = EstateFound {
        latest_change: r.latest_change.as_deref().map(|d| date(d, estate_id)).transpose()?,
        estate: EstateOffices {
            estate_id: estate_id.to_owned(),
            street_office: StreetOfficeId::new(&r.street_office),
            company: CompanyId::new(&r.property_company),
        },
    };
    Ok((found, r.last_version))
}

#[derive(sqlx::FromRow)]
struct LedgerRecord {
    account_id: Option<i64>,
    balance_fen: i64,
    last_posting: Option<String>,
    entry_taken: i64,
}

/// A unit's balance now, the date of its latest posting, whether `entry_id` is posted, and its
/// account number (if it has one).
pub(super) async fn unit_ledger(
    tx: &mut Tx,
    unit_id: &str,
    entry_id: &str,
) -> Result<(Money, Option<Date>, bool, HashMap<String, i64>), StoreError> {
    let record: LedgerRecord = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT (SELECT a.account_id FROM accounts a WHERE a.account = 'unit:' || $1) AS account_id, \
             CAST(COALESCE((SELECT t.credit_fen - t.debit_fen FROM accounts a JOIN account_totals t \
             ON t.account_id = a.account_id WHERE a.account = 'unit:' || $1), 0) AS BIGINT) AS balance_fen, \
             (SELECT MAX(e.entry_date) FROM accounts a JOIN postings p ON p.account_id = a.account_id \
             JOIN entries e ON e.seq = p.entry_seq WHERE a.account = 'unit:' || $1) AS last_posting, \
             CAST((SELECT COUNT(*) FROM entries WHERE entry_id = $2) AS BIGINT) AS entry_taken",
        )
        .bind(unit_id)
        .bind(entry_id)
        .fetch_one(&mut **t)
        .await?
    });
    let what = format!("unit `{unit_id}`");
    let last = record.last_posting.as_deref().map(|d| date(d, &what)).transpose()?;
    let known = record.account_id.map(|id| (format!("unit:{unit_id}"), id)).into_iter().collect();
    Ok((Money::from_fen(record.balance_fen), last, record.entry_taken > 0, known))
}

#[derive(sqlx::FromRow)]
struct ClosureRecord {
    unit_id: String,
    closed_on: String,
    entry_id: Option<String>,
}

/// Every closed unit (a short list: refunds are rare).
pub(crate) async fn closed_units(tx: &mut Tx) -> Result<ClosedUnits, StoreError> {
    let records: Vec<ClosureRecord> = dispatch!(Tx, tx, |t| {
        sqlx::query_as("SELECT unit_id, closed_on, entry_id FROM unit_closures").fetch_all(&mut **t).await?
    });
    records
        .into_iter()
        .map(|r| {
            let closed_on = date(&r.closed_on, &r.unit_id)?;
            Ok((r.unit_id, Closure { closed_on, entry_id: r.entry_id }))
        })
        .collect()
}

/// The registry's history an import is judged against: latest owners and offices where a
/// version changed them, and closed units.
pub(crate) async fn history(tx: &mut Tx, state: &mut ledger_core::import::StoredState) -> Result<(), StoreError> {
    let owners: Vec<(String, String)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT v.unit_id, v.owner FROM unit_versions v WHERE v.seq = \
             (SELECT w.seq FROM unit_versions w WHERE w.unit_id = v.unit_id \
              ORDER BY w.effective_from DESC, w.seq DESC LIMIT 1)",
        )
        .fetch_all(&mut **t)
        .await?
    });
    let offices: Vec<(String, String, String)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT v.estate_id, v.street_office, v.property_company FROM estate_versions v WHERE v.seq = \
             (SELECT w.seq FROM estate_versions w WHERE w.estate_id = v.estate_id \
              ORDER BY w.effective_from DESC, w.seq DESC LIMIT 1)",
        )
        .fetch_all(&mut **t)
        .await?
    });
    state.current_owners = owners.into_iter().collect();
    state.current_offices = offices.into_iter().map(|(e, o, c)| (e, (o, c))).collect();
    state.closed_units = closed_units(tx).await?;
    Ok(())
}
