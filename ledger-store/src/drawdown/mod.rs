//! Drawdowns kept in the database (动用维修资金): each request is a [`DrawdownWrite`] that loads
//! what its planner in `ledger_core::drawdown::plan` needs and hands the plan to the group
//! commit (`crate::writer`), which posts its entries through the ledger and its rows through
//! [`persist`]. Every rule and every decision is core's; this module reads (`load`, `view`) and
//! maps rows to SQL (`persist`). Repeating a request finds the state already reached.

mod load;
mod persist;
pub(crate) mod rows;
mod view;

pub(crate) use load::banks;

use std::collections::{BTreeSet, HashMap};

use ledger_core::actor::EstateOffices;
use ledger_core::drawdown::plan::{
    decision_needs_tally, needs_payees, plan_advance, plan_apply, plan_cancel, plan_complete, plan_decide, plan_revise,
    plan_settle, plan_vote,
};
use ledger_core::drawdown::{
    Act, Action, Application, ApplyFound, Change, DrawdownError, DrawdownPlan, Row, ScopeFound, ScopeRequest, Stored,
    Tally, Vote,
};
use ledger_core::plan::Plan;
use ledger_core::{Date, Money};

pub use view::{DrawdownView, EventView, ListFilter, PaymentView, UnitShare};

use crate::estate::records::SqlRow;
use crate::group::WriteGroup;
use crate::writer::{BoxFuture, Planned, PlannedWrite};
use crate::{today, Store, StoreError, Tx};
use persist::Current;

/// A drawdown request waiting for its turn in a group commit.
pub(crate) enum DrawdownWrite {
    Apply { application: Application, act: Act },
    Decide { drawdown_id: String, approve: bool, act: Act },
    Revise { drawdown_id: String, revised: Money, act: Act },
    Vote { drawdown_id: String, unit_id: String, vote: Vote, act: Act },
    Advance { drawdown_id: String, amount: Money, act: Act },
    Complete { drawdown_id: String, final_cost: Money, act: Act },
    Settle { drawdown_id: String, act: Act },
    Cancel { drawdown_id: String, act: Act },
}

impl PlannedWrite for DrawdownWrite {
    type Row = SqlRow;
    type Answer = Change;

    fn plan<'a>(&'a self, tx: &'a mut Tx) -> BoxFuture<'a, Result<Planned<SqlRow, Change>, StoreError>> {
        Box::pin(async move {
            // Each request is judged on the facts in force on its day: the estate's street office
            // then is the one that decides (SPEC §10).
            let (planned, current) = match self {
                DrawdownWrite::Apply { application, act } => {
                    (plan_apply(apply_found(tx, application, act.at).await?, application, act)?.into(), None)
                }
                DrawdownWrite::Decide { drawdown_id, approve, act } => {
                    let (d, seq) = load::existing_with_seq(tx, drawdown_id, act.at).await?;
                    let tally = match decision_needs_tally(&d, *approve) {
                        true => Some(load::tally_of(tx, drawdown_id, act.at).await?),
                        false => None,
                    };
                    (plan_decide(&d, *approve, tally.as_ref(), act)?.into(), Some(Current::of(&d, seq)))
                }
                DrawdownWrite::Revise { drawdown_id, revised, act } => {
                    let (d, seq) = load::existing_with_seq(tx, drawdown_id, act.at).await?;
                    (plan_revise(&d, *revised, act)?.into(), Some(Current::of(&d, seq)))
                }
                DrawdownWrite::Vote { drawdown_id, unit_id, vote, act } => {
                    let (d, seq) = load::existing_with_seq(tx, drawdown_id, act.at).await?;
                    let previous = load::vote_of(tx, drawdown_id, unit_id).await?;
                    (plan_vote(&d, unit_id, previous, *vote, act)?.into(), Some(Current::of(&d, seq)))
                }
                DrawdownWrite::Advance { drawdown_id, amount, act } => {
                    let (d, seq) = load::existing_with_seq(tx, drawdown_id, act.at).await?;
                    let payment = Payment::load(tx, &d, Action::Advance).await?;
                    let plan = plan_advance(&d, *amount, &payment.payees, &payment.banks, act)?;
                    (payment.planned(plan), Some(Current::of(&d, seq)))
                }
                DrawdownWrite::Complete { drawdown_id, final_cost, act } => {
                    let (d, seq) = load::existing_with_seq(tx, drawdown_id, act.at).await?;
                    (plan_complete(&d, *final_cost, act)?.into(), Some(Current::of(&d, seq)))
                }
                DrawdownWrite::Settle { drawdown_id, act } => {
                    let (d, seq) = load::existing_with_seq(tx, drawdown_id, act.at).await?;
                    let payment = Payment::load(tx, &d, Action::Settle).await?;
                    let plan = plan_settle(&d, &payment.payees, &payment.banks, act)?;
                    (payment.planned(plan), Some(Current::of(&d, seq)))
                }
                DrawdownWrite::Cancel { drawdown_id, act } => {
                    let (d, seq) = load::existing_with_seq(tx, drawdown_id, act.at).await?;
                    (plan_cancel(&d, act)?.into(), Some(Current::of(&d, seq)))
                }
            };
            let Planned { plan, known_accounts } = planned;
            let plan = persist::resolve(tx, plan, current).await?;
            Ok(Planned { plan, known_accounts })
        })
    }

    fn add_rows<'a>(&self, group: &mut WriteGroup<'a>, plan: &'a Plan<SqlRow, Change>) {
        persist::add_rows(group, plan);
    }
}

/// What a payment reads: the payees with their balances, the bank account, and the account
/// numbers found on the way. Read only when the request will pay.
#[derive(Default)]
struct Payment {
    payees: Vec<ledger_core::drawdown::Payee>,
    banks: Vec<ledger_core::Account>,
    known: HashMap<String, i64>,
}

impl Payment {
    async fn load(tx: &mut Tx, d: &Stored, action: Action) -> Result<Payment, StoreError> {
        if !needs_payees(d, action) {
            return Ok(Payment::default());
        }
        let (payees, mut known) = load::payees(tx, &d.id).await?;
        let (banks, bank_ids) = load::banks(tx).await?;
        known.extend(bank_ids);
        Ok(Payment { payees, banks, known })
    }

    fn planned(self, plan: DrawdownPlan) -> Planned<Row, Change> {
        Planned { plan, known_accounts: self.known }
    }
}

/// What filing an application needs: any drawdown already under its id, the estate, and its
/// scope in the registry (the estate's units for a list, else how many units there are).
async fn apply_found(tx: &mut Tx, app: &Application, day: Date) -> Result<ApplyFound, StoreError> {
    let existing = load::drawdown(tx, &app.drawdown_id, day).await?.map(|(d, _)| d);
    let estate = load::estate(tx, &app.estate_id, day).await?;
    let scope = match &app.scope {
        ScopeRequest::Units(_) => ScopeFound::EstateUnits(load::estate_units(tx, &app.estate_id).await?),
        ScopeRequest::Building(b) => ScopeFound::Counted(load::scope_size(tx, &app.estate_id, b.trim()).await?),
        ScopeRequest::Estate => ScopeFound::Counted(load::scope_size(tx, &app.estate_id, "").await?),
    };
    Ok(ApplyFound { existing, estate, scope })
}

impl From<DrawdownError> for StoreError {
    /// A planner's refusal as the store reports it: what is missing is not found, what contradicts
    /// the stored state is a conflict, who may not is denied, the rest are rules.
    fn from(error: DrawdownError) -> StoreError {
        match error {
            DrawdownError::NotFound(what) => StoreError::NotFound(what),
            DrawdownError::Denied(denied) => StoreError::Denied(denied),
            e @ (DrawdownError::AlreadyFiled(_)
            | DrawdownError::EmptyScope { .. }
            | DrawdownError::NoVoteOpen { .. }
            | DrawdownError::NoBankAccount
            | DrawdownError::SeveralBankAccounts) => StoreError::Conflict(e.to_string()),
            e @ (DrawdownError::NoFinalCost(_) | DrawdownError::Unpostable(_)) => StoreError::Corrupt(e.to_string()),
            rule => StoreError::Drawdown(rule),
        }
    }
}

impl Store {
    /// Files an application. The same id again with the same content changes nothing; with
    /// other content it is refused.
    pub async fn apply_drawdown(&self, application: &Application, act: &Act) -> Result<Change, StoreError> {
        self.write(DrawdownWrite::Apply { application: application.clone(), act: act.clone() }).await
    }

    /// The street office of the estate approves or rejects. A normal-route drawdown can only be
    /// approved once the owners' vote has passed.
    pub async fn decide_drawdown(&self, drawdown_id: &str, approve: bool, act: &Act) -> Result<Change, StoreError> {
        self.write(DrawdownWrite::Decide { drawdown_id: drawdown_id.to_owned(), approve, act: act.clone() }).await
    }

    /// The estate's street office approves a revised estimate (see `plan_revise`).
    pub async fn revise_drawdown(&self, drawdown_id: &str, revised: Money, act: &Act) -> Result<Change, StoreError> {
        self.write(DrawdownWrite::Revise { drawdown_id: drawdown_id.to_owned(), revised, act: act.clone() }).await
    }

    /// Records (or changes) a unit's vote while the drawdown awaits approval.
    pub async fn vote_drawdown(
        &self,
        drawdown_id: &str,
        unit_id: &str,
        vote: Vote,
        act: &Act,
    ) -> Result<Change, StoreError> {
        let write = DrawdownWrite::Vote {
            drawdown_id: drawdown_id.to_owned(),
            unit_id: unit_id.to_owned(),
            vote,
            act: act.clone(),
        };
        self.write(write).await
    }

    /// Pays up to half the approved estimate at once.
    pub async fn advance_drawdown(&self, drawdown_id: &str, amount: Money, act: &Act) -> Result<Change, StoreError> {
        self.write(DrawdownWrite::Advance { drawdown_id: drawdown_id.to_owned(), amount, act: act.clone() }).await
    }

    /// Completion acceptance with the final cost.
    pub async fn complete_drawdown(
        &self,
        drawdown_id: &str,
        final_cost: Money,
        act: &Act,
    ) -> Result<Change, StoreError> {
        let write = DrawdownWrite::Complete { drawdown_id: drawdown_id.to_owned(), final_cost, act: act.clone() };
        self.write(write).await
    }

    /// Pays the rest of the final cost.
    pub async fn settle_drawdown(&self, drawdown_id: &str, act: &Act) -> Result<Change, StoreError> {
        self.write(DrawdownWrite::Settle { drawdown_id: drawdown_id.to_owned(), act: act.clone() }).await
    }

    /// Withdraws an application before any payment.
    pub async fn cancel_drawdown(&self, drawdown_id: &str, act: &Act) -> Result<Change, StoreError> {
        self.write(DrawdownWrite::Cancel { drawdown_id: drawdown_id.to_owned(), act: act.clone() }).await
    }

    pub async fn tally_drawdown(&self, drawdown_id: &str) -> Result<Tally, StoreError> {
        let mut tx = self.begin_read().await?;
        load::existing(&mut tx, drawdown_id, today()).await?;
        let result = load::tally_of(&mut tx, drawdown_id, today()).await;
        tx.commit().await?;
        result
    }

    /// Everything about one drawdown: scope with each unit's charge so far, payments, history.
    pub async fn drawdown(
        &self,
        drawdown_id: &str,
        today: Date,
        holidays: &BTreeSet<Date>,
    ) -> Result<DrawdownView, StoreError> {
        let mut tx = self.begin_read().await?;
        let d = load::existing(&mut tx, drawdown_id, today).await?;
        let view = view::view_in(&mut tx, d, today, holidays).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// The estate of a drawdown and its offices, for deciding who may read or act on it.
    pub async fn drawdown_estate(&self, drawdown_id: &str) -> Result<EstateOffices, StoreError> {
        let mut tx = self.begin_read().await?;
        let d = load::existing(&mut tx, drawdown_id, today()).await?;
        tx.commit().await?;
        Ok(d.estate)
    }

    /// An estate's offices, if it is registered: for deciding who may read or act on it.
    pub async fn estate_offices(&self, estate_id: &str) -> Result<Option<EstateOffices>, StoreError> {
        let mut tx = self.begin_read().await?;
        let estate = load::estate(&mut tx, estate_id, today()).await?;
        tx.commit().await?;
        Ok(estate)
    }

    /// Drawdowns matching the filter, oldest first, overdue ones flagged; one read transaction.
    pub async fn list_drawdowns(
        &self,
        filter: &ListFilter,
        today: Date,
        holidays: &BTreeSet<Date>,
    ) -> Result<Vec<DrawdownView>, StoreError> {
        let mut tx = self.begin_read().await?;
        let views = view::list_in(&mut tx, filter, today, holidays).await?;
        tx.commit().await?;
        Ok(views)
    }
}

/// The stored drawdown (offices in force today), for tests of other modules.
#[cfg(test)]
pub(crate) async fn existing_for_tests(tx: &mut Tx, drawdown_id: &str) -> Stored {
    load::existing(tx, drawdown_id, today()).await.unwrap()
}
