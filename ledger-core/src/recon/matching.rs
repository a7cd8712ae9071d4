//! Matching the ledger's bank postings to the bank statement, one to one (SPEC §3.4).
//!
//! First, in (date, entry_id) order, each posting takes the free line whose `ref` is its entry
//! and whose amount is the same (ties: smaller `txn_id`). Then, in the same order, each posting
//! still unmatched takes the free line of the same amount whose date is closest and at most
//! [`MATCH_WINDOW_DAYS`] away (ties: smaller `txn_id`). Postings of different amounts never
//! compete for a line, so the second pass runs per amount in parallel and still equals the
//! sequential pass exactly.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::date::Date;
use crate::interchange::StatementLine;
use crate::recon::facts::{BankPosting, EntryIds};

/// How far apart a posting's and a line's dates may be for a match by amount.
pub const MATCH_WINDOW_DAYS: i32 = 3;

/// Which posting matched which line, and what is left on either side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matching {
    pub matched: usize,
    /// Indices into the postings, unmatched.
    pub unmatched_postings: Vec<usize>,
    /// Indices into the statement lines, unmatched.
    pub unmatched_lines: Vec<usize>,
}

pub fn match_statement(postings: &[BankPosting], ids: &EntryIds, lines: &[StatementLine], parallel: bool) -> Matching {
    // Rank lines by txn_id once, so every tie is an integer comparison.
    let mut by_txn: Vec<usize> = (0..lines.len()).collect();
    by_txn.sort_unstable_by(|&a, &b| lines[a].txn_id.cmp(&lines[b].txn_id));
    let mut rank = vec![0u32; lines.len()];
    for (r, &line) in by_txn.iter().enumerate() {
        rank[line] = r as u32;
    }
    let mut order: Vec<usize> = (0..postings.len()).collect();
    let key = |&i: &usize| (postings[i].date, ids.get(postings[i].entry));
    if parallel {
        order.par_sort_unstable_by(|a, b| key(a).cmp(&key(b)).then(a.cmp(b)));
    } else {
        order.sort_unstable_by(|a, b| key(a).cmp(&key(b)).then(a.cmp(b)));
    }
    let mut line_taken = vec![false; lines.len()];
    let mut posting_matched = vec![false; postings.len()];
    match_by_reference(postings, ids, lines, &rank, &order, &mut line_taken, &mut posting_matched);
    match_by_amount(postings, lines, &rank, &order, &mut line_taken, &mut posting_matched, parallel);
    let unmatched_postings: Vec<usize> = (0..postings.len()).filter(|&i| !posting_matched[i]).collect();
    let unmatched_lines: Vec<usize> = (0..lines.len()).filter(|&i| !line_taken[i]).collect();
    Matching { matched: postings.len() - unmatched_postings.len(), unmatched_postings, unmatched_lines }
}

fn match_by_reference(
    postings: &[BankPosting],
    ids: &EntryIds,
    lines: &[StatementLine],
    rank: &[u32],
    order: &[usize],
    line_taken: &mut [bool],
    posting_matched: &mut [bool],
) {
    let mut by_reference: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (i, line) in lines.iter().enumerate() {
        if let Some(reference) = &line.reference {
            by_reference.entry(reference.as_str()).or_default().push(i);
        }
    }
    for candidates in by_reference.values_mut() {
        candidates.sort_unstable_by_key(|&i| rank[i]);
    }
    for &p in order {
        let posting = &postings[p];
        let Some(candidates) = by_reference.get(ids.get(posting.entry)) else {
            continue;
        };
        if let Some(&line) = candidates.iter().find(|&&l| !line_taken[l] && lines[l].amount.fen() == posting.signed_fen)
        {
            line_taken[line] = true;
            posting_matched[p] = true;
        }
    }
}

/// The free lines of one amount, sorted by (date, rank), and the postings that want one.
struct Bucket {
    lines: Vec<(Date, u32, usize)>,
    postings: Vec<usize>,
}

fn match_by_amount(
    postings: &[BankPosting],
    lines: &[StatementLine],
    rank: &[u32],
    order: &[usize],
    line_taken: &mut [bool],
    posting_matched: &mut [bool],
    parallel: bool,
) {
    let mut buckets: FxHashMap<i64, Bucket> = FxHashMap::default();
    for &p in order.iter().filter(|&&p| !posting_matched[p]) {
        buckets
            .entry(postings[p].signed_fen)
            .or_insert_with(|| Bucket { lines: Vec::new(), postings: Vec::new() })
            .postings
            .push(p);
    }
    for (i, line) in lines.iter().enumerate() {
        if !line_taken[i] {
            if let Some(bucket) = buckets.get_mut(&line.amount.fen()) {
                bucket.lines.push((line.date, rank[i], i));
            }
        }
    }
    let mut buckets: Vec<Bucket> = buckets.into_values().filter(|b| !b.lines.is_empty()).collect();
    let solve = |bucket: &mut Bucket| -> Vec<(usize, usize)> {
        bucket.lines.sort_unstable();
        let mut free = vec![true; bucket.lines.len()];
        let mut pairs = Vec::new();
        for &p in &bucket.postings {
            if let Some(k) = closest_free_line(&bucket.lines, &free, postings[p].date) {
                free[k] = false;
                pairs.push((p, bucket.lines[k].2));
            }
        }
        pairs
    };
    let pairs: Vec<(usize, usize)> = if parallel {
        buckets.par_iter_mut().flat_map_iter(solve).collect()
    } else {
        buckets.iter_mut().flat_map(solve).collect()
    };
    for (p, line) in pairs {
        posting_matched[p] = true;
        line_taken[line] = true;
    }
}

/// The free line closest in date (within the window), ties to the smaller txn rank.
fn closest_free_line(lines: &[(Date, u32, usize)], free: &[bool], date: Date) -> Option<usize> {
    let from = lines.partition_point(|l| l.0 < date.add_days(-MATCH_WINDOW_DAYS));
    let mut best: Option<(i32, u32, usize)> = None;
    for (k, line) in lines.iter().enumerate().skip(from) {
        let distance = line.0.days_since_epoch() - date.days_since_epoch();
        if distance > MATCH_WINDOW_DAYS {
            break;
        }
        if free[k] {
            let candidate = (distance.abs(), line.1, k);
            if best.is_none_or(|b| (candidate.0, candidate.1) < (b.0, b.1)) {
                best = Some(candidate);
            }
        }
    }
    best.map(|b| b.2)
}
