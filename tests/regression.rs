//! One test per bug found, so it stays fixed.

use crate::on_both_engines;
use crate::support::{mfund, snapshot, stderr, Engine, TestDb};

on_both_engines!(memos_with_tabs_newlines_backslashes_and_quotes_survive_and_verify);

/// A quote inside an unquoted memo was accepted by import but misled the parallel reader of
/// reconcile about where quoted fields begin: both now refuse it as an error of form.
#[test]
fn a_stray_quote_is_refused_the_same_way_by_import_and_reconcile() {
    let (_keep, dir) = crate::support::city(300, 2);
    let journal = std::fs::read_to_string(dir.join("journal.csv")).unwrap();
    let mut lines: Vec<String> = journal.lines().map(str::to_owned).collect();
    lines[5] = format!("{}pipe 5\" wide", lines[5].trim_end_matches(|c| c != ','));
    std::fs::write(dir.join("journal.csv"), lines.join("\n") + "\n").unwrap();
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("t.db").display());
    for args in [vec!["import", "--dir", dir.to_str().unwrap()], vec!["reconcile", "--dir", dir.to_str().unwrap()]] {
        let out = mfund(&url, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("journal.csv:6:") && stderr(&out).contains("quote inside an unquoted field"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// PostgreSQL's COPY text format treats backslash, tab and line ends specially; a memo holding
/// them must be stored exactly, or `verify` would report the entry as changed.
async fn memos_with_tabs_newlines_backslashes_and_quotes_survive_and_verify(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = db.folder().join("odd");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("estates.csv"),
        "estate_id,name,district,street_office,property_company\nE1,\"Rose, \"\"Garden\"\"\",东城区,东城街道,物业\n",
    )
    .unwrap();
    std::fs::write(dir.join("buildings.csv"), "building_id,estate_id,name,floors,has_elevator\nB1,E1,1号楼,6,false\n")
        .unwrap();
    std::fs::write(dir.join("units.csv"), "unit_id,building_id,floor_area,use,owner\nU1,B1,88.5,residential,王\n")
        .unwrap();
    let journal = "entry_id,date,kind,account,debit,credit,memo\r\n\
        J1,2024-01-02,deposit,bank:1,4425,,\"tab\there, back\\\\slash \\N\"\r\n\
        J1,2024-01-02,deposit,unit:U1,,4425.00,\"two\nlines \"\"quoted\"\"\"";
    std::fs::write(dir.join("journal.csv"), journal).unwrap();
    let out = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let store = db.store().await;
    let snap = snapshot(&store).await;
    assert_eq!(snap.entries, 1);
    assert_eq!(snap.city.as_deref(), Some("1 4425.00 0.00"));
    let again = mfund(&db.url, &["import", "--dir", dir.to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(json["already_stored"], 1, "the stored memo hashes the same as the file's");
}
