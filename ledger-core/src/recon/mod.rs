//! Reconciliation (对账): the ledger against the bank, unit by unit and line by line (SPEC §3).
//!
//! The journal is first folded into [`JournalFacts`] (see [`scan`] for files, or
//! [`ChunkFacts::add_entry`] for any other source). [`reconcile`] then compares every unit with
//! the bank's balance building by building in parallel, rolls buildings up into estates and the
//! city, and matches the bank statement. With `parallel` false it does the same work
//! sequentially; the two reports are equal, which a property test checks.

pub mod city;
pub mod facts;
pub mod matching;
pub mod scan;

use std::hash::BuildHasher;

use rayon::prelude::*;
use serde::Serialize;
use thiserror::Error;

pub use city::{CityIndex, UnitCursor};
pub use facts::{ChunkFacts, JournalFacts, PostingIn};

use crate::date::Date;
use crate::interchange::{InputError, Located, StatementLine, UnitBalance};
use crate::money::Money;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ReconError {
    #[error("{0}")]
    Input(#[from] InputError),
    #[error("amount overflow: {0} exceeds the largest representable amount")]
    Overflow(&'static str),
}

/// The reconciliation report; field names and order are the SPEC's contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub summary: Summary,
    pub unbalanced_entries: Vec<UnbalancedEntry>,
    pub invalid_postings: Vec<InvalidPosting>,
    pub unit_mismatches: Vec<UnitMismatch>,
    pub units_missing_in_bank: Vec<UnitMissingInBank>,
    pub units_unknown_to_registry: Vec<UnitUnknownToRegistry>,
    pub overdrawn_units: Vec<OverdrawnUnit>,
    pub topup_required: Vec<TopupRequired>,
    pub buildings: Vec<BuildingRollup>,
    pub estates: Vec<EstateRollup>,
    pub bank_reconciliation: Option<BankReconciliation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub units: usize,
    pub buildings: usize,
    pub estates: usize,
    pub entries: u64,
    pub postings: u64,
    pub unit_ledger_total: Money,
    pub unit_bank_total: Option<Money>,
    pub book_bank_balance: Money,
    pub control_difference: Money,
    pub discrepancies: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnbalancedEntry {
    pub entry_id: String,
    pub debit: Money,
    pub credit: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidPosting {
    pub entry_id: String,
    pub account: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitMismatch {
    pub unit_id: String,
    pub building_id: String,
    pub estate_id: String,
    pub ledger: Money,
    pub bank: Money,
    pub difference: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitMissingInBank {
    pub unit_id: String,
    pub ledger: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitUnknownToRegistry {
    pub unit_id: String,
    pub bank: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverdrawnUnit {
    pub unit_id: String,
    pub balance: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopupRequired {
    pub unit_id: String,
    pub balance: Money,
    pub first_deposit: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildingRollup {
    pub building_id: String,
    pub estate_id: String,
    pub units: usize,
    pub ledger: Money,
    pub bank: Option<Money>,
    pub mismatched_units: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EstateRollup {
    pub estate_id: String,
    pub units: usize,
    pub ledger: Money,
    pub bank: Option<Money>,
    pub mismatched_units: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankReconciliation {
    pub matched: usize,
    pub unmatched_ledger: Vec<UnmatchedLedger>,
    pub unmatched_statement: Vec<UnmatchedStatement>,
    pub book_total: Money,
    pub statement_total: Money,
    pub difference: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedLedger {
    pub entry_id: String,
    pub date: Date,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedStatement {
    pub txn_id: String,
    pub date: Date,
    pub amount: Money,
}

impl Report {
    /// How many discrepancies of each kind, in the SPEC's order (health notices excluded).
    pub fn discrepancy_counts(&self) -> [(&'static str, usize); 7] {
        let bank = self.bank_reconciliation.as_ref();
        [
            ("unbalanced entries", self.unbalanced_entries.len()),
            ("invalid postings", self.invalid_postings.len()),
            ("unit mismatches", self.unit_mismatches.len()),
            ("units missing in bank", self.units_missing_in_bank.len()),
            ("units unknown to registry", self.units_unknown_to_registry.len()),
            ("unmatched ledger postings", bank.map_or(0, |b| b.unmatched_ledger.len())),
            ("unmatched statement lines", bank.map_or(0, |b| b.unmatched_statement.len())),
        ]
    }
}

/// The bank's files, when given.
#[derive(Debug, Clone, Copy, Default)]
pub struct BankFiles<'a> {
    pub unit_balances: Option<&'a [Located<UnitBalance>]>,
    pub statement: Option<&'a [Located<StatementLine>]>,
}

fn money(fen: i128, what: &'static str) -> Result<Money, ReconError> {
    i64::try_from(fen).map(Money::from_fen).map_err(|_| ReconError::Overflow(what))
}

/// Refuses a journal in which one `entry_id` heads two separate groups of rows.
pub fn check_split_entries(facts: &JournalFacts) -> Result<(), InputError> {
    // Sorting hashes, not strings: equal ids have equal hashes, and runs of equal hashes are
    // almost always one long.
    let hasher = rustc_hash::FxBuildHasher;
    let mut by_hash: Vec<(u64, u32)> =
        (0..facts.ids.len() as u32).into_par_iter().map(|i| (hasher.hash_one(facts.ids.get(i)), i)).collect();
    by_hash.par_sort_unstable();
    let mut first_repeat: Option<(u64, u32)> = None;
    for run in by_hash.chunk_by(|a, b| a.0 == b.0).filter(|run| run.len() > 1) {
        for (j, &(_, later)) in run.iter().enumerate() {
            if let Some(&(_, earlier)) = run[..j].iter().find(|(_, e)| facts.ids.get(*e) == facts.ids.get(later)) {
                let candidate = (facts.ids.line(later), earlier);
                first_repeat = Some(first_repeat.map_or(candidate, |f| f.min(candidate)));
                break;
            }
        }
    }
    match first_repeat {
        None => Ok(()),
        Some((line, first)) => Err(crate::journal::split_entry(line, facts.ids.get(first), facts.ids.line(first))),
    }
}

/// Per-unit comparison result within one building.
#[derive(Default)]
struct BuildingOutcome {
    /// A difference (ledger − bank) beyond the range of amounts.
    overflow: bool,
    rollup_ledger: i128,
    rollup_bank: i128,
    mismatched: usize,
    units: usize,
    mismatches: Vec<UnitMismatch>,
    missing: Vec<UnitMissingInBank>,
    overdrawn: Vec<OverdrawnUnit>,
    topup: Vec<TopupRequired>,
}

/// Reconciles the folded journal against the bank's files.
pub fn reconcile(
    city: &CityIndex,
    facts: &JournalFacts,
    bank: BankFiles<'_>,
    parallel: bool,
) -> Result<Report, ReconError> {
    if facts.overflow {
        return Err(ReconError::Overflow("a unit's balance"));
    }
    let bank_balances = bank_balances_by_unit(city, bank.unit_balances);
    let units_by_building = city.units_by_building();
    let compare = |building: usize| {
        compare_building(
            city,
            facts,
            bank_balances.as_ref().map(|b| b.0.as_slice()),
            building,
            &units_by_building[building],
        )
    };
    let outcomes: Vec<BuildingOutcome> = if parallel {
        (0..units_by_building.len()).into_par_iter().map(compare).collect()
    } else {
        (0..units_by_building.len()).map(compare).collect()
    };
    if outcomes.iter().any(|o| o.overflow) {
        return Err(ReconError::Overflow("a unit's difference between ledger and bank"));
    }
    let has_bank = bank_balances.is_some();
    let mut report = Report {
        summary: Summary {
            units: city.units(),
            buildings: city.building_ids.len(),
            estates: city.estate_ids.len(),
            entries: facts.entries,
            postings: facts.postings,
            unit_ledger_total: Money::ZERO,
            unit_bank_total: None,
            book_bank_balance: money(facts.bank_book_fen, "the bank book balance")?,
            control_difference: money(
                facts.bank_book_fen
                    - (facts.others_fen + facts.unit_balance_fen.iter().map(|&b| i128::from(b)).sum::<i128>()),
                "the control difference",
            )?,
            discrepancies: 0,
        },
        unbalanced_entries: facts
            .unbalanced
            .iter()
            .map(|u| {
                Ok(UnbalancedEntry {
                    entry_id: facts.ids.get(u.entry).to_owned(),
                    debit: money(u.debit_fen, "an entry's debits")?,
                    credit: money(u.credit_fen, "an entry's credits")?,
                })
            })
            .collect::<Result<_, ReconError>>()?,
        invalid_postings: facts
            .invalid
            .iter()
            .map(|i| InvalidPosting {
                entry_id: facts.ids.get(i.entry).to_owned(),
                account: i.account.clone(),
                reason: i.reason.to_owned(),
            })
            .collect(),
        unit_mismatches: Vec::new(),
        units_missing_in_bank: Vec::new(),
        units_unknown_to_registry: bank_balances.as_ref().map(|b| b.1.clone()).unwrap_or_default(),
        overdrawn_units: Vec::new(),
        topup_required: Vec::new(),
        buildings: Vec::new(),
        estates: Vec::new(),
        bank_reconciliation: None,
    };
    roll_up(city, outcomes, has_bank, &mut report)?;
    report.summary.unit_bank_total = bank.unit_balances.map(bank_file_total).transpose()?;
    if let Some(lines) = bank.statement {
        report.bank_reconciliation = Some(reconcile_statement(facts, lines, parallel)?);
    }
    sort_lists(&mut report);
    report.summary.discrepancies = report.discrepancy_counts().iter().map(|(_, n)| n).sum();
    Ok(report)
}

/// The sum of every row of the bank's file, units unknown to the registry included, so that it
/// ties to the bank's own total (SPEC §3); the building and estate figures count registry units only.
fn bank_file_total(rows: &[Located<UnitBalance>]) -> Result<Money, ReconError> {
    money(rows.iter().map(|row| i128::from(row.value.balance.fen())).sum(), "the bank's unit total")
}

type BankBalances = (Vec<Option<i64>>, Vec<UnitUnknownToRegistry>);

fn bank_balances_by_unit(city: &CityIndex, rows: Option<&[Located<UnitBalance>]>) -> Option<BankBalances> {
    let rows = rows?;
    let mut by_unit = vec![None; city.units()];
    let mut unknown = Vec::new();
    for row in rows {
        match city.unit(&row.value.unit_id) {
            Some(unit) => by_unit[unit as usize] = Some(row.value.balance.fen()),
            None => unknown.push(UnitUnknownToRegistry { unit_id: row.value.unit_id.clone(), bank: row.value.balance }),
        }
    }
    Some((by_unit, unknown))
}

fn compare_building(
    city: &CityIndex,
    facts: &JournalFacts,
    bank: Option<&[Option<i64>]>,
    building: usize,
    units: &[u32],
) -> BuildingOutcome {
    let mut out = BuildingOutcome { units: units.len(), ..BuildingOutcome::default() };
    let estate_id = &city.estate_ids[city.building_estate[building] as usize];
    for &unit in units {
        let u = unit as usize;
        let ledger_fen = facts.unit_balance_fen[u];
        let ledger = Money::from_fen(ledger_fen);
        out.rollup_ledger += i128::from(ledger_fen);
        let unit_id = || city.unit_id(unit).to_owned();
        if let Some(bank) = bank {
            match bank[u] {
                Some(bank_fen) => {
                    out.rollup_bank += i128::from(bank_fen);
                    if bank_fen != ledger_fen {
                        out.mismatched += 1;
                        let (building_id, estate_id) = (city.building_ids[building].clone(), estate_id.clone());
                        let Some(difference) = ledger_fen.checked_sub(bank_fen).map(Money::from_fen) else {
                            out.overflow = true;
                            continue;
                        };
                        out.mismatches.push(UnitMismatch {
                            unit_id: unit_id(),
                            building_id,
                            estate_id,
                            ledger,
                            bank: Money::from_fen(bank_fen),
                            difference,
                        });
                    }
                }
                None => {
                    out.mismatched += 1;
                    out.missing.push(UnitMissingInBank { unit_id: unit_id(), ledger });
                }
            }
        }
        if ledger_fen < 0 {
            out.overdrawn.push(OverdrawnUnit { unit_id: unit_id(), balance: ledger });
        }
        // Below 30 % of the first deposit: 10 × balance < 3 × first, exact in integers.
        if let Some(first) = facts.first_deposit[u] {
            if i128::from(ledger_fen) * 10 < i128::from(first.fen) * 3 {
                out.topup.push(TopupRequired {
                    unit_id: unit_id(),
                    balance: ledger,
                    first_deposit: Money::from_fen(first.fen),
                });
            }
        }
    }
    out
}

fn roll_up(
    city: &CityIndex,
    outcomes: Vec<BuildingOutcome>,
    has_bank: bool,
    report: &mut Report,
) -> Result<(), ReconError> {
    let mut estates: Vec<(usize, i128, i128, usize)> = vec![(0, 0, 0, 0); city.estate_ids.len()];
    let mut city_ledger = 0i128;
    for (building, outcome) in outcomes.into_iter().enumerate() {
        let estate = city.building_estate[building] as usize;
        let e = &mut estates[estate];
        e.0 += outcome.units;
        e.1 += outcome.rollup_ledger;
        e.2 += outcome.rollup_bank;
        e.3 += outcome.mismatched;
        city_ledger += outcome.rollup_ledger;
        report.buildings.push(BuildingRollup {
            building_id: city.building_ids[building].clone(),
            estate_id: city.estate_ids[estate].clone(),
            units: outcome.units,
            ledger: money(outcome.rollup_ledger, "a building's ledger total")?,
            bank: has_bank.then(|| money(outcome.rollup_bank, "a building's bank total")).transpose()?,
            mismatched_units: outcome.mismatched,
        });
        report.unit_mismatches.extend(outcome.mismatches);
        report.units_missing_in_bank.extend(outcome.missing);
        report.overdrawn_units.extend(outcome.overdrawn);
        report.topup_required.extend(outcome.topup);
    }
    for (estate, (units, ledger, bank, mismatched)) in estates.into_iter().enumerate() {
        report.estates.push(EstateRollup {
            estate_id: city.estate_ids[estate].clone(),
            units,
            ledger: money(ledger, "an estate's ledger total")?,
            bank: has_bank.then(|| money(bank, "an estate's bank total")).transpose()?,
            mismatched_units: mismatched,
        });
    }
    report.summary.unit_ledger_total = money(city_ledger, "the city's ledger total")?;
    Ok(())
}

fn reconcile_statement(
    facts: &JournalFacts,
    lines: &[Located<StatementLine>],
    parallel: bool,
) -> Result<BankReconciliation, ReconError> {
    let matching = matching::match_statement(&facts.bank, &facts.ids, lines, parallel);
    let statement_total: i128 = lines.iter().map(|l| i128::from(l.value.amount.fen())).sum();
    let book_total = money(facts.bank_book_fen, "the bank book balance")?;
    let statement_total = money(statement_total, "the statement total")?;
    Ok(BankReconciliation {
        matched: matching.matched,
        unmatched_ledger: matching
            .unmatched_postings
            .iter()
            .map(|&p| {
                let posting = &facts.bank[p];
                UnmatchedLedger {
                    entry_id: facts.ids.get(posting.entry).to_owned(),
                    date: posting.date,
                    amount: Money::from_fen(posting.signed_fen),
                }
            })
            .collect(),
        unmatched_statement: matching
            .unmatched_lines
            .iter()
            .map(|&l| UnmatchedStatement {
                txn_id: lines[l].value.txn_id.clone(),
                date: lines[l].value.date,
                amount: lines[l].value.amount,
            })
            .collect(),
        book_total,
        statement_total,
        difference: book_total
            .checked_sub(statement_total)
            .map_err(|_| ReconError::Overflow("the statement difference"))?,
    })
}

/// Every list sorted by its first field; ties keep a full, deterministic order.
fn sort_lists(report: &mut Report) {
    report.unbalanced_entries.sort_by(|a, b| a.entry_id.cmp(&b.entry_id));
    report
        .invalid_postings
        .sort_by(|a, b| (&a.entry_id, &a.account, &a.reason).cmp(&(&b.entry_id, &b.account, &b.reason)));
    report.unit_mismatches.sort_by(|a, b| a.unit_id.cmp(&b.unit_id));
    report.units_missing_in_bank.sort_by(|a, b| a.unit_id.cmp(&b.unit_id));
    report.units_unknown_to_registry.sort_by(|a, b| a.unit_id.cmp(&b.unit_id));
    report.overdrawn_units.sort_by(|a, b| a.unit_id.cmp(&b.unit_id));
    report.topup_required.sort_by(|a, b| a.unit_id.cmp(&b.unit_id));
    report.buildings.sort_by(|a, b| a.building_id.cmp(&b.building_id));
    report.estates.sort_by(|a, b| a.estate_id.cmp(&b.estate_id));
    if let Some(bank) = &mut report.bank_reconciliation {
        bank.unmatched_ledger.sort_by(|a, b| (&a.entry_id, a.date, a.amount).cmp(&(&b.entry_id, b.date, b.amount)));
        bank.unmatched_statement.sort_by(|a, b| a.txn_id.cmp(&b.txn_id));
    }
}

/// Estates with the most mismatched units, most first (ties by estate id), for the summary.
pub fn worst_estates(report: &Report, limit: usize) -> Vec<&EstateRollup> {
    let mut estates: Vec<&EstateRollup> = report.estates.iter().filter(|e| e.mismatched_units > 0).collect();
    estates.sort_by(|a, b| b.mismatched_units.cmp(&a.mismatched_units).then_with(|| a.estate_id.cmp(&b.estate_id)));
    estates.truncate(limit);
    estates
}

#[cfg(test)]
mod tests;
