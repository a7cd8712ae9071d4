//! Migration 0010 carries a database of the old drawdown tables over: states, revised
//! estimates, final costs and votes keep their values, and the rows are chained on first open.

use sqlx::Connection;

use crate::{Pool, Store};

/// The SQLite migration scripts before `upto`, read from the source tree, in order.
fn scripts_before(upto: u32) -> Vec<(i64, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut scripts: Vec<(i64, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_owned();
            let version: i64 = name.split('_').next()?.parse().ok()?;
            (version < i64::from(upto)).then(|| (version, std::fs::read_to_string(&path).unwrap()))
        })
        .collect();
    scripts.sort();
    scripts
}

#[tokio::test]
async fn drawdowns_of_before_migration_10_keep_their_state_and_are_chained() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let mut old = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE mfund_schema_versions (version BIGINT PRIMARY KEY)").execute(&mut old).await.unwrap();
    for (version, script) in scripts_before(10) {
        sqlx::raw_sql(&script).execute(&mut old).await.unwrap();
        sqlx::query("INSERT INTO mfund_schema_versions (version) VALUES ($1)")
            .bind(version)
            .execute(&mut old)
            .await
            .unwrap();
    }
    sqlx::raw_sql(
        "INSERT INTO estates VALUES ('E1', '玫瑰园', '东城区', '东城街道', '物业');
         INSERT INTO buildings VALUES ('B1', 'E1', '1幢', 6, FALSE);
         INSERT INTO units VALUES ('U1', 'B1', 10000, 'residential', '张三');
         INSERT INTO drawdowns VALUES ('D1', 'E1', 'estate', 'exterior_painting', 'normal', 250000, 'C', '', 'a', '2025-01-01', 'completed', 240000);
         INSERT INTO drawdown_units VALUES ('D1', 'U1');
         INSERT INTO drawdown_events (drawdown_id, seq, action, actor, role, at, reason) VALUES ('D1', 1, 'apply', 'a', 'clerk', '2025-01-01', '');
         INSERT INTO drawdown_events (drawdown_id, seq, action, actor, role, at, reason) VALUES ('D1', 2, 'complete', 'a', 'clerk', '2025-02-01', '');
         INSERT INTO drawdown_votes VALUES ('D1', 'U1', 'yes');",
    )
    .execute(&mut old)
    .await
    .unwrap();
    old.close().await.unwrap();

    let store = Store::connect(&url).await.unwrap();
    let mut tx = store.begin_read().await.unwrap();
    let d = crate::drawdown::existing_for_tests(&mut tx, "D1").await;
    tx.commit().await.unwrap();
    assert_eq!(d.state, ledger_core::drawdown::State::Completed);
    assert_eq!(d.estimate.fen(), 250_000);
    assert_eq!(d.final_cost.map(|m| m.fen()), Some(240_000));
    assert!(store.tally_drawdown("D1").await.unwrap().yes_owners == 1);
    let verified = store.verify(&|_, _| {}).await.unwrap();
    assert!(verified.is_intact(), "{verified:?}");
    // The drawdown, its two events and its vote.
    assert_eq!(verified.records.records_checked, 4);
    let Pool::Sqlite(pool) = &store.pool else { unreachable!() };
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM records_unsealed").fetch_one(pool).await.unwrap();
    assert_eq!(pending, 0, "sealed once");
    store.close().await;
    let again = Store::connect(&url).await.unwrap();
    assert_eq!(again.verify(&|_, _| {}).await.unwrap().records.records_checked, 4);
}
