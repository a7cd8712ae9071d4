//! What the allocation planner needs, read from the database. Reads only.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use ledger_core::allocation::{
    Allocation, AllocationScope, DayChange, LastAllocation, Method, Parameters, Record, Share, UnitBasis, WithholdRate,
};
use ledger_core::registry::FloorArea;
use ledger_core::{Account, Date, Money};

use crate::{dispatch, StoreError, Tx};

/// The units of a scope: `FROM` and `WHERE` over `units u`, with `$1` the estate or building
/// (bound, and ignored for the city, so that every scope binds one value).
fn scope_sql(scope: &AllocationScope) -> &'static str {
    match scope {
        AllocationScope::City => "FROM units u WHERE $1 = $1",
        AllocationScope::Estate(_) => {
            "FROM units u JOIN buildings b ON b.building_id = u.building_id WHERE b.estate_id = $1"
        }
        AllocationScope::Building(_) => "FROM units u WHERE u.building_id = $1",
    }
}

fn scope_id(scope: &AllocationScope) -> &str {
    match scope {
        AllocationScope::City => "",
        AllocationScope::Estate(id) | AllocationScope::Building(id) => id,
    }
}

#[derive(sqlx::FromRow)]
struct AllocationRecord {
    entry_id: String,
    source: String,
    alloc_date: String,
    method: String,
    from_asked: Option<String>,
    to_resolved: Option<String>,
    amount_asked_fen: Option<i64>,
    withhold_rate: String,
    scope: String,
    period_from: Option<String>,
    period_to: Option<String>,
    amount_fen: i64,
    withheld_fen: i64,
    allocated_fen: i64,
    units_credited: i64,
    weights_total: String,
    shares: String,
}

impl AllocationRecord {
    fn record(self) -> Result<Record, StoreError> {
        let id = self.entry_id.clone();
        let corrupt = |what: &str| StoreError::Corrupt(format!("allocation `{id}`: {what}"));
        let date = |text: &str| Date::parse(text).map_err(|_| corrupt("a date"));
        let optional_date = |text: &Option<String>| text.as_deref().map(date).transpose();
        let source: Account = self.source.parse().map_err(|_| corrupt("source"))?;
        let method = Method::parse(&self.method).ok_or_else(|| corrupt("method"))?;
        let parameters = Parameters {
            source: source.clone(),
            date: date(&self.alloc_date)?,
            method,
            from: optional_date(&self.from_asked)?,
            to: optional_date(&self.to_resolved)?,
            amount: self.amount_asked_fen.map(Money::from_fen),
            withhold_rate: WithholdRate::parse(&self.withhold_rate).map_err(|_| corrupt("withhold rate"))?,
            scope: AllocationScope::parse(&self.scope).ok_or_else(|| corrupt("scope"))?,
        };
        let allocation = Allocation {
            source,
            method,
            from: optional_date(&self.period_from)?,
            to: optional_date(&self.period_to)?,
            amount: Money::from_fen(self.amount_fen),
            withheld: Money::from_fen(self.withheld_fen),
            allocated: Money::from_fen(self.allocated_fen),
            units: u64::try_from(self.units_credited).map_err(|_| corrupt("units"))?,
            weights_total: self.weights_total.parse().map_err(|_| corrupt("weights total"))?,
            shares: parse_shares(&self.shares).ok_or_else(|| corrupt("shares"))?,
            entry_id: self.entry_id,
        };
        Ok(Record { parameters, allocation })
    }
}

/// The shares as stored: one line per unit, `unit_id\tweight\tshare_fen`.
pub(super) fn shares_text(shares: &[Share]) -> String {
    let mut text = String::with_capacity(shares.len() * 32);
    for s in shares {
        use std::fmt::Write as _;
        let _ = writeln!(text, "{}\t{}\t{}", s.unit_id, s.weight, s.share.fen());
    }
    text
}

fn parse_shares(text: &str) -> Option<Vec<Share>> {
    text.lines()
        .map(|line| {
            let mut fields = line.split('\t');
            let unit_id = fields.next()?.to_owned();
            let weight = fields.next()?.parse().ok()?;
            let share = Money::from_fen(fields.next()?.parse().ok()?);
            Some(Share { unit_id, weight, share })
        })
        .collect()
}

/// The allocation recorded under `entry_id`, if any.
pub(super) async fn existing(tx: &mut Tx, entry_id: &str) -> Result<Option<Record>, StoreError> {
    let record: Option<AllocationRecord> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT entry_id, source, alloc_date, method, from_asked, to_resolved, amount_asked_fen, withhold_rate, \
             scope, period_from, period_to, amount_fen, withheld_fen, allocated_fen, units_credited, weights_total, \
             shares FROM allocations WHERE entry_id = $1",
        )
        .bind(entry_id)
        .fetch_optional(&mut **t)
        .await?
    });
    record.map(AllocationRecord::record).transpose()
}

pub(super) async fn entry_exists(tx: &mut Tx, entry_id: &str) -> Result<bool, StoreError> {
    let count: i64 = dispatch!(Tx, tx, |t| {
        sqlx::query_scalar("SELECT COUNT(*) FROM entries WHERE entry_id = $1")
            .bind(entry_id)
            .fetch_one(&mut **t)
            .await?
    });
    Ok(count > 0)
}

pub(super) async fn scope_exists(tx: &mut Tx, scope: &AllocationScope) -> Result<bool, StoreError> {
    let sql = match scope {
        AllocationScope::City => return Ok(true),
        AllocationScope::Estate(_) => "SELECT COUNT(*) FROM estates WHERE estate_id = $1",
        AllocationScope::Building(_) => "SELECT COUNT(*) FROM buildings WHERE building_id = $1",
    };
    let id = scope_id(scope);
    let count: i64 = dispatch!(Tx, tx, |t| sqlx::query_scalar(sql).bind(id).fetch_one(&mut **t).await?);
    Ok(count > 0)
}

/// The account's number (if it has one yet) and its balance, credits − debits, as of `date`.
pub(super) async fn balance_as_of(tx: &mut Tx, account: &str, date: Date) -> Result<(Option<i64>, Money), StoreError> {
    let account_id: Option<i64> = dispatch!(Tx, tx, |t| {
        sqlx::query_scalar("SELECT account_id FROM accounts WHERE account = $1")
            .bind(account)
            .fetch_optional(&mut **t)
            .await?
    });
    let Some(id) = account_id else { return Ok((None, Money::ZERO)) };
    let balance: i64 = dispatch!(Tx, tx, |t| {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(p.credit_fen - p.debit_fen), 0) AS BIGINT) FROM postings p \
             JOIN entries e ON e.seq = p.entry_seq WHERE p.account_id = $1 AND e.entry_date <= $2",
        )
        .bind(id)
        .bind(date.to_string())
        .fetch_one(&mut **t)
        .await?
    });
    Ok((Some(id), Money::from_fen(balance)))
}

/// The allocation from `source` whose period ends last (so that a default period never
/// overlaps one already allocated), with its T.
pub(super) async fn last_allocation(tx: &mut Tx, source: &str) -> Result<Option<LastAllocation>, StoreError> {
    let row: Option<(String, String)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT a.entry_id, a.period_to FROM allocations a JOIN entries e ON e.entry_id = a.entry_id \
             WHERE a.source = $1 AND a.period_to IS NOT NULL ORDER BY a.period_to DESC, e.seq DESC LIMIT 1",
        )
        .bind(source)
        .fetch_optional(&mut **t)
        .await?
    });
    row.map(|(entry_id, to)| {
        let to = Date::parse(&to).map_err(|_| StoreError::Corrupt(format!("allocation `{entry_id}`: period end")))?;
        Ok(LastAllocation { entry_id, to })
    })
    .transpose()
}

pub(super) async fn earliest_entry(tx: &mut Tx) -> Result<Option<Date>, StoreError> {
    let first: Option<String> =
        dispatch!(Tx, tx, |t| sqlx::query_scalar("SELECT MIN(entry_date) FROM entries").fetch_one(&mut **t).await?);
    first.map(|d| Date::parse(&d).map_err(|_| StoreError::Corrupt(format!("entry date `{d}`")))).transpose()
}

/// The units of the scope sorted by `unit_id` (byte order, as core compares), each with its
/// balance now from the running totals; and each sub-ledger account's number → unit index.
pub(super) async fn units(
    tx: &mut Tx,
    scope: &AllocationScope,
) -> Result<(Vec<UnitBasis>, HashMap<i64, u32>), StoreError> {
    let sql = format!(
        "SELECT u.unit_id, u.floor_area_centi_m2, a.account_id, \
         CAST(COALESCE(t.credit_fen - t.debit_fen, 0) AS BIGINT) {} ",
        scope_sql(scope).replacen(
            "FROM units u",
            "FROM units u LEFT JOIN accounts a ON a.account = 'unit:' || u.unit_id \
                        LEFT JOIN account_totals t ON t.account_id = a.account_id",
            1
        )
    );
    let id = scope_id(scope);
    let mut rows: Vec<(String, i64, Option<i64>, i64)> =
        dispatch!(Tx, tx, |t| sqlx::query_as(&sql).bind(id).fetch_all(&mut **t).await?);
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut units = Vec::with_capacity(rows.len());
    let mut accounts = HashMap::with_capacity(rows.len());
    for (index, (unit_id, centi_m2, account_id, balance_now_fen)) in rows.into_iter().enumerate() {
        let area = FloorArea::from_centi_m2(centi_m2)
            .ok_or_else(|| StoreError::Corrupt(format!("unit `{unit_id}` has floor area {centi_m2}")))?;
        if let Some(account_id) = account_id {
            accounts.insert(account_id, index as u32);
        }
        units.push(UnitBasis { unit_id, area, balance_now_fen });
    }
    Ok((units, accounts))
}

/// Every unit sub-ledger's net change per day from `from` on, in one query ordered by account
/// and date and read as a stream (a city's year is millions of rows), kept for the accounts of
/// `accounts` (the scope's) and returned sorted by unit, then date.
pub(super) async fn changes_from(
    tx: &mut Tx,
    scope: &AllocationScope,
    from: Date,
    accounts: &HashMap<i64, u32>,
) -> Result<Vec<DayChange>, StoreError> {
    let in_scope = match scope {
        AllocationScope::City => "a.account LIKE 'unit:%' AND $2 = $2".to_owned(),
        _ => format!("a.account IN (SELECT 'unit:' || u.unit_id {})", scope_sql(scope).replace("$1", "$2")),
    };
    let sql = format!(
        "SELECT p.account_id, e.entry_date, CAST(SUM(p.credit_fen - p.debit_fen) AS BIGINT) \
         FROM entries e JOIN postings p ON p.entry_seq = e.seq JOIN accounts a ON a.account_id = p.account_id \
         WHERE e.entry_date >= $1 AND {in_scope} GROUP BY p.account_id, e.entry_date \
         ORDER BY p.account_id, e.entry_date"
    );
    let from_text = from.to_string();
    let id = scope_id(scope);
    let mut changes = Vec::new();
    let mut bad_date = None;
    dispatch!(Tx, tx, |t| {
        let mut rows = sqlx::query_as::<_, (i64, String, i64)>(&sql).bind(from_text.as_str()).bind(id).fetch(&mut **t);
        while let Some((account_id, date, delta_fen)) = rows.try_next().await? {
            let Some(&unit) = accounts.get(&account_id) else { continue };
            match Date::parse(&date) {
                Ok(date) => changes.push(DayChange { unit, date, delta_fen }),
                Err(_) => bad_date = Some(date),
            }
        }
    });
    if let Some(date) = bad_date {
        return Err(StoreError::Corrupt(format!("entry date `{date}`")));
    }
    // Account numbers do not follow unit ids: put the runs in the units' order.
    changes.sort_by_key(|c| (c.unit, c.date));
    Ok(changes)
}
