//! Bearer tokens: each request's token is hashed and looked up; roles and scopes decide.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use ledger_core::actor::{authorize, Actor, Operation, Target};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

/// The SHA-256 (hex) under which a token is stored.
pub fn token_hash(token: &str) -> String {
    token_hash_bytes(token.as_bytes())
}

/// SHA-256 (hex) of any bytes: a token, or an uploaded file named in an idempotency record.
pub(crate) fn token_hash_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The authenticated caller of a request, as core's typed actor.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

impl Caller {
    pub fn name(&self) -> &str {
        self.0.user()
    }

    /// Refuses (403) unless core's [`authorize`] lets the caller do `operation` to `target`.
    pub fn may(&self, operation: Operation, target: Target<'_>) -> Result<(), ApiError> {
        authorize(&self.0, operation, target).map_err(|denied| ApiError::forbidden(denied.to_string()))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).filter(|t| !t.is_empty());
        let token = token.ok_or_else(ApiError::unauthorized)?;
        let user = state.user(&token_hash(token)).await?.ok_or_else(ApiError::unauthorized)?;
        // A stored user that cannot act (a corrupt row) signs in as nobody.
        user.actor().map(Caller).map_err(|_| ApiError::unauthorized())
    }
}
