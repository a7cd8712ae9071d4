//! The journal at city scale: a hand-written RFC 4180 scanner that folds rows straight into
//! [`ChunkFacts`] without allocating per row, and cuts a buffer into pieces at entry boundaries
//! so that the pieces can be scanned in parallel.
//!
//! The `csv` crate reads the small files; here it would allocate millions of records, and a
//! cut at an arbitrary byte would land inside a quoted memo or an entry. A cut is made only
//! where the count of quote characters before it is even (outside any quoted field, since
//! `""` escapes come in pairs) and where the next row starts a new entry.

use memchr::memchr_iter;

use crate::csvscan::{blank_line as is_blank_line, next_record_start, read_record, Field};
use rayon::prelude::*;

use crate::account::EntryKind;
use crate::date::Date;
use crate::entry::Side;
use crate::interchange::{check_field_count, malformed_record, InputError, JOURNAL_COLUMNS, JOURNAL_FILE};
use crate::journal::{self, JournalRow};
use crate::recon::city::CityIndex;
use crate::recon::facts::{ChunkFacts, JournalFacts, PostingIn};

/// The entry being gathered from adjacent rows.
struct Pending<'b> {
    id: &'b str,
    line: u64,
    date: Date,
    kind: EntryKind,
    date_text: &'b [u8],
    kind_text: &'b [u8],
}

/// Scans journal rows (no header, whose column names are `columns`) starting at a record
/// boundary, the first byte being on file line `first_line`, and folds every entry into a
/// [`ChunkFacts`]. Rows are judged by the journal's row rules ([`crate::journal`]), so errors
/// read as the importer's; on an error, the entries before the bad row are folded all the same,
/// so that the caller can tell whether one of them was split earlier in the file.
pub fn scan_chunk(
    city: &CityIndex,
    columns: &[String],
    bytes: &[u8],
    first_line: u64,
    facts: &mut ChunkFacts,
) -> Result<(), InputError> {
    // simdutf8 says yes or no fast; only a piece that fails is checked row by row, to say where.
    let text_checked = simdutf8::basic::from_utf8(bytes).is_ok();
    let mut scan = ChunkScan { city, columns, facts, postings: Vec::new(), pending: None, line: first_line };
    let result = scan.rows(bytes, text_checked);
    if let Some(done) = scan.pending.take() {
        scan.facts.add_entry(city, done.id, done.line, done.date, done.kind, &scan.postings);
    }
    scan.facts.lines = scan.line - first_line;
    result
}

struct ChunkScan<'c, 'b> {
    city: &'c CityIndex,
    columns: &'c [String],
    facts: &'c mut ChunkFacts,
    postings: Vec<PostingIn<'b>>,
    pending: Option<Pending<'b>>,
    line: u64,
}

impl<'b> ChunkScan<'_, 'b> {
    fn rows(&mut self, bytes: &'b [u8], text_checked: bool) -> Result<(), InputError> {
        let mut fields: Vec<Field<'b>> = Vec::with_capacity(16);
        let mut pos = 0usize;
        while pos < bytes.len() {
            if let Some(next) = is_blank_line(bytes, pos) {
                pos = next;
                self.line += 1;
                continue;
            }
            let end = read_record(bytes, pos, &mut fields)
                .map_err(|why| malformed_record(JOURNAL_FILE, self.line, self.columns, fields.len(), why))?;
            check_field_count(JOURNAL_FILE, self.line, JOURNAL_COLUMNS.len(), fields.len())?;
            let row = JournalRow { line: self.line, fields: &fields, columns: self.columns };
            if !text_checked {
                row.check_text()?;
            }
            self.row(row)?;
            pos = end.next;
            self.line += end.newlines;
        }
        Ok(())
    }

    /// One row, judged in the order of the row rules; the date and kind of an entry's later rows
    /// are parsed only when their bytes differ from the first row's.
    fn row(&mut self, row: JournalRow<'_, 'b>) -> Result<(), InputError> {
        let (date_text, kind_text) = (row.fields[journal::DATE].bytes, row.fields[journal::KIND].bytes);
        let id = row.fields[journal::ENTRY_ID].bytes;
        let continuing = self.pending.as_ref().filter(|p| p.id.as_bytes() == id);
        let repeats = continuing.is_some_and(|p| p.date_text == date_text && p.kind_text == kind_text);
        let started = match repeats {
            true => None,
            false => Some((row.entry_id()?, row.date()?, row.kind()?)),
        };
        let (side, amount) = row.amount()?;
        let signed_fen = if side == Side::Debit { amount.fen() } else { -amount.fen() };
        if let Some((entry_id, date, kind)) = started {
            match continuing {
                Some(p) => row.continues(entry_id, p.line, (p.date, p.kind), (date, kind))?,
                None => {
                    if let Some(done) = self.pending.take() {
                        self.facts.add_entry(self.city, done.id, done.line, done.date, done.kind, &self.postings);
                        self.postings.clear();
                    }
                    self.pending = Some(Pending { id: entry_id, line: row.line, date, kind, date_text, kind_text });
                }
            }
        }
        self.postings.push(PostingIn { account: row.raw(journal::ACCOUNT), signed_fen });
        Ok(())
    }
}

/// The first complete record start at or after `from` where a new entry begins, or `None`.
/// `bytes` must itself start at a record boundary.
pub fn entry_boundary_after(bytes: &[u8], from: usize) -> Option<usize> {
    let quoted = memchr_iter(b'"', &bytes[..from]).count() % 2 == 1;
    let mut fields = Vec::new();
    let mut start = next_record_start(bytes, from, quoted)?;
    let mut previous_id: Option<Vec<u8>> = None;
    loop {
        while let Some(next) = is_blank_line(bytes, start) {
            start = next;
        }
        // Blank lines to the end are no record: reading one there would make up an empty id,
        // and a cut before the rest of the entry the blank lines sit in.
        if start >= bytes.len() {
            return None;
        }
        let next = read_record(bytes, start, &mut fields).ok()?.next;
        // Only a record that ends inside the buffer shows its whole id.
        if next >= bytes.len() && bytes.last() != Some(&b'\n') {
            return None;
        }
        let id = fields.first().map_or(&[][..], |f| f.bytes);
        match &previous_id {
            Some(prev) if prev.as_slice() != id => return Some(start),
            _ => previous_id = Some(id.to_vec()),
        }
        start = next;
        if start >= bytes.len() {
            return None;
        }
    }
}

/// Cuts `bytes` (starting at a record boundary) into about `pieces` parts at entry boundaries.
pub fn entry_pieces(bytes: &[u8], pieces: usize) -> Vec<std::ops::Range<usize>> {
    let mut cuts = vec![0];
    for k in 1..pieces.max(1) {
        let target = bytes.len() * k / pieces;
        if target <= *cuts.last().expect("non-empty") {
            continue;
        }
        match entry_boundary_after(bytes, target) {
            Some(cut) if cut > *cuts.last().expect("non-empty") => cuts.push(cut),
            _ => break,
        }
    }
    cuts.push(bytes.len());
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

/// Scans a buffer of whole entries in parallel pieces into `chunks` (grown as needed, each
/// emptied by [`JournalFacts::absorb`] before) and returns how many it filled, in file order,
/// with file line numbers. On errors, the one earliest in the file is returned with the number
/// of the piece it is in.
pub fn scan_pieces(
    city: &CityIndex,
    columns: &[String],
    bytes: &[u8],
    first_line: u64,
    pieces: usize,
    parallel: bool,
    chunks: &mut Vec<ChunkFacts>,
) -> Result<usize, (usize, InputError)> {
    let ranges = entry_pieces(bytes, pieces);
    // Each piece's first line, so that every message names file lines (one counting pass).
    let count = |r: &std::ops::Range<usize>| memchr_iter(b'\n', &bytes[r.clone()]).count() as u64;
    let newlines: Vec<u64> =
        if parallel { ranges.par_iter().map(count).collect() } else { ranges.iter().map(count).collect() };
    let starts: Vec<u64> =
        newlines.iter().scan(first_line, |line, n| Some(std::mem::replace(line, *line + n))).collect();
    chunks.resize_with(chunks.len().max(ranges.len()), ChunkFacts::default);
    let scan = |((chunk, r), start): ((&mut ChunkFacts, &std::ops::Range<usize>), &u64)| {
        scan_chunk(city, columns, &bytes[r.clone()], *start, chunk)
    };
    let used = &mut chunks[..ranges.len()];
    let results: Vec<Result<(), InputError>> = if parallel {
        used.par_iter_mut().zip(ranges.par_iter()).zip(starts.par_iter()).map(scan).collect()
    } else {
        used.iter_mut().zip(ranges.iter()).zip(starts.iter()).map(scan).collect()
    };
    for (piece, result) in results.into_iter().enumerate() {
        result.map_err(|error| (piece, error))?;
    }
    Ok(ranges.len())
}

/// Checks that `header` (the first line of journal.csv, BOM removed) names the SPEC columns,
/// and returns the names of all its columns.
pub fn check_header(header: &[u8]) -> Result<Vec<String>, InputError> {
    journal::read_journal_header(header).map(|(names, _)| names)
}

/// Splits off the header line of a journal buffer (after a BOM), returning the header and the rest.
pub fn split_header(bytes: &[u8]) -> (&[u8], &[u8]) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match next_record_start(bytes, 0, false) {
        Some(end) => (&bytes[..end], &bytes[end..]),
        None => (bytes, &[]),
    }
}

/// Folds a journal fed in blocks of any size into [`JournalFacts`]: each call consumes the
/// whole entries at the front of the buffer and leaves the rest to be fed again, with more
/// bytes appended, so memory stays bounded by the block size however large the file is.
pub struct JournalFolder<'c> {
    city: &'c CityIndex,
    facts: JournalFacts,
    next_line: u64,
    header_read: bool,
    /// The header's column names, which name the column of an error.
    columns: Vec<String>,
    pieces: usize,
    parallel: bool,
    /// Scan buffers, reused from block to block.
    chunks: Vec<ChunkFacts>,
}

impl<'c> JournalFolder<'c> {
    /// `pieces` is how many parts each block is cut into for scanning (in parallel if asked).
    pub fn new(city: &'c CityIndex, pieces: usize, parallel: bool) -> JournalFolder<'c> {
        JournalFolder {
            city,
            facts: JournalFacts::new(city),
            next_line: 1,
            header_read: false,
            columns: Vec::new(),
            pieces: pieces.max(1),
            parallel,
            chunks: Vec::new(),
        }
    }

    /// Consumes a prefix of `buffer` and returns its length. `last` says no more bytes follow.
    pub fn feed(&mut self, buffer: &[u8], last: bool) -> Result<usize, InputError> {
        let mut consumed = 0;
        if !self.header_read {
            let bom = if buffer.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
            let (header, _) = split_header(buffer);
            // Complete only at a line end outside quotes: a block may end inside a quoted name.
            if next_record_start(&buffer[bom..], 0, false).is_none() && !last {
                return Ok(0); // the header line is not complete yet
            }
            self.columns = check_header(header)?;
            self.header_read = true;
            consumed = bom + header.len();
            self.next_line = 1 + memchr_iter(b'\n', header).count() as u64;
        }
        let rest = &buffer[consumed..];
        let cut = if last { Some(rest.len()) } else { last_cut(rest) };
        let Some(cut) = cut else { return Ok(consumed) };
        let scanned = scan_pieces(
            self.city,
            &self.columns,
            &rest[..cut],
            self.next_line,
            self.pieces,
            self.parallel,
            &mut self.chunks,
        );
        match scanned {
            Ok(used) => {
                for chunk in &mut self.chunks[..used] {
                    self.next_line += chunk.lines;
                    self.facts.absorb(chunk);
                }
                Ok(consumed + cut)
            }
            Err((piece, error)) => Err(self.first_error(piece, error)),
        }
    }

    /// The error a reader going row by row meets first: `error`, unless an entry before its row
    /// heads a second group of rows (which the importer sees as soon as it reads that row).
    fn first_error(&mut self, failed_piece: usize, error: InputError) -> InputError {
        for chunk in &mut self.chunks[..=failed_piece] {
            self.facts.absorb(chunk);
        }
        match crate::recon::check_split_entries(&self.facts) {
            Err(split) if split.line < error.line => split,
            _ => error,
        }
    }

    /// The folded journal, once every byte was fed; refuses an entry split across the file.
    pub fn finish(self) -> Result<JournalFacts, InputError> {
        crate::recon::check_split_entries(&self.facts)?;
        Ok(self.facts)
    }
}

/// Where to cut a buffer so that everything before is whole entries: the last entry boundary
/// whose record is complete, looking in the final eighth of the buffer first. `None` when
/// there is none yet.
fn last_cut(rest: &[u8]) -> Option<usize> {
    [rest.len() - rest.len() / 8, rest.len() / 2, 0].into_iter().find_map(|from| last_entry_boundary(rest, from))
}

/// The last complete record start at or after `from` where a new entry begins: one pass.
fn last_entry_boundary(bytes: &[u8], from: usize) -> Option<usize> {
    let first = entry_boundary_after(bytes, from)?;
    let mut fields = Vec::new();
    let (mut last, mut start) = (first, first);
    let mut previous_id: Vec<u8> = Vec::new();
    while start < bytes.len() {
        if let Some(next) = is_blank_line(bytes, start) {
            start = next;
            continue;
        }
        let Ok(next) = read_record(bytes, start, &mut fields).map(|end| end.next) else {
            break;
        };
        let complete = next < bytes.len() || bytes.last() == Some(&b'\n');
        let id = fields.first().map_or(&[][..], |f| f.bytes);
        if !complete {
            break;
        }
        if id != previous_id.as_slice() {
            last = start;
            previous_id = id.to_vec();
        }
        start = next;
    }
    Some(last)
}

/// Folds a whole in-memory journal (`journal.csv` bytes) in blocks of `block_bytes`.
pub fn fold_journal(
    city: &CityIndex,
    journal: &[u8],
    block_bytes: usize,
    pieces: usize,
    parallel: bool,
) -> Result<JournalFacts, InputError> {
    let mut folder = JournalFolder::new(city, pieces, parallel);
    let mut start = 0;
    let mut end = 0;
    while start < journal.len() || !folder.header_read {
        end = (end + block_bytes.max(1)).min(journal.len());
        let last = end == journal.len();
        start += folder.feed(&journal[start..end], last)?;
        if last {
            break;
        }
    }
    folder.finish()
}
