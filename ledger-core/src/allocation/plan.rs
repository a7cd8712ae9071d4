//! The allocation planner: what the store read, the request and who asks → the [`Plan`] to
//! write (one balanced `allocation` entry and the allocation's record), or why not.

use crate::account::{is_valid_id, Account, EntryKind};
use crate::actor::{authorize, Actor, Operation, Target};
use crate::apportion::apportion_by_weight;
use crate::date::Date;
use crate::entry::{Entry, Posting, MAX_POSTINGS_PER_ENTRY};
use crate::money::Money;
use crate::plan::Plan;

use super::{
    amount_and_withheld, period_of, weights, Allocation, AllocationError, AllocationScope, DayChange, LastAllocation,
    Parameters, Period, Request, Share, UnitBasis,
};

/// An allocation as recorded: the parameters it was asked with and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub parameters: Parameters,
    pub allocation: Allocation,
}

/// What the planner needs from the store, read in the write's transaction.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The allocation already recorded under the request's entry id.
    pub existing: Option<Record>,
    /// Whether an entry with the request's id exists (an allocation or not).
    pub entry_exists: bool,
    /// Whether the estate or building of the scope is registered (true for the city).
    pub scope_exists: bool,
    /// The source account's balance (credits − debits) as of D.
    pub source_balance: Money,
    pub last: Option<LastAllocation>,
    pub earliest_entry: Option<Date>,
    /// The units in scope, sorted by `unit_id`.
    pub units: Vec<UnitBasis>,
    /// Their balance changes from [`super::changes_needed_from`] on, by unit and date.
    pub changes: Vec<DayChange>,
}

/// What an allocation plan writes besides its entry: its record, with who asked and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Recorded { parameters: Parameters, actor: Actor, recorded_on: Date },
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Posted now.
    Posted,
    /// The same allocation was posted before: nothing posted, the first result shown.
    AlreadyPosted,
    /// Computed and shown, nothing posted (`--dry-run`).
    DryRun,
}

/// The answer: the SPEC result and how the request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub allocation: Allocation,
    pub status: Status,
}

pub type AllocationPlan = Plan<Row, Outcome>;

/// Checks what the request says on its own, before anything is read: the source, the id, a
/// scope with its amount. The store calls it first; the planner again.
pub fn check_request(request: &Request) -> Result<Parameters, AllocationError> {
    if !matches!(request.source, Account::InterestIncome | Account::CommonIncome) {
        return Err(AllocationError::BadSource(request.source.to_string()));
    }
    if !is_valid_id(&request.entry_id) {
        return Err(AllocationError::BadEntryId(request.entry_id.clone()));
    }
    if request.scope != AllocationScope::City && request.amount.is_none() {
        return Err(AllocationError::ScopeWithoutAmount);
    }
    if let Some(amount) = request.amount.filter(|a| !a.is_positive()) {
        return Err(AllocationError::NotPositive(amount));
    }
    Ok(Parameters::of(request))
}

/// Plans one allocation. The same request again (same entry id and parameters) writes nothing
/// and answers the first result; the same id with other parameters is refused, showing both.
pub fn plan_allocation(
    found: Found,
    request: &Request,
    actor: &Actor,
    recorded_on: Date,
) -> Result<AllocationPlan, AllocationError> {
    authorize(actor, Operation::Allocate, Target::City)?;
    let parameters = check_request(request)?;
    if let Some(first) = found.existing {
        if !first.parameters.matches(&parameters, &first.allocation) {
            return Err(AllocationError::DifferentParameters {
                entry_id: request.entry_id.clone(),
                first: first.parameters.to_string(),
                now: parameters.to_string(),
            });
        }
        return Ok(Plan::nothing(Outcome { allocation: first.allocation, status: Status::AlreadyPosted }));
    }
    if found.entry_exists {
        return Err(AllocationError::EntryIdTaken(request.entry_id.clone()));
    }
    if !found.scope_exists {
        return Err(AllocationError::NotFound(describe_scope(&request.scope)));
    }
    let period = period_of(&parameters, found.last.as_ref(), found.earliest_entry)?;
    let (amount, withheld) =
        amount_and_withheld(&request.source, found.source_balance, request.amount, parameters.withhold_rate)?;
    let allocated = amount.checked_sub(withheld).map_err(|_| AllocationError::Overflow)?;
    let allocation = allocate(&parameters, request, period, &found.units, &found.changes, amount, withheld, allocated)?;
    let entry = allocation_entry(&allocation, request.date, period)?;
    let row = Row::Recorded { parameters, actor: actor.clone(), recorded_on };
    Ok(Plan {
        entries: vec![entry],
        rows: vec![row],
        events: Vec::new(),
        answer: Outcome { allocation, status: Status::Posted },
    })
}

fn describe_scope(scope: &AllocationScope) -> String {
    match scope {
        AllocationScope::City => "the city".to_owned(),
        AllocationScope::Estate(e) => format!("estate `{e}`"),
        AllocationScope::Building(b) => format!("building `{b}`"),
    }
}

/// Weighs the units and splits the allocated amount over those of weight above 0.
#[allow(clippy::too_many_arguments)]
fn allocate(
    parameters: &Parameters,
    request: &Request,
    period: Option<Period>,
    units: &[UnitBasis],
    changes: &[DayChange],
    amount: Money,
    withheld: Money,
    allocated: Money,
) -> Result<Allocation, AllocationError> {
    if units.is_empty() {
        return Err(AllocationError::EmptyScope(describe_scope(&request.scope)));
    }
    let all = weights(parameters.method, units, changes, period)?;
    let (ids, weighed): (Vec<&str>, Vec<u128>) =
        units.iter().zip(&all).filter(|(_, &w)| w > 0).map(|(u, &w)| (u.unit_id.as_str(), w)).unzip();
    if ids.is_empty() {
        return Err(AllocationError::AllWeightsZero { method: parameters.method });
    }
    let weights_total = weighed.iter().try_fold(0u128, |s, &w| s.checked_add(w)).ok_or(AllocationError::Overflow)?;
    let amounts = apportion_by_weight(allocated, &ids, &weighed)?;
    let mut shares: Vec<Share> = ids
        .iter()
        .zip(&weighed)
        .zip(&amounts)
        .map(|((id, &weight), &share)| Share { unit_id: (*id).to_owned(), weight, share })
        .collect();
    shares.sort_unstable_by(|a, b| a.unit_id.cmp(&b.unit_id));
    let credited = shares.iter().filter(|s| s.share.is_positive()).count();
    if credited + 1 > MAX_POSTINGS_PER_ENTRY {
        return Err(AllocationError::TooManyUnits { units: credited, max: MAX_POSTINGS_PER_ENTRY - 1 });
    }
    Ok(Allocation {
        entry_id: request.entry_id.clone(),
        source: request.source.clone(),
        method: parameters.method,
        from: period.map(|p| p.from),
        to: period.map(|p| p.to),
        amount,
        withheld,
        allocated,
        units: credited as u64,
        weights_total,
        shares,
    })
}

/// One balanced entry dated D: debit the source with the allocated amount, credit each unit
/// its share (units whose share rounds to 0.00 are not posted).
fn allocation_entry(allocation: &Allocation, date: Date, period: Option<Period>) -> Result<Entry, AllocationError> {
    let memo = match period {
        Some(p) => format!("收益分配{} {}…{}", allocation.method.describe(), p.from, p.to),
        None => format!("收益分配{}", allocation.method.describe()),
    };
    let mut postings = Vec::with_capacity(allocation.shares.len() + 1);
    postings.push(Posting::debit(allocation.source.clone(), allocation.allocated, memo));
    postings.extend(
        allocation
            .shares
            .iter()
            .filter(|s| s.share.is_positive())
            .map(|s| Posting::credit(Account::Unit(s.unit_id.clone()), s.share, "")),
    );
    Entry::new(allocation.entry_id.clone(), date, EntryKind::Allocation, None, postings)
        .map_err(|e| AllocationError::Unpostable(e.to_string()))
}

/// The smallest and largest share, as the summary shows them.
pub fn share_range(allocation: &Allocation) -> (Money, Money) {
    allocation.share_range().unwrap_or((Money::ZERO, Money::ZERO))
}
