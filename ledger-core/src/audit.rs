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

/// Walks stored entries in sequence order and finds the first break.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    previous: Hash,
    next_seq: i64,
    checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { previous: GENESIS, next_seq: 1, checked: 0 }
    }
}

impl ChainVerifier {
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
        self.next_seq += 1;
        self.checked += 1;
        Ok(())
    }

    pub fn checked(&self) -> u64 {
        self.checked
    }

    pub fn head(&self) -> Hash {
        self.previous
    }
}
