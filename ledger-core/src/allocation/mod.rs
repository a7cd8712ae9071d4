//! The fund's income to the units (结息到户, 收益分配), SPEC §6, and the top-up notices (续筹), §7.
//!
//! Interest paid by the bank and the net income of shared parts land in `income:interest` or
//! `income:common`; one `allocation` entry then moves them into the unit sub-ledgers, split by
//! integer weights: 积数 (balance-days, the sum over each day of the period of the unit's
//! non-negative end-of-day balance in fen), floor area in 0.01 m², or the closing balance.
//! Civil Code arts. 282–283 (income of shared parts belongs to the owners, shared by area unless
//! agreed otherwise); Order 165 of 2007 art. 30 (value-added income is part of the fund).
//!
//! Every rule here is a function of its inputs (the store loads the state): the period's
//! defaults ([`period_of`]), the amount and the withholding, the weights ([`weights`]), the
//! shares (largest remainder, [`crate::apportion::apportion_by_weight`]) and the planner
//! ([`plan::plan_allocation`]).

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Serialize, Serializer};
use thiserror::Error;

use crate::account::Account;
use crate::actor::Denied;
use crate::apportion::ApportionError;
use crate::date::Date;
use crate::money::Money;

pub mod plan;
pub mod topup;
mod weights;

#[cfg(test)]
mod tests;

pub use plan::{plan_allocation, AllocationPlan, Found, Outcome, Record, Row, Status};
pub use weights::{balance_days_naive, weights, DayChange, UnitBasis};

/// How a unit's weight is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// 积数: Σ over every day F..=T of max(0, end-of-day balance) in fen.
    BalanceDays,
    /// Floor area in 0.01 m² (art. 283's default for the income of shared parts).
    Area,
    /// max(0, the balance at the end of T) in fen.
    ClosingBalance,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::BalanceDays, Method::Area, Method::ClosingBalance];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::BalanceDays => "balance-days",
            Method::Area => "area",
            Method::ClosingBalance => "closing-balance",
        }
    }

    pub fn parse(text: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// The SPEC's default per source: 积数 for interest, floor area for common income.
    pub fn default_for(source: &Account) -> Method {
        match source {
            Account::CommonIncome => Method::Area,
            _ => Method::BalanceDays,
        }
    }

    /// Whether the method weighs a period (F…T) at all.
    pub fn has_period(self) -> bool {
        self != Method::Area
    }

    /// In Chinese, for the terminal summary.
    pub fn describe(self) -> &'static str {
        match self {
            Method::BalanceDays => "按积数",
            Method::Area => "按建筑面积",
            Method::ClosingBalance => "按期末余额",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Method {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The most decimals a withholding rate may have (SPEC §6).
pub const MAX_RATE_DECIMALS: u32 = 6;

/// A withholding rate R, 0 ≤ R < 1 with at most 6 decimals, exact (`rust_decimal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WithholdRate(Decimal);

impl WithholdRate {
    pub const ZERO: WithholdRate = WithholdRate(Decimal::ZERO);

    /// Parses a plain decimal fraction (`0.0185`, `0`, `.5` refused): digits, an optional point
    /// and at most 6 decimals; no sign, exponent or separators.
    pub fn parse(text: &str) -> Result<WithholdRate, AllocationError> {
        let bad = |why: &str| AllocationError::BadWithholdRate { text: text.to_owned(), why: why.to_owned() };
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || (text.contains('.') && !digits(frac)) {
            return Err(bad("expected a decimal fraction such as 0.0185"));
        }
        if frac.len() > MAX_RATE_DECIMALS as usize {
            return Err(bad("at most 6 decimals"));
        }
        let rate = Decimal::from_str(text).map_err(|_| bad("expected a decimal fraction such as 0.0185"))?;
        if rate >= Decimal::ONE {
            return Err(bad("it must be below 1 (0 ≤ R < 1)"));
        }
        Ok(WithholdRate(rate))
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// round_half_up(amount × R) in fen: what stays in the source account.
    pub fn withheld(self, amount: Money) -> Result<Money, AllocationError> {
        let exact = Decimal::from(amount.fen()).checked_mul(self.0).ok_or(AllocationError::Overflow)?;
        let rounded = exact.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        rounded.to_i64().map(Money::from_fen).ok_or(AllocationError::Overflow)
    }
}

impl fmt::Display for WithholdRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.normalize())
    }
}

/// Which units take part: the whole city, one estate or one building.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AllocationScope {
    City,
    Estate(String),
    Building(String),
}

impl AllocationScope {
    /// As stored: `city`, `estate:<id>` or `building:<id>`.
    pub fn text(&self) -> String {
        match self {
            AllocationScope::City => "city".to_owned(),
            AllocationScope::Estate(e) => format!("estate:{e}"),
            AllocationScope::Building(b) => format!("building:{b}"),
        }
    }

    pub fn parse(text: &str) -> Option<AllocationScope> {
        match text.split_once(':') {
            None if text == "city" => Some(AllocationScope::City),
            Some(("estate", id)) => Some(AllocationScope::Estate(id.to_owned())),
            Some(("building", id)) => Some(AllocationScope::Building(id.to_owned())),
            _ => None,
        }
    }
}

/// What a clerk asks for, as typed: `None` where a default applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub source: Account,
    pub date: Date,
    pub entry_id: String,
    pub method: Option<Method>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub amount: Option<Money>,
    pub withhold_rate: Option<WithholdRate>,
    pub scope: AllocationScope,
}

/// The parameters an allocation is known by, its idempotency record: what is fixed by the
/// request alone is resolved (method, T, rate), while `from` and `amount` stay as asked,
/// since their defaults depend on the ledger, which the allocation itself changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameters {
    pub source: Account,
    pub date: Date,
    pub method: Method,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub amount: Option<Money>,
    pub withhold_rate: WithholdRate,
    pub scope: AllocationScope,
}

impl Parameters {
    pub fn of(request: &Request) -> Parameters {
        let method = request.method.unwrap_or_else(|| Method::default_for(&request.source));
        Parameters {
            source: request.source.clone(),
            date: request.date,
            method,
            from: request.from,
            to: if method.has_period() { Some(request.to.unwrap_or(request.date)) } else { request.to },
            amount: request.amount,
            withhold_rate: request.withhold_rate.unwrap_or_default(),
            scope: request.scope.clone(),
        }
    }

    /// Whether `asked` (this request again) is the allocation `self` recorded, which resolved
    /// to `first`: each parameter left out both times, or resolving to the same value.
    pub fn matches(&self, asked: &Parameters, first: &Allocation) -> bool {
        let from_same = match (self.from, asked.from) {
            (None, None) => true,
            (_, Some(f)) => first.from == Some(f),
            (Some(_), None) => false,
        };
        let amount_same = match (self.amount, asked.amount) {
            (None, None) => true,
            (_, Some(a)) => first.amount == a,
            (Some(_), None) => false,
        };
        from_same
            && amount_same
            && self.source == asked.source
            && self.date == asked.date
            && self.method == asked.method
            && self.to == asked.to
            && self.withhold_rate == asked.withhold_rate
            && self.scope == asked.scope
    }
}

/// The parameters in words, for a refusal that shows both.
impl fmt::Display for Parameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_default = |d: Option<Date>| d.map_or_else(|| "default".to_owned(), |d| d.to_string());
        write!(
            f,
            "source {}, date {}, method {}, from {}, to {}, amount {}, withhold rate {}, scope {}",
            self.source,
            self.date,
            self.method,
            or_default(self.from),
            or_default(self.to),
            self.amount.map_or_else(|| "whole balance".to_owned(), |a| a.to_string()),
            self.withhold_rate,
            self.scope.text()
        )
    }
}

/// One unit's part: its weight and its share (which may round to 0.00).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Share {
    pub unit_id: String,
    pub weight: u128,
    pub share: Money,
}

/// The result of an allocation, exactly the SPEC §6 JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allocation {
    pub entry_id: String,
    #[serde(serialize_with = "as_text")]
    pub source: Account,
    pub method: Method,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub amount: Money,
    pub withheld: Money,
    pub allocated: Money,
    /// Units credited (share above 0).
    pub units: u64,
    pub weights_total: u128,
    /// Every unit of weight above 0, by `unit_id`.
    pub shares: Vec<Share>,
}

fn as_text<S: Serializer>(account: &Account, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(account)
}

impl Allocation {
    /// The smallest and the largest share, for the summary.
    pub fn share_range(&self) -> Option<(Money, Money)> {
        let min = self.shares.iter().map(|s| s.share).min()?;
        let max = self.shares.iter().map(|s| s.share).max()?;
        Some((min, max))
    }
}

/// The period F…T of a method that weighs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

impl Period {
    pub fn days(self) -> i64 {
        i64::from(self.to.days_since_epoch()) - i64::from(self.from.days_since_epoch()) + 1
    }
}

/// The last allocation from the same source that weighed a period: its entry and its T.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastAllocation {
    pub entry_id: String,
    pub to: Date,
}

/// Resolves F and T: T defaults to D; F to the day after the last allocation's T from the same
/// source, or for the first one to the date of the earliest journal entry. `None` for `area`.
pub fn period_of(
    params: &Parameters,
    last: Option<&LastAllocation>,
    earliest_entry: Option<Date>,
) -> Result<Option<Period>, AllocationError> {
    if !params.method.has_period() {
        if params.from.is_some() || params.to.is_some() {
            return Err(AllocationError::PeriodForArea);
        }
        return Ok(None);
    }
    let to = params.to.unwrap_or(params.date);
    if to > params.date {
        return Err(AllocationError::PeriodAfterDate { to, date: params.date });
    }
    let from = match (params.from, last, earliest_entry) {
        (Some(from), _, _) => from,
        (None, Some(last), _) => last.to.add_days(1),
        (None, None, Some(earliest)) => earliest,
        (None, None, None) => return Err(AllocationError::NothingToAllocate(params.source.to_string())),
    };
    if from > to {
        let after = last.filter(|_| params.from.is_none()).map(|l| (l.entry_id.clone(), l.to));
        return Err(AllocationError::EmptyPeriod { from, to, after });
    }
    Ok(Some(Period { from, to }))
}

/// The day from which a method needs each unit's balance changes: the balance at the end of
/// the day before it is what the weights start from. `None`: the method needs none (`area`).
pub fn changes_needed_from(method: Method, period: Option<Period>) -> Option<Date> {
    match (method, period) {
        (Method::BalanceDays, Some(p)) => Some(p.from),
        (Method::ClosingBalance, Some(p)) => Some(p.to.add_days(1)),
        _ => None,
    }
}

/// The amount to consider and what is withheld of it: the whole source balance as of D unless
/// `asked`; more than the balance, zero or a negative amount is refused.
pub fn amount_and_withheld(
    source: &Account,
    balance: Money,
    asked: Option<Money>,
    rate: WithholdRate,
) -> Result<(Money, Money), AllocationError> {
    let amount = match asked {
        Some(a) if !a.is_positive() => return Err(AllocationError::NotPositive(a)),
        Some(a) if a > balance => {
            return Err(AllocationError::MoreThanBalance { amount: a, account: source.to_string(), balance })
        }
        Some(a) => a,
        None if !balance.is_positive() => {
            return Err(AllocationError::NoBalance { account: source.to_string(), balance })
        }
        None => balance,
    };
    let withheld = rate.withheld(amount)?;
    if withheld >= amount {
        return Err(AllocationError::AllWithheld { amount, withheld });
    }
    Ok((amount, withheld))
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AllocationError {
    #[error("income is allocated from income:interest or income:common, not from `{0}`")]
    BadSource(String),
    #[error("entry id `{0}` is not a valid identifier ([A-Za-z0-9._:-]{{1,64}})")]
    BadEntryId(String),
    #[error("withhold rate `{text}`: {why}")]
    BadWithholdRate { text: String, why: String },
    #[error("an allocation to one estate or building must say how much (--amount): the source's balance belongs to the whole city")]
    ScopeWithoutAmount,
    #[error("the area method weighs floor areas, not a period: leave out --from and --to")]
    PeriodForArea,
    #[error("the period must end on or before the allocation date: --to {to} is after --date {date}")]
    PeriodAfterDate { to: Date, date: Date },
    #[error("the period {from}…{to} is empty{}", after.as_ref().map_or_else(String::new, |(id, to)| format!(": the last allocation from this source ({id}) already covered up to {to}; give --from")))]
    EmptyPeriod { from: Date, to: Date, after: Option<(String, Date)> },
    #[error("the amount to allocate must be positive, found {0}")]
    NotPositive(Money),
    #[error("cannot allocate {amount}: {account} holds only {balance} as of the allocation date")]
    MoreThanBalance { amount: Money, account: String, balance: Money },
    #[error("nothing to allocate: {account} holds {balance} as of the allocation date")]
    NoBalance { account: String, balance: Money },
    #[error("nothing to allocate: the ledger has no entries, so {0} holds nothing")]
    NothingToAllocate(String),
    #[error("withholding {withheld} of {amount} leaves nothing to allocate")]
    AllWithheld { amount: Money, withheld: Money },
    #[error("every unit in scope has weight 0 ({method}): nothing to allocate by")]
    AllWeightsZero { method: Method },
    #[error("no units in scope {0}")]
    EmptyScope(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("entry id `{0}` is already used by an entry that is not an allocation")]
    EntryIdTaken(String),
    #[error("allocation `{entry_id}` was already posted with other parameters.\n  first: {first}\n  now:   {now}\nUse a new --entry-id for a new allocation")]
    DifferentParameters { entry_id: String, first: String, now: String },
    #[error("the allocation would credit {units} units, more than one entry may carry ({max}): allocate estate by estate (--estate E --amount X)")]
    TooManyUnits { units: usize, max: usize },
    #[error("the weights or amounts are too large to compute exactly")]
    Overflow,
    #[error("the stored balance changes are not in unit and date order")]
    UnorderedChanges,
    #[error("cannot post the allocation: {0}")]
    Unpostable(String),
    #[error(transparent)]
    Denied(#[from] Denied),
}

impl From<ApportionError> for AllocationError {
    fn from(error: ApportionError) -> AllocationError {
        match error {
            ApportionError::Overflow => AllocationError::Overflow,
            other => AllocationError::Unpostable(other.to_string()),
        }
    }
}
