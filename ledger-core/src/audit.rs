//! The audit chain: each posted entry's content hash, chained to its predecessor's.
//!
//! An auditor can recompute the chain from the stored rows alone; the first entry whose
//! recomputed hash differs from the stored one is where the ledger was changed. The canonical
//! form is computed from the stored text and integers, not from parsed domain values, so that even
//! a tampered row that no longer parses still gets a hash to compare.

use sha2::{Digest, Sha256};

use crate::entry::{Entry, Side};

pub type Hash = [u8; 32];

/// The predecessor of the first entry.
pub const GENESIS: Hash = [0; 32];

/// An entry as stored: the fields that its content hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub entry_id: String,
    pub date: String,
    pub kind: String,
    pub reverses: Option<String>,
    pub postings: Vec<StoredPosting>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPosting {
    pub account: String,
    pub debit_fen: i64,
    pub credit_fen: i64,
    pub memo: String,
}

impl StoredEntry {
    pub fn from_entry(entry: &Entry) -> StoredEntry {
        let postings = entry
            .postings()
            .iter()
            .map(|p| {
                let (debit_fen, credit_fen) = match p.side {
                    Side::Debit => (p.amount.fen(), 0),
                    Side::Credit => (0, p.amount.fen()),
                };
                StoredPosting { account: p.account.to_string(), debit_fen, credit_fen, memo: p.memo.clone() }
            })
            .collect();
        StoredEntry {
            entry_id: entry.id().to_owned(),
            date: entry.date().to_string(),
            kind: entry.kind().as_str().to_owned(),
            reverses: entry.reverses().map(str::to_owned),
            postings,
        }
    }

    /// SHA-256 of the canonical form. Every free-text field is length-prefixed so that no
    /// choice of memo can make two different entries print the same.
    pub fn content_hash(&self) -> Hash {
        let mut hasher = Sha256::new();
        let mut field = |text: &str| {
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        };
        field("mfund-entry-v1");
        field(&self.entry_id);
        field(&self.date);
        field(&self.kind);
        field(self.reverses.as_deref().unwrap_or(""));
        for p in &self.postings {
            field(&p.account);
            field(&p.debit_fen.to_string());
            field(&p.credit_fen.to_string());
            field(&p.memo);
        }
        hasher.finalize().into()
    }

    /// A one-line-per-posting rendering for messages that show two versions side by side.
    pub fn describe(&self) -> String {
        let mut out = format!("{} {} {}", self.entry_id, self.date, self.kind);
        if let Some(target) = &self.reverses {
            out.push_str(&format!(" reverses {target}"));
        }
        for p in &self.postings {
            let (side, fen) = if p.debit_fen != 0 { ("Dr", p.debit_fen) } else { ("Cr", p.credit_fen) };
            out.push_str(&format!("\n    {side} {} {} {:?}", p.account, crate::Money::from_fen(fen), p.memo));
        }
        out
    }
}

/// The chain hash of an entry: SHA-256 of the predecessor's chain hash and this content hash.
pub fn chain_hash(previous: &Hash, content: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(content);
    hasher.finalize().into()
}

/// Why the chain breaks at an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The entry's rows no longer hash to the content hash stored with it.
    ContentChanged,
    /// The stored chain hash does not follow from its predecessor.
    ChainChanged,
    /// The entry's sequence number does not follow its predecessor's (an entry was removed).
    SequenceGap { expected: i64 },
}

/// SHA-256 of a file's bytes, as an import records the journal it was given.
pub fn file_hash(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// Walks stored entries in sequence order and finds the first break. Counts the postings its
/// entries' hashes covered, so that the caller can prove no posting lies outside them, and
/// looks for a head an auditor kept earlier (an entry removed from the end leaves no gap, but
/// the kept head is then no longer in the chain).
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    previous: Hash,
    next_seq: i64,
    checked: u64,
    postings: u64,
    expected_head: Option<Hash>,
    /// The sequence number of the entry whose chain hash is the expected head (0: the genesis).
    expected_found_at: Option<i64>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier::expecting(None)
    }
}

impl ChainVerifier {
    /// A verifier that also looks for `expected_head` among the chain hashes it checks.
    pub fn expecting(expected_head: Option<Hash>) -> ChainVerifier {
        let expected_found_at = (expected_head == Some(GENESIS)).then_some(0);
        ChainVerifier { previous: GENESIS, next_seq: 1, checked: 0, postings: 0, expected_head, expected_found_at }
    }

    pub fn check(
        &mut self,
        seq: i64,
        entry: &StoredEntry,
        stored_content: &Hash,
        stored_chain: &Hash,
    ) -> Result<(), Break> {
        if seq != self.next_seq {
            return Err(Break::SequenceGap { expected: self.next_seq });
        }
        if entry.content_hash() != *stored_content {
            return Err(Break::ContentChanged);
        }
        if chain_hash(&self.previous, stored_content) != *stored_chain {
            return Err(Break::ChainChanged);
        }
        self.previous = *stored_chain;
        if self.expected_found_at.is_none() && self.expected_head == Some(*stored_chain) {
            self.expected_found_at = Some(seq);
        }
        self.next_seq += 1;
        self.checked += 1;
        self.postings += entry.postings.len() as u64;
        Ok(())
    }

    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// Postings of the entries checked so far: each one covered by its entry's content hash.
    pub fn postings_covered(&self) -> u64 {
        self.postings
    }

    /// Where the expected head was found: `Some(seq)` (0 for the empty chain's), `None` when it
    /// is not (yet) in the chain or none was expected.
    pub fn expected_found_at(&self) -> Option<i64> {
        self.expected_found_at
    }

    pub fn head(&self) -> Hash {
        self.previous
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> StoredEntry {
        let posting = |account: &str, debit_fen, credit_fen| StoredPosting {
            account: account.to_owned(),
            debit_fen,
            credit_fen,
            memo: String::new(),
        };
        StoredEntry {
            entry_id: id.to_owned(),
            date: "2025-01-02".to_owned(),
            kind: "deposit".to_owned(),
            reverses: None,
            postings: vec![posting("bank:1", 10, 0), posting("unit:U1", 0, 10)],
        }
    }

    /// The chain of `n` entries: each with its content and chain hash.
    fn chain(n: usize) -> Vec<(StoredEntry, Hash, Hash)> {
        let mut previous = GENESIS;
        (1..=n)
            .map(|k| {
                let e = entry(&format!("J{k}"));
                let content = e.content_hash();
                previous = chain_hash(&previous, &content);
                (e, content, previous)
            })
            .collect()
    }

    fn walk(entries: &[(StoredEntry, Hash, Hash)], expected: Option<Hash>) -> ChainVerifier {
        let mut verifier = ChainVerifier::expecting(expected);
        for (seq, (e, content, chained)) in entries.iter().enumerate() {
            verifier.check(seq as i64 + 1, e, content, chained).unwrap();
        }
        verifier
    }

    #[test]
    fn a_kept_head_is_found_where_it_was_and_not_after_truncation() {
        let full = chain(5);
        let kept = full[4].2;
        assert_eq!(walk(&full, Some(kept)).expected_found_at(), Some(5));
        // Two entries appended since the head was kept: still found, at its place.
        assert_eq!(walk(&chain(7), Some(kept)).expected_found_at(), Some(5));
        // The newest two removed: the remaining chain verifies, but the kept head is gone.
        let truncated = walk(&full[..3], Some(kept));
        assert_eq!((truncated.checked(), truncated.expected_found_at()), (3, None));
        assert_eq!(walk(&[], Some(GENESIS)).expected_found_at(), Some(0));
    }

    #[test]
    fn the_walk_counts_the_postings_its_hashes_cover() {
        assert_eq!(walk(&chain(4), None).postings_covered(), 8);
    }
}
