//! Tampering by raw SQL, past the append-only triggers: `verify` names the first changed entry.

use crate::import::raw_sql;
use crate::on_both_engines;
use crate::support::{city, mfund, stdout, Engine, TestDb};

on_both_engines!(
    verify_names_a_changed_posting,
    verify_names_a_removed_entry,
    verify_names_an_account_whose_totals_drifted,
    registry_rows_and_accounts_cannot_be_removed
);

fn disable_triggers(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => {
            "DROP TRIGGER postings_no_update; DROP TRIGGER postings_no_delete; DROP TRIGGER entries_no_delete;"
        }
        Engine::Postgres => "ALTER TABLE postings DISABLE TRIGGER USER; ALTER TABLE entries DISABLE TRIGGER USER;",
    }
}

/// Drawdowns refer to units by id without foreign keys; the database keeps the rows instead.
async fn registry_rows_and_accounts_cannot_be_removed(engine: Engine) {
    let (db, _keep) = imported(engine).await;
    let unit = raw_sql(&db, "DELETE FROM units WHERE unit_id IN (SELECT unit_id FROM units LIMIT 1)").await;
    assert!(unit.unwrap_err().contains("kept"), "a unit was deleted");
    let renumbered = raw_sql(&db, "UPDATE units SET unit_id = unit_id || 'x'").await;
    assert!(renumbered.unwrap_err().contains("kept"), "units were renumbered");
    let unlisted = raw_sql(&db, "DELETE FROM drawdowns").await;
    assert_eq!(unlisted, Ok(0), "no drawdowns yet: nothing to refuse");
    if engine == Engine::Postgres {
        for (table, refusal) in
            [("units", "kept"), ("drawdowns", "kept"), ("drawdown_units", "kept"), ("accounts", "append-only")]
        {
            let emptied = raw_sql(&db, &format!("TRUNCATE {table} CASCADE")).await;
            assert!(emptied.as_ref().is_err_and(|e| e.contains(refusal)), "{table}: {emptied:?}");
        }
    }
}

async fn imported(engine: Engine) -> (TestDb, tempfile::TempDir) {
    let db = TestDb::new(engine).await;
    let (keep, dir) = city(40, 8);
    assert!(mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]).status.success());
    let clean = mfund(&db.url, &["verify"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    (db, keep)
}

async fn verify_names_a_changed_posting(engine: Engine) {
    let (db, _keep) = imported(engine).await;
    raw_sql(&db, disable_triggers(engine)).await.unwrap();
    let changed =
        raw_sql(&db, "UPDATE postings SET credit_fen = credit_fen + 100 WHERE entry_seq = 17 AND credit_fen > 0")
            .await
            .unwrap();
    assert!(changed > 0);
    let out = mfund(&db.url, &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["first_break"]["seq"], 17);
    assert_eq!(report["first_break"]["entry_id"], "J000000017");
    assert_eq!(report["entries_checked"], 16);
    assert!(report["first_break"]["reason"].as_str().unwrap().contains("content hash"));
}

async fn verify_names_a_removed_entry(engine: Engine) {
    let (db, _keep) = imported(engine).await;
    raw_sql(&db, disable_triggers(engine)).await.unwrap();
    raw_sql(&db, "DELETE FROM postings WHERE entry_seq = 9").await.unwrap();
    raw_sql(&db, "DELETE FROM entries WHERE seq = 9").await.unwrap();
    let out = mfund(&db.url, &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("chain broken at entry J000000010 (seq 10)"), "{text}");
    assert!(text.contains("an entry was removed"), "{text}");
}

/// The running totals are derived data; `verify` proves them against the postings.
async fn verify_names_an_account_whose_totals_drifted(engine: Engine) {
    let (db, _keep) = imported(engine).await;
    raw_sql(&db, "UPDATE account_totals SET credit_fen = credit_fen + 1 WHERE account_id = (SELECT account_id FROM accounts WHERE account LIKE 'unit:%' ORDER BY account_id LIMIT 1)").await.unwrap();
    let out = mfund(&db.url, &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["first_break"].is_null());
    assert_eq!(report["totals_mismatches"].as_array().unwrap().len(), 1, "{report}");
    assert!(report["totals_mismatches"][0].as_str().unwrap().starts_with("unit:"));
}
