//! Deciding what an import may post: the checks that need the files and the stored ledger
//! together. The store loads what it holds, this module judges, the store writes the plan.
//!
//! The database only ever holds valid, balanced entries, so every problem here refuses the
//! whole import; the plan lists only what is new, which makes importing twice a no-op.

use std::collections::{HashMap, HashSet};

use crate::account::Account;
use crate::audit::{Hash, StoredEntry};
use crate::entry::{Entry, EntryError, Posting};
use crate::interchange::{InputError, Located, RawEntry, BUILDINGS_FILE, JOURNAL_FILE, UNITS_FILE};
use crate::registry::{Building, Estate, Unit};

/// How many problems a refusal spells out; the rest are only counted.
pub const MAX_PROBLEMS_SHOWN: usize = 100;

/// The interchange files of one import; an absent file is an empty list.
#[derive(Debug, Default, Clone)]
pub struct CityFiles {
    pub estates: Vec<Located<Estate>>,
    pub buildings: Vec<Located<Building>>,
    pub units: Vec<Located<Unit>>,
    pub journal: Vec<RawEntry>,
}

/// What the database already holds, as far as an import needs to know.
#[derive(Debug, Default, Clone)]
pub struct StoredState {
    pub estates: HashMap<String, Estate>,
    pub buildings: HashMap<String, Building>,
    pub units: HashMap<String, Unit>,
    /// Content hash of every posted entry, by `entry_id`.
    pub entry_hashes: HashMap<String, Hash>,
}

/// A checked entry ready to post, with its canonical stored form and content hash.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub entry: Entry,
    pub stored: StoredEntry,
    pub content_hash: Hash,
}

/// Everything new in the files; what was already stored identically is only counted.
#[derive(Debug, Default)]
pub struct ImportPlan {
    pub estates: Vec<Estate>,
    pub buildings: Vec<Building>,
    pub units: Vec<Unit>,
    pub entries: Vec<NewEntry>,
    pub already_stored: usize,
}

impl ImportPlan {
    pub fn postings(&self) -> usize {
        self.entries.iter().map(|e| e.entry.postings().len()).sum()
    }
}

/// One reason to refuse an import. `stored_entry` names an entry whose stored version the
/// message should be shown beside (the same `entry_id` posted with other content).
#[derive(Debug, Clone)]
pub struct Problem {
    pub error: InputError,
    pub stored_entry: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Refusal {
    /// The first [`MAX_PROBLEMS_SHOWN`] problems, in file order.
    pub problems: Vec<Problem>,
    pub total: usize,
}

impl Refusal {
    fn push(&mut self, error: InputError, stored_entry: Option<String>) {
        self.total += 1;
        if self.problems.len() < MAX_PROBLEMS_SHOWN {
            self.problems.push(Problem {
                error,
                stored_entry,
            });
        }
    }
}

fn located(file: &str, line: u64, column: Option<(usize, &str)>, message: String) -> InputError {
    InputError {
        file: file.to_owned(),
        line,
        column: column.map(|(n, name)| (n, name.to_owned())),
        message,
    }
}

/// Checks the files against themselves and the stored ledger and returns what to write.
pub fn plan_import(stored: &StoredState, files: CityFiles) -> Result<ImportPlan, Refusal> {
    let mut refusal = Refusal::default();
    let mut plan = ImportPlan::default();
    plan_registry(stored, &files, &mut plan, &mut refusal);
    let known_units: HashSet<&str> = stored
        .units
        .keys()
        .map(String::as_str)
        .chain(files.units.iter().map(|u| u.value.unit_id.as_str()))
        .collect();
    let known_entries: HashSet<&str> = stored
        .entry_hashes
        .keys()
        .map(String::as_str)
        .chain(files.journal.iter().map(|e| e.entry_id.as_str()))
        .collect();
    for raw in &files.journal {
        match check_entry(raw, &known_units, &known_entries) {
            Ok(entry) => {
                let stored_form = StoredEntry::from_entry(&entry);
                let content_hash = stored_form.content_hash();
                match stored.entry_hashes.get(entry.id()) {
                    Some(hash) if *hash == content_hash => plan.already_stored += 1,
                    Some(_) => {
                        let message = format!("entry `{}` is already posted with different content; in this file:\n{}", entry.id(), stored_form.describe());
                        refusal.push(
                            located(JOURNAL_FILE, raw.line, Some((1, "entry_id")), message),
                            Some(entry.id().to_owned()),
                        );
                    }
                    None => plan.entries.push(NewEntry {
                        entry,
                        stored: stored_form,
                        content_hash,
                    }),
                }
            }
            Err(error) => refusal.push(error, None),
        }
    }
    if refusal.total > 0 {
        return Err(refusal);
    }
    Ok(plan)
}

/// Compares a registry row with what is stored under its id: new, identical, or conflicting.
fn classify<T: PartialEq + std::fmt::Debug>(
    stored: Option<&T>,
    row: &Located<T>,
    file: &str,
    id: &str,
    refusal: &mut Refusal,
) -> bool {
    match stored {
        None => true,
        Some(existing) if *existing == row.value => false,
        Some(existing) => {
            let message = format!(
                "`{id}` is already registered as {existing:?}; this row says {:?}",
                row.value
            );
            refusal.push(located(file, row.line, Some((1, "id")), message), None);
            false
        }
    }
}

fn plan_registry(
    stored: &StoredState,
    files: &CityFiles,
    plan: &mut ImportPlan,
    refusal: &mut Refusal,
) {
    let file_estates: HashSet<&str> = files
        .estates
        .iter()
        .map(|e| e.value.estate_id.as_str())
        .collect();
    let file_buildings: HashSet<&str> = files
        .buildings
        .iter()
        .map(|b| b.value.building_id.as_str())
        .collect();
    for row in &files.estates {
        let id = &row.value.estate_id;
        if classify(
            stored.estates.get(id),
            row,
            crate::interchange::ESTATES_FILE,
            id,
            refusal,
        ) {
            plan.estates.push(row.value.clone());
        }
    }
    for row in &files.buildings {
        let b = &row.value;
        if !stored.estates.contains_key(&b.estate_id)
            && !file_estates.contains(b.estate_id.as_str())
        {
            refusal.push(
                located(
                    BUILDINGS_FILE,
                    row.line,
                    Some((2, "estate_id")),
                    format!(
                        "building `{}` points at estate `{}`, which is not registered",
                        b.building_id, b.estate_id
                    ),
                ),
                None,
            );
        } else if classify(
            stored.buildings.get(&b.building_id),
            row,
            BUILDINGS_FILE,
            &b.building_id,
            refusal,
        ) {
            plan.buildings.push(b.clone());
        }
    }
    for row in &files.units {
        let u = &row.value;
        if !stored.buildings.contains_key(&u.building_id)
            && !file_buildings.contains(u.building_id.as_str())
        {
            refusal.push(
                located(
                    UNITS_FILE,
                    row.line,
                    Some((2, "building_id")),
                    format!(
                        "unit `{}` points at building `{}`, which is not registered",
                        u.unit_id, u.building_id
                    ),
                ),
                None,
            );
        } else if classify(
            stored.units.get(&u.unit_id),
            row,
            UNITS_FILE,
            &u.unit_id,
            refusal,
        ) {
            plan.units.push(u.clone());
        }
    }
}

/// Turns a raw journal entry into a checked [`Entry`], or the first reason it cannot be posted.
pub fn check_entry(
    raw: &RawEntry,
    known_units: &HashSet<&str>,
    known_entries: &HashSet<&str>,
) -> Result<Entry, InputError> {
    let mut postings = Vec::with_capacity(raw.postings.len());
    for p in &raw.postings {
        let account_error =
            |message: String| located(JOURNAL_FILE, p.line, Some((4, "account")), message);
        let account: Account = p
            .account
            .parse()
            .map_err(|e: crate::account::AccountError| account_error(e.to_string()))?;
        if let Some(unit_id) = account.unit_id() {
            if !known_units.contains(unit_id) {
                return Err(account_error(format!(
                    "unit `{unit_id}` is not in the registry"
                )));
            }
        }
        postings.push(Posting {
            account,
            side: p.side,
            amount: p.amount,
            memo: p.memo.clone(),
        });
    }
    if let Some(target) = &raw.reverses {
        if !known_entries.contains(target.as_str()) {
            return Err(located(
                JOURNAL_FILE,
                raw.line,
                Some((8, "reverses")),
                format!(
                    "entry `{}` reverses `{target}`, which is not in the ledger",
                    raw.entry_id
                ),
            ));
        }
    }
    Entry::new(
        raw.entry_id.clone(),
        raw.date,
        raw.kind,
        raw.reverses.clone(),
        postings,
    )
    .map_err(|e| {
        let column = match e {
            EntryError::ReversalWithoutTarget | EntryError::ReversesItself => Some((8, "reverses")),
            _ => None,
        };
        located(
            JOURNAL_FILE,
            raw.line,
            column,
            format!("entry `{}`: {e}", raw.entry_id),
        )
    })
}
