//! Registry changes (SPEC §10): a unit's transfer (过户) and refund (房屋灭失), an estate's move
//! to another street office or property company. Each is a dated version recorded today with
//! who and why; clerks and admins make them.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use ledger_core::actor::{Operation, Target};
use ledger_core::drawdown::Act;
use ledger_core::estate::Move;
use ledger_store::today;
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::{body, date, idempotent, json};
use crate::AppState;

type ApiResult = Result<axum::response::Response, ApiError>;

fn act(caller: &Caller, reason: Option<String>) -> Act {
    Act { actor: caller.0.clone(), at: today(), reason: reason.unwrap_or_default() }
}

fn named(value: &str, name: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(format!("field `{name}`: expected a name, found an empty one")));
    }
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The new owner's name.
    owner: String,
    /// The day the new owner takes over (YYYY-MM-DD).
    effective_from: String,
    reason: Option<String>,
}

#[utoipa::path(post, path = "/units/{id}/transfer", tag = "registry", request_body = TransferRequest, params(("id" = String, Path, description = "The unit"), ("Idempotency-Key" = Option<String>, Header, description = "Repeats return the first answer")), responses((status = 200, description = "Recorded (or already the owner)"), (status = 404, description = "No such unit", body = ApiError), (status = 409, description = "Closed unit, or dated before its latest change", body = ApiError), (status = 422, description = "Invalid input, naming the field", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Not a clerk or an admin", body = ApiError)))]
/// 过户: the unit's owner changes from `effective_from`; its balance stays with the unit.
pub async fn transfer(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(unit_id): Path<String>,
    payload: Result<Json<TransferRequest>, JsonRejection>,
) -> ApiResult {
    caller.may(Operation::ChangeRegistry, Target::City)?;
    let r = body(payload)?;
    let request = format!("POST /units/{unit_id}/transfer {r:?}");
    named(&r.owner, "owner")?;
    let day = date(&r.effective_from, "effective_from")?;
    let act = act(&caller, r.reason);
    idempotent(&state, &caller, &headers, request, async {
        json(StatusCode::OK, &state.store.transfer_unit(&unit_id, &r.owner, day, &act).await?)
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// The refund entry's id, not used by any posted entry.
    entry_id: String,
    /// The refund's date, from which the unit is closed (YYYY-MM-DD).
    refunded_on: String,
    reason: Option<String>,
}

#[utoipa::path(post, path = "/units/{id}/refund", tag = "registry", request_body = RefundRequest, params(("id" = String, Path, description = "The unit"), ("Idempotency-Key" = Option<String>, Header, description = "Repeats return the first answer")), responses((status = 200, description = "Refunded and closed (or already)"), (status = 404, description = "No such unit", body = ApiError), (status = 409, description = "Closed, overdrawn, entry id taken, postings after the date, no bank account", body = ApiError), (status = 422, description = "Invalid input, naming the field", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Not a clerk or an admin", body = ApiError)))]
/// 房屋灭失: a `refund` entry pays the unit's whole balance out; the unit is closed from the date.
pub async fn refund(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(unit_id): Path<String>,
    payload: Result<Json<RefundRequest>, JsonRejection>,
) -> ApiResult {
    caller.may(Operation::ChangeRegistry, Target::City)?;
    let r = body(payload)?;
    let request = format!("POST /units/{unit_id}/refund {r:?}");
    if !ledger_core::account::is_valid_id(&r.entry_id) {
        return Err(ApiError::invalid(format!(
            "field `entry_id`: expected an id matching [A-Za-z0-9._:-]{{1,64}}, found `{}`",
            r.entry_id
        )));
    }
    let day = date(&r.refunded_on, "refunded_on")?;
    let act = act(&caller, r.reason);
    idempotent(&state, &caller, &headers, request, async {
        json(StatusCode::OK, &state.store.refund_unit(&unit_id, &r.entry_id, day, &act).await?)
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The new street office (at least one of this and `company`).
    street_office: Option<String>,
    /// The new property company.
    company: Option<String>,
    /// The day the change takes effect (YYYY-MM-DD).
    effective_from: String,
    reason: Option<String>,
}

#[utoipa::path(post, path = "/estates/{id}/move", tag = "registry", request_body = MoveRequest, params(("id" = String, Path, description = "The estate"), ("Idempotency-Key" = Option<String>, Header, description = "Repeats return the first answer")), responses((status = 200, description = "Recorded (or already so)"), (status = 404, description = "No such estate", body = ApiError), (status = 409, description = "Dated before its latest change", body = ApiError), (status = 422, description = "Invalid input, naming the field", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Not a clerk or an admin", body = ApiError)))]
/// The estate's street office or property company changes from `effective_from`; decisions
/// before it keep the old one.
pub async fn move_estate(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(estate_id): Path<String>,
    payload: Result<Json<MoveRequest>, JsonRejection>,
) -> ApiResult {
    caller.may(Operation::ChangeRegistry, Target::City)?;
    let r = body(payload)?;
    let request = format!("POST /estates/{estate_id}/move {r:?}");
    if r.street_office.is_none() && r.company.is_none() {
        return Err(ApiError::invalid("fields `street_office` and `company`: give at least one"));
    }
    for (value, name) in [(&r.street_office, "street_office"), (&r.company, "company")] {
        if let Some(value) = value {
            named(value, name)?;
        }
    }
    let day = date(&r.effective_from, "effective_from")?;
    let change = Move { street_office: r.street_office.clone(), company: r.company.clone() };
    let act = act(&caller, r.reason.clone());
    idempotent(&state, &caller, &headers, request, async {
        json(StatusCode::OK, &state.store.move_estate(&estate_id, &change, day, &act).await?)
    })
    .await
}
