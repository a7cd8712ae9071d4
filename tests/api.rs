//! The HTTP API through `app()` without a socket, on both engines: roles and scopes, every
//! error code, bad and oversized bodies, idempotency keys and concurrent requests.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use ledger_api::{app, token_hash, AppState};
use ledger_store::User;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::on_both_engines;
use crate::support::{city, http as call, mfund, stderr, Engine, TestDb};

on_both_engines!(
    roles_scopes_and_error_codes,
    concurrent_approvals_and_payments_change_once,
    the_record_says_who_acted_and_on_which_day,
    an_admin_lists_users_and_revokes_a_leaked_token,
    answers_outlive_the_server_and_revoked_tokens_fail
);

struct Api {
    router: Router,
    db: TestDb,
    _city: tempfile::TempDir,
    building: String,
    office: String,
    company: String,
}

async fn api(engine: Engine) -> Api {
    let db = TestDb::new(engine).await;
    let (keep, dir) = city(80, 17);
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let field = |file: &str, index: usize| {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        text.lines().nth(1).unwrap().split(',').nth(index).unwrap().trim_matches('"').to_owned()
    };
    let (building, office, company) = (field("buildings.csv", 0), field("estates.csv", 3), field("estates.csv", 4));
    let store = db.store().await;
    for (name, role, scope) in [
        ("clerk", "clerk", ""),
        ("auditor", "auditor", ""),
        ("office", "street_office", office.as_str()),
        ("other-office", "street_office", "某某街道办事处"),
        ("company", "property_company", company.as_str()),
        ("other-company", "property_company", "别家物业"),
        ("root", "admin", ""),
    ] {
        store
            .add_user(
                &User { name: name.into(), role: role.into(), scope: scope.into() },
                &token_hash(&format!("token-{name}")),
            )
            .await
            .unwrap();
    }
    Api { router: app(AppState::new(store, Default::default())), db, _city: keep, building, office, company }
}

/// The names of the revoked users in a user listing (the API's or `mfund user list --json`).
fn revoked_names(listed: &Value) -> Vec<&str> {
    listed.as_array().unwrap().iter().filter(|u| u["revoked"] == true).map(|u| u["name"].as_str().unwrap()).collect()
}

fn green(id: &str, building: &str) -> Value {
    json!({ "drawdown_id": id, "estate_id": "E00001", "building_id": building, "category": "fire_water_system",
            "estimate": "6000", "contractor": "C9", "description": "消防水泵故障", "green_channel": true })
}

async fn roles_scopes_and_error_codes(engine: Engine) {
    let a = api(engine).await;
    let r = &a.router;
    assert_eq!(call(r, "GET", "/health", None, None, None).await.0, StatusCode::OK);
    let (status, body) = call(r, "GET", "/balances/city", None, None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    assert_eq!(call(r, "GET", "/balances/city", Some("nobody"), None, None).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = call(r, "GET", "/balances/city", Some("auditor"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["units"], 80);
    assert_eq!(call(r, "GET", "/balances/units/NOPE", Some("auditor"), None, None).await.0, StatusCode::NOT_FOUND);

    // Applying: clerks and the estate's own property company; auditors never write.
    assert_eq!(
        call(r, "POST", "/drawdowns", Some("auditor"), Some(green("G1", &a.building)), None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(r, "POST", "/drawdowns", Some("other-company"), Some(green("G1", &a.building)), None).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = call(r, "POST", "/drawdowns", Some("company"), Some(green("G1", &a.building)), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call(r, "POST", "/drawdowns", Some("clerk"), Some(green("G1", &a.building)), None).await;
    assert_eq!((status, body["changed"].clone()), (StatusCode::OK, json!(false)));
    assert!(!a.company.is_empty());

    // Another street office may not decide, and nothing changes.
    let (status, body) =
        call(r, "POST", "/drawdowns/G1/approve", Some("other-office"), Some(json!({"reason": "x"})), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    assert_eq!(call(r, "GET", "/drawdowns/G1", Some("auditor"), None, None).await.1["state"], "submitted");
    assert_eq!(
        call(r, "POST", "/drawdowns/G1/approve", Some("clerk"), Some(json!({})), None).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) =
        call(r, "POST", "/drawdowns/G1/approve", Some("office"), Some(json!({"reason": "同意"})), None).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("approved")));
    assert_eq!(call(r, "GET", "/drawdowns/G1", Some("office"), None, None).await.1["street_office"], json!(a.office));

    // Error codes: 404, 409, 422 naming the field, 400 for bad JSON, 413 for an oversized body.
    assert_eq!(
        call(r, "POST", "/drawdowns/NOPE/approve", Some("office"), Some(json!({})), None).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = call(r, "POST", "/drawdowns/G1/settle", Some("clerk"), Some(json!({})), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("invalid_transition")));
    let (status, body) =
        call(r, "POST", "/drawdowns/G1/advance", Some("clerk"), Some(json!({"amount": "1.234"})), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["message"].as_str().unwrap().contains("`amount`"), "{body}");
    let (status, body) =
        call(r, "POST", "/drawdowns/G1/advance", Some("clerk"), Some(json!({"amount": "3000.01"})), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("rule_violation")));
    let (status, body) = call(r, "POST", "/drawdowns", Some("clerk"), Some(json!({"drawdown_id": "X"})), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["message"].as_str().unwrap().contains("missing field"), "{body}");
    let bad = Request::builder()
        .method("POST")
        .uri("/api/v1/drawdowns")
        .header("authorization", "Bearer token-clerk")
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    assert_eq!(r.clone().oneshot(bad).await.unwrap().status(), StatusCode::BAD_REQUEST);
    let huge = json!({ "reason": "x".repeat(ledger_api::MAX_JSON_BYTES + 1) });
    let (status, body) = call(r, "POST", "/drawdowns/G1/approve", Some("office"), Some(huge), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large")));
    assert_eq!(
        call(r, "POST", "/drawdowns/G1/advance", Some("auditor"), Some(json!({"amount": "1"})), None).await.0,
        StatusCode::FORBIDDEN
    );

    // The same Idempotency-Key returns the first answer; one posting only.
    let first =
        call(r, "POST", "/drawdowns/G1/advance", Some("clerk"), Some(json!({"amount": "3000"})), Some("k-1")).await;
    let again =
        call(r, "POST", "/drawdowns/G1/advance", Some("clerk"), Some(json!({"amount": "3000"})), Some("k-1")).await;
    assert_eq!(first, again);
    assert_eq!(first.1["changed"], true);
    let shown = call(r, "GET", "/drawdowns/G1", Some("auditor"), None, None).await.1;
    assert_eq!(shown["paid"], "3000.00");
    let notice = call(r, "GET", "/drawdowns/G1/notice", Some("auditor"), None, None).await.1;
    let shares: i64 = notice["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| ledger_core::Money::parse(s["share"].as_str().unwrap()).unwrap().fen())
        .sum();
    assert_eq!(shares, 300_000);
    // A street office's queue holds only its own estates.
    let queue = call(r, "GET", "/drawdowns", Some("other-office"), None, None).await.1;
    assert_eq!(queue.as_array().unwrap().len(), 0);
    // The OpenAPI document lists the endpoints the router serves.
    let doc =
        r.clone().oneshot(Request::builder().uri("/api/openapi.json").body(Body::empty()).unwrap()).await.unwrap();
    let doc: Value = serde_json::from_slice(&axum::body::to_bytes(doc.into_body(), 1 << 22).await.unwrap()).unwrap();
    for path in [
        "/api/v1/health",
        "/api/v1/balances/city",
        "/api/v1/drawdowns",
        "/api/v1/drawdowns/{id}/{action}",
        "/api/v1/journal",
        "/api/v1/users",
        "/api/v1/users/{name}/revoke",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing from {}", doc["paths"]);
    }
    // The page is served.
    let page = r.clone().oneshot(Request::builder().uri("/").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}

/// Only an admin may record a request on an earlier day (a backfill), never a day to come nor
/// before the filing; only the estate's street office decides, recorded under its name; a
/// rejection without a reason changes nothing.
async fn the_record_says_who_acted_and_on_which_day(engine: Engine) {
    let a = api(engine).await;
    let r = &a.router;
    let mut backdated = green("G3", &a.building);
    backdated["submitted_on"] = json!("2020-01-02");
    let (status, body) = call(r, "POST", "/drawdowns", Some("clerk"), Some(backdated.clone()), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("`submitted_on`"), "{body}");
    assert_eq!(call(r, "GET", "/drawdowns/G3", Some("auditor"), None, None).await.0, StatusCode::NOT_FOUND);
    let mut future = green("G4", &a.building);
    future["submitted_on"] = json!("2999-01-01");
    let (status, body) = call(r, "POST", "/drawdowns", Some("root"), Some(future), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    let (status, body) = call(r, "POST", "/drawdowns", Some("root"), Some(backdated), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The street office may not backdate; nobody but the street office decides, admin included.
    let dated = json!({"reason": "同意", "date": "2020-01-03"});
    let (status, body) = call(r, "POST", "/drawdowns/G3/approve", Some("office"), Some(dated.clone()), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("`date`"), "{body}");
    let (status, body) = call(r, "POST", "/drawdowns/G3/approve", Some("root"), Some(dated), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("street office"), "{body}");
    let (status, body) =
        call(r, "POST", "/drawdowns/G3/reject", Some("office"), Some(json!({"reason": "  "})), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("rule_violation")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("reason"), "{body}");
    assert_eq!(call(r, "GET", "/drawdowns/G3", Some("auditor"), None, None).await.1["state"], "submitted");
    let (status, body) =
        call(r, "POST", "/drawdowns/G3/approve", Some("office"), Some(json!({"reason": "同意"})), None).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("approved")), "{body}");

    // A clerk may not backdate a payment; an admin's backfill may not precede the filing.
    let early = json!({"amount": "100", "date": "2020-01-03"});
    let (status, body) = call(r, "POST", "/drawdowns/G3/advance", Some("clerk"), Some(early), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    let before = json!({"amount": "100", "date": "2020-01-01"});
    let (status, body) = call(r, "POST", "/drawdowns/G3/advance", Some("root"), Some(before), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("rule_violation")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("before the drawdown was filed"), "{body}");

    let shown = call(r, "GET", "/drawdowns/G3", Some("auditor"), None, None).await.1;
    assert_eq!((shown["submitted_on"].as_str(), shown["paid"].as_str()), (Some("2020-01-02"), Some("0.00")));
    let events = shown["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{shown}");
    let approved = &events[1];
    // The person who approved, and the office they approved for: not the office in the person's place.
    assert_eq!(
        (approved["action"].as_str(), approved["actor"].as_str(), approved["role"].as_str()),
        (Some("approve"), Some("office"), Some("street_office")),
        "{approved}"
    );
    assert_eq!(approved["office"].as_str(), Some(a.office.as_str()), "{approved}");
    assert_eq!(approved["at"].as_str(), Some(ledger_store::today().to_string().as_str()));
}

/// Users are listed and revoked by admins only; a revoked token stops working at once on the
/// server that revoked it, though its user is cached there.
async fn an_admin_lists_users_and_revokes_a_leaked_token(engine: Engine) {
    let a = api(engine).await;
    let r = &a.router;
    assert_eq!(call(r, "GET", "/users", Some("clerk"), None, None).await.0, StatusCode::FORBIDDEN);
    let (status, body) = call(r, "POST", "/users/office/revoke", Some("office"), None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    // The office's user is now cached on this server.
    assert_eq!(call(r, "GET", "/drawdowns", Some("office"), None, None).await.0, StatusCode::OK);

    let (status, body) = call(r, "POST", "/users/office/revoke", Some("root"), None, None).await;
    assert_eq!((status, body["revoked"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    let (status, body) = call(r, "GET", "/drawdowns", Some("office"), None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")), "{body}");
    let (status, body) = call(r, "POST", "/users/nobody/revoke", Some("root"), None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{body}");

    let (status, listed) = call(r, "GET", "/users", Some("root"), None, None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let revoked = revoked_names(&listed);
    assert_eq!(revoked, ["office"]);
    let office = listed.as_array().unwrap().iter().find(|u| u["name"] == "office").unwrap();
    assert_eq!((office["role"].as_str(), office["scope"].as_str()), (Some("street_office"), Some(a.office.as_str())));
    assert!(!listed.to_string().contains("token"), "a listing never shows tokens");
}

async fn concurrent_approvals_and_payments_change_once(engine: Engine) {
    let a = api(engine).await;
    let r = &a.router;
    assert_eq!(
        call(r, "POST", "/drawdowns", Some("clerk"), Some(green("G2", &a.building)), None).await.0,
        StatusCode::CREATED
    );
    let before = call(r, "GET", "/balances/city", Some("auditor"), None, None).await.1["balance"].clone();
    let race = |path: &'static str, body: Value, user: &'static str| {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let (router, body) = (r.clone(), body.clone());
                tokio::spawn(async move { call(&router, "POST", path, Some(user), Some(body), None).await })
            })
            .collect();
        async move {
            let mut outcomes = Vec::new();
            for h in handles {
                outcomes.push(h.await.unwrap());
            }
            outcomes
        }
    };
    let approvals = race("/drawdowns/G2/approve", json!({"reason": "同意"}), "office").await;
    assert!(approvals.iter().all(|(s, _)| *s == StatusCode::OK), "{approvals:?}");
    assert_eq!(approvals.iter().filter(|(_, b)| b["changed"] == true).count(), 1);
    let payments = race("/drawdowns/G2/advance", json!({"amount": "3000"}), "clerk").await;
    assert!(payments.iter().all(|(s, _)| *s == StatusCode::OK || *s == StatusCode::CONFLICT), "{payments:?}");
    assert_eq!(payments.iter().filter(|(_, b)| b["changed"] == true).count(), 1);
    let after = call(r, "GET", "/balances/city", Some("auditor"), None, None).await.1["balance"].clone();
    let fen = |v: &Value| ledger_core::Money::parse(v.as_str().unwrap()).unwrap().fen();
    assert_eq!(fen(&before) - fen(&after), 300_000, "one advance of 3000.00 posted");
    let events =
        call(r, "GET", "/drawdowns/G2", Some("auditor"), None, None).await.1["events"].as_array().unwrap().len();
    assert_eq!(events, 3, "apply, approve, advance: one transition each");
}

/// Idempotency answers live in the database: another server (or this one restarted) gives the
/// first answer again. A revoked token stops signing in.
async fn answers_outlive_the_server_and_revoked_tokens_fail(engine: Engine) {
    let a = api(engine).await;
    let first =
        call(&a.router, "POST", "/drawdowns", Some("clerk"), Some(green("K1", &a.building)), Some("k-apply")).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    // Paying before approval is refused.
    let early = Some(json!({"amount": "100"}));
    let refused = call(&a.router, "POST", "/drawdowns/K1/advance", Some("clerk"), early.clone(), Some("k-early")).await;
    assert_eq!(refused.0, StatusCode::CONFLICT, "{}", refused.1);

    // A second server on the same database, trusting no cached user.
    let second = app(AppState::new(a.db.store().await, Default::default()).with_user_ttl(std::time::Duration::ZERO));
    // A retry of the same request gets the first answer (`changed: true`, 201), not a second
    // run's "already filed" (200).
    let retried =
        call(&second, "POST", "/drawdowns", Some("clerk"), Some(green("K1", &a.building)), Some("k-apply")).await;
    assert_eq!(retried, first);
    // A refusal is kept as the key's answer too, even once the request would now succeed.
    let approved = call(&second, "POST", "/drawdowns/K1/approve", Some("office"), Some(json!({})), None).await;
    assert_eq!(approved.0, StatusCode::OK, "{}", approved.1);
    assert_eq!(call(&second, "POST", "/drawdowns/K1/advance", Some("clerk"), early, Some("k-early")).await, refused);
    // The same key for another request is refused rather than answered with the first one.
    let (status, body) =
        call(&second, "POST", "/drawdowns/K1/advance", Some("clerk"), Some(json!({"amount": "50"})), Some("k-apply"))
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("first used for another request"), "{body}");
    let long = "k".repeat(256);
    let (status, body) =
        call(&second, "POST", "/drawdowns", Some("clerk"), Some(green("K4", &a.building)), Some(&long)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")));
    // An id is a SPEC id with room for its payment entries: never markup for the page.
    let (status, body) = call(
        &second,
        "POST",
        "/drawdowns",
        Some("clerk"),
        Some(green("<img src=x onerror=alert(1)>", &a.building)),
        None,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("rule_violation")), "{body}");
    // An empty building id is no building, not the whole estate.
    let (status, body) = call(&second, "POST", "/drawdowns", Some("clerk"), Some(green("K5", "")), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{body}");
    // Past the retention an answer is forgotten and its key is new again.
    let aged =
        crate::import::raw_sql(&a.db, "UPDATE idempotency_answers SET kept_at = kept_at - 86401 WHERE key = 'k-early'")
            .await
            .unwrap();
    assert_eq!(aged, 1);
    let third = app(AppState::new(a.db.store().await, Default::default()));
    let (status, body) =
        call(&third, "POST", "/drawdowns/K1/advance", Some("clerk"), Some(json!({"amount": "100"})), Some("k-early"))
            .await;
    assert_eq!((status, body["changed"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    crate::import::raw_sql(&a.db, "UPDATE idempotency_answers SET kept_at = kept_at - 86401 WHERE key = 'k-apply'")
        .await
        .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert_eq!(a.db.store().await.forget_idempotent_answers(now - 86400).await.unwrap(), 1, "k-apply forgotten");
    // Keys are per user: another user's same key is a new request.
    let company =
        call(&second, "POST", "/drawdowns", Some("company"), Some(green("K3", &a.building)), Some("k-apply")).await;
    assert_eq!(company.0, StatusCode::CREATED, "{}", company.1);

    assert_eq!(call(&second, "GET", "/balances/city", Some("clerk"), None, None).await.0, StatusCode::OK);
    let out = mfund(&a.db.url, &["user", "revoke", "--name", "clerk"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (status, body) = call(&second, "GET", "/balances/city", Some("clerk"), None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    assert_eq!(call(&second, "GET", "/balances/city", Some("auditor"), None, None).await.0, StatusCode::OK);
    let listed = mfund(&a.db.url, &["user", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let revoked = revoked_names(&listed);
    assert_eq!(revoked, ["clerk"]);
    assert!(!listed.to_string().contains("token"), "a listing never shows tokens");
    let unknown = mfund(&a.db.url, &["user", "revoke", "--name", "nobody"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("user `nobody`"), "{}", stderr(&unknown));
    // A street office without the office it acts for is refused, and no token is printed.
    let unscoped = mfund(&a.db.url, &["user", "add", "--name", "loose", "--role", "street_office"]);
    assert_eq!(unscoped.status.code(), Some(2));
    assert!(stderr(&unscoped).contains("give its scope"), "{}", stderr(&unscoped));
    assert!(unscoped.stdout.is_empty(), "a refused user got a token");
    let listed = mfund(&a.db.url, &["user", "list", "--json"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("loose"));
}
