//! kill -9 at random points, on both engines: during an import, and during a batch of drawdown
//! writes served over HTTP. Afterwards `mfund verify` passes and the ledger is the state before
//! or the state after each write, never one between; nothing a caller was told is lost.
//!
//! Kill points are spread over a measured run (its duration × (k + u)/N, u from a fixed seed),
//! and each test counts the points that landed while the work was still going, asserting that
//! at least half did, so that the test cannot pass by killing idle processes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger_store::{BalanceScope, ListFilter, Store, User};
use serde_json::{json, Value};

use crate::on_both_engines;
use crate::support::{city, mfund, snapshot, stderr, stdout, Engine, Snapshot, TestDb};

on_both_engines!(killed_imports_land_whole_or_not_at_all, killed_servers_keep_every_payment_with_its_transition);

/// Kill points per engine and scenario.
const KILL_POINTS: u64 = 20;

/// A small deterministic generator (splitmix64): the kill points are the same on every run.
struct Seeded(u64);

impl Seeded {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }

    /// The k-th of n delays spread over `run`: somewhere in its k-th n-th.
    fn delay(&mut self, run: Duration, k: u64, n: u64) -> Duration {
        run.mul_f64((k as f64 + self.unit()) / n as f64)
    }
}

fn spawn_mfund(db: &str, args: &[&str], log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mfund"))
        .args(args)
        .env("MFUND_DB", db)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("a log file"))
        .spawn()
        .expect("start mfund")
}

/// Sends SIGKILL after `delay`; whether the process was still running when it was killed.
fn kill_after(child: &mut Child, delay: Duration) -> bool {
    std::thread::sleep(delay);
    let running = child.try_wait().expect("the child's status").is_none();
    child.kill().ok(); // SIGKILL on Unix; fails only when it already exited
    child.wait().expect("reap the child");
    running
}

fn verify_passes(db: &TestDb, after: &str) {
    let out = mfund(&db.url, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "verify after {after}: {}{}", stdout(&out), stderr(&out));
}

/// The snapshot (verify, entries, head, city balance), after checking that the running totals
/// the balance reads agree with the postings themselves.
async fn observed(store: &Store) -> Snapshot {
    let now = store.balance(&BalanceScope::City, None).await.expect("balance");
    let far = ledger_core::Date::from_ymd(2099, 12, 31).expect("a date");
    let summed = store.balance(&BalanceScope::City, Some(far)).await.expect("balance as of a day");
    assert_eq!(now.map(|b| b.balance), summed.map(|b| b.balance), "running totals agree with the postings");
    snapshot(store).await
}

/// The generated city's folder with its journal cut to the entries that begin in the first half
/// of its rows (at an entry boundary, so the part is a valid journal of its own).
fn first_part(full: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    for file in ["estates.csv", "buildings.csv", "units.csv"] {
        std::fs::copy(full.join(file), into.join(file)).unwrap();
    }
    let journal = std::fs::read_to_string(full.join("journal.csv")).unwrap();
    let lines: Vec<&str> = journal.lines().collect();
    let id = |line: &str| line.split(',').next().unwrap_or("").to_owned();
    let mut cut = lines.len() / 2;
    while cut < lines.len() && id(lines[cut]) == id(lines[cut - 1]) {
        cut += 1;
    }
    std::fs::write(into.join("journal.csv"), lines[..cut].join("\n") + "\n").unwrap();
}

/// An import of the second half of a city's journal, killed at 20 points spread over its run,
/// each on a fresh copy of the first half: every time, the ledger verifies and is the first
/// half or the whole, and an import run again afterwards completes it.
async fn killed_imports_land_whole_or_not_at_all(engine: Engine) {
    let (_keep, full) = city(400, 2026);
    let part = full.parent().unwrap().join("part");
    first_part(&full, &part);
    let base = TestDb::new(engine).await;
    let out = mfund(&base.url, &["import", "--dir", part.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = {
        let store = base.store().await;
        let s = observed(&store).await;
        store.close().await;
        s
    };

    // One import run whole: the state after, and how long a run takes.
    let reference = base.copy().await;
    let started = Instant::now();
    let out = mfund(&reference.url, &["import", "--dir", full.to_str().unwrap(), "--migration", "--as", "管理员"]);
    let run = started.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    let after = {
        let store = reference.store().await;
        let s = observed(&store).await;
        store.close().await;
        s
    };
    assert!(after.entries > before.entries && after.city != before.city, "the second half posts: {before:?} {after:?}");
    drop(reference);

    let mut rng = Seeded(0x1111 + engine as u64);
    let (mut landed, mut whole, mut redone) = (0, 0, 0);
    for k in 0..KILL_POINTS {
        let db = base.copy().await;
        let delay = rng.delay(run, k, KILL_POINTS);
        let log = db.folder().join("import.log");
        let mut import =
            spawn_mfund(&db.url, &["import", "--dir", full.to_str().unwrap(), "--migration", "--as", "管理员"], &log);
        let was_running = kill_after(&mut import, delay);
        landed += u64::from(was_running);
        let what = format!("kill point {k} ({delay:?} of {run:?}, running: {was_running})");
        verify_passes(&db, &what);
        let store = db.store().await;
        let seen = observed(&store).await;
        store.close().await;
        assert!(seen == before || seen == after, "{what}: neither before nor after: {seen:?}");
        whole += u64::from(seen == after);
        if seen == before && k % 4 == 0 {
            // The interrupted import leaves nothing in the way of doing it again.
            let out = mfund(&db.url, &["import", "--dir", full.to_str().unwrap(), "--migration", "--as", "管理员"]);
            assert!(out.status.success(), "{what}, then again: {}", stderr(&out));
            let store = db.store().await;
            assert_eq!(observed(&store).await, after, "{what}: imported again");
            store.close().await;
            redone += 1;
        }
    }
    eprintln!(
        "crash import {engine:?}: {KILL_POINTS} kill points over a {run:?} run, {landed} mid-import, \
         {whole} found the import whole, {} found nothing of it, {redone} imported again; nothing between",
        KILL_POINTS - whole
    );
    assert!(landed * 2 >= KILL_POINTS, "only {landed} of {KILL_POINTS} kill points landed while the import ran");
}

// ----- Drawdown writes over HTTP -------------------------------------------------------------

/// One HTTP/1.1 request to 127.0.0.1:`port` as `token`'s user; the status and the JSON answer.
fn request(port: u16, method: &str, path: &str, token: &str, body: Option<&Value>) -> std::io::Result<(u16, Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.map(Value::to_string);
    let mut head = format!(
        "{method} /api/v1{path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {token}\r\nconnection: close\r\n"
    );
    if let Some(b) = &body {
        head.push_str(&format!("content-type: application/json\r\ncontent-length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_deref().unwrap_or("").as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok());
    let status = status.ok_or_else(|| std::io::Error::other(format!("no HTTP answer: {text:?}")))?;
    let json = text.split_once("\r\n\r\n").and_then(|(_, b)| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    Ok((status, json))
}

struct Server {
    child: Child,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `mfund serve` on `db`, once it answers.
fn serve(db: &TestDb, log: &Path) -> Server {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = spawn_mfund(&db.url, &["serve", "--addr", &addr], log);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok((200, _)) = request(port, "GET", "/health", "none", None) {
            return Server { child, port };
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("mfund serve exited ({status}): {}", std::fs::read_to_string(log).unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "mfund serve did not answer within a minute");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The steps of one green-channel drawdown, each acknowledged before the next is sent.
const STEPS: [&str; 5] = ["apply", "approve", "advance", "complete", "settle"];
const DRAWDOWNS_PER_ROUND: usize = 6;
const ADVANCE_FEN: i64 = 300_000;
const FINAL_COST_FEN: i64 = 580_000;

fn step(port: u16, id: &str, building: &str, step: &str) -> std::io::Result<(u16, Value)> {
    let path = format!("/drawdowns/{id}/{step}");
    match step {
        "apply" => {
            let body = json!({ "drawdown_id": id, "estate_id": "E00001", "building_id": building,
                "category": "fire_water_system", "estimate": "6000", "contractor": "C9", "green_channel": true });
            request(port, "POST", "/drawdowns", "token-clerk", Some(&body))
        }
        "approve" => request(port, "POST", &path, "token-office", Some(&json!({"reason": "同意"}))),
        "advance" => request(port, "POST", &path, "token-clerk", Some(&json!({"amount": "3000"}))),
        "complete" => request(port, "POST", &path, "token-clerk", Some(&json!({"final_cost": "5800"}))),
        _ => request(port, "POST", &path, "token-clerk", Some(&json!({}))),
    }
}

/// Runs the round's drawdowns concurrently, one thread each, until done or the server goes;
/// returns each drawdown's acknowledged steps. `answered` counts the answers as they come.
fn drive(port: u16, ids: Vec<(String, String)>, answered: Arc<AtomicUsize>) -> std::thread::JoinHandle<Acknowledged> {
    std::thread::spawn(move || {
        let workers: Vec<_> = ids
            .into_iter()
            .map(|(id, building)| {
                let answered = answered.clone();
                std::thread::spawn(move || {
                    let mut acknowledged = Vec::new();
                    for s in STEPS {
                        match step(port, &id, &building, s) {
                            Ok((200 | 201, body)) if body["changed"] == true => {
                                acknowledged.push(s);
                                answered.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok((status, body)) => panic!("{id} {s}: {status} {body}"),
                            Err(_) => break, // the server was killed
                        }
                    }
                    (id, acknowledged)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a worker")).collect()
    })
}

type Acknowledged = BTreeMap<String, Vec<&'static str>>;

/// What every drawdown in the database must show after any crash: its history a prefix of the
/// steps, its state that of its last step, a payment for each paying step and none other, the
/// payments' sum charged to its units; every acknowledged step present; the city balance moved
/// by exactly the payments, and one entry per payment.
async fn check_drawdowns(
    store: &Store,
    base: &Snapshot,
    base_fen: i64,
    acknowledged: &Acknowledged,
    what: &str,
) -> usize {
    let views = store.list_drawdowns(&ListFilter::default(), ledger_store::today(), &BTreeSet::new()).await.unwrap();
    let (mut paid_fen, mut payments) = (0i64, 0usize);
    for view in &views {
        let id = &view.drawdown_id;
        let actions: Vec<&str> = view.events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, STEPS[..actions.len()], "{what}: {id}'s history");
        let state = ["submitted", "approved", "advanced", "completed", "settled"][actions.len() - 1];
        assert_eq!(view.state, state, "{what}: {id}'s state after {actions:?}");
        let tranches: Vec<(&str, i64)> = view.payments.iter().map(|p| (p.tranche.as_str(), p.amount.fen())).collect();
        let mut expected = Vec::new();
        if actions.contains(&"advance") {
            expected.push(("advance", ADVANCE_FEN));
        }
        if actions.contains(&"settle") {
            expected.push(("final", FINAL_COST_FEN - ADVANCE_FEN));
        }
        assert_eq!(tranches, expected, "{what}: {id}'s payments after {actions:?}");
        let sum: i64 = tranches.iter().map(|t| t.1).sum();
        assert_eq!(view.paid.fen(), sum, "{what}: {id} paid");
        assert_eq!(view.units.iter().map(|u| u.charged.fen()).sum::<i64>(), sum, "{what}: {id}'s units charged");
        if let Some(told) = acknowledged.get(id) {
            assert!(told.len() <= actions.len(), "{what}: {id} acknowledged {told:?} but kept {actions:?}");
        }
        paid_fen += sum;
        payments += tranches.len();
    }
    for (id, told) in acknowledged {
        assert!(told.is_empty() || views.iter().any(|v| &v.drawdown_id == id), "{what}: {id} acknowledged, not kept");
    }
    let seen = observed(store).await;
    assert_eq!(seen.entries, base.entries + payments as u64, "{what}: one entry per payment");
    let city = store.balance(&BalanceScope::City, None).await.unwrap().unwrap().balance.fen();
    assert_eq!(base_fen - city, paid_fen, "{what}: the city balance moved by exactly the payments");
    views.len()
}

/// `mfund serve` killed at 20 points while six clients each file, approve, advance, complete and
/// settle a drawdown of their own at once (the writer batches them): after each kill the server
/// is restarted on the same database for the next round, and every drawdown so far is checked.
async fn killed_servers_keep_every_payment_with_its_transition(engine: Engine) {
    let db = TestDb::new(engine).await;
    let (_keep, dir) = city(80, 4242);
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let buildings: Vec<String> = std::fs::read_to_string(dir.join("buildings.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) == Some("E00001"))
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect();
    assert!(!buildings.is_empty());
    let office = crate::support::first_row_field(&dir, "estates.csv", 3);
    let store = db.store().await;
    for (name, role, scope) in [("clerk", "clerk", ""), ("office", "street_office", office.as_str())] {
        let user = User { name: name.into(), role: role.into(), scope: scope.into() };
        store.add_user(&user, &ledger_api::token_hash(&format!("token-{name}"))).await.unwrap();
    }
    let base = observed(&store).await;
    let base_fen = store.balance(&BalanceScope::City, None).await.unwrap().unwrap().balance.fen();
    let round_ids = |round: u64| -> Vec<(String, String)> {
        (0..DRAWDOWNS_PER_ROUND).map(|w| (format!("K{round:02}-{w}"), buildings[w % buildings.len()].clone())).collect()
    };
    let total = DRAWDOWNS_PER_ROUND * STEPS.len();
    let log: PathBuf = db.folder().join("serve.log");

    // Round 0 runs whole: how long the round's writes take.
    let server = serve(&db, &log);
    let started = Instant::now();
    let mut acknowledged = drive(server.port, round_ids(0), Arc::new(AtomicUsize::new(0))).join().unwrap();
    let run = started.elapsed();
    let mut server = server;
    server.child.kill().ok();
    server.child.wait().ok();
    assert!(acknowledged.values().all(|a| a.len() == STEPS.len()), "{acknowledged:?}");
    check_drawdowns(&store, &base, base_fen, &acknowledged, "the uncut round").await;

    let mut rng = Seeded(0x2222 + engine as u64);
    let mut landed = 0;
    let mut told = 0;
    for k in 1..=KILL_POINTS {
        let mut server = serve(&db, &log);
        let answered = Arc::new(AtomicUsize::new(0));
        let clients = drive(server.port, round_ids(k), answered.clone());
        let delay = rng.delay(run, k - 1, KILL_POINTS);
        std::thread::sleep(delay);
        let at_kill = answered.load(Ordering::SeqCst);
        let running = server.child.try_wait().unwrap().is_none();
        server.child.kill().ok();
        server.child.wait().ok();
        landed += u64::from(running && at_kill < total);
        let round = clients.join().expect("the clients");
        told += round.values().map(Vec::len).sum::<usize>();
        acknowledged.extend(round);
        let what = format!("kill point {k} ({delay:?} of {run:?}, {at_kill} of {total} answered)");
        verify_passes(&db, &what);
        check_drawdowns(&store, &base, base_fen, &acknowledged, &what).await;
    }
    let kept = check_drawdowns(&store, &base, base_fen, &acknowledged, "the end").await;
    store.close().await;
    eprintln!(
        "crash serve {engine:?}: {KILL_POINTS} kill points over a {run:?} round, {landed} mid-round, \
         {told} acknowledged steps all kept, {kept} drawdowns consistent; nothing lost"
    );
    assert!(landed * 2 >= KILL_POINTS, "only {landed} of {KILL_POINTS} kill points landed while writes were going");
}
