//! Reading the ledger: the state an import is judged against, balances, and the audit walk.

use std::collections::HashMap;

use ledger_core::audit::{Break, ChainVerifier, Hash, StoredEntry, StoredPosting};
use ledger_core::import::StoredState;
use ledger_core::interchange::Located;
use ledger_core::recon::{ChunkFacts, CityIndex, JournalFacts, PostingIn};
use ledger_core::registry::{Building, Estate, FloorArea, Unit, UnitUse};
use ledger_core::{Date, EntryKind, Money};
use serde::Serialize;

use crate::{dispatch, Pool, Store, StoreError, Tx};

/// Entries read per page while verifying, bounding memory on a city-sized ledger.
const VERIFY_PAGE_ENTRIES: i64 = 20_000;

pub(crate) fn to_hash(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| StoreError::Corrupt(format!("a stored hash has {} bytes, expected 32", b.len())))
}

type EstateRow = (String, String, String, String, String);
type BuildingRow = (String, String, String, i64, bool);
type UnitRow = (String, String, i64, String, String);

fn unit_from_row((unit_id, building_id, area, unit_use, owner): UnitRow) -> Result<Unit, StoreError> {
    let floor_area = FloorArea::from_centi_m2(area)
        .ok_or_else(|| StoreError::Corrupt(format!("unit `{unit_id}` has floor area {area}")))?;
    let unit_use = UnitUse::parse(&unit_use)
        .ok_or_else(|| StoreError::Corrupt(format!("unit `{unit_id}` has use `{unit_use}`")))?;
    Ok(Unit { unit_id, building_id, floor_area, unit_use, owner })
}

/// Everything an import must be checked against, read inside the import's transaction.
pub(crate) async fn load_state(tx: &mut Tx) -> Result<StoredState, StoreError> {
    let mut state = load_registry(tx).await?;
    let hashes: Vec<(String, Vec<u8>)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as("SELECT entry_id, content_hash FROM entries").fetch_all(&mut **t).await?
    });
    state.entry_hashes =
        hashes.into_iter().map(|(id, hash)| Ok((id, to_hash(hash)?))).collect::<Result<HashMap<_, _>, StoreError>>()?;
    state.bank_accounts = crate::bank::configured(tx).await?;
    // Every debit ever posted: SQLite refuses an integer SUM past i64, PostgreSQL the cast.
    let debits: Result<i64, sqlx::Error> = dispatch!(Tx, tx, |t| {
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(debit_fen), 0) AS BIGINT) FROM account_totals")
            .fetch_one(&mut **t)
            .await
    });
    state.ledger_debit_fen =
        debits.map_err(|e| StoreError::Corrupt(format!("the running totals cannot be summed in i64 fen: {e}")))?;
    Ok(state)
}

/// The registry alone (estates, buildings, units), without the entries' hashes: what
/// reconciliation needs.
async fn load_registry(tx: &mut Tx) -> Result<StoredState, StoreError> {
    let (estates, buildings, units): (Vec<EstateRow>, Vec<BuildingRow>, Vec<UnitRow>) = dispatch!(Tx, tx, |t| (
        sqlx::query_as("SELECT estate_id, name, district, street_office, property_company FROM estates")
            .fetch_all(&mut **t)
            .await?,
        sqlx::query_as("SELECT building_id, estate_id, name, floors, has_elevator FROM buildings")
            .fetch_all(&mut **t)
            .await?,
        sqlx::query_as("SELECT unit_id, building_id, floor_area_centi_m2, unit_use, owner FROM units")
            .fetch_all(&mut **t)
            .await?,
    ));
    let mut state = StoredState::default();
    for (estate_id, name, district, street_office, property_company) in estates {
        state.estates.insert(estate_id.clone(), Estate { estate_id, name, district, street_office, property_company });
    }
    for (building_id, estate_id, name, floors, has_elevator) in buildings {
        let floors = u16::try_from(floors)
            .map_err(|_| StoreError::Corrupt(format!("building `{building_id}` has {floors} floors")))?;
        state.buildings.insert(building_id.clone(), Building { building_id, estate_id, name, floors, has_elevator });
    }
    for row in units {
        let unit = unit_from_row(row)?;
        state.units.insert(unit.unit_id.clone(), unit);
    }
    Ok(state)
}

/// An entry's row as stored, with its hashes.
#[derive(sqlx::FromRow)]
struct EntryHeader {
    seq: i64,
    entry_id: String,
    entry_date: String,
    kind: String,
    reverses: Option<String>,
    content_hash: Vec<u8>,
    chain_hash: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct PostingRow {
    entry_seq: i64,
    account: String,
    debit_fen: i64,
    credit_fen: i64,
    memo: String,
}

fn stored_entry(header: &EntryHeader, postings: Vec<StoredPosting>) -> StoredEntry {
    StoredEntry {
        entry_id: header.entry_id.clone(),
        date: header.entry_date.clone(),
        kind: header.kind.clone(),
        reverses: header.reverses.clone(),
        postings,
    }
}

fn stored_posting(row: PostingRow) -> StoredPosting {
    StoredPosting { account: row.account, debit_fen: row.debit_fen, credit_fen: row.credit_fen, memo: row.memo }
}

/// One stored entry with its postings, as stored.
pub(crate) async fn load_entry(tx: &mut Tx, entry_id: &str) -> Result<Option<StoredEntry>, StoreError> {
    let (header, postings): (Option<EntryHeader>, Vec<PostingRow>) = dispatch!(Tx, tx, |t| {
        let header: Option<EntryHeader> =
            sqlx::query_as("SELECT seq, entry_id, entry_date, kind, reverses, content_hash, chain_hash FROM entries WHERE entry_id = $1").bind(entry_id).fetch_optional(&mut **t).await?;
        let seq = header.as_ref().map_or(-1, |h| h.seq);
        let postings = sqlx::query_as("SELECT p.entry_seq, a.account, p.debit_fen, p.credit_fen, p.memo FROM postings p JOIN accounts a ON a.account_id = p.account_id WHERE p.entry_seq = $1 ORDER BY p.line_no").bind(seq).fetch_all(&mut **t).await?;
        (header, postings)
    });
    Ok(header.map(|h| stored_entry(&h, postings.into_iter().map(stored_posting).collect())))
}

/// Which part of the city a balance covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "scope", content = "id", rename_all = "lowercase")]
pub enum BalanceScope {
    Unit(String),
    Building(String),
    Estate(String),
    City,
}

/// The unit sub-ledger balance of a scope: credits − debits over its units' accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Balance {
    #[serde(flatten)]
    pub scope: BalanceScope,
    pub as_of: Option<Date>,
    pub units: i64,
    pub credits: Money,
    pub debits: Money,
    pub balance: Money,
}

/// The outcome of walking the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyOutcome {
    pub entries_checked: u64,
    /// Postings covered by the content hashes of the entries checked.
    pub postings_checked: u64,
    /// The chain hash of the last entry checked; an auditor can keep it to detect later rewrites
    /// and truncation (`mfund verify --expect-head`).
    pub head: String,
    pub first_break: Option<ChainBreak>,
    /// Postings that no chained entry's hash covers (an entry number that does not exist, an
    /// account number that does not): they could move a balance unseen.
    pub uncovered_postings: Vec<String>,
    /// Accounts whose running totals differ from the sum of their chained postings (at most a
    /// few named, with both figures): balances read from the totals would be wrong for them.
    pub totals_mismatches: Vec<String>,
    /// The head asked for with `--expect-head`, and where the chain passes through it.
    pub expected_head: Option<ExpectedHead>,
    /// The records chain (workflow records and registry versions), walked after the entries.
    pub records: crate::RecordsOutcome,
}

/// A head kept earlier, looked for in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedHead {
    pub head: String,
    /// The sequence number of the entry whose chain hash it is (0: the empty ledger's); `None`
    /// when the chain no longer passes through it: entries after the last one checked were
    /// removed, or an entry up to it was changed.
    pub found_at_seq: Option<i64>,
}

impl VerifyOutcome {
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
            && self.uncovered_postings.is_empty()
            && self.totals_mismatches.is_empty()
            && self.expected_head.as_ref().is_none_or(|e| e.found_at_seq.is_some())
            && self.records.first_break.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    pub seq: i64,
    pub entry_id: String,
    pub reason: String,
}

/// One page of stored entries in sequence order, each with its postings in line order.
struct EntryPage {
    entries: Vec<(EntryHeader, Vec<StoredPosting>)>,
}

/// Entries as a reconciliation reads them: sequence number, id, date, kind, and the postings
/// as `account_id,signed_fen` joined by `;` in line order.
type LedgerRow = (i64, String, String, String, String);

impl Store {
    /// The entries numbered `from..=to`, postings folded into one text per entry by the
    /// database: one row per entry instead of one per posting (rows are what cost through the
    /// driver), and no hashes, memos or account names.
    async fn ledger_rows(&self, from: i64, to: i64) -> Result<Vec<LedgerRow>, StoreError> {
        const POSTINGS: &str = "CAST(p.account_id AS TEXT) || ',' || CAST(p.debit_fen - p.credit_fen AS TEXT), ';' \
                                ORDER BY p.line_no";
        const FROM: &str = "FROM entries e JOIN postings p ON p.entry_seq = e.seq WHERE e.seq BETWEEN $1 AND $2 \
                            GROUP BY e.seq, e.entry_id, e.entry_date, e.kind ORDER BY e.seq";
        const HEAD: &str = "SELECT e.seq, e.entry_id, e.entry_date, e.kind";
        // The one difference between the engines: the name of the string aggregate.
        Ok(match &self.pool {
            Pool::Sqlite(p) => {
                let sql = format!("{HEAD}, group_concat({POSTINGS}) {FROM}");
                sqlx::query_as(&sql).bind(from).bind(to).fetch_all(p).await?
            }
            Pool::Postgres(p) => {
                let sql = format!("{HEAD}, string_agg({POSTINGS}) {FROM}");
                sqlx::query_as(&sql).bind(from).bind(to).fetch_all(p).await?
            }
        })
    }

    /// The entries after sequence number `after`, at most `limit` of them.
    async fn entry_page(&self, after: i64, limit: i64) -> Result<EntryPage, StoreError> {
        let (headers, postings): (Vec<EntryHeader>, Vec<PostingRow>) = dispatch!(Pool, &self.pool, |p| {
            let headers: Vec<EntryHeader> = sqlx::query_as(
                "SELECT seq, entry_id, entry_date, kind, reverses, content_hash, chain_hash FROM entries \
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await?;
            let last = headers.last().map_or(after, |h| h.seq);
            let postings = sqlx::query_as(
                "SELECT p.entry_seq, a.account, p.debit_fen, p.credit_fen, p.memo FROM postings p \
                 JOIN accounts a ON a.account_id = p.account_id \
                 WHERE p.entry_seq > $1 AND p.entry_seq <= $2 ORDER BY p.entry_seq, p.line_no",
            )
            .bind(after)
            .bind(last)
            .fetch_all(p)
            .await?;
            (headers, postings)
        });
        let mut postings = postings.into_iter().peekable();
        let entries = headers
            .into_iter()
            .map(|header| {
                let mut own = Vec::new();
                while let Some(row) = postings.next_if(|row| row.entry_seq == header.seq) {
                    own.push(stored_posting(row));
                }
                (header, own)
            })
            .collect();
        Ok(EntryPage { entries })
    }

    /// The unit sub-ledger balance of a unit, building, estate or the city, optionally as of
    /// the end of a date. Returns `None` when the unit, building or estate is not registered.
    pub async fn balance(&self, scope: &BalanceScope, as_of: Option<Date>) -> Result<Option<Balance>, StoreError> {
        if let (BalanceScope::Unit(unit), None) = (scope, as_of) {
            return self.unit_balance(unit).await;
        }
        // One round trip: the scope's unit count, whether it exists, and the sums.
        let (count_sql, exists_sql, filter) = match scope {
            BalanceScope::Unit(_) => (
                "SELECT COUNT(*) FROM units WHERE unit_id = $1",
                "SELECT COUNT(*) FROM units WHERE unit_id = $1",
                "a.account = 'unit:' || $1",
            ),
            BalanceScope::Building(_) => (
                "SELECT COUNT(*) FROM units WHERE building_id = $1",
                "SELECT COUNT(*) FROM buildings WHERE building_id = $1",
                "a.account IN (SELECT 'unit:' || unit_id FROM units WHERE building_id = $1)",
            ),
            BalanceScope::Estate(_) => (
                "SELECT COUNT(*) FROM units u JOIN buildings b ON b.building_id = u.building_id WHERE b.estate_id = $1",
                "SELECT COUNT(*) FROM estates WHERE estate_id = $1",
                "a.account IN (SELECT 'unit:' || u.unit_id FROM units u JOIN buildings b ON b.building_id = u.building_id WHERE b.estate_id = $1)",
            ),
            BalanceScope::City => ("SELECT COUNT(*) FROM units WHERE $1 = $1", "SELECT 1", "a.account LIKE 'unit:%' AND $1 = $1"),
        };
        let id = match scope {
            BalanceScope::Unit(id) | BalanceScope::Building(id) | BalanceScope::Estate(id) => id.as_str(),
            BalanceScope::City => "",
        };
        let as_of_text = as_of.map_or_else(|| "9999-12-31".to_owned(), |d| d.to_string());
        // Today's balance reads the running totals; a past one sums the postings up to that day.
        let sums = if as_of.is_some() {
            "CAST(COALESCE(SUM(p.credit_fen), 0) AS BIGINT), CAST(COALESCE(SUM(p.debit_fen), 0) AS BIGINT) \
             FROM postings p JOIN entries e ON e.seq = p.entry_seq JOIN accounts a ON a.account_id = p.account_id \
             WHERE e.entry_date <= $2 AND"
        } else {
            "CAST(COALESCE(SUM(p.credit_fen), 0) AS BIGINT), CAST(COALESCE(SUM(p.debit_fen), 0) AS BIGINT) \
             FROM account_totals p JOIN accounts a ON a.account_id = p.account_id WHERE $2 = $2 AND"
        };
        let sql = format!("SELECT CAST(({count_sql}) AS BIGINT), CAST(({exists_sql}) AS BIGINT), {sums} {filter}");
        let (units, exists, credits, debits): (i64, i64, i64, i64) = dispatch!(Pool, &self.pool, |p| {
            sqlx::query_as(&sql).bind(id).bind(as_of_text.as_str()).fetch_one(p).await?
        });
        if exists == 0 {
            return Ok(None);
        }
        let (credits, debits) = (Money::from_fen(credits), Money::from_fen(debits));
        let balance = credits.checked_sub(debits).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some(Balance { scope: scope.clone(), as_of, units, credits, debits, balance }))
    }

    /// A unit's balance today, the API's most frequent read: one row, found by three index
    /// lookups without aggregates or subqueries (the general query's plan cost PostgreSQL
    /// ≈ 140 µs of CPU per read, mostly starting its executor).
    async fn unit_balance(&self, unit: &str) -> Result<Option<Balance>, StoreError> {
        let row: Option<(i64, i64)> = dispatch!(Pool, &self.pool, |p| {
            sqlx::query_as(
                "SELECT CAST(COALESCE(t.credit_fen, 0) AS BIGINT), CAST(COALESCE(t.debit_fen, 0) AS BIGINT) \
                 FROM units u LEFT JOIN accounts a ON a.account = 'unit:' || u.unit_id \
                 LEFT JOIN account_totals t ON t.account_id = a.account_id WHERE u.unit_id = $1",
            )
            .bind(unit)
            .fetch_optional(p)
            .await?
        });
        let Some((credits, debits)) = row else { return Ok(None) };
        let (credits, debits) = (Money::from_fen(credits), Money::from_fen(debits));
        let balance = credits.checked_sub(debits).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some(Balance {
            scope: BalanceScope::Unit(unit.to_owned()),
            as_of: None,
            units: 1,
            credits,
            debits,
            balance,
        }))
    }

    /// Recomputes every entry's content and chain hash in sequence order and names the first
    /// entry where the stored ledger no longer matches what was posted.
    pub async fn verify(&self, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<VerifyOutcome, StoreError> {
        self.verify_expecting(None, progress).await
    }

    /// [`Store::verify`], and also proves that the chain passes through `expected_head`, a head
    /// kept earlier (from `verify`, a public notice, a close): removing the newest entries
    /// leaves a chain that verifies, but not through that head. Beyond the chain it proves that
    /// every posting is covered by a chained entry's hash and that every account's running
    /// totals equal the sums of its chained postings.
    pub async fn verify_expecting(
        &self,
        expected_head: Option<Hash>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<VerifyOutcome, StoreError> {
        let records = crate::estate::records::verify(&self.pool).await?;
        let mut verifier = ChainVerifier::expecting(expected_head);
        let mut after: i64 = 0;
        let total: i64 =
            dispatch!(Pool, &self.pool, |p| sqlx::query_scalar("SELECT COUNT(*) FROM entries").fetch_one(p).await?);
        let mut first_break = None;
        'walk: loop {
            let page = self.entry_page(after, VERIFY_PAGE_ENTRIES).await?;
            let Some((last, _)) = page.entries.last() else { break };
            after = last.seq;
            for (header, own) in page.entries {
                if let Err(reason) = check_entry(&mut verifier, &header, own) {
                    first_break = Some(ChainBreak { seq: header.seq, entry_id: header.entry_id.clone(), reason });
                    break 'walk;
                }
            }
            progress(verifier.checked(), total as u64);
        }
        let last_seq = verifier.checked() as i64;
        let (uncovered_postings, totals_mismatches) = match first_break {
            Some(_) => (Vec::new(), Vec::new()),
            None => {
                (self.uncovered_postings(last_seq, verifier.postings_covered()).await?, self.totals_mismatches().await?)
            }
        };
        let expected_head = expected_head
            .map(|hash| ExpectedHead { head: hex::encode(hash), found_at_seq: verifier.expected_found_at() });
        Ok(VerifyOutcome {
            entries_checked: verifier.checked(),
            postings_checked: verifier.postings_covered(),
            head: hex::encode(verifier.head()),
            first_break,
            uncovered_postings,
            totals_mismatches,
            expected_head,
            records,
        })
    }

    /// Postings outside the chain's hashes: with entry numbers up to `last_seq` there must be
    /// exactly the `covered` ones the walk hashed (one that names a missing account fell out of
    /// the walk's join); above it, only postings of entries appended since the walk.
    async fn uncovered_postings(&self, last_seq: i64, covered: u64) -> Result<Vec<String>, StoreError> {
        const UNCOVERED: &str = "FROM postings p WHERE (p.entry_seq <= $1 OR NOT EXISTS \
             (SELECT 1 FROM entries e WHERE e.seq = p.entry_seq)) AND (p.entry_seq < 1 OR p.entry_seq > $1 \
             OR NOT EXISTS (SELECT 1 FROM accounts a WHERE a.account_id = p.account_id))";
        let (in_chain, beyond): (i64, i64) = dispatch!(Pool, &self.pool, |p| {
            sqlx::query_as(
                "SELECT CAST((SELECT COUNT(*) FROM postings WHERE entry_seq <= $1) AS BIGINT), \
                 CAST((SELECT COUNT(*) FROM postings p WHERE p.entry_seq > $1 \
                       AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.seq = p.entry_seq)) AS BIGINT)",
            )
            .bind(last_seq)
            .fetch_one(p)
            .await?
        });
        if in_chain as u64 == covered && beyond == 0 {
            return Ok(Vec::new());
        }
        let sql =
            format!("SELECT p.entry_seq, p.line_no, p.account_id {UNCOVERED} ORDER BY p.entry_seq, p.line_no LIMIT 20");
        let rows: Vec<(i64, i64, i64)> =
            dispatch!(Pool, &self.pool, |p| sqlx::query_as(&sql).bind(last_seq).fetch_all(p).await?);
        let mut named: Vec<String> = rows
            .into_iter()
            .map(|(seq, line, account)| {
                format!("posting {line} of entry number {seq} (account number {account}): no chained entry's hash covers it")
            })
            .collect();
        if named.is_empty() {
            named.push(format!(
                "{} postings are numbered within the chain's {last_seq} entries, but their hashes cover {covered}",
                in_chain
            ));
        }
        Ok(named)
    }

    /// Accounts whose running totals are not the sums of their postings, which the walk proved
    /// are all chained; and totals kept for an account number that does not exist.
    async fn totals_mismatches(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String, i64, i64, i64, i64)> = dispatch!(Pool, &self.pool, |p| {
            sqlx::query_as(
                "SELECT COALESCE(a.account, 'account number ' || CAST(t.account_id AS TEXT)), \
                 COALESCE(t.debit_fen, 0), COALESCE(t.credit_fen, 0), COALESCE(s.d, 0), COALESCE(s.c, 0) \
                 FROM account_totals t LEFT JOIN accounts a ON a.account_id = t.account_id \
                 LEFT JOIN (SELECT account_id, CAST(SUM(debit_fen) AS BIGINT) AS d, CAST(SUM(credit_fen) AS BIGINT) AS c \
                            FROM postings GROUP BY account_id) s ON s.account_id = t.account_id \
                 WHERE a.account_id IS NULL OR t.debit_fen <> COALESCE(s.d, 0) OR t.credit_fen <> COALESCE(s.c, 0) \
                 UNION ALL \
                 SELECT a.account, 0, 0, s.d, s.c FROM accounts a \
                 JOIN (SELECT account_id, CAST(SUM(debit_fen) AS BIGINT) AS d, CAST(SUM(credit_fen) AS BIGINT) AS c \
                       FROM postings GROUP BY account_id) s ON s.account_id = a.account_id \
                 WHERE NOT EXISTS (SELECT 1 FROM account_totals t WHERE t.account_id = a.account_id) \
                 ORDER BY 1 LIMIT 20",
            )
            .fetch_all(p)
            .await?
        });
        let fen = Money::from_fen;
        Ok(rows
            .into_iter()
            .map(|(account, debit, credit, chained_debit, chained_credit)| {
                format!(
                    "{account}: running totals debit {} credit {}, its chained postings debit {} credit {}",
                    fen(debit),
                    fen(credit),
                    fen(chained_debit),
                    fen(chained_credit)
                )
            })
            .collect())
    }
}

/// Checks one stored entry against the chain; why it breaks it, in words.
fn check_entry(verifier: &mut ChainVerifier, header: &EntryHeader, own: Vec<StoredPosting>) -> Result<(), String> {
    let entry = stored_entry(header, own);
    let checked =
        to_hash(header.content_hash.clone()).and_then(|content| Ok((content, to_hash(header.chain_hash.clone())?)));
    let result = match checked {
        Ok((content, chain)) => verifier.check(header.seq, &entry, &content, &chain),
        Err(_) => Err(Break::ChainChanged),
    };
    result.map_err(|reason| match reason {
        Break::ContentChanged => "its rows no longer match the content hash posted with it".to_owned(),
        Break::ChainChanged => "its chain hash does not follow from the entry before it".to_owned(),
        Break::SequenceGap { expected } => {
            format!("sequence jumps from {} to {}: an entry was removed", expected - 1, header.seq)
        }
    })
}

/// Entries read per page when folding the stored journal for reconciliation.
const RECONCILE_PAGE_ENTRIES: i64 = 50_000;

impl Store {
    /// The registry and the stored journal (entries dated on or before `as_of`, if given),
    /// folded exactly as `reconcile --dir` folds journal.csv.
    pub async fn reconciliation_facts(
        &self,
        as_of: Option<Date>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<(CityIndex, JournalFacts), StoreError> {
        let mut tx = self.begin_read().await?;
        let state = load_registry(&mut tx).await?;
        tx.commit().await?;
        fn sorted<T>(rows: HashMap<String, T>) -> Vec<Located<T>> {
            let mut rows: Vec<(String, T)> = rows.into_iter().collect();
            rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            rows.into_iter().map(|(_, value)| Located { line: 0, value }).collect()
        }
        let city = CityIndex::build(&sorted(state.estates), &sorted(state.buildings), &sorted(state.units))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut facts = JournalFacts::new(&city);
        let as_of_text = as_of.map_or_else(|| "9999-12-31".to_owned(), |d| d.to_string());
        // Account names once, by number; each entry then comes as one row with its postings
        // folded into a text (reading them as `verify` does, a row per posting with memo,
        // hashes and the account's name, took 12 s of a 100,000-unit city's 12.2 s).
        let names: HashMap<i64, String> = dispatch!(Pool, &self.pool, |p| {
            sqlx::query_as::<_, (i64, String)>("SELECT account_id, account FROM accounts").fetch_all(p).await?
        })
        .into_iter()
        .collect();
        // Entries are numbered 1, 2, … without gaps (the chain): pages are ranges of numbers.
        let last: Option<i64> =
            dispatch!(Pool, &self.pool, |p| sqlx::query_scalar("SELECT MAX(seq) FROM entries").fetch_one(p).await?);
        let last = last.unwrap_or(0);
        let mut chunk = ChunkFacts::default();
        let mut postings: Vec<PostingIn> = Vec::new();
        for from in (1..=last).step_by(RECONCILE_PAGE_ENTRIES as usize) {
            let to = (from + RECONCILE_PAGE_ENTRIES - 1).min(last);
            for (_, entry_id, date, kind, folded) in self.ledger_rows(from, to).await? {
                if date.as_str() > as_of_text.as_str() {
                    continue;
                }
                let corrupt = |what: &str| StoreError::Corrupt(format!("entry `{entry_id}`: {what}"));
                postings.clear();
                for posting in folded.split(';') {
                    let (account_id, signed) = posting.split_once(',').ok_or_else(|| corrupt("postings"))?;
                    let (Ok(account_id), Ok(signed_fen)) = (account_id.parse::<i64>(), signed.parse::<i64>()) else {
                        return Err(corrupt("postings"));
                    };
                    let account = names.get(&account_id).ok_or_else(|| corrupt(&format!("account {account_id}")))?;
                    postings.push(PostingIn { account, signed_fen });
                }
                let date = Date::parse(&date).map_err(|e| corrupt(&e.to_string()))?;
                let kind = EntryKind::parse(&kind).ok_or_else(|| corrupt(&format!("kind `{kind}`")))?;
                chunk.add_entry(&city, &entry_id, 0, date, kind, &postings);
            }
            facts.absorb(&mut chunk);
            progress(to as u64, last as u64);
        }
        Ok((city, facts))
    }
}
