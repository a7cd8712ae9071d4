//! Writing an import: one transaction, serialised against other writers, all or nothing.

use std::collections::HashMap;
use std::fmt;

use ledger_core::audit::{chain_hash, Hash, StoredEntry, GENESIS};
use ledger_core::import::{plan_import, CityFiles, ImportPlan, Problem};
use ledger_core::registry::{Building, Estate, Unit};

use crate::query::{load_entry, load_state};
use crate::{dispatch, Pool, Store, StoreError, Tx};

/// Rows per multi-row INSERT: 6 columns × 1000 stays under SQLite's 32,766 bound parameters.
const ROWS_PER_INSERT: usize = 1000;
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
        writeln!(
            f,
            "import refused, nothing was written ({} problem{plural}):",
            self.total
        )?;
        for problem in &self.problems {
            writeln!(f, "  {}", problem.error)?;
            let stored = problem
                .stored_entry
                .as_ref()
                .and_then(|id| self.stored_versions.iter().find(|(s, _)| s == id));
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

impl Store {
    /// Imports the files: checks everything against the stored ledger, then writes only what is
    /// new, in one transaction that other writers wait for.
    pub async fn import(
        &self,
        files: CityFiles,
        progress: Progress<'_>,
    ) -> Result<ImportOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let state = load_state(&mut tx).await?;
        let plan = match plan_import(&state, files) {
            Ok(plan) => plan,
            Err(refusal) => {
                let mut stored_versions = Vec::new();
                for id in refusal
                    .problems
                    .iter()
                    .filter_map(|p| p.stored_entry.clone())
                {
                    let version = load_entry(&mut tx, &id)
                        .await?
                        .map_or_else(|| "(missing)".to_owned(), |e| e.describe());
                    stored_versions.push((id, version));
                }
                return Err(StoreError::Refused(ImportRefused {
                    problems: refusal.problems,
                    total: refusal.total,
                    stored_versions,
                }));
            }
        };
        insert_estates(&mut tx, &plan.estates).await?;
        insert_buildings(&mut tx, &plan.buildings).await?;
        insert_units(&mut tx, &plan.units).await?;
        let accounts = register_accounts(&mut tx, &plan).await?;
        let (mut seq, mut previous) = chain_head(&mut tx).await?;
        let total = plan.postings() as u64;
        let mut written = 0u64;
        for batch in plan.entries.chunks(ROWS_PER_INSERT) {
            let mut rows = Vec::with_capacity(batch.len());
            for new in batch {
                seq += 1;
                previous = chain_hash(&previous, &new.content_hash);
                rows.push(EntryRow {
                    seq,
                    entry: &new.stored,
                    content_hash: new.content_hash,
                    chain_hash: previous,
                });
            }
            write_entries(&mut tx, &rows, &accounts).await?;
            written += rows
                .iter()
                .map(|r| r.entry.postings.len() as u64)
                .sum::<u64>();
            progress(written, total);
        }
        tx.commit().await?;
        Ok(outcome_of(&plan))
    }

    /// Begins a transaction that holds the ledger's write lock until it ends.
    pub(crate) async fn begin_write(&self) -> Result<Tx, StoreError> {
        Ok(match &self.pool {
            // IMMEDIATE takes SQLite's write lock now, so the chain head cannot move under us.
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("LOCK TABLE entries IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
                Tx::Postgres(tx)
            }
        })
    }
}

fn outcome_of(plan: &ImportPlan) -> ImportOutcome {
    ImportOutcome {
        estates: plan.estates.len(),
        buildings: plan.buildings.len(),
        units: plan.units.len(),
        entries: plan.entries.len(),
        postings: plan.postings(),
        already_stored: plan.already_stored,
    }
}

struct EntryRow<'a> {
    seq: i64,
    entry: &'a StoredEntry,
    content_hash: Hash,
    chain_hash: Hash,
}

/// Numbers every account the plan posts to, adding the new ones; returns account → number.
async fn register_accounts(
    tx: &mut Tx,
    plan: &ImportPlan,
) -> Result<HashMap<String, i64>, StoreError> {
    let stored: Vec<(i64, String)> = dispatch!(Tx, tx, |t| sqlx::query_as(
        "SELECT account_id, account FROM accounts"
    )
    .fetch_all(&mut **t)
    .await?);
    let mut next_id = stored.iter().map(|(id, _)| *id).max().unwrap_or(0);
    let mut ids: HashMap<String, i64> = stored
        .into_iter()
        .map(|(id, account)| (account, id))
        .collect();
    let mut new_accounts = Vec::new();
    for posting in plan.entries.iter().flat_map(|e| &e.stored.postings) {
        if !ids.contains_key(&posting.account) {
            next_id += 1;
            ids.insert(posting.account.clone(), next_id);
            new_accounts.push((next_id, posting.account.as_str()));
        }
    }
    for chunk in new_accounts.chunks(ROWS_PER_INSERT) {
        let sql = insert_sql(
            matches!(tx, Tx::Postgres(_)),
            "accounts (account_id, account)",
            2,
            chunk.len(),
        );
        dispatch!(Tx, tx, |t| {
            let mut query = sqlx::query(&sql);
            for (id, account) in chunk {
                query = query.bind(*id).bind(*account);
            }
            query.execute(&mut **t).await?;
        });
    }
    Ok(ids)
}

/// The last entry's sequence number and chain hash (0 and the genesis hash when empty).
async fn chain_head(tx: &mut Tx) -> Result<(i64, Hash), StoreError> {
    let head: Option<(i64, Vec<u8>)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as("SELECT seq, chain_hash FROM entries ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **t)
            .await?
    });
    match head {
        None => Ok((0, GENESIS)),
        Some((seq, hash)) => Ok((seq, crate::query::to_hash(hash)?)),
    }
}

/// `INSERT INTO {target} VALUES (?, …), (…)` for `rows` rows of `columns` values.
///
/// SQLite gets anonymous `?` placeholders: it finds a *named* parameter (`$1`) by a linear
/// scan, which made a 6,000-value INSERT quadratic. PostgreSQL needs `$n`.
fn insert_sql(numbered: bool, target: &str, columns: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {target} VALUES ");
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            let sep = if column == 0 { "" } else { ", " };
            if numbered {
                sql.push_str(&format!("{sep}${}", row * columns + column + 1));
            } else {
                sql.push_str(&format!("{sep}?"));
            }
        }
        sql.push(')');
    }
    sql
}

async fn insert_estates(tx: &mut Tx, estates: &[Estate]) -> Result<(), StoreError> {
    for chunk in estates.chunks(ROWS_PER_INSERT) {
        let sql = insert_sql(
            matches!(tx, Tx::Postgres(_)),
            "estates (estate_id, name, district, street_office, property_company)",
            5,
            chunk.len(),
        );
        dispatch!(Tx, tx, |t| {
            let mut query = sqlx::query(&sql);
            for e in chunk {
                query = query
                    .bind(e.estate_id.as_str())
                    .bind(e.name.as_str())
                    .bind(e.district.as_str())
                    .bind(e.street_office.as_str())
                    .bind(e.property_company.as_str());
            }
            query.execute(&mut **t).await?;
        });
    }
    Ok(())
}

async fn insert_buildings(tx: &mut Tx, buildings: &[Building]) -> Result<(), StoreError> {
    for chunk in buildings.chunks(ROWS_PER_INSERT) {
        let sql = insert_sql(
            matches!(tx, Tx::Postgres(_)),
            "buildings (building_id, estate_id, name, floors, has_elevator)",
            5,
            chunk.len(),
        );
        dispatch!(Tx, tx, |t| {
            let mut query = sqlx::query(&sql);
            for b in chunk {
                query = query
                    .bind(b.building_id.as_str())
                    .bind(b.estate_id.as_str())
                    .bind(b.name.as_str())
                    .bind(i64::from(b.floors))
                    .bind(b.has_elevator);
            }
            query.execute(&mut **t).await?;
        });
    }
    Ok(())
}

async fn insert_units(tx: &mut Tx, units: &[Unit]) -> Result<(), StoreError> {
    for chunk in units.chunks(ROWS_PER_INSERT) {
        let sql = insert_sql(
            matches!(tx, Tx::Postgres(_)),
            "units (unit_id, building_id, floor_area_centi_m2, unit_use, owner)",
            5,
            chunk.len(),
        );
        dispatch!(Tx, tx, |t| {
            let mut query = sqlx::query(&sql);
            for u in chunk {
                query = query
                    .bind(u.unit_id.as_str())
                    .bind(u.building_id.as_str())
                    .bind(u.floor_area.centi_m2())
                    .bind(u.unit_use.as_str())
                    .bind(u.owner.as_str());
            }
            query.execute(&mut **t).await?;
        });
    }
    Ok(())
}

async fn write_entries(
    tx: &mut Tx,
    rows: &[EntryRow<'_>],
    accounts: &HashMap<String, i64>,
) -> Result<(), StoreError> {
    match tx {
        Tx::Postgres(t) => copy_entries(t, rows, accounts).await,
        Tx::Sqlite(t) => insert_entries(t, rows, accounts).await,
    }
}

async fn insert_entries(
    t: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    rows: &[EntryRow<'_>],
    accounts: &HashMap<String, i64>,
) -> Result<(), StoreError> {
    let sql = insert_sql(
        false,
        "entries (seq, entry_id, entry_date, kind, reverses, content_hash, chain_hash)",
        7,
        rows.len(),
    );
    let mut query = sqlx::query(&sql);
    for r in rows {
        let e = r.entry;
        query = query
            .bind(r.seq)
            .bind(e.entry_id.as_str())
            .bind(e.date.as_str())
            .bind(e.kind.as_str())
            .bind(e.reverses.as_deref())
            .bind(&r.content_hash[..])
            .bind(&r.chain_hash[..]);
    }
    query.execute(&mut **t).await?;
    let postings: Vec<(i64, i64, &ledger_core::audit::StoredPosting)> = rows
        .iter()
        .flat_map(|r| {
            r.entry
                .postings
                .iter()
                .enumerate()
                .map(move |(i, p)| (r.seq, i as i64 + 1, p))
        })
        .collect();
    for chunk in postings.chunks(ROWS_PER_INSERT) {
        let sql = insert_sql(
            false,
            "postings (entry_seq, line_no, account_id, debit_fen, credit_fen, memo)",
            6,
            chunk.len(),
        );
        let mut query = sqlx::query(&sql);
        for (seq, line_no, p) in chunk {
            query = query
                .bind(*seq)
                .bind(*line_no)
                .bind(accounts[&p.account])
                .bind(p.debit_fen)
                .bind(p.credit_fen)
                .bind(p.memo.as_str());
        }
        query.execute(&mut **t).await?;
    }
    Ok(())
}

/// PostgreSQL's COPY in text format: an order of magnitude faster than INSERT for bulk rows.
async fn copy_entries(
    t: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    rows: &[EntryRow<'_>],
    accounts: &HashMap<String, i64>,
) -> Result<(), StoreError> {
    let mut data = String::new();
    for r in rows {
        let e = r.entry;
        let reverses = e
            .reverses
            .as_deref()
            .map_or_else(|| "\\N".to_owned(), copy_text);
        let hex = |h: &Hash| format!("\\\\x{}", hex::encode(h));
        data.push_str(&format!(
            "{}\t{}\t{}\t{}\t{reverses}\t{}\t{}\n",
            r.seq,
            copy_text(&e.entry_id),
            e.date,
            e.kind,
            hex(&r.content_hash),
            hex(&r.chain_hash)
        ));
    }
    copy_in(t, "COPY entries (seq, entry_id, entry_date, kind, reverses, content_hash, chain_hash) FROM STDIN", data.as_bytes()).await?;
    data.clear();
    let mut copy = t
        .copy_in_raw(
            "COPY postings (entry_seq, line_no, account_id, debit_fen, credit_fen, memo) FROM STDIN",
        )
        .await?;
    for r in rows {
        for (i, p) in r.entry.postings.iter().enumerate() {
            data.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\n",
                r.seq,
                i + 1,
                accounts[&p.account],
                p.debit_fen,
                p.credit_fen,
                copy_text(&p.memo)
            ));
            if data.len() >= COPY_CHUNK_BYTES {
                copy.send(data.as_bytes()).await?;
                data.clear();
            }
        }
    }
    copy.send(data.as_bytes()).await?;
    copy.finish().await?;
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
