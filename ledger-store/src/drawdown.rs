//! Drawdowns kept in the database: applications, transitions, votes and payments. Every rule
//! is `ledger_core::drawdown`'s; this module loads what a rule needs, asks it, and writes the
//! outcome in one write transaction, so a transition and its payment land together or not at
//! all. Repeating a request finds the state already reached and changes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;

use ledger_core::apportion::{apportion, ShareBasis};
use ledger_core::audit::StoredEntry;
use ledger_core::drawdown::{
    already_done, check_acted_on, check_advance, check_drawdown_id, check_final_cost, check_rejection_reason,
    check_revision, check_route, check_street_office, decision_due, is_overdue, next_state, split_payment, tally,
    Action, Beneficiary, Category, DrawdownError, Route, Shortfall, State, Tally, Vote,
};
use ledger_core::import::NewEntry;
use ledger_core::registry::FloorArea;
use ledger_core::{Account, Date, Entry, EntryKind, Money, Posting};
use serde::Serialize;

use crate::group::{for_engine, WriteGroup};
use crate::import::append_entries;
use crate::{dispatch, Store, StoreError, Tx};

/// Which units benefit from a repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeRequest {
    Estate,
    Building(String),
    Units(Vec<String>),
}

/// An application for a drawdown; `drawdown_id` is the client's idempotency key.
#[derive(Debug, Clone)]
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

/// Who acts, in which role, when and why: recorded with every transition.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub role: String,
    pub at: Date,
    pub reason: String,
}

/// The outcome of a request: whether it changed anything, and what it posted.
#[derive(Debug, Clone, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
pub struct DrawdownView {
    pub drawdown_id: String,
    pub estate_id: String,
    pub street_office: String,
    pub scope: String,
    pub category: String,
    pub route: &'static str,
    pub estimate: Money,
    pub contractor: String,
    pub description: String,
    pub applicant: String,
    pub submitted_on: Date,
    /// Green channel: the street office's last day to decide.
    pub decision_due: Option<Date>,
    pub overdue: bool,
    pub state: String,
    pub final_cost: Option<Money>,
    pub paid: Money,
    pub units: Vec<UnitShare>,
    pub payments: Vec<PaymentView>,
    pub events: Vec<EventView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitShare {
    pub unit_id: String,
    pub owner: String,
    pub floor_area: FloorArea,
    /// What the payments so far charged this unit.
    pub charged: Money,
    /// The unit's floor-area share of the approved estimate.
    pub estimated_share: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct PaymentView {
    pub tranche: String,
    pub entry_id: String,
    pub amount: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub action: String,
    pub actor: String,
    pub role: String,
    pub at: String,
    pub reason: String,
}

/// Filters for listing drawdowns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub state: Option<State>,
    pub estate_id: Option<String>,
    pub street_office: Option<String>,
    pub overdue_only: bool,
}

type DrawdownRow =
    (String, String, String, String, String, i64, String, String, String, String, String, Option<i64>, String);

/// A drawdown row with its estate's street office.
struct Loaded {
    id: String,
    estate_id: String,
    scope: String,
    category: String,
    route: Route,
    estimate: Money,
    contractor: String,
    description: String,
    applicant: String,
    submitted_on: Date,
    state: State,
    final_cost: Option<Money>,
    street_office: String,
}

const SELECT_DRAWDOWN: &str =
    "SELECT d.drawdown_id, d.estate_id, d.scope, d.category, d.route, d.estimate_fen, d.contractor, \
     d.description, d.applicant, d.submitted_on, d.state, d.final_cost_fen, e.street_office \
     FROM drawdowns d JOIN estates e ON e.estate_id = d.estate_id";

fn loaded(row: DrawdownRow) -> Result<Loaded, StoreError> {
    let (
        id,
        estate_id,
        scope,
        category,
        route,
        estimate,
        contractor,
        description,
        applicant,
        submitted_on,
        state,
        final_cost,
        street_office,
    ) = row;
    let corrupt = |what: &str| StoreError::Corrupt(format!("drawdown `{id}`: {what}"));
    Ok(Loaded {
        route: Route::parse(&route).ok_or_else(|| corrupt("route"))?,
        estimate: Money::from_fen(estimate),
        submitted_on: Date::parse(&submitted_on).map_err(|_| corrupt("submission date"))?,
        state: State::parse(&state).ok_or_else(|| corrupt("state"))?,
        final_cost: final_cost.map(Money::from_fen),
        id: id.clone(),
        estate_id,
        scope,
        category,
        contractor,
        description,
        applicant,
        street_office,
    })
}

async fn load(tx: &mut Tx, drawdown_id: &str) -> Result<Loaded, StoreError> {
    let sql = format!("{SELECT_DRAWDOWN} WHERE d.drawdown_id = $1");
    let row: Option<DrawdownRow> =
        dispatch!(Tx, tx, |t| sqlx::query_as(&sql).bind(drawdown_id).fetch_optional(&mut **t).await?);
    loaded(row.ok_or_else(|| StoreError::NotFound(format!("drawdown `{drawdown_id}`")))?)
}

/// Loads a drawdown for a transition by `actor`, refused if dated before the filing.
async fn load_for(tx: &mut Tx, drawdown_id: &str, actor: &Actor) -> Result<Loaded, StoreError> {
    let d = load(tx, drawdown_id).await?;
    check_acted_on(d.submitted_on, actor.at)?;
    Ok(d)
}

async fn beneficiaries(tx: &mut Tx, drawdown_id: &str) -> Result<Vec<Beneficiary>, StoreError> {
    let rows: Vec<(String, String, i64)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT u.unit_id, u.owner, u.floor_area_centi_m2 FROM drawdown_units du JOIN units u ON u.unit_id = du.unit_id \
             WHERE du.drawdown_id = $1 ORDER BY u.unit_id",
        )
        .bind(drawdown_id)
        .fetch_all(&mut **t)
        .await?
    });
    rows.into_iter()
        .map(|(unit_id, owner, area)| {
            let area =
                FloorArea::from_centi_m2(area).ok_or_else(|| StoreError::Corrupt(format!("unit `{unit_id}` area")))?;
            Ok(Beneficiary { unit_id, owner, area })
        })
        .collect()
}

/// The drawdown's units with their sub-ledger account number (if the unit has postings yet)
/// and current balance (credits − debits): what a payment needs, in one query.
async fn payees(tx: &mut Tx, drawdown_id: &str) -> Result<Vec<(Beneficiary, Option<i64>, Money)>, StoreError> {
    let rows: Vec<(String, String, i64, Option<i64>, i64)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT u.unit_id, u.owner, u.floor_area_centi_m2, a.account_id, \
             CAST(COALESCE(t.credit_fen - t.debit_fen, 0) AS BIGINT) FROM drawdown_units du \
             JOIN units u ON u.unit_id = du.unit_id \
             LEFT JOIN accounts a ON a.account = 'unit:' || du.unit_id \
             LEFT JOIN account_totals t ON t.account_id = a.account_id \
             WHERE du.drawdown_id = $1 ORDER BY u.unit_id",
        )
        .bind(drawdown_id)
        .fetch_all(&mut **t)
        .await?
    });
    rows.into_iter()
        .map(|(unit_id, owner, area, account_id, balance)| {
            let area =
                FloorArea::from_centi_m2(area).ok_or_else(|| StoreError::Corrupt(format!("unit `{unit_id}` area")))?;
            Ok((Beneficiary { unit_id, owner, area }, account_id, Money::from_fen(balance)))
        })
        .collect()
}

/// Adds the drawdown's next event. At most one per group: the group's statements do not see
/// each other's rows, so two would take the same number.
fn record_event<'a>(group: &mut WriteGroup<'a>, drawdown_id: &'a str, action: String, actor: &'a Actor) {
    group.push(
        "INSERT INTO drawdown_events (drawdown_id, seq, action, actor, role, at, reason) \
         SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ? FROM drawdown_events WHERE drawdown_id = ?",
        vec![
            drawdown_id.into(),
            action.into(),
            actor.name.as_str().into(),
            actor.role.as_str().into(),
            actor.at.to_string().into(),
            actor.reason.as_str().into(),
            drawdown_id.into(),
        ],
    );
}

fn set_state<'a>(group: &mut WriteGroup<'a>, drawdown_id: &'a str, state: State, final_cost: Option<Money>) {
    group.push(
        "UPDATE drawdowns SET state = ?, final_cost_fen = COALESCE(?, final_cost_fen) WHERE drawdown_id = ?",
        vec![state.as_str().into(), final_cost.map(Money::fen).into(), drawdown_id.into()],
    );
}

/// A transition's payment (if any), state change and event, sent together.
async fn transition(
    tx: &mut Tx,
    drawdown_id: &str,
    next: State,
    final_cost: Option<Money>,
    payment: Option<&Payment>,
    action: Action,
    actor: &Actor,
) -> Result<(), StoreError> {
    let mut group = WriteGroup::new(tx);
    if let Some(payment) = payment {
        write_payment(tx, &mut group, payment).await?;
    }
    set_state(&mut group, drawdown_id, next, final_cost);
    record_event(&mut group, drawdown_id, action.as_str().to_owned(), actor);
    group.send(tx).await
}

/// The answer to a request that found its work already done (`action`: what was asked).
fn unchanged(d: &Loaded, action: &str) -> Change {
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

fn changed(
    d: &Loaded,
    action: Action,
    state: State,
    entry_id: Option<String>,
    topup_required: Vec<Shortfall>,
) -> Change {
    Change {
        drawdown_id: d.id.clone(),
        action: action.as_str().to_owned(),
        changed: true,
        state: state.as_str().to_owned(),
        message: format!("{} → {state}", d.state),
        entry_id,
        topup_required,
    }
}

impl Store {
    /// Files an application. The same id again with the same content changes nothing; with
    /// other content it is refused.
    pub async fn apply_drawdown(&self, app: &Application, actor: &Actor) -> Result<Change, StoreError> {
        self.write(WriteOp::Apply { application: app.clone(), actor: actor.clone() }).await
    }

    /// The street office of the estate approves or rejects. A normal-route drawdown can only be
    /// approved once the owners' vote has passed.
    pub async fn decide_drawdown(&self, drawdown_id: &str, approve: bool, actor: &Actor) -> Result<Change, StoreError> {
        self.write(WriteOp::Decide { drawdown_id: drawdown_id.to_owned(), approve, actor: actor.clone() }).await
    }

    /// The estate's street office approves a revised estimate, so that a final cost more than
    /// 10 % over the first one can be accepted. The state does not change; the event records
    /// both estimates.
    pub async fn revise_drawdown(
        &self,
        drawdown_id: &str,
        revised: Money,
        actor: &Actor,
    ) -> Result<Change, StoreError> {
        self.write(WriteOp::Revise { drawdown_id: drawdown_id.to_owned(), revised, actor: actor.clone() }).await
    }

    /// Records (or changes) a unit's vote while the drawdown awaits approval.
    pub async fn vote_drawdown(
        &self,
        drawdown_id: &str,
        unit_id: &str,
        vote: Vote,
        actor: &Actor,
    ) -> Result<Change, StoreError> {
        let op = WriteOp::Vote {
            drawdown_id: drawdown_id.to_owned(),
            unit_id: unit_id.to_owned(),
            vote,
            actor: actor.clone(),
        };
        self.write(op).await
    }

    /// Pays up to half the approved estimate at once.
    pub async fn advance_drawdown(
        &self,
        drawdown_id: &str,
        amount: Money,
        actor: &Actor,
    ) -> Result<Change, StoreError> {
        self.write(WriteOp::Advance { drawdown_id: drawdown_id.to_owned(), amount, actor: actor.clone() }).await
    }

    /// Completion acceptance with the final cost.
    pub async fn complete_drawdown(
        &self,
        drawdown_id: &str,
        final_cost: Money,
        actor: &Actor,
    ) -> Result<Change, StoreError> {
        self.write(WriteOp::Complete { drawdown_id: drawdown_id.to_owned(), final_cost, actor: actor.clone() }).await
    }

    /// Pays the rest of the final cost.
    pub async fn settle_drawdown(&self, drawdown_id: &str, actor: &Actor) -> Result<Change, StoreError> {
        self.write(WriteOp::Settle { drawdown_id: drawdown_id.to_owned(), actor: actor.clone() }).await
    }

    /// Withdraws an application before any payment.
    pub async fn cancel_drawdown(&self, drawdown_id: &str, actor: &Actor) -> Result<Change, StoreError> {
        self.write(WriteOp::Cancel { drawdown_id: drawdown_id.to_owned(), actor: actor.clone() }).await
    }

    pub async fn tally_drawdown(&self, drawdown_id: &str) -> Result<Tally, StoreError> {
        let mut tx = self.begin_read().await?;
        load(&mut tx, drawdown_id).await?;
        let result = tally_in(&mut tx, drawdown_id).await;
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
        let d = load(&mut tx, drawdown_id).await?;
        let view = view_in(&mut tx, d, today, holidays).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// The estate and its street office of a drawdown, for deciding who may act on it.
    pub async fn drawdown_offices(&self, drawdown_id: &str) -> Result<(String, String), StoreError> {
        let row: Option<(String, String)> = dispatch!(Pool, &self.pool, |p| {
            sqlx::query_as(
                "SELECT d.estate_id, e.street_office FROM drawdowns d JOIN estates e ON e.estate_id = d.estate_id \
                 WHERE d.drawdown_id = $1",
            )
            .bind(drawdown_id)
            .fetch_optional(p)
            .await?
        });
        row.ok_or_else(|| StoreError::NotFound(format!("drawdown `{drawdown_id}`")))
    }

    /// Drawdowns matching the filter, oldest first, overdue ones flagged.
    pub async fn list_drawdowns(
        &self,
        filter: &ListFilter,
        today: Date,
        holidays: &BTreeSet<Date>,
    ) -> Result<Vec<DrawdownView>, StoreError> {
        // The rows first, in one query; overdue ones are picked from them before anything
        // else is read, and every view comes from one read transaction.
        let mut tx = self.begin_read().await?;
        let sql = format!(
            "{SELECT_DRAWDOWN} WHERE ($1 = '' OR d.state = $1) AND ($2 = '' OR d.estate_id = $2) \
             AND ($3 = '' OR e.street_office = $3) ORDER BY d.submitted_on, d.drawdown_id"
        );
        let rows: Vec<DrawdownRow> = dispatch!(Tx, &mut tx, |t| {
            sqlx::query_as(&sql)
                .bind(filter.state.map_or("", State::as_str))
                .bind(filter.estate_id.as_deref().unwrap_or(""))
                .bind(filter.street_office.as_deref().unwrap_or(""))
                .fetch_all(&mut **t)
                .await?
        });
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            let d = loaded(row)?;
            if filter.overdue_only && !is_overdue(d.state, d.route, d.submitted_on, today, holidays) {
                continue;
            }
            views.push(view_in(&mut tx, d, today, holidays).await?);
        }
        tx.commit().await?;
        Ok(views)
    }
}

fn describe_tally(t: &Tally) -> String {
    format!(
        "{} of {} m² and {} of {} owners took part; {} m² and {} owners said yes",
        FloorArea::from_centi_m2(t.participating_area_centi_m2).map_or("0".to_owned(), |a| a.to_string()),
        FloorArea::from_centi_m2(t.total_area_centi_m2).map_or("0".to_owned(), |a| a.to_string()),
        t.participating_owners,
        t.total_owners,
        FloorArea::from_centi_m2(t.yes_area_centi_m2).map_or("0".to_owned(), |a| a.to_string()),
        t.yes_owners
    )
}

async fn paid(tx: &mut Tx, drawdown_id: &str) -> Result<Money, StoreError> {
    let fen: i64 = dispatch!(Tx, tx, |t| {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM drawdown_payments WHERE drawdown_id = $1",
        )
        .bind(drawdown_id)
        .fetch_one(&mut **t)
        .await?
    });
    Ok(Money::from_fen(fen))
}

/// How many units an estate has, or one of its buildings (`building` not empty).
async fn scope_size(tx: &mut Tx, estate_id: &str, building: &str) -> Result<i64, StoreError> {
    let sql = for_engine(tx, &format!("SELECT COUNT(*) {SCOPE_UNITS}")).into_owned();
    Ok(dispatch!(Tx, tx, |t| {
        sqlx::query_scalar(&sql).bind(estate_id).bind(building).bind(building).fetch_one(&mut **t).await?
    }))
}

/// The units of an estate, or of one of its buildings when the building (bound twice) is not
/// empty: `?` for the estate, then the building twice.
const SCOPE_UNITS: &str = "FROM units u JOIN buildings b ON b.building_id = u.building_id \
                           WHERE b.estate_id = ? AND (? = '' OR b.building_id = ?)";

/// The units an application lists, checked against the estate, without repeats.
async fn listed_units(tx: &mut Tx, estate_id: &str, units: &[String]) -> Result<Vec<String>, StoreError> {
    let in_estate: Vec<String> = dispatch!(Tx, tx, |t| {
        sqlx::query_scalar(
            "SELECT u.unit_id FROM units u JOIN buildings b ON b.building_id = u.building_id WHERE b.estate_id = $1",
        )
        .bind(estate_id)
        .fetch_all(&mut **t)
        .await?
    });
    if in_estate.is_empty() {
        return Err(StoreError::NotFound(format!("estate `{estate_id}` with units")));
    }
    let known: BTreeSet<&str> = in_estate.iter().map(String::as_str).collect();
    if let Some(stranger) = units.iter().find(|u| !known.contains(u.as_str())) {
        return Err(StoreError::NotFound(format!("unit `{stranger}` in estate `{estate_id}`")));
    }
    Ok(units.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect())
}

/// One payment, checked and ready to post: each beneficiary debited its floor-area share, the
/// bank credited.
struct Payment {
    drawdown_id: String,
    tranche: &'static str,
    amount: Money,
    entry_id: String,
    entries: [NewEntry; 1],
    /// Account numbers already read with the payees.
    known: HashMap<String, i64>,
    /// Units charged more than their balance (green channel).
    shortfalls: Vec<Shortfall>,
}

/// Reads what a payment needs and applies the payment rules; writes nothing.
async fn plan_payment(
    tx: &mut Tx,
    d: &Loaded,
    tranche: &'static str,
    amount: Money,
    date: Date,
) -> Result<Payment, StoreError> {
    let mut units = Vec::new();
    let mut balances = BTreeMap::new();
    let mut known = HashMap::new();
    for (unit, account_id, balance) in payees(tx, &d.id).await? {
        if let Some(id) = account_id {
            known.insert(format!("unit:{}", unit.unit_id), id);
        }
        balances.insert(unit.unit_id.clone(), balance);
        units.push(unit);
    }
    let split = split_payment(d.route, amount, &units, |unit| balances.get(unit).copied().unwrap_or(Money::ZERO))?;
    let (bank, bank_id) = bank_account(tx).await?;
    known.insert(bank.to_string(), bank_id);
    let memo = format!("{} {}: {}", d.id, tranche, d.category);
    let mut postings: Vec<Posting> = split
        .shares
        .iter()
        .filter(|(_, share)| share.is_positive())
        .map(|(unit, share)| Posting::debit(Account::Unit(unit.clone()), *share, memo.as_str()))
        .collect();
    postings.push(Posting::credit(bank, amount, format!("pay {}", d.contractor)));
    let entry_id = format!("DD-{}-{tranche}", d.id);
    let entry = Entry::new(entry_id.clone(), date, EntryKind::Drawdown, None, postings)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let stored = StoredEntry::from_entry(&entry);
    let content_hash = stored.content_hash();
    Ok(Payment {
        drawdown_id: d.id.clone(),
        tranche,
        amount,
        entry_id,
        entries: [NewEntry { entry, stored, content_hash }],
        known,
        shortfalls: split.shortfalls,
    })
}

/// Adds a planned payment's entry, postings, running totals and payment row to `group`.
async fn write_payment<'a>(tx: &mut Tx, group: &mut WriteGroup<'a>, payment: &'a Payment) -> Result<(), StoreError> {
    append_entries(tx, group, &payment.entries, &payment.known).await?;
    group.push(
        "INSERT INTO drawdown_payments (drawdown_id, tranche, entry_id, amount_fen) VALUES (?, ?, ?, ?)",
        vec![
            payment.drawdown_id.as_str().into(),
            payment.tranche.into(),
            payment.entry_id.as_str().into(),
            payment.amount.fen().into(),
        ],
    );
    Ok(())
}

/// The special account payments leave from, and its number: the ledger's one `bank:` account.
async fn bank_account(tx: &mut Tx) -> Result<(Account, i64), StoreError> {
    // The same LIKE as the partial index `accounts_bank`, so that both engines use it.
    let banks: Vec<(String, i64)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT account, account_id FROM accounts WHERE account LIKE 'bank:%' ORDER BY account_id LIMIT 2",
        )
        .fetch_all(&mut **t)
        .await?
    });
    match banks.as_slice() {
        [(one, id)] => Ok((one.parse().map_err(|_| StoreError::Corrupt(format!("account `{one}`")))?, *id)),
        [] => Err(StoreError::Conflict(
            "the ledger has no bank: account yet; import the fund's deposits first".to_owned(),
        )),
        _ => Err(StoreError::Conflict(
            "the ledger has several bank: accounts; payments need exactly one special account".to_owned(),
        )),
    }
}

/// A drawdown write waiting for its turn in a group commit (see `crate::writer`). Each runs
/// as the `*_in` function of the same name, documented on its public `Store` method.
///
/// Each reads and checks everything first and writes only once nothing can refuse it any
/// more: a refusal ([`StoreError::is_refusal`]) must leave nothing written, since the batch
/// undoes nothing for it (debug builds check this on SQLite).
pub(crate) enum WriteOp {
    Apply { application: Application, actor: Actor },
    Decide { drawdown_id: String, approve: bool, actor: Actor },
    Revise { drawdown_id: String, revised: Money, actor: Actor },
    Vote { drawdown_id: String, unit_id: String, vote: Vote, actor: Actor },
    Advance { drawdown_id: String, amount: Money, actor: Actor },
    Complete { drawdown_id: String, final_cost: Money, actor: Actor },
    Settle { drawdown_id: String, actor: Actor },
    Cancel { drawdown_id: String, actor: Actor },
}

impl WriteOp {
    /// Does the write inside the batch's transaction; the caller commits. Boxed so that the
    /// batch's task is provably `Send` (the compiler cannot see through the nested futures).
    pub(crate) fn run<'a>(
        &'a self,
        tx: &'a mut Tx,
    ) -> Pin<Box<dyn Future<Output = Result<Change, StoreError>> + Send + 'a>> {
        Box::pin(async move {
            match self {
                WriteOp::Apply { application, actor } => apply_in(tx, application, actor).await,
                WriteOp::Decide { drawdown_id, approve, actor } => decide_in(tx, drawdown_id, *approve, actor).await,
                WriteOp::Revise { drawdown_id, revised, actor } => revise_in(tx, drawdown_id, *revised, actor).await,
                WriteOp::Vote { drawdown_id, unit_id, vote, actor } => {
                    vote_in(tx, drawdown_id, unit_id, *vote, actor).await
                }
                WriteOp::Advance { drawdown_id, amount, actor } => advance_in(tx, drawdown_id, *amount, actor).await,
                WriteOp::Complete { drawdown_id, final_cost, actor } => {
                    complete_in(tx, drawdown_id, *final_cost, actor).await
                }
                WriteOp::Settle { drawdown_id, actor } => settle_in(tx, drawdown_id, actor).await,
                WriteOp::Cancel { drawdown_id, actor } => cancel_in(tx, drawdown_id, actor).await,
            }
        })
    }
}
async fn apply_in(tx: &mut Tx, app: &Application, actor: &Actor) -> Result<Change, StoreError> {
    check_route(app.category, app.route)?;
    if !app.estimate.is_positive() {
        return Err(DrawdownError::NotPositive(app.estimate).into());
    }
    let scope_text = match &app.scope {
        ScopeRequest::Estate => "estate".to_owned(),
        ScopeRequest::Building(b) => format!("building:{b}"),
        ScopeRequest::Units(units) => format!("units:{}", units.join(",")),
    };
    check_drawdown_id(&app.drawdown_id)?;
    let existing = match load(tx, &app.drawdown_id).await {
        Ok(existing) => Some(existing),
        Err(StoreError::NotFound(_)) => None,
        Err(other) => return Err(other),
    };
    if let Some(existing) = existing {
        let same = existing.estate_id == app.estate_id
            && existing.scope == scope_text
            && existing.category == app.category.as_str()
            && existing.route == app.route
            && existing.estimate == app.estimate
            && existing.contractor == app.contractor;
        if !same {
            return Err(StoreError::Conflict(format!(
                "drawdown `{}` was already filed with other content",
                app.drawdown_id
            )));
        }
        return Ok(Change { message: "already filed: nothing changed".to_owned(), ..unchanged(&existing, "apply") });
    }
    // A building or the whole estate is resolved inside the database, with no unit list to
    // ship back and forth; a list of units is checked against the estate first.
    if matches!(&app.scope, ScopeRequest::Building(b) if b.trim().is_empty()) {
        // An empty building id would read as "any building" below and file the whole estate.
        return Err(StoreError::Conflict(format!(
            "the scope `{scope_text}` of estate `{}` names no building",
            app.estate_id
        )));
    }
    let (listed, building) = match &app.scope {
        ScopeRequest::Units(units) => (Some(listed_units(tx, &app.estate_id, units).await?), ""),
        ScopeRequest::Building(b) => (None, b.as_str()),
        ScopeRequest::Estate => (None, ""),
    };
    if listed.as_ref().is_some_and(Vec::is_empty) {
        return Err(StoreError::Conflict(format!(
            "the scope `{scope_text}` of estate `{}` has no units",
            app.estate_id
        )));
    }
    // The scope's size is read before anything is written, so that a refusal writes nothing;
    // a building or the whole estate is then resolved inside the database.
    let units = match &listed {
        Some(units) => units.len() as i64,
        None => scope_size(tx, &app.estate_id, building).await?,
    };
    if units == 0 {
        let what = match &app.scope {
            ScopeRequest::Building(b) => format!("building `{b}` with units in estate `{}`", app.estate_id),
            _ => format!("estate `{}` with units", app.estate_id),
        };
        return Err(StoreError::NotFound(what));
    }
    let id = app.drawdown_id.as_str();
    let mut group = WriteGroup::new(tx);
    group.push(
        "INSERT INTO drawdowns (drawdown_id, estate_id, scope, category, route, estimate_fen, contractor, description, \
         applicant, submitted_on, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitted')",
        vec![
            id.into(),
            app.estate_id.as_str().into(),
            scope_text.as_str().into(),
            app.category.as_str().into(),
            app.route.as_str().into(),
            app.estimate.fen().into(),
            app.contractor.as_str().into(),
            app.description.as_str().into(),
            app.applicant.as_str().into(),
            app.submitted_on.to_string().into(),
        ],
    );
    match &listed {
        Some(listed) => {
            let rows = listed.iter().flat_map(|unit| [id.into(), unit.as_str().into()]);
            group.insert_rows("drawdown_units (drawdown_id, unit_id)", 2, "", rows.collect());
        }
        // `building` empty: every building of the estate.
        None => group.push(
            &format!("INSERT INTO drawdown_units (drawdown_id, unit_id) SELECT ?, u.unit_id {SCOPE_UNITS}"),
            vec![id.into(), app.estate_id.as_str().into(), building.into(), building.into()],
        ),
    }
    record_event(&mut group, id, "apply".to_owned(), actor);
    group.send(tx).await?;
    Ok(Change {
        drawdown_id: app.drawdown_id.clone(),
        action: "apply".to_owned(),
        changed: true,
        state: State::Submitted.as_str().to_owned(),
        message: format!("filed for {units} units"),
        entry_id: None,
        topup_required: Vec::new(),
    })
}

async fn decide_in(tx: &mut Tx, drawdown_id: &str, approve: bool, actor: &Actor) -> Result<Change, StoreError> {
    let action = if approve { Action::Approve } else { Action::Reject };
    let d = load_for(tx, drawdown_id, actor).await?;
    check_street_office(&d.street_office, &actor.name)?;
    if !approve {
        check_rejection_reason(&actor.reason)?;
    }
    if already_done(d.state, action) {
        return Ok(unchanged(&d, action.as_str()));
    }
    let next = next_state(d.state, action)?;
    if approve && d.route == Route::Normal {
        let result = tally_in(tx, drawdown_id).await?;
        if !result.passed {
            return Err(DrawdownError::VoteNotPassed(describe_tally(&result)).into());
        }
    }
    transition(tx, drawdown_id, next, None, None, action, actor).await?;
    Ok(changed(&d, action, next, None, Vec::new()))
}

async fn revise_in(tx: &mut Tx, drawdown_id: &str, revised: Money, actor: &Actor) -> Result<Change, StoreError> {
    let d = load_for(tx, drawdown_id, actor).await?;
    check_street_office(&d.street_office, &actor.name)?;
    if d.estimate == revised {
        let message = format!("the estimate is already {revised}: nothing changed");
        return Ok(Change { message, ..unchanged(&d, Action::Revise.as_str()) });
    }
    check_revision(d.state, paid(tx, drawdown_id).await?, revised)?;
    let event = Actor { reason: format!("estimate {} → {revised}: {}", d.estimate, actor.reason), ..actor.clone() };
    let mut group = WriteGroup::new(tx);
    group.push(
        "UPDATE drawdowns SET estimate_fen = ? WHERE drawdown_id = ?",
        vec![revised.fen().into(), drawdown_id.into()],
    );
    record_event(&mut group, drawdown_id, "revise".to_owned(), &event);
    group.send(tx).await?;
    let message = format!("estimate {} → {revised}", d.estimate);
    Ok(Change { changed: true, message, ..unchanged(&d, Action::Revise.as_str()) })
}

async fn vote_in(
    tx: &mut Tx,
    drawdown_id: &str,
    unit_id: &str,
    vote: Vote,
    actor: &Actor,
) -> Result<Change, StoreError> {
    let d = load_for(tx, drawdown_id, actor).await?;
    if d.route != Route::Normal || d.state != State::Submitted {
        return Err(StoreError::Conflict(format!(
            "drawdown `{drawdown_id}` is {} on the {} route: no vote is open",
            d.state,
            d.route.as_str()
        )));
    }
    // Whether the unit benefits, and its vote so far, in one read.
    let found: Option<(String, Option<String>)> = dispatch!(Tx, &mut *tx, |t| {
        sqlx::query_as(
            "SELECT du.unit_id, v.vote FROM drawdown_units du LEFT JOIN drawdown_votes v \
             ON v.drawdown_id = du.drawdown_id AND v.unit_id = du.unit_id WHERE du.drawdown_id = $1 AND du.unit_id = $2",
        )
        .bind(drawdown_id)
        .bind(unit_id)
        .fetch_optional(&mut **t)
        .await?
    });
    let Some((_, previous)) = found else {
        return Err(StoreError::NotFound(format!("unit `{unit_id}` among the beneficiaries of `{drawdown_id}`")));
    };
    let mut change = unchanged(&d, "vote");
    if previous.as_deref() == Some(vote.as_str()) {
        change.message = format!("unit {unit_id} already voted {}: nothing changed", vote.as_str());
        return Ok(change);
    }
    let mut group = WriteGroup::new(tx);
    group.push(
        "INSERT INTO drawdown_votes (drawdown_id, unit_id, vote) VALUES (?, ?, ?) \
         ON CONFLICT (drawdown_id, unit_id) DO UPDATE SET vote = excluded.vote",
        vec![drawdown_id.into(), unit_id.into(), vote.as_str().into()],
    );
    record_event(&mut group, drawdown_id, format!("vote {unit_id} {}", vote.as_str()), actor);
    group.send(tx).await?;
    change.changed = true;
    change.message = format!("unit {unit_id} votes {}", vote.as_str());
    Ok(change)
}

async fn advance_in(tx: &mut Tx, drawdown_id: &str, amount: Money, actor: &Actor) -> Result<Change, StoreError> {
    let d = load_for(tx, drawdown_id, actor).await?;
    if already_done(d.state, Action::Advance) {
        return Ok(unchanged(&d, Action::Advance.as_str()));
    }
    let next = next_state(d.state, Action::Advance)?;
    check_advance(d.estimate, amount)?;
    let payment = plan_payment(tx, &d, "advance", amount, actor.at).await?;
    transition(tx, drawdown_id, next, None, Some(&payment), Action::Advance, actor).await?;
    Ok(changed(&d, Action::Advance, next, Some(payment.entry_id), payment.shortfalls))
}

async fn complete_in(tx: &mut Tx, drawdown_id: &str, final_cost: Money, actor: &Actor) -> Result<Change, StoreError> {
    let d = load_for(tx, drawdown_id, actor).await?;
    if already_done(d.state, Action::Complete) {
        return Ok(unchanged(&d, Action::Complete.as_str()));
    }
    let next = next_state(d.state, Action::Complete)?;
    check_final_cost(d.estimate, paid(tx, drawdown_id).await?, final_cost)?;
    transition(tx, drawdown_id, next, Some(final_cost), None, Action::Complete, actor).await?;
    Ok(changed(&d, Action::Complete, next, None, Vec::new()))
}

async fn settle_in(tx: &mut Tx, drawdown_id: &str, actor: &Actor) -> Result<Change, StoreError> {
    let d = load_for(tx, drawdown_id, actor).await?;
    if already_done(d.state, Action::Settle) {
        return Ok(unchanged(&d, Action::Settle.as_str()));
    }
    let next = next_state(d.state, Action::Settle)?;
    let final_cost = d
        .final_cost
        .ok_or_else(|| StoreError::Corrupt(format!("drawdown `{drawdown_id}` completed without a final cost")))?;
    let rest = Money::from_fen(final_cost.fen() - paid(tx, drawdown_id).await?.fen());
    let payment = match rest.is_positive() {
        true => Some(plan_payment(tx, &d, "final", rest, actor.at).await?),
        false => None,
    };
    transition(tx, drawdown_id, next, None, payment.as_ref(), Action::Settle, actor).await?;
    let (entry_id, topup) = payment.map_or((None, Vec::new()), |p| (Some(p.entry_id), p.shortfalls));
    Ok(changed(&d, Action::Settle, next, entry_id, topup))
}

async fn cancel_in(tx: &mut Tx, drawdown_id: &str, actor: &Actor) -> Result<Change, StoreError> {
    let d = load_for(tx, drawdown_id, actor).await?;
    if already_done(d.state, Action::Cancel) {
        return Ok(unchanged(&d, Action::Cancel.as_str()));
    }
    let next = next_state(d.state, Action::Cancel)?;
    transition(tx, drawdown_id, next, None, None, Action::Cancel, actor).await?;
    Ok(changed(&d, Action::Cancel, next, None, Vec::new()))
}

async fn tally_in(tx: &mut Tx, drawdown_id: &str) -> Result<Tally, StoreError> {
    let units = beneficiaries(tx, drawdown_id).await?;
    let rows: Vec<(String, String)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as("SELECT unit_id, vote FROM drawdown_votes WHERE drawdown_id = $1")
            .bind(drawdown_id)
            .fetch_all(&mut **t)
            .await?
    });
    let votes = rows.into_iter().filter_map(|(unit, vote)| Vote::parse(&vote).map(|v| (unit, v))).collect();
    Ok(tally(&units, &votes))
}

/// Everything about one loaded drawdown, read inside `tx`.
async fn view_in(tx: &mut Tx, d: Loaded, today: Date, holidays: &BTreeSet<Date>) -> Result<DrawdownView, StoreError> {
    let units = beneficiaries(tx, &d.id).await?;
    let payments: Vec<(String, String, i64)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT tranche, entry_id, amount_fen FROM drawdown_payments WHERE drawdown_id = $1 ORDER BY tranche",
        )
        .bind(d.id.as_str())
        .fetch_all(&mut **t)
        .await?
    });
    let charges: Vec<(String, i64)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT a.account, CAST(SUM(p.debit_fen) AS BIGINT) FROM drawdown_payments dp JOIN entries e ON e.entry_id = dp.entry_id \
             JOIN postings p ON p.entry_seq = e.seq JOIN accounts a ON a.account_id = p.account_id \
             WHERE dp.drawdown_id = $1 AND p.debit_fen > 0 GROUP BY a.account",
        )
        .bind(d.id.as_str())
        .fetch_all(&mut **t)
        .await?
    });
    let events: Vec<(String, String, String, String, String)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT action, actor, role, at, reason FROM drawdown_events WHERE drawdown_id = $1 ORDER BY seq",
        )
        .bind(d.id.as_str())
        .fetch_all(&mut **t)
        .await?
    });
    let charged: BTreeMap<String, i64> =
        charges.into_iter().map(|(account, fen)| (account.trim_start_matches("unit:").to_owned(), fen)).collect();
    let paid_fen: i64 = payments.iter().map(|p| p.2).sum();
    let basis: Vec<ShareBasis> = units.iter().map(|b| ShareBasis { unit_id: &b.unit_id, area: b.area }).collect();
    let estimated = apportion(d.estimate, &basis).unwrap_or_default();
    Ok(DrawdownView {
        decision_due: (d.route == Route::GreenChannel).then(|| decision_due(d.submitted_on, holidays)),
        overdue: is_overdue(d.state, d.route, d.submitted_on, today, holidays),
        drawdown_id: d.id,
        estate_id: d.estate_id,
        street_office: d.street_office,
        scope: d.scope,
        category: d.category,
        route: d.route.as_str(),
        estimate: d.estimate,
        contractor: d.contractor,
        description: d.description,
        applicant: d.applicant,
        submitted_on: d.submitted_on,
        state: d.state.as_str().to_owned(),
        final_cost: d.final_cost,
        paid: Money::from_fen(paid_fen),
        units: units
            .into_iter()
            .zip(estimated.into_iter().chain(std::iter::repeat(Money::ZERO)))
            .map(|(b, estimated_share)| UnitShare {
                charged: Money::from_fen(charged.get(&b.unit_id).copied().unwrap_or(0)),
                unit_id: b.unit_id,
                owner: b.owner,
                floor_area: b.area,
                estimated_share,
            })
            .collect(),
        payments: payments
            .into_iter()
            .map(|(tranche, entry_id, fen)| PaymentView { tranche, entry_id, amount: Money::from_fen(fen) })
            .collect(),
        events: events
            .into_iter()
            .map(|(action, actor, role, at, reason)| EventView { action, actor, role, at, reason })
            .collect(),
    })
}
