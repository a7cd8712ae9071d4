//! mfund's database: embedded SQLite by default, PostgreSQL when the URL says so.
//!
//! The main design choice: one SQL text serves both engines (`$1` placeholders work in both),
//! and each query body is compiled once per engine by the [`dispatch!`] macro instead of through
//! sqlx's `Any` driver, which would hide the engine-specific fast paths (PostgreSQL `COPY`).
//! This crate decides nothing about money: it loads what [`ledger_core`] needs to judge and
//! writes what core has checked. Amounts are integer fen (BIGINT) in both engines.
//!
//! Invariants kept here and in the schema: posted entries and their postings are append-only
//! (triggers refuse UPDATE, DELETE and TRUNCATE), and each entry carries a chain hash over its
//! predecessor, so `verify` can prove nothing was changed.

mod allocation;
mod bank;
mod drawdown;
mod estate;
mod group;
mod import;
mod ledger;
mod query;
mod rating;
mod schema;
mod users;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use thiserror::Error;

pub use allocation::TopupFilter;
pub use bank::{BankAccount, BankAddedBy};
pub use drawdown::{DrawdownView, EventView, ListFilter, PaymentView, UnitShare};
pub use estate::{RecordBreakView, RecordsOutcome};
pub use import::{ImportBy, ImportOutcome, ImportRefused};
pub use ledger::ChainHead;
pub use query::{Balance, BalanceScope, VerifyOutcome};
pub use rating::{EstateRatingView, EstateYear, MonthView, Publication, PublishedYear, RatingImportOutcome, YearLists};
pub use users::{KeptAnswer, User};

/// Runs the same body against whichever engine a [`Pool`] or [`Tx`] belongs to; the body is
/// compiled once per engine.
macro_rules! dispatch {
    ($kind:ident, $target:expr, |$c:ident| $body:expr) => {
        match $target {
            $crate::$kind::Sqlite($c) => $body,
            $crate::$kind::Postgres($c) => $body,
        }
    };
}
pub(crate) use dispatch;

/// The connection pool of one of the two engines.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction on one of the two engines.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        dispatch!(Tx, self, |t| t.commit().await?);
        Ok(())
    }

    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        dispatch!(Tx, self, |t| t.rollback().await?);
        Ok(())
    }
}

/// A handle on an mfund database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    /// Readers (and the rare write outside the ledger, such as adding a user).
    pool: Pool,
    /// One connection, for ledger and drawdown writes (see `begin_write` and `writer`).
    write_pool: Pool,
    url: String,
    /// This process's writers, one at a time (see `begin_write`).
    writers: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Drawdown writes waiting to be committed together (see `writer`).
    queue: std::sync::Arc<writer::WriteQueue>,
}

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: expected sqlite://PATH or postgres://USER@HOST/DB")]
    BadUrl(String),
    #[error("cannot open the database `{url}`: {reason}")]
    Open { url: String, reason: sqlx::Error },
    // No `#[source]`: sqlx's message already includes its cause, and a chain would repeat it.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("{0}")]
    Refused(ImportRefused),
    #[error("the stored ledger is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Drawdown(ledger_core::drawdown::DrawdownError),
    /// The actor may not do this (core's `authorize` said no).
    #[error(transparent)]
    Denied(ledger_core::actor::Denied),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A write's transaction failed (or its commit could not be confirmed); repeating the
    /// write is safe, since every write finds work already done and changes nothing.
    #[error("not written: {0}")]
    NotWritten(String),
    /// An allocation's rule refused it (SPEC §6).
    #[error(transparent)]
    Allocation(ledger_core::allocation::AllocationError),
}

impl StoreError {
    /// A rule or the stored state refused the request, before anything was written.
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(
            self,
            StoreError::Drawdown(_)
                | StoreError::Denied(_)
                | StoreError::NotFound(_)
                | StoreError::Conflict(_)
                | StoreError::Allocation(_)
        )
    }

    /// The connection to the database broke or could not be had: the write may be repeated.
    pub(crate) fn is_connection_lost(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed
            )
        )
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        StoreError::Database(error)
    }
}

/// The fund's day today by the system clock (China Standard Time, see
/// [`ledger_core::date::FUND_UTC_OFFSET_SECONDS`]): what a write is recorded on.
pub fn today() -> ledger_core::Date {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    ledger_core::Date::of_unix_seconds(now as i64)
}

/// How many connections a pool opens; the CLI needs one, the API a few.
const MAX_CONNECTIONS: u32 = 8;
/// How long a writer waits for SQLite's lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let open_error = |reason| StoreError::Open { url: url.to_owned(), reason };
        // Writers get a connection of their own: a write batch must never queue behind
        // readers for one of the readers' pool (it holds the ledger's write lock meanwhile).
        let (pool, write_pool) = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(open_error)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // A committed payment survives a power cut, as it does on PostgreSQL; group
                // commit (see `writer`) keeps that to one flush per batch of writes.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                // 64 MiB of page cache (default 2 MiB) keeps the posting index in memory on import.
                .pragma("cache_size", "-65536")
                // Statement journals (a multi-row INSERT undone half-way) stay in memory.
                .pragma("temp_store", "memory");
            // A local file does not go stale: no ping before each use.
            let pool = SqlitePoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .test_before_acquire(false)
                .connect_with(options.clone())
                .await
                .map_err(open_error)?;
            let writer =
                SqlitePoolOptions::new().max_connections(1).test_before_acquire(false).connect_lazy_with(options);
            (Pool::Sqlite(pool), Pool::Sqlite(writer))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url).map_err(open_error)?;
            // No ping before each use either: it doubled the round trips of a balance read; a
            // connection found broken is discarded on its first error.
            let pool = PgPoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .test_before_acquire(false)
                .connect_with(options.clone())
                .await
                .map_err(open_error)?;
            let writer = PgPoolOptions::new().max_connections(1).test_before_acquire(false).connect_lazy_with(options);
            (Pool::Postgres(pool), Pool::Postgres(writer))
        } else {
            return Err(StoreError::BadUrl(url.to_owned()));
        };
        let store =
            Store { pool, write_pool, url: url.to_owned(), writers: Default::default(), queue: Default::default() };
        schema::migrate(&store.pool).await?;
        store.seal_unchained_records().await?;
        Ok(store)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn engine(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "SQLite",
            Pool::Postgres(_) => "PostgreSQL",
        }
    }

    /// A read transaction on the readers' pool: one consistent view across several queries.
    pub(crate) async fn begin_read(&self) -> Result<Tx, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// A write transaction on the writers' connection that holds the ledger's write lock in the
    /// database too (for writers in other processes). The caller holds `writers`.
    pub(crate) async fn begin_locked(&self) -> Result<Tx, StoreError> {
        Ok(match &self.write_pool {
            // IMMEDIATE takes SQLite's write lock now, so the chain head cannot move under us.
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(import::LOCK_LEDGER).execute(&mut *tx).await?;
                Tx::Postgres(tx)
            }
        })
    }

    pub async fn close(&self) {
        dispatch!(Pool, &self.write_pool, |p| p.close().await);
        dispatch!(Pool, &self.pool, |p| p.close().await)
    }
}
