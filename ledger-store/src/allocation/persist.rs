//! An allocation plan's record as SQL: the only place `allocations` rows are written. The
//! plan's entry is not written here (the writer posts it through the ledger).

use ledger_core::allocation::{AllocationPlan, Row};

use super::load::shares_text;
use crate::group::{Value, WriteGroup};

/// A text that may be absent (a default taken, or no period).
fn optional_text(text: Option<String>) -> Value<'static> {
    text.map_or(Value::NoText, Value::from)
}

/// Adds the allocation's record: the parameters as asked, the result, who and when.
pub(super) fn add_rows<'a>(group: &mut WriteGroup<'a>, plan: &'a AllocationPlan) {
    let a = &plan.answer.allocation;
    for row in &plan.rows {
        let Row::Recorded { parameters: p, actor, recorded_on } = row;
        group.push(
            "INSERT INTO allocations (entry_id, source, alloc_date, method, from_asked, to_resolved, \
             amount_asked_fen, withhold_rate, scope, period_from, period_to, amount_fen, withheld_fen, \
             allocated_fen, units_credited, weights_total, shares, actor, role, recorded_on) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                a.entry_id.as_str().into(),
                p.source.to_string().into(),
                p.date.to_string().into(),
                p.method.as_str().into(),
                optional_text(p.from.map(|d| d.to_string())),
                optional_text(p.to.map(|d| d.to_string())),
                p.amount.map(|m| m.fen()).into(),
                p.withhold_rate.to_string().into(),
                p.scope.text().into(),
                optional_text(a.from.map(|d| d.to_string())),
                optional_text(a.to.map(|d| d.to_string())),
                a.amount.fen().into(),
                a.withheld.fen().into(),
                a.allocated.fen().into(),
                (a.units as i64).into(),
                a.weights_total.to_string().into(),
                shares_text(&a.shares).into(),
                actor.user().into(),
                actor.role().as_str().into(),
                recorded_on.to_string().into(),
            ],
        );
    }
}
