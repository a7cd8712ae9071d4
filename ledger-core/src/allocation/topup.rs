//! Top-up notices (续筹, SPEC §7): every unit whose balance is below 30 % of its first deposit,
//! with what brings it back to the first deposit. The first deposit is SPEC §3.5's: the credit
//! to the unit in its earliest `deposit` entry by date, then `entry_id`; a unit with no deposit
//! is not judged.

use std::collections::HashMap;

use serde::Serialize;

use crate::date::Date;
use crate::money::Money;

/// The credits to one unit in one `deposit` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositCredit {
    pub unit_id: String,
    pub date: Date,
    pub entry_id: String,
    pub credit_fen: i64,
}

/// Each unit's first deposit: the credit in its earliest deposit entry (date, then entry id).
pub fn first_deposits(credits: impl IntoIterator<Item = DepositCredit>) -> HashMap<String, Money> {
    let mut first: HashMap<String, DepositCredit> = HashMap::new();
    for credit in credits {
        match first.get_mut(&credit.unit_id) {
            Some(kept) if (credit.date, credit.entry_id.as_str()) < (kept.date, kept.entry_id.as_str()) => {
                *kept = credit
            }
            Some(kept) if (credit.date, &credit.entry_id) == (kept.date, &kept.entry_id) => {
                kept.credit_fen = kept.credit_fen.saturating_add(credit.credit_fen)
            }
            Some(_) => {}
            None => {
                first.insert(credit.unit_id.clone(), credit);
            }
        }
    }
    first.into_iter().map(|(unit, c)| (unit, Money::from_fen(c.credit_fen))).collect()
}

/// A unit as the notices judge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitStanding {
    pub unit_id: String,
    pub owner: String,
    pub balance: Money,
    pub first_deposit: Option<Money>,
}

/// One notice: the unit must deposit `due` to be back at its first deposit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub unit_id: String,
    pub owner: String,
    pub first_deposit: Money,
    pub balance: Money,
    pub due: Money,
}

/// Whether a balance is below 30 % of the first deposit: 10 × balance < 3 × first, exact.
pub fn below_threshold(balance: Money, first_deposit: Money) -> bool {
    i128::from(balance.fen()) * 10 < i128::from(first_deposit.fen()) * 3
}

/// The notices, sorted by `unit_id`.
pub fn notices(units: impl IntoIterator<Item = UnitStanding>) -> Vec<Notice> {
    let mut out: Vec<Notice> = units
        .into_iter()
        .filter_map(|u| {
            let first = u.first_deposit?;
            if !below_threshold(u.balance, first) {
                return None;
            }
            // Cannot overflow: both came from the ledger's i64 fen and the balance is below first.
            let due = Money::from_fen(first.fen().saturating_sub(u.balance.fen()));
            Some(Notice { unit_id: u.unit_id, owner: u.owner, first_deposit: first, balance: u.balance, due })
        })
        .collect();
    out.sort_unstable_by(|a, b| a.unit_id.cmp(&b.unit_id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn the_first_deposit_is_the_earliest_entry_by_date_then_id() {
        let credit = |unit: &str, date: &str, entry: &str, fen: i64| DepositCredit {
            unit_id: unit.into(),
            date: day(date),
            entry_id: entry.into(),
            credit_fen: fen,
        };
        let first = first_deposits([
            credit("U1", "2024-02-01", "A", 500),
            credit("U1", "2024-01-01", "Z", 300),
            credit("U1", "2024-01-01", "B", 100),
            credit("U1", "2024-01-01", "B", 20),
            credit("U2", "2024-03-01", "C", 900),
        ]);
        assert_eq!(first["U1"], Money::from_fen(120), "entry B of 2024-01-01, both credits");
        assert_eq!(first["U2"], Money::from_fen(900));
    }

    #[test]
    fn below_thirty_percent_gets_a_notice_for_the_way_back_to_the_first_deposit() {
        let unit = |id: &str, balance: i64, first: Option<i64>| UnitStanding {
            unit_id: id.into(),
            owner: format!("业主{id}"),
            balance: Money::from_fen(balance),
            first_deposit: first.map(Money::from_fen),
        };
        let found = notices([
            unit("U3", 2_999, Some(10_000)),
            unit("U1", 3_000, Some(10_000)),
            unit("U2", -500, Some(10_000)),
            unit("U4", 0, None),
        ]);
        let ids: Vec<&str> = found.iter().map(|n| n.unit_id.as_str()).collect();
        assert_eq!(ids, ["U2", "U3"], "exactly 30 % is not below; no deposit is not judged");
        assert_eq!(found[0].due, Money::from_fen(10_500));
        assert_eq!(found[1].due, Money::from_fen(7_001));
    }
}
