//! The registry as history (SPEC §10) and the records chain.
//!
//! Registry changes (transfer, move, refund) are [`EstateWrite`]s: each loads what its planner
//! in `ledger_core::estate` needs and hands the plan to the group commit, which posts a
//! refund's entry through the ledger and writes the dated version or closure, chained in the
//! records chain (`records`). `facts` holds the SQL of "the facts in force on a day", which
//! the drawdown reads embed; `load` the reads of the planners.

pub(crate) mod facts;
mod load;
pub(crate) mod records;
pub(crate) mod rows;

use std::collections::HashMap;

use ledger_core::actor::EstateOffices;
use ledger_core::drawdown::Act;
use ledger_core::estate::{
    plan_move, plan_refund, plan_transfer, refuse_closed, EstateError, Move, RefundFound, RegistryChange, RegistryPlan,
    RegistryRow,
};
use ledger_core::plan::{Event, Plan};
use ledger_core::{Date, Entry};

pub use records::{RecordBreakView, RecordsOutcome};

use crate::group::WriteGroup;
use crate::query::BalanceScope;
use crate::writer::{BoxFuture, Planned, PlannedWrite};
use crate::{Store, StoreError, Tx};
use records::{RecordChain, SqlRow};
use rows::{ClosureRow, EstateVersionRow, UnitVersionRow};

impl Store {
    /// The estate a unit, building or estate belongs to, with its offices; `None` when it is not
    /// registered (or the scope is the whole city).
    pub async fn estate_of(&self, scope: &BalanceScope) -> Result<Option<EstateOffices>, StoreError> {
        let (sql, id) = match scope {
            BalanceScope::City => return Ok(None),
            BalanceScope::Estate(id) => return self.estate_offices(id).await,
            BalanceScope::Building(id) => ("SELECT estate_id FROM buildings WHERE building_id = $1", id),
            BalanceScope::Unit(id) => (
                "SELECT b.estate_id FROM units u JOIN buildings b ON b.building_id = u.building_id WHERE u.unit_id = $1",
                id,
            ),
        };
        let estate_id: Option<String> = crate::dispatch!(Pool, &self.pool, |p| {
            sqlx::query_scalar(sql).bind(id.as_str()).fetch_optional(p).await?
        });
        match estate_id {
            Some(estate_id) => self.estate_offices(&estate_id).await,
            None => Ok(None),
        }
    }

    /// 过户: the unit's owner changes from `date`; the balance stays with the unit.
    pub async fn transfer_unit(
        &self,
        unit_id: &str,
        owner: &str,
        date: Date,
        act: &Act,
    ) -> Result<RegistryChange, StoreError> {
        let write =
            EstateWrite::Transfer { unit_id: unit_id.to_owned(), owner: owner.to_owned(), date, act: act.clone() };
        self.write(write).await
    }

    /// The estate's street office or property company changes from `date`.
    pub async fn move_estate(
        &self,
        estate_id: &str,
        change: &Move,
        date: Date,
        act: &Act,
    ) -> Result<RegistryChange, StoreError> {
        let write =
            EstateWrite::Move { estate_id: estate_id.to_owned(), change: change.clone(), date, act: act.clone() };
        self.write(write).await
    }

    /// 房屋灭失: pays the unit's whole balance out in entry `entry_id` and closes it from `date`.
    pub async fn refund_unit(
        &self,
        unit_id: &str,
        entry_id: &str,
        date: Date,
        act: &Act,
    ) -> Result<RegistryChange, StoreError> {
        let write =
            EstateWrite::Refund { unit_id: unit_id.to_owned(), entry_id: entry_id.to_owned(), date, act: act.clone() };
        self.write(write).await
    }
}

/// A registry change waiting for its turn in a group commit.
pub(crate) enum EstateWrite {
    Transfer { unit_id: String, owner: String, date: Date, act: Act },
    Move { estate_id: String, change: Move, date: Date, act: Act },
    Refund { unit_id: String, entry_id: String, date: Date, act: Act },
}

impl PlannedWrite for EstateWrite {
    type Row = SqlRow;
    type Answer = RegistryChange;

    fn plan<'a>(&'a self, tx: &'a mut Tx) -> BoxFuture<'a, Result<Planned<SqlRow, RegistryChange>, StoreError>> {
        Box::pin(async move {
            let (plan, last_version, known_accounts) = match self {
                EstateWrite::Transfer { unit_id, owner, date, act } => {
                    let (unit, last) = load::unit(tx, unit_id).await?;
                    (plan_transfer(&unit, owner, *date, act)?, last, HashMap::new())
                }
                EstateWrite::Move { estate_id, change, date, act } => {
                    let (estate, last) = load::estate(tx, estate_id).await?;
                    (plan_move(&estate, change, *date, act)?, last, HashMap::new())
                }
                EstateWrite::Refund { unit_id, entry_id, date, act } => {
                    let (unit, _) = load::unit(tx, unit_id).await?;
                    let (balance, last_posting, entry_id_taken, mut known) =
                        load::unit_ledger(tx, unit_id, entry_id).await?;
                    let (banks, bank_ids) = crate::drawdown::banks(tx).await?;
                    known.extend(bank_ids);
                    let found = RefundFound { unit, balance, last_posting, entry_id_taken, banks };
                    (plan_refund(&found, entry_id, *date, act)?, 0, known)
                }
            };
            Ok(Planned { plan: resolve(tx, plan, last_version).await?, known_accounts })
        })
    }

    fn add_rows<'a>(&self, group: &mut WriteGroup<'a>, plan: &'a Plan<SqlRow, RegistryChange>) {
        for row in &plan.rows {
            row.add_to(group);
        }
    }
}

/// The plan's version or closure as statements, with its link in the records chain.
async fn resolve(
    tx: &mut Tx,
    plan: RegistryPlan,
    last_version: i64,
) -> Result<Plan<SqlRow, RegistryChange>, StoreError> {
    if plan.writes_nothing() {
        return Ok(Plan::nothing(plan.answer));
    }
    let event = plan.events.first().expect("a registry change records who made it").clone();
    let mut chain = RecordChain::load(tx).await?;
    let mut rows = Vec::new();
    for row in &plan.rows {
        match row {
            RegistryRow::Owner { unit_id, owner, effective_from } => {
                let (actor, role, recorded_on, reason) = who(&event);
                let version = UnitVersionRow {
                    unit_id: unit_id.clone(),
                    seq: last_version + 1,
                    effective_from: effective_from.to_string(),
                    owner: owner.clone(),
                    actor,
                    role,
                    recorded_on,
                    reason,
                };
                rows.push(version.insert());
                rows.push(chain.record(&version));
            }
            RegistryRow::Offices { estate_id, street_office, company, effective_from } => {
                let (actor, role, recorded_on, reason) = who(&event);
                let version = EstateVersionRow {
                    estate_id: estate_id.clone(),
                    seq: last_version + 1,
                    effective_from: effective_from.to_string(),
                    street_office: street_office.clone(),
                    property_company: company.clone(),
                    actor,
                    role,
                    recorded_on,
                    reason,
                };
                rows.push(version.insert());
                rows.push(chain.record(&version));
            }
            RegistryRow::Closure { unit_id, closed_on, entry_id } => {
                let (actor, role, recorded_on, reason) = who(&event);
                let closure = ClosureRow {
                    unit_id: unit_id.clone(),
                    closed_on: closed_on.to_string(),
                    entry_id: entry_id.clone(),
                    actor,
                    role,
                    recorded_on,
                    reason,
                };
                rows.push(closure.insert());
                rows.push(chain.record(&closure));
            }
        }
    }
    Ok(Plan { entries: plan.entries, rows, events: Vec::new(), answer: plan.answer })
}

/// Who made a change (person, and the role with its office), on which day, and why.
fn who(event: &Event) -> (String, String, String, String) {
    let role = match event.actor.scope().as_str() {
        "" => event.actor.role().as_str().to_owned(),
        office => format!("{}:{office}", event.actor.role()),
    };
    (event.actor.user().to_owned(), role, event.at.to_string(), event.reason.clone())
}

impl From<EstateError> for StoreError {
    /// A registry planner's refusal as the store reports it.
    fn from(error: EstateError) -> StoreError {
        match error {
            EstateError::NotFound(what) => StoreError::NotFound(what),
            EstateError::Denied(denied) => StoreError::Denied(denied),
            EstateError::Unpostable(why) => StoreError::Corrupt(why),
            rule => StoreError::Conflict(rule.to_string()),
        }
    }
}

/// Refuses entries that post to a closed (refunded) unit, before anything is written: every
/// planned write asks this (see `writer`).
pub(crate) async fn refuse_closed_postings(tx: &mut Tx, entries: &[Entry]) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let closed = load::closed_units(tx).await?;
    Ok(refuse_closed(entries, &closed)?)
}

pub(crate) use load::history as registry_history;

#[cfg(test)]
mod tests;
