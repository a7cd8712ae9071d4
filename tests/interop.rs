//! Files written by another program, as SPEC §2 allows them: a BOM on every file, CRLF line ends,
//! quoted Chinese names with commas, the seven journal columns and no `reverses` column at all,
//! and a `reversal` that does not say what it reverses. Such a city imports on both engines and
//! reconciles from the database to the same report as from its files.

use std::path::Path;

use serde_json::Value;

use crate::on_both_engines;
use crate::support::{mfund, snapshot, stderr, stdout, Engine, TestDb};

on_both_engines!(
    a_city_written_by_another_program_imports_and_reconciles_the_same_from_the_database,
    a_reverses_column_naming_a_posted_entry_is_accepted,
    a_reverses_column_naming_no_entry_is_refused_at_its_column
);

const BOM: &str = "\u{feff}";

/// Writes `rows` as another program would: a BOM, then every line ended by CRLF.
fn write_foreign(dir: &Path, name: &str, rows: &[&str]) {
    let mut text = String::from(BOM);
    for row in rows {
        text.push_str(row);
        text.push_str("\r\n");
    }
    std::fs::write(dir.join(name), text).unwrap();
}

const ESTATE_NAME: &str = "玫瑰园, 二期";
const OWNER_U1: &str = "王, 小明";

/// Two estates, three units, and a journal of seven columns: deposits, one of them a mistake
/// that a reversal without `reverses` undoes, a drawdown and the bank's interest.
fn foreign_city(dir: &Path, reverses: Option<&str>) {
    write_foreign(
        dir,
        "estates.csv",
        &[
            "estate_id,name,district,street_office,property_company",
            "E1,\"玫瑰园, 二期\",朝阳区,\"朝阳街道, 第一办事处\",\"安居物业, 有限公司\"",
            "E2,牡丹苑,海淀区,海淀街道,\"牡丹物业\"",
        ],
    );
    write_foreign(
        dir,
        "buildings.csv",
        &["building_id,estate_id,name,floors,has_elevator", "E1-B1,E1,\"1号楼, 东\",18,true", "E2-B1,E2,2号楼,6,false"],
    );
    write_foreign(
        dir,
        "units.csv",
        &[
            "unit_id,building_id,floor_area,use,owner",
            "U1,E1-B1,88.50,residential,\"王, 小明\"",
            "U2,E1-B1,60,residential,\"李, 四\"",
            "U3,E2-B1,120.25,commercial,\"张三, 李四 合伙\"",
        ],
    );
    let mut journal = vec![
        SEVEN_COLUMNS,
        "D1,2024-01-05,deposit,bank:6222,8850.00,,\"首次缴存, 王\"",
        "D1,2024-01-05,deposit,unit:U1,,8850.00,",
        "D2,2024-01-06,deposit,bank:6222,6000,,",
        "D2,2024-01-06,deposit,unit:U2,,6000,",
        "D3,2024-01-07,deposit,bank:6222,12025,,",
        "D3,2024-01-07,deposit,unit:U3,,12025,\"商铺, 一次缴清\"",
        "D4,2024-01-08,deposit,bank:6222,100,,\"重复, 误收\"",
        "D4,2024-01-08,deposit,unit:U2,,100,",
        "R1,2024-01-10,reversal,unit:U2,100,,\"冲销, 误收\"",
        "R1,2024-01-10,reversal,bank:6222,,100,",
        "W1,2024-03-01,drawdown,unit:U1,500,,\"电梯维修, 一号梯\"",
        "W1,2024-03-01,drawdown,unit:U2,300,,",
        "W1,2024-03-01,drawdown,bank:6222,,800,",
        "I1,2024-06-30,interest,bank:6222,45.67,,",
        "I1,2024-06-30,interest,income:interest,,45.67,\"结息, 上半年\"",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<String>>();
    if let Some(target) = reverses {
        // An eighth column on every row, filled on the reversal's first row only.
        journal[0].push_str(",reverses");
        for row in &mut journal[1..] {
            row.push(',');
        }
        journal[REVERSAL_LINE - 1].push_str(target);
    }
    write_foreign(dir, "journal.csv", &journal.iter().map(String::as_str).collect::<Vec<_>>());
    write_foreign(
        dir,
        "statement.csv",
        &[
            "txn_id,date,amount,ref,memo",
            "T1,2024-01-05,8850.00,D1,\"缴存, 王\"",
            "T2,2024-01-06,6000.00,,",
            "T3,2024-01-07,12025,D3,",
            "T4,2024-01-08,100.00,,",
            "T5,2024-01-10,-100.00,,\"冲正, 退回\"",
            "T6,2024-03-02,-800,,",
            "T7,2024-06-30,45.67,,结息",
            "T8,2024-07-01,-12.00,,\"手续费, 银行\"",
        ],
    );
    // U2 differs from the ledger (5700.00) and GHOST-9 is no unit of the registry.
    write_foreign(
        dir,
        "unit_balances.csv",
        &["unit_id,balance", "U1,8350.00", "U2,5600.00", "U3,12025", "GHOST-9,33.30"],
    );
}

const SEVEN_COLUMNS: &str = "entry_id,date,kind,account,debit,credit,memo";
/// The journal line (the header is line 1) on which the reversal R1 begins.
const REVERSAL_LINE: usize = 10;

async fn text_of(db: &TestDb, sql: &str) -> String {
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

fn import_json(db: &TestDb, dir: &Path) -> Value {
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}{}", stderr(&out), stdout(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn a_city_written_by_another_program_imports_and_reconciles_the_same_from_the_database(engine: Engine) {
    let db = TestDb::new(engine).await;
    let keep = tempfile::tempdir().unwrap();
    let dir = keep.path();
    foreign_city(dir, None);
    let first = import_json(&db, dir);
    assert_eq!((first["entries"].as_u64(), first["postings"].as_u64()), (Some(7), Some(15)), "{first}");
    // The quoted names arrive whole: the comma is part of the name, not a field separator.
    assert_eq!(text_of(&db, "SELECT name FROM estates WHERE estate_id = 'E1'").await, ESTATE_NAME);
    assert_eq!(text_of(&db, "SELECT owner FROM units WHERE unit_id = 'U1'").await, OWNER_U1);
    assert_eq!(text_of(&db, "SELECT kind FROM entries WHERE entry_id = 'R1'").await, "reversal");

    let from_files = mfund(&db.url, &["reconcile", "--dir", dir.to_str().unwrap(), "--json"]);
    let (statement, balances) = (dir.join("statement.csv"), dir.join("unit_balances.csv"));
    let from_db = mfund(
        &db.url,
        &[
            "reconcile",
            "--statement",
            statement.to_str().unwrap(),
            "--unit-balances",
            balances.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(from_files.status.code(), Some(1), "{}", stderr(&from_files));
    assert_eq!(from_db.status.code(), Some(1), "{}", stderr(&from_db));
    let files: Value = serde_json::from_slice(&from_files.stdout).unwrap();
    let database: Value = serde_json::from_slice(&from_db.stdout).unwrap();
    // Every field agrees, counts "as read" included: the database holds every entry of the file.
    assert_eq!(files, database);

    let summary = &files["summary"];
    assert_eq!((summary["units"].as_u64(), summary["estates"].as_u64()), (Some(3), Some(2)));
    assert_eq!((summary["entries"].as_u64(), summary["postings"].as_u64()), (Some(7), Some(15)));
    // U1 8850 − 500, U2 6000 + 100 − 100 − 300, U3 12025: the reversal undid D4.
    assert_eq!(summary["unit_ledger_total"], "26075.00");
    // The bank's whole file, GHOST-9 included (SPEC §3); the estates count registry units only.
    assert_eq!(summary["unit_bank_total"], "26008.30");
    let estate_banks: Vec<&str> =
        files["estates"].as_array().unwrap().iter().map(|e| e["bank"].as_str().unwrap()).collect();
    assert_eq!(estate_banks, ["13950.00", "12025.00"]);
    assert_eq!(summary["book_bank_balance"], "26120.67");
    assert_eq!(summary["control_difference"], "0.00");
    assert_eq!(summary["discrepancies"], 3);
    assert_eq!(files["unit_mismatches"][0]["unit_id"], "U2");
    assert_eq!(files["unit_mismatches"][0]["difference"], "100.00");
    assert_eq!(files["units_unknown_to_registry"][0]["unit_id"], "GHOST-9");
    let bank = &files["bank_reconciliation"];
    assert_eq!(bank["matched"], 7, "the reversal's bank posting matched T5: {bank}");
    assert_eq!(bank["unmatched_statement"][0]["txn_id"], "T8");
    assert_eq!(bank["difference"], "12.00");

    let store = db.store().await;
    let before = snapshot(&store).await;
    let second = import_json(&db, dir);
    assert_eq!(second["entries"], 0, "{second}");
    assert_eq!(second["already_stored"], 7, "{second}");
    assert_eq!(snapshot(&store).await, before);
}

async fn a_reverses_column_naming_a_posted_entry_is_accepted(engine: Engine) {
    let db = TestDb::new(engine).await;
    let keep = tempfile::tempdir().unwrap();
    foreign_city(keep.path(), Some("D4"));
    let first = import_json(&db, keep.path());
    assert_eq!(first["entries"], 7, "{first}");
    assert_eq!(text_of(&db, "SELECT reverses FROM entries WHERE entry_id = 'R1'").await, "D4");
}

async fn a_reverses_column_naming_no_entry_is_refused_at_its_column(engine: Engine) {
    let db = TestDb::new(engine).await;
    let keep = tempfile::tempdir().unwrap();
    foreign_city(keep.path(), Some("D9"));
    let store = db.store().await;
    let before = snapshot(&store).await;
    let out = mfund(&db.url, &["import", "--dir", keep.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}{}", stderr(&out), stdout(&out));
    let message = stderr(&out);
    let place = format!("journal.csv:{REVERSAL_LINE}:8: column `reverses`");
    assert!(message.contains(&place), "expected `{place}` in {message}");
    assert!(message.contains("`D9`"), "{message}");
    assert_eq!(snapshot(&store).await, before, "a refused import posts nothing");
}
