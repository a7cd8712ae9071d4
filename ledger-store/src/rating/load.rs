//! What the rating rules need, read from the database: the stored rows as core's types. Reads only.

use std::collections::BTreeMap;

use ledger_core::interchange::Located;
use ledger_core::rating::{
    Catalogue, Check, CheckScore, CreditScore, EstateFacts, ListAction, ListKind, ManualEntry, Moment, Month,
    StoredRatings, StoredScore, Ticket, TicketKind, YearResult,
};
use ledger_core::Date;
use rust_decimal::Decimal;

use crate::{dispatch, StoreError, Tx};

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(format!("rating records: {what}"))
}

fn month(text: &str) -> Result<Month, StoreError> {
    Month::parse(text).ok_or_else(|| corrupt(format!("month `{text}`")))
}

fn moment(text: &str) -> Result<Moment, StoreError> {
    Moment::parse(text).ok_or_else(|| corrupt(format!("time `{text}`")))
}

/// The catalogue imported last, if any.
pub(super) async fn catalogue(tx: &mut Tx) -> Result<Option<Catalogue>, StoreError> {
    let json: Option<String> = dispatch!(Tx, tx, |t| {
        sqlx::query_scalar("SELECT indicators_json FROM rating_catalogues ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **t)
            .await?
    });
    json.map(|j| serde_json::from_str(&j).map_err(|e| corrupt(format!("catalogue: {e}")))).transpose()
}

type ScoreRow = (String, String, String, String, i64, String);

/// Checks whose month is within `from..=to` (`YYYY-MM` text sorts as time), grouped by check.
pub(super) async fn checks(tx: &mut Tx, from: &str, to: &str) -> Result<Vec<Check>, StoreError> {
    let rows: Vec<ScoreRow> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT check_id, indicator_id, estate_id, month, score_tenths, inspector FROM rating_checks \
             WHERE month >= $1 AND month <= $2 ORDER BY check_id, indicator_id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&mut **t)
        .await?
    });
    let mut checks: Vec<Check> = Vec::new();
    for (check_id, indicator_id, estate_id, month_text, tenths, inspector) in rows {
        let score = CheckScore { indicator_id, score: Decimal::new(tenths, 1), inspector };
        match checks.last_mut().filter(|c| c.check_id == check_id) {
            Some(check) => check.scores.push(Located { line: 0, value: score }),
            None => checks.push(Check {
                check_id,
                estate_id,
                month: month(&month_text)?,
                line: 0,
                scores: vec![Located { line: 0, value: score }],
            }),
        }
    }
    Ok(checks)
}

type TicketRow = (String, String, String, String, Option<String>, Option<String>);

/// Tickets opened at or after `from` (`YYYY-MM-DD…` text sorts as time).
pub(super) async fn tickets(tx: &mut Tx, from: &str) -> Result<Vec<Ticket>, StoreError> {
    let rows: Vec<TicketRow> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT ticket_id, estate_id, kind, opened_at, responded_at, closed_at FROM rating_tickets \
             WHERE opened_at >= $1 ORDER BY ticket_id",
        )
        .bind(from)
        .fetch_all(&mut **t)
        .await?
    });
    rows.into_iter()
        .map(|(ticket_id, estate_id, kind, opened, responded, closed)| {
            Ok(Ticket {
                kind: TicketKind::parse(&kind).ok_or_else(|| corrupt(format!("ticket kind `{kind}`")))?,
                opened_at: moment(&opened)?,
                responded_at: responded.as_deref().map(moment).transpose()?,
                closed_at: closed.as_deref().map(moment).transpose()?,
                ticket_id,
                estate_id,
            })
        })
        .collect()
}

pub(super) async fn credit_scores(tx: &mut Tx) -> Result<Vec<CreditScore>, StoreError> {
    let rows: Vec<(String, i32, i64)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as("SELECT company, year, score_centi FROM rating_credit_scores ORDER BY company, year")
            .fetch_all(&mut **t)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(|(company, year, centi)| CreditScore { company, year, score: Decimal::new(centi, 2) })
        .collect())
}

/// Every registered estate with its company and floor area.
pub(super) async fn estates(tx: &mut Tx) -> Result<Vec<EstateFacts>, StoreError> {
    let rows: Vec<(String, String, i64)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT e.estate_id, e.property_company, \
             CAST(COALESCE(SUM(u.floor_area_centi_m2), 0) AS BIGINT) \
             FROM estates e LEFT JOIN buildings b ON b.estate_id = e.estate_id \
             LEFT JOIN units u ON u.building_id = b.building_id \
             GROUP BY e.estate_id, e.property_company ORDER BY e.estate_id",
        )
        .fetch_all(&mut **t)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(estate_id, company, area)| EstateFacts { estate_id, company, floor_area_centi_m2: area })
        .collect())
}

/// Everything an import is judged against.
pub(super) async fn stored(tx: &mut Tx) -> Result<StoredRatings, StoreError> {
    let mut stored = StoredRatings::default();
    let estates: Vec<(String, String)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as("SELECT estate_id, property_company FROM estates").fetch_all(&mut **t).await?
    });
    for (estate, company) in estates {
        stored.estates.insert(estate);
        stored.companies.insert(company);
    }
    stored.catalogue = catalogue(tx).await?;
    for check in checks(tx, "0000-00", "9999-99").await? {
        stored.check_of_month.insert((check.estate_id.clone(), check.month), check.check_id.clone());
        for s in check.scores {
            let score = StoredScore {
                estate_id: check.estate_id.clone(),
                month: check.month,
                score: s.value.score,
                inspector: s.value.inspector,
            };
            stored.scores.insert((check.check_id.clone(), s.value.indicator_id), score);
        }
    }
    for ticket in tickets(tx, "").await? {
        stored.tickets.insert(ticket.ticket_id.clone(), ticket);
    }
    for c in credit_scores(tx).await? {
        stored.credit_scores.insert((c.company, c.year), c.score);
    }
    Ok(stored)
}

/// A published year as stored.
#[derive(Debug, Clone)]
pub struct PublishedYear {
    pub result: YearResult,
    pub published_by: String,
    /// The rules file's text as given (empty: the defaults).
    pub rules_toml: String,
}

pub(super) async fn published(tx: &mut Tx, year: i32) -> Result<Option<PublishedYear>, StoreError> {
    let row: Option<(String, String, String)> = dispatch!(Tx, tx, |t| {
        sqlx::query_as("SELECT result_json, published_by, rules_toml FROM rating_years WHERE year = $1")
            .bind(year)
            .fetch_optional(&mut **t)
            .await?
    });
    row.map(|(json, published_by, rules_toml)| {
        let result = serde_json::from_str(&json).map_err(|e| corrupt(format!("published year {year}: {e}")))?;
        Ok(PublishedYear { result, published_by, rules_toml })
    })
    .transpose()
}

pub(super) async fn published_years(tx: &mut Tx) -> Result<Vec<i32>, StoreError> {
    Ok(dispatch!(Tx, tx, |t| {
        sqlx::query_scalar("SELECT year FROM rating_years ORDER BY year").fetch_all(&mut **t).await?
    }))
}

type EntryRow = (String, i32, String, String, String, String, String);

pub(super) async fn list_entries(tx: &mut Tx, year: i32) -> Result<Vec<ManualEntry>, StoreError> {
    let rows: Vec<EntryRow> = dispatch!(Tx, tx, |t| {
        sqlx::query_as(
            "SELECT company, year, list, action, reason, entered_by, entered_on FROM rating_list_entries \
             WHERE year = $1 ORDER BY seq",
        )
        .bind(year)
        .fetch_all(&mut **t)
        .await?
    });
    rows.into_iter()
        .map(|(company, year, list, action, reason, by, on)| {
            Ok(ManualEntry {
                list: ListKind::parse(&list).ok_or_else(|| corrupt(format!("list `{list}`")))?,
                action: ListAction::parse(&action).ok_or_else(|| corrupt(format!("action `{action}`")))?,
                on: Date::parse(&on).map_err(|e| corrupt(e.to_string()))?,
                company,
                year,
                reason,
                by,
            })
        })
        .collect()
}

/// The checked months of one estate, as core's checks.
pub(super) async fn checks_of_estate(tx: &mut Tx, estate_id: &str) -> Result<BTreeMap<Month, Check>, StoreError> {
    let all = checks(tx, "0000-00", "9999-99").await?;
    Ok(all.into_iter().filter(|c| c.estate_id == estate_id).map(|c| (c.month, c)).collect())
}
