//! Service ratings (SPEC §9) in the database: checks, tickets, credit scores, the catalogue in
//! force, published years and the clerk's list entries, all append-only.
//!
//! The store decides nothing here either: core's `plan_import` judges an import against the
//! loaded rows, core's `publish` computes a year from them, and the store keeps the result. A
//! published year is never recomputed: a later check changes no published figure.

mod load;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use ledger_core::actor::{authorize, Actor, CompanyId, EstateOffices, Operation, StreetOfficeId, Target};
use ledger_core::rating::{
    fee_float_of, lists_in_force, order_outcome, plan_import, publish, Check, EstateRating, ListAction, ListedCompany,
    ManualEntry, Month, MonthlyScores, Outcome, RatingBytes, RatingImport, RatingInputError, Rules, YearInput,
    YearResult, YEARS,
};
use ledger_core::Date;
use rust_decimal::Decimal;
use serde::Serialize;

pub use load::PublishedYear;

use crate::{dispatch, Store, StoreError, Tx};

/// Rows of one multi-row INSERT.
const ROWS_PER_INSERT: usize = 100;

/// What a rating import recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RatingImportOutcome {
    pub checks: usize,
    pub tickets: usize,
    pub credit_scores: usize,
    /// Whether `indicators.csv` replaced the catalogue in force.
    pub catalogue: bool,
    /// Rows already recorded identically, skipped.
    pub already_stored: usize,
    /// Checks (estate, month) of years already published: recorded, but they change no
    /// published figure.
    pub after_publication: Vec<String>,
}

/// A year's publication as the caller gets it.
#[derive(Debug, Clone)]
pub struct Publication {
    pub result: YearResult,
    pub published_by: String,
    /// False when the year was published before: nothing changed.
    pub newly: bool,
}

/// One published year of an estate, with its order's outcome on the day asked.
#[derive(Debug, Clone, Serialize)]
pub struct EstateYear {
    pub year: i32,
    pub published_on: Date,
    pub rating: EstateRating,
    pub order_outcome_now: Option<Outcome>,
}

/// A checked month of an estate.
#[derive(Debug, Clone, Serialize)]
pub struct MonthView {
    pub month: String,
    pub check_id: String,
    pub total: String,
    /// `response.1` as the month's tickets gave it, in place of the inspector's score.
    pub response_from_tickets: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EstateRatingView {
    pub estate_id: String,
    pub company: String,
    pub street_office: String,
    pub as_of: Date,
    pub years: Vec<EstateYear>,
    pub months: Vec<MonthView>,
}

/// A year's lists: the published ones, the clerk's entries, and the lists in force.
#[derive(Debug, Clone, Serialize)]
pub struct YearLists {
    pub year: i32,
    pub published: bool,
    pub in_force: Vec<ListedCompany>,
    pub manual_entries: Vec<ManualEntry>,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn denied(error: ledger_core::actor::Denied) -> StoreError {
    StoreError::Denied(error)
}

impl Store {
    /// Imports whichever of the four rating files were given: judged whole against the stored
    /// rows by core, then written in one transaction; rows already recorded identically are
    /// skipped. A clerk imports everything; a street office only its own estates' checks.
    /// The inner error is the first problem of form, with file, line and column.
    pub async fn import_ratings(
        &self,
        files: &RatingBytes,
        actor: &Actor,
    ) -> Result<Result<RatingImportOutcome, RatingInputError>, StoreError> {
        let mut tx = self.begin_write().await?;
        let stored = load::stored(&mut tx).await?;
        let plan = match plan_import(&stored, files) {
            Ok(plan) => plan,
            Err(error) => return Ok(Err(error)),
        };
        authorize_import(&mut tx, &plan, actor).await?;
        let published = load::published_years(&mut tx).await?;
        let now = unix_now();
        let mut outcome = RatingImportOutcome {
            checks: plan.checks.len(),
            tickets: plan.tickets.len(),
            credit_scores: plan.credit_scores.len(),
            catalogue: plan.catalogue.is_some(),
            already_stored: plan.already_stored,
            after_publication: Vec::new(),
        };
        for check in &plan.checks {
            if published.contains(&check.month.year()) {
                outcome.after_publication.push(format!("{} {}", check.estate_id, check.month));
            }
        }
        write_import(&mut tx, &plan, actor.user(), now).await?;
        tx.commit().await?;
        Ok(Ok(outcome))
    }

    /// Publishes year `year` on `on` with `rules` (`rules_toml` is the file's text, empty for
    /// the defaults): computed from the stored rows by core and kept. Publishing a year again
    /// changes nothing and answers the year as first published.
    pub async fn publish_ratings(
        &self,
        year: i32,
        on: Date,
        rules: &Rules,
        rules_toml: &str,
        actor: &Actor,
    ) -> Result<Publication, StoreError> {
        authorize(actor, Operation::PublishRatings, Target::City).map_err(denied)?;
        if !YEARS.contains(&year) {
            return Err(StoreError::Conflict(format!(
                "a rating year is from {} to {}, not {year}",
                YEARS.start(),
                YEARS.end()
            )));
        }
        if on.ymd().0 <= year {
            return Err(StoreError::Conflict(format!("year {year} is published after it ends, not on {on}")));
        }
        let mut tx = self.begin_write().await?;
        if let Some(first) = load::published(&mut tx, year).await? {
            return Ok(Publication { result: first.result, published_by: first.published_by, newly: false });
        }
        let result = compute(&mut tx, year, on, rules).await?;
        let rules_json = serde_json::to_string(&result.rules).expect("rules serialise");
        let result_json = serde_json::to_string(&result).expect("a result serialises");
        dispatch!(Tx, &mut *tx, |t| {
            sqlx::query(
                "INSERT INTO rating_years (year, published_on, published_by, rules_toml, rules_json, result_json, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(year)
            .bind(on.to_string())
            .bind(actor.user())
            .bind(rules_toml)
            .bind(&rules_json)
            .bind(&result_json)
            .bind(unix_now())
            .execute(&mut **t)
            .await?;
        });
        tx.commit().await?;
        Ok(Publication { result, published_by: actor.user().to_owned(), newly: true })
    }

    /// What publishing `year` on `on` would give now, written nowhere.
    pub async fn preview_ratings(&self, year: i32, on: Date, rules: &Rules) -> Result<YearResult, StoreError> {
        let mut tx = self.begin_read().await?;
        let result = compute(&mut tx, year, on, rules).await?;
        tx.commit().await?;
        Ok(result)
    }

    /// A published year, if it is.
    pub async fn rating_year(&self, year: i32) -> Result<Option<PublishedYear>, StoreError> {
        let mut tx = self.begin_read().await?;
        let published = load::published(&mut tx, year).await?;
        tx.commit().await?;
        Ok(published)
    }

    /// The year's lists in force: the published ones with the clerk's entries applied in order.
    pub async fn rating_lists(&self, year: i32) -> Result<YearLists, StoreError> {
        let mut tx = self.begin_read().await?;
        let published = load::published(&mut tx, year).await?;
        let manual = load::list_entries(&mut tx, year).await?;
        tx.commit().await?;
        Ok(year_lists(year, published.as_ref().map(|p| &p.result), manual))
    }

    /// Records a clerk's addition to or removal from a list, with who, when and why. Adding a
    /// company already on that list, or removing one that is not, is refused.
    pub async fn add_list_entry(&self, entry: &ManualEntry, actor: &Actor) -> Result<YearLists, StoreError> {
        authorize(actor, Operation::EditRatingLists, Target::City).map_err(denied)?;
        if entry.reason.trim().is_empty() {
            return Err(StoreError::Conflict("a list entry needs a reason".to_owned()));
        }
        let mut tx = self.begin_write().await?;
        let serves: Option<String> = dispatch!(Tx, &mut *tx, |t| {
            sqlx::query_scalar("SELECT estate_id FROM estates WHERE property_company = $1 LIMIT 1")
                .bind(&entry.company)
                .fetch_optional(&mut **t)
                .await?
        });
        if serves.is_none() {
            return Err(StoreError::NotFound(format!("company `{}` serves no registered estate", entry.company)));
        }
        let published = load::published(&mut tx, entry.year).await?;
        let mut manual = load::list_entries(&mut tx, entry.year).await?;
        let before = year_lists(entry.year, published.as_ref().map(|p| &p.result), manual.clone());
        let listed = before.in_force.iter().any(|l| l.company == entry.company && l.list == entry.list);
        match (entry.action, listed) {
            (ListAction::Add, true) => {
                return Err(StoreError::Conflict(format!(
                    "`{}` is on the {} list of {} already",
                    entry.company,
                    entry.list.as_str(),
                    entry.year
                )))
            }
            (ListAction::Remove, false) => {
                return Err(StoreError::Conflict(format!(
                    "`{}` is not on the {} list of {}",
                    entry.company,
                    entry.list.as_str(),
                    entry.year
                )))
            }
            _ => {}
        }
        dispatch!(Tx, &mut *tx, |t| {
            sqlx::query(
                "INSERT INTO rating_list_entries (company, year, list, action, reason, entered_by, entered_on, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&entry.company)
            .bind(entry.year)
            .bind(entry.list.as_str())
            .bind(entry.action.as_str())
            .bind(entry.reason.trim())
            .bind(actor.user())
            .bind(entry.on.to_string())
            .bind(unix_now())
            .execute(&mut **t)
            .await?;
        });
        tx.commit().await?;
        manual.push(ManualEntry {
            by: actor.user().to_owned(),
            reason: entry.reason.trim().to_owned(),
            ..entry.clone()
        });
        Ok(year_lists(entry.year, published.as_ref().map(|p| &p.result), manual))
    }

    /// An estate's published years (with its orders' outcomes on `as_of`) and checked months.
    pub async fn estate_rating(&self, estate_id: &str, as_of: Date) -> Result<EstateRatingView, StoreError> {
        let mut tx = self.begin_read().await?;
        let offices: Option<(String, String)> = dispatch!(Tx, &mut tx, |t| {
            sqlx::query_as("SELECT street_office, property_company FROM estates WHERE estate_id = $1")
                .bind(estate_id)
                .fetch_optional(&mut **t)
                .await?
        });
        let (street_office, company) =
            offices.ok_or_else(|| StoreError::NotFound(format!("estate `{estate_id}` is not registered")))?;
        let mut years = Vec::new();
        for year in load::published_years(&mut tx).await? {
            years.extend(load::published(&mut tx, year).await?);
        }
        let catalogue = load::catalogue(&mut tx).await?.unwrap_or_default();
        let checks: BTreeMap<Month, Check> = load::checks_of_estate(&mut tx, estate_id).await?;
        let tickets = load::tickets(&mut tx, "").await?;
        tx.commit().await?;
        let rules = years.last().map_or_else(Rules::default, |y| y.result.rules.rules());
        let checks: Vec<Check> = checks.into_values().collect();
        let own_tickets: Vec<_> = tickets.into_iter().filter(|t| t.estate_id == estate_id).collect();
        let monthly = MonthlyScores::new(&checks, &own_tickets, &catalogue, &rules);
        let months = checks
            .iter()
            .map(|c| {
                let score = monthly.0[&(c.estate_id.clone(), c.month)];
                MonthView {
                    month: c.month.to_string(),
                    check_id: c.check_id.clone(),
                    total: ledger_core::rating::decimal::fixed(score.total, 1),
                    response_from_tickets: score
                        .response_from_tickets
                        .map(|r| ledger_core::rating::decimal::fixed(r, 1)),
                }
            })
            .collect();
        let years = years
            .into_iter()
            .filter_map(|y| {
                let rating = y.result.estates.iter().find(|e| e.estate_id == estate_id)?.clone();
                let order = y.result.orders().into_iter().find(|o| o.estate_id == estate_id);
                let outcome = order.map(|o| order_outcome(&o, as_of, &monthly, &y.result.rules.rules()));
                Some(EstateYear {
                    year: y.result.year,
                    published_on: y.result.published_on,
                    rating,
                    order_outcome_now: outcome,
                })
            })
            .collect();
        Ok(EstateRatingView { estate_id: estate_id.to_owned(), company, street_office, as_of, years, months })
    }

    /// The fee float in force for an estate on `date` (SPEC §8): the one its rating of the year
    /// before gave, with why; `None` when that year is not published or the estate not rated.
    pub async fn fee_float_in_force(
        &self,
        estate_id: &str,
        date: Date,
    ) -> Result<Option<(Decimal, String)>, StoreError> {
        let Some(published) = self.rating_year(date.ymd().0 - 1).await? else { return Ok(None) };
        Ok(fee_float_of(&published.result, estate_id))
    }
}

fn year_lists(year: i32, result: Option<&YearResult>, manual: Vec<ManualEntry>) -> YearLists {
    let published = result.is_some();
    let empty;
    let result = match result {
        Some(r) => r,
        None => {
            empty = YearResult {
                year,
                published_on: Date::from_days_since_epoch(0),
                rules: ledger_core::rating::RulesUsed::new(&Rules::default(), &Default::default()),
                estates: Vec::new(),
                companies: Vec::new(),
            };
            &empty
        }
    };
    YearLists { year, published, in_force: lists_in_force(result, &manual), manual_entries: manual }
}

/// Year `year` from the stored rows: its months' checks and tickets, the months after the
/// year before's publication (to recheck its orders), the credit scores and the registry.
async fn compute(tx: &mut Tx, year: i32, on: Date, rules: &Rules) -> Result<YearResult, StoreError> {
    let catalogue = load::catalogue(tx).await?.unwrap_or_default();
    let checks = load::checks(tx, &format!("{:04}-01", year - 1), &Month::of(on).to_string()).await?;
    let tickets = load::tickets(tx, &format!("{:04}-01-01", year - 1)).await?;
    let credit_scores = load::credit_scores(tx).await?;
    let estates = load::estates(tx).await?;
    let earlier = load::published(tx, year - 1).await?.map(|p| p.result.orders()).unwrap_or_default();
    Ok(publish(&YearInput {
        year,
        published_on: on,
        rules,
        catalogue: &catalogue,
        estates: &estates,
        checks: &checks,
        tickets: &tickets,
        credit_scores: &credit_scores,
        earlier_orders: &earlier,
    }))
}

/// A clerk (or admin) imports everything; anyone else only checks of estates it may check.
async fn authorize_import(tx: &mut Tx, plan: &RatingImport, actor: &Actor) -> Result<(), StoreError> {
    if authorize(actor, Operation::Import, Target::City).is_ok() {
        return Ok(());
    }
    if plan.catalogue.is_some() || !plan.tickets.is_empty() || !plan.credit_scores.is_empty() {
        return authorize(actor, Operation::Import, Target::City).map_err(denied);
    }
    for check in &plan.checks {
        let offices: Option<(String, String)> = dispatch!(Tx, &mut *tx, |t| {
            sqlx::query_as("SELECT street_office, property_company FROM estates WHERE estate_id = $1")
                .bind(&check.estate_id)
                .fetch_optional(&mut **t)
                .await?
        });
        let (office, company) = offices.ok_or_else(|| StoreError::NotFound(check.estate_id.clone()))?;
        let estate = EstateOffices {
            estate_id: check.estate_id.clone(),
            street_office: StreetOfficeId::new(&office),
            company: CompanyId::new(&company),
        };
        authorize(actor, Operation::RecordRatingCheck, Target::Estate(&estate)).map_err(denied)?;
    }
    Ok(())
}

fn tenths(score: Decimal) -> i64 {
    let mut s = score;
    s.rescale(1);
    i64::try_from(s.mantissa()).expect("a score fits")
}

fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (1..=columns).map(|c| format!("${}", r * columns + c)).collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn write_import(tx: &mut Tx, plan: &RatingImport, by: &str, now: i64) -> Result<(), StoreError> {
    if let Some(catalogue) = &plan.catalogue {
        let json = serde_json::to_string(catalogue).expect("a catalogue serialises");
        dispatch!(Tx, &mut *tx, |t| {
            sqlx::query(
                "INSERT INTO rating_catalogues (indicators_json, recorded_by, recorded_at) VALUES ($1, $2, $3)",
            )
            .bind(&json)
            .bind(by)
            .bind(now)
            .execute(&mut **t)
            .await?;
        });
    }
    let rows: Vec<(&Check, &ledger_core::rating::CheckScore)> =
        plan.checks.iter().flat_map(|c| c.scores.iter().map(move |s| (c, &s.value))).collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO rating_checks (check_id, indicator_id, estate_id, month, score_tenths, inspector, recorded_by, recorded_at) VALUES {}",
            placeholders(chunk.len(), 8)
        );
        dispatch!(Tx, &mut *tx, |t| {
            let mut q = sqlx::query(&sql);
            for (check, s) in chunk {
                q = q
                    .bind(&check.check_id)
                    .bind(&s.indicator_id)
                    .bind(&check.estate_id)
                    .bind(check.month.to_string())
                    .bind(tenths(s.score))
                    .bind(&s.inspector)
                    .bind(by)
                    .bind(now);
            }
            q.execute(&mut **t).await?;
        });
    }
    for chunk in plan.tickets.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO rating_tickets (ticket_id, estate_id, kind, opened_at, responded_at, closed_at, recorded_at) VALUES {}",
            placeholders(chunk.len(), 7)
        );
        dispatch!(Tx, &mut *tx, |t| {
            let mut q = sqlx::query(&sql);
            for ticket in chunk {
                q = q
                    .bind(&ticket.ticket_id)
                    .bind(&ticket.estate_id)
                    .bind(ticket.kind.as_str())
                    .bind(ticket.opened_at.to_string())
                    .bind(ticket.responded_at.map(|m| m.to_string()))
                    .bind(ticket.closed_at.map(|m| m.to_string()))
                    .bind(now);
            }
            q.execute(&mut **t).await?;
        });
    }
    for c in &plan.credit_scores {
        let mut score = c.score;
        score.rescale(2);
        let centi = i64::try_from(score.mantissa()).expect("a credit score fits");
        dispatch!(Tx, &mut *tx, |t| {
            sqlx::query(
                "INSERT INTO rating_credit_scores (company, year, score_centi, recorded_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&c.company)
            .bind(c.year)
            .bind(centi)
            .bind(now)
            .execute(&mut **t)
            .await?;
        });
    }
    Ok(())
}
