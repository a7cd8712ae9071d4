//! Service ratings (SPEC §9) through the real binary and the HTTP app, on both engines: a small
//! city worked by hand, publishing twice, a late check, list entries, bad input, the public read.

use std::path::Path;

use ledger_api::{app, token_hash, AppState};
use ledger_store::User;
use serde_json::{json, Value};

use crate::on_both_engines;
use crate::support::{http, mfund, stderr, stdout, Engine, TestDb};

on_both_engines!(
    a_small_city_worked_by_hand,
    bad_rating_files_write_nothing,
    the_api_records_checks_publishes_and_answers_the_public
);

const INDICATORS: [&str; 20] = [
    "performance.1",
    "performance.2",
    "performance.3",
    "performance.4",
    "response.1",
    "response.2",
    "response.3",
    "response.4",
    "safety.1",
    "safety.2",
    "safety.3",
    "safety.4",
    "environment.1",
    "environment.2",
    "environment.3",
    "environment.4",
    "satisfaction.1",
    "satisfaction.2",
    "satisfaction.3",
    "satisfaction.4",
];

/// E1 and E2 of 甲物业 (东城街道), E3 of 乙物业 (西城街道); 100, 300 and 50 m².
fn registry(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write(
        "estates.csv",
        "estate_id,name,district,street_office,property_company\n\
         E1,一号小区,东城区,东城街道,甲物业\nE2,二号小区,东城区,东城街道,甲物业\nE3,三号小区,西城区,西城街道,乙物业\n",
    );
    write(
        "buildings.csv",
        "building_id,estate_id,name,floors,has_elevator\nB1,E1,1幢,6,false\nB2,E2,1幢,6,false\nB3,E3,1幢,6,false\n",
    );
    write(
        "units.csv",
        "unit_id,building_id,floor_area,use,owner\nU1,B1,100,residential,甲\nU2,B2,300,residential,乙\nU3,B3,50,residential,丙\n",
    );
}

/// A full check: the first ten indicators score `high`, the other ten `low`.
fn check_rows(check_id: &str, estate: &str, month: &str, high: &str, low: &str) -> String {
    INDICATORS
        .iter()
        .enumerate()
        .map(|(k, i)| format!("{check_id},{estate},{month},{i},{},检查员\n", if k < 10 { high } else { low }))
        .collect()
}

const CHECK_HEAD: &str = "check_id,estate_id,month,indicator_id,score,inspector\n";

/// E1 90 every month of 2024; E2 65 (3.5 and 3.0); E3 50 in January to March only.
fn rating_files(dir: &Path) {
    let mut checks = CHECK_HEAD.to_owned();
    for m in 1..=12 {
        checks.push_str(&check_rows(&format!("C1-{m}"), "E1", &format!("2024-{m:02}"), "4.5", "4.5"));
        checks.push_str(&check_rows(&format!("C2-{m}"), "E2", &format!("2024-{m:02}"), "3.5", "3.0"));
    }
    for m in 1..=3 {
        checks.push_str(&check_rows(&format!("C3-{m}"), "E3", &format!("2024-{m:02}"), "2.5", "2.5"));
    }
    std::fs::write(dir.join("rating_checks.csv"), checks).unwrap();
    std::fs::write(dir.join("credit_scores.csv"), "company,year,score\n甲物业,2024,95\n").unwrap();
    // No tickets in the checked months of E1: its response.1 stays the inspector's.
    std::fs::write(
        dir.join("tickets.csv"),
        "ticket_id,estate_id,kind,opened_at,responded_at,closed_at\nT1,E3,repair,2023-12-01T08:00,2023-12-01T10:00,\n",
    )
    .unwrap();
}

fn run(db: &TestDb, args: &[&str]) -> String {
    let out = mfund(&db.url, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn report(db: &TestDb) -> Value {
    serde_json::from_str(&run(db, &["rating", "report", "--year", "2024", "--json"])).unwrap()
}

async fn a_small_city_worked_by_hand(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = db.folder().join("city");
    registry(&dir);
    rating_files(&dir);
    let d = dir.to_str().unwrap();
    run(&db, &["import", "--dir", d]);
    let first: Value = serde_json::from_str(&run(&db, &["--json", "rating", "import", "--dir", d])).unwrap();
    assert_eq!(
        (first["checks"].as_u64(), first["tickets"].as_u64(), first["credit_scores"].as_u64()),
        (Some(27), Some(1), Some(1))
    );
    let again: Value = serde_json::from_str(&run(&db, &["--json", "rating", "import", "--dir", d])).unwrap();
    assert_eq!((again["checks"].as_u64(), again["already_stored"].as_u64()), (Some(0), Some(29)));
    run(&db, &["rating", "publish", "--year", "2024", "--date", "2025-01-31", "--as", "root"]);
    let r = report(&db);
    assert_eq!(r["year"], 2024);
    assert_eq!(r["published_on"], "2025-01-31");
    // E1: 0.8 × 90 + 0.2 × 95 = 91.00, five stars, +5 %.
    let e1 = &r["estates"][0];
    assert_eq!(e1["quarters"], json!(["90.00", "90.00", "90.00", "90.00"]));
    assert_eq!(
        (e1["annual_total"].clone(), e1["stars"].clone(), e1["fee_float_pct"].clone()),
        (json!("91.00"), json!(5), json!(5))
    );
    assert_eq!(e1["credit_score"], "95.00");
    assert_eq!(e1["order"], Value::Null);
    // E2: 0.8 × 65 + 0.2 × 95 = 71.00, three stars, 0.
    let e2 = &r["estates"][1];
    assert_eq!(
        (e2["annual_total"].clone(), e2["stars"].clone(), e2["fee_float_pct"].clone()),
        (json!("71.00"), json!(3), json!(0))
    );
    // E3: Q1 only, 50, no credit score: 50.00 from the quarters alone, one star, −10 %, an order
    // due three months after 31 January: 30 April.
    let e3 = &r["estates"][2];
    assert_eq!(e3["quarters"], json!(["50.00", null, null, null]));
    assert_eq!(
        (e3["annual_total"].clone(), e3["credit_score"].clone(), e3["annual_basis"].clone()),
        (json!("50.00"), Value::Null, json!("quarters_only"))
    );
    assert_eq!((e3["stars"].clone(), e3["fee_float_pct"].clone()), (json!(1), json!(-10)));
    assert_eq!(e3["order"], json!({ "due": "2025-04-30", "outcome": "pending" }));
    // 甲: (91 × 100 + 71 × 300) ÷ 400 = 76.00, qualified; 乙: 50.00, unqualified, black.
    // Sorted by name: 乙 (U+4E59) before 甲 (U+7532).
    let (yi, jia) = (&r["companies"][0], &r["companies"][1]);
    assert_eq!((yi["company"].clone(), jia["company"].clone()), (json!("乙物业"), json!("甲物业")));
    assert_eq!(
        (
            jia["estates"].clone(),
            jia["floor_area"].clone(),
            jia["weighted_total"].clone(),
            jia["grade"].clone(),
            jia["list"].clone()
        ),
        (json!(2), json!("400.00"), json!("76.00"), json!("qualified"), Value::Null)
    );
    assert_eq!((yi["grade"].clone(), yi["list"].clone()), (json!("unqualified"), json!("black")));
    assert_eq!(yi["list_rules"], json!(["grade_unqualified", "satisfaction_at_most_half:E3"]));
    assert_eq!(r["rules"]["stars"]["five"], "90");

    // Publishing again, on another day, changes nothing.
    let out = run(&db, &["rating", "publish", "--year", "2024", "--date", "2025-02-15", "--as", "root"]);
    assert!(out.contains("结果不变"), "{out}");
    assert_eq!(report(&db), r);
    // A check of 2024 arriving after publication is recorded and changes no published figure.
    let late = db.folder().join("late");
    std::fs::create_dir_all(&late).unwrap();
    std::fs::write(
        late.join("rating_checks.csv"),
        format!("{CHECK_HEAD}{}", check_rows("C3-5", "E3", "2024-05", "5", "5")),
    )
    .unwrap();
    let out = run(&db, &["rating", "import", "--dir", late.to_str().unwrap()]);
    assert!(out.contains("不改变已公布的结果"), "{out}");
    assert_eq!(report(&db), r);
    let text = run(&db, &["rating", "report", "--year", "2024"]);
    let (p1, p3) = (text.find("E1").unwrap(), text.find("E3").unwrap());
    assert!(p1 < p3 && text.contains("一季度") && text.contains("★★★★★"), "sorted by total:\n{text}");
    let csv_path = db.folder().join("r.csv");
    run(&db, &["rating", "report", "--year", "2024", "--format", "csv", "--out", csv_path.to_str().unwrap()]);
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert!(
        csv.starts_with("estate_id,company,q1,q2,q3,q4,")
            && csv.contains("E3,乙物业,50.00,,,,,50.00,1,-10,2025-04-30,pending"),
        "{csv}"
    );
    let xlsx = db.folder().join("r.xlsx");
    run(&db, &["rating", "report", "--year", "2024", "--format", "xlsx", "--out", xlsx.to_str().unwrap()]);
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"), "an xlsx is a zip");

    // The estate's view judges its order on the day asked: the late May check is after the
    // due month, so on 30 April nothing was rechecked.
    let view: Value =
        serde_json::from_str(&run(&db, &["--json", "rating", "estate", "--id", "E3", "--as-of", "2025-04-30"]))
            .unwrap();
    assert_eq!(view["years"][0]["order_outcome_now"], "no_recheck");
    assert_eq!(view["months"].as_array().unwrap().len(), 4);

    // A clerk's list entries: recorded with who and why; a removal is an entry too.
    run(
        &db,
        &[
            "rating",
            "list",
            "add",
            "--company",
            "甲物业",
            "--year",
            "2024",
            "--list",
            "red",
            "--reason",
            "群众表扬",
            "--as",
            "王会计",
            "--date",
            "2025-02-01",
        ],
    );
    let out = mfund(
        &db.url,
        &[
            "rating",
            "list",
            "add",
            "--company",
            "甲物业",
            "--year",
            "2024",
            "--list",
            "red",
            "--reason",
            "again",
            "--as",
            "王会计",
        ],
    );
    assert!(!out.status.success() && stderr(&out).contains("already"), "{}", stderr(&out));
    run(
        &db,
        &[
            "rating",
            "list",
            "remove",
            "--company",
            "乙物业",
            "--year",
            "2024",
            "--list",
            "black",
            "--reason",
            "整改到位",
            "--as",
            "王会计",
            "--date",
            "2025-03-01",
        ],
    );
    let lists: Value = serde_json::from_str(&run(&db, &["--json", "rating", "lists", "--year", "2024"])).unwrap();
    assert_eq!(lists["in_force"].as_array().unwrap().len(), 1);
    assert_eq!(
        (lists["in_force"][0]["company"].clone(), lists["in_force"][0]["list"].clone()),
        (json!("甲物业"), json!("red"))
    );
    let entries = lists["manual_entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        (entries[1]["action"].clone(), entries[1]["by"].clone(), entries[1]["reason"].clone()),
        (json!("remove"), json!("王会计"), json!("整改到位"))
    );
    let out = mfund(
        &db.url,
        &[
            "rating",
            "list",
            "add",
            "--company",
            "丙物业",
            "--year",
            "2024",
            "--list",
            "red",
            "--reason",
            "x",
            "--as",
            "王会计",
        ],
    );
    assert!(!out.status.success() && stderr(&out).contains("serves no registered estate"), "{}", stderr(&out));
    // The published year still says what it said.
    assert_eq!(report(&db), r);
    // §8 reads the float in force from the store.
    let store = db.store().await;
    let (pct, why) =
        store.fee_float_in_force("E1", ledger_core::Date::parse("2025-06-01").unwrap()).await.unwrap().unwrap();
    assert_eq!((pct, why.contains("5星")), (rust_decimal::Decimal::from(5), true));
    assert!(store.fee_float_in_force("E1", ledger_core::Date::parse("2026-06-01").unwrap()).await.unwrap().is_none());
}

/// Runs `rating import` on a folder holding only `name` with `text`: refused, exit 2, the
/// message naming `location`, and nothing written.
fn refused(db: &TestDb, name: &str, text: &str, location: &str) {
    let dir = db.folder().join(format!("bad-{}", name.replace('.', "-")));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
    let out = mfund(&db.url, &["rating", "import", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
    assert!(stderr(&out).contains(location), "{name}: expected {location} in {}", stderr(&out));
    assert!(stderr(&out).contains("nothing was written"), "{}", stderr(&out));
}

async fn bad_rating_files_write_nothing(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = db.folder().join("city");
    registry(&dir);
    run(&db, &["import", "--dir", dir.to_str().unwrap()]);
    let good = check_rows("C1", "E1", "2024-01", "4.5", "4.5");
    refused(
        &db,
        "rating_checks.csv",
        &format!("{CHECK_HEAD}{}", good.replace("C1,E1,2024-01,safety.3,4.5,检查员\n", "")),
        "rating_checks.csv:2:4:",
    );
    refused(
        &db,
        "rating_checks.csv",
        &format!("{CHECK_HEAD}{good}C1,E1,2024-01,safety.3,1,检查员\n"),
        "rating_checks.csv:22:4:",
    );
    refused(
        &db,
        "rating_checks.csv",
        &format!("{CHECK_HEAD}{}", good.replacen("4.5", "5.5", 1)),
        "rating_checks.csv:2:5:",
    );
    refused(
        &db,
        "rating_checks.csv",
        &format!("{CHECK_HEAD}{}", good.replacen("4.5", "4.25", 1)),
        "rating_checks.csv:2:5:",
    );
    refused(
        &db,
        "rating_checks.csv",
        &format!("{CHECK_HEAD}{}", check_rows("C9", "E9", "2024-01", "4", "4")),
        "rating_checks.csv:2:2: column `estate_id`: estate `E9` is not registered",
    );
    refused(
        &db,
        "tickets.csv",
        "ticket_id,estate_id,kind,opened_at,responded_at,closed_at\nT1,E1,repair,2024-01-01 08:00,,\n",
        "tickets.csv:2:4:",
    );
    let rows: String = (1..=19).map(|k| format!("x.{k},safety,指标{k},5\n")).collect();
    refused(
        &db,
        "indicators.csv",
        &format!("indicator_id,dimension,name,max_points\n{rows}"),
        "indicators.csv:20:4: column `max_points`: the indicators' max_points sum to 95, expected 100",
    );
    refused(&db, "credit_scores.csv", "company,year,score\n甲物业,2024,100.5\n", "credit_scores.csv:2:3:");
    // Nothing of any of them was recorded: a year published now rates no estate.
    let rules = db.folder().join("rules.toml");
    std::fs::write(&rules, "[stars]\nfive = 90\nfour = = 1\n").unwrap();
    let out = mfund(
        &db.url,
        &[
            "rating",
            "publish",
            "--year",
            "2024",
            "--date",
            "2025-01-31",
            "--rules",
            rules.to_str().unwrap(),
            "--as",
            "root",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("rules.toml:3:"), "{}", stderr(&out));
    std::fs::write(&rules, "[fee_float]\nfive = 8\n").unwrap();
    run(
        &db,
        &[
            "rating",
            "publish",
            "--year",
            "2024",
            "--date",
            "2025-01-31",
            "--rules",
            rules.to_str().unwrap(),
            "--as",
            "root",
        ],
    );
    let r = report(&db);
    assert!(r["estates"].as_array().unwrap().iter().all(|e| e["stars"].is_null()), "{r}");
    assert_eq!(r["rules"]["fee_float"]["five"], 8);
}

async fn the_api_records_checks_publishes_and_answers_the_public(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = db.folder().join("city");
    registry(&dir);
    run(&db, &["import", "--dir", dir.to_str().unwrap()]);
    let store = db.store().await;
    for (name, role, scope) in [
        ("east", "street_office", "东城街道"),
        ("west", "street_office", "西城街道"),
        ("root", "admin", ""),
        ("clerk", "clerk", ""),
    ] {
        let user = User { name: name.into(), role: role.into(), scope: scope.into() };
        store.add_user(&user, &token_hash(&format!("token-{name}"))).await.unwrap();
    }
    let router = app(AppState::new(store, Default::default()));
    let scores: serde_json::Map<String, Value> = INDICATORS.iter().map(|i| (i.to_string(), json!("4.5"))).collect();
    let check = |id: &str, estate: &str| json!({ "check_id": id, "estate_id": estate, "month": "2024-03", "inspector": "李", "scores": scores });
    let (status, answer) = http(&router, "POST", "/ratings/checks", Some("east"), Some(check("A1", "E1")), None).await;
    assert_eq!(status.as_u16(), 201, "{answer}");
    let (status, _) = http(&router, "POST", "/ratings/checks", Some("east"), Some(check("A1", "E1")), None).await;
    assert_eq!(status.as_u16(), 200, "the same check again records nothing");
    // The street office of another estate is refused.
    let (status, answer) = http(&router, "POST", "/ratings/checks", Some("west"), Some(check("A2", "E2")), None).await;
    assert_eq!(status.as_u16(), 403, "{answer}");
    // A partial check, and an unknown field.
    let mut partial = check("A3", "E2");
    partial["scores"].as_object_mut().unwrap().remove("safety.1");
    let (status, answer) = http(&router, "POST", "/ratings/checks", Some("east"), Some(partial), None).await;
    assert_eq!(status.as_u16(), 422, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("safety.1"), "{answer}");
    let mut extra = check("A4", "E2");
    extra["score"] = json!(1);
    let (status, _) = http(&router, "POST", "/ratings/checks", Some("east"), Some(extra), None).await;
    assert_eq!(status.as_u16(), 422);
    // Only an admin publishes; anyone reads without a token.
    let publish = json!({ "year": 2024, "date": "2025-01-31" });
    let (status, _) = http(&router, "POST", "/ratings/publish", Some("clerk"), Some(publish.clone()), None).await;
    assert_eq!(status.as_u16(), 403);
    let (status, _) = http(&router, "GET", "/ratings/2024", None, None, None).await;
    assert_eq!(status.as_u16(), 404);
    let (status, published) =
        http(&router, "POST", "/ratings/publish", Some("root"), Some(publish.clone()), None).await;
    assert_eq!(status.as_u16(), 201, "{published}");
    let (status, again) = http(&router, "POST", "/ratings/publish", Some("root"), Some(publish), None).await;
    assert_eq!((status.as_u16(), &again), (200, &published));
    let (status, public) = http(&router, "GET", "/ratings/2024", None, None, None).await;
    assert_eq!(status.as_u16(), 200, "{public}");
    // E1: one month, 90, no credit score: 90.00, five stars.
    assert_eq!(
        public["estates"][0],
        json!({ "estate_id": "E1", "company": "甲物业", "stars": 5, "annual_total": "90.00" })
    );
    assert_eq!(public["companies"][1], json!({ "company": "甲物业", "weighted_total": "90.00", "grade": "excellent" }));
    assert_eq!(public["companies"][0]["grade"], Value::Null, "乙物业 has no rated estate");
    assert_eq!(public["lists"], json!([]), "no credit score: not red");
}
