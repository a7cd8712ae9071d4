//! What the journal says, folded entry by entry into per-unit balances and the lists the
//! report needs. Chunks of the journal are folded in parallel into [`ChunkFacts`] (sparse
//! lists) and absorbed in file order into one [`JournalFacts`] (dense per unit), so the result
//! does not depend on how the journal was cut.

use crate::account::{classify, AccountFault, ChartClass, EntryKind};
use crate::date::Date;
use crate::recon::city::{CityIndex, UnitCursor};

/// How a posting's account reads against the chart and the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountClass {
    Unit(u32),
    Bank,
    /// `income:*`, `payable:*`, `suspense`: neither a unit nor the bank.
    Other,
    Invalid(AccountFault),
}

/// The chart's reading of `account` ([`crate::account::classify`]), with units looked up in the registry.
pub fn classify_account(account: &str, city: &CityIndex, cursor: &mut UnitCursor) -> AccountClass {
    match classify(account) {
        Ok((ChartClass::Unit, id)) => {
            city.unit_near(id, cursor).map_or(AccountClass::Invalid(AccountFault::UnknownUnit), AccountClass::Unit)
        }
        Ok((ChartClass::Bank, _)) => AccountClass::Bank,
        Ok(_) => AccountClass::Other,
        Err(fault) => AccountClass::Invalid(fault),
    }
}

/// One posting as read: account text and amount, + debit, − credit.
#[derive(Debug, Clone, Copy)]
pub struct PostingIn<'a> {
    pub account: &'a str,
    pub signed_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankPosting {
    pub entry: u32,
    pub date: Date,
    /// + money in (debit), − money out (credit).
    pub signed_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbalanced {
    pub entry: u32,
    pub debit_fen: i128,
    pub credit_fen: i128,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub entry: u32,
    pub account: String,
    pub reason: &'static str,
}

/// A deposit entry's credit to one unit; the earliest by (date, entry_id) is the first deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepositCredit {
    pub unit: u32,
    pub date: Date,
    pub entry: u32,
    pub fen: i64,
}

/// Entry ids, kept in one buffer: millions of entries, no allocation each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryIds {
    text: String,
    ends: Vec<u32>,
    lines: Vec<u64>,
}

impl EntryIds {
    fn push(&mut self, id: &str, line: u64) -> u32 {
        self.text.push_str(id);
        self.ends.push(u32::try_from(self.text.len()).expect("entry ids fit in 4 GiB"));
        self.lines.push(line);
        (self.ends.len() - 1) as u32
    }

    pub fn get(&self, entry: u32) -> &str {
        let i = entry as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    pub fn line(&self, entry: u32) -> u64 {
        self.lines[entry as usize]
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Moves `other`'s ids to the end of these, leaving `other` empty with its capacity.
    fn append(&mut self, other: &mut EntryIds) {
        let base = self.text.len() as u32;
        self.text.push_str(&other.text);
        self.ends.extend(other.ends.drain(..).map(|e| e + base));
        self.lines.append(&mut other.lines);
        other.text.clear();
    }
}

/// The facts of one chunk of the journal, with entry numbers local to the chunk.
#[derive(Debug, Default)]
pub struct ChunkFacts {
    pub entries: u64,
    pub postings: u64,
    ids: EntryIds,
    /// (unit, credits − debits) of every unit posting of a valid entry.
    unit_changes: Vec<(u32, i64)>,
    deposits: Vec<DepositCredit>,
    bank: Vec<BankPosting>,
    unbalanced: Vec<Unbalanced>,
    invalid: Vec<Invalid>,
    bank_book_fen: i128,
    others_fen: i128,
    /// Newlines the chunk spans.
    pub lines: u64,
    // Reused between entries.
    classes: Vec<AccountClass>,
    cursor: UnitCursor,
}

impl ChunkFacts {
    /// Folds one entry in. Unbalanced entries and entries with an invalid posting are listed
    /// and take no further part.
    pub fn add_entry(
        &mut self,
        city: &CityIndex,
        entry_id: &str,
        line: u64,
        date: Date,
        kind: EntryKind,
        postings: &[PostingIn<'_>],
    ) {
        let mut classes = std::mem::take(&mut self.classes);
        classes.clear();
        classes.extend(postings.iter().map(|p| classify_account(p.account, city, &mut self.cursor)));
        self.add_classified(entry_id, line, date, kind, postings, &classes);
        self.classes = classes;
    }

    /// Folds one entry whose accounts are already classified (`classes[i]` for `postings[i]`):
    /// the in-memory core of reconciliation, integer work only.
    pub fn add_classified(
        &mut self,
        entry_id: &str,
        line: u64,
        date: Date,
        kind: EntryKind,
        postings: &[PostingIn<'_>],
        classes: &[AccountClass],
    ) {
        self.entries += 1;
        self.postings += postings.len() as u64;
        let entry = self.ids.push(entry_id, line);
        let mut valid = true;
        // i128: no sum of i64 postings can overflow it, so no overflow can make sides look equal.
        let (mut debit_fen, mut credit_fen) = (0i128, 0i128);
        for (p, class) in postings.iter().zip(classes) {
            if let AccountClass::Invalid(fault) = *class {
                self.invalid.push(Invalid { entry, account: p.account.to_owned(), reason: fault.reason() });
                valid = false;
            }
            if p.signed_fen > 0 {
                debit_fen += i128::from(p.signed_fen);
            } else {
                credit_fen -= i128::from(p.signed_fen);
            }
        }
        if debit_fen != credit_fen {
            self.unbalanced.push(Unbalanced { entry, debit_fen, credit_fen });
            valid = false;
        }
        if valid {
            self.apply(entry, date, kind, postings, classes);
        }
    }

    fn apply(&mut self, entry: u32, date: Date, kind: EntryKind, postings: &[PostingIn<'_>], classes: &[AccountClass]) {
        let deposits_from = self.deposits.len();
        for (p, class) in postings.iter().zip(classes) {
            match *class {
                AccountClass::Unit(unit) => {
                    self.unit_changes.push((unit, -p.signed_fen));
                    if kind == EntryKind::Deposit && p.signed_fen < 0 {
                        match self.deposits[deposits_from..].iter_mut().find(|d| d.unit == unit) {
                            Some(d) => d.fen = d.fen.saturating_sub(p.signed_fen),
                            None => self.deposits.push(DepositCredit { unit, date, entry, fen: -p.signed_fen }),
                        }
                    }
                }
                AccountClass::Bank => {
                    self.bank.push(BankPosting { entry, date, signed_fen: p.signed_fen });
                    self.bank_book_fen += i128::from(p.signed_fen);
                }
                AccountClass::Other => self.others_fen -= i128::from(p.signed_fen),
                AccountClass::Invalid(_) => unreachable!("invalid entries are not applied"),
            }
        }
    }
}

/// The whole journal's facts, per unit and in lists, with entries numbered in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalFacts {
    pub entries: u64,
    pub postings: u64,
    pub ids: EntryIds,
    /// Ledger balance (credits − debits) of every registry unit, by unit number.
    pub unit_balance_fen: Vec<i64>,
    /// The first deposit of every unit that has one.
    pub first_deposit: Vec<Option<DepositCredit>>,
    pub bank: Vec<BankPosting>,
    pub unbalanced: Vec<Unbalanced>,
    pub invalid: Vec<Invalid>,
    pub bank_book_fen: i128,
    /// Credits − debits of every account that is neither the bank nor a unit.
    pub others_fen: i128,
    /// Set when a unit's balance left the range of `i64` fen.
    pub overflow: bool,
}

impl JournalFacts {
    pub fn new(city: &CityIndex) -> JournalFacts {
        JournalFacts {
            entries: 0,
            postings: 0,
            ids: EntryIds::default(),
            unit_balance_fen: vec![0; city.units()],
            first_deposit: vec![None; city.units()],
            bank: Vec::new(),
            unbalanced: Vec::new(),
            invalid: Vec::new(),
            bank_book_fen: 0,
            others_fen: 0,
            overflow: false,
        }
    }

    /// Adds the next chunk of the journal, in file order.
    /// Takes everything `chunk` holds, leaving it empty with its buffers kept for reuse: fresh
    /// buffers for every block cost more in page faults than the scan itself.
    pub fn absorb(&mut self, chunk: &mut ChunkFacts) {
        let base = self.ids.len() as u32;
        self.entries += std::mem::take(&mut chunk.entries);
        self.postings += std::mem::take(&mut chunk.postings);
        chunk.lines = 0;
        for (unit, fen) in chunk.unit_changes.drain(..) {
            let balance = &mut self.unit_balance_fen[unit as usize];
            match balance.checked_add(fen) {
                Some(sum) => *balance = sum,
                None => self.overflow = true,
            }
        }
        self.ids.append(&mut chunk.ids);
        for mut deposit in chunk.deposits.drain(..) {
            deposit.entry += base;
            let slot = &mut self.first_deposit[deposit.unit as usize];
            let earlier = match slot {
                None => true,
                Some(current) => {
                    (deposit.date, self.ids.get(deposit.entry)) < (current.date, self.ids.get(current.entry))
                }
            };
            if earlier {
                *slot = Some(deposit);
            }
        }
        self.bank.extend(chunk.bank.drain(..).map(|b| BankPosting { entry: b.entry + base, ..b }));
        self.unbalanced.extend(chunk.unbalanced.drain(..).map(|u| Unbalanced { entry: u.entry + base, ..u }));
        self.invalid.extend(chunk.invalid.drain(..).map(|i| Invalid { entry: i.entry + base, ..i }));
        self.bank_book_fen += std::mem::take(&mut chunk.bank_book_fen);
        self.others_fen += std::mem::take(&mut chunk.others_fen);
    }
}
