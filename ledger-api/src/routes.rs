//! The handlers: who may ask, what the request means, and the answer.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use ledger_core::actor::{Operation, Role, Scope, Target};
use ledger_core::drawdown::{Act, Application, Category, Route, ScopeRequest, State as DrawdownState, Vote};
use ledger_core::import::RegistryFiles;
use ledger_core::interchange::{read_statement, read_unit_balances};
use ledger_core::recon::{reconcile as reconcile_facts, BankFiles};
use ledger_core::{Date, Money};
use ledger_store::{today, BalanceScope, DrawdownView, ListFilter};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;

type ApiResult = Result<Response, ApiError>;

fn json<T: Serialize>(status: StatusCode, value: &T) -> ApiResult {
    Ok((status, Json(value)).into_response())
}

/// A JSON body, with the extractor's refusals turned into the API's error codes.
pub(crate) fn body<T: DeserializeOwned>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload.map(|Json(value)| value).map_err(|rejection| {
        let (status, code) = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            StatusCode::UNPROCESSABLE_ENTITY => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            _ => (StatusCode::BAD_REQUEST, "bad_json"),
        };
        ApiError::new(status, code, rejection.body_text())
    })
}

fn bytes(payload: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    payload.map_err(|rejection| {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "body_too_large" } else { "bad_body" };
        ApiError::new(status, code, rejection.body_text())
    })
}

fn field<T>(value: Option<T>, name: &str, expected: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid(format!("field `{name}`: expected {expected}")))
}

fn money(text: &str, name: &str) -> Result<Money, ApiError> {
    Money::parse(text).map_err(|e| ApiError::invalid(format!("field `{name}`: {e}")))
}

fn date(text: &str, name: &str) -> Result<Date, ApiError> {
    Date::parse(text).map_err(|e| ApiError::invalid(format!("field `{name}`: {e}")))
}

/// The day a write is recorded on: today. Only an admin may name another, earlier day (a
/// backfill of paper records); anyone else could backdate an approval or move a deadline.
fn recorded_on(caller: &Caller, text: Option<&str>, name: &str) -> Result<Date, ApiError> {
    let today = today();
    let Some(text) = text else { return Ok(today) };
    let day = date(text, name)?;
    if day > today {
        return Err(ApiError::invalid(format!("field `{name}`: {day} is still to come (today is {today})")));
    }
    if day != today && caller.may(Operation::Backfill, Target::City).is_err() {
        return Err(ApiError::forbidden(format!(
            "field `{name}`: only an admin may record a request on another day than today ({today}); leave it out"
        )));
    }
    Ok(day)
}

/// The longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Runs a write once per `Idempotency-Key` (per user): a repeated key gets the first answer.
/// `request` says what was asked (endpoint and content); the same key for another request is
/// refused, so that a reused key cannot silently swallow a different write.
async fn idempotent<F>(state: &AppState, caller: &Caller, headers: &HeaderMap, request: String, work: F) -> ApiResult
where
    F: std::future::Future<Output = ApiResult>,
{
    let key = headers.get("idempotency-key").map(|v| v.to_str().map(str::to_owned));
    let key = match key {
        None => None,
        Some(Ok(key)) if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY => Some(key),
        Some(_) => {
            return Err(ApiError::invalid(format!(
                "header `Idempotency-Key`: expected 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
            )))
        }
    };
    let answer = |(status, body): (u16, String)| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        (status, [("content-type", "application/json")], body).into_response()
    };
    if let Some(key) = &key {
        if let Some(first) = state.remembered(caller.name(), key).await? {
            if first.request != request {
                return Err(ApiError::invalid(format!(
                    "header `Idempotency-Key`: `{key}` was first used for another request ({}); use a new key",
                    first.request
                )));
            }
            return Ok(answer((first.status, first.body)));
        }
    }
    // A refusal is an answer too and the same key gets it again; a server error is not kept,
    // so that retrying it really retries.
    let response = work.await.unwrap_or_else(IntoResponse::into_response);
    let status = response.status();
    let Some(key) = key.filter(|_| !status.is_server_error()) else { return Ok(response) };
    let body = axum::body::to_bytes(response.into_body(), crate::MAX_UPLOAD_BYTES)
        .await
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let text = String::from_utf8_lossy(&body).into_owned();
    let first = ledger_store::KeptAnswer { request, status: status.as_u16(), body: text, kept_at: crate::unix_now() };
    match state.remember(caller.name(), &key, first.clone()).await {
        Ok(kept) => Ok(answer((kept.status, kept.body))),
        // The write itself is done: answer it even if the answer could not be kept.
        Err(error) => {
            tracing::warn!(key = %key, "could not keep the answer to an Idempotency-Key: {}", error.message);
            Ok(answer((first.status, first.body)))
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    name: String,
    role: String,
    scope: String,
    revoked: bool,
}

#[utoipa::path(get, path = "/users", tag = "users", responses((status = 200, description = "Every user with its role, scope and whether its token was revoked; never tokens", body = [UserView]), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Not an admin", body = ApiError)))]
/// Every user (admins only). Tokens are stored as hashes and never shown.
pub async fn users(State(state): State<AppState>, caller: Caller) -> ApiResult {
    caller.may(Operation::ManageUsers, Target::City)?;
    let users: Vec<UserView> = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|(u, revoked)| UserView { name: u.name, role: u.role, scope: u.scope, revoked })
        .collect();
    json(StatusCode::OK, &users)
}

#[utoipa::path(post, path = "/users/{name}/revoke", tag = "users", params(("name" = String, Path)), responses((status = 200, description = "Revoked (again, if it was): the token stops working at once on this server and within 5 s on every other"), (status = 404, description = "No such user", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Not an admin", body = ApiError)))]
/// Revokes a user's token (admins only), for example one that leaked.
pub async fn revoke_user(State(state): State<AppState>, caller: Caller, Path(name): Path<String>) -> ApiResult {
    caller.may(Operation::ManageUsers, Target::City)?;
    state.revoke(&name).await?;
    json(StatusCode::OK, &serde_json::json!({ "name": name, "revoked": true }))
}

#[utoipa::path(get, path = "/health", tag = "meta", responses((status = 200, description = "The server and its database answer")))]
pub async fn health(State(state): State<AppState>) -> ApiResult {
    json(StatusCode::OK, &serde_json::json!({ "status": "ok", "database": state.store.engine() }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOf {
    /// Count entries dated on or before this day (YYYY-MM-DD).
    as_of: Option<String>,
}

#[utoipa::path(get, path = "/balances/city", tag = "balances", params(AsOf), responses((status = 200, description = "The city's unit sub-ledger balance"), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Outside the caller's role or scope", body = ApiError)))]
pub async fn city_balance(State(state): State<AppState>, caller: Caller, Query(q): Query<AsOf>) -> ApiResult {
    caller.may(Operation::Read, Target::City)?;
    balance_of(&state, BalanceScope::City, q.as_of.as_deref()).await
}

#[utoipa::path(get, path = "/balances/{scope}/{id}", tag = "balances", params(("scope" = String, Path, description = "units, buildings or estates"), ("id" = String, Path, description = "The unit, building or estate id"), AsOf), responses((status = 200, description = "The balance"), (status = 404, description = "Not registered", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Outside the caller's role or scope", body = ApiError)))]
pub async fn balance(
    State(state): State<AppState>,
    caller: Caller,
    Path((scope, id)): Path<(String, String)>,
    Query(q): Query<AsOf>,
) -> ApiResult {
    let scope = match scope.as_str() {
        "units" => BalanceScope::Unit(id),
        "buildings" => BalanceScope::Building(id),
        "estates" => BalanceScope::Estate(id),
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no balances of `{other}`: use units, buildings or estates"),
            ))
        }
    };
    if !matches!(caller.0.scope(), Scope::City) {
        // A street office or a company reads its own estates only: find whose this is first.
        let estate = state.store.estate_of(&scope).await?;
        let estate = estate
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{scope:?} is not registered")))?;
        caller.may(Operation::Read, Target::Estate(&estate))?;
    }
    balance_of(&state, scope, q.as_of.as_deref()).await
}

async fn balance_of(state: &AppState, scope: BalanceScope, as_of: Option<&str>) -> ApiResult {
    let as_of = as_of.map(|d| date(d, "as_of")).transpose()?;
    match state.store.balance(&scope, as_of).await? {
        Some(balance) => json(StatusCode::OK, &balance),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{scope:?} is not registered"))),
    }
}

#[utoipa::path(post, path = "/journal", tag = "ledger", request_body(content = String, content_type = "text/csv", description = "journal.csv (SPEC §2)"), responses((status = 200, description = "Posted (or already posted)"), (status = 413, description = "Over the upload limit", body = ApiError), (status = 422, description = "Refused with file:line:column; nothing written", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Outside the caller's role or scope", body = ApiError)))]
/// journal.csv in the body (text/csv): checked and posted whole or not at all.
pub async fn import_journal(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> ApiResult {
    caller.may(Operation::Import, Target::City)?;
    let journal = bytes(payload)?.to_vec();
    let request = format!("POST /journal of SHA-256 {}", crate::auth::token_hash_bytes(&journal));
    idempotent(&state, &caller, &headers, request, async {
        let outcome = state.store.import(RegistryFiles::default(), Some(journal), &|_, _| {}).await?;
        json(
            StatusCode::OK,
            &serde_json::json!({ "entries": outcome.entries, "postings": outcome.postings, "already_stored": outcome.already_stored }),
        )
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
// An unknown field is refused, never ignored: `buildingId` for `building_id` filed a whole estate.
#[serde(deny_unknown_fields)]
pub struct ReconcileRequest {
    statement_csv: Option<String>,
    unit_balances_csv: Option<String>,
    as_of: Option<String>,
}

#[utoipa::path(post, path = "/reconcile", tag = "ledger", request_body = ReconcileRequest, responses((status = 200, description = "The SPEC §3 report"), (status = 422, description = "A bank file is malformed", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Outside the caller's role or scope", body = ApiError)))]
/// The SPEC report for the stored ledger against the bank files in the body.
pub async fn reconcile(
    State(state): State<AppState>,
    caller: Caller,
    payload: Result<Json<ReconcileRequest>, JsonRejection>,
) -> ApiResult {
    caller.may(Operation::Reconcile, Target::City)?;
    let request = body(payload)?;
    let as_of = request.as_of.as_deref().map(|d| date(d, "as_of")).transpose()?;
    let form = |e: ledger_core::interchange::InputError| ApiError::invalid(e.to_string());
    let balances =
        request.unit_balances_csv.as_deref().map(|t| read_unit_balances(t.as_bytes())).transpose().map_err(form)?;
    let statement = request.statement_csv.as_deref().map(|t| read_statement(t.as_bytes())).transpose().map_err(form)?;
    let (city, facts) = state.store.reconciliation_facts(as_of, &|_, _| {}).await?;
    let files = BankFiles { unit_balances: balances.as_deref(), statement: statement.as_deref() };
    let report = reconcile_facts(&city, &facts, files, true).map_err(|e| ApiError::invalid(e.to_string()))?;
    json(StatusCode::OK, &report)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
// An unknown field is refused, never ignored: `buildingId` for `building_id` filed a whole estate.
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    drawdown_id: String,
    estate_id: String,
    building_id: Option<String>,
    unit_ids: Option<Vec<String>>,
    category: String,
    estimate: String,
    contractor: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    green_channel: bool,
    /// Today when left out; an earlier day only for an admin (a backfill of paper records).
    submitted_on: Option<String>,
}

#[utoipa::path(post, path = "/drawdowns", tag = "drawdowns", request_body = ApplyRequest, params(("Idempotency-Key" = Option<String>, Header, description = "Repeats return the first answer")), responses((status = 201, description = "Filed"), (status = 200, description = "Already filed with the same content"), (status = 409, description = "Same id, other content", body = ApiError), (status = 422, description = "Invalid input, naming the field", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Outside the caller's role or scope", body = ApiError)))]
pub async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    payload: Result<Json<ApplyRequest>, JsonRejection>,
) -> ApiResult {
    // Roles that never apply are refused before anything is looked up.
    if !matches!(caller.0.role(), Role::Clerk | Role::Admin | Role::PropertyCompany) {
        caller.may(Operation::ApplyDrawdown, Target::City)?;
    }
    let r = body(payload)?;
    let request = format!("POST /drawdowns {r:?}");
    let category =
        field(Category::parse(&r.category), "category", "an emergency or normal category such as fire_pipe_network")?;
    let estate = state
        .store
        .estate_offices(&r.estate_id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("estate `{}`", r.estate_id)))?;
    caller.may(Operation::ApplyDrawdown, Target::Estate(&estate))?;
    let scope = match (r.building_id, r.unit_ids) {
        (Some(b), None) => ScopeRequest::Building(b),
        (None, Some(units)) => ScopeRequest::Units(units),
        (None, None) => ScopeRequest::Estate,
        (Some(_), Some(_)) => return Err(ApiError::invalid("fields `building_id` and `unit_ids`: give at most one")),
    };
    let at = recorded_on(&caller, r.submitted_on.as_deref(), "submitted_on")?;
    let application = Application {
        drawdown_id: r.drawdown_id,
        estate_id: r.estate_id,
        scope,
        category,
        route: if r.green_channel { Route::GreenChannel } else { Route::Normal },
        estimate: money(&r.estimate, "estimate")?,
        contractor: r.contractor,
        description: r.description,
        applicant: caller.name().to_owned(),
        submitted_on: at,
    };
    let act = Act { actor: caller.0.clone(), at, reason: String::new() };
    idempotent(&state, &caller, &headers, request, async {
        let change = state.store.apply_drawdown(&application, &act).await?;
        json(if change.changed { StatusCode::CREATED } else { StatusCode::OK }, &change)
    })
    .await
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
// An unknown field is refused, never ignored: `buildingId` for `building_id` filed a whole estate.
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    #[serde(default)]
    reason: String,
    amount: Option<String>,
    final_cost: Option<String>,
    estimate: Option<String>,
    /// Today when left out; an earlier day only for an admin (a backfill of paper records).
    date: Option<String>,
}

#[utoipa::path(post, path = "/drawdowns/{id}/{action}", tag = "drawdowns", params(("id" = String, Path), ("action" = String, Path, description = "approve, reject, revise (the estate's street office); advance, complete, settle, cancel (clerks)"), ("Idempotency-Key" = Option<String>, Header, description = "Repeats return the first answer")), request_body = TransitionRequest, responses((status = 200, description = "Done, or already done (changed: false)"), (status = 404, description = "No such drawdown", body = ApiError), (status = 409, description = "Not possible in this state", body = ApiError), (status = 413, description = "Body over the limit", body = ApiError), (status = 422, description = "A rule or a field refuses it", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Outside the caller's role or scope", body = ApiError)))]
/// approve, reject, revise (the estate's street office); advance, complete, settle, cancel (clerks).
pub async fn transition(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    payload: Result<Json<TransitionRequest>, JsonRejection>,
) -> ApiResult {
    let r = if headers.get("content-type").is_some() { body(payload)? } else { TransitionRequest::default() };
    if matches!(action.as_str(), "advance" | "complete" | "settle" | "cancel") {
        caller.may(Operation::PayDrawdown, Target::City)?;
    }
    let at = recorded_on(&caller, r.date.as_deref(), "date")?;
    // The person who acts and the office they act for are both recorded; core decides whether
    // they may (the estate's street office decides, clerks pay).
    let act = Act { actor: caller.0.clone(), at, reason: r.reason.clone() };
    let store = &state.store;
    let request = format!("POST /drawdowns/{id}/{action} {r:?}");
    idempotent(&state, &caller, &headers, request, async {
        let amount = |value: &Option<String>, name: &str| money(&field(value.clone(), name, "an amount")?, name);
        let change = match action.as_str() {
            "approve" => store.decide_drawdown(&id, true, &act).await?,
            "reject" => store.decide_drawdown(&id, false, &act).await?,
            "revise" => store.revise_drawdown(&id, amount(&r.estimate, "estimate")?, &act).await?,
            "advance" => store.advance_drawdown(&id, amount(&r.amount, "amount")?, &act).await?,
            "complete" => store.complete_drawdown(&id, amount(&r.final_cost, "final_cost")?, &act).await?,
            "settle" => store.settle_drawdown(&id, &act).await?,
            "cancel" => store.cancel_drawdown(&id, &act).await?,
            other => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("no transition `{other}`: approve, reject, revise, advance, complete, settle or cancel"),
                ))
            }
        };
        json(StatusCode::OK, &change)
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
// An unknown field is refused, never ignored: `buildingId` for `building_id` filed a whole estate.
#[serde(deny_unknown_fields)]
pub struct VoteRequest {
    unit_id: String,
    vote: String,
}

#[utoipa::path(post, path = "/drawdowns/{id}/votes", tag = "drawdowns", params(("id" = String, Path)), request_body = VoteRequest, responses((status = 200, description = "Recorded"), (status = 409, description = "No vote is open", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Outside the caller's role or scope", body = ApiError)))]
pub async fn vote(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    payload: Result<Json<VoteRequest>, JsonRejection>,
) -> ApiResult {
    caller.may(Operation::RecordVote, Target::City)?;
    let r = body(payload)?;
    let vote = field(Vote::parse(&r.vote), "vote", "yes, no or abstain")?;
    let act = Act { actor: caller.0.clone(), at: today(), reason: String::new() };
    let request = format!("POST /drawdowns/{id}/votes {r:?}");
    idempotent(&state, &caller, &headers, request, async {
        json(StatusCode::OK, &state.store.vote_drawdown(&id, &r.unit_id, vote, &act).await?)
    })
    .await
}

#[utoipa::path(get, path = "/drawdowns/{id}/tally", tag = "drawdowns", params(("id" = String, Path)), responses((status = 200, description = "The art. 278 count"), (status = 404, description = "No such drawdown", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Outside the caller's role or scope", body = ApiError)))]
pub async fn tally(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    may_read_drawdown(&state, &caller, &id).await?;
    json(StatusCode::OK, &state.store.tally_drawdown(&id).await?)
}

#[utoipa::path(get, path = "/drawdowns/{id}", tag = "drawdowns", params(("id" = String, Path)), responses((status = 200, description = "Scope, amounts, per-unit shares and history"), (status = 404, description = "No such drawdown", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Outside the caller's role or scope", body = ApiError)))]
pub async fn show(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    may_read_drawdown(&state, &caller, &id).await?;
    json(StatusCode::OK, &state.store.drawdown(&id, today(), &state.holidays).await?)
}

#[utoipa::path(get, path = "/drawdowns/{id}/notice", tag = "drawdowns", params(("id" = String, Path)), responses((status = 200, description = "The work, the cost and every unit's share"), (status = 404, description = "No such drawdown", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Outside the caller's role or scope", body = ApiError)))]
/// The public notice: the same view, as the owners will read it.
pub async fn notice(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    may_read_drawdown(&state, &caller, &id).await?;
    let view: DrawdownView = state.store.drawdown(&id, today(), &state.holidays).await?;
    let shares: Vec<_> = view
        .units
        .iter()
        .map(|u| serde_json::json!({ "unit_id": u.unit_id, "floor_area": u.floor_area, "share": u.charged }))
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "drawdown_id": view.drawdown_id, "estate_id": view.estate_id, "work": view.description, "category": view.category,
            "contractor": view.contractor, "cost": view.final_cost.unwrap_or(view.paid), "paid": view.paid, "shares": shares,
        }),
    )
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    state: Option<String>,
    estate_id: Option<String>,
    street_office: Option<String>,
    #[serde(default)]
    overdue: bool,
}

#[utoipa::path(get, path = "/drawdowns", tag = "drawdowns", params(ListQuery), responses((status = 200, description = "Drawdowns, overdue ones flagged"), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Outside the caller's role or scope", body = ApiError)))]
/// A street office sees its own queue; everyone else may filter freely.
pub async fn list_drawdowns(State(state): State<AppState>, caller: Caller, Query(q): Query<ListQuery>) -> ApiResult {
    let wanted_state =
        q.state.as_deref().map(|s| field(DrawdownState::parse(s), "state", "a drawdown state")).transpose()?;
    // A street office or a company sees its own estates' drawdowns only, whatever it asks for.
    let (street_office, company) = match caller.0.scope() {
        Scope::City => (q.street_office, None),
        Scope::StreetOffice(office) => (Some(office.to_string()), None),
        Scope::Company(company) => (q.street_office, Some(company.to_string())),
    };
    let filter =
        ListFilter { state: wanted_state, estate_id: q.estate_id, street_office, company, overdue_only: q.overdue };
    json(StatusCode::OK, &state.store.list_drawdowns(&filter, today(), &state.holidays).await?)
}

/// Refuses (403) a read of a drawdown outside the caller's estates; 404 when there is none.
async fn may_read_drawdown(state: &AppState, caller: &Caller, drawdown_id: &str) -> Result<(), ApiError> {
    let estate = state.store.drawdown_estate(drawdown_id).await?;
    caller.may(Operation::Read, Target::Estate(&estate))
}

pub async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}
