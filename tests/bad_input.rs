//! Every error of form stops the import with file:line:column and leaves the database as it was.

use std::path::Path;

use crate::on_both_engines;
use crate::support::{city, mfund, snapshot, stderr, Engine, TestDb};

on_both_engines!(each_bad_file_is_refused_with_its_place_and_changes_nothing);

/// A mutation of one file of a good city, and where the error must point.
struct Case {
    name: &'static str,
    file: &'static str,
    mutate: fn(&mut Vec<Vec<u8>>),
    expect_place: &'static str,
    expect_text: &'static str,
}

fn set_field(line: &mut Vec<u8>, index: usize, value: &str) {
    let text = String::from_utf8(line.clone()).unwrap();
    let mut fields: Vec<String> = text.split(',').map(str::to_owned).collect();
    fields[index] = value.to_owned();
    *line = fields.join(",").into_bytes();
}

const CASES: &[Case] = &[
    Case {
        name: "wrong header",
        file: "estates.csv",
        mutate: |l| l[0] = b"estate,name,district,street_office,property_company".to_vec(),
        expect_place: "estates.csv:1:",
        expect_text: "expected the header",
    },
    Case {
        name: "three decimals",
        file: "journal.csv",
        mutate: |l| set_field(&mut l[1], 4, "12.345"),
        expect_place: "journal.csv:2:5",
        expect_text: "at most 2 decimals",
    },
    Case {
        name: "thousands comma",
        file: "journal.csv",
        mutate: |l| set_field(&mut l[1], 4, "\"1,000.00\""),
        expect_place: "journal.csv:2:5",
        expect_text: "thousands",
    },
    Case {
        name: "zero area",
        file: "units.csv",
        mutate: |l| set_field(&mut l[1], 2, "0"),
        expect_place: "units.csv:2:3",
        expect_text: "greater than 0",
    },
    Case {
        name: "negative area",
        file: "units.csv",
        mutate: |l| set_field(&mut l[2], 2, "-35.5"),
        expect_place: "units.csv:3:3",
        expect_text: "greater than 0",
    },
    Case {
        name: "duplicate id",
        file: "units.csv",
        mutate: |l| {
            let copy = l[1].clone();
            l.push(copy)
        },
        expect_place: "units.csv:",
        expect_text: "duplicate id",
    },
    Case {
        name: "unknown parent",
        file: "buildings.csv",
        mutate: |l| set_field(&mut l[1], 1, "E99999"),
        expect_place: "buildings.csv:2:2",
        expect_text: "not registered",
    },
    Case {
        name: "split entry",
        file: "journal.csv",
        mutate: |l| {
            let row = l.remove(1);
            l.push(row)
        },
        expect_place: ":1: column `entry_id`",
        expect_text: "is split",
    },
    Case {
        name: "unbalanced entry",
        file: "journal.csv",
        mutate: |l| set_field(&mut l[1], 4, "99999.99"),
        expect_place: "journal.csv:2",
        expect_text: "unbalanced",
    },
    Case {
        name: "broken UTF-8",
        file: "estates.csv",
        mutate: |l| {
            let comma = l[1].iter().position(|&b| b == b',').unwrap();
            l[1].splice(comma + 1..comma + 1, *b"\xff\xfe");
        },
        expect_place: "estates.csv:2:2",
        expect_text: "UTF-8",
    },
    Case {
        name: "account outside the chart",
        file: "journal.csv",
        mutate: |l| set_field(&mut l[1], 3, "cash:1"),
        expect_place: "journal.csv:2:4",
        expect_text: "not in the chart",
    },
    Case {
        name: "unit not in the registry",
        file: "journal.csv",
        mutate: |l| set_field(&mut l[2], 3, "unit:NOPE"),
        expect_place: "journal.csv:3:4",
        expect_text: "not in the registry",
    },
    Case {
        name: "neither debit nor credit",
        file: "journal.csv",
        mutate: |l| set_field(&mut l[1], 4, ""),
        expect_place: "journal.csv:2:5",
        expect_text: "exactly one of debit and credit",
    },
    Case {
        name: "bad date",
        file: "journal.csv",
        mutate: |l| set_field(&mut l[1], 1, "2024-02-30"),
        expect_place: "journal.csv:2:2",
        expect_text: "YYYY-MM-DD",
    },
];

fn lines(path: &Path) -> Vec<Vec<u8>> {
    std::fs::read(path).unwrap().split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    std::fs::write(path, lines.join(&b'\n')).unwrap();
}

async fn each_bad_file_is_refused_with_its_place_and_changes_nothing(engine: Engine) {
    let db = TestDb::new(engine).await;
    let (_keep, dir) = city(60, 21);
    // A database that already holds the registry and the first half of the journal.
    let base = db.folder().join("base");
    std::fs::create_dir_all(&base).unwrap();
    for name in ["estates.csv", "buildings.csv", "units.csv"] {
        std::fs::copy(dir.join(name), base.join(name)).unwrap();
    }
    let journal = lines(&dir.join("journal.csv"));
    let entry_of = |line: &[u8]| line.split(|&b| b == b',').next().unwrap().to_vec();
    let half =
        (journal.len() / 2..journal.len()).find(|&i| entry_of(&journal[i]) != entry_of(&journal[i - 1])).unwrap();
    write_lines(&base.join("journal.csv"), &journal[..half]);
    let seeded = mfund(&db.url, &["import", "--dir", base.to_str().unwrap()]);
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    let store = db.store().await;
    let before = snapshot(&store).await;
    assert!(before.entries > 0);
    for case in CASES {
        let bad = db.folder().join(case.name.replace(' ', "_"));
        std::fs::create_dir_all(&bad).unwrap();
        for name in ["estates.csv", "buildings.csv", "units.csv", "journal.csv"] {
            std::fs::copy(dir.join(name), bad.join(name)).unwrap();
        }
        let mut content = lines(&bad.join(case.file));
        (case.mutate)(&mut content);
        write_lines(&bad.join(case.file), &content);
        let out = mfund(&db.url, &["import", "--dir", bad.to_str().unwrap()]);
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{}: {message}", case.name);
        assert!(message.contains(case.expect_place), "{}: expected `{}` in: {message}", case.name, case.expect_place);
        assert!(message.contains(case.expect_text), "{}: expected `{}` in: {message}", case.name, case.expect_text);
        assert_eq!(snapshot(&store).await, before, "{} changed the database", case.name);
    }
}
