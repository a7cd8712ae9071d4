//! The fund's special accounts (专户) as configured facts: which `bank:` accounts the ledger
//! may post to, and which one payments leave from (the first configured).
//!
//! A `bank:` account used to exist as soon as one journal line named it, so a typo made a
//! second one and every payment stopped ("several bank: accounts"), forever, since accounts are
//! never removed. Now the list is kept here, append-only, each row with who added it and when:
//! by `mfund init --bank`, by the first import of a ledger that has none (its first `bank:`
//! account), or by an admin's `mfund bank add`. Import refuses a posting to any other.

use ledger_core::actor::{authorize, Actor, Operation, Target};
use ledger_core::Account;
use serde::Serialize;

use crate::{dispatch, Store, StoreError, Tx};

/// How a special account came to be configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BankAddedBy {
    /// `mfund init --bank`.
    Init,
    /// The first `bank:` account of the first import into a ledger without one.
    FirstImport,
    /// `mfund bank add`.
    Added,
}

impl BankAddedBy {
    fn as_str(self) -> &'static str {
        match self {
            BankAddedBy::Init => "init",
            BankAddedBy::FirstImport => "first_import",
            BankAddedBy::Added => "added",
        }
    }
}

/// One configured special account, as `mfund bank list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct BankAccount {
    /// 1 is the account payments leave from.
    pub position: i64,
    pub account: String,
    pub added_by: String,
    pub added_at: String,
    /// `init`, `first_import`, `added` or `carried_over` (a ledger of an earlier mfund).
    pub how: String,
}

/// The moment now in UTC, as the records of who did what keep it (`2025-01-02T03:04:05Z`).
pub(crate) fn now_utc() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let day = ledger_core::Date::from_days_since_epoch(now.div_euclid(86_400) as i32);
    let second = now.rem_euclid(86_400);
    format!("{day}T{:02}:{:02}:{:02}Z", second / 3600, second / 60 % 60, second % 60)
}

/// The configured special accounts, the payment account first.
pub(crate) async fn configured(tx: &mut Tx) -> Result<Vec<String>, StoreError> {
    Ok(dispatch!(Tx, tx, |t| {
        sqlx::query_scalar("SELECT account FROM fund_bank_accounts ORDER BY position").fetch_all(&mut **t).await?
    }))
}

/// Adds `account` (already checked to be a `bank:` account) at the end of the list.
pub(crate) async fn record(tx: &mut Tx, account: &str, actor: &str, how: BankAddedBy) -> Result<(), StoreError> {
    dispatch!(Tx, tx, |t| {
        sqlx::query(
            "INSERT INTO fund_bank_accounts (position, account, added_by, added_at, how) \
             SELECT COALESCE(MAX(position), 0) + 1, $1, $2, $3, $4 FROM fund_bank_accounts",
        )
        .bind(account)
        .bind(actor)
        .bind(now_utc())
        .bind(how.as_str())
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}

impl Store {
    /// Configures `number` as one of the fund's special accounts (an admin's act). Adding one
    /// already configured changes nothing. Returns the whole list.
    pub async fn add_bank_account(
        &self,
        actor: &Actor,
        number: &str,
        how: BankAddedBy,
    ) -> Result<Vec<BankAccount>, StoreError> {
        authorize(actor, Operation::ConfigureBank, Target::City).map_err(StoreError::Denied)?;
        let account = match format!("bank:{number}").parse::<Account>() {
            Ok(account @ Account::Bank(_)) => account.to_string(),
            _ => {
                return Err(StoreError::Conflict(format!(
                    "`{number}` is not a bank account number: expected an identifier [A-Za-z0-9._:-]{{1,64}}"
                )))
            }
        };
        let mut tx = self.begin_write().await?;
        if !configured(&mut tx).await?.contains(&account) {
            record(&mut tx, &account, actor.user(), how).await?;
        }
        tx.commit().await?;
        self.bank_accounts().await
    }

    /// The fund's configured special accounts, the payment account first.
    pub async fn bank_accounts(&self) -> Result<Vec<BankAccount>, StoreError> {
        Ok(dispatch!(Pool, &self.pool, |p| {
            sqlx::query_as(
                "SELECT position, account, added_by, added_at, how FROM fund_bank_accounts ORDER BY position",
            )
            .fetch_all(p)
            .await?
        }))
    }
}
