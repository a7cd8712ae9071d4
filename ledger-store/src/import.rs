//! Writing an import: one transaction, serialised against other writers, all or nothing.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use ledger_core::actor::{authorize, Actor, Operation, Role, Target};
use ledger_core::audit::file_hash;
use ledger_core::import::{
    plan_registry, Admission, EntryChecker, ImportKind, NewEntry, Problem, Refusal, RegistryFiles,
};
use ledger_core::interchange::JournalReader;
use ledger_core::registry::{Building, Estate, Unit};

use crate::group::{Value, WriteGroup};
use crate::ledger::{add_to_totals, insert_accounts, insert_entries, totals_of, AccountNumbers, Chain, EntryRow};
use crate::query::{load_entry, load_state};
use crate::{dispatch, Pool, Store, StoreError, Tx};

/// Bytes of COPY data sent to PostgreSQL at a time.
const COPY_CHUNK_BYTES: usize = 1 << 20;

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    pub estates: usize,
    pub buildings: usize,
    pub units: usize,
    pub entries: usize,
    pub postings: usize,
    /// Entries in the files that were already posted identically.
    pub already_stored: usize,
    /// `opening` or `migration` when the import was admitted to bring workflow entries and is
    /// recorded in `import_records` as such; `None` for an ordinary import.
    pub recorded_as: Option<&'static str>,
    /// The `bank:` account this import made the fund's special account (the ledger had none).
    pub adopted_bank: Option<String>,
}

/// Who imports, and whether as an ordinary import or an admin's migration (see
/// [`ledger_core::import::Admission`]).
#[derive(Debug, Clone)]
pub struct ImportBy {
    pub actor: Actor,
    pub kind: ImportKind,
}

impl ImportBy {
    /// An ordinary import by a clerk.
    pub fn clerk(name: &str) -> Result<ImportBy, StoreError> {
        let actor = Actor::city(name, Role::Clerk).map_err(|e| StoreError::Conflict(e.to_string()))?;
        Ok(ImportBy { actor, kind: ImportKind::Ordinary })
    }

    /// An admin's migration import of another system's history.
    pub fn migration(actor: Actor) -> ImportBy {
        ImportBy { actor, kind: ImportKind::Migration }
    }
}

/// An import that was refused as a whole; the database is as it was.
#[derive(Debug, Clone)]
pub struct ImportRefused {
    pub problems: Vec<Problem>,
    pub total: usize,
    /// Stored versions of entries the files contradict, by `entry_id`.
    pub stored_versions: Vec<(String, String)>,
}

impl fmt::Display for ImportRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.total == 1 { "" } else { "s" };
        writeln!(f, "import refused, nothing was written ({} problem{plural}):", self.total)?;
        for problem in &self.problems {
            writeln!(f, "  {}", problem.error)?;
            let stored =
                problem.stored_entry.as_ref().and_then(|id| self.stored_versions.iter().find(|(s, _)| s == id));
            if let Some((_, version)) = stored {
                writeln!(f, "  stored:\n    {version}")?;
            }
        }
        if self.total > self.problems.len() {
            writeln!(f, "  … and {} more", self.total - self.problems.len())?;
        }
        Ok(())
    }
}

/// Reports postings written so far and in all, for a progress bar.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Entries per batch handed from the checking thread to the writer.
const ENTRIES_PER_BATCH: usize = 1000;
/// Batches the checker may run ahead of the writer, bounding memory on any journal size.
const BATCHES_IN_FLIGHT: usize = 8;

/// Journal rows from which an import counts as a bulk load.
const BULK_MIN_ROWS: u64 = 100_000;
const DROP_POSTING_INDEX: &str = "DROP INDEX postings_by_account";
/// Must match the migration that first creates the index.
const CREATE_POSTING_INDEX: &str = "CREATE INDEX postings_by_account ON postings (account_id)";

/// What the checking thread found once the journal was read to its end.
struct CheckResult {
    refusal: Refusal,
    already_stored: usize,
    adopted_bank: Option<String>,
}

/// An import this large (or one that registers units) refreshes PostgreSQL's statistics.
const ANALYZE_MIN_POSTINGS: usize = 10_000;

/// Holds PostgreSQL's ledger write lock until the transaction ends: the chain head cannot move
/// under a writer of another process.
pub(crate) const LOCK_LEDGER: &str = "LOCK TABLE entries IN SHARE ROW EXCLUSIVE MODE";

impl Store {
    /// Imports registry rows and a journal (`journal.csv` bytes): everything is checked against
    /// the stored ledger and only what is new is written, in one transaction that other writers
    /// wait for. Checking runs on its own thread and streams batches to the writer, so parsing
    /// and hashing overlap with the database's work; any problem rolls the whole import back.
    ///
    /// An ordinary import by an unnamed clerk (see [`Store::import_as`]).
    pub async fn import(
        &self,
        registry: RegistryFiles,
        journal_csv: Option<Vec<u8>>,
        progress: Progress<'_>,
    ) -> Result<ImportOutcome, StoreError> {
        self.import_as(registry, journal_csv, &ImportBy::clerk("import")?, progress).await
    }

    /// Imports as `by`: an ordinary import refuses entries only a workflow may post, unless the
    /// ledger has no entries yet (its opening); a migration import (an admin's) admits them.
    /// Either of those is recorded in `import_records` with who, when and the journal's SHA-256.
    pub async fn import_as(
        &self,
        registry: RegistryFiles,
        journal_csv: Option<Vec<u8>>,
        by: &ImportBy,
        progress: Progress<'_>,
    ) -> Result<ImportOutcome, StoreError> {
        let operation = match by.kind {
            ImportKind::Ordinary => Operation::Import,
            ImportKind::Migration => Operation::MigrationImport,
        };
        authorize(&by.actor, operation, Target::City).map_err(StoreError::Denied)?;
        let journal_sha256 = hex::encode(file_hash(journal_csv.as_deref().unwrap_or_default()));
        let mut tx = self.begin_write().await?;
        let mut state = load_state(&mut tx).await?;
        crate::estate::registry_history(&mut tx, &mut state).await?;
        let admission = Admission::of(by.kind, &state);
        let mut refusal = Refusal::default();
        let plan = plan_registry(&state, &registry, &mut refusal);
        let total_rows = journal_csv.as_deref().map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count() as u64);
        // A load larger than the ledger itself is cheaper with the posting index rebuilt once
        // at the end than maintained row by row (PostgreSQL: 2×). Readers of `postings` wait
        // for such an import to commit; small imports keep the index.
        let bulk = total_rows >= BULK_MIN_ROWS && total_rows > state.entry_hashes.len() as u64;
        let checker = EntryChecker::new(state, &registry, admission);
        let mut outcome = ImportOutcome {
            estates: plan.estates.len(),
            buildings: plan.buildings.len(),
            units: plan.units.len(),
            ..ImportOutcome::default()
        };
        if refusal.total == 0 {
            insert_estates(&mut tx, &plan.estates).await?;
            insert_buildings(&mut tx, &plan.buildings).await?;
            insert_units(&mut tx, &plan.units).await?;
        }
        if bulk {
            dispatch!(Tx, &mut *tx, |t| {
                sqlx::query(DROP_POSTING_INDEX).execute(&mut **t).await?;
            });
        }
        let (sender, mut batches) = tokio::sync::mpsc::channel::<Vec<NewEntry>>(BATCHES_IN_FLIGHT);
        let checking = tokio::task::spawn_blocking(move || check_journal(journal_csv, checker, refusal, sender));
        let mut accounts = AccountNumbers::load(&mut tx).await?;
        let mut chain = Chain::load(&mut tx).await?;
        let first_seq = chain.seq() + 1;
        let mut written = |rows: &[EntryRow<'_>]| {
            outcome.entries += rows.len();
            outcome.postings += rows.iter().map(|r| r.entry.postings.len()).sum::<usize>();
            progress(outcome.postings as u64, total_rows.max(outcome.postings as u64));
        };
        // Totals are gathered over the whole import and added once, at the end.
        let mut totals = HashMap::new();
        if let Tx::Postgres(t) = &mut *tx {
            copy_stream(t, &mut batches, &mut accounts, &mut chain, &mut totals, &mut written).await?;
        } else {
            while let Some(batch) = batches.recv().await {
                let new_accounts = accounts.assign(&batch);
                let rows = chain.number(&batch);
                let mut group = WriteGroup::new(&tx);
                insert_accounts(&mut group, new_accounts);
                insert_entries(&mut group, &rows, &accounts.ids);
                group.send(&mut tx).await?;
                totals_of(&rows, &accounts.ids, &mut totals)?;
                written(&rows);
            }
        }
        let mut group = WriteGroup::new(&tx);
        add_to_totals(&mut group, &totals);
        group.send(&mut tx).await?;
        let checked = checking.await.expect("the journal checker does not panic");
        if checked.refusal.total > 0 {
            return Err(StoreError::Refused(refused(&mut tx, checked.refusal).await?));
        }
        outcome.already_stored = checked.already_stored;
        if let Some(bank) = &checked.adopted_bank {
            crate::bank::record(&mut tx, bank, by.actor.user(), crate::bank::BankAddedBy::FirstImport).await?;
            outcome.adopted_bank = Some(bank.clone());
        }
        let recorded = match admission {
            Admission::Migration => true,
            Admission::Opening => outcome.entries > 0,
            Admission::Ordinary => false,
        };
        if recorded {
            let last_seq = (outcome.entries > 0).then(|| chain.seq());
            let record = ImportRecord { admission, by, journal_sha256: &journal_sha256, entries: outcome.entries };
            record.insert(&mut tx, last_seq.map(|last| (first_seq, last))).await?;
            outcome.recorded_as = Some(admission.as_str());
        }
        if bulk {
            dispatch!(Tx, &mut *tx, |t| {
                sqlx::query(CREATE_POSTING_INDEX).execute(&mut **t).await?;
            });
        }
        tx.commit().await?;
        if let Pool::Postgres(pool) = &self.pool {
            // Fresh planner statistics after a large load: without them PostgreSQL hash-joins
            // whole tables for a one-building payment until autovacuum gets round to it.
            // Statistics only steer plans, and the import has committed: a failure here is
            // left to autovacuum rather than reported as a failed import.
            if outcome.units > 0 || outcome.postings >= ANALYZE_MIN_POSTINGS {
                let _ = sqlx::query("ANALYZE units, accounts, account_totals, buildings, estates").execute(pool).await;
            }
        }
        Ok(outcome)
    }

    /// Begins a transaction that holds the ledger's write lock until it ends.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        // Writers of this process queue here first: SQLite's own busy handler would make them
        // sleep and retry, which gave seconds of tail latency under concurrent requests.
        let queued = self.writers.clone().lock_owned().await;
        let tx = self.begin_locked().await?;
        Ok(WriteTx { tx, _queued: queued })
    }
}

/// A write transaction that also holds this process's writer queue until it ends.
pub(crate) struct WriteTx {
    tx: Tx,
    _queued: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = Tx;
    fn deref(&self) -> &Tx {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Tx {
        &mut self.tx
    }
}

/// Reads and checks the journal on a blocking thread, sending new entries in batches while no
/// problem has been found, and every problem (up to the shown limit) into the refusal.
fn check_journal(
    journal_csv: Option<Vec<u8>>,
    mut checker: EntryChecker,
    mut refusal: Refusal,
    sender: tokio::sync::mpsc::Sender<Vec<NewEntry>>,
) -> CheckResult {
    let mut batch = Vec::with_capacity(ENTRIES_PER_BATCH);
    let reader = journal_csv.as_deref().map(JournalReader::new).transpose();
    match reader {
        Err(error) => refusal.push(error, None),
        Ok(None) => {}
        Ok(Some(reader)) => {
            for raw in reader {
                let raw = match raw {
                    Ok(raw) => raw,
                    Err(error) => {
                        refusal.push(error, None);
                        break;
                    }
                };
                match checker.check(&raw) {
                    Ok(Some(new)) if refusal.total == 0 => batch.push(new),
                    Ok(_) => {}
                    Err(problem) => refusal.push(problem.error, problem.stored_entry),
                }
                if batch.len() == ENTRIES_PER_BATCH && sender.blocking_send(std::mem::take(&mut batch)).is_err() {
                    break; // the writer stopped on an error of its own
                }
            }
        }
    }
    if refusal.total == 0 && !batch.is_empty() {
        let _ = sender.blocking_send(batch);
    }
    let adopted_bank = checker.adopted_bank().map(str::to_owned);
    CheckResult { refusal, already_stored: checker.already_stored(), adopted_bank }
}

/// An import admitted to bring workflow entries, as `import_records` keeps it.
struct ImportRecord<'a> {
    admission: Admission,
    by: &'a ImportBy,
    journal_sha256: &'a str,
    entries: usize,
}

impl ImportRecord<'_> {
    async fn insert(&self, tx: &mut Tx, seqs: Option<(i64, i64)>) -> Result<(), StoreError> {
        let (first, last) = (seqs.map(|s| s.0), seqs.map(|s| s.1));
        dispatch!(Tx, tx, |t| {
            sqlx::query(
                "INSERT INTO import_records (import_no, admission, actor, role, at, journal_sha256, entries, first_seq, last_seq) \
                 SELECT COALESCE(MAX(import_no), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8 FROM import_records",
            )
            .bind(self.admission.as_str())
            .bind(self.by.actor.user())
            .bind(self.by.actor.role().as_str())
            .bind(crate::bank::now_utc())
            .bind(self.journal_sha256)
            .bind(self.entries as i64)
            .bind(first)
            .bind(last)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }
}

/// The refusal with the stored versions of the entries the files contradict.
async fn refused(tx: &mut Tx, refusal: Refusal) -> Result<ImportRefused, StoreError> {
    let mut stored_versions = Vec::new();
    for id in refusal.problems.iter().filter_map(|p| p.stored_entry.clone()) {
        let version = load_entry(tx, &id).await?.map_or_else(|| "(missing)".to_owned(), |e| e.describe());
        stored_versions.push((id, version));
    }
    Ok(ImportRefused { problems: refusal.problems, total: refusal.total, stored_versions })
}

async fn insert_estates(tx: &mut Tx, estates: &[Estate]) -> Result<(), StoreError> {
    let mut group = WriteGroup::new(tx);
    let values = estates.iter().flat_map(|e| {
        [&e.estate_id, &e.name, &e.district, &e.street_office, &e.property_company].map(|v| Value::from(v.as_str()))
    });
    group.insert_rows("estates (estate_id, name, district, street_office, property_company)", 5, "", values.collect());
    group.send(tx).await
}

async fn insert_buildings(tx: &mut Tx, buildings: &[Building]) -> Result<(), StoreError> {
    let mut group = WriteGroup::new(tx);
    let values = buildings.iter().flat_map(|b| {
        [
            b.building_id.as_str().into(),
            b.estate_id.as_str().into(),
            b.name.as_str().into(),
            i64::from(b.floors).into(),
            b.has_elevator.into(),
        ]
    });
    group.insert_rows("buildings (building_id, estate_id, name, floors, has_elevator)", 5, "", values.collect());
    group.send(tx).await
}

async fn insert_units(tx: &mut Tx, units: &[Unit]) -> Result<(), StoreError> {
    if let Tx::Postgres(t) = tx {
        // A city registers hundreds of thousands of units at once: COPY them.
        let mut data = String::new();
        for u in units {
            let (id, building, owner) = (copy_text(&u.unit_id), copy_text(&u.building_id), copy_text(&u.owner));
            writeln!(data, "{id}\t{building}\t{}\t{}\t{owner}", u.floor_area.centi_m2(), u.unit_use.as_str())
                .expect("writing to a String");
        }
        return copy_in(
            t,
            "COPY units (unit_id, building_id, floor_area_centi_m2, unit_use, owner) FROM STDIN",
            data.as_bytes(),
        )
        .await;
    }
    let mut group = WriteGroup::new(tx);
    let values = units.iter().flat_map(|u| {
        [
            u.unit_id.as_str().into(),
            u.building_id.as_str().into(),
            u.floor_area.centi_m2().into(),
            u.unit_use.as_str().into(),
            u.owner.as_str().into(),
        ]
    });
    group.insert_rows("units (unit_id, building_id, floor_area_centi_m2, unit_use, owner)", 5, "", values.collect());
    group.send(tx).await
}

/// PostgreSQL's COPY in text format, an order of magnitude faster than INSERT: all postings go
/// in one COPY stream, so the server stores a chunk while the next one is formatted; entries
/// and new accounts (kept in memory meanwhile) follow in COPYs of their own.
async fn copy_stream(
    t: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    batches: &mut tokio::sync::mpsc::Receiver<Vec<NewEntry>>,
    accounts: &mut AccountNumbers,
    chain: &mut Chain,
    totals: &mut HashMap<i64, (i64, i64)>,
    written: &mut impl FnMut(&[EntryRow<'_>]),
) -> Result<(), StoreError> {
    let mut entries = String::new();
    let mut new_accounts = String::new();
    let mut data = String::with_capacity(COPY_CHUNK_BYTES + 64 * 1024);
    let mut copy =
        t.copy_in_raw("COPY postings (entry_seq, line_no, account_id, debit_fen, credit_fen, memo) FROM STDIN").await?;
    while let Some(batch) = batches.recv().await {
        for (id, account) in accounts.assign(&batch) {
            writeln!(new_accounts, "{id}\t{}", copy_text(&account)).expect("writing to a String");
        }
        let rows = chain.number(&batch);
        for r in &rows {
            let e = r.entry;
            let reverses = e.reverses.as_deref().map_or_else(|| "\\N".to_owned(), copy_text);
            let (content, chained) = (hex::encode(r.content_hash), hex::encode(r.chain_hash));
            writeln!(
                entries,
                "{}\t{}\t{}\t{}\t{reverses}\t\\\\x{content}\t\\\\x{chained}",
                r.seq,
                copy_text(&e.entry_id),
                e.date,
                e.kind
            )
            .expect("writing to a String");
            for (i, p) in e.postings.iter().enumerate() {
                let account_id = accounts.ids[&p.account];
                writeln!(
                    data,
                    "{}\t{}\t{account_id}\t{}\t{}\t{}",
                    r.seq,
                    i + 1,
                    p.debit_fen,
                    p.credit_fen,
                    copy_text(&p.memo)
                )
                .expect("writing to a String");
            }
        }
        if data.len() >= COPY_CHUNK_BYTES {
            copy.send(data.as_bytes()).await?;
            data.clear();
        }
        totals_of(&rows, &accounts.ids, totals)?;
        written(&rows);
    }
    copy.send(data.as_bytes()).await?;
    copy.finish().await?;
    copy_in(
        t,
        "COPY entries (seq, entry_id, entry_date, kind, reverses, content_hash, chain_hash) FROM STDIN",
        entries.as_bytes(),
    )
    .await?;
    copy_in(t, "COPY accounts (account_id, account) FROM STDIN", new_accounts.as_bytes()).await?;
    Ok(())
}

async fn copy_in(
    t: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    statement: &str,
    data: &[u8],
) -> Result<(), StoreError> {
    let mut copy = t.copy_in_raw(statement).await?;
    copy.send(data).await?;
    copy.finish().await?;
    Ok(())
}

/// Escapes a value for COPY's text format, where backslash, tab and line ends are special.
fn copy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
    out
}
