//! The one RFC 4180 record scanner behind every interchange file: it returns fields as slices
//! of the input (no allocation per row), which is what makes city-sized files fast to read.

use std::borrow::Cow;

use memchr::{memchr, memchr2, memchr3};

/// A field as it stands in the input, without its surrounding quotes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'b> {
    pub bytes: &'b [u8],
    /// Quoted with `""` escapes inside, which [`Field::unescaped`] turns back into `"`.
    pub escaped: bool,
}

impl<'b> Field<'b> {
    pub fn unescaped(&self) -> Cow<'b, [u8]> {
        if self.escaped {
            let mut out = Vec::with_capacity(self.bytes.len());
            let mut rest = self.bytes;
            while let Some(k) = memchr(b'"', rest) {
                out.extend_from_slice(&rest[..=k]);
                rest = &rest[(k + 2).min(rest.len())..];
            }
            out.extend_from_slice(rest);
            Cow::Owned(out)
        } else {
            Cow::Borrowed(self.bytes)
        }
    }
}

/// Where a record ends: the position after it and the line ends it spans (its own, if it
/// has one, and any inside quoted fields).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordEnd {
    pub next: usize,
    pub newlines: u64,
}

/// Splits the record starting at `pos` into `fields` and says where it ends.
pub(crate) fn read_record<'b>(
    bytes: &'b [u8],
    mut pos: usize,
    fields: &mut Vec<Field<'b>>,
) -> Result<RecordEnd, &'static str> {
    fields.clear();
    let mut newlines = 0;
    let end = |next, own: u64, quoted: u64| Ok(RecordEnd { next, newlines: own + quoted });
    loop {
        if bytes.get(pos) == Some(&b'"') {
            let start = pos + 1;
            let mut i = start;
            let mut escaped = false;
            loop {
                let k = memchr(b'"', &bytes[i..]).ok_or("a quoted field is never closed")?;
                i += k;
                if bytes.get(i + 1) == Some(&b'"') {
                    escaped = true;
                    i += 2;
                } else {
                    break;
                }
            }
            fields.push(Field { bytes: &bytes[start..i], escaped });
            newlines += memchr::memchr_iter(b'\n', &bytes[start..i]).count() as u64;
            pos = i + 1;
            match bytes.get(pos) {
                Some(b',') => pos += 1,
                Some(b'\n') => return end(pos + 1, 1, newlines),
                Some(b'\r') if bytes.get(pos + 1) == Some(&b'\n') => return end(pos + 2, 1, newlines),
                Some(b'\r') if pos + 1 == bytes.len() => return end(pos + 1, 0, newlines),
                None => return end(pos, 0, newlines),
                Some(_) => {
                    fields.pop(); // the error is in this field: callers name it by `fields.len()`
                    return Err("unexpected text after a closing quote");
                }
            }
        } else {
            match memchr3(b',', b'\n', b'"', &bytes[pos..]) {
                // RFC 4180: a quote only opens a quoted field. One inside an unquoted field would
                // also throw off where files may be cut for parallel reading.
                Some(k) if bytes[pos + k] == b'"' => {
                    return Err("a quote inside an unquoted field: quote the whole field and double the quote");
                }
                Some(k) if bytes[pos + k] == b',' => {
                    fields.push(Field { bytes: &bytes[pos..pos + k], escaped: false });
                    pos += k + 1;
                }
                Some(k) => {
                    fields.push(Field { bytes: strip_cr(&bytes[pos..pos + k]), escaped: false });
                    return end(pos + k + 1, 1, newlines);
                }
                None => {
                    fields.push(Field { bytes: strip_cr(&bytes[pos..]), escaped: false });
                    return end(bytes.len(), 0, newlines);
                }
            }
        }
    }
}

fn strip_cr(field: &[u8]) -> &[u8] {
    field.strip_suffix(b"\r").unwrap_or(field)
}

/// The position after a blank line starting at `pos`, if there is one (blank lines are skipped).
pub(crate) fn blank_line(bytes: &[u8], pos: usize) -> Option<usize> {
    match bytes.get(pos) {
        Some(b'\n') => Some(pos + 1),
        Some(b'\r') if bytes.get(pos + 1) == Some(&b'\n') => Some(pos + 2),
        _ => None,
    }
}

/// The first record start at or after `from`, given whether `from` lies inside quotes.
pub(crate) fn next_record_start(bytes: &[u8], from: usize, mut quoted: bool) -> Option<usize> {
    let mut pos = from;
    while let Some(k) = memchr2(b'"', b'\n', &bytes[pos..]) {
        let at = pos + k;
        if bytes[at] == b'"' {
            quoted = !quoted;
        } else if !quoted {
            return Some(at + 1);
        }
        pos = at + 1;
    }
    None
}
