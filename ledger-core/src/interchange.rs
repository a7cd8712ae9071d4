//! The SPEC interchange files, parsed from bytes (the caller does the reading).
//!
//! Everything here is an *error of form* check: a wrong header, a malformed amount, a duplicate
//! id, an entry split across the file. Errors name the file, the line and the column. Checks that
//! need more than one file (unknown parents, unknown units) belong to the importer and the
//! reconciler, which know what else exists.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use thiserror::Error;

use crate::account::{is_valid_id, AccountError, EntryKind};
use crate::csvscan::{blank_line, next_record_start, read_record, Field, RecordEnd};
use crate::date::{Date, DateError};
use crate::entry::{EntryError, Side};
use crate::journal::{self, JournalRow};
use crate::money::{Money, MoneyError};
use crate::registry::{AreaError, Building, Estate, FloorArea, Unit, UnitUse};

pub const ESTATES_FILE: &str = "estates.csv";
pub const BUILDINGS_FILE: &str = "buildings.csv";
pub const UNITS_FILE: &str = "units.csv";
pub const JOURNAL_FILE: &str = "journal.csv";
pub const STATEMENT_FILE: &str = "statement.csv";
pub const UNIT_BALANCES_FILE: &str = "unit_balances.csv";

pub const ESTATE_COLUMNS: &[&str] = &["estate_id", "name", "district", "street_office", "property_company"];
pub const BUILDING_COLUMNS: &[&str] = &["building_id", "estate_id", "name", "floors", "has_elevator"];
pub const UNIT_COLUMNS: &[&str] = &["unit_id", "building_id", "floor_area", "use", "owner"];
pub const JOURNAL_COLUMNS: &[&str] = &["entry_id", "date", "kind", "account", "debit", "credit", "memo"];
/// An optional eighth journal column naming the entry a `reversal` reverses. The SPEC lets
/// files carry extra trailing columns, so files without it stay valid.
pub const JOURNAL_REVERSES_COLUMN: &str = "reverses";
pub const STATEMENT_COLUMNS: &[&str] = &["txn_id", "date", "amount", "ref", "memo"];
pub const UNIT_BALANCE_COLUMNS: &[&str] = &["unit_id", "balance"];

/// The tallest building the registry accepts; anything above is a typo.
pub const MAX_FLOORS: u16 = 200;

/// An error in an interchange file: where it is and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    pub line: u64,
    /// 1-based column number and its header name, when the error is in one field.
    pub column: Option<(usize, String)>,
    /// Boxed: errors are rare, and a small `Result` keeps the row-by-row readers fast.
    pub kind: Box<InputErrorKind>,
}

/// What is wrong, with the text it was found in. Each kind says what was expected and what was
/// found; [`InputError`] adds where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InputErrorKind {
    #[error("cannot read the header: {0}")]
    UnreadableHeader(&'static str),
    #[error("expected the header `{expected}`, found `{found}`")]
    Header { expected: String, found: String },
    #[error("malformed CSV: {0}")]
    MalformedCsv(&'static str),
    #[error("expected {expected} fields, found {found}")]
    FieldCount { expected: usize, found: usize },
    #[error("expected UTF-8 text, found invalid bytes ({0})")]
    NotUtf8(std::str::Utf8Error),
    #[error("expected an identifier matching [A-Za-z0-9._:-]{{1,64}}, found `{0}`")]
    BadId(String),
    #[error("duplicate id `{id}` (first at line {first_line})")]
    DuplicateId { id: String, first_line: u64 },
    #[error("{0}")]
    Date(#[from] DateError),
    #[error("{0}")]
    Amount(#[from] MoneyError),
    #[error("{0}")]
    FloorArea(#[from] AreaError),
    #[error("expected a whole number of floors from 1 to {MAX_FLOORS}, found `{0}`")]
    Floors(String),
    #[error("expected `true` or `false`, found `{0}`")]
    Boolean(String),
    #[error("expected `residential` or `commercial`, found `{0}`")]
    UnitUse(String),
    #[error("{what} `{id}` points at {parent} `{parent_id}`, which is not registered")]
    UnknownParent { what: &'static str, id: String, parent: &'static str, parent_id: String },
    #[error("`{id}` is already registered as {stored}; this row says {this}")]
    Registered { id: String, stored: String, this: String },
    /// A registry fact that only a dated version may change (SPEC §10).
    #[error("`{id}`: {field} is `{stored}` in the registry, this row says `{this}`; {remedy}")]
    RegistryChanged { id: String, field: &'static str, stored: String, this: String, remedy: String },
    /// A posting to a unit whose balance was refunded (SPEC §10).
    #[error("entry `{entry_id}` posts to unit `{unit_id}`, which was closed on {closed_on} (refunded): a closed unit takes no more postings")]
    UnitClosed { entry_id: String, unit_id: String, closed_on: Date },
    #[error("expected an entry kind ({kinds}), found `{0}`", kinds = entry_kinds())]
    EntryKind(String),
    #[error("expected an amount in exactly one of debit and credit, found neither")]
    NeitherAmount,
    #[error("expected an amount in exactly one of debit and credit, found both (`{debit}` and `{credit}`)")]
    BothAmounts { debit: String, credit: String },
    #[error("entry `{entry_id}` began on line {first_line} with date {first}, this row says {this}")]
    DateChanged { entry_id: String, first_line: u64, first: Date, this: Date },
    #[error("entry `{entry_id}` began on line {first_line} with kind {first}, this row says {this}")]
    KindChanged { entry_id: String, first_line: u64, first: EntryKind, this: EntryKind },
    #[error("entry `{entry_id}` began on line {first_line} reversing {first}, this row says {this}")]
    ReversesChanged { entry_id: String, first_line: u64, first: String, this: String },
    #[error("entry `{entry_id}` is split: its rows began at line {first_line} and must be adjacent")]
    SplitEntry { entry_id: String, first_line: u64 },
    #[error("{0}")]
    Account(#[from] AccountError),
    #[error("entry `{entry_id}` reverses `{target}`, which is not in the ledger")]
    UnknownReversed { entry_id: String, target: String },
    #[error("entry `{entry_id}`: {error}")]
    Entry { entry_id: String, error: EntryError },
    #[error("entry `{entry_id}` is already posted with different content; in this file:\n    {described}")]
    AlreadyPosted { entry_id: String, described: String },
    /// A well-formed entry that an import may not post (`crate::import::ImportFault`).
    #[error("{0}")]
    Import(#[from] crate::import::ImportFault),
}

fn entry_kinds() -> String {
    EntryKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
}

impl InputError {
    /// An error at `line` of `file`, in the column numbered and named by `column` if given.
    pub fn new(file: &str, line: u64, column: Option<(usize, &str)>, kind: InputErrorKind) -> InputError {
        let column = column.map(|(n, name)| (n, name.to_owned()));
        InputError { file: file.to_owned(), line, column, kind: Box::new(kind) }
    }

    /// An error in field `index` (0-based) of a row under the header `columns`.
    pub(crate) fn in_field(
        file: &str,
        line: u64,
        columns: &[String],
        index: usize,
        kind: InputErrorKind,
    ) -> InputError {
        let name = columns.get(index).map_or("", String::as_str);
        InputError::new(file, line, Some((index + 1, name)), kind)
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some((number, name)) => {
                write!(f, "{}:{}:{number}: column `{name}`: {}", self.file, self.line, self.kind)
            }
            None => write!(f, "{}:{}: {}", self.file, self.line, self.kind),
        }
    }
}

impl std::error::Error for InputError {}

/// A registry row that points at a parent (building → estate, unit → building) that does not
/// exist; the parent's id is always in column 2.
pub fn unknown_parent(
    file: &str,
    line: u64,
    column: &str,
    what: &'static str,
    id: &str,
    parent: &'static str,
    parent_id: &str,
) -> InputError {
    let kind = InputErrorKind::UnknownParent { what, id: id.to_owned(), parent, parent_id: parent_id.to_owned() };
    InputError::new(file, line, Some((2, column)), kind)
}

/// Reads a header record (the BOM already removed) and checks that it starts with `expected`:
/// the column names and where the header ends.
pub(crate) fn read_header(file: &str, bytes: &[u8], expected: &[&str]) -> Result<(Vec<String>, RecordEnd), InputError> {
    let mut fields = Vec::new();
    let header = read_record(bytes, 0, &mut fields)
        .map_err(|e| InputError::new(file, 1, None, InputErrorKind::UnreadableHeader(e)))?;
    let names: Vec<String> = fields.iter().map(|f| String::from_utf8_lossy(&f.unescaped()).into_owned()).collect();
    if bytes.is_empty()
        || names.len() < expected.len()
        || names[..expected.len()].iter().zip(expected).any(|(a, b)| a != b)
    {
        let kind = InputErrorKind::Header { expected: expected.join(","), found: names.join(",") };
        return Err(InputError::new(file, 1, None, kind));
    }
    Ok((names, header))
}

/// A record that is not CSV: `fields` holds the fields read before the bad one.
pub(crate) fn malformed_record(
    file: &str,
    line: u64,
    columns: &[String],
    fields: usize,
    why: &'static str,
) -> InputError {
    InputError::in_field(file, line, columns, fields, InputErrorKind::MalformedCsv(why))
}

/// A record with fewer than `required` fields.
pub(crate) fn check_field_count(file: &str, line: u64, required: usize, found: usize) -> Result<(), InputError> {
    match found < required {
        true => Err(InputError::new(file, line, None, InputErrorKind::FieldCount { expected: required, found })),
        false => Ok(()),
    }
}

/// A parsed row and the line it started on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub line: u64,
    pub value: T,
}

/// A journal row before the entry is judged: accounts are still text, because an account
/// outside the chart is an error of substance (reported), not of form (fatal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPosting {
    pub line: u64,
    pub account: String,
    pub side: Side,
    pub amount: Money,
    pub memo: String,
}

/// The adjacent journal rows that share an `entry_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    pub line: u64,
    pub entry_id: String,
    pub date: Date,
    pub kind: EntryKind,
    pub reverses: Option<String>,
    pub postings: Vec<RawPosting>,
}

/// A line of the bank statement of the special account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    pub txn_id: String,
    pub date: Date,
    /// Signed: + money in, − money out.
    pub amount: Money,
    /// The ledger `entry_id`, when the bank knows it.
    pub reference: Option<String>,
}

/// One row of the bank's per-unit balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitBalance {
    pub unit_id: String,
    pub balance: Money,
}

struct Table<'a> {
    file: &'a str,
    columns: Vec<String>,
    bytes: &'a [u8],
    pos: usize,
    line: u64,
    fields: Vec<Field<'a>>,
}

/// One record of a table, with typed accessors that turn bad fields into located errors.
struct Row<'t, 'a> {
    file: &'t str,
    columns: &'t [String],
    line: u64,
    fields: &'t [Field<'a>],
}

impl<'a> Table<'a> {
    fn open(file: &'a str, bytes: &'a [u8], expected: &[&str]) -> Result<Table<'a>, InputError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let (names, header) = read_header(file, bytes, expected)?;
        Ok(Table { file, columns: names, bytes, pos: header.next, line: 1 + header.newlines, fields: Vec::new() })
    }

    fn has_column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    fn next_row(&mut self, required: usize) -> Result<Option<Row<'_, 'a>>, InputError> {
        while let Some(next) = blank_line(self.bytes, self.pos) {
            self.pos = next;
            self.line += 1;
        }
        if self.pos >= self.bytes.len() {
            return Ok(None);
        }
        let line = self.line;
        let end = read_record(self.bytes, self.pos, &mut self.fields)
            .map_err(|e| malformed_record(self.file, line, &self.columns, self.fields.len(), e))?;
        self.pos = end.next;
        self.line += end.newlines;
        check_field_count(self.file, line, required, self.fields.len())?;
        Ok(Some(Row { file: self.file, columns: &self.columns, line, fields: &self.fields }))
    }
}

impl<'a> Row<'_, 'a> {
    fn error(&self, index: usize, kind: impl Into<InputErrorKind>) -> InputError {
        InputError::in_field(self.file, self.line, self.columns, index, kind.into())
    }

    /// A free-text field, `""` escapes undone.
    fn text(&self, index: usize) -> Result<Cow<'a, str>, InputError> {
        let invalid = |e: std::str::Utf8Error| self.error(index, InputErrorKind::NotUtf8(e));
        match self.fields[index].unescaped() {
            Cow::Borrowed(bytes) => std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(invalid),
            Cow::Owned(bytes) => String::from_utf8(bytes).map(Cow::Owned).map_err(|e| invalid(e.utf8_error())),
        }
    }

    /// An identifier; never holds a quote, so it borrows the input as it stands.
    fn id(&self, index: usize) -> Result<&'a str, InputError> {
        let field = self.fields[index];
        let text = std::str::from_utf8(field.bytes).map_err(|e| self.error(index, InputErrorKind::NotUtf8(e)))?;
        if field.escaped || !is_valid_id(text) {
            return Err(self.error(index, InputErrorKind::BadId(text.to_owned())));
        }
        Ok(text)
    }

    fn date(&self, index: usize) -> Result<Date, InputError> {
        let text = self.text(index)?;
        Date::parse(&text).map_err(|e| self.error(index, e))
    }

    fn amount(&self, index: usize) -> Result<Money, InputError> {
        Money::parse(&self.text(index)?).map_err(|e| self.error(index, e))
    }
}

/// One piece of a table parsed on its own: rows with lines counted from the piece's start,
/// and the error that stopped it, if any.
struct Piece<T> {
    rows: Vec<Located<T>>,
    lines: u64,
    error: Option<InputError>,
}

/// Files below this size are parsed in one piece.
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// Parses every row of a registry or bank file, in parallel pieces cut at record boundaries,
/// and refuses a repeated id in the first column. Like a sequential read, it reports the
/// error earliest in the file, whether a bad field or a duplicate.
fn read_rows<T: Send>(
    file: &'static str,
    bytes: &[u8],
    columns: &[&str],
    id_of: fn(&T) -> &str,
    parse: impl Fn(&Row<'_, '_>) -> Result<T, InputError> + Sync,
) -> Result<Vec<Located<T>>, InputError> {
    let table = Table::open(file, bytes, columns)?;
    let (body, first_line) = (&table.bytes[table.pos..], table.line);
    let pieces = if body.len() < PARALLEL_MIN_BYTES { 1 } else { rayon::current_num_threads() * 2 };
    let parse_piece = |range: &std::ops::Range<usize>| {
        let mut piece = Table {
            file,
            columns: table.columns.clone(),
            bytes: &body[range.clone()],
            pos: 0,
            line: 0,
            fields: Vec::new(),
        };
        let mut rows = Vec::new();
        let error = loop {
            match piece.next_row(columns.len()) {
                Ok(None) => break None,
                Ok(Some(row)) => match parse(&row) {
                    Ok(value) => rows.push(Located { line: row.line, value }),
                    Err(error) => break Some(error),
                },
                Err(error) => break Some(error),
            }
        };
        Piece { rows, lines: piece.line, error }
    };
    let parsed: Vec<Piece<T>> = record_pieces(body, pieces).par_iter().map(parse_piece).collect();
    let mut rows = Vec::with_capacity(parsed.iter().map(|p| p.rows.len()).sum());
    let mut line = first_line;
    let mut error = None;
    for piece in parsed {
        rows.extend(piece.rows.into_iter().map(|r| Located { line: r.line + line, value: r.value }));
        if let Some(mut e) = piece.error {
            e.line += line;
            error = Some(e);
            break;
        }
        line += piece.lines;
    }
    let mut seen: FxHashMap<&str, u64> = FxHashMap::with_capacity_and_hasher(rows.len(), Default::default());
    for row in &rows {
        let id = id_of(&row.value);
        if let Some(first) = seen.insert(id, row.line) {
            let kind = InputErrorKind::DuplicateId { id: id.to_owned(), first_line: first };
            error = Some(InputError::new(file, row.line, Some((1, columns[0])), kind));
            break;
        }
    }
    match error {
        Some(error) => Err(error),
        None => Ok(rows),
    }
}

/// Cuts a body of records into about `pieces` ranges at record starts (outside quotes).
fn record_pieces(body: &[u8], pieces: usize) -> Vec<std::ops::Range<usize>> {
    let mut cuts = vec![0];
    let mut quoted = false;
    for k in 1..pieces {
        let target = body.len() * k / pieces;
        let last = *cuts.last().expect("non-empty");
        if target <= last {
            continue;
        }
        quoted ^= memchr::memchr_iter(b'"', &body[last..target]).count() % 2 == 1;
        match next_record_start(body, target, quoted) {
            Some(cut) if cut < body.len() => {
                quoted ^= memchr::memchr_iter(b'"', &body[target..cut]).count() % 2 == 1;
                cuts.push(cut);
            }
            _ => break,
        }
    }
    cuts.push(body.len());
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

pub fn read_estates(bytes: &[u8]) -> Result<Vec<Located<Estate>>, InputError> {
    read_rows(
        ESTATES_FILE,
        bytes,
        ESTATE_COLUMNS,
        |e: &Estate| &e.estate_id,
        |row| {
            Ok(Estate {
                estate_id: row.id(0)?.to_owned(),
                name: row.text(1)?.into_owned(),
                district: row.text(2)?.into_owned(),
                street_office: row.text(3)?.into_owned(),
                property_company: row.text(4)?.into_owned(),
            })
        },
    )
}

pub fn read_buildings(bytes: &[u8]) -> Result<Vec<Located<Building>>, InputError> {
    read_rows(
        BUILDINGS_FILE,
        bytes,
        BUILDING_COLUMNS,
        |b: &Building| &b.building_id,
        |row| {
            let building_id = row.id(0)?.to_owned();
            let floors_text = row.text(3)?;
            let floors = floors_text
                .parse::<u16>()
                .ok()
                .filter(|f| (1..=MAX_FLOORS).contains(f) && !floors_text.starts_with('+'))
                .ok_or_else(|| row.error(3, InputErrorKind::Floors(floors_text.clone().into_owned())))?;
            let has_elevator = match row.text(4)?.as_ref() {
                "true" => true,
                "false" => false,
                other => return Err(row.error(4, InputErrorKind::Boolean(other.to_owned()))),
            };
            Ok(Building {
                building_id,
                estate_id: row.id(1)?.to_owned(),
                name: row.text(2)?.into_owned(),
                floors,
                has_elevator,
            })
        },
    )
}

pub fn read_units(bytes: &[u8]) -> Result<Vec<Located<Unit>>, InputError> {
    read_rows(
        UNITS_FILE,
        bytes,
        UNIT_COLUMNS,
        |u: &Unit| &u.unit_id,
        |row| {
            let unit_id = row.id(0)?.to_owned();
            let floor_area = FloorArea::parse(&row.text(2)?).map_err(|e| row.error(2, e))?;
            let use_text = row.text(3)?;
            let unit_use = UnitUse::parse(&use_text)
                .ok_or_else(|| row.error(3, InputErrorKind::UnitUse(use_text.clone().into_owned())))?;
            Ok(Unit {
                unit_id,
                building_id: row.id(1)?.to_owned(),
                floor_area,
                unit_use,
                owner: row.text(4)?.into_owned(),
            })
        },
    )
}

pub fn read_unit_balances(bytes: &[u8]) -> Result<Vec<Located<UnitBalance>>, InputError> {
    read_rows(
        UNIT_BALANCES_FILE,
        bytes,
        UNIT_BALANCE_COLUMNS,
        |b: &UnitBalance| &b.unit_id,
        |row| Ok(UnitBalance { unit_id: row.id(0)?.to_owned(), balance: row.amount(1)? }),
    )
}

pub fn read_statement(bytes: &[u8]) -> Result<Vec<Located<StatementLine>>, InputError> {
    read_rows(
        STATEMENT_FILE,
        bytes,
        STATEMENT_COLUMNS,
        |l: &StatementLine| &l.txn_id,
        |row| {
            let txn_id = row.id(0)?.to_owned();
            let (date, amount) = (row.date(1)?, row.amount(2)?);
            let reference = match row.text(3)?.as_ref() {
                "" => None,
                _ => Some(row.id(3)?.to_owned()),
            };
            row.text(4)?; // the memo must be text, though nothing reads it
            Ok(StatementLine { txn_id, date, amount, reference })
        },
    )
}

/// Reads the whole journal, grouping adjacent rows into entries.
pub fn read_journal(bytes: &[u8]) -> Result<Vec<RawEntry>, InputError> {
    JournalReader::new(bytes)?.collect()
}

/// Streams the journal entry by entry, so that checking and writing can start before the last
/// row is read. A row must carry exactly one positive amount; the rows of one entry must be
/// adjacent and agree on date and kind. After the first error the reader yields nothing more.
pub struct JournalReader<'a> {
    table: Table<'a>,
    reverses_column: Option<usize>,
    first_lines: HashMap<String, u64>,
    pending: Option<RawEntry>,
    failed: bool,
}

impl<'a> JournalReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Result<JournalReader<'a>, InputError> {
        let table = Table::open(JOURNAL_FILE, bytes, JOURNAL_COLUMNS)?;
        let reverses_column = table.has_column(JOURNAL_REVERSES_COLUMN).filter(|&i| i >= JOURNAL_COLUMNS.len());
        Ok(JournalReader { table, reverses_column, first_lines: HashMap::new(), pending: None, failed: false })
    }

    /// Reads one row into the pending entry; returns a finished entry when the row starts a new one.
    /// The rules and their order are [`crate::journal`]'s, shared with reconciliation.
    fn step(&mut self) -> Result<Option<Option<RawEntry>>, InputError> {
        let Some(row) = self.table.next_row(JOURNAL_COLUMNS.len())? else {
            return Ok(None);
        };
        let row = JournalRow { line: row.line, fields: row.fields, columns: row.columns };
        row.check_text()?;
        let entry_id = row.entry_id()?;
        let (date, kind) = (row.date()?, row.kind()?);
        let (side, amount) = row.amount()?;
        let posting = RawPosting {
            line: row.line,
            account: row.text(journal::ACCOUNT).into_owned(),
            side,
            amount,
            memo: row.text(journal::MEMO).into_owned(),
        };
        let reverses_index = self.reverses_column.unwrap_or(JOURNAL_COLUMNS.len());
        let reverses = match self.reverses_column.filter(|&i| i < row.fields.len()) {
            Some(i) if !row.fields[i].bytes.is_empty() => Some(reverses_id(&row, i)?),
            _ => None,
        };
        if let Some(current) = self.pending.as_mut().filter(|p| p.entry_id == entry_id) {
            row.continues(entry_id, current.line, (current.date, current.kind), (date, kind))?;
            match (&current.reverses, reverses) {
                (Some(first), Some(this)) => row.same_reverses(reverses_index, entry_id, current.line, first, &this)?,
                (None, this @ Some(_)) => current.reverses = this,
                _ => {}
            }
            current.postings.push(posting);
            return Ok(Some(None));
        }
        if let Some(first) = self.first_lines.insert(entry_id.to_owned(), row.line) {
            return Err(journal::split_entry(row.line, entry_id, first));
        }
        let started =
            RawEntry { line: row.line, entry_id: entry_id.to_owned(), date, kind, reverses, postings: vec![posting] };
        Ok(Some(self.pending.replace(started)))
    }
}

/// The entry a row's `reverses` field names.
fn reverses_id(row: &JournalRow<'_, '_>, index: usize) -> Result<String, InputError> {
    let id = row.raw(index);
    if row.fields[index].escaped || !is_valid_id(id) {
        return Err(row.error(index, InputErrorKind::BadId(id.to_owned())));
    }
    Ok(id.to_owned())
}

impl Iterator for JournalReader<'_> {
    type Item = Result<RawEntry, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed {
            match self.step() {
                Ok(None) => return self.pending.take().map(Ok),
                Ok(Some(None)) => {}
                Ok(Some(Some(finished))) => return Some(Ok(finished)),
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A units file big enough to be read in parallel pieces, with multi-line quoted owners.
    fn big_units(rows: usize) -> String {
        let mut text = String::from("unit_id,building_id,floor_area,use,owner\n");
        for i in 0..rows {
            let owner = if i % 997 == 0 { "\"王\n小明, \"\"甲\"\"\"".to_owned() } else { format!("owner{i}") };
            text.push_str(&format!("U{i:06},B1,{}.{:02},residential,{owner}\n", 35 + i % 100, i % 100));
        }
        text
    }

    #[test]
    fn an_entry_reverses_one_entry_only() {
        let head = "entry_id,date,kind,account,debit,credit,memo,reverses\n";
        let agreed = format!("{head}R1,2024-01-02,reversal,bank:1,1,,,J1\nR1,2024-01-02,reversal,unit:U1,,1,,\n");
        assert_eq!(read_journal(agreed.as_bytes()).unwrap()[0].reverses.as_deref(), Some("J1"));
        let torn = format!("{head}R1,2024-01-02,reversal,bank:1,1,,,J1\nR1,2024-01-02,reversal,unit:U1,,1,,J2\n");
        let error = read_journal(torn.as_bytes()).unwrap_err();
        assert_eq!((error.line, error.column.clone()), (3, Some((8, "reverses".to_owned()))), "{error}");
        assert!(error.kind.to_string().contains("began on line 2 reversing J1"), "{error}");
    }

    #[test]
    fn parallel_pieces_keep_rows_lines_and_quotes() {
        let text = big_units(40_000);
        assert!(text.len() > PARALLEL_MIN_BYTES);
        let units = read_units(text.as_bytes()).unwrap();
        assert_eq!(units.len(), 40_000);
        // Every 997th owner spans two lines, so row i starts on line 2 + i + (quoted rows before it).
        for (i, unit) in units.iter().enumerate() {
            assert_eq!(unit.value.unit_id, format!("U{i:06}"));
            assert_eq!(unit.line, 2 + i as u64 + (i as u64).div_ceil(997));
        }
        assert_eq!(units[997].value.owner, "王\n小明, \"甲\"");
    }

    #[test]
    fn parallel_pieces_report_the_earliest_error() {
        let mut text = big_units(40_000);
        text.push_str("U000123,B1,50,residential,again\n");
        let duplicate = read_units(text.as_bytes()).unwrap_err();
        assert!(matches!(&*duplicate.kind, InputErrorKind::DuplicateId { id, .. } if id == "U000123"), "{duplicate}");
        // A bad area late in the file and a duplicate after it: the bad area comes first.
        let mut text = big_units(40_000).replacen("U039000,B1,35.00", "U039000,B1,35.001", 1);
        text.push_str("U000001,B1,50,residential,again\n");
        let error = read_units(text.as_bytes()).unwrap_err();
        assert!(error.to_string().contains(":3:") && error.kind.to_string().contains("at most 2 decimals"), "{error}");
        assert_eq!(error.line, 2 + 39_000 + 39_000u64.div_ceil(997));
    }
}
