//! Top-up notices (续筹, SPEC §7) read from the ledger: each unit's balance and first deposit as
//! of a day; core decides who is below 30 % and what is due.

use std::collections::HashMap;

use ledger_core::allocation::topup::{first_deposits, notices, DepositCredit, Notice, UnitStanding};
use ledger_core::{Date, Money};

use crate::{dispatch, Store, StoreError, Tx};

/// Which notices: as of the end of a day, for the whole city or one estate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopupFilter {
    pub as_of: Date,
    pub estate_id: Option<String>,
}

type UnitRow = (String, String);
type DepositRow = (String, String, String, i64);

async fn read(tx: &mut Tx, filter: &TopupFilter) -> Result<Vec<Notice>, StoreError> {
    let as_of = filter.as_of.to_string();
    let estate = filter.estate_id.as_deref().unwrap_or("");
    let (units, balances, deposits): (Vec<UnitRow>, Vec<(String, i64)>, Vec<DepositRow>) = dispatch!(Tx, tx, |t| (
        sqlx::query_as(
            "SELECT u.unit_id, u.owner FROM units u JOIN buildings b ON b.building_id = u.building_id \
             WHERE $1 = '' OR b.estate_id = $1",
        )
        .bind(estate)
        .fetch_all(&mut **t)
        .await?,
        sqlx::query_as(
            "SELECT a.account, CAST(SUM(p.credit_fen - p.debit_fen) AS BIGINT) FROM postings p \
             JOIN entries e ON e.seq = p.entry_seq JOIN accounts a ON a.account_id = p.account_id \
             WHERE e.entry_date <= $1 AND a.account LIKE 'unit:%' GROUP BY a.account",
        )
        .bind(as_of.as_str())
        .fetch_all(&mut **t)
        .await?,
        sqlx::query_as(
            "SELECT a.account, e.entry_date, e.entry_id, CAST(SUM(p.credit_fen) AS BIGINT) FROM entries e \
             JOIN postings p ON p.entry_seq = e.seq JOIN accounts a ON a.account_id = p.account_id \
             WHERE e.kind = 'deposit' AND e.entry_date <= $1 AND p.credit_fen > 0 AND a.account LIKE 'unit:%' \
             GROUP BY a.account, e.seq, e.entry_date, e.entry_id",
        )
        .bind(as_of.as_str())
        .fetch_all(&mut **t)
        .await?,
    ));
    let unit_of = |account: String| account.strip_prefix("unit:").map(str::to_owned);
    let balances: HashMap<String, i64> =
        balances.into_iter().filter_map(|(account, fen)| Some((unit_of(account)?, fen))).collect();
    let mut credits = Vec::with_capacity(deposits.len());
    for (account, date, entry_id, credit_fen) in deposits {
        let date = Date::parse(&date).map_err(|_| StoreError::Corrupt(format!("entry `{entry_id}`: date")))?;
        if let Some(unit_id) = unit_of(account) {
            credits.push(DepositCredit { unit_id, date, entry_id, credit_fen });
        }
    }
    let first = first_deposits(credits);
    Ok(notices(units.into_iter().map(|(unit_id, owner)| UnitStanding {
        balance: Money::from_fen(balances.get(&unit_id).copied().unwrap_or(0)),
        first_deposit: first.get(&unit_id).copied(),
        unit_id,
        owner,
    })))
}

impl Store {
    /// Every unit (of the estate, if given) whose balance as of the day is below 30 % of its
    /// first deposit, sorted by `unit_id`. `None` when the estate is not registered.
    pub async fn topup_notices(&self, filter: &TopupFilter) -> Result<Option<Vec<Notice>>, StoreError> {
        let mut tx = self.begin_read().await?;
        if let Some(estate) = &filter.estate_id {
            let count: i64 = dispatch!(Tx, &mut tx, |t| {
                sqlx::query_scalar("SELECT COUNT(*) FROM estates WHERE estate_id = $1")
                    .bind(estate)
                    .fetch_one(&mut **t)
                    .await?
            });
            if count == 0 {
                tx.commit().await?;
                return Ok(None);
            }
        }
        let found = read(&mut tx, filter).await;
        tx.commit().await?;
        found.map(Some)
    }
}
