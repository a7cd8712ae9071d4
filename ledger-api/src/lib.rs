//! mfund's HTTP API: balances, journal import, reconciliation and the drawdown workflow, for
//! clerks, street offices, property companies and auditors, each behind a bearer token.
//!
//! The main design choice: [`app`] builds the whole router from an [`AppState`] without
//! binding a socket, so tests drive it with `oneshot`, and `mfund serve` only adds a listener.
//! Every rule stays in `ledger_core`; handlers check who may ask, translate, and answer.

mod auth;
mod error;
mod routes;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use ledger_core::Date;
use ledger_store::Store;

pub use auth::token_hash;
pub use error::ApiError;

/// The largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// The largest journal.csv accepted in one upload.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;
/// Idempotency keys remembered per server; past that the memory starts afresh.
const MAX_REMEMBERED_KEYS: usize = 100_000;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Public holidays not counted as working days for green-channel deadlines.
    pub holidays: Arc<BTreeSet<Date>>,
    /// First answers to requests that carried an `Idempotency-Key`, by (user, key).
    answers: Arc<Mutex<HashMap<(String, String), (u16, String)>>>,
}

impl AppState {
    pub fn new(store: Store, holidays: BTreeSet<Date>) -> AppState {
        AppState { store, holidays: Arc::new(holidays), answers: Arc::default() }
    }

    fn remembered(&self, user: &str, key: &str) -> Option<(u16, String)> {
        self.answers.lock().expect("answers lock").get(&(user.to_owned(), key.to_owned())).cloned()
    }

    fn remember(&self, user: &str, key: &str, answer: (u16, String)) {
        let mut answers = self.answers.lock().expect("answers lock");
        if answers.len() >= MAX_REMEMBERED_KEYS {
            answers.clear();
        }
        answers.entry((user.to_owned(), key.to_owned())).or_insert(answer);
    }
}

/// The whole API under `/api/v1`, plus `/` (the street office's page).
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(routes::health))
        .route("/balances/city", get(routes::city_balance))
        .route("/balances/{scope}/{id}", get(routes::balance))
        .route("/journal", post(routes::import_journal).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)))
        .route("/reconcile", post(routes::reconcile).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)))
        .route("/drawdowns", get(routes::list_drawdowns).post(routes::apply))
        .route("/drawdowns/{id}", get(routes::show))
        .route("/drawdowns/{id}/tally", get(routes::tally))
        .route("/drawdowns/{id}/notice", get(routes::notice))
        .route("/drawdowns/{id}/votes", post(routes::vote))
        .route("/drawdowns/{id}/{action}", post(routes::transition))
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES));
    Router::new().route("/", get(routes::page)).nest("/api/v1", api).with_state(state)
}

/// Serves [`app`] on `addr` until the process ends.
pub async fn serve(addr: &str, state: AppState) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app(state)).await
}
