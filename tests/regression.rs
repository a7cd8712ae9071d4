//! One test per defect found and fixed, named by the defect, so that it stays fixed. Each says
//! in its first line what went wrong and which commit mended it.

use std::path::Path;

use axum::http::StatusCode;
use axum::Router;
use ledger_api::{app, token_hash, AppState};
use ledger_store::User;
use serde_json::{json, Value};

use crate::import::raw_sql;
use crate::on_both_engines;
use crate::support::{city, first_row_field, http, mfund, snapshot, stderr, stdout, Engine, TestDb};

on_both_engines!(
    memos_with_tabs_newlines_backslashes_and_quotes_survive_and_verify,
    an_empty_building_id_does_not_file_the_whole_estate,
    an_idempotency_key_reused_for_another_request_is_refused,
    an_idempotency_key_longer_than_255_bytes_is_refused,
    a_kept_answer_failing_to_save_does_not_hide_the_committed_write,
    a_drawdown_id_with_markup_is_refused,
    a_drawdown_id_leaves_room_for_its_payment_entry_ids,
    a_refused_revision_says_revise_not_approve,
    only_an_admin_may_record_a_request_on_another_day,
    a_write_refused_before_it_is_written_leaves_no_rows,
    an_admin_does_not_decide_for_a_street_office,
    a_day_still_to_come_is_refused,
    a_transition_dated_before_its_filing_is_refused,
    beneficiary_rows_refuse_update_and_delete,
    a_scope_is_stored_trimmed,
    a_street_office_or_property_company_needs_its_scope,
    the_day_of_a_write_is_china_standard_time,
    a_vote_from_the_cli_is_recorded_under_who_entered_it,
    an_unknown_field_in_a_request_body_is_refused,
);

// ---------------------------------------------------------------------------------------------
// Helpers

/// A small imported city behind the HTTP app, with one user per role.
struct Api {
    router: Router,
    db: TestDb,
    _city: tempfile::TempDir,
    building: String,
    office: String,
}

async fn api(engine: Engine) -> Api {
    let db = TestDb::new(engine).await;
    let (keep, dir) = city(40, 17);
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (building, office, company) = (
        first_row_field(&dir, "buildings.csv", 0),
        first_row_field(&dir, "estates.csv", 3),
        first_row_field(&dir, "estates.csv", 4),
    );
    let store = db.store().await;
    for (name, role, scope) in [
        ("clerk", "clerk", ""),
        ("auditor", "auditor", ""),
        ("office", "street_office", office.as_str()),
        ("company", "property_company", company.as_str()),
        ("root", "admin", ""),
    ] {
        let user = User { name: name.into(), role: role.into(), scope: scope.into() };
        store.add_user(&user, &token_hash(&format!("token-{name}"))).await.unwrap();
    }
    Api { router: app(AppState::new(store, Default::default())), db, _city: keep, building, office }
}

/// A green-channel application for `building` of estate E00001.
fn green(id: &str, building: &str) -> Value {
    json!({ "drawdown_id": id, "estate_id": "E00001", "building_id": building, "category": "fire_water_system",
            "estimate": "6000", "contractor": "C9", "description": "消防水泵故障", "green_channel": true })
}

/// A small city imported through the CLI; its folder, first building and street office.
async fn imported(engine: Engine) -> (TestDb, tempfile::TempDir, String, String) {
    let db = TestDb::new(engine).await;
    let (keep, dir) = city(40, 31);
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (building, office) = (first_row_field(&dir, "buildings.csv", 0), first_row_field(&dir, "estates.csv", 3));
    (db, keep, building, office)
}

/// `mfund drawdown …` against `db`.
fn drawdown(db: &TestDb, args: &[&str]) -> std::process::Output {
    mfund(&db.url, &[&["drawdown"], args].concat())
}

/// The JSON a successful command printed.
fn json_of(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}{}", stdout(out), stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Files a green-channel elevator repair of `building` through the CLI, on `date` if given.
fn file_green(db: &TestDb, id: &str, building: &str, date: Option<&str>) -> Value {
    let mut args = vec![
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
        "1000",
        "--contractor",
        "C1",
        "--applicant",
        "物业",
        "--green-channel",
        "--json",
    ];
    if let Some(date) = date {
        args.extend(["--date", date]);
    }
    json_of(&drawdown(db, &args))
}

/// A one-estate, one-building, two-unit city with the given journal.
fn tiny_city(journal: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
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
    std::fs::write(d.join("journal.csv"), journal).unwrap();
    dir
}

fn edit(path: &Path, f: impl FnOnce(&mut Vec<String>)) {
    let mut lines: Vec<String> = std::fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect();
    f(&mut lines);
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn set_field(line: &mut String, index: usize, value: &str) {
    let mut fields: Vec<&str> = line.split(',').collect();
    fields[index] = value;
    *line = fields.join(",");
}

// ---------------------------------------------------------------------------------------------
// Reading files: import and reconcile

/// A quote inside an unquoted memo was accepted by import but misled the parallel reader of
/// reconcile about where quoted fields begin: both now refuse it as an error of form (460ea28).
#[test]
fn a_stray_quote_is_refused_the_same_way_by_import_and_reconcile() {
    let (_keep, dir) = crate::support::city(300, 2);
    let journal = std::fs::read_to_string(dir.join("journal.csv")).unwrap();
    let mut lines: Vec<String> = journal.lines().map(str::to_owned).collect();
    lines[5] = format!("{}pipe 5\" wide", lines[5].trim_end_matches(|c| c != ','));
    std::fs::write(dir.join("journal.csv"), lines.join("\n") + "\n").unwrap();
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("t.db").display());
    for args in [vec!["import", "--dir", dir.to_str().unwrap()], vec!["reconcile", "--dir", dir.to_str().unwrap()]] {
        let out = mfund(&url, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("journal.csv:6:") && stderr(&out).contains("quote inside an unquoted field"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// Reconcile without the registry files took every unit for unknown instead of refusing
/// (460ea28).
#[test]
fn a_missing_registry_file_is_an_input_error() {
    let (_keep, dir) = city(50, 3);
    std::fs::remove_file(dir.join("units.csv")).unwrap();
    let out = mfund("sqlite://unused.db", &["reconcile", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("units.csv: no such file"), "{}", stderr(&out));
}

/// Reconcile's "began on line" counted lines from the start of the piece a row was read in,
/// not from the start of the file (460ea28).
#[test]
fn began_on_line_counts_the_lines_of_the_file_in_every_piece() {
    let (_keep, dir) = city(300, 5);
    let path = dir.join("journal.csv");
    let mut lines: Vec<String> = std::fs::read_to_string(&path).unwrap().lines().map(str::to_owned).collect();
    let id = |line: &str| line.split(',').next().unwrap().to_owned();
    // Two rows of one entry three quarters into the file: far past the first piece.
    let k = (lines.len() * 3 / 4..lines.len() - 1).find(|&k| id(&lines[k]) == id(&lines[k + 1])).unwrap();
    let first = (1..=k).rev().take_while(|&i| id(&lines[i]) == id(&lines[k])).last().unwrap();
    set_field(&mut lines[k + 1], 1, "1999-01-01");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mfund"))
        .args(["reconcile", "--dir", dir.to_str().unwrap()])
        .env("MFUND_DB", "sqlite://unused.db")
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let (row, began) = (k + 2, first + 1); // file lines count from 1, the header is line 1
    assert!(stderr(&out).contains(&format!("journal.csv:{row}:2")), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("began on line {began}")), "line {began}: {}", stderr(&out));
}

/// Reconcile summed an entry's sides with saturating i64 arithmetic: sides past the range of
/// i64 both stopped at i64::MAX and an entry one fen out of balance passed for balanced
/// (460ea28).
#[test]
fn entry_sides_past_the_range_of_amounts_are_not_taken_for_balanced() {
    let most = "1000000000000000.00"; // the largest amount, 10^17 fen: 93 of them pass i64::MAX
    let mut journal = String::from("entry_id,date,kind,account,debit,credit,memo\n");
    journal.push_str("J0,2024-01-01,deposit,bank:1,0.01,,\nJ0,2024-01-01,deposit,unit:U1,,0.01,\n");
    for _ in 0..93 {
        journal.push_str(&format!("J1,2024-01-02,deposit,bank:1,{most},,\n"));
    }
    journal.push_str("J1,2024-01-02,deposit,bank:1,0.01,,\n");
    for _ in 0..93 {
        journal.push_str(&format!("J1,2024-01-02,deposit,bank:1,,{most},\n"));
    }
    let dir = tiny_city(&journal);
    let out = mfund("sqlite://unused.db", &["reconcile", "--dir", dir.path().to_str().unwrap(), "--json"]);
    // Its debits cannot even be shown as an amount: the reconciliation says so rather than
    // reporting J1 as balanced (the old answer: exit 0, no unbalanced entry).
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("an entry's debits"), "{}", stderr(&out));
}

/// A quoted last field followed by a lone CR at the very end of a file was an error of form;
/// the CR ends the line (460ea28).
#[test]
fn a_lone_cr_ending_a_file_after_a_quoted_field_ends_the_line() {
    let journal =
        "entry_id,date,kind,account,debit,credit,memo\r\nJ1,2024-01-02,deposit,bank:1,12.50,,\r\nJ1,2024-01-02,deposit,unit:U1,,12.50,\"首次缴存\"\r";
    let dir = tiny_city(journal);
    let out = mfund("sqlite://unused.db", &["reconcile", "--dir", dir.path().to_str().unwrap(), "--json"]);
    assert!(out.status.code() == Some(0) || out.status.code() == Some(1), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["summary"]["entries"].as_u64(), report["summary"]["postings"].as_u64()), (Some(1), Some(2)));
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("t.db").display());
    let imported = mfund(&url, &["import", "--dir", dir.path().to_str().unwrap(), "--json"]);
    assert_eq!(json_of(&imported)["entries"], 1);
}

/// An error in a bank file given by path was reported under the SPEC's default file name
/// (0016a4c).
#[test]
fn an_error_names_the_bank_file_as_given() {
    let (_keep, dir) = city(50, 3);
    let renamed = dir.join("bank-dec.csv");
    std::fs::rename(dir.join("statement.csv"), &renamed).unwrap();
    edit(&renamed, |l| set_field(&mut l[4], 1, "2024-02-30"));
    let out = mfund(
        "sqlite://unused.db",
        &["reconcile", "--dir", dir.to_str().unwrap(), "--statement", renamed.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bank-dec.csv:5:2"), "{}", stderr(&out));
}

/// An entry whose rows named two different `reverses` kept the first and dropped the second
/// silently (0016a4c).
#[test]
fn an_entry_reversing_two_entries_is_refused() {
    let journal = "entry_id,date,kind,account,debit,credit,memo,reverses\n\
        J1,2024-01-02,deposit,bank:1,10,,,\n\
        J1,2024-01-02,deposit,unit:U1,,10,,\n\
        R1,2024-01-03,reversal,unit:U1,10,,,J1\n\
        R1,2024-01-03,reversal,bank:1,,10,,J2\n";
    let dir = tiny_city(journal);
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("t.db").display());
    let out = mfund(&url, &["import", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("journal.csv:5:8"), "{}", stderr(&out));
    assert!(stderr(&out).contains("began on line 4 reversing J1"), "{}", stderr(&out));
    let verified = json_of(&mfund(&url, &["verify", "--json"]));
    assert_eq!(verified["entries_checked"], 0, "the refused import wrote nothing");
}

/// PostgreSQL's COPY text format treats backslash, tab and line ends specially; a memo holding
/// them must be stored exactly, or `verify` would report the entry as changed (99012a2).
async fn memos_with_tabs_newlines_backslashes_and_quotes_survive_and_verify(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = db.folder().join("odd");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("estates.csv"),
        "estate_id,name,district,street_office,property_company\nE1,\"Rose, \"\"Garden\"\"\",东城区,东城街道,物业\n",
    )
    .unwrap();
    std::fs::write(dir.join("buildings.csv"), "building_id,estate_id,name,floors,has_elevator\nB1,E1,1号楼,6,false\n")
        .unwrap();
    std::fs::write(dir.join("units.csv"), "unit_id,building_id,floor_area,use,owner\nU1,B1,88.5,residential,王\n")
        .unwrap();
    let journal = "entry_id,date,kind,account,debit,credit,memo\r\n\
        J1,2024-01-02,deposit,bank:1,4425,,\"tab\there, back\\\\slash \\N\"\r\n\
        J1,2024-01-02,deposit,unit:U1,,4425.00,\"two\nlines \"\"quoted\"\"\"";
    std::fs::write(dir.join("journal.csv"), journal).unwrap();
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let store = db.store().await;
    let snap = snapshot(&store).await;
    assert_eq!(snap.entries, 1);
    assert_eq!(snap.city.as_deref(), Some("1 4425.00 0.00"));
    let again = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(json["already_stored"], 1, "the stored memo hashes the same as the file's");
}

/// PostgreSQL only: ANALYZE after a large import failing (here: a table locked by another
/// session past the lock timeout) failed the import that had already committed (9652eb5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyze_failure_does_not_fail_a_committed_import() {
    use sqlx::{Connection, Executor};
    let db = TestDb::new(Engine::Postgres).await;
    drop(db.store().await); // the schema, before its tables are locked
    let name = db.url.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
    raw_sql(&db, &format!("ALTER DATABASE {name} SET lock_timeout = '300ms'")).await.unwrap();
    // Another session holds a lock that lets rows in but keeps ANALYZE of `estates` waiting.
    let mut holder = sqlx::PgConnection::connect(&db.url).await.unwrap();
    holder.execute("BEGIN; LOCK TABLE estates IN SHARE UPDATE EXCLUSIVE MODE").await.unwrap();
    let (_keep, dir) = city(40, 3);
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap(), "--json"]);
    holder.execute("ROLLBACK").await.unwrap();
    let outcome = json_of(&out);
    assert!(outcome["entries"].as_u64().unwrap() > 0, "{outcome}");
    let again = json_of(&mfund(&db.url, &["import", "--dir", dir.to_str().unwrap(), "--json"]));
    assert_eq!(again["already_stored"], outcome["entries"], "the first import was committed and said so");
}

// ---------------------------------------------------------------------------------------------
// The HTTP API

/// An empty `building_id` read as "any building" and filed a drawdown for the whole estate
/// (9652eb5).
async fn an_empty_building_id_does_not_file_the_whole_estate(engine: Engine) {
    let a = api(engine).await;
    let r = &a.router;
    let (status, body) = http(r, "POST", "/drawdowns", Some("clerk"), Some(green("K5", "")), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{body}");
    assert_eq!(http(r, "GET", "/drawdowns/K5", Some("auditor"), None, None).await.0, StatusCode::NOT_FOUND);
}

/// An Idempotency-Key sent again with another request was answered with the first request's
/// answer, and the second write silently never happened (9652eb5).
async fn an_idempotency_key_reused_for_another_request_is_refused(engine: Engine) {
    let a = api(engine).await;
    let r = &a.router;
    let first = http(r, "POST", "/drawdowns", Some("clerk"), Some(green("K1", &a.building)), Some("k-1")).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    let (status, body) =
        http(r, "POST", "/drawdowns", Some("clerk"), Some(green("K2", &a.building)), Some("k-1")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("first used for another request"), "{body}");
    assert_eq!(http(r, "GET", "/drawdowns/K2", Some("auditor"), None, None).await.0, StatusCode::NOT_FOUND);
    // The same request with the same key still gets its first answer.
    assert_eq!(http(r, "POST", "/drawdowns", Some("clerk"), Some(green("K1", &a.building)), Some("k-1")).await, first);
}

/// Idempotency-Keys of any length were kept; they are capped at 255 bytes (9652eb5).
async fn an_idempotency_key_longer_than_255_bytes_is_refused(engine: Engine) {
    let a = api(engine).await;
    let r = &a.router;
    let long = "k".repeat(256);
    let (status, body) =
        http(r, "POST", "/drawdowns", Some("clerk"), Some(green("K4", &a.building)), Some(&long)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    assert_eq!(http(r, "GET", "/drawdowns/K4", Some("auditor"), None, None).await.0, StatusCode::NOT_FOUND);
    let longest = "k".repeat(255);
    let (status, body) =
        http(r, "POST", "/drawdowns", Some("clerk"), Some(green("K4", &a.building)), Some(&longest)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// When the answer to an Idempotency-Key could not be kept, the client got an error for a write
/// that had been committed (9652eb5).
async fn a_kept_answer_failing_to_save_does_not_hide_the_committed_write(engine: Engine) {
    let a = api(engine).await;
    let refuse = match engine {
        Engine::Sqlite => {
            "CREATE TRIGGER no_answers BEFORE INSERT ON idempotency_answers BEGIN SELECT RAISE(ABORT, 'full'); END;"
        }
        Engine::Postgres => {
            "CREATE FUNCTION no_answers() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'full'; END $$; \
             CREATE TRIGGER no_answers BEFORE INSERT ON idempotency_answers FOR EACH ROW EXECUTE FUNCTION no_answers();"
        }
    };
    raw_sql(&a.db, refuse).await.unwrap();
    let (status, body) =
        http(&a.router, "POST", "/drawdowns", Some("clerk"), Some(green("K6", &a.building)), Some("k-6")).await;
    assert_eq!((status, body["changed"].as_bool()), (StatusCode::CREATED, Some(true)), "{body}");
    let shown = http(&a.router, "GET", "/drawdowns/K6", Some("auditor"), None, None).await;
    assert_eq!((shown.0, shown.1["state"].as_str()), (StatusCode::OK, Some("submitted")), "{}", shown.1);
}

/// A drawdown id holding markup was accepted and reached the street office's page (b639ff2).
async fn a_drawdown_id_with_markup_is_refused(engine: Engine) {
    let a = api(engine).await;
    let r = &a.router;
    let markup = "<img src=x onerror=alert(1)>";
    let (status, body) = http(r, "POST", "/drawdowns", Some("clerk"), Some(green(markup, &a.building)), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("rule_violation")), "{body}");
    let (status, listed) = http(r, "GET", "/drawdowns", Some("office"), None, None).await;
    assert_eq!((status, listed.as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{listed}");
}

/// A drawdown id too long to leave room for `DD-…-advance` within the SPEC's 64 characters was
/// accepted, so its payment entries would not be SPEC ids (b639ff2).
async fn a_drawdown_id_leaves_room_for_its_payment_entry_ids(engine: Engine) {
    let a = api(engine).await;
    let r = &a.router;
    let longest = "D".repeat(ledger_core::drawdown::MAX_DRAWDOWN_ID_LEN);
    let too_long = format!("{longest}D");
    assert_eq!(too_long.len() + "DD--advance".len(), 65);
    let (status, body) = http(r, "POST", "/drawdowns", Some("clerk"), Some(green(&too_long, &a.building)), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("rule_violation")), "{body}");
    let (status, body) = http(r, "POST", "/drawdowns", Some("clerk"), Some(green(&longest, &a.building)), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let path = |action: &str| format!("/drawdowns/{longest}/{action}");
    assert_eq!(http(r, "POST", &path("approve"), Some("office"), Some(json!({})), None).await.0, StatusCode::OK);
    let (status, body) = http(r, "POST", &path("advance"), Some("clerk"), Some(json!({"amount": "100"})), None).await;
    assert_eq!((status, body["entry_id"].as_str()), (StatusCode::OK, Some(format!("DD-{longest}-advance").as_str())));
    let verified = mfund(&a.db.url, &["verify"]);
    assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));
}

/// Anyone could date a request on another day than today (backdate a filing, an approval or a
/// payment); only an admin may, for a backfill of paper records (5c2ef9c).
async fn only_an_admin_may_record_a_request_on_another_day(engine: Engine) {
    let a = api(engine).await;
    let r = &a.router;
    let mut backdated = green("G3", &a.building);
    backdated["submitted_on"] = json!("2020-01-02");
    let (status, body) = http(r, "POST", "/drawdowns", Some("clerk"), Some(backdated.clone()), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("`submitted_on`"), "{body}");
    assert_eq!(http(r, "GET", "/drawdowns/G3", Some("auditor"), None, None).await.0, StatusCode::NOT_FOUND);
    let (status, body) = http(r, "POST", "/drawdowns", Some("root"), Some(backdated), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let dated = json!({"reason": "同意", "date": "2020-01-03"});
    let (status, body) = http(r, "POST", "/drawdowns/G3/approve", Some("office"), Some(dated), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("`date`"), "{body}");
    let shown = http(r, "GET", "/drawdowns/G3", Some("auditor"), None, None).await.1;
    assert_eq!((shown["submitted_on"].as_str(), shown["state"].as_str()), (Some("2020-01-02"), Some("submitted")));
}

/// Writes share a transaction without savepoints, so a refused write must refuse before it
/// writes anything ("a write refused after writing rows"): what it wrote would be committed
/// with the others (5c2ef9c, d7ff1e9).
async fn a_write_refused_before_it_is_written_leaves_no_rows(engine: Engine) {
    let a = api(engine).await;
    // Good applications and applications for a building the estate does not have, at once:
    // the refusal comes after the application was read and checked, as late as any.
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..16 {
        let (router, building) = (a.router.clone(), a.building.clone());
        racers.spawn(async move {
            let (id, building) =
                if i % 2 == 0 { (format!("GOOD{i}"), building) } else { (format!("NOWHERE{i}"), "NO-SUCH".to_owned()) };
            (i, http(&router, "POST", "/drawdowns", Some("clerk"), Some(green(&id, &building)), None).await)
        });
    }
    while let Some(joined) = racers.join_next().await {
        let (i, (status, body)) = joined.unwrap();
        let expected = if i % 2 == 0 { StatusCode::CREATED } else { StatusCode::NOT_FOUND };
        assert_eq!(status, expected, "{i}: {body}");
    }
    for i in (1..16).step_by(2) {
        let id = format!("NOWHERE{i}");
        assert_eq!(
            http(&a.router, "GET", &format!("/drawdowns/{id}"), Some("auditor"), None, None).await.0,
            StatusCode::NOT_FOUND
        );
        // A row left behind would make this "already filed with other content".
        let (status, body) =
            http(&a.router, "POST", "/drawdowns", Some("clerk"), Some(green(&id, &a.building)), None).await;
        assert_eq!(status, StatusCode::CREATED, "{id}: {body}");
        let shown = http(&a.router, "GET", &format!("/drawdowns/{id}"), Some("auditor"), None, None).await.1;
        assert_eq!(shown["events"].as_array().map(Vec::len), Some(1), "{shown}");
    }
}

/// An admin could approve or reject for the estate's street office; SPEC §5 says nobody else
/// decides (f092f5d).
async fn an_admin_does_not_decide_for_a_street_office(engine: Engine) {
    let a = api(engine).await;
    let r = &a.router;
    assert_eq!(
        http(r, "POST", "/drawdowns", Some("clerk"), Some(green("A1", &a.building)), None).await.0,
        StatusCode::CREATED
    );
    for action in ["approve", "reject"] {
        let (status, body) =
            http(r, "POST", &format!("/drawdowns/A1/{action}"), Some("root"), Some(json!({"reason": "代办"})), None)
                .await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{action}: {body}");
        assert!(body["message"].as_str().unwrap().contains("street office"), "{body}");
    }
    let shown = http(r, "GET", "/drawdowns/A1", Some("auditor"), None, None).await.1;
    assert_eq!((shown["state"].as_str(), shown["events"].as_array().map(Vec::len)), (Some("submitted"), Some(1)));
    let (status, body) =
        http(r, "POST", "/drawdowns/A1/approve", Some("office"), Some(json!({"reason": "同意"})), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown = http(r, "GET", "/drawdowns/A1", Some("auditor"), None, None).await.1;
    let approved = &shown["events"][1];
    assert_eq!(
        (approved["actor"].as_str(), approved["role"].as_str(), approved["office"].as_str()),
        (Some("office"), Some("street_office"), Some(a.office.as_str()))
    );
}

/// A day still to come was accepted as the day of a request, even an admin's backfill
/// (f092f5d).
async fn a_day_still_to_come_is_refused(engine: Engine) {
    let a = api(engine).await;
    let r = &a.router;
    let tomorrow = ledger_store::today().add_days(1).to_string();
    let mut future = green("F1", &a.building);
    future["submitted_on"] = json!(tomorrow);
    let (status, body) = http(r, "POST", "/drawdowns", Some("root"), Some(future), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("still to come"), "{body}");
    assert_eq!(http(r, "GET", "/drawdowns/F1", Some("auditor"), None, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        http(r, "POST", "/drawdowns", Some("root"), Some(green("F1", &a.building)), None).await.0,
        StatusCode::CREATED
    );
    let cancel = json!({"reason": "重复", "date": tomorrow});
    let (status, body) = http(r, "POST", "/drawdowns/F1/cancel", Some("root"), Some(cancel), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    assert_eq!(http(r, "GET", "/drawdowns/F1", Some("auditor"), None, None).await.1["state"], "submitted");
}

// ---------------------------------------------------------------------------------------------
// Drawdowns through the CLI, and the database's own guards

/// A refused revision said "cannot approve …" instead of naming the revision (964196c).
async fn a_refused_revision_says_revise_not_approve(engine: Engine) {
    let (db, _keep, building, office) = imported(engine).await;
    file_green(&db, "RV1", &building, None);
    let me = format!("street_office:{office}");
    let out = drawdown(&db, &["revise", "--id", "RV1", "--estimate", "1200", "--as", &me, "--reason", "加价"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("cannot revise a drawdown that is submitted"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("approve"), "{}", stderr(&out));
}

/// A transition could be dated before the drawdown was filed, putting the record out of order
/// (f092f5d).
async fn a_transition_dated_before_its_filing_is_refused(engine: Engine) {
    let (db, _keep, building, office) = imported(engine).await;
    file_green(&db, "B1", &building, Some("2026-11-20"));
    let me = format!("street_office:{office}");
    let early = drawdown(&db, &["approve", "--id", "B1", "--as", &me, "--date", "2026-11-19"]);
    assert_eq!(early.status.code(), Some(2), "{}", stdout(&early));
    assert!(stderr(&early).contains("before the drawdown was filed on 2026-11-20"), "{}", stderr(&early));
    assert_eq!(json_of(&drawdown(&db, &["show", "--id", "B1", "--json"]))["state"], "submitted");
    json_of(&drawdown(&db, &["approve", "--id", "B1", "--as", &me, "--date", "2026-11-20", "--json"]));
    let paid_early = drawdown(&db, &["advance", "--id", "B1", "--amount", "100", "--date", "2026-11-19"]);
    assert_eq!(paid_early.status.code(), Some(2), "{}", stdout(&paid_early));
    assert!(stderr(&paid_early).contains("before the drawdown was filed"), "{}", stderr(&paid_early));
    let shown = json_of(&drawdown(&db, &["show", "--id", "B1", "--json"]));
    assert_eq!((shown["state"].as_str(), shown["paid"].as_str()), (Some("approved"), Some("0.00")), "{shown}");
}

/// Beneficiary rows (which units a drawdown charges) could be changed or deleted by SQL; they
/// are kept like the ledger (f092f5d).
async fn beneficiary_rows_refuse_update_and_delete(engine: Engine) {
    let (db, _keep, building, _office) = imported(engine).await;
    file_green(&db, "KEPT1", &building, None);
    for sql in [
        "UPDATE drawdown_units SET unit_id = unit_id || 'x' WHERE drawdown_id = 'KEPT1'",
        "DELETE FROM drawdown_units WHERE drawdown_id = 'KEPT1'",
    ] {
        let refused = raw_sql(&db, sql).await;
        assert!(refused.as_ref().is_err_and(|e| e.contains("kept")), "{sql}: {refused:?}");
    }
    let notice = json_of(&drawdown(&db, &["show", "--id", "KEPT1", "--json"]));
    assert!(notice["units"].as_array().is_some_and(|u| !u.is_empty()), "{notice}");
}

/// A scope given with spaces around it was stored as given and matched no estate's street
/// office, so that office could never decide (f092f5d).
async fn a_scope_is_stored_trimmed(engine: Engine) {
    let a = api(engine).await;
    let padded = format!("  {} ", a.office);
    let out = mfund(&a.db.url, &["user", "add", "--name", "cli-office", "--role", "street_office", "--scope", &padded]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = json_of(&mfund(&a.db.url, &["user", "list", "--json"]));
    let cli = listed.as_array().unwrap().iter().find(|u| u["name"] == "cli-office").unwrap();
    assert_eq!(cli["scope"].as_str(), Some(a.office.as_str()), "{cli}");
    let user = User { name: "padded".into(), role: "street_office".into(), scope: padded };
    a.db.store().await.add_user(&user, &token_hash("token-padded")).await.unwrap();
    assert_eq!(
        http(&a.router, "POST", "/drawdowns", Some("clerk"), Some(green("S1", &a.building)), None).await.0,
        StatusCode::CREATED
    );
    let (status, body) =
        http(&a.router, "POST", "/drawdowns/S1/approve", Some("padded"), Some(json!({"reason": "同意"})), None).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("approved")), "{body}");
}

/// Only the CLI refused a street office or property company without its scope; any other
/// caller of the store could add one, whose token matched nothing or read as "any" (5ccde58).
async fn a_street_office_or_property_company_needs_its_scope(engine: Engine) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    for (name, role, scope) in [("loose-office", "street_office", ""), ("loose-company", "property_company", "  ")] {
        let user = User { name: name.into(), role: role.into(), scope: scope.into() };
        let added = store.add_user(&user, &token_hash(&format!("token-{name}"))).await;
        assert!(added.as_ref().is_err_and(|e| e.to_string().contains("give its scope")), "{name}: {added:?}");
    }
    let listed = json_of(&mfund(&db.url, &["user", "list", "--json"]));
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");
}

/// The day a write was recorded on was the UTC day, so a write between 00:00 and 08:00 in the
/// city went on the day before (4918e13). Between 16:00 and 24:00 UTC the two days differ and
/// this catches the old clock; at other hours both agree and it only checks the CLI and the
/// API keep the fund's day.
async fn the_day_of_a_write_is_china_standard_time(engine: Engine) {
    let a = api(engine).await;
    let now = || {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        ledger_core::Date::of_unix_seconds(secs).to_string()
    };
    let before = now();
    let out = mfund(
        &a.db.url,
        &[
            "drawdown",
            "apply",
            "--id",
            "TZ1",
            "--estate",
            "E00001",
            "--building",
            &a.building,
            "--category",
            "elevator",
            "--estimate",
            "1000",
            "--contractor",
            "C1",
            "--applicant",
            "物业",
            "--green-channel",
            "--json",
        ],
    );
    json_of(&out);
    assert_eq!(
        http(&a.router, "POST", "/drawdowns", Some("clerk"), Some(green("TZ2", &a.building)), None).await.0,
        StatusCode::CREATED
    );
    let after = now();
    for id in ["TZ1", "TZ2"] {
        let shown = http(&a.router, "GET", &format!("/drawdowns/{id}"), Some("auditor"), None, None).await.1;
        let day = shown["submitted_on"].as_str().unwrap().to_owned();
        assert!(day == before || day == after, "{id} recorded on {day}, the fund's day is {before}");
        assert_eq!(shown["events"][0]["at"].as_str(), Some(day.as_str()), "{shown}");
    }
}

/// A vote entered from the CLI was recorded as an anonymous `owner`, not under who entered it
/// (46df0cb).
async fn a_vote_from_the_cli_is_recorded_under_who_entered_it(engine: Engine) {
    let (db, keep, building, _office) = imported(engine).await;
    let units: Vec<String> = std::fs::read_to_string(keep.path().join("city/units.csv"))
        .unwrap()
        .lines()
        .filter(|l| l.contains(&format!(",{building},")))
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect();
    assert!(units.len() >= 2);
    json_of(&drawdown(
        &db,
        &[
            "apply",
            "--id",
            "V1",
            "--estate",
            "E00001",
            "--building",
            &building,
            "--category",
            "exterior_painting",
            "--estimate",
            "5000",
            "--contractor",
            "C2",
            "--applicant",
            "业委会",
            "--json",
        ],
    ));
    json_of(&drawdown(
        &db,
        &["vote", "--id", "V1", "--unit", &units[0], "--vote", "yes", "--as", "录入员张", "--json"],
    ));
    json_of(&drawdown(&db, &["vote", "--id", "V1", "--unit", &units[1], "--vote", "no", "--json"]));
    let shown = json_of(&drawdown(&db, &["show", "--id", "V1", "--json"]));
    let events = shown["events"].as_array().unwrap();
    let by = |action: String| {
        let e = events.iter().find(|e| e["action"] == action.as_str()).unwrap_or_else(|| panic!("{action}: {shown}"));
        (e["actor"].as_str().unwrap().to_owned(), e["role"].as_str().unwrap().to_owned())
    };
    assert_eq!(by(format!("vote {} yes", units[0])), ("录入员张".to_owned(), "clerk".to_owned()));
    assert_eq!(by(format!("vote {} no", units[1])), ("clerk".to_owned(), "clerk".to_owned()));
}

/// An unknown JSON field was ignored: `buildingId` (for `building_id`) filed a drawdown for the
/// whole estate instead of the building (issue 11, item 1).
async fn an_unknown_field_in_a_request_body_is_refused(engine: Engine) {
    let a = api(engine).await;
    let r = &a.router;
    let mut body = green("U1", &a.building);
    let building = body.as_object_mut().unwrap().remove("building_id").unwrap();
    body["buildingId"] = building;
    let (status, answer) = http(r, "POST", "/drawdowns", Some("clerk"), Some(body), None).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")),
        "{answer}"
    );
    assert!(answer["message"].as_str().unwrap().contains("buildingId"), "{answer}");
    assert_eq!(http(r, "GET", "/drawdowns/U1", Some("auditor"), None, None).await.0, StatusCode::NOT_FOUND);
    // A transition's body and a vote's are as strict.
    assert_eq!(
        http(r, "POST", "/drawdowns", Some("clerk"), Some(green("U2", &a.building)), None).await.0,
        StatusCode::CREATED
    );
    for (path, body) in [
        ("/drawdowns/U2/cancel", json!({ "reason": "重复", "units": "all" })),
        ("/drawdowns/U2/votes", json!({ "unit_id": "X", "vote": "yes", "weight": 2 })),
    ] {
        let (status, answer) = http(r, "POST", path, Some("clerk"), Some(body), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains("unknown field"), "{path}: {answer}");
    }
}
