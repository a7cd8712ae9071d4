//! Drawdowns end to end through the real binary, on both engines.

use serde_json::Value;

use crate::on_both_engines;
use crate::support::{city, mfund, stderr, stdout, Engine, TestDb};

on_both_engines!(
    green_channel_repair_from_application_to_notice,
    normal_route_needs_the_vote_and_refuses_short_units,
    concurrent_payments_of_one_tranche_post_once,
    writes_committed_together_stay_apart,
    rejected_and_cancelled_drawdowns_post_nothing,
    a_unit_never_posted_to_gets_its_account_with_its_share
);

/// A small imported city; returns its folder, the first building and its street office.
async fn imported(engine: Engine, units: usize) -> (TestDb, tempfile::TempDir, String, String) {
    let db = TestDb::new(engine).await;
    let (keep, dir) = city(units, 31);
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let buildings = std::fs::read_to_string(dir.join("buildings.csv")).unwrap();
    let building = buildings.lines().nth(1).unwrap().split(',').next().unwrap().to_owned();
    let estates = std::fs::read_to_string(dir.join("estates.csv")).unwrap();
    let office = estates.lines().nth(1).unwrap().split(',').nth(3).unwrap().trim_matches('"').to_owned();
    (db, keep, building, office)
}

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}{}", stdout(out), stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn city_balance(db: &TestDb) -> i64 {
    let out = json(&mfund(&db.url, &["balance", "--json"]));
    ledger_core::Money::parse(out["balance"].as_str().unwrap()).unwrap().fen()
}

/// A unit registered after the deposits has no sub-ledger account yet: an emergency payment
/// opens one, charges its share and puts it on the top-up list.
async fn a_unit_never_posted_to_gets_its_account_with_its_share(engine: Engine) {
    let (db, keep, building, office) = imported(engine, 40).await;
    let units = keep.path().join("city").join("units.csv");
    let mut text = std::fs::read_to_string(&units).unwrap();
    text.push_str(&format!("{building}-9901,{building},100.00,residential,新业主\n"));
    std::fs::write(&units, text).unwrap();
    let out = mfund(&db.url, &["import", "--dir", units.parent().unwrap().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let new_unit = format!("{building}-9901");
    let first = format!("{building}-0101");
    let dd = |args: &[&str]| json(&mfund(&db.url, &[&["drawdown"], args, &["--json"]].concat()));
    let listed = format!("{first},{new_unit}");
    let scope = ["--estate", "E00001", "--units", &listed];
    let what = ["--category", "elevator", "--estimate", "1000", "--contractor", "C1", "--green-channel"];
    dd(&[&["apply", "--id", "NEW1", "--applicant", "clerk"][..], &scope, &what].concat());
    dd(&["approve", "--id", "NEW1", "--as", &format!("street_office:{office}"), "--reason", "ok"]);
    let advanced = dd(&["advance", "--id", "NEW1", "--amount", "500"]);
    let short: Vec<&str> =
        advanced["topup_required"].as_array().unwrap().iter().map(|s| s["unit_id"].as_str().unwrap()).collect();
    assert_eq!(short, [new_unit.as_str()], "{advanced}");
    let balance = json(&mfund(&db.url, &["balance", "--unit", &new_unit, "--json"]));
    assert!(balance["balance"].as_str().unwrap().starts_with('-'), "{balance}");
    let verified = mfund(&db.url, &["verify"]);
    assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));
}

async fn green_channel_repair_from_application_to_notice(engine: Engine) {
    let (db, _keep, building, office) = imported(engine, 120).await;
    let before = city_balance(&db);
    let dd = |args: &[&str]| mfund(&db.url, &[&["drawdown"], args].concat());
    let apply = [
        "apply",
        "--id",
        "FP1",
        "--estate",
        "E00001",
        "--building",
        &building,
        "--category",
        "fire_pipe_network",
        "--estimate",
        "20000",
        "--contractor",
        "C1",
        "--applicant",
        "物业",
        "--green-channel",
        "--date",
        "2026-11-20",
        "--json",
    ];
    assert_eq!(json(&dd(&apply))["changed"], true);
    assert_eq!(json(&dd(&apply))["changed"], false, "the same application twice changes nothing");
    // Only the estate's street office decides.
    let wrong = dd(&["approve", "--id", "FP1", "--as", "street_office:somebody-else"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(stderr(&wrong).contains("only the estate's street office"), "{}", stderr(&wrong));
    // Listed as overdue after two working days (Fri → Tue), not before.
    let listed = json(&dd(&["list", "--overdue", "--date", "2026-11-25", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(json(&dd(&["list", "--overdue", "--date", "2026-11-24", "--json"])).as_array().unwrap().len(), 0);
    let me = format!("street_office:{office}");
    assert_eq!(
        json(&dd(&["approve", "--id", "FP1", "--as", &me, "--reason", "现场核实", "--json"]))["state"],
        "approved"
    );
    assert_eq!(json(&dd(&["approve", "--id", "FP1", "--as", &me, "--json"]))["changed"], false);
    let too_much = dd(&["advance", "--id", "FP1", "--amount", "10000.01"]);
    assert_eq!(too_much.status.code(), Some(2));
    assert!(stderr(&too_much).contains("50 %"));
    let advance = json(&dd(&["advance", "--id", "FP1", "--amount", "10000", "--json"]));
    assert_eq!(advance["entry_id"], "DD-FP1-advance");
    let over = dd(&["complete", "--id", "FP1", "--final-cost", "23000"]);
    assert!(stderr(&over).contains("new approval"), "{}", stderr(&over));
    // The street office approves a revised estimate; then the higher final cost is accepted.
    let revised =
        json(&dd(&["revise", "--id", "FP1", "--estimate", "21000", "--as", &me, "--reason", "管网更换增加", "--json"]));
    assert_eq!(revised["changed"], true);
    json(&dd(&["complete", "--id", "FP1", "--final-cost", "23000", "--json"]));
    assert_eq!(json(&dd(&["settle", "--id", "FP1", "--json"]))["entry_id"], "DD-FP1-final");
    assert_eq!(before - city_balance(&db), 2_300_000, "the fund paid exactly the final cost");
    // The running totals the payments updated agree with the postings themselves.
    let dated = json(&mfund(&db.url, &["balance", "--as-of", "2099-12-31", "--json"]));
    assert_eq!(ledger_core::Money::parse(dated["balance"].as_str().unwrap()).unwrap().fen(), city_balance(&db));
    let notice_csv = db.folder().join("notice.csv");
    let notice = dd(&["notice", "--id", "FP1", "--csv", notice_csv.to_str().unwrap()]);
    assert!(stdout(&notice).contains("公示") && stdout(&notice).contains("23000.00"));
    let shares: i64 = std::fs::read_to_string(&notice_csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| ledger_core::Money::parse(l.rsplit(',').next().unwrap()).unwrap().fen())
        .sum();
    assert_eq!(shares, 2_300_000, "the notice's shares sum to the cost");
    let shown = json(&dd(&["show", "--id", "FP1", "--json"]));
    let actions: Vec<&str> =
        shown["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["apply", "approve", "advance", "revise", "complete", "settle"]);
    assert_eq!(shown["events"][1]["role"], "street_office");
    assert_eq!(mfund(&db.url, &["verify"]).status.code(), Some(0));
    let refused = dd(&[
        "apply",
        "--id",
        "P2",
        "--estate",
        "E00001",
        "--category",
        "exterior_painting",
        "--estimate",
        "100",
        "--contractor",
        "C1",
        "--applicant",
        "x",
        "--green-channel",
    ]);
    assert!(stderr(&refused).contains("not on the emergency list"));
}

async fn normal_route_needs_the_vote_and_refuses_short_units(engine: Engine) {
    let (db, keep, building, office) = imported(engine, 40).await;
    let dd = |args: &[&str]| mfund(&db.url, &[&["drawdown"], args].concat());
    let units: Vec<String> = std::fs::read_to_string(keep.path().join("city/units.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| l.contains(&format!(",{building},")))
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect();
    assert!(units.len() >= 3);
    let apply = [
        "apply",
        "--id",
        "N1",
        "--estate",
        "E00001",
        "--building",
        &building,
        "--category",
        "exterior_painting",
        "--estimate",
        "900000000",
        "--contractor",
        "C2",
        "--applicant",
        "业委会",
        "--json",
    ];
    json(&dd(&apply));
    let me = format!("street_office:{office}");
    let early = dd(&["approve", "--id", "N1", "--as", &me]);
    assert!(stderr(&early).contains("vote has not passed"), "{}", stderr(&early));
    for unit in &units {
        json(&dd(&["vote", "--id", "N1", "--unit", unit, "--vote", "yes", "--as", "录入员张", "--json"]));
    }
    assert_eq!(json(&dd(&["tally", "--id", "N1", "--json"]))["passed"], true);
    // Each vote is recorded with who entered it.
    let shown = json(&dd(&["show", "--id", "N1", "--json"]));
    let first = format!("vote {} yes", units[0]);
    let entered = shown["events"].as_array().unwrap().iter().find(|e| e["action"] == first.as_str()).unwrap();
    assert_eq!((entered["actor"].as_str(), entered["role"].as_str()), (Some("录入员张"), Some("clerk")), "{entered}");
    json(&dd(&["approve", "--id", "N1", "--as", &me, "--json"]));
    let before = city_balance(&db);
    // Half of a huge estimate overdraws every unit: the normal route refuses before posting.
    let short = dd(&["advance", "--id", "N1", "--amount", "450000000"]);
    assert_eq!(short.status.code(), Some(2));
    assert!(
        stderr(&short).contains("cannot cover their shares") && stderr(&short).contains(&units[0]),
        "{}",
        stderr(&short)
    );
    assert_eq!(city_balance(&db), before);
}

async fn concurrent_payments_of_one_tranche_post_once(engine: Engine) {
    let (db, _keep, building, office) = imported(engine, 60).await;
    let dd = |args: &[&str]| mfund(&db.url, &[&["drawdown"], args].concat());
    json(&dd(&[
        "apply",
        "--id",
        "C1",
        "--estate",
        "E00001",
        "--building",
        &building,
        "--category",
        "elevator",
        "--estimate",
        "5000",
        "--contractor",
        "C3",
        "--applicant",
        "x",
        "--green-channel",
        "--json",
    ]));
    json(&dd(&["approve", "--id", "C1", "--as", &format!("street_office:{office}"), "--json"]));
    let before = city_balance(&db);
    let url = db.url.clone();
    let racers: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                mfund(&url, &["drawdown", "advance", "--id", "C1", "--amount", "2500", "--json"])
            })
        })
        .collect();
    let outcomes: Vec<Value> = racers.into_iter().map(|r| json(&r.join().unwrap())).collect();
    assert_eq!(outcomes.iter().filter(|o| o["changed"] == true).count(), 1, "{outcomes:?}");
    assert_eq!(before - city_balance(&db), 250_000, "one advance posted, once");
    // Past the code's own check, the database itself refuses a second payment of the tranche.
    let second = crate::import::raw_sql(
        &db,
        "INSERT INTO drawdown_payments (drawdown_id, tranche, entry_id, amount_fen) VALUES ('C1', 'advance', 'J000000001', 1)",
    )
    .await;
    assert!(second.is_err(), "a second advance row was accepted");
}

async fn rejected_and_cancelled_drawdowns_post_nothing(engine: Engine) {
    let (db, _keep, building, office) = imported(engine, 40).await;
    let dd = |args: &[&str]| mfund(&db.url, &[&["drawdown"], args].concat());
    let before = city_balance(&db);
    for (id, verb) in [("R1", "reject"), ("X1", "cancel")] {
        json(&dd(&[
            "apply",
            "--id",
            id,
            "--estate",
            "E00001",
            "--building",
            &building,
            "--category",
            "roof_leak",
            "--estimate",
            "800",
            "--contractor",
            "C4",
            "--applicant",
            "x",
            "--green-channel",
            "--json",
        ]));
        let me = format!("street_office:{office}");
        let args: Vec<&str> = if verb == "reject" {
            vec!["reject", "--id", id, "--as", &me, "--reason", "不属于紧急情况", "--json"]
        } else {
            vec!["cancel", "--id", id, "--reason", "重复申请", "--json"]
        };
        json(&dd(&args));
        let after = dd(&["advance", "--id", id, "--amount", "100"]);
        assert_eq!(after.status.code(), Some(2), "{verb}: no payment after");
        assert!(stderr(&after).contains("cannot advance"));
    }
    assert_eq!(city_balance(&db), before);
}

/// Writes arriving together are committed in one batch (group commit): a refused write in the
/// batch must change nothing, and the others must all land as if each had been alone.
async fn writes_committed_together_stay_apart(engine: Engine) {
    use ledger_core::actor::{Actor, Role, Scope, StreetOfficeId};
    use ledger_core::drawdown::{Act, Application, ScopeRequest};
    use ledger_core::drawdown::{Category, Route};
    use ledger_core::{Date, Money};
    use ledger_store::StoreError;

    let (db, _keep, building, office) = imported(engine, 60).await;
    let store = db.store().await;
    let day = Date::parse("2026-11-20").unwrap();
    let clerk = Act { actor: Actor::city("clerk", Role::Clerk).unwrap(), at: day, reason: String::new() };
    let office = Act {
        actor: Actor::new("主任", Role::StreetOffice, Scope::StreetOffice(StreetOfficeId::new(&office))).unwrap(),
        ..clerk.clone()
    };
    let application = |id: &str, estate: &str, estimate: &str| Application {
        drawdown_id: id.to_owned(),
        estate_id: estate.to_owned(),
        scope: ScopeRequest::Building(building.clone()),
        category: Category::parse("elevator").unwrap(),
        route: Route::GreenChannel,
        estimate: Money::parse(estimate).unwrap(),
        contractor: "C1".to_owned(),
        description: String::new(),
        applicant: "x".to_owned(),
        submitted_on: day,
    };
    store.apply_drawdown(&application("PAID", "E00001", "1000"), &clerk).await.unwrap();
    store.decide_drawdown("PAID", true, &office).await.unwrap();
    store.apply_drawdown(&application("OVER", "E00001", "1000"), &clerk).await.unwrap();
    store.decide_drawdown("OVER", true, &office).await.unwrap();
    let before = store.balance(&ledger_store::BalanceScope::City, None).await.unwrap().unwrap().balance;
    // The database itself refuses the event of a `BOOM` application, after its drawdown and
    // beneficiary rows were written: the batch must be undone and written again without it.
    let boom = match engine {
        Engine::Sqlite => {
            "CREATE TRIGGER boom BEFORE INSERT ON drawdown_events WHEN NEW.drawdown_id LIKE 'BOOM%' \
                           BEGIN SELECT RAISE(ABORT, 'boom'); END;"
        }
        Engine::Postgres => {
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                             IF NEW.drawdown_id LIKE 'BOOM%' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$; \
                             CREATE TRIGGER boom BEFORE INSERT ON drawdown_events FOR EACH ROW EXECUTE FUNCTION boom();"
        }
    };
    crate::import::raw_sql(&db, boom).await.unwrap();

    // 40 writes at once: good applications, applications for an estate that does not exist,
    // the paid drawdown filed again with other content, applications the database refuses
    // half-way, advances of another drawdown over half its estimate, and identical good advances.
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..40 {
        let (store, clerk) = (store.clone(), clerk.clone());
        let app = match i % 4 {
            0 => Some(application(&format!("GOOD{i}"), "E00001", "300")),
            1 => Some(application(&format!("NOWHERE{i}"), "E99999", "300")),
            2 if i % 8 == 2 => Some(application("PAID", "E00001", "999")),
            2 => Some(application(&format!("BOOM{i}"), "E00001", "300")),
            _ => None,
        };
        racers.spawn(async move {
            let result = match &app {
                Some(app) => store.apply_drawdown(app, &clerk).await,
                None if i % 8 == 3 => store.advance_drawdown("OVER", Money::parse("500.01").unwrap(), &clerk).await,
                None => store.advance_drawdown("PAID", Money::parse("400").unwrap(), &clerk).await,
            };
            (i, result)
        });
    }
    let mut advanced = 0;
    while let Some(joined) = racers.join_next().await {
        let (i, result) = joined.unwrap();
        match i % 4 {
            0 => assert!(result.unwrap().changed, "good application {i} was not filed"),
            1 => assert!(matches!(result, Err(StoreError::NotFound(_))), "{i}: {result:?}"),
            2 if i % 8 == 2 => assert!(matches!(result, Err(StoreError::Conflict(_))), "{i}: {result:?}"),
            2 => assert!(matches!(result, Err(StoreError::Database(_))), "{i}: {result:?}"),
            _ if i % 8 == 3 => assert!(matches!(result, Err(StoreError::Drawdown(_))), "{i}: {result:?}"),
            _ => advanced += usize::from(result.unwrap().changed),
        }
    }
    assert_eq!(advanced, 1, "one of the identical advances pays, the rest find it done");
    let holidays = Default::default();
    for i in (0..40).step_by(4) {
        assert_eq!(store.drawdown(&format!("GOOD{i}"), day, &holidays).await.unwrap().state, "submitted");
    }
    for id in (1..40).step_by(4).map(|i| format!("NOWHERE{i}")).chain((6..40).step_by(8).map(|i| format!("BOOM{i}"))) {
        assert!(store.drawdown(&id, day, &holidays).await.is_err(), "the refused {id} left its row");
    }
    // Beneficiary rows refuse deletion: any left by a refused application would fail this.
    let left = crate::import::raw_sql(&db, "DELETE FROM drawdown_units WHERE drawdown_id LIKE 'BOOM%'").await;
    assert_eq!(left, Ok(0), "a refused application left beneficiary rows");
    let paid = store.drawdown("PAID", day, &holidays).await.unwrap();
    assert_eq!((paid.estimate, paid.paid), (Money::parse("1000").unwrap(), Money::parse("400").unwrap()));
    let over = store.drawdown("OVER", day, &holidays).await.unwrap();
    assert_eq!((over.state.as_str(), over.paid), ("approved", Money::ZERO));
    let after = store.balance(&ledger_store::BalanceScope::City, None).await.unwrap().unwrap().balance;
    assert_eq!(before.fen() - after.fen(), 40_000, "the advance posted once");
    let verified = store.verify(&|_, _| {}).await.unwrap();
    assert!(verified.is_intact(), "{verified:?}");
}
