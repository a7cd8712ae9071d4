//! API users and their bearer tokens (stored only as SHA-256 hex).

use ledger_core::actor::{Actor, Role, Scope};
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

/// The first answer to a request sent with an Idempotency-Key, and what that request was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAnswer {
    /// Endpoint and content of the request, to refuse the same key for another request.
    pub request: String,
    pub status: u16,
    pub body: String,
    /// When it was kept, in seconds since 1970.
    pub kept_at: i64,
}

impl User {
    /// The user as core's typed actor: the role an enum, the scope a typed office or company.
    pub fn actor(&self) -> Result<Actor, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt(format!("user `{}`: {what}", self.name));
        let role = Role::parse(&self.role).ok_or_else(|| corrupt(format!("unknown role `{}`", self.role)))?;
        // A city-wide role acts for the whole city whatever scope an older version stored with it.
        let scope = match role {
            Role::StreetOffice | Role::PropertyCompany => {
                Scope::for_role(role, &self.scope).map_err(|e| corrupt(e.to_string()))?
            }
            _ => Scope::City,
        };
        Actor::new(&self.name, role, scope).map_err(|e| corrupt(e.to_string()))
    }
}

impl Store {
    /// Adds a user whose token hashes to `token_hash`; a name already taken is a conflict.
    pub async fn add_user(&self, user: &User, token_hash: &str) -> Result<(), StoreError> {
        let Some(role) = Role::parse(&user.role) else {
            let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            return Err(StoreError::Conflict(format!(
                "unknown role `{}`: expected one of {}",
                user.role,
                roles.join(", ")
            )));
        };
        // A street office or a property company acts for one office or company: without a
        // scope its token would match nothing (or, worse, read as "any").
        Scope::for_role(role, &user.scope).map_err(|e| StoreError::Conflict(e.to_string()))?;
        if user.name.trim() != user.name || user.name.is_empty() {
            return Err(StoreError::Conflict(format!("user name `{}`: no surrounding spaces, not empty", user.name)));
        }
        let result = dispatch!(Pool, &self.pool, |p| {
            sqlx::query("INSERT INTO users (name, role, scope, token_hash) VALUES ($1, $2, $3, $4)")
                .bind(user.name.as_str())
                .bind(user.role.as_str())
                .bind(user.scope.trim())
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
            sqlx::query_as("SELECT name, role, scope FROM users WHERE token_hash = $1 AND NOT revoked")
                .bind(token_hash)
                .fetch_optional(p)
                .await?
        });
        Ok(row.map(|(name, role, scope)| User { name, role, scope }))
    }

    /// Revokes a user's token: from now on it no longer signs in (servers that cached the user
    /// notice within their cache's lifetime). Revoking twice is not an error.
    pub async fn revoke_user(&self, name: &str) -> Result<(), StoreError> {
        let revoked = dispatch!(Pool, &self.pool, |p| {
            sqlx::query("UPDATE users SET revoked = TRUE WHERE name = $1").bind(name).execute(p).await?.rows_affected()
        });
        if revoked == 0 {
            return Err(StoreError::NotFound(format!("user `{name}`")));
        }
        Ok(())
    }

    /// Every user, by name, with whether its token was revoked.
    pub async fn users(&self) -> Result<Vec<(User, bool)>, StoreError> {
        let rows: Vec<(String, String, String, bool)> = dispatch!(Pool, &self.pool, |p| {
            sqlx::query_as("SELECT name, role, scope, revoked FROM users ORDER BY name").fetch_all(p).await?
        });
        Ok(rows.into_iter().map(|(name, role, scope, revoked)| (User { name, role, scope }, revoked)).collect())
    }

    /// The answer first given to `user`'s request with this Idempotency-Key, if it was kept
    /// at or after `kept_since` (seconds since 1970).
    pub async fn idempotent_answer(
        &self,
        user: &str,
        key: &str,
        kept_since: i64,
    ) -> Result<Option<KeptAnswer>, StoreError> {
        let row: Option<(String, i64, String, i64)> = dispatch!(Pool, &self.pool, |p| {
            sqlx::query_as(
                "SELECT request, status, body, kept_at FROM idempotency_answers \
                 WHERE user_name = $1 AND key = $2 AND kept_at >= $3",
            )
            .bind(user)
            .bind(key)
            .bind(kept_since)
            .fetch_optional(p)
            .await?
        });
        Ok(row.map(|(request, status, body, kept_at)| KeptAnswer {
            request,
            status: u16::try_from(status).unwrap_or(500),
            body,
            kept_at,
        }))
    }

    /// Keeps an answer for `user`'s Idempotency-Key unless one kept since `kept_since` exists
    /// (an older one is replaced), and returns the one kept: of two requests racing with the
    /// same key, both get the first answer.
    pub async fn keep_idempotent_answer(
        &self,
        user: &str,
        key: &str,
        answer: &KeptAnswer,
        kept_since: i64,
    ) -> Result<KeptAnswer, StoreError> {
        dispatch!(Pool, &self.pool, |p| {
            sqlx::query(
                "INSERT INTO idempotency_answers (user_name, key, request, status, body, kept_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_name, key) DO UPDATE SET \
                 request = excluded.request, status = excluded.status, body = excluded.body, kept_at = excluded.kept_at \
                 WHERE idempotency_answers.kept_at < $7",
            )
            .bind(user)
            .bind(key)
            .bind(answer.request.as_str())
            .bind(i64::from(answer.status))
            .bind(answer.body.as_str())
            .bind(answer.kept_at)
            .bind(kept_since)
            .execute(p)
            .await?;
        });
        let kept = self.idempotent_answer(user, key, kept_since).await?;
        kept.ok_or_else(|| StoreError::Corrupt(format!("idempotency answer `{key}` of `{user}` vanished")))
    }

    /// Forgets the idempotency answers kept before `kept_before` (seconds since 1970); returns
    /// how many.
    pub async fn forget_idempotent_answers(&self, kept_before: i64) -> Result<u64, StoreError> {
        Ok(dispatch!(Pool, &self.pool, |p| {
            sqlx::query("DELETE FROM idempotency_answers WHERE kept_at < $1")
                .bind(kept_before)
                .execute(p)
                .await?
                .rows_affected()
        }))
    }
}
