//! Importing a city: atomic, idempotent, the same on both engines.

use ledger_store::BalanceScope;

use crate::on_both_engines;
use crate::support::{city, mfund, snapshot, stderr, stdout, Engine, TestDb};

on_both_engines!(
    import_twice_posts_nothing_twice,
    same_entry_id_with_other_content_shows_both,
    balances_by_scope_and_date,
    database_refuses_update_and_delete,
    concurrent_imports_post_once,
    bulk_import_rebuilds_the_posting_index
);

async fn import_twice_posts_nothing_twice(engine: Engine) {
    let db = TestDb::new(engine).await;
    let (_keep, dir) = city(300, 11);
    let first = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap(), "--json"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let first: serde_json::Value = serde_json::from_str(&stdout(&first)).unwrap();
    assert!(first["postings"].as_u64().unwrap() > 3000);
    let store = db.store().await;
    let before = snapshot(&store).await;
    let second = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap(), "--json"]);
    assert!(second.status.success(), "{}", stderr(&second));
    let second: serde_json::Value = serde_json::from_str(&stdout(&second)).unwrap();
    assert_eq!(second["entries"], 0);
    assert_eq!(second["already_stored"], first["entries"]);
    assert_eq!(snapshot(&store).await, before);
}

async fn same_entry_id_with_other_content_shows_both(engine: Engine) {
    let db = TestDb::new(engine).await;
    let (_keep, dir) = city(50, 3);
    assert!(mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]).status.success());
    let store = db.store().await;
    let before = snapshot(&store).await;
    // Change the amount of the first entry's two rows (still balanced, different content).
    let journal = std::fs::read_to_string(dir.join("journal.csv")).unwrap();
    let mut lines: Vec<String> = journal.lines().map(str::to_owned).collect();
    let first_amount = lines[1].split(',').nth(4).unwrap().to_owned();
    lines[1] = lines[1].replacen(&first_amount, "1.00", 1);
    lines[2] = lines[2].replacen(&first_amount, "1.00", 1);
    std::fs::write(dir.join("journal.csv"), lines.join("\n")).unwrap();
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(message.contains("journal.csv:2:1"), "{message}");
    assert!(message.contains("already posted with different content"), "{message}");
    assert!(message.contains("1.00") && message.contains(&first_amount), "both versions shown: {message}");
    assert_eq!(snapshot(&store).await, before);
}

async fn balances_by_scope_and_date(engine: Engine) {
    let db = TestDb::new(engine).await;
    let (_keep, dir) = city(120, 5);
    assert!(mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]).status.success());
    let store = db.store().await;
    // The bank's per-unit balances of a clean generated city equal the ledger's.
    let bank = std::fs::read_to_string(dir.join("unit_balances.csv")).unwrap();
    let (unit, expected) = bank.lines().nth(7).unwrap().split_once(',').unwrap();
    let balance = store.balance(&BalanceScope::Unit(unit.into()), None).await.unwrap().unwrap();
    assert_eq!(balance.balance.to_string(), expected);
    let out = mfund(&db.url, &["balance", "--unit", unit, "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["balance"], expected);
    // The city total is the sum of the bank's unit balances.
    let total: i64 =
        bank.lines().skip(1).map(|l| ledger_core::Money::parse(l.split_once(',').unwrap().1).unwrap().fen()).sum();
    let city = store.balance(&BalanceScope::City, None).await.unwrap().unwrap();
    assert_eq!(city.balance.fen(), total);
    assert_eq!(city.units, 120);
    // Today's balance comes from the running totals, a dated one from the postings: they agree.
    let dated = store
        .balance(&BalanceScope::City, Some(ledger_core::Date::parse("2099-12-31").unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((dated.credits, dated.debits), (city.credits, city.debits));
    // Before the first deposit nothing was held; estates and buildings add up to the city.
    let early = store
        .balance(&BalanceScope::City, Some(ledger_core::Date::parse("2015-12-31").unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(early.balance.fen(), 0);
    let estate = store.balance(&BalanceScope::Estate("E00001".into()), None).await.unwrap().unwrap();
    assert!(estate.units > 0 && estate.balance.fen() <= city.balance.fen());
    assert!(store.balance(&BalanceScope::Building("NOPE".into()), None).await.unwrap().is_none());
    let missing = mfund(&db.url, &["balance", "--estate", "NOPE"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("estate NOPE is not registered"));
}

async fn database_refuses_update_and_delete(engine: Engine) {
    let db = TestDb::new(engine).await;
    let (_keep, dir) = city(20, 1);
    assert!(mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]).status.success());
    let store = db.store().await;
    let before = snapshot(&store).await;
    for sql in [
        "UPDATE postings SET memo = 'changed' WHERE entry_seq = 1",
        "DELETE FROM postings WHERE entry_seq = 1",
        "UPDATE entries SET entry_date = '2000-01-01' WHERE seq = 1",
        "DELETE FROM entries WHERE seq = 1",
    ] {
        let refused = raw_sql(&db, sql).await;
        let message = refused.expect_err(sql);
        assert!(message.contains("append-only"), "{sql}: {message}");
    }
    assert_eq!(snapshot(&store).await, before);
}

async fn concurrent_imports_post_once(engine: Engine) {
    let db = TestDb::new(engine).await;
    let (_keep, dir) = city(200, 9);
    let store = db.store().await;
    let ((registry_a, journal_a), (registry_b, journal_b)) = (ledger_cli_files(&dir), ledger_cli_files(&dir));
    let (a, b) =
        tokio::join!(store.import(registry_a, journal_a, &|_, _| {}), store.import(registry_b, journal_b, &|_, _| {}));
    let (a, b) = (a.expect("first import"), b.expect("second import"));
    assert_eq!(a.entries + b.entries, a.entries.max(b.entries), "one of them posted everything, the other nothing");
    assert_eq!(a.already_stored + b.already_stored, a.entries.max(b.entries));
    let after = snapshot(&store).await;
    assert_eq!(after.entries as usize, a.entries.max(b.entries));
}

fn ledger_cli_files(dir: &std::path::Path) -> (ledger_core::import::RegistryFiles, Option<Vec<u8>>) {
    use ledger_core::interchange as i;
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let registry = ledger_core::import::RegistryFiles {
        estates: i::read_estates(&read(i::ESTATES_FILE)).unwrap(),
        buildings: i::read_buildings(&read(i::BUILDINGS_FILE)).unwrap(),
        units: i::read_units(&read(i::UNITS_FILE)).unwrap(),
    };
    (registry, Some(read(i::JOURNAL_FILE)))
}

/// Runs SQL straight against the test database, as an intruder with a SQL prompt would.
pub async fn raw_sql(db: &TestDb, sql: &str) -> Result<u64, String> {
    use sqlx::Connection;
    let result = match db.engine {
        Engine::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut conn).await.map(|r| r.rows_affected())
        }
        Engine::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut conn).await.map(|r| r.rows_affected())
        }
    };
    result.map_err(|e| e.to_string())
}

/// Past `BULK_MIN_ROWS` journal rows the import drops the posting index and rebuilds it at the
/// end; a refused bulk import must leave the index as it was.
async fn bulk_import_rebuilds_the_posting_index(engine: Engine) {
    let db = TestDb::new(engine).await;
    let (_keep, dir) = city(7_000, 4);
    let journal = std::fs::read_to_string(dir.join("journal.csv")).unwrap();
    assert!(journal.lines().count() > 100_000, "the city is big enough for a bulk load");
    // First a refused bulk load: a bad last row rolls everything back, index included.
    let bad = db.folder().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    for name in ["estates.csv", "buildings.csv", "units.csv"] {
        std::fs::copy(dir.join(name), bad.join(name)).unwrap();
    }
    std::fs::write(bad.join("journal.csv"), format!("{journal}Z1,2025-01-01,deposit,bank:1,1.001,,\n")).unwrap();
    let refused = mfund(&db.url, &["import", "--dir", bad.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("at most 2 decimals"));
    let index_count = match engine {
        Engine::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'postings_by_account'",
        Engine::Postgres => "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'postings_by_account'",
    };
    let store = db.store().await;
    assert_eq!(scalar(&db, index_count).await, 1);
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(scalar(&db, index_count).await, 1);
    let (unit, expected) = std::fs::read_to_string(dir.join("unit_balances.csv"))
        .unwrap()
        .lines()
        .nth(4321)
        .unwrap()
        .split_once(',')
        .map(|(u, b)| (u.to_owned(), b.to_owned()))
        .unwrap();
    let balance = store.balance(&BalanceScope::Unit(unit), None).await.unwrap().unwrap();
    assert_eq!(balance.balance.to_string(), expected);
    assert!(snapshot(&store).await.entries > 10_000);
}

async fn scalar(db: &TestDb, sql: &str) -> i64 {
    use sqlx::Connection;
    match db.engine {
        Engine::Sqlite => sqlx::query_scalar(sql)
            .fetch_one(&mut sqlx::SqliteConnection::connect(&db.url).await.unwrap())
            .await
            .unwrap(),
        Engine::Postgres => {
            sqlx::query_scalar(sql).fetch_one(&mut sqlx::PgConnection::connect(&db.url).await.unwrap()).await.unwrap()
        }
    }
}
