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
use crate::interchange::{Located, StatementLine};
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

pub fn match_statement(
    postings: &[BankPosting],
    ids: &EntryIds,
    lines: &[Located<StatementLine>],
    parallel: bool,
) -> Matching {
    // Rank lines by txn_id once, so every tie is an integer comparison. Banks export in txn
    // order, so the sort is usually skipped.
    let mut by_txn: Vec<usize> = (0..lines.len()).collect();
    if !lines.windows(2).all(|w| w[0].value.txn_id <= w[1].value.txn_id) {
        by_txn.par_sort_unstable_by(|&a, &b| lines[a].value.txn_id.cmp(&lines[b].value.txn_id));
    }
    let mut rank = vec![0u32; lines.len()];
    for (r, &line) in by_txn.iter().enumerate() {
        rank[line] = r as u32;
    }
    let order = posting_order(postings, ids, parallel);
    let mut line_taken = vec![false; lines.len()];
    let mut posting_matched = vec![false; postings.len()];
    match_by_reference(postings, ids, lines, &by_txn, &order, &mut line_taken, &mut posting_matched);
    match_by_amount(postings, lines, &rank, &order, &mut line_taken, &mut posting_matched, parallel);
    let unmatched_postings: Vec<usize> = (0..postings.len()).filter(|&i| !posting_matched[i]).collect();
    let unmatched_lines: Vec<usize> = (0..lines.len()).filter(|&i| !line_taken[i]).collect();
    Matching { matched: postings.len() - unmatched_postings.len(), unmatched_postings, unmatched_lines }
}

/// Postings in (date, entry_id) order. When the journal's ids rise in file order (the usual
/// case), entry numbers order like ids and the sort compares integers instead of strings.
fn posting_order(postings: &[BankPosting], ids: &EntryIds, parallel: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..postings.len()).collect();
    let ids_rise = (1..ids.len() as u32).all(|i| ids.get(i - 1) < ids.get(i));
    if ids_rise {
        let key = |&i: &usize| (postings[i].date, postings[i].entry, i);
        if parallel {
            order.par_sort_unstable_by_key(key);
        } else {
            order.sort_unstable_by_key(key);
        }
        return order;
    }
    let key = |&i: &usize| (postings[i].date, ids.get(postings[i].entry));
    if parallel {
        order.par_sort_unstable_by(|a, b| key(a).cmp(&key(b)).then(a.cmp(b)));
    } else {
        order.sort_unstable_by(|a, b| key(a).cmp(&key(b)).then(a.cmp(b)));
    }
    order
}

fn match_by_reference(
    postings: &[BankPosting],
    ids: &EntryIds,
    lines: &[Located<StatementLine>],
    by_txn: &[usize],
    order: &[usize],
    line_taken: &mut [bool],
    posting_matched: &mut [bool],
) {
    // For each reference, its lines chained in txn order: `first[ref]`, then `next[line]`.
    const END: usize = usize::MAX;
    let mut first: FxHashMap<&str, usize> = FxHashMap::with_capacity_and_hasher(lines.len(), Default::default());
    let mut next = vec![END; lines.len()];
    for &line in by_txn.iter().rev() {
        if let Some(reference) = &lines[line].value.reference {
            next[line] = first.insert(reference.as_str(), line).unwrap_or(END);
        }
    }
    for &p in order {
        let posting = &postings[p];
        let mut line = first.get(ids.get(posting.entry)).copied().unwrap_or(END);
        while line != END {
            if !line_taken[line] && lines[line].value.amount.fen() == posting.signed_fen {
                line_taken[line] = true;
                posting_matched[p] = true;
                break;
            }
            line = next[line];
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
    lines: &[Located<StatementLine>],
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
    for (i, line) in lines.iter().map(|l| &l.value).enumerate() {
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
