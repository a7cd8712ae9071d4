//! Schema migrations through sqlx's migrator: the `_sqlx_migrations` table, a SHA-384 checksum
//! of each applied script (a script changed after it was applied is refused), one transaction
//! per script. The scripts are `migrations/ENGINE/NNNN_name.sql`, one file per version and
//! engine; adding a migration is adding one file to each folder (`build.rs` lists them).
//!
//! Why not `sqlx::migrate!`: that proc macro reads the folder at build time to do what
//! `include_str!` does, and ties migrations to the `macros` feature. We build the same
//! [`Migrator`] from the embedded files through sqlx's public API ([`MigrationSource`],
//! [`Migration::new`]) instead; the checksums and the table are the ones `migrate!` and the
//! `sqlx` command line would write.
//!
//! Locking: the whole run is one transaction that holds the database's migration lock, so two
//! processes opening a new database at once cannot both create the schema: on PostgreSQL
//! sqlx's own advisory lock key, taken as a transaction lock (released on commit, rollback or
//! a lost connection, unlike the session lock `Migrator::run` takes, which an error would leave
//! held on a pooled connection); on SQLite `BEGIN IMMEDIATE` (sqlx's SQLite migrator takes no
//! lock). sqlx nests each script's transaction as a savepoint inside it.
//!
//! Databases made before sqlx's migrator recorded their versions in `mfund_schema_versions`;
//! they are carried over: the versions found there are recorded in `_sqlx_migrations` with the
//! checksums of the same scripts (unchanged since), and the old table is dropped.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migrate, Migration, MigrationSource, MigrationType, Migrator};

use crate::{Pool, StoreError};

mod files {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// The embedded scripts of one engine, as sqlx's migrator takes them.
#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl Embedded {
    fn of(pool: &Pool) -> Embedded {
        match pool {
            Pool::Sqlite(_) => Embedded(files::SQLITE),
            Pool::Postgres(_) => Embedded(files::POSTGRES),
        }
    }

    fn migrations(&self) -> Vec<Migration> {
        self.0
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(version, Cow::Borrowed(description), MigrationType::Simple, Cow::Borrowed(sql), false)
            })
            .collect()
    }
}

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send>> {
        Box::pin(async move { Ok(self.migrations()) })
    }
}

pub(crate) async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let embedded = Embedded::of(pool);
    // Nearly always every migration is in already: one query says so, instead of the lock and
    // the four queries of a migrator run on every connect (each CLI command connects once).
    let wanted: Vec<(i64, Vec<u8>)> =
        embedded.migrations().into_iter().map(|m| (m.version, m.checksum.into_owned())).collect();
    const APPLIED: &str = "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version";
    let applied: Result<Vec<(i64, Vec<u8>)>, sqlx::Error> =
        crate::dispatch!(Pool, pool, |p| { sqlx::query_as(APPLIED).fetch_all(p).await });
    if applied.is_ok_and(|applied| applied == wanted) {
        return Ok(());
    }
    let mut migrator = Migrator::new(embedded).await.map_err(sqlx::Error::from)?;
    // The lock is ours (see the module comment).
    migrator.set_locking(false);
    match pool {
        Pool::Sqlite(p) => {
            let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
            carry_over_sqlite(&mut tx).await?;
            migrator.run_direct(&mut *tx).await.map_err(sqlx::Error::from)?;
            tx.commit().await?;
        }
        Pool::Postgres(p) => {
            let mut tx = p.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(pg_lock_id(&mut tx).await?).execute(&mut *tx).await?;
            carry_over_postgres(&mut tx).await?;
            migrator.run_direct(&mut *tx).await.map_err(sqlx::Error::from)?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// sqlx's migration lock key for the current database (sqlx-postgres `generate_lock_id`), so
/// that the `sqlx` command line and mfund exclude each other too.
async fn pg_lock_id(tx: &mut sqlx::PgConnection) -> Result<i64, StoreError> {
    let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&mut *tx).await?;
    Ok(0x3d32ad9e * i64::from(crc32(database.as_bytes())))
}

/// CRC-32 (IEEE, as zlib), for [`pg_lock_id`]; a few bytes once per migration run.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &byte| {
        (0..8).fold(crc ^ u32::from(byte), |c, _| if c & 1 == 1 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 })
    })
}

const OLD_VERSIONS: &str = "SELECT version FROM mfund_schema_versions ORDER BY version";
const DROP_OLD: &str = "DROP TABLE mfund_schema_versions";
const RECORD: &str = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                      VALUES ($1, $2, TRUE, $3, -1)";

/// Carries a database of the old scheme over on one engine's connection: the same steps for
/// both engines, only the question whether the old table exists differs.
macro_rules! carry_over {
    ($tx:expr, $old_table_exists:expr, $files:expr) => {{
        let old: i64 = sqlx::query_scalar($old_table_exists).fetch_one(&mut *$tx).await?;
        if old > 0 {
            $tx.ensure_migrations_table().await.map_err(sqlx::Error::from)?;
            let versions: Vec<i64> = sqlx::query_scalar(OLD_VERSIONS).fetch_all(&mut *$tx).await?;
            for migration in carried($files, &versions)? {
                sqlx::query(RECORD)
                    .bind(migration.version)
                    .bind(&*migration.description)
                    .bind(&*migration.checksum)
                    .execute(&mut *$tx)
                    .await?;
            }
            sqlx::raw_sql(DROP_OLD).execute(&mut *$tx).await?;
        }
        Ok(())
    }};
}

async fn carry_over_sqlite(tx: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
    carry_over!(
        tx,
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'mfund_schema_versions'",
        files::SQLITE
    )
}

async fn carry_over_postgres(tx: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    carry_over!(tx, "SELECT CAST(COUNT(to_regclass('mfund_schema_versions')) AS BIGINT)", files::POSTGRES)
}

/// The migrations the old scheme says were applied; a version this program does not know
/// means the database is newer than the program.
fn carried(
    files: &'static [(i64, &'static str, &'static str)],
    versions: &[i64],
) -> Result<Vec<Migration>, StoreError> {
    let known = Embedded(files).migrations();
    versions
        .iter()
        .map(|v| {
            known.iter().find(|m| m.version == *v).cloned().ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "mfund_schema_versions records schema version {v}, which this mfund does not know (it knows 1 to {})",
                    known.len()
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_ieee_one_sqlx_uses() {
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn each_engine_has_versions_one_to_n_in_order() {
        for files in [files::SQLITE, files::POSTGRES] {
            let versions: Vec<i64> = files.iter().map(|f| f.0).collect();
            assert_eq!(versions, (1..=files.len() as i64).collect::<Vec<_>>());
        }
        assert_eq!(files::SQLITE.len(), files::POSTGRES.len());
    }

    /// A database made by mfund before sqlx's migrator (versions 1–7 in `mfund_schema_versions`)
    /// opens: its versions are carried over with the scripts' checksums, the missing ones are
    /// applied, the old table is gone and the data stays.
    #[tokio::test]
    async fn a_database_of_the_old_scheme_is_carried_over() {
        use sqlx::Connection;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
        let mut old = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("CREATE TABLE mfund_schema_versions (version BIGINT PRIMARY KEY)")
            .execute(&mut old)
            .await
            .unwrap();
        for (version, _, script) in files::SQLITE.iter().filter(|f| f.0 <= 7) {
            sqlx::raw_sql(script).execute(&mut old).await.unwrap();
            sqlx::query("INSERT INTO mfund_schema_versions (version) VALUES ($1)")
                .bind(version)
                .execute(&mut old)
                .await
                .unwrap();
        }
        sqlx::raw_sql("INSERT INTO estates VALUES ('E1', '玫瑰园', '东城区', '东城街道', '物业')")
            .execute(&mut old)
            .await
            .unwrap();
        old.close().await.unwrap();

        let store = crate::Store::connect(&url).await.unwrap();
        let crate::Pool::Sqlite(pool) = &store.pool else { unreachable!() };
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(pool).await.unwrap();
        assert_eq!(applied, (1..=files::SQLITE.len() as i64).collect::<Vec<_>>());
        let old_table: Option<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name = 'mfund_schema_versions'")
                .fetch_optional(pool)
                .await
                .unwrap();
        assert_eq!(old_table, None, "the old table is dropped");
        let office: String = sqlx::query_scalar("SELECT street_office FROM estates WHERE estate_id = 'E1'")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(office, "东城街道");
        // Version 8 was applied on top: the events have their office column.
        sqlx::query("SELECT office FROM drawdown_events").fetch_all(pool).await.unwrap();
        store.close().await;
        // And opening it again changes nothing.
        crate::Store::connect(&url).await.unwrap().close().await;
    }
}
