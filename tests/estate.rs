//! The registry as history and the records chain (issue 11 item 7, SPEC §10), end to end
//! through the real binary on both engines.

use serde_json::Value;

use crate::import::raw_sql;
use crate::on_both_engines;
use crate::support::{city, http, mfund, snapshot, stderr, stdout, Engine, TestDb};

on_both_engines!(
    workflow_and_registry_records_refuse_update_and_delete,
    a_deleted_payment_is_named_by_verify_and_not_paid_again,
    a_rewritten_approver_is_named_by_verify,
    a_transfer_changes_the_owner_from_its_date,
    a_refund_pays_the_balance_out_and_closes_the_unit,
    a_move_hands_decisions_to_the_new_office_from_its_date,
    reimporting_a_changed_registry_fact_is_refused_naming_the_verb,
    bad_registry_changes_are_refused_and_write_nothing,
    the_api_records_registry_changes_for_clerks_only
);

struct City {
    db: TestDb,
    _keep: tempfile::TempDir,
    dir: std::path::PathBuf,
    building: String,
    office: String,
}

impl City {
    fn run(&self, args: &[&str]) -> std::process::Output {
        mfund(&self.db.url, args)
    }

    fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(&[args, &["--json"]].concat());
        assert!(out.status.success(), "{args:?}: {}{}", stdout(&out), stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Fails with exit status 2; its message.
    fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?} was not refused: {}", stdout(&out));
        stderr(&out)
    }

    fn unit(&self, n: &str) -> String {
        format!("{}-{n}", self.building)
    }

    fn balance(&self, unit: &str) -> String {
        self.ok(&["balance", "--unit", unit])["balance"].as_str().unwrap().to_owned()
    }

    fn verify(&self) -> Value {
        let out = self.run(&["verify", "--json"]);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// A green-channel drawdown of the first building filed on `day` and approved by its office.
    fn approved_drawdown(&self, id: &str, day: &str) {
        self.ok(&[
            "drawdown",
            "apply",
            "--id",
            id,
            "--estate",
            "E00001",
            "--building",
            &self.building,
            "--category",
            "elevator",
            "--estimate",
            "2000",
            "--contractor",
            "C1",
            "--applicant",
            "物业",
            "--green-channel",
            "--date",
            day,
        ]);
        let office = format!("street_office:{}", self.office);
        self.ok(&["drawdown", "approve", "--id", id, "--as", &office, "--reason", "ok", "--date", day]);
    }
}

async fn imported(engine: Engine) -> City {
    let db = TestDb::new(engine).await;
    let (keep, dir) = city(40, 11);
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let field = |file: &str, i: usize| {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        text.lines().nth(1).unwrap().split(',').nth(i).unwrap().trim_matches('"').to_owned()
    };
    let (building, office) = (field("buildings.csv", 0), field("estates.csv", 3));
    City { db, _keep: keep, dir, building, office }
}

fn disable(engine: Engine, table: &str, sqlite_triggers: &[&str]) -> String {
    match engine {
        Engine::Sqlite => sqlite_triggers.iter().map(|t| format!("DROP TRIGGER {t};")).collect(),
        Engine::Postgres => format!("ALTER TABLE {table} DISABLE TRIGGER USER;"),
    }
}

/// Each tampering of issue 11 item 7 with the application's own privileges: refused.
async fn workflow_and_registry_records_refuse_update_and_delete(engine: Engine) {
    let c = imported(engine).await;
    c.approved_drawdown("T1", "2026-06-01");
    c.ok(&["drawdown", "advance", "--id", "T1", "--amount", "1000", "--date", "2026-06-01"]);
    let unit = c.unit("0101");
    c.ok(&[
        "drawdown",
        "apply",
        "--id",
        "V1",
        "--estate",
        "E00001",
        "--building",
        &c.building,
        "--category",
        "exterior_painting",
        "--estimate",
        "2000",
        "--contractor",
        "C1",
        "--applicant",
        "物业",
        "--date",
        "2026-06-01",
    ]);
    c.ok(&["drawdown", "vote", "--id", "V1", "--unit", &unit, "--vote", "yes"]);
    // A changed vote is a new row; the latest counts.
    assert_eq!(c.ok(&["drawdown", "vote", "--id", "V1", "--unit", &unit, "--vote", "no"])["changed"], true);
    assert_eq!(c.ok(&["drawdown", "tally", "--id", "V1"])["yes_owners"], 0);
    let attempts = [
        ("DELETE FROM drawdown_payments".to_owned(), "append-only"),
        ("UPDATE drawdown_payments SET amount_fen = 1".to_owned(), "append-only"),
        ("UPDATE drawdown_events SET actor = 'somebody'".to_owned(), "append-only"),
        ("DELETE FROM drawdown_events".to_owned(), "append-only"),
        ("UPDATE drawdowns SET estimate_fen = 1".to_owned(), "append-only"),
        ("DELETE FROM records".to_owned(), "append-only"),
        ("UPDATE drawdown_votes SET vote = 'yes'".to_owned(), "append-only"),
        ("DELETE FROM drawdown_votes".to_owned(), "append-only"),
        ("UPDATE estates SET street_office = 'elsewhere'".to_owned(), "kept"),
        (format!("UPDATE units SET floor_area_centi_m2 = floor_area_centi_m2 - 100 WHERE unit_id = '{unit}'"), "kept"),
        (format!("UPDATE units SET owner = 'x' WHERE unit_id = '{unit}'"), "kept"),
        ("DELETE FROM buildings".to_owned(), "kept"),
    ];
    for (sql, refusal) in &attempts {
        let done = raw_sql(&c.db, sql).await;
        assert!(done.as_ref().is_err_and(|e| e.contains(refusal)), "{sql}: {done:?}");
    }
    if engine == Engine::Postgres {
        for table in ["drawdown_payments", "drawdown_events", "drawdown_votes", "records", "estates", "buildings"] {
            let emptied = raw_sql(&c.db, &format!("TRUNCATE {table} CASCADE")).await;
            assert!(emptied.is_err(), "{table} was emptied");
        }
    }
    assert_eq!(c.run(&["verify"]).status.code(), Some(0));
}

/// Deleting the advance's payment row made `settle` pay it again; now the row cannot be
/// deleted, and past the trigger `verify` names it.
async fn a_deleted_payment_is_named_by_verify_and_not_paid_again(engine: Engine) {
    let c = imported(engine).await;
    c.approved_drawdown("P1", "2026-06-01");
    c.ok(&["drawdown", "advance", "--id", "P1", "--amount", "1000", "--date", "2026-06-01"]);
    raw_sql(&c.db, &disable(engine, "drawdown_payments", &["drawdown_payments_no_delete"])).await.unwrap();
    assert_eq!(raw_sql(&c.db, "DELETE FROM drawdown_payments").await, Ok(1));
    let report = c.verify();
    assert_eq!(report["records"]["first_break"]["kind"], "drawdown_payment", "{report}");
    assert_eq!(report["records"]["first_break"]["key"], "P1/advance", "{report}");
    assert!(report["records"]["first_break"]["reason"].as_str().unwrap().contains("removed"), "{report}");
    assert_eq!(c.run(&["verify"]).status.code(), Some(1));
}

async fn a_rewritten_approver_is_named_by_verify(engine: Engine) {
    let c = imported(engine).await;
    c.approved_drawdown("A1", "2026-06-01");
    let sqlite = ["drawdown_events_no_update"];
    raw_sql(&c.db, &disable(engine, "drawdown_events", &sqlite)).await.unwrap();
    let changed =
        raw_sql(&c.db, "UPDATE drawdown_events SET actor = '冒名', office = '别的街道' WHERE action = 'approve'");
    assert_eq!(changed.await, Ok(1));
    let report = c.verify();
    let first = &report["records"]["first_break"];
    assert_eq!(first["kind"], "drawdown_event", "{report}");
    assert_eq!(first["key"], "A1/2", "{report}");
    assert!(first["reason"].as_str().unwrap().contains("content hash"), "{report}");
    // The entry chain itself is intact: the break is in the records.
    assert!(report["first_break"].is_null());
}

async fn a_transfer_changes_the_owner_from_its_date(engine: Engine) {
    let c = imported(engine).await;
    let unit = c.unit("0101");
    let before = c.balance(&unit);
    let args = ["estate", "transfer", "--unit", &unit, "--owner", "新业主甲", "--date", "2026-04-01", "--as", "王会计"];
    let done = c.ok(&args);
    assert_eq!(done["changed"], true, "{done}");
    assert_eq!(c.ok(&args)["changed"], false, "the same transfer again changes nothing");
    let text = stdout(&c.run(&args[..args.len()]));
    assert!(text.contains("过户无变化"), "{text}");
    assert_eq!(c.balance(&unit), before, "the balance stays with the unit");
    // A notice names the owner of its day.
    c.approved_drawdown("N1", "2026-03-01");
    let owner_on = |day: &str| {
        let view = c.ok(&["drawdown", "notice", "--id", "N1", "--date", day]);
        let units = view["units"].as_array().unwrap().clone();
        units.iter().find(|u| u["unit_id"] == unit.as_str()).unwrap()["owner"].as_str().unwrap().to_owned()
    };
    assert_ne!(owner_on("2026-03-31"), "新业主甲");
    assert_eq!(owner_on("2026-04-01"), "新业主甲");
    let early =
        c.refused(&["estate", "transfer", "--unit", &unit, "--owner", "乙", "--date", "2026-03-01", "--as", "王会计"]);
    assert!(early.contains("already changed from 2026-04-01"), "{early}");
    let report = c.verify();
    assert_eq!(report["records"]["first_break"], Value::Null, "{report}");
    assert!(report["records"]["records_checked"].as_u64().unwrap() >= 1);
}

/// A journal with one deposit into `unit`, dated `day`.
fn deposit_into(c: &City, unit: &str, day: &str) -> std::path::PathBuf {
    let journal = std::fs::read_to_string(c.dir.join("journal.csv")).unwrap();
    let bank = journal.lines().find_map(|l| l.split(',').find(|f| f.starts_with("bank:"))).unwrap().to_owned();
    let folder = c.db.folder().join(format!("late-{unit}"));
    std::fs::create_dir_all(&folder).unwrap();
    let text = format!(
        "entry_id,date,kind,account,debit,credit,memo\nLATE1,{day},deposit,{bank},10.00,,late\nLATE1,{day},deposit,unit:{unit},,10.00,late\n"
    );
    std::fs::write(folder.join("journal.csv"), text).unwrap();
    folder
}

async fn a_refund_pays_the_balance_out_and_closes_the_unit(engine: Engine) {
    let c = imported(engine).await;
    let unit = c.unit("0102");
    let before = c.balance(&unit);
    assert!(!before.starts_with('-') && before != "0.00", "{before}");
    let args = ["estate", "refund", "--unit", &unit, "--date", "2030-01-02", "--entry-id", "RF-1", "--as", "王会计"];
    let done = c.ok(&args);
    assert_eq!(done["entry_id"], "RF-1", "{done}");
    assert_eq!(done["amount"], before.as_str(), "{done}");
    assert_eq!(c.balance(&unit), "0.00");
    assert_eq!(c.ok(&args)["changed"], false, "the same refund again changes nothing");
    let other = c.refused(&[
        "estate",
        "refund",
        "--unit",
        &unit,
        "--date",
        "2030-01-02",
        "--entry-id",
        "RF-2",
        "--as",
        "王会计",
    ]);
    assert!(other.contains("closed on 2030-01-02"), "{other}");
    // A later posting to the closed unit is refused at its line, and nothing is written.
    let store = c.db.store().await;
    let kept = snapshot(&store).await;
    let late = deposit_into(&c, &unit, "2030-02-01");
    let refused = c.refused(&["import", "--dir", late.to_str().unwrap()]);
    assert!(refused.contains("journal.csv:3") && refused.contains("closed on 2030-01-02"), "{refused}");
    assert_eq!(snapshot(&store).await, kept);
    // Drawdowns of its building leave it out; a transfer of it is refused.
    let out = c.ok(&[
        "drawdown",
        "apply",
        "--id",
        "R1",
        "--estate",
        "E00001",
        "--building",
        &c.building,
        "--category",
        "elevator",
        "--estimate",
        "100",
        "--contractor",
        "C",
        "--applicant",
        "物业",
        "--green-channel",
        "--date",
        "2030-03-01",
    ]);
    let view = c.ok(&["drawdown", "show", "--id", "R1", "--date", "2030-03-01"]);
    assert!(view["units"].as_array().unwrap().iter().all(|u| u["unit_id"] != unit.as_str()), "{out}");
    let transfer =
        c.refused(&["estate", "transfer", "--unit", &unit, "--owner", "x", "--date", "2030-05-01", "--as", "王会计"]);
    assert!(transfer.contains("closed"), "{transfer}");
    // Re-importing the original journal is still a no-op (its entries are already posted).
    assert!(c.run(&["import", "--dir", c.dir.to_str().unwrap()]).status.success());
    assert_eq!(c.run(&["verify"]).status.code(), Some(0));
}

async fn a_move_hands_decisions_to_the_new_office_from_its_date(engine: Engine) {
    let c = imported(engine).await;
    let file = |id: &str| {
        c.ok(&[
            "drawdown",
            "apply",
            "--id",
            id,
            "--estate",
            "E00001",
            "--building",
            &c.building,
            "--category",
            "elevator",
            "--estimate",
            "2000",
            "--contractor",
            "C1",
            "--applicant",
            "物业",
            "--green-channel",
            "--date",
            "2026-06-01",
        ])
    };
    file("M1");
    file("M2");
    file("M3");
    let moved = c.ok(&[
        "estate",
        "move",
        "--estate",
        "E00001",
        "--street-office",
        "新街道",
        "--date",
        "2026-06-03",
        "--as",
        "王会计",
    ]);
    assert!(moved["message"].as_str().unwrap().contains("新街道"), "{moved}");
    let old = format!("street_office:{}", c.office);
    // Before the move's date the old office decides.
    c.ok(&["drawdown", "approve", "--id", "M1", "--as", &old, "--reason", "ok", "--date", "2026-06-02"]);
    // From it, the old office no longer may; the new one does.
    let refused =
        c.refused(&["drawdown", "approve", "--id", "M2", "--as", &old, "--reason", "ok", "--date", "2026-06-03"]);
    assert!(refused.contains("新街道"), "{refused}");
    c.ok(&[
        "drawdown",
        "approve",
        "--id",
        "M3",
        "--as",
        "street_office:新街道",
        "--reason",
        "ok",
        "--date",
        "2026-06-03",
    ]);
    let early =
        c.refused(&["drawdown", "approve", "--id", "M2", "--as", "street_office:新街道", "--date", "2026-06-02"]);
    assert!(early.contains(&c.office), "{early}");
    let company = c.ok(&[
        "estate",
        "move",
        "--estate",
        "E00001",
        "--company",
        "新物业",
        "--date",
        "2026-07-01",
        "--as",
        "admin:管理员",
    ]);
    assert_eq!(company["changed"], true);
    let out_of_order = c.refused(&[
        "estate",
        "move",
        "--estate",
        "E00001",
        "--company",
        "旧物业",
        "--date",
        "2026-06-15",
        "--as",
        "王会计",
    ]);
    assert!(out_of_order.contains("already changed from 2026-07-01"), "{out_of_order}");
    assert_eq!(c.run(&["verify"]).status.code(), Some(0));
}

/// Rewrites field `column` of the data row of `file` whose first field is `id`.
fn rewrite(dir: &std::path::Path, file: &str, id: &str, column: usize, value: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
            if fields[0].trim_matches('"') == id {
                fields[column] = value.to_owned();
            }
            fields.join(",")
        })
        .collect();
    let folder = dir.parent().unwrap().join(format!("changed-{file}-{column}"));
    std::fs::create_dir_all(&folder).unwrap();
    for name in ["estates.csv", "buildings.csv", "units.csv"] {
        std::fs::copy(dir.join(name), folder.join(name)).unwrap();
    }
    std::fs::write(folder.join(file), lines.join("\n") + "\n").unwrap();
    folder
}

async fn reimporting_a_changed_registry_fact_is_refused_naming_the_verb(engine: Engine) {
    let c = imported(engine).await;
    let unit = c.unit("0101");
    let store = c.db.store().await;
    let kept = snapshot(&store).await;
    let cases = [
        (rewrite(&c.dir, "units.csv", &unit, 4, "换了的业主"), "units.csv:", "mfund estate transfer"),
        (rewrite(&c.dir, "units.csv", &unit, 2, "1.00"), "floor_area", "needs an admin"),
        (rewrite(&c.dir, "estates.csv", "E00001", 3, "别的街道"), "estates.csv:2:4", "mfund estate move"),
        (rewrite(&c.dir, "estates.csv", "E00001", 4, "别的物业"), "estates.csv:2:5", "--company"),
    ];
    for (folder, place, verb) in &cases {
        let refused = c.refused(&["import", "--dir", folder.to_str().unwrap()]);
        assert!(refused.contains(place) && refused.contains(verb), "{place}: {refused}");
        assert!(refused.contains("nothing was written"), "{refused}");
        assert_eq!(snapshot(&store).await, kept);
    }
    // After the transfer, the file with the new owner and the original file are both accepted.
    c.ok(&["estate", "transfer", "--unit", &unit, "--owner", "换了的业主", "--date", "2026-04-01", "--as", "王会计"]);
    for folder in [&cases[0].0, &c.dir] {
        let out = c.run(&["import", "--dir", folder.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    c.ok(&[
        "estate",
        "move",
        "--estate",
        "E00001",
        "--street-office",
        "别的街道",
        "--date",
        "2026-04-01",
        "--as",
        "王会计",
    ]);
    assert!(c.run(&["import", "--dir", cases[2].0.to_str().unwrap()]).status.success());
}

async fn bad_registry_changes_are_refused_and_write_nothing(engine: Engine) {
    let c = imported(engine).await;
    let unit = c.unit("0101");
    let store = c.db.store().await;
    let kept = snapshot(&store).await;
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["estate", "transfer", "--unit", "NOPE", "--owner", "x", "--date", "2026-01-01", "--as", "王会计"],
            "not found: unit `NOPE`",
        ),
        (
            vec!["estate", "transfer", "--unit", &unit, "--owner", " ", "--date", "2026-01-01", "--as", "王会计"],
            "empty",
        ),
        (
            vec!["estate", "transfer", "--unit", &unit, "--owner", "x", "--date", "2026-13-01", "--as", "王会计"],
            "--date",
        ),
        (
            vec![
                "estate",
                "transfer",
                "--unit",
                &unit,
                "--owner",
                "x",
                "--date",
                "2026-01-01",
                "--as",
                "street_office:x",
            ],
            "--as",
        ),
        (vec!["estate", "transfer", "--unit", &unit, "--owner", "x", "--date", "2026-01-01"], "--as"),
        (
            vec!["estate", "refund", "--unit", &unit, "--date", "2030-01-01", "--entry-id", "bad id", "--as", "王会计"],
            "entry id",
        ),
        (
            vec![
                "estate",
                "refund",
                "--unit",
                &unit,
                "--date",
                "2030-01-01",
                "--entry-id",
                "J000000001",
                "--as",
                "王会计",
            ],
            "already posted",
        ),
        (
            vec!["estate", "refund", "--unit", &unit, "--date", "2000-01-01", "--entry-id", "RF9", "--as", "王会计"],
            "after the refund date",
        ),
        (vec!["estate", "move", "--estate", "E00001", "--date", "2026-01-01", "--as", "王会计"], "--street-office"),
        (
            vec!["estate", "move", "--estate", "NOPE", "--company", "x", "--date", "2026-01-01", "--as", "王会计"],
            "not found: estate `NOPE`",
        ),
        (
            vec!["estate", "move", "--estate", "E00001", "--company", "", "--date", "2026-01-01", "--as", "王会计"],
            "empty",
        ),
    ];
    for (args, says) in &cases {
        let refused = c.refused(args);
        assert!(refused.contains(says), "{args:?}: {refused}");
    }
    assert_eq!(snapshot(&store).await, kept);
    let report = c.verify();
    assert_eq!(report["records"]["records_checked"], 0, "nothing was recorded: {report}");
}

async fn the_api_records_registry_changes_for_clerks_only(engine: Engine) {
    use axum::http::StatusCode;
    use serde_json::json;
    let c = imported(engine).await;
    let store = c.db.store().await;
    for (name, role, scope) in
        [("clerk", "clerk", ""), ("office", "street_office", c.office.as_str()), ("auditor", "auditor", "")]
    {
        let user = ledger_store::User { name: name.into(), role: role.into(), scope: scope.into() };
        store.add_user(&user, &ledger_api::token_hash(&format!("token-{name}"))).await.unwrap();
    }
    let router = ledger_api::app(ledger_api::AppState::new(store.clone(), Default::default()));
    let unit = c.unit("0101");
    let transfer = format!("/units/{unit}/transfer");
    let body = json!({ "owner": "新业主", "effective_from": "2026-04-01", "reason": "合同 123" });
    for who in ["office", "auditor"] {
        let (status, answer) = http(&router, "POST", &transfer, Some(who), Some(body.clone()), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {answer}");
    }
    let (status, answer) = http(&router, "POST", &transfer, Some("clerk"), Some(body.clone()), Some("k1")).await;
    assert_eq!((status, &answer["changed"]), (StatusCode::OK, &json!(true)), "{answer}");
    let (_, again) = http(&router, "POST", &transfer, Some("clerk"), Some(body), Some("k1")).await;
    assert_eq!(again, answer, "the same key gives the first answer");
    let bad = [
        (transfer.clone(), json!({ "owner": "x", "effective_from": "2026-04-01", "ownerName": "y" }), "ownerName"),
        (transfer.clone(), json!({ "owner": " ", "effective_from": "2026-04-01" }), "owner"),
        (transfer.clone(), json!({ "owner": "x", "effective_from": "01/04/2026" }), "effective_from"),
        (format!("/units/{unit}/refund"), json!({ "entry_id": "bad id", "refunded_on": "2030-01-01" }), "entry_id"),
        ("/estates/E00001/move".to_owned(), json!({ "effective_from": "2026-04-01" }), "street_office"),
    ];
    for (path, body, names) in bad {
        let (status, answer) = http(&router, "POST", &path, Some("clerk"), Some(body), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains(names), "{answer}");
    }
    let moved = json!({ "street_office": "新街道", "effective_from": "2026-06-01" });
    let (status, answer) = http(&router, "POST", "/estates/E00001/move", Some("clerk"), Some(moved), None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let refund = json!({ "entry_id": "RF-API", "refunded_on": "2030-01-02" });
    let (status, answer) =
        http(&router, "POST", &format!("/units/{unit}/refund"), Some("clerk"), Some(refund), None).await;
    assert_eq!((status, &answer["entry_id"]), (StatusCode::OK, &json!("RF-API")), "{answer}");
    let (status, _) = http(
        &router,
        "POST",
        "/units/NOPE/transfer",
        Some("clerk"),
        Some(json!({ "owner": "x", "effective_from": "2026-04-01" })),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    use tower::ServiceExt;
    let request = axum::http::Request::builder().uri("/api/openapi.json").body(axum::body::Body::empty()).unwrap();
    let doc = router.clone().oneshot(request).await.unwrap();
    let doc = axum::body::to_bytes(doc.into_body(), 1 << 24).await.unwrap();
    let doc: Value = serde_json::from_slice(&doc).unwrap();
    for path in ["/api/v1/units/{id}/transfer", "/api/v1/units/{id}/refund", "/api/v1/estates/{id}/move"] {
        assert!(doc["paths"][path]["post"].is_object(), "{path} is in the OpenAPI document");
    }
    assert_eq!(c.run(&["verify"]).status.code(), Some(0));
}
