//! `mfund reconcile` end to end: planted faults found exactly, clean cities clean, errors of
//! form stop with their place and leave no report, files and database agree.

use std::path::Path;

use serde_json::Value;

use crate::on_both_engines;
use crate::support::{city, mfund, stderr, stdout, Engine, TestDb};

fn faulty_city(units: usize, seed: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("city");
    ledger_gen::generate(&path, ledger_gen::GenOptions { units, seed, faults: true }).unwrap();
    (dir, path)
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list.as_array().unwrap().iter().map(|item| text(item, field)).collect()
}

/// Two fields of every object in `list`, as pairs.
fn pairs(list: &Value, first: &str, second: &str) -> Vec<(String, String)> {
    list.as_array().unwrap().iter().map(|item| (text(item, first), text(item, second))).collect()
}

fn text(item: &Value, field: &str) -> String {
    item[field].as_str().unwrap().to_owned()
}

fn strings(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[test]
fn planted_faults_are_found_exactly() {
    for (units, seed) in [(3_000, 1), (800, 2)] {
        let (_keep, dir) = faulty_city(units, seed);
        let report_path = dir.join("report.json");
        let out = mfund(
            "sqlite://unused.db",
            &["reconcile", "--dir", dir.to_str().unwrap(), "--report", report_path.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
        let report: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
        let truth: Value = serde_json::from_slice(&std::fs::read(dir.join("truth.json")).unwrap()).unwrap();
        assert_eq!(ids(&report["unbalanced_entries"], "entry_id"), strings(&truth["unbalanced_entries"]));
        assert_eq!(
            pairs(&report["invalid_postings"], "entry_id", "account"),
            pairs(&truth["invalid_postings"], "entry_id", "account")
        );
        assert_eq!(
            pairs(&report["unit_mismatches"], "unit_id", "difference"),
            pairs(&truth["unit_mismatches"], "unit_id", "difference")
        );
        assert_eq!(ids(&report["units_missing_in_bank"], "unit_id"), strings(&truth["units_missing_in_bank"]));
        assert_eq!(ids(&report["units_unknown_to_registry"], "unit_id"), strings(&truth["units_unknown_to_registry"]));
        let bank = &report["bank_reconciliation"];
        assert_eq!(ids(&bank["unmatched_ledger"], "entry_id"), strings(&truth["unmatched_ledger"]));
        assert_eq!(ids(&bank["unmatched_statement"], "txn_id"), strings(&truth["unmatched_statement"]));
        let planted_total: usize = [
            "unbalanced_entries",
            "invalid_postings",
            "unit_mismatches",
            "units_missing_in_bank",
            "units_unknown_to_registry",
            "unmatched_ledger",
            "unmatched_statement",
        ]
        .iter()
        .map(|k| truth[k].as_array().unwrap().len())
        .sum();
        assert_eq!(report["summary"]["discrepancies"].as_u64().unwrap() as usize, planted_total);
        assert_eq!(report["summary"]["control_difference"], "0.00");
        // The human summary names the counts and where the report went.
        let text = stdout(&out);
        assert!(
            text.contains("Discrepancies: 21") && text.contains("unit mismatches") && text.contains("report.json"),
            "{text}"
        );
    }
}

#[test]
fn a_clean_city_exits_zero_and_json_goes_to_stdout() {
    let (_keep, dir) = city(1_500, 5);
    let out = mfund("sqlite://unused.db", &["reconcile", "--dir", dir.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["discrepancies"], 0);
    assert_eq!(report["summary"]["unit_ledger_total"], report["summary"]["unit_bank_total"]);
    assert_eq!(report["bank_reconciliation"]["difference"], "0.00");
    // Every amount is a string with exactly two decimals.
    let total = report["summary"]["book_bank_balance"].as_str().unwrap();
    assert!(total.split_once('.').is_some_and(|(_, f)| f.len() == 2), "{total}");
}

#[test]
fn without_bank_files_the_bank_figures_are_null() {
    let (_keep, dir) = city(200, 6);
    std::fs::remove_file(dir.join("statement.csv")).unwrap();
    std::fs::remove_file(dir.join("unit_balances.csv")).unwrap();
    let out = mfund("sqlite://unused.db", &["reconcile", "--dir", dir.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["bank_reconciliation"].is_null());
    assert!(report["summary"]["unit_bank_total"].is_null());
    assert!(report["buildings"][0]["bank"].is_null() && report["estates"][0]["bank"].is_null());
    assert_eq!(report["unit_mismatches"].as_array().unwrap().len(), 0);
}

fn edit(path: &Path, f: impl FnOnce(&mut Vec<String>)) {
    let mut lines: Vec<String> = std::fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect();
    f(&mut lines);
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn set_field(line: &mut String, index: usize, value: &str) {
    let mut fields: Vec<&str> = line.split(',').collect();
    fields[index] = value;
    *line = fields.join(",");
}

#[test]
fn errors_of_form_exit_2_with_their_place_and_leave_no_report() {
    type Mutation = fn(&mut Vec<String>);
    let cases: [(&str, Mutation, &str); 7] = [
        ("journal.csv", |l| set_field(&mut l[3], 4, "1.001"), "journal.csv:4:5"),
        (
            "journal.csv",
            |l| {
                let first = l.remove(1);
                l.push(first)
            },
            "is split",
        ),
        ("statement.csv", |l| l[0] = "txn_id,date,amount,memo,ref".into(), "statement.csv:1:"),
        ("statement.csv", |l| set_field(&mut l[4], 1, "2024-02-30"), "statement.csv:5:2"),
        (
            "unit_balances.csv",
            |l| {
                let duplicate = l[5].clone();
                l.push(duplicate)
            },
            "duplicate id",
        ),
        ("unit_balances.csv", |l| set_field(&mut l[3], 1, "12.345"), "unit_balances.csv:4:2"),
        ("units.csv", |l| set_field(&mut l[2], 1, "NO-SUCH-BUILDING"), "units.csv:3:2"),
    ];
    for (file, mutate, place) in cases {
        let (_keep, dir) = city(150, 9);
        edit(&dir.join(file), mutate);
        let report = dir.join("report.json");
        std::fs::write(&report, "stale").unwrap();
        let out = mfund(
            "sqlite://unused.db",
            &["reconcile", "--dir", dir.to_str().unwrap(), "--report", report.to_str().unwrap()],
        );
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{file} {place}: {message}{}", stdout(&out));
        assert!(message.contains(place), "{file}: expected `{place}` in {message}");
        assert!(!report.exists(), "{file}: a report was left behind");
    }
}

#[test]
fn awkward_but_legal_files_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("estates.csv"), "\u{feff}estate_id,name,district,street_office,property_company\r\nE1,\"Rose, 玫瑰园\",东城区,\"东城街道, 一办\",物业\r\n").unwrap();
    std::fs::write(
        d.join("buildings.csv"),
        "building_id,estate_id,name,floors,has_elevator\r\nB1,E1,\"1号楼\",6,false",
    )
    .unwrap();
    std::fs::write(d.join("units.csv"), "unit_id,building_id,floor_area,use,owner,extra\nU1,B1,88.5,residential,\"王, 小明\",x\nU2,B1,60,commercial,李\n").unwrap();
    std::fs::write(
        d.join("journal.csv"),
        "\u{feff}entry_id,date,kind,account,debit,credit,memo\r\nJ1,2024-01-02,deposit,bank:1,12,,\"首次, 缴存\"\r\nJ1,2024-01-02,deposit,unit:U1,,12.5,\r\nJ1,2024-01-02,deposit,unit:U2,0.5,,\"两行\r\n备注\"\r\nJ2,2024-01-03,deposit,bank:1,12.50,,\r\nJ2,2024-01-03,deposit,unit:U2,,12.50,",
    )
    .unwrap();
    std::fs::write(
        d.join("statement.csv"),
        "txn_id,date,amount,ref,memo\r\nT1,2024-01-02,12.00,J1,\"a, b\"\r\nT2,2024-01-05,12.5,,",
    )
    .unwrap();
    std::fs::write(d.join("unit_balances.csv"), "unit_id,balance\nU1,12.50\nU2,12").unwrap();
    let out = mfund("sqlite://unused.db", &["reconcile", "--dir", d.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stderr(&out), stdout(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["entries"], 2);
    assert_eq!(report["summary"]["postings"], 5);
    assert_eq!(report["summary"]["unit_ledger_total"], "24.50");
    assert_eq!(report["bank_reconciliation"]["matched"], 2);
}

on_both_engines!(the_database_and_the_files_give_the_same_report);

async fn the_database_and_the_files_give_the_same_report(engine: Engine) {
    let db = TestDb::new(engine).await;
    let (_keep, dir) = city(600, 12);
    // Bank files with discrepancies of their own: the journal must stay importable.
    edit(&dir.join("unit_balances.csv"), |l| {
        l.remove(7);
        l[9] = l[9].split(',').next().unwrap().to_owned() + ",1.00";
        l.push("NOBODY,3.00".into());
    });
    edit(&dir.join("statement.csv"), |l| {
        l.remove(20);
        l.push("T999999999,2025-12-31,-5.00,,fee".into());
    });
    assert!(mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]).status.success());
    let from_files = mfund(&db.url, &["reconcile", "--dir", dir.to_str().unwrap(), "--json"]);
    let statement = dir.join("statement.csv");
    let balances = dir.join("unit_balances.csv");
    let from_db = mfund(
        &db.url,
        &[
            "reconcile",
            "--statement",
            statement.to_str().unwrap(),
            "--unit-balances",
            balances.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(from_files.status.code(), Some(1));
    assert_eq!(from_db.status.code(), Some(1), "{}", stderr(&from_db));
    let (a, b): (Value, Value) =
        (serde_json::from_slice(&from_files.stdout).unwrap(), serde_json::from_slice(&from_db.stdout).unwrap());
    assert_eq!(a, b);
    assert_eq!(a["summary"]["discrepancies"], 5);
    // As of a day before anything happened, the ledger holds nothing.
    let early = mfund(&db.url, &["reconcile", "--as-of", "2015-01-01", "--json"]);
    let early: Value = serde_json::from_slice(&early.stdout).unwrap();
    assert_eq!(early["summary"]["entries"], 0);
    assert_eq!(early["summary"]["unit_ledger_total"], "0.00");
}
