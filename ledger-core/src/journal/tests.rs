//! The import reader and the reconciliation scanner accept and refuse the same journals, with
//! the same error: same file, line, column and message.

use proptest::prelude::*;

use crate::interchange::{read_buildings, read_estates, read_journal, read_units, InputError};
use crate::money::Money;
use crate::recon::scan::fold_journal;
use crate::recon::CityIndex;

/// An error of form planted in one row (or, for `Split`, one entry) of a valid journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    BadId,
    QuotedId,
    BadDate,
    BadKind,
    BothAmounts,
    NeitherAmount,
    ThreeDecimals,
    ThousandsSeparator,
    Negative,
    Zero,
    TooFewFields,
    OtherDate,
    OtherKind,
    Split,
    NotUtf8,
    StrayQuote,
    UnclosedQuote,
}

const FAULTS: [Fault; 17] = [
    Fault::BadId,
    Fault::QuotedId,
    Fault::BadDate,
    Fault::BadKind,
    Fault::BothAmounts,
    Fault::NeitherAmount,
    Fault::ThreeDecimals,
    Fault::ThousandsSeparator,
    Fault::Negative,
    Fault::Zero,
    Fault::TooFewFields,
    Fault::OtherDate,
    Fault::OtherKind,
    Fault::Split,
    Fault::NotUtf8,
    Fault::StrayQuote,
    Fault::UnclosedQuote,
];

/// Stands for a byte that is not UTF-8 until the rows are joined into bytes.
const NOT_UTF8: &str = "\u{1}";

const ACCOUNTS: [&str; 8] =
    ["bank:1", "unit:U0", "unit:U1", "unit:U2", "income:interest", "suspense", "cash:9", "unit:GHOST"];
const KINDS: [&str; 4] = ["deposit", "interest", "payment", "adjustment"];
const MEMOS: [&str; 6] = ["", "plain", "\"a, b\"", "\"two\nlines\"", "\"say \"\"hi\"\"\"", "\"王, 小明\""];

#[derive(Debug, Clone)]
struct Posting {
    account: usize,
    fen: i64,
    debit: bool,
    memo: usize,
}

#[derive(Debug, Clone)]
struct Journal {
    entries: Vec<(usize, u8, Vec<Posting>)>,
    faults: Vec<(Fault, usize)>,
    crlf: bool,
    bom: bool,
    final_newline: bool,
    blank_after: Option<usize>,
}

fn journal() -> impl Strategy<Value = Journal> {
    let posting = (0..ACCOUNTS.len(), 1i64..100_000, any::<bool>(), 0..MEMOS.len())
        .prop_map(|(account, fen, debit, memo)| Posting { account, fen, debit, memo });
    let entry = (0..KINDS.len(), 1u8..28, prop::collection::vec(posting, 1..4));
    let fault = (prop::sample::select(FAULTS.to_vec()), any::<usize>());
    (
        prop::collection::vec(entry, 1..12),
        prop::collection::vec(fault, 0..3),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(any::<usize>()),
    )
        .prop_map(|(entries, faults, crlf, bom, final_newline, blank_after)| Journal {
            entries,
            faults,
            crlf,
            bom,
            final_newline,
            blank_after,
        })
}

fn rows_of(journal: &Journal) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for (n, (kind, day, postings)) in journal.entries.iter().enumerate() {
        for p in postings {
            let amount = Money::from_fen(p.fen).to_string();
            let (debit, credit) = if p.debit { (amount, String::new()) } else { (String::new(), amount) };
            rows.push(vec![
                format!("J{n:03}"),
                format!("2024-03-{day:02}"),
                KINDS[*kind].to_owned(),
                ACCOUNTS[p.account].to_owned(),
                debit,
                credit,
                MEMOS[p.memo].to_owned(),
            ]);
        }
    }
    rows
}

/// Plants `fault` at the row `at` picks (modulo the rows that can take it).
fn plant(rows: &mut [Vec<String>], fault: Fault, at: usize) {
    let continuing: Vec<usize> =
        (1..rows.len()).filter(|&i| rows[i].len() > 2 && rows[i][0] == rows[i - 1][0]).collect();
    let i = at % rows.len();
    match fault {
        Fault::OtherDate | Fault::OtherKind if continuing.is_empty() => return,
        Fault::OtherDate => return rows[continuing[at % continuing.len()]][1] = "2023-12-31".into(),
        Fault::OtherKind => return rows[continuing[at % continuing.len()]][2] = "refund".into(),
        _ => {}
    }
    let amount = if rows[i].get(4).is_some_and(|d| !d.is_empty()) { 4 } else { 5 };
    let first_id = rows[0][0].clone();
    let splits = i > 0 && rows[i - 1][0] != first_id;
    let row = &mut rows[i];
    if row.len() < 7 {
        return; // already cut short by another fault
    }
    match fault {
        Fault::BadId => row[0] = "J 1".into(),
        Fault::QuotedId => row[0] = "\"J\"\"1\"".into(),
        Fault::BadDate => row[1] = "2024-02-30".into(),
        Fault::BadKind => row[2] = "gift".into(),
        Fault::BothAmounts => (row[4], row[5]) = ("1.00".into(), "2".into()),
        Fault::NeitherAmount => (row[4], row[5]) = (String::new(), "\"\"".into()),
        Fault::ThreeDecimals => row[amount] = "1.234".into(),
        Fault::ThousandsSeparator => row[amount] = "\"1,000\"".into(),
        Fault::Negative => row[amount] = "-5".into(),
        Fault::Zero => row[amount] = "0.00".into(),
        Fault::TooFewFields => row.truncate(5),
        Fault::NotUtf8 => row[6] = format!("caf{NOT_UTF8}"),
        Fault::StrayQuote => row[6] = "pipe 5\" wide".into(),
        Fault::UnclosedQuote => row[6] = "\"never closed".into(),
        Fault::Split if splits => row[0] = first_id,
        Fault::Split | Fault::OtherDate | Fault::OtherKind => {}
    }
}

fn bytes_of(journal: &Journal) -> Vec<u8> {
    let mut rows = rows_of(journal);
    for &(fault, at) in &journal.faults {
        plant(&mut rows, fault, at);
    }
    let end = if journal.crlf { "\r\n" } else { "\n" };
    let mut text = if journal.bom { "\u{feff}".to_owned() } else { String::new() };
    text.push_str("entry_id,date,kind,account,debit,credit,memo");
    for (i, row) in rows.iter().enumerate() {
        text.push_str(end);
        text.push_str(&row.join(","));
        if journal.blank_after.is_some_and(|b| b % rows.len() == i) {
            text.push_str(end);
        }
    }
    if journal.final_newline {
        text.push_str(end);
    }
    let mut bytes = Vec::with_capacity(text.len());
    for piece in text.split(NOT_UTF8) {
        bytes.extend_from_slice(piece.as_bytes());
        bytes.push(0xFF);
    }
    bytes.pop();
    bytes
}

fn city() -> CityIndex {
    let estates = read_estates(b"estate_id,name,district,street_office,property_company\nE,n,d,s,p\n").unwrap();
    let buildings = read_buildings(b"building_id,estate_id,name,floors,has_elevator\nB,E,n,6,false\n").unwrap();
    let units =
        read_units(b"unit_id,building_id,floor_area,use,owner\nU0,B,50,residential,o\nU1,B,60,residential,o\nU2,B,70,commercial,o\n")
            .unwrap();
    CityIndex::build(&estates, &buildings, &units).unwrap()
}

/// What both paths can say of a journal: how many entries and postings, or the error.
fn imported(bytes: &[u8]) -> Result<(u64, u64), InputError> {
    read_journal(bytes).map(|entries| (entries.len() as u64, entries.iter().map(|e| e.postings.len() as u64).sum()))
}

fn folded(
    city: &CityIndex,
    bytes: &[u8],
    block: usize,
    pieces: usize,
    parallel: bool,
) -> Result<(u64, u64), InputError> {
    fold_journal(city, bytes, block, pieces, parallel).map(|facts| (facts.entries, facts.postings))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn import_and_reconciliation_accept_and_refuse_alike(
        journal in journal(),
        block in 1usize..400,
        pieces in 1usize..5,
    ) {
        let city = city();
        let bytes = bytes_of(&journal);
        let import = imported(&bytes);
        if journal.faults.is_empty() {
            prop_assert!(import.is_ok(), "a journal without faults is valid: {:?}", import);
        }
        for (block, pieces, parallel) in [(1 << 30, 1, false), (block, pieces, true), (block, pieces, false), (3, 2, true)] {
            let reconcile = folded(&city, &bytes, block, pieces, parallel);
            prop_assert_eq!(
                &reconcile, &import, "block {} pieces {} parallel {}: {}", block, pieces, parallel,
                String::from_utf8_lossy(&bytes)
            );
        }
    }
}

/// Every planted fault is refused by both paths alike, each at the row it was planted in.
#[test]
fn every_fault_is_refused_alike_at_its_row() {
    let city = city();
    let posting = |account, fen, debit| Posting { account, fen, debit, memo: 2 };
    let entries = (0..4)
        .map(|n| (n % KINDS.len(), 5 + n as u8, vec![posting(0, 1250, true), posting(1 + n % 3, 1250, false)]))
        .collect();
    let valid =
        Journal { entries, faults: Vec::new(), crlf: true, bom: true, final_newline: false, blank_after: Some(2) };
    assert!(imported(&bytes_of(&valid)).is_ok());
    for fault in FAULTS {
        // Row 5 (file line 7, the blank line after row 3 included) continues entry J002.
        let journal = Journal { faults: vec![(fault, 5)], ..valid.clone() };
        let bytes = bytes_of(&journal);
        let import = imported(&bytes).expect_err(&format!("{fault:?} is refused"));
        match fault {
            Fault::OtherDate | Fault::OtherKind => assert!(import.to_string().contains("began on line"), "{import}"),
            _ => assert_eq!(import.line, 8, "{fault:?}: {import}"),
        }
        for (block, pieces, parallel) in [(1 << 30, 1, false), (17, 3, true), (1, 2, false)] {
            assert_eq!(folded(&city, &bytes, block, pieces, parallel).unwrap_err(), import, "{fault:?}");
        }
    }
}
