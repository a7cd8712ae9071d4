//! Drawdowns as people read them: scope with each unit's charge so far, payments and the whole
//! history (who, in which role, for which office, when, why). Reads only.

use std::collections::{BTreeMap, BTreeSet};

use ledger_core::apportion::{apportion, ShareBasis};
use ledger_core::drawdown::{decision_due, is_overdue, Route, State, Stored};
use ledger_core::registry::FloorArea;
use ledger_core::{Date, Money};
use serde::Serialize;

use super::load::{beneficiaries, select_drawdown, DrawdownRecord};
use crate::{dispatch, StoreError, Tx};

#[derive(Debug, Clone, Serialize)]
pub struct DrawdownView {
    pub drawdown_id: String,
    pub estate_id: String,
    pub street_office: String,
    pub scope: String,
    pub category: String,
    pub route: &'static str,
    pub estimate: Money,
    pub contractor: String,
    pub description: String,
    pub applicant: String,
    pub submitted_on: Date,
    /// Green channel: the street office's last day to decide.
    pub decision_due: Option<Date>,
    pub overdue: bool,
    pub state: String,
    pub final_cost: Option<Money>,
    pub paid: Money,
    pub units: Vec<UnitShare>,
    pub payments: Vec<PaymentView>,
    pub events: Vec<EventView>,
    /// The ledger's chain head when this was read, printed on the public notice: anyone who
    /// keeps it can later have `mfund verify --expect-head` prove the entries behind it stand.
    pub ledger_head: crate::ChainHead,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitShare {
    pub unit_id: String,
    pub owner: String,
    pub floor_area: FloorArea,
    /// What the payments so far charged this unit.
    pub charged: Money,
    /// The unit's floor-area share of the approved estimate.
    pub estimated_share: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct PaymentView {
    pub tranche: String,
    pub entry_id: String,
    pub amount: Money,
}

#[derive(sqlx::FromRow)]
struct PaymentRecord {
    tranche: String,
    entry_id: String,
    amount_fen: i64,
}

/// One act in the history: the person (`actor`), their role, and the office or company they
/// acted for (`office`; empty for the city's own staff).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EventView {
    pub action: String,
    pub actor: String,
    pub role: String,
    pub office: String,
    pub at: String,
    pub reason: String,
}

/// Filters for listing drawdowns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub state: Option<State>,
    pub estate_id: Option<String>,
    pub street_office: Option<String>,
    /// The property company serving the estates.
    pub company: Option<String>,
    pub overdue_only: bool,
}

#[derive(sqlx::FromRow)]
struct Charge {
    account: String,
    debit_fen: i64,
}

/// Everything about one loaded drawdown, read inside `tx`.
pub(super) async fn view_in(
    tx: &mut Tx,
    d: Stored,
    today: Date,
    holidays: &BTreeSet<Date>,
) -> Result<DrawdownView, StoreError> {
    // Owners as of the day the view is read for (a notice names the owners of its day).
    let units = beneficiaries(tx, &d.id, today).await?;
    let payments: Vec<PaymentRecord> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT tranche, entry_id, amount_fen FROM drawdown_payments WHERE drawdown_id = $1 ORDER BY tranche",
        )
        .bind(d.id.as_str())
        .fetch_all(&mut **t)
        .await?
    });
    let charges: Vec<Charge> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT a.account, CAST(SUM(p.debit_fen) AS BIGINT) AS debit_fen FROM drawdown_payments dp \
             JOIN entries e ON e.entry_id = dp.entry_id \
             JOIN postings p ON p.entry_seq = e.seq JOIN accounts a ON a.account_id = p.account_id \
             WHERE dp.drawdown_id = $1 AND p.debit_fen > 0 GROUP BY a.account",
        )
        .bind(d.id.as_str())
        .fetch_all(&mut **t)
        .await?
    });
    let events: Vec<EventView> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT action, actor, role, office, at, reason FROM drawdown_events WHERE drawdown_id = $1 ORDER BY seq",
        )
        .bind(d.id.as_str())
        .fetch_all(&mut **t)
        .await?
    });
    let ledger_head = crate::ledger::head_of(tx).await?;
    let charged: BTreeMap<String, i64> =
        charges.into_iter().map(|c| (c.account.trim_start_matches("unit:").to_owned(), c.debit_fen)).collect();
    let basis: Vec<ShareBasis> = units.iter().map(|b| ShareBasis { unit_id: &b.unit_id, area: b.area }).collect();
    let estimated = apportion(d.estimate, &basis).unwrap_or_default();
    Ok(DrawdownView {
        decision_due: (d.route == Route::GreenChannel).then(|| decision_due(d.submitted_on, holidays)),
        overdue: is_overdue(d.state, d.route, d.submitted_on, today, holidays),
        drawdown_id: d.id,
        estate_id: d.estate.estate_id,
        street_office: d.estate.street_office.to_string(),
        scope: d.scope,
        category: d.category.as_str().to_owned(),
        route: d.route.as_str(),
        estimate: d.estimate,
        contractor: d.contractor,
        description: d.description,
        applicant: d.applicant,
        submitted_on: d.submitted_on,
        state: d.state.as_str().to_owned(),
        final_cost: d.final_cost,
        paid: d.paid,
        units: units
            .into_iter()
            .zip(estimated.into_iter().chain(std::iter::repeat(Money::ZERO)))
            .map(|(b, estimated_share)| UnitShare {
                charged: Money::from_fen(charged.get(&b.unit_id).copied().unwrap_or(0)),
                unit_id: b.unit_id,
                owner: b.owner,
                floor_area: b.area,
                estimated_share,
            })
            .collect(),
        payments: payments
            .into_iter()
            .map(|p| PaymentView { tranche: p.tranche, entry_id: p.entry_id, amount: Money::from_fen(p.amount_fen) })
            .collect(),
        events,
        ledger_head,
    })
}

/// Drawdowns matching the filter, oldest first: the rows in one query, overdue ones picked
/// before anything else is read.
pub(super) async fn list_in(
    tx: &mut Tx,
    filter: &ListFilter,
    today: Date,
    holidays: &BTreeSet<Date>,
) -> Result<Vec<DrawdownView>, StoreError> {
    // Offices in force today: a moved estate is listed under its new street office.
    let sql = format!(
        "SELECT * FROM ({}) s WHERE ($2 = '' OR s.state = $2) AND ($3 = '' OR s.estate_id = $3) \
         AND ($4 = '' OR s.street_office = $4) AND ($5 = '' OR s.property_company = $5) \
         ORDER BY s.submitted_on, s.drawdown_id",
        select_drawdown()
    );
    let day = today.to_string();
    let records: Vec<DrawdownRecord> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(&sql)
            .bind(day.as_str())
            .bind(filter.state.map_or("", State::as_str))
            .bind(filter.estate_id.as_deref().unwrap_or(""))
            .bind(filter.street_office.as_deref().unwrap_or(""))
            .bind(filter.company.as_deref().unwrap_or(""))
            .fetch_all(&mut **t)
            .await?
    });
    let mut views = Vec::with_capacity(records.len());
    for record in records {
        let (d, _) = record.stored()?;
        if filter.overdue_only && !is_overdue(d.state, d.route, d.submitted_on, today, holidays) {
            continue;
        }
        views.push(view_in(tx, d, today, holidays).await?);
    }
    Ok(views)
}
