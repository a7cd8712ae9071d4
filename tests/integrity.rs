//! Issue 11, items 4, 5, 6, 8, 9 and the NUL byte of item 10: each hole the probe found, shown
//! closed through the real binary on both engines. Each test failed on the code before.

use std::path::Path;

use ledger_core::actor::{Actor, Role};
use serde_json::Value;

use crate::import::raw_sql;
use crate::on_both_engines;
use crate::support::{city, mfund, snapshot, stderr, stdout, Engine, TestDb};

on_both_engines!(
    a_typo_bank_account_is_refused_at_its_line_and_payments_go_on,
    init_configures_the_special_accounts_and_only_an_admin_adds_one,
    an_imported_entry_cannot_take_an_id_mfund_generates,
    workflow_entries_come_only_from_an_opening_or_an_admins_migration,
    a_posting_without_an_entry_is_refused_and_verify_sees_one_past_the_trigger,
    verify_expect_head_detects_the_newest_entries_removed,
    an_import_past_the_range_of_running_totals_is_refused_naming_the_entry,
    a_nul_byte_in_a_memo_is_refused_cleanly,
    an_older_ledger_with_two_bank_accounts_pays_from_the_first
);

/// The gen city's one bank account.
const BANK: &str = ledger_gen::BANK_ACCOUNT;

/// A generated city of `units` units imported; the folder is kept alive by the returned guard.
async fn imported(engine: Engine, units: usize) -> (TestDb, tempfile::TempDir, std::path::PathBuf) {
    let db = TestDb::new(engine).await;
    let (keep, dir) = city(units, 11);
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    (db, keep, dir)
}

/// A folder with only a journal.csv of these rows.
fn journal_only(rows: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("journal.csv"), format!("entry_id,date,kind,account,debit,credit,memo\n{rows}"))
        .unwrap();
    dir
}

fn import(db: &TestDb, dir: &Path, extra: &[&str]) -> std::process::Output {
    mfund(&db.url, &[&["import", "--dir", dir.to_str().unwrap()], extra].concat())
}

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}{}", stdout(out), stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The first unit, building and street office of a generated city.
fn first_of(dir: &Path) -> (String, String, String) {
    let field = |file: &str, index: usize| crate::support::first_row_field(dir, file, index);
    (field("units.csv", 0), field("buildings.csv", 0), field("estates.csv", 3))
}

/// Files, approves and advances a green-channel repair of `building`; the advance's answer.
fn advance_repair(db: &TestDb, id: &str, building: &str, office: &str) -> std::process::Output {
    let dd = |args: &[&str]| mfund(&db.url, &[&["drawdown"], args].concat());
    let apply = [
        "apply",
        "--id",
        id,
        "--estate",
        "E00001",
        "--building",
        building,
        "--category",
        "elevator",
        "--estimate",
        "2000",
        "--contractor",
        "C1",
        "--applicant",
        "物业",
        "--green-channel",
    ];
    assert!(dd(&apply).status.success(), "{}", stderr(&dd(&apply)));
    let approved = dd(&["approve", "--id", id, "--as", &format!("street_office:{office}"), "--reason", "ok"]);
    assert!(approved.status.success(), "{}", stderr(&approved));
    dd(&["advance", "--id", id, "--amount", "1000", "--json"])
}

/// Item 4: one journal line to a mistyped bank account used to create a second `bank:` account,
/// and every advance then failed with 409 "several bank: accounts", forever.
async fn a_typo_bank_account_is_refused_at_its_line_and_payments_go_on(engine: Engine) {
    let (db, _keep, dir) = imported(engine, 40).await;
    let (unit, building, office) = first_of(&dir);
    let listed = json(&mfund(&db.url, &["bank", "list", "--json"]));
    assert_eq!(listed[0]["account"], BANK, "the first imported became the fund's: {listed}");
    assert_eq!((listed[0]["how"].as_str(), listed[0]["added_by"].as_str()), (Some("first_import"), Some("clerk")));
    let typo = &BANK[..BANK.len() - 1];
    let rows = format!("T1,2026-01-05,deposit,{typo},100,,\nT1,2026-01-05,deposit,unit:{unit},,100,\n");
    let store = db.store().await;
    let before = snapshot(&store).await;
    let refused = import(&db, journal_only(&rows).path(), &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
    let message = stderr(&refused);
    assert!(message.contains("journal.csv:2:4: column `account`"), "{message}");
    assert!(message.contains(&format!("`{typo}` is not one of the fund's special accounts")), "{message}");
    assert_eq!(snapshot(&store).await, before, "nothing written");
    let advance = json(&advance_repair(&db, "G9", &building, &office));
    assert_eq!(advance["entry_id"], "DD-G9-advance");
    // A second special account, added on purpose, takes postings; payments still leave from the first.
    let added = json(&mfund(&db.url, &["bank", "add", &typo["bank:".len()..], "--as", "管理员", "--json"]));
    assert_eq!((added[1]["account"].as_str(), added[1]["added_by"].as_str()), (Some(typo), Some("管理员")));
    assert!(import(&db, journal_only(&rows).path(), &[]).status.success());
    let second = json(&advance_repair(&db, "G10", &building, &office));
    assert_eq!(second["entry_id"], "DD-G10-advance");
    let paid_from: String =
        text(&db, "SELECT a.account FROM postings p JOIN entries e ON e.seq = p.entry_seq JOIN accounts a ON a.account_id = p.account_id WHERE e.entry_id = 'DD-G10-advance' AND p.credit_fen > 0").await;
    assert_eq!(paid_from, BANK);
    // The configuration is append-only.
    let changed = raw_sql(&db, "UPDATE fund_bank_accounts SET account = 'bank:1'").await;
    assert!(changed.unwrap_err().contains("append-only"));
    let removed = raw_sql(&db, "DELETE FROM fund_bank_accounts").await;
    assert!(removed.unwrap_err().contains("append-only"));
}

async fn text(db: &TestDb, sql: &str) -> String {
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

/// Item 4: `init --bank` configures the special accounts before anything is imported.
async fn init_configures_the_special_accounts_and_only_an_admin_adds_one(engine: Engine) {
    let db = TestDb::new(engine).await;
    let unnamed = mfund(&db.url, &["init", "--bank", "6222"]);
    assert_eq!(unnamed.status.code(), Some(2));
    assert!(stderr(&unnamed).contains("--as"), "{}", stderr(&unnamed));
    let init = json(&mfund(&db.url, &["init", "--bank", "6222", "--bank", "6223", "--as", "管理员", "--json"]));
    let accounts: Vec<&str> =
        init["bank_accounts"].as_array().unwrap().iter().map(|b| b["account"].as_str().unwrap()).collect();
    assert_eq!(accounts, ["bank:6222", "bank:6223"]);
    let (_keep, dir) = city(10, 3);
    // The generated city's bank account is not one of them: its first deposit line is refused.
    let refused = import(&db, &dir, &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains(&format!("`{BANK}` is not one of the fund's special accounts")));
    let store = db.store().await;
    let clerk = Actor::city("王会计", Role::Clerk).unwrap();
    let denied = store.add_bank_account(&clerk, "9", ledger_store::BankAddedBy::Added).await;
    assert!(matches!(denied, Err(ledger_store::StoreError::Denied(_))), "{denied:?}");
    let bad = mfund(&db.url, &["bank", "add", "62 22", "--as", "管理员"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(store.bank_accounts().await.unwrap().len(), 2, "neither was added");
}

/// Item 5: an imported `DD-G9-advance` made G9's advance fail on every retry.
async fn an_imported_entry_cannot_take_an_id_mfund_generates(engine: Engine) {
    let (db, _keep, dir) = imported(engine, 40).await;
    let (unit, building, office) = first_of(&dir);
    let rows =
        format!("DD-G9-advance,2026-01-05,deposit,{BANK},100,,\nDD-G9-advance,2026-01-05,deposit,unit:{unit},,100,\n");
    for extra in [&[][..], &["--migration", "--as", "管理员"][..]] {
        let refused = import(&db, journal_only(&rows).path(), extra);
        assert_eq!(refused.status.code(), Some(2), "{extra:?}: {}", stdout(&refused));
        let message = stderr(&refused);
        assert!(message.contains("journal.csv:2:1: column `entry_id`") && message.contains("`DD-`"), "{message}");
    }
    assert_eq!(json(&advance_repair(&db, "G9", &building, &office))["entry_id"], "DD-G9-advance");
}

/// Item 5: any clerk's upload could charge units with kind `drawdown`, no vote, no street office.
async fn workflow_entries_come_only_from_an_opening_or_an_admins_migration(engine: Engine) {
    let (db, _keep, dir) = imported(engine, 40).await;
    let opening: (String, String, String) = (
        text(&db, "SELECT admission FROM import_records WHERE import_no = 1").await,
        text(&db, "SELECT actor FROM import_records WHERE import_no = 1").await,
        text(&db, "SELECT role FROM import_records WHERE import_no = 1").await,
    );
    assert_eq!(opening, ("opening".into(), "clerk".into(), "clerk".into()), "the empty ledger's first import");
    let (unit, _, _) = first_of(&dir);
    let rows = format!("W1,2026-01-05,drawdown,unit:{unit},500,,\nW1,2026-01-05,drawdown,{BANK},,500,修理\n");
    let folder = journal_only(&rows);
    let store = db.store().await;
    let before = snapshot(&store).await;
    let refused = import(&db, folder.path(), &[]);
    assert_eq!(refused.status.code(), Some(2));
    let message = stderr(&refused);
    assert!(
        message.contains("journal.csv:2:3: column `kind`") && message.contains("--migration --as ADMIN"),
        "{message}"
    );
    // The API's door is the ordinary one.
    let journal = std::fs::read(folder.path().join("journal.csv")).unwrap();
    let upload = store.import(Default::default(), Some(journal.clone()), &|_, _| {}).await;
    assert!(matches!(upload, Err(ledger_store::StoreError::Refused(_))), "{upload:?}");
    let unnamed = import(&db, folder.path(), &["--migration"]);
    assert_eq!(unnamed.status.code(), Some(2));
    assert_eq!(snapshot(&store).await, before, "nothing written");
    let migrated = json(&import(&db, folder.path(), &["--migration", "--as", "管理员", "--json"]));
    assert_eq!((migrated["entries"].as_u64(), migrated["recorded_as"].as_str()), (Some(1), Some("migration")));
    let sha256: String = ledger_core::audit::file_hash(&journal).iter().map(|b| format!("{b:02x}")).collect();
    let record = (
        text(&db, "SELECT actor FROM import_records WHERE admission = 'migration'").await,
        text(&db, "SELECT role FROM import_records WHERE admission = 'migration'").await,
        text(&db, "SELECT journal_sha256 FROM import_records WHERE admission = 'migration'").await,
    );
    assert_eq!(record, ("管理员".into(), "admin".into(), sha256));
    let rewritten = raw_sql(&db, "UPDATE import_records SET actor = 'x'").await;
    assert!(rewritten.unwrap_err().contains("append-only"));
}

/// Item 6: with the application's own privileges, a posting with a made-up entry number plus a
/// raised running total moved a unit's balance, and `verify` said "intact".
async fn a_posting_without_an_entry_is_refused_and_verify_sees_one_past_the_trigger(engine: Engine) {
    let (db, _keep, dir) = imported(engine, 40).await;
    let (unit, _, _) = first_of(&dir);
    let account = format!("(SELECT account_id FROM accounts WHERE account = 'unit:{unit}')");
    let orphan = format!("INSERT INTO postings (entry_seq, line_no, account_id, debit_fen, credit_fen, memo) VALUES (999999, 1, {account}, 0, 100000000, '')");
    let refused = raw_sql(&db, &orphan).await;
    assert!(refused.unwrap_err().contains("must belong to a posted entry"));
    let before = json(&mfund(&db.url, &["balance", "--unit", &unit, "--json"]));
    // Past the trigger (as the table's owner could): the balance moves, and verify says so.
    let past = match engine {
        Engine::Sqlite => "DROP TRIGGER postings_need_an_entry",
        Engine::Postgres => "ALTER TABLE postings DISABLE TRIGGER postings_noted",
    };
    raw_sql(&db, past).await.unwrap();
    raw_sql(&db, &orphan).await.unwrap();
    raw_sql(
        &db,
        &format!("UPDATE account_totals SET credit_fen = credit_fen + 100000000 WHERE account_id = {account}"),
    )
    .await
    .unwrap();
    let after = json(&mfund(&db.url, &["balance", "--unit", &unit, "--json"]));
    assert_ne!(before["balance"], after["balance"], "the forged posting moved the balance");
    let out = mfund(&db.url, &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let uncovered = report["uncovered_postings"].as_array().unwrap();
    assert_eq!(uncovered.len(), 1, "{report}");
    assert!(uncovered[0].as_str().unwrap().contains("entry number 999999"), "{report}");
    // A posting slipped into an existing entry under an account number that does not exist
    // drops out of the entry's hashed rows; the count of covered postings still shows it.
    raw_sql(&db, "INSERT INTO postings (entry_seq, line_no, account_id, debit_fen, credit_fen, memo) VALUES (3, 99, 987654, 5, 0, '')")
        .await
        .unwrap();
    let report = json_any(&mfund(&db.url, &["verify", "--json"]));
    assert_eq!(report["uncovered_postings"].as_array().unwrap().len(), 2, "{report}");
    // Totals kept for an account that does not exist are named too.
    raw_sql(&db, "INSERT INTO account_totals (account_id, debit_fen, credit_fen) VALUES (424242, 0, 7)").await.unwrap();
    let report = json_any(&mfund(&db.url, &["verify", "--json"]));
    let mismatches = report["totals_mismatches"].as_array().unwrap();
    assert!(mismatches.iter().any(|m| m.as_str().unwrap().starts_with("account number 424242")), "{report}");
}

fn json_any(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

/// Item 8: removing the newest entries left a chain that verifies; a head kept earlier shows it.
async fn verify_expect_head_detects_the_newest_entries_removed(engine: Engine) {
    let (db, _keep, dir) = imported(engine, 40).await;
    let (unit, building, office) = first_of(&dir);
    let kept = json(&mfund(&db.url, &["verify", "--json"]));
    let (kept_head, kept_entries) =
        (kept["head"].as_str().unwrap().to_owned(), kept["entries_checked"].as_i64().unwrap());
    let store = db.store().await;
    let head = store.chain_head().await.unwrap();
    assert_eq!((head.head.as_str(), head.entries), (kept_head.as_str(), kept_entries));
    // New entries since: the kept head is still in the chain.
    assert!(advance_repair(&db, "G1", &building, &office).status.success());
    let rows = format!("N1,2026-01-05,deposit,{BANK},100,,\nN1,2026-01-05,deposit,unit:{unit},,100,\n");
    assert!(import(&db, journal_only(&rows).path(), &[]).status.success());
    let still = mfund(&db.url, &["verify", "--expect-head", &kept_head]);
    assert_eq!(still.status.code(), Some(0), "{}", stdout(&still));
    assert!(
        stdout(&still).contains(&format!("found at entry {kept_entries} (2 entries added since)")),
        "{}",
        stdout(&still)
    );
    // The public notice carries the head of the moment.
    let notice = json(&mfund(&db.url, &["drawdown", "notice", "--id", "G1", "--json"]));
    let newest = store.chain_head().await.unwrap();
    assert_eq!(
        (notice["ledger_head"]["head"].as_str(), notice["ledger_head"]["entries"].as_i64()),
        (Some(newest.head.as_str()), Some(newest.entries))
    );
    let text = stdout(&mfund(&db.url, &["drawdown", "notice", "--id", "G1"]));
    assert!(text.contains(&newest.head), "{text}");
    // The newest entry removed (past the triggers): the rest verifies, but not through that head.
    let past = match engine {
        Engine::Sqlite => "DROP TRIGGER postings_no_delete; DROP TRIGGER entries_no_delete;",
        Engine::Postgres => "ALTER TABLE postings DISABLE TRIGGER USER; ALTER TABLE entries DISABLE TRIGGER USER;",
    };
    raw_sql(&db, past).await.unwrap();
    let last = newest.entries;
    raw_sql(&db, &format!("DELETE FROM postings WHERE entry_seq = {last}; DELETE FROM account_totals; DELETE FROM entries WHERE seq = {last}; INSERT INTO account_totals (account_id, debit_fen, credit_fen) SELECT account_id, SUM(debit_fen), SUM(credit_fen) FROM postings GROUP BY account_id"))
        .await
        .unwrap();
    let plain = mfund(&db.url, &["verify"]);
    assert_eq!(plain.status.code(), Some(0), "without a kept head the truncation is invisible: {}", stdout(&plain));
    let out = mfund(&db.url, &["verify", "--expect-head", &newest.head]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let said = stdout(&out);
    assert!(said.contains(&format!("expected head {} is not in the chain", newest.head)), "{said}");
    assert!(said.contains(&format!("ends at entry {}", last - 1)), "{said}");
    let malformed = mfund(&db.url, &["verify", "--expect-head", "abc"]);
    assert_eq!(malformed.status.code(), Some(2));
    assert!(stderr(&malformed).contains("64 hexadecimal digits"), "{}", stderr(&malformed));
}

/// A city of one estate, one building, two units (U1, U2), and this journal.
fn tiny_city(journal: &str) -> tempfile::TempDir {
    let dir = journal_only("");
    let d = dir.path();
    std::fs::write(
        d.join("estates.csv"),
        "estate_id,name,district,street_office,property_company\nE1,玫瑰园,东城区,东城街道,物业\n",
    )
    .unwrap();
    std::fs::write(d.join("buildings.csv"), "building_id,estate_id,name,floors,has_elevator\nB1,E1,1号楼,6,false\n")
        .unwrap();
    std::fs::write(
        d.join("units.csv"),
        "unit_id,building_id,floor_area,use,owner\nU1,B1,88.5,residential,王\nU2,B1,60,residential,李\n",
    )
    .unwrap();
    std::fs::write(d.join("journal.csv"), format!("entry_id,date,kind,account,debit,credit,memo\n{journal}")).unwrap();
    dir
}

/// Item 9: 100 balanced entries of 10^15 yuan made a unit's balance read −84467440737095516.16.
async fn an_import_past_the_range_of_running_totals_is_refused_naming_the_entry(engine: Engine) {
    let db = TestDb::new(engine).await;
    let mut journal = String::new();
    for k in 1..=100 {
        journal.push_str(&format!(
            "J{k:03},2025-01-02,deposit,bank:1,1000000000000000,,\nJ{k:03},2025-01-02,deposit,unit:U1,,1000000000000000,\n"
        ));
    }
    let dir = tiny_city(&journal);
    let out = import(&db, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let message = stderr(&out);
    assert!(message.contains("journal.csv:186:") && message.contains("entry `J093`"), "{message}");
    assert!(message.contains("92233720368547758.07"), "{message}");
    let store = db.store().await;
    assert_eq!(snapshot(&store).await.entries, 0, "nothing written");
    // 92 of them fit, and the balance reads exactly.
    let fits: String = journal.lines().take(184).map(|l| format!("{l}\n")).collect();
    assert!(import(&db, tiny_city(&fits).path(), &[]).status.success());
    let balance = json(&mfund(&db.url, &["balance", "--unit", "U1", "--json"]));
    assert_eq!(balance["balance"], "92000000000000000.00");
    // A running total cannot be pushed past the range by hand either: PostgreSQL refuses the
    // BIGINT sum, SQLite's trigger the float it would become.
    let pushed = raw_sql(&db, "UPDATE account_totals SET credit_fen = credit_fen + 9223372036854775807").await;
    assert!(pushed.is_err(), "{pushed:?}");
}

/// Item 10 (part): a NUL byte in a memo broke PostgreSQL's COPY with a database error.
async fn a_nul_byte_in_a_memo_is_refused_cleanly(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = tiny_city("J1,2025-01-02,deposit,bank:1,10,,\nJ1,2025-01-02,deposit,unit:U1,,10,a\0b\n");
    let out = import(&db, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let message = stderr(&out);
    assert!(message.contains("journal.csv:3:7: column `memo`") && message.contains("NUL"), "{message}");
    assert!(!message.contains("database error"), "{message}");
    assert_eq!(snapshot(&db.store().await).await.entries, 0);
}

/// A ledger of an earlier mfund (schema versions 1–8) whose journal named a second, mistyped
/// `bank:` account: version 9 configures the one imported first, so payments go on, and the
/// typo takes no more postings.
async fn an_older_ledger_with_two_bank_accounts_pays_from_the_first(engine: Engine) {
    let db = TestDb::new(engine).await;
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ledger-store/migrations").join(match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    });
    let mut scripts: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).collect();
    scripts.sort();
    let mut old = String::from("CREATE TABLE mfund_schema_versions (version BIGINT PRIMARY KEY);\n");
    for (version, script) in scripts.iter().take(8).enumerate() {
        old.push_str(&std::fs::read_to_string(script).unwrap());
        old.push_str(&format!(";\nINSERT INTO mfund_schema_versions (version) VALUES ({});\n", version + 1));
    }
    old.push_str(
        "INSERT INTO accounts (account_id, account) VALUES (1, 'unit:U1'), (2, 'bank:6222'), (3, 'bank:622');",
    );
    if engine == Engine::Sqlite {
        std::fs::File::create(db.folder().join("test.db")).unwrap();
    }
    raw_sql(&db, &old).await.unwrap();
    let store = db.store().await;
    let banks = store.bank_accounts().await.unwrap();
    let carried: Vec<(&str, &str)> = banks.iter().map(|b| (b.account.as_str(), b.how.as_str())).collect();
    assert_eq!(carried, [("bank:6222", "carried_over")]);
    let rows = "T1,2026-01-05,deposit,bank:622,100,,\nT1,2026-01-05,deposit,suspense,,100,\n";
    let refused = import(&db, journal_only(rows).path(), &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
    assert!(stderr(&refused).contains("`bank:622` is not one of the fund's special accounts"), "{}", stderr(&refused));
}
