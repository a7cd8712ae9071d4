//! mfund's HTTP API: balances, journal import, reconciliation and the drawdown workflow, for
//! clerks, street offices, property companies and auditors, each behind a bearer token.
//!
//! The main design choice: [`app`] builds the whole router from an [`AppState`] without
//! binding a socket, so tests drive it with `oneshot`, and `mfund serve` only adds a listener.
//! Every rule stays in `ledger_core`; handlers check who may ask, translate, and answer.

mod allocation;
mod auth;
mod error;
mod estate;
mod rating;
mod routes;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
/// Idempotency answers and users cached per server; past that the cache starts afresh.
const MAX_CACHED: usize = 100_000;
/// How long a looked-up user is trusted before the database is asked again: a revoked token
/// stops working within this time on every server.
pub const USER_CACHE_TTL: Duration = Duration::from_secs(5);
/// How long the first answer to an `Idempotency-Key` is kept: past it the key is new again.
pub const IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(24 * 3600);
/// How often `serve` forgets answers older than the retention.
const FORGET_EVERY: Duration = Duration::from_secs(3600);

/// Seconds since 1970 now.
fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The oldest moment whose idempotency answers still count.
fn answers_since() -> i64 {
    unix_now() - IDEMPOTENCY_RETENTION.as_secs() as i64
}

/// First answers by (user, idempotency key): a cache of the database's.
type Answers = HashMap<(String, String), ledger_store::KeptAnswer>;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Public holidays not counted as working days for green-channel deadlines.
    pub holidays: Arc<BTreeSet<Date>>,
    /// First answers to requests that carried an `Idempotency-Key`, by (user, key).
    answers: Arc<Mutex<Answers>>,
    /// Users already looked up, by token hash, and when: a read then costs no query for the
    /// caller until the entry is older than `user_ttl`.
    users: Arc<std::sync::RwLock<HashMap<String, (ledger_store::User, Instant)>>>,
    user_ttl: Duration,
}

impl AppState {
    pub fn new(store: Store, holidays: BTreeSet<Date>) -> AppState {
        AppState {
            store,
            holidays: Arc::new(holidays),
            answers: Arc::default(),
            users: Arc::default(),
            user_ttl: USER_CACHE_TTL,
        }
    }

    /// Trusts a looked-up user for `ttl` instead of [`USER_CACHE_TTL`] (zero: ask every time).
    pub fn with_user_ttl(self, ttl: Duration) -> AppState {
        AppState { user_ttl: ttl, ..self }
    }

    /// Revokes a user's token in the database and at once on this server (other servers on the
    /// database stop trusting it within [`USER_CACHE_TTL`]).
    async fn revoke(&self, name: &str) -> Result<(), ApiError> {
        self.store.revoke_user(name).await?;
        self.users.write().expect("users lock").retain(|_, (user, _)| user.name != name);
        Ok(())
    }

    async fn user(&self, token_hash: &str) -> Result<Option<ledger_store::User>, ApiError> {
        if let Some((user, fetched)) = self.users.read().expect("users lock").get(token_hash) {
            if fetched.elapsed() < self.user_ttl {
                return Ok(Some(user.clone()));
            }
        }
        // Timed from before the query: a revocation committed meanwhile is trusted no longer
        // than the TTL.
        let asked = Instant::now();
        let user = self.store.user_by_token_hash(token_hash).await?;
        let mut users = self.users.write().expect("users lock");
        match &user {
            Some(user) => {
                if users.len() >= MAX_CACHED {
                    users.clear();
                }
                users.insert(token_hash.to_owned(), (user.clone(), asked));
            }
            None => {
                users.remove(token_hash);
            }
        }
        Ok(user)
    }

    async fn remembered(&self, user: &str, key: &str) -> Result<Option<ledger_store::KeptAnswer>, ApiError> {
        let since = answers_since();
        let cached = self.answers.lock().expect("answers lock").get(&(user.to_owned(), key.to_owned())).cloned();
        match cached {
            Some(answer) if answer.kept_at >= since => Ok(Some(answer)),
            _ => Ok(self.store.idempotent_answer(user, key, since).await?),
        }
    }

    /// Keeps the first answer for the key (in the database, so every server and a restarted
    /// one give it again) and returns whichever answer was kept first.
    async fn remember(
        &self,
        user: &str,
        key: &str,
        answer: ledger_store::KeptAnswer,
    ) -> Result<ledger_store::KeptAnswer, ApiError> {
        let kept = self.store.keep_idempotent_answer(user, key, &answer, answers_since()).await?;
        let mut answers = self.answers.lock().expect("answers lock");
        if answers.len() >= MAX_CACHED {
            answers.clear();
        }
        answers.insert((user.to_owned(), key.to_owned()), kept.clone());
        Ok(kept)
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
        .routes(routes!(routes::users))
        .routes(routes!(routes::revoke_user))
        .routes(routes!(estate::transfer))
        .routes(routes!(estate::refund))
        .routes(routes!(estate::move_estate))
        .routes(routes!(rating::record_check))
        .routes(routes!(rating::publish))
        .routes(routes!(rating::public_year))
        .routes(routes!(allocation::allocate))
        .routes(routes!(allocation::topup_notices))
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
    // Idempotency answers past their retention are forgotten hourly, so the table stays bounded.
    let store = state.store.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(FORGET_EVERY);
        loop {
            every.tick().await;
            if let Err(error) = store.forget_idempotent_answers(answers_since()).await {
                tracing::warn!("could not forget old idempotency answers: {error}");
            }
        }
    });
    axum::serve(listener, app(state)).await
}
