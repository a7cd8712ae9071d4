//! Service ratings over HTTP (SPEC §9): a street office records its estates' monthly checks,
//! an admin publishes a year, and anyone, without a token, reads a published year's stars,
//! grades and lists.

use std::collections::BTreeMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger_core::actor::{Operation, Target};
use ledger_core::rating::{RatingBytes, Rules, CHECK_COLUMNS};
use ledger_core::Date;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;

type ApiResult = Result<Response, ApiError>;

fn json<T: Serialize>(status: StatusCode, value: &T) -> ApiResult {
    Ok((status, Json(value)).into_response())
}

fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload.map(|Json(v)| v).map_err(|rejection| {
        let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE { "body_too_large" } else { "invalid_input" };
        ApiError::new(rejection.status(), code, rejection.body_text())
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    check_id: String,
    estate_id: String,
    /// `YYYY-MM`.
    month: String,
    inspector: String,
    /// Every indicator of the catalogue once, as text with at most 1 decimal (`"4.5"`).
    scores: BTreeMap<String, String>,
}

/// One field of a CSV row: quoted when it must be, so the file reader sees the text as sent.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[utoipa::path(post, path = "/ratings/checks", tag = "ratings", request_body = CheckRequest, responses((status = 201, description = "Recorded"), (status = 200, description = "Already recorded identically"), (status = 422, description = "Not a full check (an indicator missing or twice, a score above its points or with 2 decimals, an unknown estate), or another check of the month is recorded", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Not the estate's street office", body = ApiError)))]
/// A month's full check of an estate, by its street office: every indicator scored once.
pub async fn record_check(
    State(state): State<AppState>,
    caller: Caller,
    payload: Result<Json<CheckRequest>, JsonRejection>,
) -> ApiResult {
    let r = body(payload)?;
    let mut csv = CHECK_COLUMNS.join(",") + "\n";
    for (indicator, score) in &r.scores {
        let row = [&r.check_id, &r.estate_id, &r.month, indicator, score, &r.inspector].map(|f| csv_field(f));
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    let files = RatingBytes { checks: Some(csv.into_bytes()), ..RatingBytes::default() };
    // The row-by-row reader's message, without the file position of a body that is not a file.
    let outcome =
        state.store.import_ratings(&files, &caller.0).await?.map_err(|e| ApiError::invalid(e.kind.to_string()))?;
    let status = if outcome.checks > 0 { StatusCode::CREATED } else { StatusCode::OK };
    json(
        status,
        &serde_json::json!({ "recorded": outcome.checks, "already_stored": outcome.already_stored, "after_publication": outcome.after_publication }),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    year: i32,
    /// The day of publication, `YYYY-MM-DD`.
    date: String,
    /// The city's rules as TOML (SPEC §9's names); the defaults when left out.
    rules_toml: Option<String>,
}

#[utoipa::path(post, path = "/ratings/publish", tag = "ratings", request_body = PublishRequest, responses((status = 201, description = "Published: the report of SPEC §9"), (status = 200, description = "Published before: the year as first published, nothing changed"), (status = 422, description = "Bad date or rules", body = ApiError), (status = 401, description = "No or unknown bearer token", body = ApiError), (status = 403, description = "Not an admin", body = ApiError)))]
/// Publishes a year once (admins only).
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    payload: Result<Json<PublishRequest>, JsonRejection>,
) -> ApiResult {
    caller.may(Operation::PublishRatings, Target::City)?;
    let r = body(payload)?;
    let date = Date::parse(&r.date).map_err(|e| ApiError::invalid(format!("field `date`: {e}")))?;
    let text = r.rules_toml.unwrap_or_default();
    let rules = Rules::from_toml("rules_toml", &text).map_err(|e| ApiError::invalid(e.to_string()))?;
    let published = state.store.publish_ratings(r.year, date, &rules, &text, &caller.0).await?;
    let status = if published.newly { StatusCode::CREATED } else { StatusCode::OK };
    json(status, &published.result)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicEstate {
    estate_id: String,
    company: String,
    stars: Option<u8>,
    annual_total: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicCompany {
    company: String,
    weighted_total: Option<String>,
    grade: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicList {
    company: String,
    list: String,
    rules: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicYear {
    year: i32,
    published_on: String,
    estates: Vec<PublicEstate>,
    companies: Vec<PublicCompany>,
    lists: Vec<PublicList>,
}

#[utoipa::path(get, path = "/ratings/{year}", tag = "ratings", params(("year" = i32, Path)), responses((status = 200, description = "Every estate's stars, the grades and the lists in force; public, no token", body = PublicYear), (status = 404, description = "Not published", body = ApiError)))]
/// A published year, for everyone: no token needed.
pub async fn public_year(State(state): State<AppState>, Path(year): Path<i32>) -> ApiResult {
    let Some(published) = state.store.rating_year(year).await? else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("year {year} is not published")));
    };
    let lists = state.store.rating_lists(year).await?;
    let two = |v: Option<rust_decimal::Decimal>| v.map(|v| ledger_core::rating::decimal::fixed(v, 2));
    let r = published.result;
    let answer = PublicYear {
        year,
        published_on: r.published_on.to_string(),
        estates: r
            .estates
            .iter()
            .map(|e| PublicEstate {
                estate_id: e.estate_id.clone(),
                company: e.company.clone(),
                stars: e.stars,
                annual_total: two(e.annual_total),
            })
            .collect(),
        companies: r
            .companies
            .iter()
            .map(|c| PublicCompany {
                company: c.company.clone(),
                weighted_total: two(c.weighted_total),
                grade: c.grade.map(|g| g.as_str().to_owned()),
            })
            .collect(),
        lists: lists
            .in_force
            .into_iter()
            .map(|l| PublicList { company: l.company, list: l.list.as_str().to_owned(), rules: l.rules })
            .collect(),
    };
    json(StatusCode::OK, &answer)
}
