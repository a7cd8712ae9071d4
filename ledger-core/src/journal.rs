//! The journal's row rules, written once: the import reader ([`crate::interchange::JournalReader`])
//! and the reconciliation scanner ([`crate::recon::scan`]) both judge a row with these, so an
//! error of form has one message, line and column whichever path reads the file.
//!
//! The order is part of the rules: a row is first CSV ([`crate::interchange`]), then text, then
//! its fields left to right (id, date, kind, amount), and only then compared with the row that
//! began its entry. A reader that stops at the first error reports the same one as another that
//! checks rows in another way, provided each row is judged in this order. The scanner may skip a
//! rule when it can tell by comparing bytes that the rule holds (a later row repeating its
//! entry's date), but never reorders them.

use std::borrow::Cow;

use crate::account::{is_valid_id, EntryKind};
use crate::csvscan::{Field, RecordEnd};
use crate::date::Date;
use crate::entry::Side;
use crate::interchange::{read_header, InputError, InputErrorKind, JOURNAL_COLUMNS, JOURNAL_FILE};
use crate::money::Money;

pub(crate) const ENTRY_ID: usize = 0;
pub(crate) const DATE: usize = 1;
pub(crate) const KIND: usize = 2;
pub(crate) const ACCOUNT: usize = 3;
pub(crate) const DEBIT: usize = 4;
pub(crate) const CREDIT: usize = 5;
pub(crate) const MEMO: usize = 6;

/// Reads the journal's header (BOM removed): the column names and where the header ends.
pub(crate) fn read_journal_header(bytes: &[u8]) -> Result<(Vec<String>, RecordEnd), InputError> {
    read_header(JOURNAL_FILE, bytes, JOURNAL_COLUMNS)
}

/// An `entry_id` that heads a second group of rows at `line`; its first group began at `first_line`.
pub(crate) fn split_entry(line: u64, entry_id: &str, first_line: u64) -> InputError {
    let kind = InputErrorKind::SplitEntry { entry_id: entry_id.to_owned(), first_line };
    InputError::new(JOURNAL_FILE, line, Some((ENTRY_ID + 1, JOURNAL_COLUMNS[ENTRY_ID])), kind)
}

/// Bytes already known to be UTF-8 as text.
fn known_text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("journal rows are checked as UTF-8 before their fields are read")
}

/// One journal record of at least [`JOURNAL_COLUMNS`] fields, before any field is judged.
#[derive(Clone, Copy)]
pub(crate) struct JournalRow<'r, 'b> {
    pub line: u64,
    pub fields: &'r [Field<'b>],
    /// The header's column names, which name the column of an error.
    pub columns: &'r [String],
}

impl<'b> JournalRow<'_, 'b> {
    pub fn error(&self, index: usize, kind: InputErrorKind) -> InputError {
        InputError::in_field(JOURNAL_FILE, self.line, self.columns, index, kind)
    }

    /// Every field is UTF-8 text: the first rule, which the others assume (the scanner checks a
    /// whole piece at once, and a row at a time only in a piece that failed).
    pub fn check_text(&self) -> Result<(), InputError> {
        for (index, field) in self.fields.iter().enumerate() {
            std::str::from_utf8(field.bytes).map_err(|e| self.error(index, InputErrorKind::NotUtf8(e)))?;
        }
        Ok(())
    }

    /// Field `index` as text, `""` escapes undone.
    pub fn text(&self, index: usize) -> Cow<'b, str> {
        match self.fields[index].unescaped() {
            Cow::Borrowed(bytes) => Cow::Borrowed(known_text(bytes)),
            Cow::Owned(bytes) => Cow::Owned(known_text(&bytes).to_owned()),
        }
    }

    /// The raw text of field `index`, quotes as written (for fields that must not hold one).
    pub fn raw(&self, index: usize) -> &'b str {
        known_text(self.fields[index].bytes)
    }

    pub fn entry_id(&self) -> Result<&'b str, InputError> {
        let id = self.raw(ENTRY_ID);
        if self.fields[ENTRY_ID].escaped || !is_valid_id(id) {
            return Err(self.error(ENTRY_ID, InputErrorKind::BadId(id.to_owned())));
        }
        Ok(id)
    }

    pub fn date(&self) -> Result<Date, InputError> {
        Date::parse(&self.text(DATE)).map_err(|e| self.error(DATE, e.into()))
    }

    pub fn kind(&self) -> Result<EntryKind, InputError> {
        let text = self.text(KIND);
        EntryKind::parse(&text).ok_or_else(|| self.error(KIND, InputErrorKind::EntryKind(text.into_owned())))
    }

    /// The one positive amount of the row and its side.
    pub fn amount(&self) -> Result<(Side, Money), InputError> {
        let (debit, credit) = (self.fields[DEBIT].bytes, self.fields[CREDIT].bytes);
        let (index, side) = match (debit.is_empty(), credit.is_empty()) {
            (false, true) => (DEBIT, Side::Debit),
            (true, false) => (CREDIT, Side::Credit),
            (true, true) => return Err(self.error(DEBIT, InputErrorKind::NeitherAmount)),
            (false, false) => {
                let kind = InputErrorKind::BothAmounts {
                    debit: self.text(DEBIT).into_owned(),
                    credit: self.text(CREDIT).into_owned(),
                };
                return Err(self.error(CREDIT, kind));
            }
        };
        let amount = Money::parse_positive(&self.text(index)).map_err(|e| self.error(index, e.into()))?;
        Ok((side, amount))
    }

    /// A later row of the entry `entry_id` that began on `first_line` repeats its date and kind.
    pub fn continues(
        &self,
        entry_id: &str,
        first_line: u64,
        (first_date, first_kind): (Date, EntryKind),
        (date, kind): (Date, EntryKind),
    ) -> Result<(), InputError> {
        let entry_id = entry_id.to_owned();
        if first_date != date {
            let kind = InputErrorKind::DateChanged { entry_id, first_line, first: first_date, this: date };
            return Err(self.error(DATE, kind));
        }
        if first_kind != kind {
            return Err(
                self.error(KIND, InputErrorKind::KindChanged { entry_id, first_line, first: first_kind, this: kind })
            );
        }
        Ok(())
    }

    /// A later row of an entry names the same reversed entry as the rows before it, if both name one.
    pub fn same_reverses(
        &self,
        index: usize,
        entry_id: &str,
        first_line: u64,
        first: &str,
        this: &str,
    ) -> Result<(), InputError> {
        if first == this {
            return Ok(());
        }
        let kind = InputErrorKind::ReversesChanged {
            entry_id: entry_id.to_owned(),
            first_line,
            first: first.to_owned(),
            this: this.to_owned(),
        };
        Err(self.error(index, kind))
    }
}

#[cfg(test)]
mod tests;
