//! Deciding what an import may post: the checks that need the files and the stored ledger
//! together. The store loads what it holds, this module judges, the store writes the plan.
//!
//! The database only ever holds valid, balanced entries, so every problem here refuses the
//! whole import; the plan lists only what is new, which makes importing twice a no-op.

use std::collections::{HashMap, HashSet};

use thiserror::Error;

use crate::account::{generated_id_prefix, Account, AccountError, AccountFault, EntryKind};
use crate::audit::{Hash, StoredEntry};
use crate::entry::{side_totals, Entry, EntryError, Posting};
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
    /// The fund's configured special accounts (`bank:<no>`), the payment account first.
    pub bank_accounts: Vec<String>,
    /// The sum of every debit ever posted (= of every credit): no account's running total, and
    /// no balance of any scope, can exceed it.
    pub ledger_debit_fen: i64,
    /// Owners that a dated version changed (SPEC §10), the latest by unit.
    pub current_owners: HashMap<String, String>,
    /// Street office and property company that a dated version changed, the latest by estate.
    pub current_offices: HashMap<String, (String, String)>,
    /// Units closed by a refund: they take no more postings.
    pub closed_units: ClosedUnits,
}

/// How an import was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// A clerk's import of the fund's own journal: deposits, top-ups, interest, corrections.
    Ordinary,
    /// An admin's import of another system's history (`mfund import --migration --as ADMIN`).
    Migration,
}

/// What an import is taken as, which decides whether it may bring entries that only a
/// workflow may post (see [`EntryKind::is_workflow_only`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Workflow entries are refused.
    Ordinary,
    /// The first entries of an empty ledger: the history the fund starts from, brought over from
    /// the system before mfund, workflow entries included. Recorded as such.
    Opening,
    /// An admin's migration import: workflow entries admitted, recorded as such.
    Migration,
}

impl Admission {
    /// An ordinary import into a ledger without entries is its opening; a migration import is
    /// always a migration.
    pub fn of(kind: ImportKind, stored: &StoredState) -> Admission {
        match kind {
            ImportKind::Migration => Admission::Migration,
            ImportKind::Ordinary if stored.entry_hashes.is_empty() => Admission::Opening,
            ImportKind::Ordinary => Admission::Ordinary,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Admission::Ordinary => "ordinary",
            Admission::Opening => "opening",
            Admission::Migration => "migration",
        }
    }

    fn admits_workflow_entries(self) -> bool {
        self != Admission::Ordinary
    }
}

/// Why a new entry may not be posted by an import, though it is well formed and balanced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ImportFault {
    #[error(
        "entry id `{entry_id}` begins with `{prefix}`, which is mfund's own namespace (its drawdown payments are \
         DD-<drawdown>-advance and DD-<drawdown>-final); give the entry another id"
    )]
    GeneratedId { entry_id: String, prefix: &'static str },
    #[error(
        "entry `{entry_id}` is of kind {kind}, which charges or credits units' sub-ledgers only through mfund's \
         workflows (drawdown: the vote or the street office; allocation: mfund allocate; refund: mfund estate refund; \
         a payment only when it touches no unit); another system's history comes in by an admin's migration import: \
         mfund import --migration --as ADMIN"
    )]
    WorkflowOnly { entry_id: String, kind: EntryKind },
    #[error(
        "`{account}` is not one of the fund's special accounts ({configured}); an admin adds one with \
         mfund bank add {number} --as NAME",
        configured = describe_banks(.configured),
        number = .account.strip_prefix("bank:").unwrap_or(.account)
    )]
    UnconfiguredBank { account: String, configured: Vec<String> },
    #[error(
        "entry `{entry_id}` would take the ledger's total debits past {}, the most a running total or a balance \
         can hold exactly (i64 fen)",
        crate::Money::from_fen(i64::MAX)
    )]
    TotalOverflow { entry_id: String },
    #[error("a memo may not hold a NUL byte (U+0000): PostgreSQL cannot store one, so neither engine takes it")]
    NulInMemo,
}

fn describe_banks(configured: &[String]) -> String {
    match configured {
        [] => "none is configured yet".to_owned(),
        banks => format!("configured: {}", banks.join(", ")),
    }
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
    admission: Admission,
    configured_banks: Vec<String>,
    /// The first `bank:` account of a ledger that has none configured: it becomes the fund's.
    adopted_bank: Option<String>,
    /// Every debit posted so far, the stored ones and this import's.
    ledger_debit_fen: i64,
}

impl EntryChecker {
    pub fn new(stored: StoredState, registry: &RegistryFiles, admission: Admission) -> EntryChecker {
        let mut known_units: HashSet<String> = stored.units.into_keys().collect();
        known_units.extend(registry.units.iter().map(|u| u.value.unit_id.clone()));
        let known_entries = stored.entry_hashes.keys().cloned().collect();
        EntryChecker {
            known_units,
            known_entries,
            stored_hashes: stored.entry_hashes,
            already_stored: 0,
            admission,
            configured_banks: stored.bank_accounts,
            adopted_bank: None,
            ledger_debit_fen: stored.ledger_debit_fen,
            closed_units: stored.closed_units,
        }
    }

    /// The `bank:` account this import made the fund's special account (a ledger had none).
    pub fn adopted_bank(&self) -> Option<&str> {
        self.adopted_bank.as_deref()
    }

    /// The rules for an entry that is new to the ledger (an entry already posted identically
    /// was admitted when it was posted, and importing it again changes nothing).
    fn admit(&mut self, raw: &RawEntry, entry: &Entry) -> Result<(), InputError> {
        let refuse = |line: u64, column: Option<(usize, &str)>, fault: ImportFault| {
            located(JOURNAL_FILE, line, column, InputErrorKind::Import(fault))
        };
        if let Some(prefix) = generated_id_prefix(entry.id()) {
            let fault = ImportFault::GeneratedId { entry_id: entry.id().to_owned(), prefix };
            return Err(refuse(raw.line, Some((1, "entry_id")), fault));
        }
        if needs_workflow(entry) && !self.admission.admits_workflow_entries() {
            let fault = ImportFault::WorkflowOnly { entry_id: entry.id().to_owned(), kind: entry.kind() };
            return Err(refuse(raw.line, Some((3, "kind")), fault));
        }
        for (p, line) in entry.postings().iter().zip(raw.postings.iter().map(|p| p.line)) {
            if p.memo.contains('\0') {
                return Err(refuse(line, Some((7, "memo")), ImportFault::NulInMemo));
            }
            if let Account::Bank(_) = &p.account {
                self.admit_bank(&p.account.to_string()).map_err(|fault| refuse(line, Some((4, "account")), fault))?;
            }
        }
        let (debit, _) = side_totals(entry.postings()).expect("a built entry's sides are summed");
        self.ledger_debit_fen = self
            .ledger_debit_fen
            .checked_add(debit.fen())
            .ok_or_else(|| refuse(raw.line, None, ImportFault::TotalOverflow { entry_id: entry.id().to_owned() }))?;
        Ok(())
    }

    fn admit_bank(&mut self, account: &str) -> Result<(), ImportFault> {
        if self.configured_banks.iter().any(|b| b == account) || self.adopted_bank.as_deref() == Some(account) {
            return Ok(());
        }
        if self.configured_banks.is_empty() && self.adopted_bank.is_none() {
            self.adopted_bank = Some(account.to_owned());
            return Ok(());
        }
        let configured = self.configured_banks.iter().chain(&self.adopted_bank).cloned().collect();
        Err(ImportFault::UnconfiguredBank { account: account.to_owned(), configured })
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
                self.admit(raw, &entry).map_err(|error| Problem { error, stored_entry: None })?;
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

/// Whether only a workflow of mfund may post `entry` (see [`EntryKind::is_workflow_only`]): a
/// workflow kind, or a payment that touches a unit's sub-ledger.
pub fn needs_workflow(entry: &Entry) -> bool {
    entry.kind().is_workflow_only()
        || (entry.kind() == EntryKind::Payment && entry.postings().iter().any(|p| p.account.unit_id().is_some()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interchange::JournalReader;
    use crate::registry::{FloorArea, UnitUse};

    fn stored(entries: &[&str], banks: &[&str], debit_fen: i64) -> StoredState {
        let mut state = StoredState::default();
        let unit = Unit {
            unit_id: "U1".into(),
            building_id: "B1".into(),
            floor_area: FloorArea::from_centi_m2(10_000).unwrap(),
            unit_use: UnitUse::Residential,
            owner: "王".into(),
        };
        state.units.insert("U1".into(), unit);
        state.entry_hashes = entries.iter().map(|id| ((*id).to_owned(), [7; 32])).collect();
        state.bank_accounts = banks.iter().map(|b| (*b).to_owned()).collect();
        state.ledger_debit_fen = debit_fen;
        state
    }

    /// Checks every entry of `journal` rows; the first problem's message with its place.
    fn check(state: StoredState, admission: Admission, rows: &str) -> Result<EntryChecker, String> {
        let csv = format!("entry_id,date,kind,account,debit,credit,memo\n{rows}");
        let mut checker = EntryChecker::new(state, &RegistryFiles::default(), admission);
        for raw in JournalReader::new(csv.as_bytes()).unwrap() {
            checker.check(&raw.unwrap()).map_err(|p| p.error.to_string())?;
        }
        Ok(checker)
    }

    const DEPOSIT: &str = "J1,2025-01-02,deposit,bank:6222,10,,\nJ1,2025-01-02,deposit,unit:U1,,10,\n";

    #[test]
    fn the_first_bank_account_of_a_ledger_without_one_becomes_the_funds() {
        let checker = check(stored(&[], &[], 0), Admission::Opening, DEPOSIT).unwrap();
        assert_eq!(checker.adopted_bank(), Some("bank:6222"));
        let configured = check(stored(&["J0"], &["bank:6222"], 0), Admission::Ordinary, DEPOSIT).unwrap();
        assert_eq!(configured.adopted_bank(), None, "configured already");
    }

    #[test]
    fn a_posting_to_an_unconfigured_bank_account_is_refused_at_its_line() {
        let typo = "J2,2025-01-03,deposit,bank:622,5,,\nJ2,2025-01-03,deposit,unit:U1,,5,\n";
        let error = check(stored(&["J0"], &["bank:6222"], 0), Admission::Ordinary, typo).unwrap_err();
        assert!(error.starts_with("journal.csv:2:4: column `account`"), "{error}");
        assert!(error.contains("`bank:622`") && error.contains("configured: bank:6222"), "{error}");
        assert!(error.contains("mfund bank add 622 --as"), "{error}");
        // Within one import, too: the first one is adopted, the second refused on its own line.
        let two = format!("{DEPOSIT}J2,2025-01-03,deposit,unit:U1,5,,\nJ2,2025-01-03,deposit,bank:622,,5,\n");
        let error = check(stored(&[], &[], 0), Admission::Opening, &two).unwrap_err();
        assert!(error.starts_with("journal.csv:5:4:"), "{error}");
    }

    #[test]
    fn generated_ids_are_refused_whatever_the_admission() {
        let rows = "DD-G9-advance,2025-01-02,deposit,bank:6222,10,,\nDD-G9-advance,2025-01-02,deposit,unit:U1,,10,\n";
        for admission in [Admission::Ordinary, Admission::Opening, Admission::Migration] {
            let error = check(stored(&["J0"], &["bank:6222"], 0), admission, rows).unwrap_err();
            assert!(error.starts_with("journal.csv:2:1: column `entry_id`"), "{error}");
            assert!(error.contains("`DD-`"), "{error}");
        }
        // The drawdown planner's ids are in that namespace.
        let id = crate::drawdown::plan::payment_entry_id("G9", crate::drawdown::Tranche::Advance);
        assert_eq!(generated_id_prefix(&id), Some("DD-"));
    }

    #[test]
    fn workflow_entries_need_an_opening_or_a_migration() {
        let drawdown = "W1,2025-01-02,drawdown,unit:U1,10,,\nW1,2025-01-02,drawdown,bank:6222,,10,\n";
        let refund = drawdown.replace("drawdown", "refund");
        let allocation = "A1,2025-01-02,allocation,income:interest,10,,\nA1,2025-01-02,allocation,unit:U1,,10,\n";
        let unit_payment = drawdown.replace("drawdown", "payment");
        for rows in [drawdown, &refund, allocation, &unit_payment] {
            let error = check(stored(&["J0"], &["bank:6222"], 0), Admission::Ordinary, rows).unwrap_err();
            assert!(error.starts_with("journal.csv:2:3: column `kind`"), "{error}");
            assert!(error.contains("--migration --as ADMIN"), "{error}");
            for admitted in [Admission::Opening, Admission::Migration] {
                assert!(check(stored(&["J0"], &["bank:6222"], 0), admitted, rows).is_ok(), "{rows}");
            }
        }
        let contractor = "P1,2025-01-02,payment,payable:C1,10,,\nP1,2025-01-02,payment,bank:6222,,10,\n";
        assert!(check(stored(&["J0"], &["bank:6222"], 0), Admission::Ordinary, contractor).is_ok());
    }

    #[test]
    fn an_import_into_an_empty_ledger_is_its_opening() {
        assert_eq!(Admission::of(ImportKind::Ordinary, &stored(&[], &[], 0)), Admission::Opening);
        assert_eq!(Admission::of(ImportKind::Ordinary, &stored(&["J0"], &[], 0)), Admission::Ordinary);
        assert_eq!(Admission::of(ImportKind::Migration, &stored(&["J0"], &[], 0)), Admission::Migration);
    }

    #[test]
    fn an_entry_past_the_range_of_running_totals_is_refused_by_name() {
        // 10^15 yuan is the largest amount; 92 of them fit in i64 fen, the 93rd does not.
        let most = "1000000000000000";
        let mut rows = String::new();
        for k in 1..=93 {
            rows.push_str(&format!(
                "J{k},2025-01-02,deposit,bank:6222,{most},,\nJ{k},2025-01-02,deposit,unit:U1,,{most},\n"
            ));
        }
        let error = check(stored(&["J0"], &["bank:6222"], 0), Admission::Ordinary, &rows).unwrap_err();
        assert!(error.starts_with("journal.csv:186:"), "{error}");
        assert!(error.contains("entry `J93`") && error.contains("92233720368547758.07"), "{error}");
        // What is stored counts too.
        let one = format!("J1,2025-01-02,deposit,bank:6222,{most},,\nJ1,2025-01-02,deposit,unit:U1,,{most},\n");
        let error = check(stored(&["J0"], &["bank:6222"], i64::MAX - 5), Admission::Ordinary, &one).unwrap_err();
        assert!(error.contains("entry `J1`"), "{error}");
    }

    #[test]
    fn a_nul_byte_in_a_memo_is_refused_at_its_column() {
        let rows = "J1,2025-01-02,deposit,bank:6222,10,,\nJ1,2025-01-02,deposit,unit:U1,,10,a\0b\n";
        let error = check(stored(&["J0"], &["bank:6222"], 0), Admission::Ordinary, rows).unwrap_err();
        assert!(error.starts_with("journal.csv:3:7: column `memo`"), "{error}");
        assert!(error.contains("NUL"), "{error}");
    }
}
