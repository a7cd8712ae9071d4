//! What `mfund gen` writes is read by strict tools (DuckDB, the `csv` crate with
//! `flexible(false)`): every CSV file must be rectangular, each row as wide as its header.

use std::path::Path;

use crate::support::{mfund, stderr};

const CSV_FILES: [&str; 9] = [
    "estates.csv",
    "buildings.csv",
    "units.csv",
    "journal.csv",
    "statement.csv",
    "unit_balances.csv",
    // The service ratings' year (SPEC §9).
    "rating_checks.csv",
    "tickets.csv",
    "credit_scores.csv",
];

/// Every record of `path` read by a strict reader, the header first.
fn strict_records(path: &Path) -> Vec<csv::StringRecord> {
    let mut reader =
        csv::ReaderBuilder::new().flexible(false).has_headers(false).from_path(path).expect("open the file");
    reader.records().map(|r| r.unwrap_or_else(|e| panic!("{}: {e}", path.display()))).collect()
}

#[test]
fn every_generated_csv_file_is_as_wide_as_its_header_in_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("city");
    let gen = mfund(
        "sqlite://unused.db",
        &["gen", "--units", "3000", "--seed", "7", "--faults", "--out", out.to_str().unwrap()],
    );
    assert!(gen.status.success(), "{}", stderr(&gen));
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".csv"))
        .collect();
    written.sort();
    let mut expected = CSV_FILES.map(str::to_owned).to_vec();
    expected.sort();
    assert_eq!(written, expected, "the files gen writes");
    for name in &written {
        let records = strict_records(&out.join(name));
        let (header, rows) = records.split_first().unwrap_or_else(|| panic!("{name} is empty"));
        assert!(!rows.is_empty(), "{name} has no rows");
        for (k, row) in rows.iter().enumerate() {
            assert_eq!(
                row.len(),
                header.len(),
                "{name}: row {} is {} fields wide, its header {}",
                k + 2,
                row.len(),
                header.len()
            );
        }
    }
}

#[test]
fn generated_journal_rows_carry_reverses_filled_only_for_reversals() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("city");
    let gen = mfund("sqlite://unused.db", &["gen", "--units", "3000", "--seed", "7", "--out", out.to_str().unwrap()]);
    assert!(gen.status.success(), "{}", stderr(&gen));
    let records = strict_records(&out.join("journal.csv"));
    assert_eq!(&records[0][7], "reverses");
    let (reversals, others): (Vec<_>, Vec<_>) = records[1..].iter().partition(|r| &r[2] == "reversal");
    assert!(!reversals.is_empty(), "a 3000-unit city has reversals");
    assert!(reversals.iter().all(|r| r[7].starts_with('J')), "each reversal names the entry it undoes");
    assert!(others.iter().all(|r| r[7].is_empty()), "only reversals name an entry in `reverses`");
}
