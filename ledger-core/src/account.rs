//! The SPEC chart of accounts and entry kinds.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The longest identifier the SPEC allows.
pub const MAX_ID_LEN: usize = 64;

/// Whether `text` is a SPEC identifier: `[A-Za-z0-9._:-]{1,64}`.
pub fn is_valid_id(text: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// An account of the SPEC chart. Which side raises a balance depends on the class: `bank:` is
/// an asset (debits − credits), everything else is owed to someone (credits − debits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// The special account at the bank (专户), by account number.
    Bank(String),
    /// A unit's sub-ledger (分户账).
    Unit(String),
    /// Value-added income not yet allocated to units.
    InterestIncome,
    /// Income from shared parts not yet allocated.
    CommonIncome,
    /// Approved repair costs owed to a contractor.
    Payable(String),
    /// Receipts not yet identified.
    Suspense,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AccountError {
    #[error("`{0}` is not in the chart of accounts (bank:<no>, unit:<id>, income:interest, income:common, payable:<id>, suspense)")]
    NotInChart(String),
    #[error("`{0}` has an invalid identifier after its prefix (expected [A-Za-z0-9._:-]{{1,64}})")]
    BadIdentifier(String),
}

impl Account {
    pub fn unit_id(&self) -> Option<&str> {
        match self {
            Account::Unit(id) => Some(id),
            _ => None,
        }
    }
}

impl FromStr for Account {
    type Err = AccountError;

    fn from_str(text: &str) -> Result<Account, AccountError> {
        match text {
            "income:interest" => return Ok(Account::InterestIncome),
            "income:common" => return Ok(Account::CommonIncome),
            "suspense" => return Ok(Account::Suspense),
            _ => {}
        }
        let (prefix, id) = text.split_once(':').ok_or_else(|| AccountError::NotInChart(text.to_owned()))?;
        let make: fn(String) -> Account = match prefix {
            "bank" => Account::Bank,
            "unit" => Account::Unit,
            "payable" => Account::Payable,
            _ => return Err(AccountError::NotInChart(text.to_owned())),
        };
        if !is_valid_id(id) {
            return Err(AccountError::BadIdentifier(text.to_owned()));
        }
        Ok(make(id.to_owned()))
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Bank(no) => write!(f, "bank:{no}"),
            Account::Unit(id) => write!(f, "unit:{id}"),
            Account::InterestIncome => f.write_str("income:interest"),
            Account::CommonIncome => f.write_str("income:common"),
            Account::Payable(id) => write!(f, "payable:{id}"),
            Account::Suspense => f.write_str("suspense"),
        }
    }
}

/// What an entry records. Entries are never edited: a mistake is undone by a `Reversal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    Opening,
    Deposit,
    Topup,
    Interest,
    Allocation,
    Drawdown,
    Payment,
    Refund,
    Adjustment,
    Reversal,
}

impl EntryKind {
    pub const ALL: [EntryKind; 10] = [
        EntryKind::Opening,
        EntryKind::Deposit,
        EntryKind::Topup,
        EntryKind::Interest,
        EntryKind::Allocation,
        EntryKind::Drawdown,
        EntryKind::Payment,
        EntryKind::Refund,
        EntryKind::Adjustment,
        EntryKind::Reversal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Opening => "opening",
            EntryKind::Deposit => "deposit",
            EntryKind::Topup => "topup",
            EntryKind::Interest => "interest",
            EntryKind::Allocation => "allocation",
            EntryKind::Drawdown => "drawdown",
            EntryKind::Payment => "payment",
            EntryKind::Refund => "refund",
            EntryKind::Adjustment => "adjustment",
            EntryKind::Reversal => "reversal",
        }
    }

    pub fn parse(text: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_chart_and_nothing_else() {
        for text in ["bank:6222001", "unit:E1-B2-0301", "income:interest", "income:common", "payable:C9", "suspense"] {
            assert_eq!(text.parse::<Account>().unwrap().to_string(), text);
        }
        assert!(matches!("cash".parse::<Account>(), Err(AccountError::NotInChart(_))));
        assert!(matches!("income:other".parse::<Account>(), Err(AccountError::NotInChart(_))));
        assert!(matches!("unit:".parse::<Account>(), Err(AccountError::BadIdentifier(_))));
        assert!(matches!("unit:a b".parse::<Account>(), Err(AccountError::BadIdentifier(_))));
    }

    #[test]
    fn kinds_round_trip() {
        for kind in EntryKind::ALL {
            assert_eq!(EntryKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EntryKind::parse("Deposit"), None);
    }
}
