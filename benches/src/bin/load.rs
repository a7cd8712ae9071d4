//! A small, bounded load generator for `mfund serve` on loopback (see `benches/load.sh`):
//! keep-alive HTTP/1.1 connections, each issuing requests back to back until the time is up.
//!
//!   load ADDR balance UNIT_ID TOKEN CONNECTIONS SECONDS
//!   load ADDR cycle ESTATE BUILDING CLERK_TOKEN OFFICE_TOKEN CONNECTIONS SECONDS
//!   load DB_URL store-cycle ESTATE BUILDING STREET_OFFICE TASKS SECONDS
//!
//! `balance` reads one unit's balance; `cycle` applies for a green-channel drawdown, approves it
//! and advances half of it (three requests, timed as one cycle). `store-cycle` runs the same
//! cycle in-process against the database, without HTTP: the store's own share of the cost.
//! Prints operations per second and the p50 / p99 latency of one operation.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Requests are bounded in count too, whatever the clock says.
const MAX_OPS_PER_CONNECTION: usize = 2_000_000;

struct Connection {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Connection {
    async fn open(addr: &str) -> Connection {
        let stream = TcpStream::connect(addr).await.expect("connect to mfund serve");
        stream.set_nodelay(true).expect("nodelay");
        Connection { stream: BufReader::new(stream), host: addr.to_owned() }
    }

    /// Sends one request and reads the whole response; returns the status code.
    async fn call(&mut self, method: &str, path: &str, token: &str, body: &str) -> u16 {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.stream.get_mut().write_all(request.as_bytes()).await.expect("send");
        let mut line = String::new();
        self.stream.read_line(&mut line).await.expect("status line");
        let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status code");
        let mut length = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.expect("header");
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().expect("a length");
                }
            }
        }
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).await.expect("body");
        status
    }
}

/// What a worker drives: a keep-alive HTTP connection, or the store in-process.
enum Target {
    Http(Connection),
    Store(ledger_store::Store),
}

impl Target {
    /// One timed operation of `mode` (`id` names a new drawdown); whether it succeeded.
    async fn operate(&mut self, mode: &str, id: &str, args: &[String]) -> bool {
        match self {
            Target::Store(store) => store_cycle(store, id, args).await,
            Target::Http(conn) if mode == "balance" => {
                conn.call("GET", &format!("/api/v1/balances/units/{}", args[3]), &args[4], "").await == 200
            }
            Target::Http(conn) => {
                let apply = format!(
                    r#"{{"drawdown_id":"{id}","estate_id":"{}","building_id":"{}","category":"elevator","estimate":"100","contractor":"C1","green_channel":true}}"#,
                    args[3], args[4]
                );
                conn.call("POST", "/api/v1/drawdowns", &args[5], &apply).await == 201
                    && conn.call("POST", &format!("/api/v1/drawdowns/{id}/approve"), &args[6], "{}").await == 200
                    && conn
                        .call("POST", &format!("/api/v1/drawdowns/{id}/advance"), &args[5], r#"{"amount":"50"}"#)
                        .await
                        == 200
            }
        }
    }
}

/// apply → approve → advance through the store, as `cycle` does over HTTP.
async fn store_cycle(store: &ledger_store::Store, id: &str, args: &[String]) -> bool {
    use ledger_core::actor::{Actor, Role, Scope, StreetOfficeId};
    use ledger_core::drawdown::{Act, Application, ScopeRequest};
    use ledger_core::drawdown::{Category, Route};
    use ledger_core::{Date, Money};
    let day = Date::parse("2026-11-20").expect("a date");
    let clerk = Act { actor: Actor::city("clerk", Role::Clerk).unwrap(), at: day, reason: String::new() };
    let office = Act {
        actor: Actor::new("主任", Role::StreetOffice, Scope::StreetOffice(StreetOfficeId::new(&args[5].clone())))
            .unwrap(),
        ..clerk.clone()
    };
    let application = Application {
        drawdown_id: id.to_owned(),
        estate_id: args[3].clone(),
        scope: ScopeRequest::Building(args[4].clone()),
        category: Category::parse("elevator").expect("a category"),
        route: Route::GreenChannel,
        estimate: Money::from_fen(10_000),
        contractor: "C1".into(),
        description: String::new(),
        applicant: "clerk".into(),
        submitted_on: day,
    };
    store.apply_drawdown(&application, &clerk).await.is_ok_and(|c| c.changed)
        && store.decide_drawdown(id, true, &office).await.is_ok_and(|c| c.changed)
        && store.advance_drawdown(id, Money::from_fen(5_000), &clerk).await.is_ok_and(|c| c.changed)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (addr, mode) = (args[1].clone(), args[2].clone());
    let (connections, seconds): (usize, u64) =
        (args[args.len() - 2].parse().unwrap(), args[args.len() - 1].parse().unwrap());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let store = match mode.as_str() {
        "store-cycle" => Some(ledger_store::Store::connect(&addr).await.expect("open the database")),
        _ => None,
    };
    let mut workers = Vec::new();
    for worker in 0..connections {
        let (addr, mode, args, store) = (addr.clone(), mode.clone(), args.clone(), store.clone());
        workers.push(tokio::spawn(async move {
            let mut target = match store {
                Some(store) => Target::Store(store),
                None => Target::Http(Connection::open(&addr).await),
            };
            let mut latencies_us = Vec::new();
            let mut failures = 0usize;
            for n in 0..MAX_OPS_PER_CONNECTION {
                if Instant::now() >= deadline {
                    break;
                }
                let start = Instant::now();
                if target.operate(&mode, &format!("L{worker}-{n}-{}", std::process::id()), &args).await {
                    latencies_us.push(start.elapsed().as_micros() as u64);
                } else {
                    failures += 1;
                }
            }
            (latencies_us, failures)
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut failures = 0;
    for w in workers {
        let (latencies, failed) = w.await.expect("worker");
        all.extend(latencies);
        failures += failed;
    }
    let elapsed = started.elapsed().as_secs_f64().max(seconds as f64);
    all.sort_unstable();
    println!(
        "{mode}: {} ok, {failures} failed, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms ({connections} connections, {seconds} s)",
        all.len(),
        all.len() as f64 / elapsed,
        percentile(&all, 0.50),
        percentile(&all, 0.99)
    );
}
