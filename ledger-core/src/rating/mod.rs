//! Service ratings, credit and the red and black lists (物业服务考评, SPEC §9).
//!
//! The main design choice: a published year is one pure function, [`publish`], of the rows it
//! is computed from (checks, tickets, credit scores, the registry's estates and the orders of
//! the year before) and of the [`Rules`] in force, over exact decimals; the store keeps its
//! result, so a check that arrives later changes no published figure, and computing again
//! from the same rows gives the same result.

mod catalogue;
pub mod decimal;
mod files;
mod import;
mod lists;
pub mod period;
mod rules;
mod score;
#[cfg(test)]
mod tests;

pub use catalogue::{Catalogue, CatalogueError, Dimension, Indicator, CATALOGUE_POINTS};
pub use files::{
    read_checks, read_credit_scores, read_indicators, read_tickets, Check, CheckScore, CreditScore, RatingFault,
    RatingInputError, Ticket, TicketKind, CHECKS_FILE, CHECK_COLUMNS, CREDIT_COLUMNS, CREDIT_FILE, INDICATORS_FILE,
    INDICATOR_COLUMNS, TICKETS_FILE, TICKET_COLUMNS, YEARS,
};
pub use import::{plan_import, RatingBytes, RatingImport, StoredRatings, StoredScore};
pub use lists::{lists_in_force, ListAction, ListedCompany, ManualEntry};
pub use period::{add_months, Moment, Month};
pub use rules::{Grade, Rules, RulesError};
pub use score::{
    fee_float_of, order_outcome, publish, response_score, ticket_counts, AnnualBasis, CompanyRating, EstateFacts,
    EstateRating, IssuedOrder, ListKind, MonthScore, MonthlyScores, OrderState, Outcome, RulesUsed, TicketCount,
    YearInput, YearResult,
};
