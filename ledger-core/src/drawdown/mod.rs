//! Drawdowns (动用维修资金): the rules of using the fund for a repair, each in one place.
//!
//! Sources: Order 165 of 2007 (住宅专项维修资金管理办法) arts. 22–24 for the normal procedure and
//! the emergency use; Civil Code arts. 278 and 281 for the owners' vote; the city's green
//! channel (绿色通道) rules for emergencies: the street office decides within 2 working days, up
//! to 50 % of the estimate may be advanced, the rest is paid after acceptance, and the owners
//! are told afterwards in a public notice. This module is pure: the store keeps the state and
//! the CLI asks; every rule here is a function of its inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use thiserror::Error;

pub mod plan;

pub use plan::{
    describe_tally, Act, Application, ApplyFound, Change, DrawdownPlan, Payee, Row, ScopeFound, ScopeRequest, Stored,
    Tranche,
};

use crate::actor::Denied;
use crate::apportion::{apportion, ApportionError, ShareBasis};
use crate::date::{Date, Weekday};
use crate::money::Money;
use crate::registry::FloorArea;

/// What is being repaired. The first seven are the emergency list that may take the green
/// channel; the rest can only take the normal route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    FirePipeNetwork,
    FireWaterSystem,
    WaterSupply,
    Elevator,
    RoofLeak,
    Facade,
    Drainage,
    ExteriorPainting,
    SecuritySystem,
    RoadsAndParking,
    Other,
}

impl Category {
    pub const ALL: [Category; 11] = [
        Category::FirePipeNetwork,
        Category::FireWaterSystem,
        Category::WaterSupply,
        Category::Elevator,
        Category::RoofLeak,
        Category::Facade,
        Category::Drainage,
        Category::ExteriorPainting,
        Category::SecuritySystem,
        Category::RoadsAndParking,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::FirePipeNetwork => "fire_pipe_network",
            Category::FireWaterSystem => "fire_water_system",
            Category::WaterSupply => "water_supply",
            Category::Elevator => "elevator",
            Category::RoofLeak => "roof_leak",
            Category::Facade => "facade",
            Category::Drainage => "drainage",
            Category::ExteriorPainting => "exterior_painting",
            Category::SecuritySystem => "security_system",
            Category::RoadsAndParking => "roads_and_parking",
            Category::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// The green channel's emergency list: fire-fighting pipe network, fire water supply,
    /// water supply failure, lift failure, roof or outer-wall leak, façade at risk of falling,
    /// drains collapsed, blocked or burst.
    pub fn is_emergency(self) -> bool {
        matches!(
            self,
            Category::FirePipeNetwork
                | Category::FireWaterSystem
                | Category::WaterSupply
                | Category::Elevator
                | Category::RoofLeak
                | Category::Facade
                | Category::Drainage
        )
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a drawdown is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Emergency: no vote; the street office of the estate decides within 2 working days.
    GreenChannel,
    /// The owners vote (Civil Code art. 278), then the street office approves.
    Normal,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::GreenChannel => "green_channel",
            Route::Normal => "normal",
        }
    }

    pub fn parse(text: &str) -> Option<Route> {
        [Route::GreenChannel, Route::Normal].into_iter().find(|r| r.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DrawdownError {
    #[error("category `{0}` is not on the emergency list (fire_pipe_network, fire_water_system, water_supply, elevator, roof_leak, facade, drainage): it can only take the normal route with an owners' vote")]
    NotAnEmergency(Category),
    #[error("cannot {action} a drawdown that is {state}")]
    Transition { action: Action, state: State },
    #[error("an advance of {amount} exceeds 50 % of the approved estimate {estimate} (at most {limit})")]
    AdvanceTooLarge { amount: Money, estimate: Money, limit: Money },
    #[error(
        "the final cost {final_cost} is more than 10 % over the approved estimate {estimate}: it needs a new approval"
    )]
    OverEstimate { final_cost: Money, estimate: Money },
    #[error("the final cost {final_cost} is less than what was already advanced ({advanced})")]
    BelowAdvance { final_cost: Money, advanced: Money },
    #[error("the owners' vote has not passed: {0}")]
    VoteNotPassed(String),
    #[error("these units cannot cover their shares: {}", list_shortfalls(.0))]
    Shortfall(Vec<Shortfall>),
    #[error(transparent)]
    Apportion(#[from] ApportionError),
    #[error("amount must be positive, found {0}")]
    NotPositive(Money),
    #[error("drawdown id `{0}`: expected 1 to {MAX_DRAWDOWN_ID_LEN} of A-Z a-z 0-9 . _ : -")]
    BadId(String),
    #[error("a rejection needs a reason the applicant can act on")]
    NoReason,
    #[error("dated {at}, before the drawdown was filed on {submitted_on}")]
    BeforeFiling { at: Date, submitted_on: Date },
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("drawdown `{0}` was already filed with other content")]
    AlreadyFiled(String),
    #[error("the scope `{scope}` of estate `{estate_id}` {what}")]
    EmptyScope { scope: String, estate_id: String, what: String },
    #[error("drawdown `{drawdown_id}` is {state} on the {} route: no vote is open", .route.as_str())]
    NoVoteOpen { drawdown_id: String, state: State, route: Route },
    #[error("the ledger has no bank: account yet; import the fund's deposits first")]
    NoBankAccount,
    #[error("the ledger has several bank: accounts; payments need exactly one special account")]
    SeveralBankAccounts,
    #[error("drawdown `{0}` was completed without a final cost it can settle")]
    NoFinalCost(String),
    #[error("the payment cannot be posted: {0}")]
    Unpostable(String),
}

/// The longest drawdown id: its payment entries are `DD-{id}-advance`, which must still be a
/// SPEC id of at most 64 characters.
pub const MAX_DRAWDOWN_ID_LEN: usize = crate::account::MAX_ID_LEN - "DD--advance".len();

/// A drawdown id follows the SPEC's id rule with room for its payment entries' prefix and
/// suffix (and so never carries markup into a page).
pub fn check_drawdown_id(id: &str) -> Result<(), DrawdownError> {
    if crate::account::is_valid_id(id) && id.len() <= MAX_DRAWDOWN_ID_LEN {
        Ok(())
    } else {
        Err(DrawdownError::BadId(id.to_owned()))
    }
}

fn list_shortfalls(shortfalls: &[Shortfall]) -> String {
    shortfalls.iter().map(|s| format!("{} short by {}", s.unit_id, s.missing)).collect::<Vec<_>>().join(", ")
}

/// The states of a drawdown: `submitted → approved | rejected → advanced → completed →
/// settled`, and `cancelled` before any payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Submitted,
    Approved,
    Rejected,
    Advanced,
    Completed,
    Settled,
    Cancelled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Submitted => "submitted",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Advanced => "advanced",
            State::Completed => "completed",
            State::Settled => "settled",
            State::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        [
            State::Submitted,
            State::Approved,
            State::Rejected,
            State::Advanced,
            State::Completed,
            State::Settled,
            State::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What someone asks to do with a drawdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Approve,
    Reject,
    Advance,
    Complete,
    Settle,
    Cancel,
    /// A new approved estimate; the state stays.
    Revise,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Revise => "revise",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Advance => "advance",
            Action::Complete => "complete",
            Action::Settle => "settle",
            Action::Cancel => "cancel",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state an action leads to, or why it cannot be taken now. Completing without an
/// advance is allowed (the whole cost is then paid at settlement); cancelling is possible
/// only before any payment.
pub fn next_state(state: State, action: Action) -> Result<State, DrawdownError> {
    let next = match (state, action) {
        (State::Submitted, Action::Approve) => State::Approved,
        (State::Submitted, Action::Reject) => State::Rejected,
        (State::Approved, Action::Advance) => State::Advanced,
        (State::Approved | State::Advanced, Action::Complete) => State::Completed,
        (State::Completed, Action::Settle) => State::Settled,
        (State::Submitted | State::Approved, Action::Cancel) => State::Cancelled,
        _ => return Err(DrawdownError::Transition { action, state }),
    };
    Ok(next)
}

/// Whether `state` is where `action` leads, so that repeating it changes nothing.
pub fn already_done(state: State, action: Action) -> bool {
    matches!(
        (state, action),
        (State::Approved, Action::Approve)
            | (State::Rejected, Action::Reject)
            | (State::Advanced, Action::Advance)
            | (State::Completed, Action::Complete)
            | (State::Settled, Action::Settle)
            | (State::Cancelled, Action::Cancel)
    )
}

/// Checks the route a drawdown asks for: the green channel is for the emergency list only.
pub fn check_route(category: Category, route: Route) -> Result<(), DrawdownError> {
    match route {
        Route::GreenChannel if !category.is_emergency() => Err(DrawdownError::NotAnEmergency(category)),
        _ => Ok(()),
    }
}

/// Nothing happens to a drawdown before it was filed: a transition dated earlier (a mistyped
/// backfill) would put the record out of order.
pub fn check_acted_on(submitted_on: Date, at: Date) -> Result<(), DrawdownError> {
    if at < submitted_on {
        return Err(DrawdownError::BeforeFiling { at, submitted_on });
    }
    Ok(())
}

/// A rejection must tell the applicant why, so that they can act on it.
pub fn check_rejection_reason(reason: &str) -> Result<(), DrawdownError> {
    if reason.trim().is_empty() {
        return Err(DrawdownError::NoReason);
    }
    Ok(())
}

/// Days the street office has to decide on a green-channel application.
pub const DECISION_WORKING_DAYS: u32 = 2;

/// The last day of the street office's decision: 2 working days after submission, weekends
/// and the configured public holidays not counted.
pub fn decision_due(submitted: Date, holidays: &BTreeSet<Date>) -> Date {
    let mut day = submitted;
    let mut counted = 0;
    while counted < DECISION_WORKING_DAYS {
        day = day.add_days(1);
        if is_working_day(day, holidays) {
            counted += 1;
        }
    }
    day
}

pub fn is_working_day(day: Date, holidays: &BTreeSet<Date>) -> bool {
    !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) && !holidays.contains(&day)
}

/// Whether a green-channel application still awaiting a decision is past its due day.
pub fn is_overdue(state: State, route: Route, submitted: Date, today: Date, holidays: &BTreeSet<Date>) -> bool {
    route == Route::GreenChannel && state == State::Submitted && today > decision_due(submitted, holidays)
}

/// At approval, up to 50 % of the estimate may be advanced: `2 × amount ≤ estimate`, exact.
pub fn check_advance(estimate: Money, amount: Money) -> Result<(), DrawdownError> {
    if !amount.is_positive() {
        return Err(DrawdownError::NotPositive(amount));
    }
    if i128::from(amount.fen()) * 2 > i128::from(estimate.fen()) {
        let limit = Money::from_fen(estimate.fen() / 2);
        return Err(DrawdownError::AdvanceTooLarge { amount, estimate, limit });
    }
    Ok(())
}

/// The final cost after completion acceptance: more than 10 % over the approved estimate
/// (`10 × final > 11 × estimate`) needs a new approval, and it cannot be below the advance.
pub fn check_final_cost(estimate: Money, advanced: Money, final_cost: Money) -> Result<(), DrawdownError> {
    if !final_cost.is_positive() {
        return Err(DrawdownError::NotPositive(final_cost));
    }
    if i128::from(final_cost.fen()) * 10 > i128::from(estimate.fen()) * 11 {
        return Err(DrawdownError::OverEstimate { final_cost, estimate });
    }
    if final_cost < advanced {
        return Err(DrawdownError::BelowAdvance { final_cost, advanced });
    }
    Ok(())
}

/// A final cost more than 10 % over the estimate needs a new approval: the street office
/// approves a revised estimate while the work is approved or advanced, not after completion.
/// The revised estimate must still cover twice what was advanced (the 50 % rule holds).
pub fn check_revision(state: State, advanced: Money, revised: Money) -> Result<(), DrawdownError> {
    if !matches!(state, State::Approved | State::Advanced) {
        return Err(DrawdownError::Transition { action: Action::Revise, state });
    }
    if !revised.is_positive() {
        return Err(DrawdownError::NotPositive(revised));
    }
    if advanced.is_positive() {
        check_advance(revised, advanced)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vote {
    Yes,
    No,
    Abstain,
}

impl Vote {
    pub fn parse(text: &str) -> Option<Vote> {
        match text {
            "yes" => Some(Vote::Yes),
            "no" => Some(Vote::No),
            "abstain" => Some(Vote::Abstain),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Vote::Yes => "yes",
            Vote::No => "no",
            Vote::Abstain => "abstain",
        }
    }
}

/// A beneficiary unit as the vote and the apportionment see it.
#[derive(Debug, Clone)]
pub struct Beneficiary {
    pub unit_id: String,
    pub owner: String,
    pub area: FloorArea,
}

/// The count of an owners' vote, in exact integers (area in hundredths of m²).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub total_area_centi_m2: i64,
    pub total_owners: usize,
    pub participating_area_centi_m2: i64,
    pub participating_owners: usize,
    pub yes_area_centi_m2: i64,
    pub yes_owners: usize,
    pub passed: bool,
}

/// Counts the owners' vote of Civil Code art. 278: one vote per unit; area by the units' floor
/// area; headcount by distinct owner (an owner of several units counts once: as taking part
/// if any of their units voted, as voting yes if they voted yes and never no). Passed when
/// owners with ≥ 2/3 of the area and ≥ 2/3 of the headcount took part, and more than 1/2 of the
/// participating area and of the participating headcount voted yes.
pub fn tally(beneficiaries: &[Beneficiary], votes: &BTreeMap<String, Vote>) -> Tally {
    let mut owners: BTreeMap<&str, (bool, bool, bool)> = BTreeMap::new(); // (took part, any yes, any no)
                                                                          // i128: no sum of i64 areas overflows it (a release build would wrap an i64 sum).
    let (mut total_area, mut participating_area, mut yes_area) = (0i128, 0i128, 0i128);
    for b in beneficiaries {
        let area = i128::from(b.area.centi_m2());
        total_area += area;
        let owner = owners.entry(b.owner.as_str()).or_insert((false, false, false));
        if let Some(vote) = votes.get(&b.unit_id) {
            participating_area += area;
            owner.0 = true;
            match vote {
                Vote::Yes => {
                    yes_area += area;
                    owner.1 = true;
                }
                Vote::No => owner.2 = true,
                Vote::Abstain => {}
            }
        }
    }
    let total_owners = owners.len();
    let participating_owners = owners.values().filter(|o| o.0).count();
    let yes_owners = owners.values().filter(|o| o.1 && !o.2).count();
    let passed = participating_area * 3 >= total_area * 2
        && participating_owners * 3 >= total_owners * 2
        && yes_area * 2 > participating_area
        && yes_owners * 2 > participating_owners;
    // The decision is exact; the figures shown stop at the largest i64 (never reached by a city).
    let narrow = |v: i128| i64::try_from(v).unwrap_or(i64::MAX);
    let (total_area, participating_area, yes_area) = (narrow(total_area), narrow(participating_area), narrow(yes_area));
    Tally {
        total_area_centi_m2: total_area,
        total_owners,
        participating_area_centi_m2: participating_area,
        participating_owners,
        yes_area_centi_m2: yes_area,
        yes_owners,
        passed,
    }
}

/// A unit whose balance cannot cover its share of a payment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Shortfall {
    pub unit_id: String,
    pub share: Money,
    pub balance: Money,
    pub missing: Money,
}

/// One payment split over the beneficiaries by floor area, ready to post as one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSplit {
    /// (unit_id, share) in the order of the beneficiaries.
    pub shares: Vec<(String, Money)>,
    /// Units charged more than they hold: on the green channel they go on the top-up list.
    pub shortfalls: Vec<Shortfall>,
}

/// Splits a payment over the beneficiary units by floor area (largest remainder, ties to the
/// smaller unit id: the shares always sum to the payment). On the green channel a unit that
/// cannot cover its share is still charged and reported; on the normal route any shortfall
/// refuses the whole payment before anything is posted.
pub fn split_payment(
    route: Route,
    amount: Money,
    beneficiaries: &[Beneficiary],
    balance_of: impl Fn(&str) -> Money,
) -> Result<PaymentSplit, DrawdownError> {
    if !amount.is_positive() {
        return Err(DrawdownError::NotPositive(amount));
    }
    let basis: Vec<ShareBasis> =
        beneficiaries.iter().map(|b| ShareBasis { unit_id: &b.unit_id, area: b.area }).collect();
    let shares = apportion(amount, &basis)?;
    let mut shortfalls = Vec::new();
    for (b, share) in beneficiaries.iter().zip(&shares) {
        let balance = balance_of(&b.unit_id);
        if balance < *share {
            let missing = Money::from_fen(share.fen() - balance.fen().max(0).min(share.fen()));
            shortfalls.push(Shortfall { unit_id: b.unit_id.clone(), share: *share, balance, missing });
        }
    }
    if route == Route::Normal && !shortfalls.is_empty() {
        return Err(DrawdownError::Shortfall(shortfalls));
    }
    let shares = beneficiaries.iter().map(|b| b.unit_id.clone()).zip(shares).collect();
    Ok(PaymentSplit { shares, shortfalls })
}

#[cfg(test)]
mod tests;
