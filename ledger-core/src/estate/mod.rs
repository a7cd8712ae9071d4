//! The registry as history (SPEC §10): transfers of ownership (过户), refunds of a demolished
//! unit's balance (房屋灭失), and moves of an estate to another street office or property
//! company. A change is a new dated version, never an overwrite, so decisions made before its
//! date keep the facts they were made on. Each planner authorises the actor, applies the rules
//! and returns the [`Plan`] to write; the store loads what it needs and writes the plan whole.

pub mod records;

use std::collections::HashMap;

use serde::Serialize;
use thiserror::Error;

use crate::account::{is_valid_id, Account, EntryKind};
use crate::actor::{authorize, Denied, EstateOffices, Operation, Target};
use crate::date::Date;
use crate::drawdown::Act;
use crate::entry::{Entry, Posting};
use crate::money::Money;
use crate::plan::{Event, Plan};

/// The longest entry id a refund may be given (the SPEC's identifier rule).
const MAX_ENTRY_ID_LEN: usize = 64;

/// A unit closed by a refund: from `closed_on` it takes no more postings or changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Closure {
    pub closed_on: Date,
    pub entry_id: Option<String>,
}

/// Closed units by `unit_id`: what the importer and every posting workflow check against.
pub type ClosedUnits = HashMap<String, Closure>;

/// A unit as a registry change reads it: its estate's offices, its owner now and the date of
/// its latest recorded change of owner, and its closure if it was refunded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFound {
    pub unit_id: String,
    pub estate: EstateOffices,
    pub owner: String,
    pub latest_change: Option<Date>,
    pub closed: Option<Closure>,
}

/// An estate as a move reads it: its offices now and the date of its latest recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstateFound {
    pub estate: EstateOffices,
    pub latest_change: Option<Date>,
}

/// What a refund needs besides the unit: its balance now, the date of its latest posting,
/// whether the entry id is taken, and the ledger's bank accounts (a payment needs exactly one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundFound {
    pub unit: UnitFound,
    pub balance: Money,
    pub last_posting: Option<Date>,
    pub entry_id_taken: bool,
    pub banks: Vec<Account>,
}

/// Which of an estate's offices a move changes (at least one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Move {
    pub street_office: Option<String>,
    pub company: Option<String>,
}

/// What a registry plan writes besides its entry: one dated version or closure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryRow {
    Owner { unit_id: String, owner: String, effective_from: Date },
    Offices { estate_id: String, street_office: String, company: String, effective_from: Date },
    Closure { unit_id: String, closed_on: Date, entry_id: Option<String> },
}

/// The answer to a registry change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryChange {
    pub action: String,
    /// The unit or estate changed.
    pub id: String,
    pub changed: bool,
    pub effective_from: Date,
    pub message: String,
    pub entry_id: Option<String>,
    pub amount: Option<Money>,
}

pub type RegistryPlan = Plan<RegistryRow, RegistryChange>;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EstateError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("unit `{unit_id}` was closed on {} (refunded{}): it takes no more postings or changes", .closure.closed_on, .closure.entry_id.as_deref().map(|e| format!(" by entry `{e}`")).unwrap_or_default())]
    Closed { unit_id: String, closure: Closure },
    #[error("{what} of `{id}` already changed from {latest}; a change dated {date} would rewrite what was decided since: date it {latest} or later")]
    OutOfOrder { what: &'static str, id: String, date: Date, latest: Date },
    #[error("expected a {0}, found an empty one")]
    Empty(&'static str),
    #[error("a move names a new street office, a new property company or both; it named neither")]
    NothingToMove,
    #[error("unit `{unit_id}` is overdrawn ({balance}): it must be topped up or adjusted before its balance can be refunded")]
    Overdrawn { unit_id: String, balance: Money },
    #[error(
        "unit `{unit_id}` has postings dated {last}, after the refund date {date}: date the refund on or after {last}"
    )]
    PostingsAfter { unit_id: String, date: Date, last: Date },
    #[error("entry id `{0}` is already posted: give the refund an id of its own")]
    EntryTaken(String),
    #[error("expected an entry id matching [A-Za-z0-9._:-]{{1,64}}, found `{0}`")]
    BadEntryId(String),
    #[error("the ledger has no bank: account to pay the refund from")]
    NoBankAccount,
    #[error("the ledger has several bank: accounts; a refund needs the fund's one special account")]
    SeveralBankAccounts,
    #[error("the refund cannot be posted: {0}")]
    Unpostable(String),
}

fn event(action: &str, act: &Act) -> Event {
    Event { action: action.to_owned(), actor: act.actor.clone(), at: act.at, reason: act.reason.clone() }
}

fn answer(action: &str, id: &str, effective_from: Date, changed: bool, message: String) -> RegistryChange {
    RegistryChange {
        action: action.to_owned(),
        id: id.to_owned(),
        changed,
        effective_from,
        message,
        entry_id: None,
        amount: None,
    }
}

fn refuse_closed_unit(unit: &UnitFound) -> Result<(), EstateError> {
    match &unit.closed {
        Some(closure) => Err(EstateError::Closed { unit_id: unit.unit_id.clone(), closure: closure.clone() }),
        None => Ok(()),
    }
}

/// A change dated before the latest recorded one would rewrite history already relied on.
fn check_in_order(what: &'static str, id: &str, date: Date, latest: Option<Date>) -> Result<(), EstateError> {
    match latest {
        Some(latest) if date < latest => Err(EstateError::OutOfOrder { what, id: id.to_owned(), date, latest }),
        _ => Ok(()),
    }
}

fn non_empty(text: &str, what: &'static str) -> Result<String, EstateError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(EstateError::Empty(what));
    }
    Ok(text.to_owned())
}

/// 过户: the unit's owner changes from `date`; the balance stays with the unit.
pub fn plan_transfer(unit: &UnitFound, owner: &str, date: Date, act: &Act) -> Result<RegistryPlan, EstateError> {
    authorize(&act.actor, Operation::ChangeRegistry, Target::Estate(&unit.estate))?;
    let owner = non_empty(owner, "new owner's name")?;
    refuse_closed_unit(unit)?;
    if unit.owner == owner {
        let message = format!("unit {} already belongs to {owner}: nothing changed", unit.unit_id);
        return Ok(Plan::nothing(answer("transfer", &unit.unit_id, date, false, message)));
    }
    check_in_order("the owner", &unit.unit_id, date, unit.latest_change)?;
    let message = format!("unit {} owner {} → {owner} from {date}", unit.unit_id, unit.owner);
    Ok(Plan {
        entries: Vec::new(),
        rows: vec![RegistryRow::Owner { unit_id: unit.unit_id.clone(), owner, effective_from: date }],
        events: vec![event("transfer", act)],
        answer: answer("transfer", &unit.unit_id, date, true, message),
    })
}

/// The estate's street office or property company changes from `date`; decisions, bills and
/// ratings before it keep the old one.
pub fn plan_move(found: &EstateFound, change: &Move, date: Date, act: &Act) -> Result<RegistryPlan, EstateError> {
    let estate = &found.estate;
    authorize(&act.actor, Operation::ChangeRegistry, Target::Estate(estate))?;
    if change.street_office.is_none() && change.company.is_none() {
        return Err(EstateError::NothingToMove);
    }
    let office = match &change.street_office {
        Some(o) => non_empty(o, "street office")?,
        None => estate.street_office.to_string(),
    };
    let company = match &change.company {
        Some(c) => non_empty(c, "property company")?,
        None => estate.company.to_string(),
    };
    if office == estate.street_office.as_str() && company == estate.company.as_str() {
        let message = format!("estate {} is already with {office} and {company}: nothing changed", estate.estate_id);
        return Ok(Plan::nothing(answer("move", &estate.estate_id, date, false, message)));
    }
    check_in_order("the offices", &estate.estate_id, date, found.latest_change)?;
    let mut said = Vec::new();
    if office != estate.street_office.as_str() {
        said.push(format!("street office {} → {office}", estate.street_office));
    }
    if company != estate.company.as_str() {
        said.push(format!("property company {} → {company}", estate.company));
    }
    let message = format!("estate {}: {} from {date}", estate.estate_id, said.join(", "));
    let row = RegistryRow::Offices {
        estate_id: estate.estate_id.clone(),
        street_office: office,
        company,
        effective_from: date,
    };
    Ok(Plan {
        entries: Vec::new(),
        rows: vec![row],
        events: vec![event("move", act)],
        answer: answer("move", &estate.estate_id, date, true, message),
    })
}

/// 房屋灭失: a `refund` entry pays the unit's whole balance out (debit the unit, credit the
/// bank) and the unit is closed from `date`. Repeating the same refund changes nothing.
pub fn plan_refund(found: &RefundFound, entry_id: &str, date: Date, act: &Act) -> Result<RegistryPlan, EstateError> {
    let unit = &found.unit;
    authorize(&act.actor, Operation::ChangeRegistry, Target::Estate(&unit.estate))?;
    if !is_valid_id(entry_id) || entry_id.len() > MAX_ENTRY_ID_LEN {
        return Err(EstateError::BadEntryId(entry_id.to_owned()));
    }
    if let Some(closure) = &unit.closed {
        if closure.entry_id.as_deref() == Some(entry_id) && closure.closed_on == date {
            let message = format!("unit {} was already refunded by {entry_id}: nothing changed", unit.unit_id);
            return Ok(Plan::nothing(RegistryChange {
                entry_id: Some(entry_id.to_owned()),
                ..answer("refund", &unit.unit_id, date, false, message)
            }));
        }
        return Err(EstateError::Closed { unit_id: unit.unit_id.clone(), closure: closure.clone() });
    }
    if found.entry_id_taken {
        return Err(EstateError::EntryTaken(entry_id.to_owned()));
    }
    if let Some(last) = found.last_posting.filter(|last| *last > date) {
        return Err(EstateError::PostingsAfter { unit_id: unit.unit_id.clone(), date, last });
    }
    if found.balance.is_negative() {
        return Err(EstateError::Overdrawn { unit_id: unit.unit_id.clone(), balance: found.balance });
    }
    let mut entries = Vec::new();
    let mut posted = None;
    if found.balance.is_positive() {
        entries.push(refund_entry(found, entry_id, date)?);
        posted = Some(entry_id.to_owned());
    }
    let message = format!("unit {} refunded {} to {} and closed from {date}", unit.unit_id, found.balance, unit.owner);
    let row = RegistryRow::Closure { unit_id: unit.unit_id.clone(), closed_on: date, entry_id: posted.clone() };
    Ok(Plan {
        entries,
        rows: vec![row],
        events: vec![event("refund", act)],
        answer: RegistryChange {
            entry_id: posted,
            amount: Some(found.balance),
            ..answer("refund", &unit.unit_id, date, true, message)
        },
    })
}

fn refund_entry(found: &RefundFound, entry_id: &str, date: Date) -> Result<Entry, EstateError> {
    let bank = match found.banks.as_slice() {
        [one] => one.clone(),
        [] => return Err(EstateError::NoBankAccount),
        _ => return Err(EstateError::SeveralBankAccounts),
    };
    let unit = &found.unit;
    let postings = vec![
        Posting::debit(Account::Unit(unit.unit_id.clone()), found.balance, format!("退还 {} 房屋灭失", unit.unit_id)),
        Posting::credit(bank, found.balance, format!("refund to {}", unit.owner)),
    ];
    Entry::new(entry_id.to_owned(), date, EntryKind::Refund, None, postings)
        .map_err(|e| EstateError::Unpostable(e.to_string()))
}

/// The first posting of `entries` to a closed unit, refused: a refunded unit's sub-ledger stays
/// empty. Every posting workflow and the importer ask this.
pub fn refuse_closed(entries: &[Entry], closed: &ClosedUnits) -> Result<(), EstateError> {
    if closed.is_empty() {
        return Ok(());
    }
    for posting in entries.iter().flat_map(|e| e.postings()) {
        if let Some(unit_id) = posting.account.unit_id() {
            if let Some(closure) = closed.get(unit_id) {
                return Err(EstateError::Closed { unit_id: unit_id.to_owned(), closure: closure.clone() });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
