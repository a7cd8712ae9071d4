//! The rating interchange files (`rating_checks.csv`, `tickets.csv`, `credit_scores.csv`,
//! `indicators.csv`), parsed from bytes. Everything here is an error of form, named by file,
//! line and column; what needs the stored rows too (an unknown estate, a changed row) is
//! [`super::import`]'s.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt;

use rust_decimal::Decimal;
use thiserror::Error;

use super::catalogue::{Catalogue, CatalogueError, Dimension, Indicator};
use super::decimal::parse_plain;
use super::period::{Moment, Month};
use crate::account::is_valid_id;
use crate::csvscan::{blank_line, read_record, Field};
use crate::interchange::{check_field_count, malformed_record, read_header, InputError, InputErrorKind, Located};

pub const CHECKS_FILE: &str = "rating_checks.csv";
pub const TICKETS_FILE: &str = "tickets.csv";
pub const CREDIT_FILE: &str = "credit_scores.csv";
pub const INDICATORS_FILE: &str = "indicators.csv";

pub const CHECK_COLUMNS: &[&str] = &["check_id", "estate_id", "month", "indicator_id", "score", "inspector"];
pub const TICKET_COLUMNS: &[&str] = &["ticket_id", "estate_id", "kind", "opened_at", "responded_at", "closed_at"];
pub const CREDIT_COLUMNS: &[&str] = &["company", "year", "score"];
pub const INDICATOR_COLUMNS: &[&str] = &["indicator_id", "dimension", "name", "max_points"];

/// Years a rating may be for.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// What is wrong in a rating file; [`RatingInputError`] adds where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RatingFault {
    #[error("{0}")]
    Form(InputErrorKind),
    #[error("expected a month as YYYY-MM, found `{0}`")]
    Month(String),
    #[error("expected a time as YYYY-MM-DDTHH:MM (China time), found `{0}`")]
    Time(String),
    #[error("expected a score from 0 to {max} with at most 1 decimal, found `{found}`")]
    Score { max: Decimal, found: String },
    #[error("expected `repair` or `complaint`, found `{0}`")]
    TicketKind(String),
    #[error("indicator `{0}` is not in the catalogue")]
    UnknownIndicator(String),
    #[error("check `{check}` scores `{indicator}` twice (first at line {first_line})")]
    ScoredTwice { check: String, indicator: String, first_line: u64 },
    #[error("check `{check}` of estate `{estate}` for {month} does not score {missing}: a month's check scores every indicator once")]
    Missing { check: String, estate: String, month: Month, missing: String },
    #[error("check `{check}` began on line {first_line} with {what} `{first}`; this row says `{this}`")]
    CheckChanged { check: String, what: &'static str, first_line: u64, first: String, this: String },
    #[error(
        "estate `{estate}` already has check `{first}` for {month} (line {first_line}): one check per estate and month"
    )]
    SecondCheck { estate: String, month: Month, first: String, first_line: u64 },
    #[error("expected a dimension (performance, response, safety, environment, satisfaction), found `{0}`")]
    Dimension(String),
    #[error("expected points above 0 with at most 1 decimal, found `{0}`")]
    Points(String),
    #[error("{0}")]
    Catalogue(CatalogueError),
    #[error("expected a credit score from 0 to 100 with at most 2 decimals, found `{0}`")]
    Credit(String),
    #[error("expected a year from {} to {}, found `{found}`", YEARS.start(), YEARS.end())]
    Year { found: String },
    #[error("expected a company name, found an empty field")]
    NoCompany,
    #[error("expected {what} on or after opened_at {opened}, found {found}")]
    BeforeOpened { what: &'static str, opened: Moment, found: Moment },
    #[error("`{company}` has a credit score for {year} already (line {first_line})")]
    DuplicateCredit { company: String, year: i32, first_line: u64 },
    #[error("estate `{0}` is not registered")]
    UnknownEstate(String),
    #[error("company `{0}` serves no registered estate")]
    UnknownCompany(String),
    #[error("{what} is already recorded as {stored}; this row says {this}")]
    Recorded { what: String, stored: String, this: String },
    #[error("the catalogue cannot change once checks are recorded (checks are scored against the one in force); this file differs from it")]
    CatalogueFixed,
}

/// An error in a rating file: where it is and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingInputError {
    pub file: String,
    pub line: u64,
    /// 1-based column number and its header name, when the error is in one field.
    pub column: Option<(usize, String)>,
    pub kind: RatingFault,
}

impl RatingInputError {
    pub fn new(file: &str, line: u64, column: Option<(usize, &str)>, kind: RatingFault) -> RatingInputError {
        RatingInputError { file: file.to_owned(), line, column: column.map(|(n, s)| (n, s.to_owned())), kind }
    }

    /// An error in column `index` (0-based) of `columns`.
    pub fn at(file: &str, line: u64, columns: &[&str], index: usize, kind: RatingFault) -> RatingInputError {
        RatingInputError::new(file, line, Some((index + 1, columns[index])), kind)
    }
}

impl From<InputError> for RatingInputError {
    fn from(e: InputError) -> RatingInputError {
        RatingInputError { file: e.file, line: e.line, column: e.column, kind: RatingFault::Form(*e.kind) }
    }
}

impl fmt::Display for RatingInputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some((n, name)) => write!(f, "{}:{}:{n}: column `{name}`: {}", self.file, self.line, self.kind),
            None => write!(f, "{}:{}: {}", self.file, self.line, self.kind),
        }
    }
}

impl std::error::Error for RatingInputError {}

/// One indicator's score in a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckScore {
    pub indicator_id: String,
    pub score: Decimal,
    pub inspector: String,
}

/// A month's check of an estate: every indicator of the catalogue scored once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub check_id: String,
    pub estate_id: String,
    pub month: Month,
    /// The line of its first row (0 when it did not come from a file).
    pub line: u64,
    /// By indicator id.
    pub scores: Vec<Located<CheckScore>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketKind {
    Repair,
    Complaint,
}

impl TicketKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Repair => "repair",
            TicketKind::Complaint => "complaint",
        }
    }

    pub fn parse(text: &str) -> Option<TicketKind> {
        match text {
            "repair" => Some(TicketKind::Repair),
            "complaint" => Some(TicketKind::Complaint),
            _ => None,
        }
    }
}

/// A repair or complaint ticket (the 141 platform's kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub ticket_id: String,
    pub estate_id: String,
    pub kind: TicketKind,
    pub opened_at: Moment,
    pub responded_at: Option<Moment>,
    pub closed_at: Option<Moment>,
}

/// A third party's credit score of a company for a year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditScore {
    pub company: String,
    pub year: i32,
    pub score: Decimal,
}

/// The records of one CSV file, one at a time, with located field accessors.
struct Records<'a> {
    file: &'static str,
    columns: &'static [&'static str],
    names: Vec<String>,
    bytes: &'a [u8],
    pos: usize,
    line: u64,
    fields: Vec<Field<'a>>,
}

impl<'a> Records<'a> {
    fn open(file: &'static str, bytes: &'a [u8], columns: &'static [&'static str]) -> Result<Self, RatingInputError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let (names, header) = read_header(file, bytes, columns)?;
        Ok(Records { file, columns, names, bytes, pos: header.next, line: 1 + header.newlines, fields: Vec::new() })
    }

    /// The next record and its line, or `None` at the end.
    fn next(&mut self) -> Result<Option<u64>, RatingInputError> {
        while let Some(next) = blank_line(self.bytes, self.pos) {
            self.pos = next;
            self.line += 1;
        }
        if self.pos >= self.bytes.len() {
            return Ok(None);
        }
        let line = self.line;
        let end = read_record(self.bytes, self.pos, &mut self.fields)
            .map_err(|e| malformed_record(self.file, line, &self.names, self.fields.len(), e))?;
        self.pos = end.next;
        self.line += end.newlines;
        check_field_count(self.file, line, self.columns.len(), self.fields.len())?;
        Ok(Some(line))
    }

    fn error(&self, line: u64, index: usize, kind: RatingFault) -> RatingInputError {
        RatingInputError::at(self.file, line, self.columns, index, kind)
    }

    fn text(&self, line: u64, index: usize) -> Result<Cow<'a, str>, RatingInputError> {
        let invalid = |e: std::str::Utf8Error| self.error(line, index, RatingFault::Form(InputErrorKind::NotUtf8(e)));
        match self.fields[index].unescaped() {
            Cow::Borrowed(bytes) => std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(invalid),
            Cow::Owned(bytes) => String::from_utf8(bytes).map(Cow::Owned).map_err(|e| invalid(e.utf8_error())),
        }
    }

    fn id(&self, line: u64, index: usize) -> Result<String, RatingInputError> {
        let field = self.fields[index];
        let text = self.text(line, index)?;
        if field.escaped || !is_valid_id(&text) {
            return Err(self.error(line, index, RatingFault::Form(InputErrorKind::BadId(text.into_owned()))));
        }
        Ok(text.into_owned())
    }

    fn moment(&self, line: u64, index: usize) -> Result<Option<Moment>, RatingInputError> {
        let text = self.text(line, index)?;
        if text.is_empty() && index > 3 {
            return Ok(None);
        }
        Moment::parse(&text).map(Some).ok_or_else(|| self.error(line, index, RatingFault::Time(text.into_owned())))
    }
}

/// Reads `indicators.csv`: a catalogue that replaces the standard one, 100 points in all.
pub fn read_indicators(bytes: &[u8]) -> Result<Catalogue, RatingInputError> {
    let mut records = Records::open(INDICATORS_FILE, bytes, INDICATOR_COLUMNS)?;
    let mut indicators = Vec::new();
    let mut last_line = 1;
    while let Some(line) = records.next()? {
        last_line = line;
        let indicator_id = records.id(line, 0)?;
        let dimension_text = records.text(line, 1)?;
        let dimension = Dimension::parse(&dimension_text)
            .ok_or_else(|| records.error(line, 1, RatingFault::Dimension(dimension_text.clone().into_owned())))?;
        let name = records.text(line, 2)?.into_owned();
        let points_text = records.text(line, 3)?;
        let max_points = parse_plain(&points_text, 1)
            .ok()
            .filter(|p| *p > Decimal::ZERO)
            .ok_or_else(|| records.error(line, 3, RatingFault::Points(points_text.clone().into_owned())))?;
        if indicators.iter().any(|i: &Indicator| i.indicator_id == indicator_id) {
            let kind = RatingFault::Catalogue(CatalogueError::Duplicate(indicator_id));
            return Err(records.error(line, 0, kind));
        }
        indicators.push(Indicator { indicator_id, dimension, name, max_points });
    }
    Catalogue::new(indicators).map_err(|e| records.error(last_line, 3, RatingFault::Catalogue(e)))
}

/// Reads `rating_checks.csv` against `catalogue`: rows grouped by `check_id` (which agree on
/// estate and month), every indicator scored exactly once, one check per estate and month.
pub fn read_checks(bytes: &[u8], catalogue: &Catalogue) -> Result<Vec<Check>, RatingInputError> {
    let mut records = Records::open(CHECKS_FILE, bytes, CHECK_COLUMNS)?;
    let mut checks: Vec<Check> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut by_estate_month: HashMap<(String, Month), usize> = HashMap::new();
    while let Some(line) = records.next()? {
        let check_id = records.id(line, 0)?;
        let estate_id = records.id(line, 1)?;
        let month_text = records.text(line, 2)?;
        let month = Month::parse(&month_text)
            .ok_or_else(|| records.error(line, 2, RatingFault::Month(month_text.into_owned())))?;
        let indicator_id = records.id(line, 3)?;
        let indicator = catalogue
            .get(&indicator_id)
            .ok_or_else(|| records.error(line, 3, RatingFault::UnknownIndicator(indicator_id.clone())))?;
        let score_text = records.text(line, 4)?;
        let score = parse_plain(&score_text, 1).ok().filter(|s| *s <= indicator.max_points).ok_or_else(|| {
            records.error(
                line,
                4,
                RatingFault::Score { max: indicator.max_points, found: score_text.clone().into_owned() },
            )
        })?;
        let inspector = records.text(line, 5)?.into_owned();
        let index = match by_id.get(&check_id) {
            Some(&index) => {
                let check = &checks[index];
                let changed = |what, first: String, this: String, column| {
                    let kind = RatingFault::CheckChanged {
                        check: check_id.clone(),
                        what,
                        first_line: check.line,
                        first,
                        this,
                    };
                    records.error(line, column, kind)
                };
                if check.estate_id != estate_id {
                    return Err(changed("estate", check.estate_id.clone(), estate_id, 1));
                }
                if check.month != month {
                    return Err(changed("month", check.month.to_string(), month.to_string(), 2));
                }
                if let Some(first) = check.scores.iter().find(|s| s.value.indicator_id == indicator_id) {
                    let kind =
                        RatingFault::ScoredTwice { check: check_id, indicator: indicator_id, first_line: first.line };
                    return Err(records.error(line, 3, kind));
                }
                index
            }
            None => {
                if let Some(&other) = by_estate_month.get(&(estate_id.clone(), month)) {
                    let first = &checks[other];
                    let kind = RatingFault::SecondCheck {
                        estate: estate_id,
                        month,
                        first: first.check_id.clone(),
                        first_line: first.line,
                    };
                    return Err(records.error(line, 0, kind));
                }
                by_id.insert(check_id.clone(), checks.len());
                by_estate_month.insert((estate_id.clone(), month), checks.len());
                checks.push(Check { check_id, estate_id, month, line, scores: Vec::new() });
                checks.len() - 1
            }
        };
        checks[index].scores.push(Located { line, value: CheckScore { indicator_id, score, inspector } });
    }
    for check in &mut checks {
        complete(check, catalogue)?;
    }
    Ok(checks)
}

/// A check must score every indicator: the first missing ones are named at its first line.
fn complete(check: &mut Check, catalogue: &Catalogue) -> Result<(), RatingInputError> {
    let scored: std::collections::HashSet<&str> = check.scores.iter().map(|s| s.value.indicator_id.as_str()).collect();
    let missing: Vec<&str> =
        catalogue.indicators().iter().map(|i| i.indicator_id.as_str()).filter(|id| !scored.contains(id)).collect();
    if !missing.is_empty() {
        let kind = RatingFault::Missing {
            check: check.check_id.clone(),
            estate: check.estate_id.clone(),
            month: check.month,
            missing: missing.join(", "),
        };
        return Err(RatingInputError::at(CHECKS_FILE, check.line, CHECK_COLUMNS, 3, kind));
    }
    check.scores.sort_by(|a, b| a.value.indicator_id.cmp(&b.value.indicator_id));
    Ok(())
}

/// Reads `tickets.csv`: ids unique, times `YYYY-MM-DDTHH:MM`, answers and closings not before
/// the opening.
pub fn read_tickets(bytes: &[u8]) -> Result<Vec<Located<Ticket>>, RatingInputError> {
    let mut records = Records::open(TICKETS_FILE, bytes, TICKET_COLUMNS)?;
    let mut tickets = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    while let Some(line) = records.next()? {
        let ticket_id = records.id(line, 0)?;
        if let Some(first_line) = seen.insert(ticket_id.clone(), line) {
            let kind = RatingFault::Form(InputErrorKind::DuplicateId { id: ticket_id, first_line });
            return Err(records.error(line, 0, kind));
        }
        let estate_id = records.id(line, 1)?;
        let kind_text = records.text(line, 2)?;
        let kind = TicketKind::parse(&kind_text)
            .ok_or_else(|| records.error(line, 2, RatingFault::TicketKind(kind_text.into_owned())))?;
        let opened_at = records.moment(line, 3)?.expect("opened_at is required");
        let responded_at = records.moment(line, 4)?;
        let closed_at = records.moment(line, 5)?;
        for (index, what, at) in [(4, "responded_at", responded_at), (5, "closed_at", closed_at)] {
            if let Some(found) = at.filter(|t| *t < opened_at) {
                return Err(records.error(line, index, RatingFault::BeforeOpened { what, opened: opened_at, found }));
            }
        }
        let ticket = Ticket { ticket_id, estate_id, kind, opened_at, responded_at, closed_at };
        tickets.push(Located { line, value: ticket });
    }
    Ok(tickets)
}

/// Reads `credit_scores.csv`: one score per company and year, 0–100, at most 2 decimals.
pub fn read_credit_scores(bytes: &[u8]) -> Result<Vec<Located<CreditScore>>, RatingInputError> {
    let mut records = Records::open(CREDIT_FILE, bytes, CREDIT_COLUMNS)?;
    let mut scores = Vec::new();
    let mut seen: BTreeMap<(String, i32), u64> = BTreeMap::new();
    while let Some(line) = records.next()? {
        let company = records.text(line, 0)?.trim().to_owned();
        if company.is_empty() {
            return Err(records.error(line, 0, RatingFault::NoCompany));
        }
        let year_text = records.text(line, 1)?;
        let year = year_text
            .parse::<i32>()
            .ok()
            .filter(|y| YEARS.contains(y) && year_text.len() == 4)
            .ok_or_else(|| records.error(line, 1, RatingFault::Year { found: year_text.clone().into_owned() }))?;
        let score_text = records.text(line, 2)?;
        let score = parse_plain(&score_text, 2)
            .ok()
            .filter(|s| *s <= Decimal::ONE_HUNDRED)
            .ok_or_else(|| records.error(line, 2, RatingFault::Credit(score_text.clone().into_owned())))?;
        if let Some(first_line) = seen.insert((company.clone(), year), line) {
            return Err(records.error(line, 0, RatingFault::DuplicateCredit { company, year, first_line }));
        }
        scores.push(Located { line, value: CreditScore { company, year, score } });
    }
    Ok(scores)
}
