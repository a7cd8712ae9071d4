//! Deciding what an import may post: the checks that need the files and the stored ledger
//! together. The store loads what it holds, this module judges, the store writes the plan.
//!
//! The database only ever holds valid, balanced entries, so every problem here refuses the
//! whole import; the plan lists only what is new, which makes importing twice a no-op.

use std::collections::{HashMap, HashSet};

use crate::account::{Account, AccountError, AccountFault};
use crate::audit::{Hash, StoredEntry};
use crate::entry::{Entry, EntryError, Posting};
use crate::estate::ClosedUnits;
use crate::interchange::{
    unknown_parent, InputError, InputErrorKind, Located, RawEntry, BUILDINGS_FILE, JOURNAL_FILE, UNITS_FILE,
};
use crate::registry::{Building, Estate, Unit};

/// How many problems a refusal spells out; the rest are only counted.
pub const MAX_PROBLEMS_SHOWN: usize = 100;

/// The registry files of one import; an absent file is an empty list.
#[derive(Debug, Default, Clone)]
pub struct RegistryFiles {
    pub estates: Vec<Located<Estate>>,
    pub buildings: Vec<Located<Building>>,
    pub units: Vec<Located<Unit>>,
}

/// What the database already holds, as far as an import needs to know.
#[derive(Debug, Default, Clone)]
pub struct StoredState {
    pub estates: HashMap<String, Estate>,
    pub buildings: HashMap<String, Building>,
    pub units: HashMap<String, Unit>,
    /// Content hash of every posted entry, by `entry_id`.
    pub entry_hashes: HashMap<String, Hash>,
    /// Owners that a dated version changed (SPEC §10), the latest by unit.
    pub current_owners: HashMap<String, String>,
    /// Street office and property company that a dated version changed, the latest by estate.
    pub current_offices: HashMap<String, (String, String)>,
    /// Units closed by a refund: they take no more postings.
    pub closed_units: ClosedUnits,
}

/// A checked entry ready to post, with its canonical stored form and content hash.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub entry: Entry,
    pub stored: StoredEntry,
    pub content_hash: Hash,
}

/// The registry rows that are new; rows already stored identically are left out.
#[derive(Debug, Default)]
pub struct RegistryPlan {
    pub estates: Vec<Estate>,
    pub buildings: Vec<Building>,
    pub units: Vec<Unit>,
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
    pub fn push(&mut self, error: InputError, stored_entry: Option<String>) {
        self.total += 1;
        if self.problems.len() < MAX_PROBLEMS_SHOWN {
            self.problems.push(Problem { error, stored_entry });
        }
    }
}

fn located(file: &str, line: u64, column: Option<(usize, &str)>, kind: InputErrorKind) -> InputError {
    InputError::new(file, line, column, kind)
}

/// Judges journal entries one by one against the registry and what is already posted, so an
/// import can check and write in a stream. Entries it has seen count as known for the
/// reversals that follow them.
#[derive(Debug)]
pub struct EntryChecker {
    known_units: HashSet<String>,
    known_entries: HashSet<String>,
    stored_hashes: HashMap<String, Hash>,
    closed_units: ClosedUnits,
    already_stored: usize,
}

impl EntryChecker {
    pub fn new(stored: StoredState, registry: &RegistryFiles) -> EntryChecker {
        let mut known_units: HashSet<String> = stored.units.into_keys().collect();
        known_units.extend(registry.units.iter().map(|u| u.value.unit_id.clone()));
        let known_entries = stored.entry_hashes.keys().cloned().collect();
        let closed_units = stored.closed_units;
        EntryChecker { known_units, known_entries, stored_hashes: stored.entry_hashes, closed_units, already_stored: 0 }
    }

    /// A checked new entry, `None` when it is already posted identically, or why it cannot be.
    pub fn check(&mut self, raw: &RawEntry) -> Result<Option<NewEntry>, Problem> {
        let checked = check_entry(raw, &self.known_units, &self.known_entries);
        self.known_entries.insert(raw.entry_id.clone());
        let entry = checked.map_err(|error| Problem { error, stored_entry: None })?;
        let stored = StoredEntry::from_entry(&entry);
        let content_hash = stored.content_hash();
        match self.stored_hashes.get(entry.id()) {
            Some(hash) if *hash == content_hash => {
                self.already_stored += 1;
                Ok(None)
            }
            Some(_) => {
                let kind =
                    InputErrorKind::AlreadyPosted { entry_id: entry.id().to_owned(), described: stored.describe() };
                let error = located(JOURNAL_FILE, raw.line, Some((1, "entry_id")), kind);
                Err(Problem { error, stored_entry: Some(entry.id().to_owned()) })
            }
            None => {
                closed_unit_posting(raw, &entry, &self.closed_units)?;
                Ok(Some(NewEntry { entry, stored, content_hash }))
            }
        }
    }

    /// Entries found already posted with the same content.
    pub fn already_stored(&self) -> usize {
        self.already_stored
    }
}

/// A new entry's first posting to a closed (refunded) unit, refused at its line.
fn closed_unit_posting(raw: &RawEntry, entry: &Entry, closed: &ClosedUnits) -> Result<(), Problem> {
    for (line, posting) in raw.postings.iter().map(|p| p.line).zip(entry.postings()) {
        let Some(unit_id) = posting.account.unit_id() else { continue };
        if let Some(closure) = closed.get(unit_id) {
            let kind = InputErrorKind::UnitClosed {
                entry_id: entry.id().to_owned(),
                unit_id: unit_id.to_owned(),
                closed_on: closure.closed_on,
            };
            return Err(Problem { error: located(JOURNAL_FILE, line, Some((4, "account")), kind), stored_entry: None });
        }
    }
    Ok(())
}

/// A changed registry fact that only a dated version may change: refused, naming the field, the
/// stored and the new value, and the verb that records such a change (SPEC §10).
fn registry_changed(
    file: &str,
    line: u64,
    column: (usize, &str),
    id: &str,
    stored: String,
    this: String,
    remedy: String,
) -> InputError {
    let kind =
        InputErrorKind::RegistryChanged { id: id.to_owned(), field: column_name(column.1), stored, this, remedy };
    located(file, line, Some(column), kind)
}

fn column_name(name: &str) -> &'static str {
    match name {
        "street_office" => "street_office",
        "property_company" => "property_company",
        "floor_area" => "floor_area",
        _ => "owner",
    }
}

/// An estate row already registered: identical to its registration or to its facts now (after
/// `mfund estate move`) is nothing new; a changed office or company is refused naming the verb.
fn classify_estate(stored: &StoredState, row: &Located<Estate>, refusal: &mut Refusal) -> bool {
    let e = &row.value;
    let Some(registered) = stored.estates.get(&e.estate_id) else { return true };
    let mut now = registered.clone();
    if let Some((office, company)) = stored.current_offices.get(&e.estate_id) {
        now.street_office = office.clone();
        now.property_company = company.clone();
    }
    if registered == e || now == *e {
        return false;
    }
    let remedy = |flag: &str, value: &str| {
        format!(
            "a move is recorded as a dated version: `mfund estate move --estate {} {flag} {value} --date D --as NAME`",
            e.estate_id
        )
    };
    let file = crate::interchange::ESTATES_FILE;
    let error = if e.street_office != now.street_office {
        let remedy = remedy("--street-office", &e.street_office);
        registry_changed(
            file,
            row.line,
            (4, "street_office"),
            &e.estate_id,
            now.street_office,
            e.street_office.clone(),
            remedy,
        )
    } else if e.property_company != now.property_company {
        let remedy = remedy("--company", &e.property_company);
        registry_changed(
            file,
            row.line,
            (5, "property_company"),
            &e.estate_id,
            now.property_company,
            e.property_company.clone(),
            remedy,
        )
    } else {
        return classify(Some(&now), row, file, &e.estate_id, refusal);
    };
    refusal.push(error, None);
    false
}

/// A unit row already registered: identical to its registration or to its facts now (after
/// `mfund estate transfer`) is nothing new; a changed owner is refused naming the verb, a
/// changed floor area as needing an admin's correction.
fn classify_unit(stored: &StoredState, row: &Located<Unit>, refusal: &mut Refusal) -> bool {
    let u = &row.value;
    let Some(registered) = stored.units.get(&u.unit_id) else { return true };
    let mut now = registered.clone();
    if let Some(owner) = stored.current_owners.get(&u.unit_id) {
        now.owner = owner.clone();
    }
    if registered == u || now == *u {
        return false;
    }
    let error = if u.floor_area != registered.floor_area {
        let remedy = "a floor area has no verb: a correction of the registry needs an admin".to_owned();
        let (stored_area, this) = (registered.floor_area.to_string(), u.floor_area.to_string());
        registry_changed(UNITS_FILE, row.line, (3, "floor_area"), &u.unit_id, stored_area, this, remedy)
    } else if u.owner != now.owner {
        let remedy = format!(
            "a sale is recorded as a dated version: `mfund estate transfer --unit {} --owner {} --date D --as NAME`",
            u.unit_id, u.owner
        );
        registry_changed(UNITS_FILE, row.line, (5, "owner"), &u.unit_id, now.owner, u.owner.clone(), remedy)
    } else {
        return classify(Some(&now), row, UNITS_FILE, &u.unit_id, refusal);
    };
    refusal.push(error, None);
    false
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
            let kind = InputErrorKind::Registered {
                id: id.to_owned(),
                stored: format!("{existing:?}"),
                this: format!("{:?}", row.value),
            };
            refusal.push(located(file, row.line, Some((1, "id")), kind), None);
            false
        }
    }
}

/// The new registry rows of the files; conflicts and unknown parents go to `refusal`.
pub fn plan_registry(stored: &StoredState, files: &RegistryFiles, refusal: &mut Refusal) -> RegistryPlan {
    let mut plan = RegistryPlan::default();
    let file_estates: HashSet<&str> = files.estates.iter().map(|e| e.value.estate_id.as_str()).collect();
    let file_buildings: HashSet<&str> = files.buildings.iter().map(|b| b.value.building_id.as_str()).collect();
    for row in &files.estates {
        if classify_estate(stored, row, refusal) {
            plan.estates.push(row.value.clone());
        }
    }
    for row in &files.buildings {
        let b = &row.value;
        if !stored.estates.contains_key(&b.estate_id) && !file_estates.contains(b.estate_id.as_str()) {
            let error = unknown_parent(
                BUILDINGS_FILE,
                row.line,
                "estate_id",
                "building",
                &b.building_id,
                "estate",
                &b.estate_id,
            );
            refusal.push(error, None);
        } else if classify(stored.buildings.get(&b.building_id), row, BUILDINGS_FILE, &b.building_id, refusal) {
            plan.buildings.push(b.clone());
        }
    }
    for row in &files.units {
        let u = &row.value;
        if !stored.buildings.contains_key(&u.building_id) && !file_buildings.contains(u.building_id.as_str()) {
            let error =
                unknown_parent(UNITS_FILE, row.line, "building_id", "unit", &u.unit_id, "building", &u.building_id);
            refusal.push(error, None);
        } else if classify_unit(stored, row, refusal) {
            plan.units.push(u.clone());
        }
    }
    plan
}

/// Turns a raw journal entry into a checked [`Entry`], or the first reason it cannot be posted.
pub fn check_entry(
    raw: &RawEntry,
    known_units: &HashSet<String>,
    known_entries: &HashSet<String>,
) -> Result<Entry, InputError> {
    let mut postings = Vec::with_capacity(raw.postings.len());
    for p in &raw.postings {
        let account_error = |e: AccountError| located(JOURNAL_FILE, p.line, Some((4, "account")), e.into());
        let account: Account = p.account.parse().map_err(account_error)?;
        if let Some(unit_id) = account.unit_id() {
            if !known_units.contains(unit_id) {
                return Err(account_error(AccountError::new(AccountFault::UnknownUnit, &p.account)));
            }
        }
        postings.push(Posting { account, side: p.side, amount: p.amount, memo: p.memo.clone() });
    }
    if let Some(target) = &raw.reverses {
        if !known_entries.contains(target.as_str()) {
            return Err(located(
                JOURNAL_FILE,
                raw.line,
                Some((8, "reverses")),
                InputErrorKind::UnknownReversed { entry_id: raw.entry_id.clone(), target: target.clone() },
            ));
        }
    }
    Entry::new(raw.entry_id.clone(), raw.date, raw.kind, raw.reverses.clone(), postings).map_err(|e| {
        let column = match e {
            EntryError::ReversesItself | EntryError::TargetOnNonReversal(_) => Some((8, "reverses")),
            _ => None,
        };
        located(JOURNAL_FILE, raw.line, column, InputErrorKind::Entry { entry_id: raw.entry_id.clone(), error: e })
    })
}
