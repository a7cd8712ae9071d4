//! What the drawdown planners need, read from the database: the drawdown with its estate's
//! offices, its scope, beneficiaries, payees, votes and the fund's bank account. Reads only.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ledger_core::actor::{CompanyId, EstateOffices, StreetOfficeId};
use ledger_core::drawdown::{tally, Beneficiary, Category, Payee, Route, State, Stored, Tally, Vote};
use ledger_core::registry::FloorArea;
use ledger_core::{Account, Date, Money};

use crate::estate::facts;
use crate::group::for_engine;
use crate::{dispatch, StoreError, Tx};

/// The columns of a drawdown with its estate's offices in force on day `$1`, its state,
/// estimate and final cost after its latest event, and what it paid so far.
pub(super) fn select_drawdown() -> String {
    format!(
        "SELECT d.drawdown_id, d.estate_id, d.scope, d.category, d.route, d.contractor, d.description, d.applicant, \
         d.submitted_on, ev.seq AS event_seq, ev.state, ev.estimate_fen, ev.final_cost_fen, \
         {} AS street_office, {} AS property_company, \
         CAST((SELECT COALESCE(SUM(p.amount_fen), 0) FROM drawdown_payments p WHERE p.drawdown_id = d.drawdown_id) \
         AS BIGINT) AS paid_fen \
         FROM drawdowns d JOIN estates e ON e.estate_id = d.estate_id \
         JOIN drawdown_events ev ON ev.drawdown_id = d.drawdown_id \
         AND ev.seq = (SELECT MAX(x.seq) FROM drawdown_events x WHERE x.drawdown_id = d.drawdown_id)",
        facts::street_office("$1"),
        facts::company("$1"),
    )
}

#[derive(sqlx::FromRow)]
pub(super) struct DrawdownRecord {
    drawdown_id: String,
    estate_id: String,
    scope: String,
    category: String,
    route: String,
    contractor: String,
    description: String,
    applicant: String,
    submitted_on: String,
    event_seq: i64,
    state: Option<String>,
    estimate_fen: Option<i64>,
    final_cost_fen: Option<i64>,
    street_office: String,
    property_company: String,
    paid_fen: i64,
}

impl DrawdownRecord {
    /// The drawdown as the planners read it, and the number of its latest event.
    pub(super) fn stored(self) -> Result<(Stored, i64), StoreError> {
        let id = self.drawdown_id;
        let corrupt = |what: &str| StoreError::Corrupt(format!("drawdown `{id}`: {what}"));
        let state = self.state.as_deref().and_then(State::parse).ok_or_else(|| corrupt("state"))?;
        let estimate = self.estimate_fen.ok_or_else(|| corrupt("estimate"))?;
        let stored = Stored {
            category: Category::parse(&self.category).ok_or_else(|| corrupt("category"))?,
            route: Route::parse(&self.route).ok_or_else(|| corrupt("route"))?,
            submitted_on: Date::parse(&self.submitted_on).map_err(|_| corrupt("submission date"))?,
            state,
            estimate: Money::from_fen(estimate),
            final_cost: self.final_cost_fen.map(Money::from_fen),
            paid: Money::from_fen(self.paid_fen),
            estate: EstateOffices {
                estate_id: self.estate_id,
                street_office: StreetOfficeId::new(&self.street_office),
                company: CompanyId::new(&self.property_company),
            },
            scope: self.scope,
            contractor: self.contractor,
            description: self.description,
            applicant: self.applicant,
            id: id.clone(),
        };
        Ok((stored, self.event_seq))
    }
}

/// The drawdown with its estate's offices in force on `day`, and the number of its latest event.
pub(super) async fn drawdown(tx: &mut Tx, drawdown_id: &str, day: Date) -> Result<Option<(Stored, i64)>, StoreError> {
    let sql = format!("{} WHERE d.drawdown_id = $2", select_drawdown());
    let day = day.to_string();
    let record: Option<DrawdownRecord> = dispatch!(Tx, tx, |t| sqlx::query_as(&sql)
        .bind(day.as_str())
        .bind(drawdown_id)
        .fetch_optional(&mut **t)
        .await?);
    record.map(DrawdownRecord::stored).transpose()
}

/// The drawdown as it stands (offices in force on `day`), or not found.
pub(super) async fn existing(tx: &mut Tx, drawdown_id: &str, day: Date) -> Result<Stored, StoreError> {
    Ok(existing_with_seq(tx, drawdown_id, day).await?.0)
}

/// The drawdown and the number of its latest event, or not found.
pub(super) async fn existing_with_seq(tx: &mut Tx, drawdown_id: &str, day: Date) -> Result<(Stored, i64), StoreError> {
    drawdown(tx, drawdown_id, day).await?.ok_or_else(|| StoreError::NotFound(format!("drawdown `{drawdown_id}`")))
}

#[derive(sqlx::FromRow)]
struct OfficesRecord {
    street_office: String,
    property_company: String,
}

/// An estate's street office and property company in force on `day`, if the estate is registered.
pub(crate) async fn estate(tx: &mut Tx, estate_id: &str, day: Date) -> Result<Option<EstateOffices>, StoreError> {
    let sql = format!(
        "SELECT {} AS street_office, {} AS property_company FROM estates e WHERE e.estate_id = $2",
        facts::street_office("$1"),
        facts::company("$1")
    );
    let day = day.to_string();
    let record: Option<OfficesRecord> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(&sql).bind(day.as_str()).bind(estate_id).fetch_optional(&mut **t).await?
    });
    Ok(record.map(|r| EstateOffices {
        estate_id: estate_id.to_owned(),
        street_office: StreetOfficeId::new(&r.street_office),
        company: CompanyId::new(&r.property_company),
    }))
}

/// Every unit of an estate, for checking a list of beneficiaries.
pub(super) async fn estate_units(tx: &mut Tx, estate_id: &str) -> Result<BTreeSet<String>, StoreError> {
    let units: Vec<String> = dispatch!(Tx, tx, |t| {
        sqlx::query_scalar(&format!(
            "SELECT u.unit_id FROM units u JOIN buildings b ON b.building_id = u.building_id \
                 WHERE b.estate_id = $1 AND {}",
            facts::OPEN_UNIT
        ))
        .bind(estate_id)
        .fetch_all(&mut **t)
        .await?
    });
    Ok(units.into_iter().collect())
}

/// The open units of an estate, or of one of its buildings when the building (bound twice) is
/// not empty: `?` for the estate, then the building twice. Refunded units are closed.
pub(super) const SCOPE_UNITS: &str = "FROM units u JOIN buildings b ON b.building_id = u.building_id \
                                      WHERE b.estate_id = ? AND (? = '' OR b.building_id = ?) \
                                      AND NOT EXISTS (SELECT 1 FROM unit_closures c WHERE c.unit_id = u.unit_id)";

/// How many units an estate has, or one of its buildings (`building` not empty).
pub(super) async fn scope_size(tx: &mut Tx, estate_id: &str, building: &str) -> Result<u64, StoreError> {
    let sql = for_engine(tx, &format!("SELECT COUNT(*) {SCOPE_UNITS}")).into_owned();
    let count: i64 = dispatch!(Tx, tx, |t| {
        sqlx::query_scalar(&sql).bind(estate_id).bind(building).bind(building).fetch_one(&mut **t).await?
    });
    Ok(u64::try_from(count).unwrap_or(0))
}

#[derive(sqlx::FromRow)]
struct BeneficiaryRecord {
    unit_id: String,
    owner: String,
    floor_area_centi_m2: i64,
}

fn area(unit_id: &str, centi_m2: i64) -> Result<FloorArea, StoreError> {
    FloorArea::from_centi_m2(centi_m2).ok_or_else(|| StoreError::Corrupt(format!("unit `{unit_id}` area")))
}

/// The drawdown's units with their owners in force on `day`.
pub(super) async fn beneficiaries(tx: &mut Tx, drawdown_id: &str, day: Date) -> Result<Vec<Beneficiary>, StoreError> {
    let sql = format!(
        "SELECT u.unit_id, {} AS owner, u.floor_area_centi_m2 FROM drawdown_units du JOIN units u ON u.unit_id = du.unit_id \
         WHERE du.drawdown_id = $2 ORDER BY u.unit_id",
        facts::owner("$1")
    );
    let day = day.to_string();
    let records: Vec<BeneficiaryRecord> =
        dispatch!(Tx, tx, |t| { sqlx::query_as(&sql).bind(day.as_str()).bind(drawdown_id).fetch_all(&mut **t).await? });
    records
        .into_iter()
        .map(|r| Ok(Beneficiary { area: area(&r.unit_id, r.floor_area_centi_m2)?, unit_id: r.unit_id, owner: r.owner }))
        .collect()
}

#[derive(sqlx::FromRow)]
struct PayeeRecord {
    unit_id: String,
    owner: String,
    floor_area_centi_m2: i64,
    account_id: Option<i64>,
    balance_fen: i64,
}

/// The drawdown's units with their current balance (credits − debits), and the account numbers
/// of those that have a sub-ledger account yet: what a payment needs, in one query.
pub(super) async fn payees(tx: &mut Tx, drawdown_id: &str) -> Result<(Vec<Payee>, HashMap<String, i64>), StoreError> {
    let records: Vec<PayeeRecord> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT u.unit_id, u.owner, u.floor_area_centi_m2, a.account_id, \
             CAST(COALESCE(t.credit_fen - t.debit_fen, 0) AS BIGINT) AS balance_fen FROM drawdown_units du \
             JOIN units u ON u.unit_id = du.unit_id \
             LEFT JOIN accounts a ON a.account = 'unit:' || du.unit_id \
             LEFT JOIN account_totals t ON t.account_id = a.account_id \
             WHERE du.drawdown_id = $1 ORDER BY u.unit_id",
        )
        .bind(drawdown_id)
        .fetch_all(&mut **t)
        .await?
    });
    let mut known = HashMap::new();
    let mut payees = Vec::with_capacity(records.len());
    for r in records {
        if let Some(id) = r.account_id {
            known.insert(format!("unit:{}", r.unit_id), id);
        }
        let area = area(&r.unit_id, r.floor_area_centi_m2)?;
        payees.push(Payee { unit_id: r.unit_id, owner: r.owner, area, balance: Money::from_fen(r.balance_fen) });
    }
    Ok((payees, known))
}

#[derive(sqlx::FromRow)]
struct AccountRecord {
    account: String,
    account_id: Option<i64>,
}

/// The account payments leave from: the first of the fund's configured special accounts
/// (`crate::bank`), with its number once it has postings. Empty when none is configured yet.
/// Other configured accounts take deposits; a typo'd `bank:` line can no longer make a payment
/// ambiguous, since import refuses any account not configured.
pub(crate) async fn banks(tx: &mut Tx) -> Result<(Vec<Account>, HashMap<String, i64>), StoreError> {
    let record: Option<AccountRecord> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT f.account, a.account_id FROM fund_bank_accounts f LEFT JOIN accounts a ON a.account = f.account \
             ORDER BY f.position LIMIT 1",
        )
        .fetch_optional(&mut **t)
        .await?
    });
    let mut banks = Vec::new();
    let mut known = HashMap::new();
    if let Some(r) = record {
        banks.push(r.account.parse().map_err(|_| StoreError::Corrupt(format!("account `{}`", r.account)))?);
        if let Some(id) = r.account_id {
            known.insert(r.account, id);
        }
    }
    Ok((banks, known))
}

#[derive(sqlx::FromRow)]
struct VoteRecord {
    unit_id: String,
    vote: String,
}

pub(super) async fn tally_of(tx: &mut Tx, drawdown_id: &str, day: Date) -> Result<Tally, StoreError> {
    let units = beneficiaries(tx, drawdown_id, day).await?;
    let records: Vec<VoteRecord> = dispatch!(Tx, tx, |t| {
        sqlx::query_as("SELECT unit_id, vote FROM drawdown_votes WHERE drawdown_id = $1 ORDER BY unit_id, seq")
            .bind(drawdown_id)
            .fetch_all(&mut **t)
            .await?
    });
    // A unit's later vote rows supersede its earlier ones.
    let votes: BTreeMap<String, Vote> =
        records.into_iter().filter_map(|r| Vote::parse(&r.vote).map(|v| (r.unit_id, v))).collect();
    Ok(tally(&units, &votes))
}

#[derive(sqlx::FromRow)]
struct BeneficiaryVote {
    vote: Option<String>,
}

/// `None` when the unit is not a beneficiary of the drawdown, else its latest vote: one read.
pub(super) async fn vote_of(tx: &mut Tx, drawdown_id: &str, unit_id: &str) -> Result<Option<Option<Vote>>, StoreError> {
    let found: Option<BeneficiaryVote> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT (SELECT v.vote FROM drawdown_votes v WHERE v.drawdown_id = du.drawdown_id AND v.unit_id = du.unit_id \
             ORDER BY v.seq DESC LIMIT 1) AS vote FROM drawdown_units du WHERE du.drawdown_id = $1 AND du.unit_id = $2",
        )
        .bind(drawdown_id)
        .bind(unit_id)
        .fetch_optional(&mut **t)
        .await?
    });
    Ok(found.map(|f| f.vote.as_deref().and_then(Vote::parse)))
}
