//! Reconciliation invariants on random cities with random faults.

use proptest::prelude::*;

use super::scan::fold_journal;
use super::*;
use crate::interchange::{read_estates, read_journal, read_statement, read_unit_balances, read_units};

/// A random small city in the SPEC files, faults included: unbalanced entries, postings to
/// accounts outside the chart or to unknown units, memos that need quoting, bank balances that
/// differ, are missing or unknown, and statement lines that may or may not match.
#[derive(Debug, Clone)]
struct RandomCity {
    estates: String,
    buildings: String,
    units: String,
    journal: String,
    statement: String,
    unit_balances: String,
}

fn memo(k: u8) -> &'static str {
    ["", "\"a,b\"", "\"多行\n备注\"", "\"say \"\"hi\"\"\"", "plain"][k as usize % 5]
}

fn random_city() -> impl Strategy<Value = RandomCity> {
    let entry = (0u8..20, 0u8..10, prop::collection::vec((0u8..12, 1i64..5_000, 0u8..5), 1..6), any::<bool>());
    (
        1usize..4,
        1usize..4,
        1usize..5,
        prop::collection::vec(entry, 0..40),
        prop::collection::vec((0u8..4, -3i64..5_000), 0..30),
        any::<u64>(),
    )
        .prop_map(|(estates, buildings_each, units_each, entries, lines, salt)| {
            let mut city = RandomCity {
                estates: "estate_id,name,district,street_office,property_company\n".into(),
                buildings: "building_id,estate_id,name,floors,has_elevator\n".into(),
                units: "unit_id,building_id,floor_area,use,owner\n".into(),
                journal: "entry_id,date,kind,account,debit,credit,memo\n".into(),
                statement: "txn_id,date,amount,ref,memo\n".into(),
                unit_balances: "unit_id,balance\n".into(),
            };
            let mut unit_ids = Vec::new();
            for e in 0..estates {
                city.estates.push_str(&format!("E{e},\"Estate, {e}\",区,街道,物业\n"));
                for b in 0..buildings_each {
                    city.buildings.push_str(&format!("E{e}-B{b},E{e},楼,6,false\n"));
                    for u in 0..units_each {
                        let id = format!("E{e}-B{b}-U{u}");
                        city.units.push_str(&format!(
                            "{id},E{e}-B{b},{}.{:02},residential,王\n",
                            35 + u * 7,
                            (e + u) % 100
                        ));
                        unit_ids.push(id);
                    }
                }
            }
            let accounts = |k: u8| -> String {
                match k {
                    0 | 1 => "bank:1".into(),
                    2 => "bank:2".into(),
                    3..=7 => format!("unit:{}", unit_ids[(k as usize * 7 + salt as usize) % unit_ids.len()]),
                    8 => "income:interest".into(),
                    9 => "payable:C1".into(),
                    10 => {
                        if salt % 3 == 0 {
                            "cash:1".into()
                        } else {
                            "suspense".into()
                        }
                    }
                    _ => {
                        if salt % 2 == 0 {
                            "unit:GHOST".into()
                        } else {
                            "income:common".into()
                        }
                    }
                }
            };
            let kinds = [
                "deposit",
                "deposit",
                "interest",
                "allocation",
                "payment",
                "refund",
                "topup",
                "adjustment",
                "drawdown",
                "opening",
            ];
            let mut bank_amounts = Vec::new();
            for (n, (day, kind, postings, balanced)) in entries.iter().enumerate() {
                let date = format!("2024-01-{:02}", day + 1);
                let kind = kinds[*kind as usize];
                let mut rows: Vec<(String, i64)> = postings
                    .iter()
                    .map(|&(a, fen, side)| (accounts(a), if side % 2 == 0 { fen } else { -fen }))
                    .collect();
                if *balanced {
                    let gap: i64 = rows.iter().map(|r| r.1).sum();
                    if gap != 0 {
                        rows.push((accounts((n % 3) as u8 + 3), -gap));
                    }
                }
                for (k, (account, signed)) in rows.iter().enumerate() {
                    let amount = Money::from_fen(signed.abs()).to_string();
                    let (debit, credit) = if *signed > 0 { (amount.as_str(), "") } else { ("", amount.as_str()) };
                    city.journal.push_str(&format!(
                        "J{n:03},{date},{kind},{account},{debit},{credit},{}\n",
                        memo(k as u8 + *day)
                    ));
                    if account.starts_with("bank:") {
                        bank_amounts.push((n, *day, *signed));
                    }
                }
            }
            for (t, &(choice, fen)) in lines.iter().enumerate() {
                let (reference, day, amount) = match (choice, bank_amounts.get(t % bank_amounts.len().max(1))) {
                    (0, Some(&(n, day, signed))) => (format!("J{n:03}"), day, signed),
                    (1, Some(&(_, day, signed))) => (String::new(), (day + (t % 5) as u8).min(27), signed),
                    _ => (String::new(), (t % 20) as u8, fen),
                };
                city.statement.push_str(&format!(
                    "T{:03},2024-01-{:02},{},{reference},x\n",
                    100 - t,
                    day + 1,
                    Money::from_fen(amount)
                ));
            }
            for (i, id) in unit_ids.iter().enumerate() {
                if !(i as u64 + salt).is_multiple_of(5) {
                    city.unit_balances.push_str(&format!(
                        "{id},{}\n",
                        Money::from_fen(((i as i64) * 37 + salt as i64 % 100) % 3000 - 100)
                    ));
                }
            }
            city.unit_balances.push_str("STRANGER,1.00\n");
            city
        })
}

fn city_index(city: &RandomCity) -> CityIndex {
    let buildings = crate::interchange::read_buildings(city.buildings.as_bytes()).unwrap();
    CityIndex::build(
        &read_estates(city.estates.as_bytes()).unwrap(),
        &buildings,
        &read_units(city.units.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn report(city: &RandomCity, index: &CityIndex, facts: &JournalFacts, parallel: bool) -> Report {
    let balances = read_unit_balances(city.unit_balances.as_bytes()).unwrap();
    let statement = read_statement(city.statement.as_bytes()).unwrap();
    reconcile(index, facts, BankFiles { unit_balances: Some(&balances), statement: Some(&statement) }, parallel)
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn parallel_reconciliation_equals_sequential(city in random_city(), block in 16usize..400, pieces in 2usize..6) {
        let index = city_index(&city);
        let sequential = fold_journal(&index, city.journal.as_bytes(), usize::MAX / 2, 1, false).unwrap();
        let parallel = fold_journal(&index, city.journal.as_bytes(), block, pieces, true).unwrap();
        prop_assert_eq!(&parallel, &sequential);
        let read = read_journal(city.journal.as_bytes()).unwrap();
        prop_assert_eq!(sequential.entries as usize, read.len());
        prop_assert_eq!(sequential.postings as usize, read.iter().map(|e| e.postings.len()).sum::<usize>());
        prop_assert_eq!(report(&city, &index, &parallel, true), report(&city, &index, &sequential, false));
    }

    #[test]
    fn control_check_holds_and_discrepancies_add_up(city in random_city()) {
        let index = city_index(&city);
        let facts = fold_journal(&index, city.journal.as_bytes(), 64, 3, true).unwrap();
        let r = report(&city, &index, &facts, true);
        prop_assert_eq!(r.summary.control_difference, Money::ZERO);
        let bank = r.bank_reconciliation.as_ref().unwrap();
        let listed = r.unbalanced_entries.len() + r.invalid_postings.len() + r.unit_mismatches.len() + r.units_missing_in_bank.len()
            + r.units_unknown_to_registry.len() + bank.unmatched_ledger.len() + bank.unmatched_statement.len();
        prop_assert_eq!(r.summary.discrepancies, listed);
        prop_assert_eq!(bank.difference, bank.book_total.checked_sub(bank.statement_total).unwrap());
        // Matching is one to one: matched + unmatched on each side account for every item.
        prop_assert_eq!(bank.matched + bank.unmatched_ledger.len(), facts.bank.len());
        let lines = read_statement(city.statement.as_bytes()).unwrap().len();
        prop_assert_eq!(bank.matched + bank.unmatched_statement.len(), lines);
        // Roll-ups add up to the city.
        let ledger: i64 = r.estates.iter().map(|e| e.ledger.fen()).sum();
        prop_assert_eq!(ledger, r.summary.unit_ledger_total.fen());
        // The bank total is the bank's whole file, units unknown to the registry included.
        let file: i64 = read_unit_balances(city.unit_balances.as_bytes()).unwrap().iter().map(|b| b.value.balance.fen()).sum();
        prop_assert_eq!(r.summary.unit_bank_total, Some(Money::from_fen(file)));
        let unknown: i64 = r.units_unknown_to_registry.iter().map(|u| u.bank.fen()).sum();
        let estates_bank: i64 = r.estates.iter().map(|e| e.bank.unwrap().fen()).sum();
        prop_assert_eq!(estates_bank + unknown, file);
    }
}

fn lines_of(rows: &[(&str, &str, &str, &str)]) -> Vec<Located<StatementLine>> {
    let mut text = String::from("txn_id,date,amount,ref,memo\n");
    for (txn, date, amount, reference) in rows {
        text.push_str(&format!("{txn},{date},{amount},{reference},\n"));
    }
    read_statement(text.as_bytes()).unwrap()
}

/// A city of one unit and a journal given as rows, reconciled against `statement`.
fn bank_report(journal_rows: &str, statement: &[(&str, &str, &str, &str)]) -> BankReconciliation {
    let estates = read_estates(b"estate_id,name,district,street_office,property_company\nE,n,d,s,p\n").unwrap();
    let buildings =
        crate::interchange::read_buildings(b"building_id,estate_id,name,floors,has_elevator\nB,E,n,6,false\n").unwrap();
    let units = read_units(b"unit_id,building_id,floor_area,use,owner\nU,B,50,residential,o\n").unwrap();
    let index = CityIndex::build(&estates, &buildings, &units).unwrap();
    let journal = format!("entry_id,date,kind,account,debit,credit,memo\n{journal_rows}");
    let facts = fold_journal(&index, journal.as_bytes(), 1 << 20, 1, false).unwrap();
    let lines = lines_of(statement);
    reconcile(&index, &facts, BankFiles { unit_balances: None, statement: Some(&lines) }, true)
        .unwrap()
        .bank_reconciliation
        .unwrap()
}

fn deposit(id: &str, date: &str, amount: &str) -> String {
    format!("{id},{date},deposit,bank:1,{amount},,\n{id},{date},deposit,unit:U,,{amount},\n")
}

#[test]
fn reference_wins_over_a_closer_date_and_ties_go_to_the_smaller_txn_id() {
    let journal = deposit("J1", "2024-03-10", "100") + &deposit("J2", "2024-03-10", "100");
    // T5 has J2's reference but a later date; T1 and T2 are free lines of the same amount.
    let bank = bank_report(
        &journal,
        &[("T5", "2024-03-12", "100.00", "J2"), ("T2", "2024-03-10", "100", ""), ("T1", "2024-03-10", "100", "")],
    );
    assert_eq!(bank.matched, 2);
    // J2 took T5 by reference; J1 took the closer of T1/T2 — both at distance 0, so T1.
    assert_eq!(bank.unmatched_statement.iter().map(|l| l.txn_id.as_str()).collect::<Vec<_>>(), ["T2"]);
}

#[test]
fn a_reference_with_another_amount_does_not_match_by_reference() {
    let journal = deposit("J1", "2024-03-10", "100");
    let bank = bank_report(&journal, &[("T1", "2024-03-10", "99.99", "J1")]);
    assert_eq!(bank.matched, 0);
    assert_eq!(bank.unmatched_ledger.len(), 1);
    assert_eq!(bank.unmatched_statement.len(), 1);
    assert_eq!(bank.difference, Money::from_fen(1));
}

#[test]
fn amount_matching_takes_the_closest_date_within_three_days() {
    let journal = deposit("J1", "2024-03-10", "50");
    let bank = bank_report(
        &journal,
        &[("T1", "2024-03-14", "50", ""), ("T2", "2024-03-08", "50", ""), ("T3", "2024-03-11", "50", "")],
    );
    assert_eq!(bank.matched, 1);
    let left: Vec<&str> = bank.unmatched_statement.iter().map(|l| l.txn_id.as_str()).collect();
    assert_eq!(left, ["T1", "T2"], "T3 is one day away, T2 two, T1 four (outside the window)");
    let far = bank_report(&journal, &[("T1", "2024-03-14", "50", "")]);
    assert_eq!(far.matched, 0, "four days is outside the window");
}

#[test]
fn matching_is_one_to_one_in_date_then_entry_order() {
    // Two postings of the same amount, one line: the earlier posting (by date) takes it.
    let journal = deposit("J9", "2024-03-09", "70") + &deposit("J1", "2024-03-10", "70");
    let bank = bank_report(&journal, &[("T1", "2024-03-10", "70", "")]);
    assert_eq!(bank.matched, 1);
    assert_eq!(bank.unmatched_ledger[0].entry_id, "J1");
}

#[test]
fn unbalanced_and_invalid_entries_take_no_part_in_matching() {
    let journal = "J1,2024-03-10,deposit,bank:1,100,,\nJ1,2024-03-10,deposit,unit:U,,99,\n\
                   J2,2024-03-10,deposit,bank:1,100,,\nJ2,2024-03-10,deposit,unit:NOPE,,100,\n";
    let bank = bank_report(journal, &[("T1", "2024-03-10", "100", "J1"), ("T2", "2024-03-10", "100", "J2")]);
    assert_eq!(bank.matched, 0);
    assert_eq!(bank.book_total, Money::ZERO);
    assert_eq!(bank.unmatched_statement.len(), 2);
}

#[test]
fn awkward_but_legal_journal_reads_the_same() {
    let index = {
        let estates = read_estates(
            "\u{feff}estate_id,name,district,street_office,property_company\r\nE,\"Rose, 玫瑰园\",d,s,p".as_bytes(),
        )
        .unwrap();
        let buildings =
            crate::interchange::read_buildings(b"building_id,estate_id,name,floors,has_elevator\r\nB,E,n,6,false\r\n")
                .unwrap();
        let units = read_units(b"unit_id,building_id,floor_area,use,owner\nU,B,50.5,residential,o").unwrap();
        CityIndex::build(&estates, &buildings, &units).unwrap()
    };
    let plain = "entry_id,date,kind,account,debit,credit,memo\nJ1,2024-01-01,deposit,bank:1,12.50,,\nJ1,2024-01-01,deposit,unit:U,,12.50,\n";
    let awkward = "\u{feff}entry_id,date,kind,account,debit,credit,memo,extra\r\nJ1,2024-01-01,deposit,bank:1,12.5,,\"memo, with comma\",x\r\n\r\nJ1,2024-01-01,deposit,\"unit:U\",,12.50,\"两行\r\n备注\"";
    let a = fold_journal(&index, plain.as_bytes(), 1 << 20, 1, false).unwrap();
    let b = fold_journal(&index, awkward.as_bytes(), 7, 3, true).unwrap();
    assert_eq!(a.unit_balance_fen, b.unit_balance_fen);
    assert_eq!(b.unit_balance_fen, vec![1250]);
    assert_eq!((b.entries, b.postings), (1, 2));
    let whole = "entry_id,date,kind,account,debit,credit,memo\nJ1,2024-01-01,deposit,bank:1,12,,\nJ1,2024-01-01,deposit,unit:U,,12,";
    assert_eq!(fold_journal(&index, whole.as_bytes(), 5, 2, true).unwrap().unit_balance_fen, vec![1200]);
}

#[test]
fn errors_of_form_name_line_and_column() {
    let index = CityIndex::default();
    let cases = [
        ("J1,2024-01-01,deposit,bank:1,1.234,,\n", "journal.csv:2:5", "at most 2 decimals"),
        (
            "J1,2024-01-01,deposit,bank:1,1,,\nJ2,2024-01-01,deposit,bank:1,1,,\nJ1,2024-01-01,deposit,bank:1,,1,\n",
            "journal.csv:4:1",
            "is split",
        ),
        ("J1,2024-01-01,deposit,bank:1,1,1,\n", "journal.csv:2:6", "found both"),
        ("J1,2024-13-01,deposit,bank:1,1,,\n", "journal.csv:2:2", "YYYY-MM-DD"),
        ("J1,2024-01-01,deposit,bank:1,\"1,000\",,\n", "journal.csv:2:5", "thousands"),
        ("J1,2024-01-01,gift,bank:1,1,,\n", "journal.csv:2:3", "entry kind"),
        ("J1,2024-01-01,deposit,bank:1\n", "journal.csv:2", "expected 7 fields"),
        (
            "J0,2024-01-01,deposit,bank:1,1,,\nJ1,2024-01-01,deposit,bank:1,1,,\nJ1,2024-01-02,deposit,bank:1,,1,\n",
            "journal.csv:4:2",
            "began on line 3",
        ),
        ("J1,2024-01-01,deposit,bank:1,1,,\nJ1,2024-01-01,topup,bank:1,,1,\n", "journal.csv:3:3", "began on line 2"),
        ("J1,2024-01-01,deposit,bank:1,1,,pipe 5\" wide\n", "journal.csv:2:7", "quote inside an unquoted field"),
    ];
    for (rows, place, text) in cases {
        for block in [3, 1 << 20] {
            let journal = format!("entry_id,date,kind,account,debit,credit,memo\n{rows}");
            let message = fold_journal(&index, journal.as_bytes(), block, 2, true).unwrap_err().to_string();
            assert!(message.starts_with(place) && message.contains(text), "{rows:?} (block {block}): {message}");
        }
    }
    let broken = b"entry_id,date,kind,account,debit,credit,memo\nJ1,2024-01-01,deposit,bank:1,1,,caf\xe9\n";
    assert!(fold_journal(&index, broken, 1 << 20, 1, false).unwrap_err().to_string().starts_with("journal.csv:2:7"));
    let header = b"entry_id,date,kind,account,credit,debit,memo\n";
    assert!(fold_journal(&index, header, 1 << 20, 1, false).unwrap_err().to_string().starts_with("journal.csv:1:"));
}

#[test]
fn the_bank_total_is_the_whole_bank_file_and_roll_ups_count_registry_units_only() {
    let estates = read_estates(b"estate_id,name,district,street_office,property_company\nE,n,d,s,p\n").unwrap();
    let buildings =
        crate::interchange::read_buildings(b"building_id,estate_id,name,floors,has_elevator\nB,E,n,6,false\n").unwrap();
    let units = read_units(b"unit_id,building_id,floor_area,use,owner\nU,B,50,residential,o\n").unwrap();
    let index = CityIndex::build(&estates, &buildings, &units).unwrap();
    let journal = format!("entry_id,date,kind,account,debit,credit,memo\n{}", deposit("J1", "2024-03-10", "10"));
    let facts = fold_journal(&index, journal.as_bytes(), 1 << 20, 1, false).unwrap();
    let balances = read_unit_balances(b"unit_id,balance\nU,10.00\nSTRANGER,5.25\n").unwrap();
    let r = reconcile(&index, &facts, BankFiles { unit_balances: Some(&balances), statement: None }, true).unwrap();
    assert_eq!(r.summary.unit_bank_total, Some(Money::from_fen(1525)), "U and the unit unknown to the registry");
    assert_eq!(r.summary.unit_ledger_total, Money::from_fen(1000));
    assert_eq!((r.buildings[0].bank, r.estates[0].bank), (Some(Money::from_fen(1000)), Some(Money::from_fen(1000))));
    assert_eq!(r.units_unknown_to_registry.len(), 1);
    assert!(r.unit_mismatches.is_empty());
}

#[test]
fn a_blank_line_inside_an_entry_at_a_block_end_does_not_split_it() {
    let journal = "entry_id,date,kind,account,debit,credit,memo\n\
                   J1,2024-01-01,deposit,bank:1,1,,\nJ2,2024-01-01,deposit,bank:1,1,,\n\nJ2,2024-01-01,deposit,bank:1,,1,\n";
    // Fed a byte at a time, a block once ended just after the blank line and was cut there as if
    // a new entry began, so J2's last row looked like a second group of J2.
    for block in 1..journal.len() {
        let facts = fold_journal(&CityIndex::default(), journal.as_bytes(), block, 2, true).unwrap();
        assert_eq!((facts.entries, facts.postings), (2, 3), "block {block}");
    }
}
