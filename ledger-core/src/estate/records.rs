//! The records chain: every workflow record and registry version (a drawdown as filed, each of
//! its events, votes and payments, each registry version, each closure) hashed over its
//! canonical content and chained to its predecessor, as the entry chain (`crate::audit`) does
//! for the journal. Any feature's decision records can join: a kind name, a key, the fields.
//!
//! The canonical form is computed from stored text and integers, so a tampered row that no
//! longer parses still hashes, and `verify` can name it.

use sha2::{Digest, Sha256};

use crate::audit::{chain_hash, Hash, GENESIS};

/// One field of a record's canonical content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'a> {
    Text(&'a str),
    Int(i64),
    Null,
}

impl<'a> From<&'a str> for Field<'a> {
    fn from(v: &'a str) -> Self {
        Field::Text(v)
    }
}

impl<'a> From<&'a String> for Field<'a> {
    fn from(v: &'a String) -> Self {
        Field::Text(v)
    }
}

impl From<i64> for Field<'_> {
    fn from(v: i64) -> Self {
        Field::Int(v)
    }
}

impl<'a> From<Option<&'a str>> for Field<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Field::Null, Field::Text)
    }
}

impl From<Option<i64>> for Field<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Field::Null, Field::Int)
    }
}

/// SHA-256 of a record's kind and fields: each field tagged by type and length-prefixed, so no
/// choice of text makes two different records hash alike.
pub fn content_hash(kind: &str, fields: &[Field<'_>]) -> Hash {
    let mut hasher = Sha256::new();
    let mut put = |tag: u8, bytes: &[u8]| {
        hasher.update([tag]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    put(b'K', b"mfund-record-v1");
    put(b'K', kind.as_bytes());
    for field in fields {
        match field {
            Field::Text(t) => put(b'T', t.as_bytes()),
            Field::Int(i) => put(b'I', &i.to_le_bytes()),
            Field::Null => put(b'N', &[]),
        }
    }
    hasher.finalize().into()
}

/// A record as the chain stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedRecord {
    pub seq: i64,
    pub kind: String,
    pub key: String,
    pub content_hash: Hash,
    pub chain_hash: Hash,
}

/// The head of the records chain, advanced as records are appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHead {
    pub seq: i64,
    pub hash: Hash,
}

impl Default for RecordHead {
    fn default() -> Self {
        RecordHead { seq: 0, hash: GENESIS }
    }
}

impl RecordHead {
    /// Appends a record with this content: its sequence number and chain hash.
    pub fn append(&mut self, kind: &str, key: String, content_hash: Hash) -> ChainedRecord {
        self.seq += 1;
        self.hash = chain_hash(&self.hash, &content_hash);
        ChainedRecord { seq: self.seq, kind: kind.to_owned(), key, content_hash, chain_hash: self.hash }
    }
}

/// Why the records chain breaks at a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordBreak {
    /// The record's row no longer exists.
    Removed,
    /// The record's row no longer hashes to the content hash chained with it.
    Changed,
    /// The stored chain hash does not follow from its predecessor.
    ChainChanged,
    /// The sequence number does not follow its predecessor's: a record was removed from the chain.
    SequenceGap { expected: i64 },
}

impl RecordBreak {
    pub fn describe(&self, seq: i64) -> String {
        match self {
            RecordBreak::Removed => "its row was removed".to_owned(),
            RecordBreak::Changed => "its row no longer matches the content hash chained with it".to_owned(),
            RecordBreak::ChainChanged => "its chain hash does not follow from the record before it".to_owned(),
            RecordBreak::SequenceGap { expected } => {
                format!("sequence jumps from {} to {seq}: a record was removed from the chain", expected - 1)
            }
        }
    }
}

/// Walks chained records in sequence order against the live rows' hashes (`live`: `None` when
/// the row is gone) and finds the first break.
#[derive(Debug, Clone, Default)]
pub struct RecordVerifier {
    head: RecordHead,
    checked: u64,
}

impl RecordVerifier {
    pub fn check(&mut self, record: &ChainedRecord, live: Option<&Hash>) -> Result<(), RecordBreak> {
        if record.seq != self.head.seq + 1 {
            return Err(RecordBreak::SequenceGap { expected: self.head.seq + 1 });
        }
        if chain_hash(&self.head.hash, &record.content_hash) != record.chain_hash {
            return Err(RecordBreak::ChainChanged);
        }
        match live {
            None => return Err(RecordBreak::Removed),
            Some(hash) if *hash != record.content_hash => return Err(RecordBreak::Changed),
            Some(_) => {}
        }
        self.head = RecordHead { seq: record.seq, hash: record.chain_hash };
        self.checked += 1;
        Ok(())
    }

    pub fn checked(&self) -> u64 {
        self.checked
    }

    pub fn head(&self) -> Hash {
        self.head.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_cannot_be_shifted_into_each_other() {
        let a = content_hash("k", &[Field::Text("ab"), Field::Text("c")]);
        let b = content_hash("k", &[Field::Text("a"), Field::Text("bc")]);
        assert_ne!(a, b);
        assert_ne!(content_hash("k", &[Field::Null]), content_hash("k", &[Field::Text("")]));
        assert_ne!(content_hash("k", &[Field::Int(1)]), content_hash("k", &[Field::Text("1")]));
        assert_ne!(content_hash("k", &[]), content_hash("j", &[]));
    }

    #[test]
    fn the_verifier_names_a_changed_a_removed_and_an_unchained_record() {
        let mut head = RecordHead::default();
        let rows: Vec<Hash> = (0..4).map(|i| content_hash("k", &[Field::Int(i)])).collect();
        let records: Vec<ChainedRecord> =
            rows.iter().enumerate().map(|(i, h)| head.append("k", i.to_string(), *h)).collect();
        let mut ok = RecordVerifier::default();
        assert!(records.iter().zip(&rows).all(|(r, h)| ok.check(r, Some(h)).is_ok()));
        assert_eq!(ok.checked(), 4);
        assert_eq!(ok.head(), head.hash);

        let mut v = RecordVerifier::default();
        v.check(&records[0], Some(&rows[0])).unwrap();
        assert_eq!(v.check(&records[1], Some(&rows[2])), Err(RecordBreak::Changed));
        assert_eq!(v.check(&records[1], None), Err(RecordBreak::Removed));
        assert_eq!(v.check(&records[2], Some(&rows[2])), Err(RecordBreak::SequenceGap { expected: 2 }));
        let mut forged = records[1].clone();
        forged.content_hash = rows[3];
        assert_eq!(v.check(&forged, Some(&rows[3])), Err(RecordBreak::ChainChanged));
    }
}
