//! API users and their bearer tokens (stored only as SHA-256 hex).

use serde::Serialize;

use crate::{dispatch, Store, StoreError};

/// Someone the API knows: a role, and for street offices and property companies the one
/// street office or company they act for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub role: String,
    pub scope: String,
}

pub const ROLES: [&str; 5] = ["clerk", "street_office", "property_company", "auditor", "admin"];

impl Store {
    /// Adds a user whose token hashes to `token_hash`; a name already taken is a conflict.
    pub async fn add_user(&self, user: &User, token_hash: &str) -> Result<(), StoreError> {
        if !ROLES.contains(&user.role.as_str()) {
            return Err(StoreError::Conflict(format!(
                "unknown role `{}`: expected one of {}",
                user.role,
                ROLES.join(", ")
            )));
        }
        let result = dispatch!(Pool, &self.pool, |p| {
            sqlx::query("INSERT INTO users (name, role, scope, token_hash) VALUES ($1, $2, $3, $4)")
                .bind(user.name.as_str())
                .bind(user.role.as_str())
                .bind(user.scope.as_str())
                .bind(token_hash)
                .execute(p)
                .await
                .map(|_| ())
        });
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Conflict(format!("user `{}` already exists", user.name)))
            }
            other => Ok(other?),
        }
    }

    pub async fn user_by_token_hash(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let row: Option<(String, String, String)> = dispatch!(Pool, &self.pool, |p| {
            sqlx::query_as("SELECT name, role, scope FROM users WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(p)
                .await?
        });
        Ok(row.map(|(name, role, scope)| User { name, role, scope }))
    }

    /// The street office and property company of an estate, for scope checks.
    pub async fn estate_offices(&self, estate_id: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(dispatch!(Pool, &self.pool, |p| {
            sqlx::query_as("SELECT street_office, property_company FROM estates WHERE estate_id = $1")
                .bind(estate_id)
                .fetch_optional(p)
                .await?
        }))
    }
}
