//! The ledger's one writer: entries, postings, accounts, running totals and the hash chain.
//!
//! Every entry that reaches the database comes through here, whether an import brought it or a
//! workflow planned it (a drawdown payment, an allocation, a fee): the account numbers, the
//! chain's next link and the running totals are this module's alone, so no feature writes an
//! entry by hand. Each entry's canonical content is hashed and chained to its predecessor's,
//! which is what `verify` checks.

use std::collections::HashMap;

use ledger_core::audit::{chain_hash, Hash, StoredEntry, GENESIS};
use ledger_core::import::NewEntry;
use ledger_core::Entry;

use crate::group::{for_engine, Value, WriteGroup};
use crate::{dispatch, StoreError, Tx};

/// Account names looked up per query.
const NAMES_PER_LOOKUP: usize = 1000;

/// Entries a plan posts, each with its canonical stored form and content hash.
pub(crate) fn new_entries(entries: &[Entry]) -> Vec<NewEntry> {
    entries
        .iter()
        .map(|entry| {
            let stored = StoredEntry::from_entry(entry);
            let content_hash = stored.content_hash();
            NewEntry { entry: entry.clone(), stored, content_hash }
        })
        .collect()
}

pub(crate) struct EntryRow<'a> {
    pub seq: i64,
    pub entry: &'a StoredEntry,
    pub content_hash: Hash,
    pub chain_hash: Hash,
}

/// Account names and their numbers, growing as batches bring new accounts.
pub(crate) struct AccountNumbers {
    pub ids: HashMap<String, i64>,
    last_id: i64,
}

impl AccountNumbers {
    pub(crate) async fn load(tx: &mut Tx) -> Result<AccountNumbers, StoreError> {
        let stored: Vec<(i64, String)> =
            dispatch!(Tx, tx, |t| sqlx::query_as("SELECT account_id, account FROM accounts")
                .fetch_all(&mut **t)
                .await?);
        let last_id = stored.iter().map(|(id, _)| *id).max().unwrap_or(0);
        Ok(AccountNumbers { ids: stored.into_iter().map(|(id, account)| (account, id)).collect(), last_id })
    }

    /// Numbers the accounts of `batch` not seen before and returns them, for storing.
    pub(crate) fn assign(&mut self, batch: &[NewEntry]) -> Vec<(i64, String)> {
        let mut new_accounts = Vec::new();
        for posting in batch.iter().flat_map(|e| &e.stored.postings) {
            if !self.ids.contains_key(&posting.account) {
                self.last_id += 1;
                self.ids.insert(posting.account.clone(), self.last_id);
                new_accounts.push((self.last_id, posting.account.clone()));
            }
        }
        new_accounts
    }
}

/// The head of the audit chain, advanced as entries are numbered.
pub(crate) struct Chain {
    seq: i64,
    head: Hash,
}

impl Chain {
    pub(crate) async fn load(tx: &mut Tx) -> Result<Chain, StoreError> {
        let (seq, head) = chain_head(tx).await?;
        Ok(Chain { seq, head })
    }

    /// The sequence number of the last entry numbered so far.
    pub(crate) fn seq(&self) -> i64 {
        self.seq
    }

    pub(crate) fn number<'a>(&mut self, batch: &'a [NewEntry]) -> Vec<EntryRow<'a>> {
        batch
            .iter()
            .map(|new| {
                self.seq += 1;
                self.head = chain_hash(&self.head, &new.content_hash);
                EntryRow { seq: self.seq, entry: &new.stored, content_hash: new.content_hash, chain_hash: self.head }
            })
            .collect()
    }
}

pub(crate) fn insert_accounts(group: &mut WriteGroup<'_>, new_accounts: Vec<(i64, String)>) {
    let values = new_accounts.into_iter().flat_map(|(id, account)| [Value::from(id), Value::from(account)]);
    group.insert_rows("accounts (account_id, account)", 2, "", values.collect());
}

/// Debit and credit totals per account number of some entry rows, summed with checked
/// arithmetic (a release build would wrap): a sum past i64 fen refuses the write, naming the
/// entry. (Imports never get here with one: core bounds the ledger's total debits.)
pub(crate) fn totals_of(
    rows: &[EntryRow<'_>],
    accounts: &HashMap<String, i64>,
    totals: &mut HashMap<i64, (i64, i64)>,
) -> Result<(), StoreError> {
    for r in rows {
        for p in &r.entry.postings {
            let total = totals.entry(accounts[&p.account]).or_insert((0, 0));
            let sums = total.0.checked_add(p.debit_fen).zip(total.1.checked_add(p.credit_fen));
            *total = sums.ok_or_else(|| {
                StoreError::Conflict(format!(
                    "entry `{}` would take the running totals of `{}` past the range of i64 fen",
                    r.entry.entry_id, p.account
                ))
            })?;
        }
    }
    Ok(())
}

/// Adds posted amounts to the accounts' running totals, in the posting transaction.
pub(crate) fn add_to_totals(group: &mut WriteGroup<'_>, totals: &HashMap<i64, (i64, i64)>) {
    let values = totals.iter().flat_map(|(id, (debit, credit))| [(*id).into(), (*debit).into(), (*credit).into()]);
    group.insert_rows(
        "account_totals (account_id, debit_fen, credit_fen)",
        3,
        "ON CONFLICT (account_id) DO UPDATE SET debit_fen = account_totals.debit_fen + excluded.debit_fen, \
         credit_fen = account_totals.credit_fen + excluded.credit_fen",
        values.collect(),
    );
}

/// Appends a few checked entries to the chain inside a write transaction (drawdown payments):
/// only their own accounts are looked up (none that `known` already numbers), so the cost does
/// not grow with the ledger. Reads now; the writes join `group`, for the caller to send.
pub(crate) async fn append_entries<'a>(
    tx: &mut Tx,
    group: &mut WriteGroup<'a>,
    entries: &'a [NewEntry],
    known: &HashMap<String, i64>,
) -> Result<(), StoreError> {
    let mut ids = known.clone();
    let names: std::collections::BTreeSet<&str> = entries
        .iter()
        .flat_map(|e| &e.stored.postings)
        .map(|p| p.account.as_str())
        .filter(|name| !ids.contains_key(*name))
        .collect();
    let names: Vec<&str> = names.into_iter().collect();
    for chunk in names.chunks(NAMES_PER_LOOKUP) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = for_engine(tx, &format!("SELECT account_id, account FROM accounts WHERE account IN ({marks})"))
            .into_owned();
        let found: Vec<(i64, String)> = dispatch!(Tx, tx, |t| {
            let mut query = sqlx::query_as(&sql);
            for name in chunk {
                query = query.bind(*name);
            }
            query.fetch_all(&mut **t).await?
        });
        ids.extend(found.into_iter().map(|(id, name)| (name, id)));
    }
    let new_names = names.iter().any(|name| !ids.contains_key(*name));
    let last_id: Option<i64> = if new_names {
        dispatch!(Tx, tx, |t| sqlx::query_scalar("SELECT MAX(account_id) FROM accounts").fetch_one(&mut **t).await?)
    } else {
        None
    };
    let mut accounts = AccountNumbers { ids, last_id: last_id.unwrap_or(0) };
    insert_accounts(group, accounts.assign(entries));
    let mut chain = Chain::load(tx).await?;
    let rows = chain.number(entries);
    insert_entries(group, &rows, &accounts.ids);
    let mut totals = HashMap::new();
    totals_of(&rows, &accounts.ids, &mut totals)?;
    add_to_totals(group, &totals);
    Ok(())
}

/// The newest link of the audit chain: how many entries it holds and the last one's chain
/// hash. An auditor, a public notice or a period close keeps it; `mfund verify --expect-head`
/// later proves that the chain still passes through it (no entry up to it was changed, and none
/// removed from the end).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainHead {
    /// Entries in the chain (the last one's sequence number).
    pub entries: i64,
    /// The last entry's chain hash, hex (64 zeros for an empty ledger).
    pub head: String,
}

impl crate::Store {
    /// The chain's head as stored now (read, not recomputed: `verify` recomputes it).
    pub async fn chain_head(&self) -> Result<ChainHead, StoreError> {
        let mut tx = self.begin_read().await?;
        let head = head_of(&mut tx).await?;
        tx.commit().await?;
        Ok(head)
    }
}

/// The chain head as read inside `tx`.
pub(crate) async fn head_of(tx: &mut Tx) -> Result<ChainHead, StoreError> {
    let (entries, head) = chain_head(tx).await?;
    Ok(ChainHead { entries, head: hex::encode(head) })
}

/// The last entry's sequence number and chain hash (0 and the genesis hash when empty).
pub(crate) async fn chain_head(tx: &mut Tx) -> Result<(i64, Hash), StoreError> {
    let head: Option<(i64, Vec<u8>)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as("SELECT seq, chain_hash FROM entries ORDER BY seq DESC LIMIT 1").fetch_optional(&mut **t).await?
    });
    match head {
        None => Ok((0, GENESIS)),
        Some((seq, hash)) => Ok((seq, crate::query::to_hash(hash)?)),
    }
}

/// Adds numbered entries and their postings.
pub(crate) fn insert_entries<'a>(group: &mut WriteGroup<'a>, rows: &[EntryRow<'a>], accounts: &HashMap<String, i64>) {
    let entries = rows.iter().flat_map(|r| {
        let e = r.entry;
        [
            r.seq.into(),
            e.entry_id.as_str().into(),
            e.date.as_str().into(),
            e.kind.as_str().into(),
            e.reverses.as_deref().into(),
            r.content_hash.to_vec().into(),
            r.chain_hash.to_vec().into(),
        ]
    });
    group.insert_rows(
        "entries (seq, entry_id, entry_date, kind, reverses, content_hash, chain_hash)",
        7,
        "",
        entries.collect(),
    );
    let postings = rows.iter().flat_map(|r| {
        r.entry.postings.iter().enumerate().flat_map(move |(i, p)| {
            [
                r.seq.into(),
                (i as i64 + 1).into(),
                accounts[&p.account].into(),
                p.debit_fen.into(),
                p.credit_fen.into(),
                p.memo.as_str().into(),
            ]
        })
    });
    group.insert_rows(
        "postings (entry_seq, line_no, account_id, debit_fen, credit_fen, memo)",
        6,
        "",
        postings.collect(),
    );
}
