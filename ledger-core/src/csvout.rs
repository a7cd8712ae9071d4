//! The one way mfund writes CSV.
//!
//! Files we write are read by strict tools (DuckDB, the `csv` crate with `flexible(false)`) that
//! refuse a row narrower or wider than its header, and quoting by hand misses cases. So every CSV
//! we produce goes through [`CsvOut`]: it is created with its header, refuses a row of any other
//! width, and leaves quoting to the `csv` crate (RFC 4180: a field is quoted only when it holds a
//! comma, a quote or a line break). The caller owns the destination; nothing here opens a file.

use std::io;

/// Bytes gathered before each write to the destination, so that callers can hand over a bare
/// file without a `BufWriter` of their own.
const BUFFER_BYTES: usize = 1 << 16;

/// A CSV writer whose every row is exactly as wide as its header.
pub struct CsvOut<W: io::Write> {
    writer: csv::Writer<W>,
    width: usize,
}

impl<W: io::Write> CsvOut<W> {
    /// Starts a CSV document on `destination` by writing `header`.
    pub fn new(destination: W, header: &[&str]) -> io::Result<Self> {
        assert!(!header.is_empty(), "a CSV header names at least one column");
        let mut writer = csv::WriterBuilder::new().buffer_capacity(BUFFER_BYTES).from_writer(destination);
        writer.write_record(header)?;
        Ok(CsvOut { writer, width: header.len() })
    }

    /// Writes one record.
    ///
    /// # Panics
    /// When `fields` is not as wide as the header: the widths are fixed by our code, so a
    /// mismatch is a bug here, never a fault in anyone's data, and writing it would corrupt the file.
    pub fn row<F: AsRef<[u8]>>(&mut self, fields: &[F]) -> io::Result<()> {
        assert_eq!(fields.len(), self.width, "a CSV row must have as many fields as its header");
        Ok(self.writer.write_record(fields)?)
    }

    /// Flushes what is buffered and gives the destination back. Dropping a `CsvOut` instead
    /// also flushes, but loses any error.
    pub fn finish(self) -> io::Result<W> {
        self.writer.into_inner().map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(header: &[&str], rows: &[&[&str]]) -> Vec<u8> {
        let mut out = CsvOut::new(Vec::new(), header).unwrap();
        for row in rows {
            out.row(row).unwrap();
        }
        out.finish().unwrap()
    }

    #[test]
    #[should_panic(expected = "as many fields as its header")]
    fn a_row_narrower_than_the_header_is_refused() {
        let mut out = CsvOut::new(Vec::new(), &["a", "b", "c"]).unwrap();
        let _ = out.row(&["1", "2"]);
    }

    #[test]
    #[should_panic(expected = "as many fields as its header")]
    fn a_row_wider_than_the_header_is_refused() {
        let mut out = CsvOut::new(Vec::new(), &["a", "b"]).unwrap();
        let _ = out.row(&["1", "2", "3"]);
    }

    #[test]
    fn awkward_fields_round_trip_through_a_strict_reader() {
        let awkward = "王, \"小明\"\n二号楼\r\n备注";
        let bytes = written(&["id", "memo", "reverses"], &[&["J1", awkward, ""], &["J2", "plain", "J1"]]);
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes.as_slice());
        assert_eq!(reader.headers().unwrap(), vec!["id", "memo", "reverses"]);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], vec!["J1", awkward, ""]);
        assert_eq!(rows[1], vec!["J2", "plain", "J1"]);
    }

    #[test]
    fn only_fields_that_need_it_are_quoted() {
        let bytes = written(&["a", "b", "c"], &[&["东城区", "x,y", ""]]);
        assert_eq!(String::from_utf8(bytes).unwrap(), "a,b,c\n东城区,\"x,y\",\n");
    }
}
