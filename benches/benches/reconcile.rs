//! The in-memory reconciliation core at scale, one thread against all threads:
//! `cargo bench -p mfund-benches --bench reconcile` (MFUND_BENCH_UNITS sets the city size,
//! default 200,000 units ≈ 3.3M postings).
//!
//! - `fold classified`: fold parsed postings whose accounts are already interned (classified
//!   against the registry) into per-unit balances and the report's lists: the in-memory core.
//! - `fold parsed`: the same, looking each account up in the registry first.
//! - `fold csv`: the same from journal.csv bytes in memory (scanning included).
//! - `reconcile`: units against the bank and the statement matching, from folded facts.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ledger_core::interchange::{read_buildings, read_estates, read_statement, read_unit_balances, read_units};
use ledger_core::recon::facts::{classify_account, AccountClass};
use ledger_core::recon::scan::fold_journal;
use ledger_core::recon::{reconcile, BankFiles, ChunkFacts, CityIndex, JournalFacts, PostingIn, UnitCursor};
use ledger_core::{Date, EntryKind};
use rayon::prelude::*;

// The same allocator as the `mfund` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct ParsedEntry {
    id: String,
    date: Date,
    kind: EntryKind,
    postings: Vec<(String, i64)>,
    /// The accounts, classified against the registry once (interned).
    classes: Vec<AccountClass>,
}

struct City {
    index: CityIndex,
    journal: Vec<u8>,
    parsed: Vec<ParsedEntry>,
    postings: u64,
    balances: Vec<u8>,
    statement: Vec<u8>,
}

fn city() -> City {
    let units = std::env::var("MFUND_BENCH_UNITS").ok().and_then(|u| u.parse().ok()).unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("a temporary folder");
    ledger_gen::generate(dir.path(), ledger_gen::GenOptions { units, seed: 1, faults: true }).expect("generate");
    let read = |name: &str| std::fs::read(dir.path().join(name)).expect("read");
    let index = CityIndex::build(
        &read_estates(&read("estates.csv")).unwrap(),
        &read_buildings(&read("buildings.csv")).unwrap(),
        &read_units(&read("units.csv")).unwrap(),
    )
    .unwrap();
    let journal = read("journal.csv");
    let parsed: Vec<ParsedEntry> = ledger_core::interchange::read_journal(&journal)
        .unwrap()
        .into_iter()
        .map(|e| {
            let sign = |side| if side == ledger_core::Side::Debit { 1 } else { -1 };
            let postings: Vec<(String, i64)> =
                e.postings.into_iter().map(|p| (p.account, p.amount.fen() * sign(p.side))).collect();
            let mut cursor = UnitCursor::default();
            let classes = postings.iter().map(|(account, _)| classify_account(account, &index, &mut cursor)).collect();
            ParsedEntry { id: e.entry_id, date: e.date, kind: e.kind, postings, classes }
        })
        .collect();
    let postings = parsed.iter().map(|e| e.postings.len() as u64).sum();
    City { index, journal, parsed, postings, balances: read("unit_balances.csv"), statement: read("statement.csv") }
}

/// Folds the parsed journal in `pieces` parallel chunks; `classified` skips the account lookups.
/// Chunk buffers are reused from one fold to the next, as `JournalFolder` reuses them from block
/// to block.
fn fold_parsed(city: &City, pieces: usize, classified: bool, chunks: &mut Vec<ChunkFacts>) -> JournalFacts {
    let size = city.parsed.len().div_ceil(pieces).max(1);
    chunks.resize_with(city.parsed.len().div_ceil(size), ChunkFacts::default);
    chunks.par_iter_mut().zip(city.parsed.par_chunks(size)).for_each(|(chunk, entries)| {
        let mut postings = Vec::new();
        for e in entries {
            postings.clear();
            postings
                .extend(e.postings.iter().map(|(account, signed_fen)| PostingIn { account, signed_fen: *signed_fen }));
            if classified {
                chunk.add_classified(&e.id, 0, e.date, e.kind, &postings, &e.classes);
            } else {
                chunk.add_entry(&city.index, &e.id, 0, e.date, e.kind, &postings);
            }
        }
    });
    let mut facts = JournalFacts::new(&city.index);
    for chunk in chunks.iter_mut() {
        facts.absorb(chunk);
    }
    facts
}

fn benches(c: &mut Criterion) {
    let city = city();
    let all = rayon::current_num_threads();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let mut group = c.benchmark_group("reconcile");
    group.sample_size(10).measurement_time(Duration::from_secs(8)).throughput(Throughput::Elements(city.postings));
    let mut chunks = Vec::new();
    group.bench_function("fold classified/1 thread", |b| {
        b.iter(|| one.install(|| fold_parsed(&city, 1, true, &mut chunks)))
    });
    group.bench_function(format!("fold classified/{all} threads"), |b| {
        b.iter(|| fold_parsed(&city, all * 4, true, &mut chunks))
    });
    group.bench_function("fold parsed/1 thread", |b| {
        b.iter(|| one.install(|| fold_parsed(&city, 1, false, &mut chunks)))
    });
    group.bench_function(format!("fold parsed/{all} threads"), |b| {
        b.iter(|| fold_parsed(&city, all * 4, false, &mut chunks))
    });
    group.bench_function("fold csv/1 thread", |b| {
        b.iter(|| one.install(|| fold_journal(&city.index, &city.journal, 64 << 20, 1, false).unwrap()))
    });
    group.bench_function(format!("fold csv/{all} threads"), |b| {
        b.iter(|| fold_journal(&city.index, &city.journal, 64 << 20, all * 2, true).unwrap())
    });
    let facts = fold_journal(&city.index, &city.journal, 64 << 20, all * 2, true).unwrap();
    let balances = read_unit_balances(&city.balances).unwrap();
    let statement = read_statement(&city.statement).unwrap();
    let bank = BankFiles { unit_balances: Some(&balances), statement: Some(&statement) };
    group.bench_function("reconcile/1 thread", |b| {
        b.iter(|| one.install(|| reconcile(&city.index, &facts, bank, false).unwrap()))
    });
    group.bench_function(format!("reconcile/{all} threads"), |b| {
        b.iter(|| reconcile(&city.index, &facts, bank, true).unwrap())
    });
    group.finish();
}

criterion_group!(reconciliation, benches);
criterion_main!(reconciliation);
