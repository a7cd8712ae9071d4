//! Bearer tokens: each request's token is hashed and looked up; roles and scopes decide.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use ledger_store::{User, ADMIN_ROLE};
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

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl Caller {
    pub fn is(&self, role: &str) -> bool {
        self.0.role == role
    }

    /// Refuses unless the caller has one of `roles` (admin always may).
    pub fn require(&self, roles: &[&str], what: &str) -> Result<(), ApiError> {
        if self.is(ADMIN_ROLE) || roles.contains(&self.0.role.as_str()) {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "{what} needs the role {}; `{}` is {}",
            roles.join(" or "),
            self.0.name,
            self.0.role
        )))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).filter(|t| !t.is_empty());
        let token = token.ok_or_else(ApiError::unauthorized)?;
        let user = state.user(&token_hash(token)).await?;
        user.map(Caller).ok_or_else(ApiError::unauthorized)
    }
}
