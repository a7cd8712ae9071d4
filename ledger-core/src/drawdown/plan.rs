//! The drawdown workflows as planners: each takes what the store read, the request and who
//! asks, and returns the [`Plan`] to write, or why not. Nothing here reads or writes; every
//! decision of a drawdown request is made here, in the order the rules give.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{
    already_done, check_acted_on, check_advance, check_drawdown_id, check_final_cost, check_rejection_reason,
    check_revision, check_route, next_state, split_payment, Action, Beneficiary, Category, DrawdownError, Route,
    Shortfall, State, Tally, Vote,
};
use crate::account::{Account, EntryKind};
use crate::actor::{authorize, Actor, EstateOffices, Operation, Target};
use crate::date::Date;
use crate::entry::{Entry, Posting};
use crate::money::Money;
use crate::plan::{Event, Plan};
use crate::registry::FloorArea;

/// Which units benefit from a repair. The whole estate is asked for by name, never a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeRequest {
    Estate,
    Building(String),
    Units(Vec<String>),
}

impl ScopeRequest {
    /// The scope as stored with the drawdown: `estate`, `building:<id>` or `units:<id>,…`.
    pub fn text(&self) -> String {
        match self {
            ScopeRequest::Estate => "estate".to_owned(),
            ScopeRequest::Building(b) => format!("building:{b}"),
            ScopeRequest::Units(units) => format!("units:{}", units.join(",")),
        }
    }
}

/// An application for a drawdown; `drawdown_id` is the client's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub drawdown_id: String,
    pub estate_id: String,
    pub scope: ScopeRequest,
    pub category: Category,
    pub route: Route,
    pub estimate: Money,
    pub contractor: String,
    pub description: String,
    pub applicant: String,
    pub submitted_on: Date,
}

/// Who asks, on which day, and why: what every request carries besides its own fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Act {
    pub actor: Actor,
    pub at: Date,
    pub reason: String,
}

/// A drawdown as stored, with its estate's offices and what was paid so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub id: String,
    pub estate: EstateOffices,
    pub scope: String,
    pub category: Category,
    pub route: Route,
    pub estimate: Money,
    pub contractor: String,
    pub description: String,
    pub applicant: String,
    pub submitted_on: Date,
    pub state: State,
    pub final_cost: Option<Money>,
    pub paid: Money,
}

/// A beneficiary as a payment needs it: floor area and the sub-ledger's balance now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payee {
    pub unit_id: String,
    pub owner: String,
    pub area: FloorArea,
    pub balance: Money,
}

/// The outcome of a request: whether it changed anything, and what it posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub drawdown_id: String,
    pub action: String,
    pub changed: bool,
    pub state: String,
    pub message: String,
    pub entry_id: Option<String>,
    /// Units charged more than their balance (green channel): they must top up.
    pub topup_required: Vec<Shortfall>,
}

/// A payment's tranche: the advance at approval, or the rest after acceptance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tranche {
    Advance,
    Final,
}

impl Tranche {
    pub fn as_str(self) -> &'static str {
        match self {
            Tranche::Advance => "advance",
            Tranche::Final => "final",
        }
    }
}

/// What a drawdown plan writes besides entries and events; all of one drawdown, the one its
/// answer names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// The application itself, with its scope as stored.
    Filed(Application),
    /// Beneficiaries named one by one (checked against the estate, without repeats).
    ListedUnits(Vec<String>),
    /// Beneficiaries resolved by the store: every unit of the building, or of the whole estate.
    UnitsOf {
        estate_id: String,
        building: Option<String>,
    },
    State {
        state: State,
        final_cost: Option<Money>,
    },
    Estimate(Money),
    Vote {
        unit_id: String,
        vote: Vote,
    },
    Payment {
        tranche: Tranche,
        entry_id: String,
        amount: Money,
    },
}

pub type DrawdownPlan = Plan<Row, Change>;

/// What an application's scope turned out to be in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeFound {
    /// The units of the estate, for checking a list.
    EstateUnits(BTreeSet<String>),
    /// How many units the building, or the whole estate, has.
    Counted(u64),
}

/// What filing an application needs to know.
#[derive(Debug, Clone)]
pub struct ApplyFound {
    pub existing: Option<Stored>,
    pub estate: Option<EstateOffices>,
    pub scope: ScopeFound,
}

fn event(action: impl Into<String>, act: &Act) -> Event {
    Event { action: action.into(), actor: act.actor.clone(), at: act.at, reason: act.reason.clone() }
}

/// The answer to a request that found its work already done (`action`: what was asked).
fn unchanged(d: &Stored, action: &str) -> Change {
    Change {
        drawdown_id: d.id.clone(),
        action: action.to_owned(),
        changed: false,
        state: d.state.as_str().to_owned(),
        message: format!("already {}: nothing changed", d.state),
        entry_id: None,
        topup_required: Vec::new(),
    }
}

fn changed(d: &Stored, action: Action, state: State, entry_id: Option<String>, topup: Vec<Shortfall>) -> Change {
    Change {
        drawdown_id: d.id.clone(),
        action: action.as_str().to_owned(),
        changed: true,
        state: state.as_str().to_owned(),
        message: format!("{} → {state}", d.state),
        entry_id,
        topup_required: topup,
    }
}

/// A transition with no payment: the new state and its event.
fn transition(d: &Stored, action: Action, next: State, final_cost: Option<Money>, act: &Act) -> DrawdownPlan {
    Plan {
        entries: Vec::new(),
        rows: vec![Row::State { state: next, final_cost }],
        events: vec![event(action.as_str(), act)],
        answer: changed(d, action, next, None, Vec::new()),
    }
}

/// Files an application. The same id again with the same content changes nothing; with other
/// content it is refused.
pub fn plan_apply(found: ApplyFound, app: &Application, act: &Act) -> Result<DrawdownPlan, DrawdownError> {
    check_route(app.category, app.route)?;
    if !app.estimate.is_positive() {
        return Err(DrawdownError::NotPositive(app.estimate));
    }
    check_drawdown_id(&app.drawdown_id)?;
    let estate = found.estate.ok_or_else(|| DrawdownError::NotFound(format!("estate `{}`", app.estate_id)))?;
    authorize(&act.actor, Operation::ApplyDrawdown, Target::Estate(&estate))?;
    let scope_text = app.scope.text();
    if let Some(existing) = found.existing {
        let same = existing.estate.estate_id == app.estate_id
            && existing.scope == scope_text
            && existing.category == app.category
            && existing.route == app.route
            && existing.estimate == app.estimate
            && existing.contractor == app.contractor;
        if !same {
            return Err(DrawdownError::AlreadyFiled(app.drawdown_id.clone()));
        }
        let message = "already filed: nothing changed".to_owned();
        return Ok(Plan::nothing(Change { message, ..unchanged(&existing, "apply") }));
    }
    let (scope_row, units) = scope_rows(&app.scope, &app.estate_id, found.scope)?;
    let answer = Change {
        drawdown_id: app.drawdown_id.clone(),
        action: "apply".to_owned(),
        changed: true,
        state: State::Submitted.as_str().to_owned(),
        message: format!("filed for {units} units"),
        entry_id: None,
        topup_required: Vec::new(),
    };
    Ok(Plan {
        entries: Vec::new(),
        rows: vec![Row::Filed(app.clone()), scope_row],
        events: vec![event("apply", act)],
        answer,
    })
}

/// The beneficiary rows of a scope and how many units they are, or why the scope is empty.
fn scope_rows(scope: &ScopeRequest, estate_id: &str, found: ScopeFound) -> Result<(Row, u64), DrawdownError> {
    let empty = |what: String| DrawdownError::EmptyScope { scope: scope.text(), estate_id: estate_id.to_owned(), what };
    match (scope, found) {
        // An empty building id would read as "any building" and file the whole estate.
        (ScopeRequest::Building(b), _) if b.trim().is_empty() => Err(empty("names no building".to_owned())),
        (ScopeRequest::Units(units), ScopeFound::EstateUnits(in_estate)) => {
            if in_estate.is_empty() {
                return Err(DrawdownError::NotFound(format!("estate `{estate_id}` with units")));
            }
            if let Some(stranger) = units.iter().find(|u| !in_estate.contains(u.as_str())) {
                return Err(DrawdownError::NotFound(format!("unit `{stranger}` in estate `{estate_id}`")));
            }
            let listed: Vec<String> = units.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
            if listed.is_empty() {
                return Err(empty("has no units".to_owned()));
            }
            let count = listed.len() as u64;
            Ok((Row::ListedUnits(listed), count))
        }
        (ScopeRequest::Units(_), ScopeFound::Counted(_)) | (_, ScopeFound::EstateUnits(_)) => {
            unreachable!("the store reads the estate's units for a list, and counts a building or estate")
        }
        (_, ScopeFound::Counted(0)) => Err(DrawdownError::NotFound(match scope {
            ScopeRequest::Building(b) => format!("building `{b}` with units in estate `{estate_id}`"),
            _ => format!("estate `{estate_id}` with units"),
        })),
        (ScopeRequest::Building(b), ScopeFound::Counted(n)) => {
            Ok((Row::UnitsOf { estate_id: estate_id.to_owned(), building: Some(b.trim().to_owned()) }, n))
        }
        (ScopeRequest::Estate, ScopeFound::Counted(n)) => {
            Ok((Row::UnitsOf { estate_id: estate_id.to_owned(), building: None }, n))
        }
    }
}

/// The street office of the estate approves or rejects; a normal-route drawdown only once the
/// owners' vote has passed (`tally`: read for a normal-route approval).
pub fn plan_decide(d: &Stored, approve: bool, tally: Option<&Tally>, act: &Act) -> Result<DrawdownPlan, DrawdownError> {
    let action = if approve { Action::Approve } else { Action::Reject };
    authorize(&act.actor, Operation::DecideDrawdown, Target::Estate(&d.estate))?;
    check_acted_on(d.submitted_on, act.at)?;
    if !approve {
        check_rejection_reason(&act.reason)?;
    }
    if already_done(d.state, action) {
        return Ok(Plan::nothing(unchanged(d, action.as_str())));
    }
    let next = next_state(d.state, action)?;
    if approve && d.route == Route::Normal {
        let tally = tally.expect("the store reads the tally for a normal-route approval");
        if !tally.passed {
            return Err(DrawdownError::VoteNotPassed(describe_tally(tally)));
        }
    }
    Ok(transition(d, action, next, None, act))
}

/// Whether deciding `d` needs the owners' vote counted first.
pub fn decision_needs_tally(d: &Stored, approve: bool) -> bool {
    approve && d.route == Route::Normal
}

/// The estate's street office approves a revised estimate, so that a final cost more than 10 %
/// over the first one can be accepted. The state stays; the event records both estimates.
pub fn plan_revise(d: &Stored, revised: Money, act: &Act) -> Result<DrawdownPlan, DrawdownError> {
    authorize(&act.actor, Operation::DecideDrawdown, Target::Estate(&d.estate))?;
    check_acted_on(d.submitted_on, act.at)?;
    if d.estimate == revised {
        let message = format!("the estimate is already {revised}: nothing changed");
        return Ok(Plan::nothing(Change { message, ..unchanged(d, Action::Revise.as_str()) }));
    }
    check_revision(d.state, d.paid, revised)?;
    let message = format!("estimate {} → {revised}", d.estimate);
    let reason = format!("{message}: {}", act.reason);
    Ok(Plan {
        entries: Vec::new(),
        rows: vec![Row::Estimate(revised)],
        events: vec![Event { reason, ..event("revise", act) }],
        answer: Change { changed: true, message, ..unchanged(d, Action::Revise.as_str()) },
    })
}

/// Records (or changes) a unit's vote while the drawdown awaits approval. `previous`: `None`
/// when the unit is not a beneficiary, else its vote so far.
pub fn plan_vote(
    d: &Stored,
    unit_id: &str,
    previous: Option<Option<Vote>>,
    vote: Vote,
    act: &Act,
) -> Result<DrawdownPlan, DrawdownError> {
    authorize(&act.actor, Operation::RecordVote, Target::Estate(&d.estate))?;
    check_acted_on(d.submitted_on, act.at)?;
    if d.route != Route::Normal || d.state != State::Submitted {
        return Err(DrawdownError::NoVoteOpen { drawdown_id: d.id.clone(), state: d.state, route: d.route });
    }
    let previous = previous
        .ok_or_else(|| DrawdownError::NotFound(format!("unit `{unit_id}` among the beneficiaries of `{}`", d.id)))?;
    let mut answer = unchanged(d, "vote");
    if previous == Some(vote) {
        answer.message = format!("unit {unit_id} already voted {}: nothing changed", vote.as_str());
        return Ok(Plan::nothing(answer));
    }
    answer.changed = true;
    answer.message = format!("unit {unit_id} votes {}", vote.as_str());
    Ok(Plan {
        entries: Vec::new(),
        rows: vec![Row::Vote { unit_id: unit_id.to_owned(), vote }],
        events: vec![event(format!("vote {unit_id} {}", vote.as_str()), act)],
        answer,
    })
}

/// Pays up to half the approved estimate at once. `banks`: the ledger's `bank:` accounts
/// (payments need exactly one).
pub fn plan_advance(
    d: &Stored,
    amount: Money,
    payees: &[Payee],
    banks: &[Account],
    act: &Act,
) -> Result<DrawdownPlan, DrawdownError> {
    authorize(&act.actor, Operation::PayDrawdown, Target::Estate(&d.estate))?;
    check_acted_on(d.submitted_on, act.at)?;
    if already_done(d.state, Action::Advance) {
        return Ok(Plan::nothing(unchanged(d, Action::Advance.as_str())));
    }
    let next = next_state(d.state, Action::Advance)?;
    check_advance(d.estimate, amount)?;
    paid_transition(d, Action::Advance, next, Some((Tranche::Advance, amount)), payees, banks, act)
}

/// Completion acceptance with the final cost.
pub fn plan_complete(d: &Stored, final_cost: Money, act: &Act) -> Result<DrawdownPlan, DrawdownError> {
    authorize(&act.actor, Operation::PayDrawdown, Target::Estate(&d.estate))?;
    check_acted_on(d.submitted_on, act.at)?;
    if already_done(d.state, Action::Complete) {
        return Ok(Plan::nothing(unchanged(d, Action::Complete.as_str())));
    }
    let next = next_state(d.state, Action::Complete)?;
    check_final_cost(d.estimate, d.paid, final_cost)?;
    Ok(transition(d, Action::Complete, next, Some(final_cost), act))
}

/// Pays the rest of the final cost (nothing to pay when the advance covered it).
pub fn plan_settle(d: &Stored, payees: &[Payee], banks: &[Account], act: &Act) -> Result<DrawdownPlan, DrawdownError> {
    authorize(&act.actor, Operation::PayDrawdown, Target::Estate(&d.estate))?;
    check_acted_on(d.submitted_on, act.at)?;
    if already_done(d.state, Action::Settle) {
        return Ok(Plan::nothing(unchanged(d, Action::Settle.as_str())));
    }
    let next = next_state(d.state, Action::Settle)?;
    let final_cost = d.final_cost.ok_or_else(|| DrawdownError::NoFinalCost(d.id.clone()))?;
    let rest = final_cost.checked_sub(d.paid).map_err(|_| DrawdownError::NoFinalCost(d.id.clone()))?;
    let payment = rest.is_positive().then_some((Tranche::Final, rest));
    paid_transition(d, Action::Settle, next, payment, payees, banks, act)
}

/// Withdraws an application before any payment.
pub fn plan_cancel(d: &Stored, act: &Act) -> Result<DrawdownPlan, DrawdownError> {
    authorize(&act.actor, Operation::PayDrawdown, Target::Estate(&d.estate))?;
    check_acted_on(d.submitted_on, act.at)?;
    if already_done(d.state, Action::Cancel) {
        return Ok(Plan::nothing(unchanged(d, Action::Cancel.as_str())));
    }
    let next = next_state(d.state, Action::Cancel)?;
    Ok(transition(d, Action::Cancel, next, None, act))
}

/// Whether a request needs the payees and the bank account read: only a payment does.
pub fn needs_payees(d: &Stored, action: Action) -> bool {
    matches!(action, Action::Advance | Action::Settle) && !already_done(d.state, action)
}

/// A transition that pays a tranche (if any): the payment entry, the payment row, the state
/// and the event.
fn paid_transition(
    d: &Stored,
    action: Action,
    next: State,
    payment: Option<(Tranche, Money)>,
    payees: &[Payee],
    banks: &[Account],
    act: &Act,
) -> Result<DrawdownPlan, DrawdownError> {
    let mut plan = transition(d, action, next, None, act);
    if let Some((tranche, amount)) = payment {
        let (entry, shortfalls) = payment_entry(d, tranche, amount, payees, banks, act.at)?;
        plan.rows.push(Row::Payment { tranche, entry_id: entry.id().to_owned(), amount });
        plan.answer = changed(d, action, next, Some(entry.id().to_owned()), shortfalls);
        plan.entries.push(entry);
    }
    Ok(plan)
}

/// The entry id of a drawdown's payment of a tranche.
pub fn payment_entry_id(drawdown_id: &str, tranche: Tranche) -> String {
    format!("DD-{drawdown_id}-{}", tranche.as_str())
}

/// One payment as one balanced entry: each beneficiary debited its floor-area share, the bank
/// credited; with the units it leaves short (green channel).
fn payment_entry(
    d: &Stored,
    tranche: Tranche,
    amount: Money,
    payees: &[Payee],
    banks: &[Account],
    date: Date,
) -> Result<(Entry, Vec<Shortfall>), DrawdownError> {
    let units: Vec<Beneficiary> = payees
        .iter()
        .map(|p| Beneficiary { unit_id: p.unit_id.clone(), owner: p.owner.clone(), area: p.area })
        .collect();
    let balance_of = |unit: &str| payees.iter().find(|p| p.unit_id == unit).map_or(Money::ZERO, |p| p.balance);
    let split = split_payment(d.route, amount, &units, balance_of)?;
    let bank = match banks {
        [one] => one.clone(),
        [] => return Err(DrawdownError::NoBankAccount),
        _ => return Err(DrawdownError::SeveralBankAccounts),
    };
    let memo = format!("{} {}: {}", d.id, tranche.as_str(), d.category);
    let mut postings: Vec<Posting> = split
        .shares
        .iter()
        .filter(|(_, share)| share.is_positive())
        .map(|(unit, share)| Posting::debit(Account::Unit(unit.clone()), *share, memo.as_str()))
        .collect();
    postings.push(Posting::credit(bank, amount, format!("pay {}", d.contractor)));
    let entry = Entry::new(payment_entry_id(&d.id, tranche), date, EntryKind::Drawdown, None, postings)
        .map_err(|e| DrawdownError::Unpostable(e.to_string()))?;
    Ok((entry, split.shortfalls))
}

/// The count of a vote in words, for a refusal.
pub fn describe_tally(t: &Tally) -> String {
    let m2 = |centi: i64| FloorArea::from_centi_m2(centi).map_or("0".to_owned(), |a| a.to_string());
    format!(
        "{} of {} m² and {} of {} owners took part; {} m² and {} owners said yes",
        m2(t.participating_area_centi_m2),
        m2(t.total_area_centi_m2),
        t.participating_owners,
        t.total_owners,
        m2(t.yes_area_centi_m2),
        t.yes_owners
    )
}
