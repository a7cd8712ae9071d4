//! `POST /allocations` (结息到户, SPEC §6) and `GET /topup` (续筹, SPEC §7).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger_core::actor::{Operation, Target};
use ledger_core::allocation::{AllocationError, AllocationScope, Method, Request, Status, WithholdRate};
use ledger_core::{Account, Date, Money};
use ledger_store::{today, TopupFilter};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;

type ApiResult = Result<Response, ApiError>;

fn json<T: Serialize>(status: StatusCode, value: &T) -> ApiResult {
    Ok((status, Json(value)).into_response())
}

fn invalid(name: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("field `{name}`: {why}"))
}

fn date(text: &str, name: &str) -> Result<Date, ApiError> {
    Date::parse(text).map_err(|e| invalid(name, e))
}

/// An allocation rule's refusal as the API answers it: a clash with what is stored is a
/// conflict, the rest are rules the request broke.
pub(crate) fn refusal(rule: AllocationError) -> ApiError {
    let (status, code) = match &rule {
        AllocationError::DifferentParameters { .. } | AllocationError::EntryIdTaken(_) => {
            (StatusCode::CONFLICT, "conflict")
        }
        AllocationError::Denied(_) => (StatusCode::FORBIDDEN, "forbidden"),
        _ => (StatusCode::UNPROCESSABLE_ENTITY, "rule_violation"),
    };
    ApiError::new(status, code, rule.to_string())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
// An unknown field is refused, never ignored: a misspelt `estate` would allocate to the city.
#[serde(deny_unknown_fields)]
pub struct AllocationRequest {
    /// income:interest or income:common.
    source: String,
    /// The allocation's date D (YYYY-MM-DD).
    date: String,
    /// The entry id: the idempotency key.
    entry_id: String,
    /// balance-days, area or closing-balance (default by source).
    method: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// Yuan with at most 2 decimals; required with `estate` or `building`.
    amount: Option<String>,
    /// A decimal fraction 0 ≤ R < 1, at most 6 decimals.
    withhold_rate: Option<String>,
    estate: Option<String>,
    building: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

impl AllocationRequest {
    fn request(&self) -> Result<Request, ApiError> {
        let source: Account = self.source.parse().map_err(|e| invalid("source", e))?;
        let method = self
            .method
            .as_deref()
            .map(|m| {
                Method::parse(m).ok_or_else(|| invalid("method", "expected balance-days, area or closing-balance"))
            })
            .transpose()?;
        let scope = match (&self.estate, &self.building) {
            (Some(_), Some(_)) => return Err(ApiError::invalid("fields `estate` and `building`: give at most one")),
            (Some(e), None) => AllocationScope::Estate(e.clone()),
            (None, Some(b)) => AllocationScope::Building(b.clone()),
            (None, None) => AllocationScope::City,
        };
        Ok(Request {
            source,
            date: date(&self.date, "date")?,
            entry_id: self.entry_id.clone(),
            method,
            from: self.from.as_deref().map(|d| date(d, "from")).transpose()?,
            to: self.to.as_deref().map(|d| date(d, "to")).transpose()?,
            amount: self.amount.as_deref().map(|a| Money::parse(a).map_err(|e| invalid("amount", e))).transpose()?,
            withhold_rate: self
                .withhold_rate
                .as_deref()
                .map(|r| WithholdRate::parse(r).map_err(|e| invalid("withhold_rate", e)))
                .transpose()?,
            scope,
        })
    }
}

#[utoipa::path(post, path = "/allocations", tag = "allocations", request_body = AllocationRequest, responses((status = 201, description = "Posted: the SPEC §6 result {entry_id, source, method, from, to, amount, withheld, allocated, units, weights_total, shares}"), (status = 200, description = "Already posted with the same parameters (the first result), or a dry run"), (status = 409, description = "The entry id was used with other parameters (both shown) or by another entry", body = ApiError), (status = 422, description = "A field or a rule refuses it; nothing written", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Not a clerk or an admin", body = ApiError)))]
/// Allocates income:interest or income:common to the units (clerks and admins).
pub async fn allocate(
    State(state): State<AppState>,
    caller: Caller,
    payload: Result<Json<AllocationRequest>, JsonRejection>,
) -> ApiResult {
    caller.may(Operation::Allocate, Target::City)?;
    let body = crate::routes::body(payload)?;
    let request = body.request()?;
    // The entry id is the idempotency key: a repeat answers the first result by itself.
    let outcome = state.store.allocate(&request, &caller.0, today(), body.dry_run).await?;
    let status = if outcome.status == Status::Posted { StatusCode::CREATED } else { StatusCode::OK };
    json(status, &outcome.allocation)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopupQuery {
    /// Balances and first deposits as of the end of this day (YYYY-MM-DD).
    as_of: String,
    /// Only this estate's units.
    estate: Option<String>,
}

#[utoipa::path(get, path = "/topup", tag = "allocations", params(TopupQuery), responses((status = 200, description = "Units below 30 % of their first deposit: unit_id, owner, first_deposit, balance, due"), (status = 404, description = "No such estate", body = ApiError), (status = 422, description = "Bad date", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Outside the caller's role or scope", body = ApiError)))]
/// Top-up notices (续筹). A street office or a company asks for its own estate.
pub async fn topup_notices(State(state): State<AppState>, caller: Caller, Query(q): Query<TopupQuery>) -> ApiResult {
    let as_of = date(&q.as_of, "as_of")?;
    match &q.estate {
        None => caller.may(Operation::Read, Target::City)?,
        Some(estate_id) => {
            let estate = state.store.estate_offices(estate_id).await?.ok_or_else(|| {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("not found: estate `{estate_id}`"))
            })?;
            caller.may(Operation::Read, Target::Estate(&estate))?;
        }
    }
    let filter = TopupFilter { as_of, estate_id: q.estate };
    match state.store.topup_notices(&filter).await? {
        Some(notices) => json(StatusCode::OK, &notices),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "not found: the estate")),
    }
}
