//! The records chain in the database: each workflow record and registry version gets a row in
//! `records` (its kind, key, content hash and chain hash), written in the same group as the
//! record itself, and `verify` rehashes every live row and walks the chain.
//!
//! A feature's decision records join by implementing [`Chained`] for their row (kind, key,
//! canonical fields, the SELECT of all rows), adding a line to [`verify`]'s and [`seal`]'s list
//! of kinds, and pushing [`RecordChain::record`] beside each row they write.

use std::collections::{BTreeMap, HashMap};

use ledger_core::audit::Hash;
use ledger_core::estate::records::{content_hash, ChainedRecord, Field, RecordHead, RecordVerifier};
use serde::Serialize;

use crate::group::{Value, WriteGroup};
use crate::query::to_hash;
use crate::{dispatch, Pool, Store, StoreError, Tx};

/// A row of a table the records chain covers.
pub(crate) trait Chained:
    for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin
{
    const KIND: &'static str;
    /// Every row of the table, with the columns `FromRow` reads.
    const SELECT_ALL: &'static str;
    fn key(&self) -> String;
    fn fields(&self) -> Vec<Field<'_>>;

    fn content_hash(&self) -> Hash {
        content_hash(Self::KIND, &self.fields())
    }
}

/// A statement to write later in a group, owning its values (planned writes resolve their rows
/// while reading, then write them).
#[derive(Debug, Clone)]
pub(crate) enum SqlRow {
    One { sql: String, values: Vec<Value<'static>> },
    Many { target: String, columns: usize, values: Vec<Value<'static>> },
}

impl SqlRow {
    pub(crate) fn one(sql: &str, values: Vec<Value<'static>>) -> SqlRow {
        SqlRow::One { sql: sql.to_owned(), values }
    }

    pub(crate) fn add_to(&self, group: &mut WriteGroup<'_>) {
        match self {
            SqlRow::One { sql, values } => group.push(sql, values.clone()),
            SqlRow::Many { target, columns, values } => group.insert_rows(target, *columns, "", values.clone()),
        }
    }
}

/// Text owned by a statement.
pub(crate) fn text(v: &str) -> Value<'static> {
    Value::from(v.to_owned())
}

/// The head of the records chain as a write reads it, advanced by each record it adds.
pub(crate) struct RecordChain {
    head: RecordHead,
}

impl RecordChain {
    /// Reads the chain's head inside the write's transaction (which holds the write lock).
    pub(crate) async fn load(tx: &mut Tx) -> Result<RecordChain, StoreError> {
        let head: Option<(i64, Vec<u8>)> = dispatch!(Tx, tx, |t| {
            sqlx::query_as("SELECT seq, chain_hash FROM records ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut **t)
                .await?
        });
        let head = match head {
            None => RecordHead::default(),
            Some((seq, hash)) => RecordHead { seq, hash: to_hash(hash)? },
        };
        Ok(RecordChain { head })
    }

    /// The `records` row chaining `row`.
    pub(crate) fn record<T: Chained>(&mut self, row: &T) -> SqlRow {
        let chained = self.head.append(T::KIND, row.key(), row.content_hash());
        SqlRow::one(
            "INSERT INTO records (seq, kind, record_key, content_hash, chain_hash) VALUES (?, ?, ?, ?, ?)",
            vec![
                chained.seq.into(),
                text(T::KIND),
                Value::from(chained.key),
                chained.content_hash.to_vec().into(),
                chained.chain_hash.to_vec().into(),
            ],
        )
    }
}

/// What walking the records chain found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RecordsOutcome {
    pub records_checked: u64,
    /// The chain hash of the last record checked.
    pub head: String,
    pub first_break: Option<RecordBreakView>,
}

/// The first record (or row) where the stored records no longer match what was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordBreakView {
    /// The record's place in the chain; `None` for a row that no record chains.
    pub seq: Option<i64>,
    pub kind: String,
    pub key: String,
    pub reason: String,
}

type LiveRows = HashMap<(String, String), Hash>;

async fn add_live<T: Chained>(pool: &Pool, live: &mut LiveRows) -> Result<(), StoreError> {
    let rows: Vec<T> = dispatch!(Pool, pool, |p| sqlx::query_as(T::SELECT_ALL).fetch_all(p).await?);
    for row in rows {
        live.insert((T::KIND.to_owned(), row.key()), row.content_hash());
    }
    Ok(())
}

/// Every covered row's content hash, by kind and key.
async fn live_rows(pool: &Pool) -> Result<LiveRows, StoreError> {
    use super::rows::{ClosureRow, EstateVersionRow, UnitVersionRow};
    use crate::drawdown::rows::{DrawdownRow, EventRow, PaymentRow, VoteRow};
    let mut live = LiveRows::new();
    add_live::<DrawdownRow>(pool, &mut live).await?;
    add_live::<EventRow>(pool, &mut live).await?;
    add_live::<VoteRow>(pool, &mut live).await?;
    add_live::<PaymentRow>(pool, &mut live).await?;
    add_live::<UnitVersionRow>(pool, &mut live).await?;
    add_live::<EstateVersionRow>(pool, &mut live).await?;
    add_live::<ClosureRow>(pool, &mut live).await?;
    Ok(live)
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    seq: i64,
    kind: String,
    record_key: String,
    content_hash: Vec<u8>,
    chain_hash: Vec<u8>,
}

async fn chained_records(pool: &Pool) -> Result<Vec<RecordRow>, StoreError> {
    Ok(dispatch!(Pool, pool, |p| {
        sqlx::query_as("SELECT seq, kind, record_key, content_hash, chain_hash FROM records ORDER BY seq")
            .fetch_all(p)
            .await?
    }))
}

/// Rehashes every covered row and walks the chain in order: the first record whose row was
/// changed or removed, whose chain link was rewritten, or that is missing from the sequence;
/// then any row that no record chains (written past mfund).
pub(crate) async fn verify(pool: &Pool) -> Result<RecordsOutcome, StoreError> {
    let mut live = live_rows(pool).await?;
    let mut verifier = RecordVerifier::default();
    for r in chained_records(pool).await? {
        let broken = |reason: String| RecordBreakView {
            seq: Some(r.seq),
            kind: r.kind.clone(),
            key: r.record_key.clone(),
            reason,
        };
        let (Ok(content_hash), Ok(chain_hash)) = (to_hash(r.content_hash.clone()), to_hash(r.chain_hash.clone()))
        else {
            let first_break = Some(broken("its stored hashes are not 32 bytes".to_owned()));
            return Ok(outcome(&verifier, first_break));
        };
        let row = live.remove(&(r.kind.clone(), r.record_key.clone()));
        let record =
            ChainedRecord { seq: r.seq, kind: r.kind.clone(), key: r.record_key.clone(), content_hash, chain_hash };
        if let Err(why) = verifier.check(&record, row.as_ref()) {
            return Ok(outcome(&verifier, Some(broken(why.describe(r.seq)))));
        }
    }
    let unchained: BTreeMap<(String, String), Hash> = live.into_iter().collect();
    let first_break = unchained.into_keys().next().map(|(kind, key)| RecordBreakView {
        seq: None,
        kind,
        key,
        reason: "no record chains this row: it was written past mfund".to_owned(),
    });
    Ok(outcome(&verifier, first_break))
}

fn outcome(verifier: &RecordVerifier, first_break: Option<RecordBreakView>) -> RecordsOutcome {
    RecordsOutcome { records_checked: verifier.checked(), head: hex::encode(verifier.head()), first_break }
}

impl Store {
    /// Chains the rows written before the records chain existed (migration 0010 marks that
    /// there are some): once, under the write lock, in a fixed order.
    pub(crate) async fn seal_unchained_records(&self) -> Result<(), StoreError> {
        let pending: i64 = dispatch!(Pool, &self.pool, |p| {
            sqlx::query_scalar("SELECT COUNT(*) FROM records_unsealed").fetch_one(p).await?
        });
        if pending == 0 {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let live: BTreeMap<(String, String), Hash> = live_rows(&self.pool).await?.into_iter().collect();
        let recorded: Vec<(String, String)> = dispatch!(Tx, &mut *tx, |t| {
            sqlx::query_as("SELECT kind, record_key FROM records").fetch_all(&mut **t).await?
        });
        let recorded: std::collections::HashSet<(String, String)> = recorded.into_iter().collect();
        let mut chain = RecordChain::load(&mut tx).await?;
        let mut group = WriteGroup::new(&tx);
        for ((kind, key), hash) in live.into_iter().filter(|(k, _)| !recorded.contains(k)) {
            let chained = chain.head.append(&kind, key, hash);
            group.push(
                "INSERT INTO records (seq, kind, record_key, content_hash, chain_hash) VALUES (?, ?, ?, ?, ?)",
                vec![
                    chained.seq.into(),
                    Value::from(chained.kind),
                    Value::from(chained.key),
                    chained.content_hash.to_vec().into(),
                    chained.chain_hash.to_vec().into(),
                ],
            );
        }
        group.push("DELETE FROM records_unsealed", Vec::new());
        group.send(&mut tx).await?;
        tx.commit().await
    }
}
