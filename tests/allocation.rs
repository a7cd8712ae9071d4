//! Allocation of the fund's income (SPEC §6) and top-up notices (§7), end to end through the
//! real binary and the HTTP app, on both engines.

use std::path::Path;

use ledger_api::{app, token_hash, AppState};
use ledger_store::User;
use serde_json::{json, Value};

use crate::on_both_engines;
use crate::support::{http, mfund, snapshot, stderr, stdout, Engine, TestDb};

on_both_engines!(
    the_same_allocation_again_posts_nothing_and_other_parameters_are_refused_showing_both,
    refusals_write_nothing_and_say_why,
    the_default_period_starts_after_the_last_allocation,
    area_allocation_of_common_income_to_one_estate,
    topup_notices_list_units_below_thirty_percent,
    the_api_allocates_like_the_command_line
);

const BANK: &str = "bank:6222020200112233";

/// The hand-worked city of `ledger_core::allocation::tests`: three units of 90 m² in one
/// building; A deposits 1,000.00 and B and C 500.00 and 300.00 in December 2024; in January
/// 2025 B deposits 500.00 more on the 16th, C pays 400.00 for a repair on the 10th (−100.00 for a
/// week) and tops up 200.00 on the 17th; the bank pays 100.00 interest on the 31st. A second
/// estate (E2) has one unit, D, of 50 m² that never deposited.
fn write_city(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write(
        "estates.csv",
        "estate_id,name,district,street_office,property_company\nE1,一号小区,东城区,东城街道,绿城物业\nE2,二号小区,东城区,东城街道,绿城物业\n",
    );
    write("buildings.csv", "building_id,estate_id,name,floors,has_elevator\nB1,E1,1幢,6,false\nB2,E2,1幢,6,false\n");
    write(
        "units.csv",
        "unit_id,building_id,floor_area,use,owner\nA,B1,90.00,residential,甲\nB,B1,90.00,residential,乙\nC,B1,90.00,residential,丙\nD,B2,50.00,residential,丁\n",
    );
    let rows = [
        ("J1", "2024-12-01", "deposit", BANK, "1000", ""),
        ("J1", "2024-12-01", "deposit", "unit:A", "", "1000"),
        ("J2", "2024-12-01", "deposit", BANK, "500", ""),
        ("J2", "2024-12-01", "deposit", "unit:B", "", "500"),
        ("J3", "2024-12-01", "deposit", BANK, "300", ""),
        ("J3", "2024-12-01", "deposit", "unit:C", "", "300"),
        ("J4", "2025-01-10", "drawdown", "unit:C", "400", ""),
        ("J4", "2025-01-10", "drawdown", BANK, "", "400"),
        ("J5", "2025-01-16", "deposit", BANK, "500", ""),
        ("J5", "2025-01-16", "deposit", "unit:B", "", "500"),
        ("J6", "2025-01-17", "topup", BANK, "200", ""),
        ("J6", "2025-01-17", "topup", "unit:C", "", "200"),
        ("J7", "2025-01-31", "interest", BANK, "100", ""),
        ("J7", "2025-01-31", "interest", "income:interest", "", "100"),
    ];
    write("journal.csv", &journal(&rows));
}

fn journal(rows: &[(&str, &str, &str, &str, &str, &str)]) -> String {
    let mut text = "entry_id,date,kind,account,debit,credit,memo\n".to_owned();
    for (id, date, kind, account, debit, credit) in rows {
        text.push_str(&format!("{id},{date},{kind},{account},{debit},{credit},\n"));
    }
    text
}

async fn imported(engine: Engine) -> TestDb {
    let db = TestDb::new(engine).await;
    let dir = db.folder().join("city");
    write_city(&dir);
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    db
}

fn import_more(db: &TestDb, name: &str, rows: &[(&str, &str, &str, &str, &str, &str)]) {
    let dir = db.folder().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("journal.csv"), journal(rows)).unwrap();
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `mfund allocate` of income:interest as a clerk, dated 2025-01-31 unless `extra` names a date.
fn allocate(db: &TestDb, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["allocate", "--source", "income:interest", "--as", "王会计"];
    if !extra.contains(&"--date") {
        args.extend(["--date", "2025-01-31"]);
    }
    mfund(&db.url, &[&args[..], extra].concat())
}

fn ok_json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}{}", stdout(out), stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// The hand-worked result, every figure as in core's test: weights 3,100,000, 2,350,000 and
/// 420,000 (C's negative week weighs 0), shares 52.81, 40.03 and 7.16 of 100.00.
fn hand_worked_result() -> Value {
    json!({
        "entry_id": "ALLOC-1", "source": "income:interest", "method": "balance-days",
        "from": "2025-01-01", "to": "2025-01-31",
        "amount": "100.00", "withheld": "0.00", "allocated": "100.00",
        "units": 3, "weights_total": 5_870_000,
        "shares": [
            {"unit_id": "A", "weight": 3_100_000, "share": "52.81"},
            {"unit_id": "B", "weight": 2_350_000, "share": "40.03"},
            {"unit_id": "C", "weight": 420_000, "share": "7.16"},
        ],
    })
}

/// The hand-worked case through the binary on both engines: the same JSON, the SPEC's exactly;
/// the CSV for the owners' notice; the units' balances credited; the chain intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_worked_balance_days_give_the_same_json_on_both_engines() {
    let mut results = Vec::new();
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let db = imported(engine).await;
        let csv = db.folder().join("notice.csv");
        let csv_arg = csv.to_str().unwrap();
        let result =
            ok_json(&allocate(&db, &["--entry-id", "ALLOC-1", "--from", "2025-01-01", "--csv", csv_arg, "--json"]));
        assert_eq!(result, hand_worked_result(), "{engine:?}");
        let notice = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(notice, "unit_id,weight,share\nA,3100000,52.81\nB,2350000,40.03\nC,420000,7.16\n");
        let balance = ok_json(&mfund(&db.url, &["balance", "--unit", "C", "--json"]));
        assert_eq!(balance["balance"], "107.16", "C: 300 − 400 + 200 + 7.16");
        let verified = mfund(&db.url, &["verify"]);
        assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));
        results.push(result);
    }
    assert_eq!(results[0], results[1]);
}

async fn the_same_allocation_again_posts_nothing_and_other_parameters_are_refused_showing_both(engine: Engine) {
    let db = imported(engine).await;
    let first = ok_json(&allocate(&db, &["--entry-id", "ALLOC-1", "--from", "2025-01-01", "--json"]));
    let store = db.store().await;
    let after_first = snapshot(&store).await;
    let again = allocate(&db, &["--entry-id", "ALLOC-1", "--from", "2025-01-01"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("此前已入账"), "{}", stdout(&again));
    let again = ok_json(&allocate(&db, &["--entry-id", "ALLOC-1", "--from", "2025-01-01", "--json"]));
    assert_eq!(again, first, "the first result again");
    assert_eq!(snapshot(&store).await, after_first, "nothing posted twice");
    let other = allocate(&db, &["--entry-id", "ALLOC-1", "--from", "2025-01-01", "--amount", "50"]);
    assert_eq!(other.status.code(), Some(2));
    let text = stderr(&other);
    assert!(text.contains("first:") && text.contains("amount whole balance"), "{text}");
    assert!(text.contains("now:") && text.contains("amount 50.00"), "{text}");
    assert_eq!(snapshot(&store).await, after_first);
    // An id already used by an imported entry is refused.
    let taken = allocate(&db, &["--entry-id", "J7", "--from", "2025-01-01"]);
    assert_eq!(taken.status.code(), Some(2));
    assert!(stderr(&taken).contains("`J7` is already used"), "{}", stderr(&taken));
    assert_eq!(snapshot(&store).await, after_first);
}

async fn refusals_write_nothing_and_say_why(engine: Engine) {
    let db = imported(engine).await;
    let store = db.store().await;
    let before = snapshot(&store).await;
    let cases: &[(&[&str], &str)] = &[
        (&["--amount", "100.01"], "holds only 100.00"),
        (&["--amount", "0"], "must be positive, found 0.00"),
        (&["--amount", "-5"], "must be positive, found -5.00"),
        (&["--amount", "1.234"], "--amount"),
        (&["--withhold-rate", "1"], "below 1"),
        (&["--withhold-rate", "0.1234567"], "at most 6 decimals"),
        (&["--withhold-rate", "-0.1"], "withhold rate `-0.1`"),
        (&["--estate", "E1"], "--amount"),
        (&["--building", "NOPE", "--amount", "1"], "building `NOPE`"),
        (&["--method", "weird"], "balance-days, area or closing-balance"),
        (&["--to", "2025-02-01"], "after --date"),
        (&["--method", "area", "--from", "2025-01-01"], "leave out --from and --to"),
        // Before any deposit every balance is 0: all weights are 0.
        (&["--from", "2024-11-01", "--to", "2024-11-30"], "weight 0"),
        (&["--date", "2024-12-31", "--from", "2024-12-01"], "nothing to allocate"),
    ];
    for (extra, expected) in cases {
        let from: &[&str] = if extra.contains(&"--from") { &[] } else { &["--from", "2025-01-01"] };
        let out = allocate(&db, &[&["--entry-id", "BAD-1"][..], from, extra].concat());
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stdout(&out));
        assert!(stderr(&out).contains(expected), "{extra:?}: expected {expected:?} in {}", stderr(&out));
    }
    let suspense =
        mfund(&db.url, &["allocate", "--source", "suspense", "--date", "2025-01-31", "--entry-id", "X", "--as", "a"]);
    assert_eq!(suspense.status.code(), Some(2));
    assert!(stderr(&suspense).contains("income:interest or income:common"), "{}", stderr(&suspense));
    assert_eq!(snapshot(&store).await, before, "a refusal writes nothing");
    // A dry run computes and posts nothing.
    let dry = ok_json(&allocate(&db, &["--entry-id", "ALLOC-1", "--from", "2025-01-01", "--dry-run", "--json"]));
    assert_eq!(dry, hand_worked_result());
    assert_eq!(snapshot(&store).await, before, "a dry run writes nothing");
}

async fn the_default_period_starts_after_the_last_allocation(engine: Engine) {
    let db = imported(engine).await;
    // Without --from the first allocation starts at the earliest journal date: December counts
    // too (A 100,000 × 31 + B 50,000 × 31 + C 30,000 × 31 more).
    let first = ok_json(&allocate(&db, &["--entry-id", "ALLOC-1", "--withhold-rate", "0.0185", "--json"]));
    assert_eq!(first["from"], "2024-12-01");
    assert_eq!(first["weights_total"], 5_870_000 + 31 * (100_000 + 50_000 + 30_000));
    assert_eq!(
        (first["amount"].as_str(), first["withheld"].as_str(), first["allocated"].as_str()),
        (Some("100.00"), Some("1.85"), Some("98.15"))
    );
    import_more(
        &db,
        "feb",
        &[
            ("J8", "2025-02-28", "interest", BANK, "10", ""),
            ("J8", "2025-02-28", "interest", "income:interest", "", "10"),
        ],
    );
    let second = ok_json(&mfund(
        &db.url,
        &[
            "allocate",
            "--source",
            "income:interest",
            "--date",
            "2025-02-28",
            "--entry-id",
            "ALLOC-2",
            "--as",
            "王会计",
            "--json",
        ],
    ));
    assert_eq!((second["from"].as_str(), second["to"].as_str()), (Some("2025-02-01"), Some("2025-02-28")));
    // The withheld 1.85 stayed in the source and is allocated now with February's 10.00.
    assert_eq!(second["amount"], "11.85");
}

async fn area_allocation_of_common_income_to_one_estate(engine: Engine) {
    let db = imported(engine).await;
    import_more(
        &db,
        "common",
        &[
            ("C1", "2025-01-20", "adjustment", BANK, "33.33", ""),
            ("C1", "2025-01-20", "adjustment", "income:common", "", "33.33"),
        ],
    );
    let out = mfund(
        &db.url,
        &[
            "allocate",
            "--source",
            "income:common",
            "--date",
            "2025-01-31",
            "--entry-id",
            "COMMON-1",
            "--estate",
            "E1",
            "--amount",
            "10",
            "--as",
            "王会计",
            "--json",
        ],
    );
    let result = ok_json(&out);
    assert_eq!(result["method"], "area");
    assert_eq!((result["from"].clone(), result["to"].clone()), (Value::Null, Value::Null));
    // 10.00 over three equal areas: 3.33 each and the spare fen to the smallest unit id.
    let shares: Vec<(&str, u64, &str)> = result["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["unit_id"].as_str().unwrap(), s["weight"].as_u64().unwrap(), s["share"].as_str().unwrap()))
        .collect();
    assert_eq!(shares, [("A", 9000, "3.34"), ("B", 9000, "3.33"), ("C", 9000, "3.33")]);
    let balance = ok_json(&mfund(&db.url, &["balance", "--unit", "D", "--json"]));
    assert_eq!(balance["balance"], "0.00", "D is in the other estate");
}

async fn topup_notices_list_units_below_thirty_percent(engine: Engine) {
    let db = imported(engine).await;
    let csv = db.folder().join("topup.csv");
    let out = mfund(&db.url, &["topup", "notices", "--as-of", "2025-01-12", "--csv", csv.to_str().unwrap(), "--json"]);
    let notices = ok_json(&out);
    // C: first deposit 300.00, balance −100.00 after the repair: 400.00 due. D never deposited.
    assert_eq!(
        notices,
        json!([{"unit_id": "C", "owner": "丙", "first_deposit": "300.00", "balance": "-100.00", "due": "400.00"}])
    );
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        "unit_id,owner,first_deposit,balance,due\nC,丙,300.00,-100.00,400.00\n"
    );
    let later = ok_json(&mfund(&db.url, &["topup", "notices", "--as-of", "2025-01-31", "--json"]));
    assert_eq!(later, json!([]), "C at 100.00 is above 90.00");
    let text = mfund(&db.url, &["topup", "notices", "--as-of", "2025-01-12", "--estate", "E2"]);
    assert!(stdout(&text).contains("0 户"), "{}", stdout(&text));
    let unknown = mfund(&db.url, &["topup", "notices", "--as-of", "2025-01-12", "--estate", "NOPE"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("NOPE"), "{}", stderr(&unknown));
}

async fn the_api_allocates_like_the_command_line(engine: Engine) {
    let db = imported(engine).await;
    let store = db.store().await;
    for (name, role) in [("clerk", "clerk"), ("auditor", "auditor")] {
        let user = User { name: name.into(), role: role.into(), scope: String::new() };
        store.add_user(&user, &token_hash(&format!("token-{name}"))).await.unwrap();
    }
    let router = app(AppState::new(store.clone(), Default::default()));
    let body = json!({"source": "income:interest", "date": "2025-01-31", "entry_id": "ALLOC-1", "from": "2025-01-01"});
    let (status, _) = http(&router, "POST", "/allocations", Some("auditor"), Some(body.clone()), None).await;
    assert_eq!(status, 403);
    let mut unknown = body.clone();
    unknown["estate_id"] = json!("E1");
    let (status, answer) = http(&router, "POST", "/allocations", Some("clerk"), Some(unknown), None).await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("estate_id"), "{answer}");
    let mut too_much = body.clone();
    too_much["amount"] = json!("100.01");
    let (status, answer) = http(&router, "POST", "/allocations", Some("clerk"), Some(too_much), None).await;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (422, Some("rule_violation")), "{answer}");
    let before = snapshot(&store).await;
    let (status, first) = http(&router, "POST", "/allocations", Some("clerk"), Some(body.clone()), None).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first, hand_worked_result());
    assert_eq!(snapshot(&store).await.entries, before.entries + 1);
    let (status, again) = http(&router, "POST", "/allocations", Some("clerk"), Some(body.clone()), None).await;
    assert_eq!((status.as_u16(), again), (200, first));
    let mut other = body;
    other["withhold_rate"] = json!("0.01");
    let (status, answer) = http(&router, "POST", "/allocations", Some("clerk"), Some(other), None).await;
    assert_eq!(status, 409, "{answer}");
    let (status, notices) = http(&router, "GET", "/topup?as_of=2025-01-12", Some("auditor"), None, None).await;
    assert_eq!(status, 200);
    assert_eq!(notices[0]["due"], "400.00");
    let (status, _) = http(&router, "GET", "/topup?as_of=2025-13-01", Some("auditor"), None, None).await;
    assert_eq!(status, 422);
}
