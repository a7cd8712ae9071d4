//! Each unit's weight from its balance changes, in one pass: O(postings + units), never
//! units × days.
//!
//! A unit's balance at the end of a day is its balance now minus every change dated after that
//! day. So the store hands over each unit's balance now and its changes dated from the first
//! day that matters (grouped by day, sorted by unit and date); the balance at the end of the
//! day before is the balance now minus their sum, and each change then starts a stretch of days
//! at a constant balance. 积数 sums `max(0, balance) × days` over the stretches in F…T.

use crate::date::Date;
use crate::registry::FloorArea;

use super::{AllocationError, Method, Period};

/// A unit taking part, with its balance now (every posting, credits − debits, in fen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitBasis {
    pub unit_id: String,
    pub area: FloorArea,
    pub balance_now_fen: i64,
}

/// The net change of one unit's balance on one day (credits − debits, fen). `unit` indexes the
/// units handed over with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayChange {
    pub unit: u32,
    pub date: Date,
    pub delta_fen: i64,
}

/// The weight of every unit under `method`, in the order of `units`. `changes` holds every
/// change dated on or after [`super::changes_needed_from`], sorted by unit, then date.
pub fn weights(
    method: Method,
    units: &[UnitBasis],
    changes: &[DayChange],
    period: Option<Period>,
) -> Result<Vec<u128>, AllocationError> {
    if changes.windows(2).any(|w| (w[0].unit, w[0].date) > (w[1].unit, w[1].date)) {
        return Err(AllocationError::UnorderedChanges);
    }
    if changes.last().is_some_and(|c| c.unit as usize >= units.len()) {
        return Err(AllocationError::UnorderedChanges);
    }
    let period = match (method, period) {
        (Method::Area, _) => return Ok(units.iter().map(|u| u.area.centi_m2() as u128).collect()),
        (_, Some(p)) => p,
        (_, None) => unreachable!("a method with a period has one resolved"),
    };
    let mut out = Vec::with_capacity(units.len());
    let mut rest = changes;
    for (index, unit) in units.iter().enumerate() {
        let run = rest.iter().take_while(|c| c.unit as usize == index).count();
        let (own, after) = rest.split_at(run);
        rest = after;
        out.push(match method {
            Method::BalanceDays => balance_days(unit.balance_now_fen, own, period)?,
            _ => closing(unit.balance_now_fen, own),
        });
    }
    Ok(out)
}

/// The balance at the end of the day before the first change handed over.
fn opening(balance_now_fen: i64, own: &[DayChange]) -> i128 {
    i128::from(balance_now_fen) - own.iter().map(|c| i128::from(c.delta_fen)).sum::<i128>()
}

/// max(0, balance at the end of T): the changes handed over are those dated after T.
fn closing(balance_now_fen: i64, own: &[DayChange]) -> u128 {
    opening(balance_now_fen, own).max(0) as u128
}

/// Σ over the days F…T of max(0, end-of-day balance); `own` starts at F (or later).
fn balance_days(balance_now_fen: i64, own: &[DayChange], period: Period) -> Result<u128, AllocationError> {
    let mut balance = opening(balance_now_fen, own);
    let mut day = period.from.days_since_epoch();
    let end = period.to.days_since_epoch() + 1;
    let mut weight: u128 = 0;
    let mut add = |balance: i128, days: i32| -> Result<(), AllocationError> {
        let part = (balance.max(0) as u128).checked_mul(days as u128).ok_or(AllocationError::Overflow)?;
        weight = weight.checked_add(part).ok_or(AllocationError::Overflow)?;
        Ok(())
    };
    for change in own {
        let date = change.date.days_since_epoch();
        if date >= end {
            break;
        }
        // A change dated F or later starts a new stretch; one dated earlier cannot be here.
        add(balance, date.max(day) - day)?;
        day = date.max(day);
        balance += i128::from(change.delta_fen);
    }
    add(balance, end - day)?;
    Ok(weight)
}

/// 积数 the slow way, day by day from a unit's whole history (`history`: every change, any
/// order): the definition itself, for tests to check [`weights`] against.
pub fn balance_days_naive(history: &[(Date, i64)], period: Period) -> u128 {
    let mut total: u128 = 0;
    let mut day = period.from;
    while day <= period.to {
        let balance: i128 = history.iter().filter(|(d, _)| *d <= day).map(|(_, f)| i128::from(*f)).sum();
        total += balance.max(0) as u128;
        day = day.add_days(1);
    }
    total
}
