//! Schema migrations, one SQL script per engine and version, applied in a transaction each.

use crate::{dispatch, Pool, StoreError};

struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("migrations/0001_ledger.sqlite.sql"),
        postgres: include_str!("migrations/0001_ledger.postgres.sql"),
    },
    Migration {
        version: 2,
        sqlite: include_str!("migrations/0002_drawdowns.sql"),
        postgres: include_str!("migrations/0002_drawdowns.sql"),
    },
    Migration {
        version: 3,
        sqlite: include_str!("migrations/0003_users.sql"),
        postgres: include_str!("migrations/0003_users.sql"),
    },
    Migration {
        version: 4,
        sqlite: include_str!("migrations/0004_account_totals.sql"),
        postgres: include_str!("migrations/0004_account_totals.sql"),
    },
    Migration {
        version: 5,
        sqlite: include_str!("migrations/0005_bank_accounts.sql"),
        postgres: include_str!("migrations/0005_bank_accounts.sql"),
    },
    Migration {
        version: 6,
        sqlite: include_str!("migrations/0006_revocation_and_answers.sql"),
        postgres: include_str!("migrations/0006_revocation_and_answers.sql"),
    },
    Migration {
        version: 7,
        sqlite: include_str!("migrations/0007_kept_rows.sqlite.sql"),
        postgres: include_str!("migrations/0007_kept_rows.postgres.sql"),
    },
    Migration {
        version: 8,
        sqlite: include_str!("migrations/0008_event_office.sql"),
        postgres: include_str!("migrations/0008_event_office.sql"),
    },
];

const CREATE_VERSIONS: &str = "CREATE TABLE IF NOT EXISTS mfund_schema_versions (version BIGINT PRIMARY KEY)";

pub(crate) async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    // Nearly always every migration is in already: one query says so, instead of a transaction
    // per migration on every connect (each CLI command connects once).
    let applied: Result<Vec<i64>, sqlx::Error> = dispatch!(Pool, pool, |p| {
        sqlx::query_scalar("SELECT version FROM mfund_schema_versions").fetch_all(p).await
    });
    if applied.is_ok_and(|applied| MIGRATIONS.iter().all(|m| applied.contains(&m.version))) {
        return Ok(());
    }
    for migration in MIGRATIONS {
        let script = match pool {
            Pool::Sqlite(_) => migration.sqlite,
            Pool::Postgres(_) => migration.postgres,
        };
        dispatch!(Pool, pool, |p| {
            let mut tx = p.begin().await?;
            if matches!(pool, Pool::Postgres(_)) {
                // Two processes opening a new database at once must not both create the schema.
                sqlx::query("SELECT pg_advisory_xact_lock(31415926)").execute(&mut *tx).await?;
            }
            sqlx::raw_sql(CREATE_VERSIONS).execute(&mut *tx).await?;
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT version FROM mfund_schema_versions WHERE version = $1")
                    .bind(migration.version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if applied.is_none() {
                sqlx::raw_sql(script).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO mfund_schema_versions (version) VALUES ($1)")
                    .bind(migration.version)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
    }
    Ok(())
}
