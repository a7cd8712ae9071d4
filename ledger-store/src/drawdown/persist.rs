//! A drawdown plan's rows and events as SQL: the only place drawdown rows are written. The
//! plan's entries are not written here (the writer posts them through the ledger).
//!
//! Nothing is ever updated: the application row is written once, each event records the
//! drawdown's state, estimate and final cost after it, a changed vote is a new vote row, and
//! every one of them is chained in the records chain. So the rows are resolved while the write
//! reads (the next event and vote numbers, the chain's head), then written as they are.

use ledger_core::drawdown::{DrawdownPlan, Row, State, Stored};
use ledger_core::plan::{Event, Plan};
use ledger_core::Money;

use super::load::SCOPE_UNITS;
use super::rows::{DrawdownRow, EventRow, PaymentRow, VoteRow};
use crate::estate::records::{text, RecordChain, SqlRow};
use crate::group::WriteGroup;
use crate::{dispatch, StoreError, Tx};

/// A drawdown as its next event will find it.
#[derive(Debug, Clone)]
pub(super) struct Current {
    pub last_event: i64,
    pub state: State,
    pub estimate: Money,
    pub final_cost: Option<Money>,
}

impl Current {
    pub(super) fn of(d: &Stored, last_event: i64) -> Current {
        Current { last_event, state: d.state, estimate: d.estimate, final_cost: d.final_cost }
    }
}

pub(super) type ResolvedPlan = Plan<SqlRow, ledger_core::drawdown::Change>;

/// The plan's rows and events as statements, each record with its link in the records chain.
/// `current`: the drawdown as stored (`None` when the plan files it).
pub(super) async fn resolve(
    tx: &mut Tx,
    plan: DrawdownPlan,
    current: Option<Current>,
) -> Result<ResolvedPlan, StoreError> {
    if plan.writes_nothing() {
        return Ok(Plan::nothing(plan.answer));
    }
    let id = plan.answer.drawdown_id.clone();
    let mut chain = RecordChain::load(tx).await?;
    let mut current = current;
    let mut rows = Vec::new();
    for row in &plan.rows {
        match row {
            Row::Filed(app) => {
                let filed = DrawdownRow {
                    drawdown_id: id.clone(),
                    estate_id: app.estate_id.clone(),
                    scope: app.scope.text(),
                    category: app.category.as_str().to_owned(),
                    route: app.route.as_str().to_owned(),
                    estimate_fen: app.estimate.fen(),
                    contractor: app.contractor.clone(),
                    description: app.description.clone(),
                    applicant: app.applicant.clone(),
                    submitted_on: app.submitted_on.to_string(),
                };
                rows.push(filed.insert());
                rows.push(chain.record(&filed));
                current =
                    Some(Current { last_event: 0, state: State::Submitted, estimate: app.estimate, final_cost: None });
            }
            Row::ListedUnits(units) => {
                let values = units.iter().flat_map(|unit| [text(&id), text(unit)]);
                rows.push(SqlRow::Many {
                    target: "drawdown_units (drawdown_id, unit_id)".to_owned(),
                    columns: 2,
                    values: values.collect(),
                });
            }
            // Resolved inside the database: no unit list to ship back and forth.
            Row::UnitsOf { estate_id, building } => {
                let building = building.as_deref().unwrap_or("");
                rows.push(SqlRow::one(
                    &format!("INSERT INTO drawdown_units (drawdown_id, unit_id) SELECT ?, u.unit_id {SCOPE_UNITS}"),
                    vec![text(&id), text(estate_id), text(building), text(building)],
                ));
            }
            Row::State { state, final_cost } => {
                let now = current.as_mut().expect("a transition of a stored drawdown");
                now.state = *state;
                now.final_cost = final_cost.or(now.final_cost);
            }
            Row::Estimate(revised) => current.as_mut().expect("a revision of a stored drawdown").estimate = *revised,
            Row::Vote { unit_id, vote } => {
                let vote = VoteRow {
                    drawdown_id: id.clone(),
                    unit_id: unit_id.clone(),
                    seq: last_vote(tx, &id, unit_id).await? + 1,
                    vote: vote.as_str().to_owned(),
                };
                rows.push(vote.insert());
                rows.push(chain.record(&vote));
            }
            Row::Payment { tranche, entry_id, amount } => {
                let payment = PaymentRow {
                    drawdown_id: id.clone(),
                    tranche: tranche.as_str().to_owned(),
                    entry_id: entry_id.clone(),
                    amount_fen: amount.fen(),
                };
                rows.push(payment.insert());
                rows.push(chain.record(&payment));
            }
        }
    }
    let mut now = current.expect("an event of a drawdown filed or stored");
    for event in &plan.events {
        now.last_event += 1;
        let row = event_row(&id, &now, event);
        rows.push(row.insert());
        rows.push(chain.record(&row));
    }
    Ok(Plan { entries: plan.entries, rows, events: Vec::new(), answer: plan.answer })
}

/// The event as stored: the person, their role, the office they acted for, and the drawdown
/// as it stands after it.
fn event_row(id: &str, now: &Current, event: &Event) -> EventRow {
    EventRow {
        drawdown_id: id.to_owned(),
        seq: now.last_event,
        action: event.action.clone(),
        actor: event.actor.user().to_owned(),
        role: event.actor.role().as_str().to_owned(),
        office: event.actor.scope().as_str().to_owned(),
        at: event.at.to_string(),
        reason: event.reason.clone(),
        state: Some(now.state.as_str().to_owned()),
        estimate_fen: Some(now.estimate.fen()),
        final_cost_fen: now.final_cost.map(Money::fen),
    }
}

async fn last_vote(tx: &mut Tx, drawdown_id: &str, unit_id: &str) -> Result<i64, StoreError> {
    let last: Option<i64> = dispatch!(Tx, tx, |t| {
        sqlx::query_scalar("SELECT MAX(seq) FROM drawdown_votes WHERE drawdown_id = $1 AND unit_id = $2")
            .bind(drawdown_id)
            .bind(unit_id)
            .fetch_one(&mut **t)
            .await?
    });
    Ok(last.unwrap_or(0))
}

/// Adds every resolved row of `plan` to `group`.
pub(super) fn add_rows<'a>(group: &mut WriteGroup<'a>, plan: &'a ResolvedPlan) {
    for row in &plan.rows {
        row.add_to(group);
    }
}
