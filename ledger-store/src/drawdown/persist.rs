//! A drawdown plan's rows and events as SQL: the only place drawdown rows are written. The
//! plan's entries are not written here (the writer posts them through the ledger).

use ledger_core::drawdown::{DrawdownPlan, Row};
use ledger_core::plan::Event;

use super::load::SCOPE_UNITS;
use crate::group::{Value, WriteGroup};

/// Adds every row and event of `plan` (all of the drawdown its answer names) to `group`.
pub(super) fn add_rows<'a>(group: &mut WriteGroup<'a>, plan: &'a DrawdownPlan) {
    let id = plan.answer.drawdown_id.as_str();
    for row in &plan.rows {
        add_row(group, id, row);
    }
    // At most one event per group: the group's statements do not see each other's rows, so two
    // would take the same number.
    assert!(plan.events.len() <= 1, "one event per drawdown write");
    for event in &plan.events {
        record_event(group, id, event);
    }
}

fn add_row<'a>(group: &mut WriteGroup<'a>, id: &'a str, row: &'a Row) {
    match row {
        Row::Filed(app) => group.push(
            "INSERT INTO drawdowns (drawdown_id, estate_id, scope, category, route, estimate_fen, contractor, \
             description, applicant, submitted_on, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitted')",
            vec![
                id.into(),
                app.estate_id.as_str().into(),
                app.scope.text().into(),
                app.category.as_str().into(),
                app.route.as_str().into(),
                app.estimate.fen().into(),
                app.contractor.as_str().into(),
                app.description.as_str().into(),
                app.applicant.as_str().into(),
                app.submitted_on.to_string().into(),
            ],
        ),
        Row::ListedUnits(units) => {
            let values = units.iter().flat_map(|unit| [Value::from(id), unit.as_str().into()]);
            group.insert_rows("drawdown_units (drawdown_id, unit_id)", 2, "", values.collect());
        }
        // Resolved inside the database: no unit list to ship back and forth.
        Row::UnitsOf { estate_id, building } => {
            let building = building.as_deref().unwrap_or("");
            group.push(
                &format!("INSERT INTO drawdown_units (drawdown_id, unit_id) SELECT ?, u.unit_id {SCOPE_UNITS}"),
                vec![id.into(), estate_id.as_str().into(), building.into(), building.into()],
            )
        }
        Row::State { state, final_cost } => group.push(
            "UPDATE drawdowns SET state = ?, final_cost_fen = COALESCE(?, final_cost_fen) WHERE drawdown_id = ?",
            vec![state.as_str().into(), final_cost.map(|c| c.fen()).into(), id.into()],
        ),
        Row::Estimate(revised) => group
            .push("UPDATE drawdowns SET estimate_fen = ? WHERE drawdown_id = ?", vec![revised.fen().into(), id.into()]),
        Row::Vote { unit_id, vote } => group.push(
            "INSERT INTO drawdown_votes (drawdown_id, unit_id, vote) VALUES (?, ?, ?) \
             ON CONFLICT (drawdown_id, unit_id) DO UPDATE SET vote = excluded.vote",
            vec![id.into(), unit_id.as_str().into(), vote.as_str().into()],
        ),
        Row::Payment { tranche, entry_id, amount } => group.push(
            "INSERT INTO drawdown_payments (drawdown_id, tranche, entry_id, amount_fen) VALUES (?, ?, ?, ?)",
            vec![id.into(), tranche.as_str().into(), entry_id.as_str().into(), amount.fen().into()],
        ),
    }
}

/// Adds the drawdown's next event: the person, their role, the office they acted for.
fn record_event<'a>(group: &mut WriteGroup<'a>, id: &'a str, event: &'a Event) {
    group.push(
        "INSERT INTO drawdown_events (drawdown_id, seq, action, actor, role, office, at, reason) \
         SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ?, ? FROM drawdown_events WHERE drawdown_id = ?",
        vec![
            id.into(),
            event.action.as_str().into(),
            event.actor.user().into(),
            event.actor.role().as_str().into(),
            event.actor.scope().as_str().into(),
            event.at.to_string().into(),
            event.reason.as_str().into(),
            id.into(),
        ],
    );
}
