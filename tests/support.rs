//! Shared helpers: throwaway databases, running the binary, a generated city.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use ledger_store::{BalanceScope, Store};
use sqlx::Connection;

pub const PG_ENV: &str = "MFUND_TEST_PG";
const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A database that exists for one test: a SQLite file in a temporary folder, or a fresh
/// PostgreSQL database dropped when the test ends.
pub struct TestDb {
    pub url: String,
    pub engine: Engine,
    pg_drop: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    pub async fn new(engine: Engine) -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary folder");
        match engine {
            Engine::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                TestDb { url, engine, pg_drop: None, _dir: dir }
            }
            Engine::Postgres => {
                let admin = std::env::var(PG_ENV).unwrap_or_else(|_| PG_DEFAULT.to_owned());
                let name = format!("mfund_test_{}_{}", std::process::id(), NEXT_DB.fetch_add(1, Ordering::SeqCst));
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin} does not answer ({e}); run the tests with scripts/test, which starts one"));
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("drop old test database");
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
                conn.close().await.ok();
                let url = replace_database(&admin, &name);
                TestDb { url, engine, pg_drop: Some((admin, name)), _dir: dir }
            }
        }
    }

    pub async fn store(&self) -> Store {
        Store::connect(&self.url).await.expect("open the test database")
    }

    pub fn folder(&self) -> &Path {
        self._dir.path()
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let cut = base.rfind('/').filter(|&i| i > "postgres://".len()).unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..cut]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_drop.take() {
            // Drop runs outside async; a small runtime of its own on another thread does the work.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn)
                            .await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// Runs `mfund` with the given arguments against `db`.
pub fn mfund(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mfund")).args(args).env("MFUND_DB", db).output().expect("run mfund")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A generated city in a temporary folder.
pub fn city(units: usize, seed: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("city");
    ledger_gen::generate(&path, ledger_gen::GenOptions { units, seed, faults: false }).expect("generate a city");
    (dir, path)
}

/// Everything observable about a ledger: counts, the chain head and the city balance.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub entries: u64,
    pub head: String,
    pub city: Option<String>,
}

pub async fn snapshot(store: &Store) -> Snapshot {
    let verified = store.verify(&|_, _| {}).await.expect("verify");
    assert!(verified.is_intact(), "ledger not intact: {verified:?}");
    let city = store
        .balance(&BalanceScope::City, None)
        .await
        .expect("balance")
        .map(|b| format!("{} {} {}", b.units, b.credits, b.debits));
    Snapshot { entries: verified.entries_checked, head: verified.head, city }
}

/// Declares one `#[tokio::test]` per engine for an `async fn(Engine)` body.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::support::Engine::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::support::Engine::Postgres).await })*
        }
    };
}

/// One request to the HTTP app, as user `user` (bearer token `token-{user}`), with an optional
/// JSON body and `Idempotency-Key`; the status and the JSON answer (null when there is none).
pub async fn http(
    router: &axum::Router,
    method: &str,
    path: &str,
    user: Option<&str>,
    body: Option<serde_json::Value>,
    key: Option<&str>,
) -> (axum::http::StatusCode, serde_json::Value) {
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder().method(method).uri(format!("/api/v1{path}"));
    if let Some(user) = user {
        request = request.header("authorization", format!("Bearer token-{user}"));
    }
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let request = match body {
        Some(b) => request.header("content-type", "application/json").body(axum::body::Body::from(b.to_string())),
        None => request.body(axum::body::Body::empty()),
    }
    .expect("a request");
    let response = router.clone().oneshot(request).await.expect("an answer");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.expect("the body");
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

/// Field `index` of the first data row of a generated city's `file`, unquoted.
pub fn first_row_field(dir: &Path, file: &str, index: usize) -> String {
    let text = std::fs::read_to_string(dir.join(file)).expect("a city file");
    text.lines().nth(1).expect("a data row").split(',').nth(index).expect("the field").trim_matches('"').to_owned()
}

impl TestDb {
    /// A second database holding exactly what this one holds: the SQLite file (and its WAL)
    /// copied, or a PostgreSQL database made from this one as template. No connection to this
    /// database may be open.
    pub async fn copy(&self) -> TestDb {
        let copy = TestDb::new(self.engine).await;
        match (&self.pg_drop, &copy.pg_drop) {
            (Some((admin, from)), Some((_, to))) => {
                let mut conn = sqlx::PgConnection::connect(admin).await.expect("PostgreSQL answers");
                sqlx::query(&format!("DROP DATABASE {to}")).execute(&mut conn).await.expect("drop the empty copy");
                sqlx::query(&format!("CREATE DATABASE {to} TEMPLATE {from}"))
                    .execute(&mut conn)
                    .await
                    .expect("copy the test database");
                conn.close().await.ok();
            }
            _ => {
                for suffix in ["", "-wal", "-shm"] {
                    let from = self.folder().join(format!("test.db{suffix}"));
                    if from.exists() {
                        std::fs::copy(&from, copy.folder().join(format!("test.db{suffix}"))).expect("copy the file");
                    }
                }
            }
        }
        copy
    }
}
