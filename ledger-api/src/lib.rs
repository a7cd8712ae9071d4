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
use axum::routing::get;
use axum::Router;
use ledger_core::Date;
use ledger_store::Store;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use auth::token_hash;
pub use error::ApiError;

/// The largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// The largest journal.csv accepted in one upload.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;
/// Idempotency keys remembered per server; past that the memory starts afresh.
const MAX_REMEMBERED_KEYS: usize = 100_000;

/// First answers (status, body) by (user, idempotency key).
type Answers = HashMap<(String, String), (u16, String)>;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Public holidays not counted as working days for green-channel deadlines.
    pub holidays: Arc<BTreeSet<Date>>,
    /// First answers to requests that carried an `Idempotency-Key`, by (user, key).
    answers: Arc<Mutex<Answers>>,
    /// Users already looked up, by token hash: a read then costs no query for the caller.
    /// Users are only ever added, so a cached answer stays true.
    users: Arc<std::sync::RwLock<HashMap<String, ledger_store::User>>>,
}

impl AppState {
    pub fn new(store: Store, holidays: BTreeSet<Date>) -> AppState {
        AppState { store, holidays: Arc::new(holidays), answers: Arc::default(), users: Arc::default() }
    }

    async fn user(&self, token_hash: &str) -> Result<Option<ledger_store::User>, ApiError> {
        if let Some(user) = self.users.read().expect("users lock").get(token_hash) {
            return Ok(Some(user.clone()));
        }
        let user = self.store.user_by_token_hash(token_hash).await?;
        if let Some(user) = &user {
            let mut users = self.users.write().expect("users lock");
            if users.len() >= MAX_REMEMBERED_KEYS {
                users.clear();
            }
            users.insert(token_hash.to_owned(), user.clone());
        }
        Ok(user)
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

/// The whole API under `/api/v1`, its OpenAPI document at `/api/openapi.json` (generated from
/// the same handler declarations that build the router, so the two cannot drift), and `/`,
/// the street office's page.
pub fn app(state: AppState) -> Router {
    let uploads = OpenApiRouter::new()
        .routes(routes!(routes::import_journal))
        .routes(routes!(routes::reconcile))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES));
    let api = OpenApiRouter::new()
        .routes(routes!(routes::health))
        .routes(routes!(routes::city_balance))
        .routes(routes!(routes::balance))
        .routes(routes!(routes::list_drawdowns, routes::apply))
        .routes(routes!(routes::show))
        .routes(routes!(routes::tally))
        .routes(routes!(routes::notice))
        .routes(routes!(routes::vote))
        .routes(routes!(routes::transition))
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .merge(uploads);
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", api).split_for_parts();
    doc.info.title = "mfund API".to_owned();
    let doc = Arc::new(doc.to_pretty_json().expect("the OpenAPI document serialises"));
    Router::new()
        .route("/", get(routes::page))
        .route(
            "/api/openapi.json",
            get(move || async move { ([("content-type", "application/json")], doc.as_str().to_owned()) }),
        )
        .merge(api)
        .with_state(state)
}

#[derive(utoipa::OpenApi)]
#[openapi(info(
    description = "Residential special maintenance fund ledger. Send `Authorization: Bearer <token>` (`mfund user add`)."
))]
struct ApiDoc;

/// Serves [`app`] on `addr` until the process ends.
pub async fn serve(addr: &str, state: AppState) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app(state)).await
}
