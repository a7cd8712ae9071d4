//! Criterion benchmarks of the pure core: `cargo bench -p mfund-benches --bench core`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ledger_core::apportion::{apportion, ShareBasis};
use ledger_core::registry::FloorArea;
use ledger_core::{Account, Date, Entry, EntryKind, Money, Posting};

fn money_parsing(c: &mut Criterion) {
    let amounts: Vec<String> = (0..1000).map(|i| format!("{}.{:02}", i * 7919 % 100_000, i % 100)).collect();
    let mut group = c.benchmark_group("money");
    group.throughput(Throughput::Elements(amounts.len() as u64));
    group.bench_function("parse 1000 amounts", |b| {
        b.iter(|| amounts.iter().map(|a| Money::parse(black_box(a)).unwrap().fen()).sum::<i64>())
    });
    group.finish();
}

fn entry_validation(c: &mut Criterion) {
    let date = Date::parse("2025-06-30").unwrap();
    let mut group = c.benchmark_group("entry");
    for units in [2usize, 200] {
        let mut postings: Vec<Posting> = (0..units)
            .map(|i| Posting::credit(Account::Unit(format!("U{i}")), Money::from_fen(1234 + i as i64), ""))
            .collect();
        let total: i64 = postings.iter().map(|p| p.amount.fen()).sum();
        postings.push(Posting::debit(Account::Bank("1".into()), Money::from_fen(total), ""));
        group.throughput(Throughput::Elements(postings.len() as u64));
        group.bench_with_input(BenchmarkId::new("validate", postings.len()), &postings, |b, postings| {
            b.iter(|| Entry::new("J1", date, EntryKind::Allocation, None, black_box(postings.clone())).unwrap())
        });
    }
    group.finish();
}

fn apportionment(c: &mut Criterion) {
    let ids: Vec<String> = (0..10_000).map(|i| format!("E00001-B{:02}-{:04}", i / 400, i % 400)).collect();
    let basis: Vec<ShareBasis> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| ShareBasis {
            unit_id: id,
            area: FloorArea::from_centi_m2(3_500 + (i as i64 * 7_919) % 14_500).unwrap(),
        })
        .collect();
    let mut group = c.benchmark_group("apportion");
    group.throughput(Throughput::Elements(basis.len() as u64));
    group.bench_function("10k units", |b| {
        b.iter(|| apportion(black_box(Money::from_fen(12_345_678_901)), &basis).unwrap())
    });
    group.finish();
}

criterion_group!(benches, money_parsing, entry_validation, apportionment);
criterion_main!(benches);
