//! Allocations of the fund's income kept in the database (结息到户, SPEC §6): a request is an
//! [`AllocationWrite`] that loads what `ledger_core::allocation::plan_allocation` needs (`load`)
//! and hands the plan to the group commit, which posts its entry through the ledger and its
//! record through `persist`. Every rule is core's. Top-up notices (§7) are read in `topup`.

mod load;
mod persist;
mod topup;

use ledger_core::actor::{authorize, Actor, Operation, Target};
use ledger_core::allocation::plan::check_request;
use ledger_core::allocation::{
    changes_needed_from, period_of, plan_allocation, AllocationError, AllocationPlan, Found, Outcome, Request, Row,
    Status,
};
use ledger_core::plan::Plan;
use ledger_core::Date;

pub use topup::TopupFilter;

use crate::group::WriteGroup;
use crate::writer::{BoxFuture, Planned, PlannedWrite};
use crate::{Store, StoreError, Tx};

/// An allocation request waiting for its turn in a group commit.
pub(crate) struct AllocationWrite {
    request: Request,
    actor: Actor,
    recorded_on: Date,
}

impl PlannedWrite for AllocationWrite {
    type Row = Row;
    type Answer = Outcome;

    fn plan<'a>(&'a self, tx: &'a mut Tx) -> BoxFuture<'a, Result<Planned<Row, Outcome>, StoreError>> {
        Box::pin(async move {
            let (found, known_accounts) = self.found(tx).await?;
            let plan = plan_allocation(found, &self.request, &self.actor, self.recorded_on)?;
            Ok(Planned { plan, known_accounts })
        })
    }

    fn add_rows<'a>(&self, group: &mut WriteGroup<'a>, plan: &'a AllocationPlan) {
        persist::add_rows(group, plan);
    }
}

impl AllocationWrite {
    /// Reads what the planner needs, in the order it judges: who asks and what the request says
    /// alone come first, then the entry id (a repeat reads nothing more), then the ledger.
    async fn found(&self, tx: &mut Tx) -> Result<(Found, std::collections::HashMap<String, i64>), StoreError> {
        authorize(&self.actor, Operation::Allocate, Target::City).map_err(AllocationError::from)?;
        let parameters = check_request(&self.request)?;
        let request = &self.request;
        let mut found = Found {
            existing: load::existing(tx, &request.entry_id).await?,
            entry_exists: load::entry_exists(tx, &request.entry_id).await?,
            ..Found::default()
        };
        let mut known = std::collections::HashMap::new();
        if found.existing.is_some() || found.entry_exists {
            return Ok((found, known));
        }
        found.scope_exists = load::scope_exists(tx, &request.scope).await?;
        if !found.scope_exists {
            return Ok((found, known));
        }
        let source = request.source.to_string();
        let (source_id, balance) = load::balance_as_of(tx, &source, request.date).await?;
        if let Some(id) = source_id {
            known.insert(source, id);
        }
        found.source_balance = balance;
        found.last = load::last_allocation(tx, &source_name(request)).await?;
        found.earliest_entry = load::earliest_entry(tx).await?;
        let period = period_of(&parameters, found.last.as_ref(), found.earliest_entry)?;
        let (units, account_ids) = load::units(tx, &request.scope).await?;
        if let Some(from) = changes_needed_from(parameters.method, period) {
            found.changes = load::changes_from(tx, &request.scope, from, &account_ids).await?;
        }
        for (account_id, unit) in &account_ids {
            known.insert(format!("unit:{}", units[*unit as usize].unit_id), *account_id);
        }
        found.units = units;
        Ok((found, known))
    }
}

fn source_name(request: &Request) -> String {
    request.source.to_string()
}

impl From<AllocationError> for StoreError {
    fn from(error: AllocationError) -> StoreError {
        match error {
            AllocationError::Denied(denied) => StoreError::Denied(denied),
            AllocationError::NotFound(what) => StoreError::NotFound(what),
            e @ (AllocationError::UnorderedChanges | AllocationError::Unpostable(_)) => {
                StoreError::Corrupt(e.to_string())
            }
            rule => StoreError::Allocation(rule),
        }
    }
}

impl Store {
    /// Allocates income from `income:interest` or `income:common` to the units (SPEC §6): one
    /// balanced `allocation` entry and its record, or the first result again when the same
    /// allocation was posted before. `dry_run`: computes and answers, writes nothing.
    pub async fn allocate(
        &self,
        request: &Request,
        actor: &Actor,
        recorded_on: Date,
        dry_run: bool,
    ) -> Result<Outcome, StoreError> {
        let write = AllocationWrite { request: request.clone(), actor: actor.clone(), recorded_on };
        if !dry_run {
            return self.write(write).await;
        }
        // The same reads and the same planner, in a read transaction; the plan is dropped.
        let mut tx = self.begin_read().await?;
        let planned = write.plan(&mut tx).await;
        tx.rollback().await?;
        let Planned { plan, .. } = planned?;
        let Plan { answer, .. } = plan;
        let status = if answer.status == Status::AlreadyPosted { Status::AlreadyPosted } else { Status::DryRun };
        Ok(Outcome { status, ..answer })
    }
}
