//! A drawdown's records as stored, each chained in the records chain: the application as filed,
//! each event (carrying the state, estimate and final cost after it), each vote row, each
//! payment. The same structs are written, read back and hashed, so the hash of what was written
//! and of what is read are computed alike.

use ledger_core::estate::records::Field;

use crate::estate::records::{text, Chained, SqlRow};
use crate::group::Value;

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct DrawdownRow {
    pub drawdown_id: String,
    pub estate_id: String,
    pub scope: String,
    pub category: String,
    pub route: String,
    pub estimate_fen: i64,
    pub contractor: String,
    pub description: String,
    pub applicant: String,
    pub submitted_on: String,
}

impl Chained for DrawdownRow {
    const KIND: &'static str = "drawdown";
    const SELECT_ALL: &'static str =
        "SELECT drawdown_id, estate_id, scope, category, route, estimate_fen, contractor, \
                                      description, applicant, submitted_on FROM drawdowns";

    fn key(&self) -> String {
        self.drawdown_id.clone()
    }

    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            (&self.drawdown_id).into(),
            (&self.estate_id).into(),
            (&self.scope).into(),
            (&self.category).into(),
            (&self.route).into(),
            self.estimate_fen.into(),
            (&self.contractor).into(),
            (&self.description).into(),
            (&self.applicant).into(),
            (&self.submitted_on).into(),
        ]
    }
}

impl DrawdownRow {
    pub(crate) fn insert(&self) -> SqlRow {
        SqlRow::one(
            "INSERT INTO drawdowns (drawdown_id, estate_id, scope, category, route, estimate_fen, contractor, \
             description, applicant, submitted_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                text(&self.drawdown_id),
                text(&self.estate_id),
                text(&self.scope),
                text(&self.category),
                text(&self.route),
                self.estimate_fen.into(),
                text(&self.contractor),
                text(&self.description),
                text(&self.applicant),
                text(&self.submitted_on),
            ],
        )
    }
}

/// One act in a drawdown's history, with the drawdown as it stands after it (`state`,
/// `estimate_fen`, `final_cost_fen`; `None` only on events from before migration 0010).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub drawdown_id: String,
    pub seq: i64,
    pub action: String,
    pub actor: String,
    pub role: String,
    pub office: String,
    pub at: String,
    pub reason: String,
    pub state: Option<String>,
    pub estimate_fen: Option<i64>,
    pub final_cost_fen: Option<i64>,
}

impl Chained for EventRow {
    const KIND: &'static str = "drawdown_event";
    const SELECT_ALL: &'static str = "SELECT drawdown_id, seq, action, actor, role, office, at, reason, state, \
                                      estimate_fen, final_cost_fen FROM drawdown_events";

    fn key(&self) -> String {
        format!("{}/{}", self.drawdown_id, self.seq)
    }

    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            (&self.drawdown_id).into(),
            self.seq.into(),
            (&self.action).into(),
            (&self.actor).into(),
            (&self.role).into(),
            (&self.office).into(),
            (&self.at).into(),
            (&self.reason).into(),
            self.state.as_deref().into(),
            self.estimate_fen.into(),
            self.final_cost_fen.into(),
        ]
    }
}

impl EventRow {
    pub(crate) fn insert(&self) -> SqlRow {
        SqlRow::one(
            "INSERT INTO drawdown_events (drawdown_id, seq, action, actor, role, office, at, reason, state, \
             estimate_fen, final_cost_fen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                text(&self.drawdown_id),
                self.seq.into(),
                text(&self.action),
                text(&self.actor),
                text(&self.role),
                text(&self.office),
                text(&self.at),
                text(&self.reason),
                self.state.clone().map_or(Value::NoText, Value::from),
                self.estimate_fen.into(),
                self.final_cost_fen.into(),
            ],
        )
    }
}

/// A unit's vote; a changed vote is a new row with the next `seq` (the latest counts).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct VoteRow {
    pub drawdown_id: String,
    pub unit_id: String,
    pub seq: i64,
    pub vote: String,
}

impl Chained for VoteRow {
    const KIND: &'static str = "drawdown_vote";
    const SELECT_ALL: &'static str = "SELECT drawdown_id, unit_id, seq, vote FROM drawdown_votes";

    fn key(&self) -> String {
        format!("{}/{}/{}", self.drawdown_id, self.unit_id, self.seq)
    }

    fn fields(&self) -> Vec<Field<'_>> {
        vec![(&self.drawdown_id).into(), (&self.unit_id).into(), self.seq.into(), (&self.vote).into()]
    }
}

impl VoteRow {
    pub(crate) fn insert(&self) -> SqlRow {
        SqlRow::one(
            "INSERT INTO drawdown_votes (drawdown_id, unit_id, seq, vote) VALUES (?, ?, ?, ?)",
            vec![text(&self.drawdown_id), text(&self.unit_id), self.seq.into(), text(&self.vote)],
        )
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PaymentRow {
    pub drawdown_id: String,
    pub tranche: String,
    pub entry_id: String,
    pub amount_fen: i64,
}

impl Chained for PaymentRow {
    const KIND: &'static str = "drawdown_payment";
    const SELECT_ALL: &'static str = "SELECT drawdown_id, tranche, entry_id, amount_fen FROM drawdown_payments";

    fn key(&self) -> String {
        format!("{}/{}", self.drawdown_id, self.tranche)
    }

    fn fields(&self) -> Vec<Field<'_>> {
        vec![(&self.drawdown_id).into(), (&self.tranche).into(), (&self.entry_id).into(), self.amount_fen.into()]
    }
}

impl PaymentRow {
    pub(crate) fn insert(&self) -> SqlRow {
        SqlRow::one(
            "INSERT INTO drawdown_payments (drawdown_id, tranche, entry_id, amount_fen) VALUES (?, ?, ?, ?)",
            vec![text(&self.drawdown_id), text(&self.tranche), text(&self.entry_id), self.amount_fen.into()],
        )
    }
}
