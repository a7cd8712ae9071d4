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

use crate::account::{is_valid_id, EntryKind};
use crate::date::Date;
use crate::fixed::parse_hundredths;
use crate::interchange::{InputError, JOURNAL_COLUMNS, JOURNAL_FILE};
use crate::recon::city::CityIndex;
use crate::recon::facts::{ChunkFacts, JournalFacts, PostingIn};

fn text(field: &[u8]) -> &str {
    // The caller validated the whole buffer as UTF-8, and fields split at ASCII bytes.
    std::str::from_utf8(field).expect("the buffer was validated as UTF-8")
}

fn error(line: u64, column: usize, message: String) -> InputError {
    let name = JOURNAL_COLUMNS.get(column).map_or("", |c| c).to_owned();
    InputError { file: JOURNAL_FILE.to_owned(), line, column: Some((column + 1, name)), message }
}

/// The entry being gathered from adjacent rows.
struct Pending<'b> {
    id: &'b [u8],
    line: u64,
    date: Date,
    kind: EntryKind,
    date_text: &'b [u8],
    kind_text: &'b [u8],
}

/// Scans journal rows (no header) starting at a record boundary, the first byte being on file
/// line `first_line`, and folds every entry into a [`ChunkFacts`].
pub fn scan_chunk(city: &CityIndex, bytes: &[u8], first_line: u64, facts: &mut ChunkFacts) -> Result<(), InputError> {
    if simdutf8::basic::from_utf8(bytes).is_err() {
        // simdutf8 says yes or no fast; std says where.
        let at = std::str::from_utf8(bytes).err().map_or(0, |e| e.valid_up_to());
        let line = first_line + memchr_iter(b'\n', &bytes[..at]).count() as u64;
        let line_start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let column = memchr_iter(b',', &bytes[line_start..at]).count();
        return Err(error(line, column, "expected UTF-8 text, found invalid bytes".to_owned()));
    }
    let mut fields: Vec<Field<'_>> = Vec::with_capacity(16);
    let mut postings: Vec<PostingIn<'_>> = Vec::new();
    let mut pending: Option<Pending<'_>> = None;
    let (mut pos, mut line) = (0usize, first_line);
    while pos < bytes.len() {
        if let Some(next) = is_blank_line(bytes, pos) {
            pos = next;
            line += 1;
            continue;
        }
        let end = read_record(bytes, pos, &mut fields).map_err(|m| error(line, fields.len(), m.to_owned()))?;
        if fields.len() < JOURNAL_COLUMNS.len() {
            let message = format!("expected {} fields, found {}", JOURNAL_COLUMNS.len(), fields.len());
            return Err(InputError { file: JOURNAL_FILE.to_owned(), line, column: None, message });
        }
        let (id, date_text, kind_text) = (fields[0].bytes, fields[1].bytes, fields[2].bytes);
        match pending.as_ref().filter(|p| p.id == id) {
            // Rows of one entry repeat its date and kind: compare bytes, parse only on a difference.
            Some(p) if p.date_text == date_text && p.kind_text == kind_text => {}
            Some(p) => {
                let date = Date::parse(text(date_text)).map_err(|e| error(line, 1, e.to_string()))?;
                if p.date != date {
                    let message = format!(
                        "entry `{}` began on line {} with date {}, this row says {date}",
                        text(id),
                        p.line,
                        p.date
                    );
                    return Err(error(line, 1, message));
                }
                let kind = parse_kind(kind_text, line)?;
                let message =
                    format!("entry `{}` began on line {} with kind {}, this row says {kind}", text(id), p.line, p.kind);
                return Err(error(line, 2, message));
            }
            None => {
                if !is_valid_id(text(id)) {
                    let message =
                        format!("expected an identifier matching [A-Za-z0-9._:-]{{1,64}}, found `{}`", text(id));
                    return Err(error(line, 0, message));
                }
                let date = Date::parse(text(date_text)).map_err(|e| error(line, 1, e.to_string()))?;
                let kind = parse_kind(kind_text, line)?;
                if let Some(done) = pending.take() {
                    facts.add_entry(city, text(done.id), done.line, done.date, done.kind, &postings);
                    postings.clear();
                }
                pending = Some(Pending { id, line, date, kind, date_text, kind_text });
            }
        }
        let signed_fen = signed_amount(fields[4].bytes, fields[5].bytes, line)?;
        postings.push(PostingIn { account: text(fields[3].bytes), signed_fen });
        pos = end.next;
        line += end.newlines;
    }
    if let Some(done) = pending {
        facts.add_entry(city, text(done.id), done.line, done.date, done.kind, &postings);
    }
    facts.lines = line - first_line;
    Ok(())
}

fn parse_kind(kind_text: &[u8], line: u64) -> Result<EntryKind, InputError> {
    EntryKind::parse(text(kind_text))
        .ok_or_else(|| error(line, 2, format!("expected an entry kind, found `{}`", text(kind_text))))
}

fn signed_amount(debit: &[u8], credit: &[u8], line: u64) -> Result<i64, InputError> {
    let (column, field, sign) = match (debit.is_empty(), credit.is_empty()) {
        (false, true) => (4, debit, 1),
        (true, false) => (5, credit, -1),
        (true, true) => {
            return Err(error(
                line,
                4,
                "expected an amount in exactly one of debit and credit, found neither".to_owned(),
            ))
        }
        (false, false) => {
            return Err(error(line, 5, "expected an amount in exactly one of debit and credit, found both".to_owned()))
        }
    };
    let fen = parse_hundredths(text(field)).map_err(|e| error(line, column, e.to_string()))?;
    if fen <= 0 {
        return Err(error(line, column, format!("expected a positive amount, found `{}`", text(field))));
    }
    Ok(sign * fen)
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
/// with file line numbers. On errors, the one earliest in the file is returned.
pub fn scan_pieces(
    city: &CityIndex,
    bytes: &[u8],
    first_line: u64,
    pieces: usize,
    parallel: bool,
    chunks: &mut Vec<ChunkFacts>,
) -> Result<usize, InputError> {
    let ranges = entry_pieces(bytes, pieces);
    // Each piece's first line, so that every message names file lines (one counting pass).
    let count = |r: &std::ops::Range<usize>| memchr_iter(b'\n', &bytes[r.clone()]).count() as u64;
    let newlines: Vec<u64> =
        if parallel { ranges.par_iter().map(count).collect() } else { ranges.iter().map(count).collect() };
    let starts: Vec<u64> =
        newlines.iter().scan(first_line, |line, n| Some(std::mem::replace(line, *line + n))).collect();
    chunks.resize_with(chunks.len().max(ranges.len()), ChunkFacts::default);
    let scan = |((chunk, r), start): ((&mut ChunkFacts, &std::ops::Range<usize>), &u64)| {
        scan_chunk(city, &bytes[r.clone()], *start, chunk)
    };
    let used = &mut chunks[..ranges.len()];
    let results: Vec<Result<(), InputError>> = if parallel {
        used.par_iter_mut().zip(ranges.par_iter()).zip(starts.par_iter()).map(scan).collect()
    } else {
        used.iter_mut().zip(ranges.iter()).zip(starts.iter()).map(scan).collect()
    };
    results.into_iter().collect::<Result<Vec<()>, InputError>>()?;
    Ok(ranges.len())
}

/// Checks that `header` (the first line of journal.csv, BOM removed) names the SPEC columns.
pub fn check_header(header: &[u8]) -> Result<(), InputError> {
    let mut fields = Vec::new();
    let names: Vec<String> = match read_record(header, 0, &mut fields) {
        Ok(_) => fields.iter().map(|f| String::from_utf8_lossy(f.bytes).into_owned()).collect(),
        Err(_) => Vec::new(),
    };
    if names.len() < JOURNAL_COLUMNS.len() || names.iter().zip(JOURNAL_COLUMNS).any(|(a, b)| a != b) {
        return Err(InputError {
            file: JOURNAL_FILE.to_owned(),
            line: 1,
            column: None,
            message: format!("expected the header `{}`, found `{}`", JOURNAL_COLUMNS.join(","), names.join(",")),
        });
    }
    Ok(())
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
            if header.last() != Some(&b'\n') && !last {
                return Ok(0); // the header line is not complete yet
            }
            check_header(header)?;
            self.header_read = true;
            consumed = bom + header.len();
            self.next_line = 2;
        }
        let rest = &buffer[consumed..];
        let cut = if last { Some(rest.len()) } else { last_cut(rest) };
        let Some(cut) = cut else { return Ok(consumed) };
        let used = scan_pieces(self.city, &rest[..cut], self.next_line, self.pieces, self.parallel, &mut self.chunks)?;
        for chunk in &mut self.chunks[..used] {
            self.next_line += chunk.lines;
            self.facts.absorb(chunk);
        }
        Ok(consumed + cut)
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
