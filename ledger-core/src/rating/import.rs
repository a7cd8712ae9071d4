//! What a rating import may record, judged against what is stored: unknown estates and
//! companies, rows already recorded identically (skipped) or differently (refused, both shown).

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;

use super::catalogue::Catalogue;
use super::files::{
    read_checks, read_credit_scores, read_indicators, read_tickets, Check, CreditScore, RatingFault, RatingInputError,
    Ticket, CHECKS_FILE, CHECK_COLUMNS, CREDIT_COLUMNS, CREDIT_FILE, INDICATORS_FILE, TICKETS_FILE, TICKET_COLUMNS,
};
use super::period::Month;

/// The bytes of whichever of the four files were given.
#[derive(Debug, Clone, Default)]
pub struct RatingBytes {
    pub indicators: Option<Vec<u8>>,
    pub checks: Option<Vec<u8>>,
    pub tickets: Option<Vec<u8>>,
    pub credit_scores: Option<Vec<u8>>,
}

/// One stored score of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredScore {
    pub estate_id: String,
    pub month: Month,
    pub score: Decimal,
    pub inspector: String,
}

/// What the store holds that an import is judged against.
#[derive(Debug, Clone, Default)]
pub struct StoredRatings {
    pub estates: HashSet<String>,
    pub companies: HashSet<String>,
    /// The catalogue in force, if one was imported (else the standard one).
    pub catalogue: Option<Catalogue>,
    /// By (check_id, indicator_id).
    pub scores: HashMap<(String, String), StoredScore>,
    /// The check recorded for each estate and month.
    pub check_of_month: HashMap<(String, Month), String>,
    pub tickets: HashMap<String, Ticket>,
    pub credit_scores: HashMap<(String, i32), Decimal>,
}

impl StoredRatings {
    pub fn catalogue_in_force(&self) -> Catalogue {
        self.catalogue.clone().unwrap_or_default()
    }
}

/// What is new and will be recorded.
#[derive(Debug, Clone, Default)]
pub struct RatingImport {
    /// A catalogue that replaces the one in force.
    pub catalogue: Option<Catalogue>,
    pub checks: Vec<Check>,
    pub tickets: Vec<Ticket>,
    pub credit_scores: Vec<CreditScore>,
    /// Checks, tickets and credit scores already recorded identically.
    pub already_stored: usize,
}

/// Parses the files and judges them against the store: the whole import, or the first error.
pub fn plan_import(stored: &StoredRatings, files: &RatingBytes) -> Result<RatingImport, RatingInputError> {
    let mut plan = RatingImport::default();
    let in_force = stored.catalogue_in_force();
    let catalogue = match &files.indicators {
        Some(bytes) => {
            let given = read_indicators(bytes)?;
            if given != in_force {
                if !stored.scores.is_empty() {
                    return Err(RatingInputError::new(INDICATORS_FILE, 1, None, RatingFault::CatalogueFixed));
                }
                plan.catalogue = Some(given.clone());
            }
            given
        }
        None => in_force,
    };
    if let Some(bytes) = &files.checks {
        for check in read_checks(bytes, &catalogue)? {
            if judge_check(stored, &check)? {
                plan.already_stored += 1;
            } else {
                plan.checks.push(check);
            }
        }
    }
    if let Some(bytes) = &files.tickets {
        for ticket in read_tickets(bytes)? {
            let t = &ticket.value;
            let error = |index, kind| RatingInputError::at(TICKETS_FILE, ticket.line, TICKET_COLUMNS, index, kind);
            if !stored.estates.contains(&t.estate_id) {
                return Err(error(1, RatingFault::UnknownEstate(t.estate_id.clone())));
            }
            match stored.tickets.get(&t.ticket_id) {
                Some(same) if same == t => plan.already_stored += 1,
                Some(other) => {
                    let what = format!("ticket `{}`", t.ticket_id);
                    return Err(error(
                        0,
                        RatingFault::Recorded { what, stored: describe_ticket(other), this: describe_ticket(t) },
                    ));
                }
                None => plan.tickets.push(ticket.value),
            }
        }
    }
    if let Some(bytes) = &files.credit_scores {
        for credit in read_credit_scores(bytes)? {
            let c = &credit.value;
            let error = |index, kind| RatingInputError::at(CREDIT_FILE, credit.line, CREDIT_COLUMNS, index, kind);
            if !stored.companies.contains(&c.company) {
                return Err(error(0, RatingFault::UnknownCompany(c.company.clone())));
            }
            match stored.credit_scores.get(&(c.company.clone(), c.year)) {
                Some(score) if *score == c.score => plan.already_stored += 1,
                Some(score) => {
                    let what = format!("the credit score of `{}` for {}", c.company, c.year);
                    return Err(error(
                        2,
                        RatingFault::Recorded { what, stored: score.to_string(), this: c.score.to_string() },
                    ));
                }
                None => plan.credit_scores.push(credit.value),
            }
        }
    }
    Ok(plan)
}

/// Whether the check is already recorded identically; an error if it contradicts the store.
fn judge_check(stored: &StoredRatings, check: &Check) -> Result<bool, RatingInputError> {
    let error = |line, index, kind| RatingInputError::at(CHECKS_FILE, line, CHECK_COLUMNS, index, kind);
    if !stored.estates.contains(&check.estate_id) {
        return Err(error(check.line, 1, RatingFault::UnknownEstate(check.estate_id.clone())));
    }
    let mut recorded = 0;
    for row in &check.scores {
        let s = &row.value;
        let Some(old) = stored.scores.get(&(check.check_id.clone(), s.indicator_id.clone())) else { continue };
        let this = StoredScore {
            estate_id: check.estate_id.clone(),
            month: check.month,
            score: s.score,
            inspector: s.inspector.clone(),
        };
        if *old != this {
            let what = format!("check `{}` indicator `{}`", check.check_id, s.indicator_id);
            return Err(error(
                row.line,
                4,
                RatingFault::Recorded { what, stored: describe(old), this: describe(&this) },
            ));
        }
        recorded += 1;
    }
    if recorded > 0 {
        return Ok(true);
    }
    if let Some(other) = stored.check_of_month.get(&(check.estate_id.clone(), check.month)) {
        let what = format!("the check of estate `{}` for {}", check.estate_id, check.month);
        let kind = RatingFault::Recorded {
            what,
            stored: format!("check `{other}`"),
            this: format!("check `{}`", check.check_id),
        };
        return Err(error(check.line, 0, kind));
    }
    Ok(false)
}

fn describe(s: &StoredScore) -> String {
    format!("estate {}, month {}, score {}, inspector {}", s.estate_id, s.month, s.score, s.inspector)
}

fn describe_ticket(t: &Ticket) -> String {
    let or_empty = |m: Option<super::period::Moment>| m.map_or_else(|| "(none)".to_owned(), |m| m.to_string());
    format!(
        "estate {}, {}, opened {}, responded {}, closed {}",
        t.estate_id,
        t.kind.as_str(),
        t.opened_at,
        or_empty(t.responded_at),
        or_empty(t.closed_at)
    )
}
