//! One error type for every endpoint: a stable `code`, a message a person can act on, and the
//! HTTP status. Internal errors are logged and never leaked.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger_core::drawdown::DrawdownError;
use ledger_store::StoreError;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    #[serde(skip)]
    #[schema(ignore)]
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer <token>`; `mfund user add` creates one",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(what) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("not found: {what}"))
            }
            StoreError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            StoreError::Refused(refused) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "import_refused", refused.to_string())
            }
            StoreError::Drawdown(rule) => rule.into(),
            StoreError::Allocation(rule) => crate::allocation::refusal(rule),
            StoreError::Denied(denied) => ApiError::forbidden(denied.to_string()),
            StoreError::NotWritten(why) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_written",
                format!("the write may not have been committed ({why}); sending the same request again is safe"),
            ),
            other => {
                tracing::error!("internal error: {other}");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; the server log has the details",
                )
            }
        }
    }
}

impl From<DrawdownError> for ApiError {
    fn from(rule: DrawdownError) -> ApiError {
        let (status, code) = match &rule {
            DrawdownError::Denied(_) => (StatusCode::FORBIDDEN, "forbidden"),
            DrawdownError::Transition { .. } => (StatusCode::CONFLICT, "invalid_transition"),
            DrawdownError::VoteNotPassed(_) => (StatusCode::CONFLICT, "vote_not_passed"),
            DrawdownError::Shortfall(_) => (StatusCode::CONFLICT, "shortfall"),
            _ => (StatusCode::UNPROCESSABLE_ENTITY, "rule_violation"),
        };
        ApiError::new(status, code, rule.to_string())
    }
}
