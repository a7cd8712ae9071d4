//! The SPEC chart of accounts and entry kinds.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The longest identifier the SPEC allows.
pub const MAX_ID_LEN: usize = 64;

/// Whether `text` is a SPEC identifier: `[A-Za-z0-9._:-]{1,64}`.
pub fn is_valid_id(text: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&text.len()) && text.bytes().all(|b| ID_BYTE[usize::from(b)])
}

/// Entry ids that mfund itself generates begin with one of these: a drawdown's payments are
/// `DD-{drawdown_id}-advance` and `DD-{drawdown_id}-final`. They are SPEC identifiers, so that
/// every journal mfund writes stays readable by other systems, and imports refuse a new entry
/// whose id begins so: no imported entry can take the id a workflow will need (an imported
/// `DD-G9-advance` made G9's advance fail on every retry). A workflow that generates ids of
/// another form adds its prefix here.
pub const GENERATED_ID_PREFIXES: [&str; 1] = ["DD-"];

/// The generated-id prefix `id` begins with, if any (see [`GENERATED_ID_PREFIXES`]).
pub fn generated_id_prefix(id: &str) -> Option<&'static str> {
    GENERATED_ID_PREFIXES.into_iter().find(|prefix| id.starts_with(prefix))
}

/// The bytes an identifier may hold, as a table: the reconciliation scanner checks every
/// posting's account id, and a lookup beats a chain of comparisons.
static ID_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-');
        b += 1;
    }
    table
};

/// Where an account stands in the chart, before its id is looked up anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChartClass {
    Bank,
    Unit,
    InterestIncome,
    CommonIncome,
    Payable,
    Suspense,
}

/// Why an account is refused. Import's messages ([`AccountError`]) and the reconciliation
/// report's `reason` ([`AccountFault::reason`]) both come from this one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccountFault {
    NotInChart,
    BadIdentifier,
    /// In the chart, but the registry has no such unit (only a caller with a registry can say).
    UnknownUnit,
}

impl AccountFault {
    /// The words of the reconciliation report, a contract: reports stay byte-identical.
    pub const fn reason(self) -> &'static str {
        match self {
            AccountFault::NotInChart => "account not in the chart of accounts",
            AccountFault::BadIdentifier => "invalid identifier in account",
            AccountFault::UnknownUnit => "unit not in the registry",
        }
    }
}

/// The chart of accounts, written out once: the class of `text` and the id after its prefix
/// (`""` for the fixed accounts), borrowed from `text` so that the scanner allocates nothing.
pub fn classify(text: &str) -> Result<(ChartClass, &str), AccountFault> {
    match text {
        "income:interest" => return Ok((ChartClass::InterestIncome, "")),
        "income:common" => return Ok((ChartClass::CommonIncome, "")),
        "suspense" => return Ok((ChartClass::Suspense, "")),
        _ => {}
    }
    let (prefix, id) = text.split_once(':').ok_or(AccountFault::NotInChart)?;
    let class = match prefix {
        "bank" => ChartClass::Bank,
        "unit" => ChartClass::Unit,
        "payable" => ChartClass::Payable,
        _ => return Err(AccountFault::NotInChart),
    };
    if !is_valid_id(id) {
        return Err(AccountFault::BadIdentifier);
    }
    Ok((class, id))
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

/// An account refused, with its text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", self.describe())]
pub struct AccountError {
    pub fault: AccountFault,
    pub account: String,
}

impl AccountError {
    pub fn new(fault: AccountFault, account: &str) -> AccountError {
        AccountError { fault, account: account.to_owned() }
    }

    fn describe(&self) -> String {
        let account = &self.account;
        match self.fault {
            AccountFault::NotInChart => format!(
                "`{account}` is not in the chart of accounts (bank:<no>, unit:<id>, income:interest, income:common, payable:<id>, suspense)"
            ),
            AccountFault::BadIdentifier => {
                format!("`{account}` has an invalid identifier after its prefix (expected [A-Za-z0-9._:-]{{1,64}})")
            }
            AccountFault::UnknownUnit => {
                format!("unit `{}` is not in the registry", account.strip_prefix("unit:").unwrap_or(account))
            }
        }
    }
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
        let (class, id) = classify(text).map_err(|fault| AccountError::new(fault, text))?;
        Ok(match class {
            ChartClass::Bank => Account::Bank(id.to_owned()),
            ChartClass::Unit => Account::Unit(id.to_owned()),
            ChartClass::InterestIncome => Account::InterestIncome,
            ChartClass::CommonIncome => Account::CommonIncome,
            ChartClass::Payable => Account::Payable(id.to_owned()),
            ChartClass::Suspense => Account::Suspense,
        })
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

    /// Kinds whose entries move units' sub-ledgers only through a workflow of mfund: a
    /// `drawdown` through the vote or the street office (SPEC §5), an `allocation` through
    /// `mfund allocate` (§6), a `refund` through `mfund estate refund` (§10). A `payment` pays
    /// a contractor (payable → bank) and is a workflow's only when it touches a unit, which
    /// [`crate::import`] judges per entry.
    pub const fn is_workflow_only(self) -> bool {
        matches!(self, EntryKind::Drawdown | EntryKind::Allocation | EntryKind::Refund)
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
        let fault = |text: &str| text.parse::<Account>().unwrap_err().fault;
        assert_eq!(fault("cash"), AccountFault::NotInChart);
        assert_eq!(fault("income:other"), AccountFault::NotInChart);
        assert_eq!(fault("unit:"), AccountFault::BadIdentifier);
        assert_eq!(fault("unit:a b"), AccountFault::BadIdentifier);
    }

    #[test]
    fn import_messages_and_report_reasons_come_from_one_fault() {
        let error = "cash:1".parse::<Account>().unwrap_err();
        assert!(error.to_string().starts_with("`cash:1` is not in the chart of accounts (bank:<no>"), "{error}");
        assert_eq!(error.fault.reason(), "account not in the chart of accounts");
        let unknown = AccountError::new(AccountFault::UnknownUnit, "unit:U9");
        assert_eq!(unknown.to_string(), "unit `U9` is not in the registry");
        assert_eq!(unknown.fault.reason(), "unit not in the registry");
        assert_eq!(AccountFault::BadIdentifier.reason(), "invalid identifier in account");
    }

    #[test]
    fn the_id_table_matches_the_spec_alphabet() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b".-_:".contains(&b);
            assert_eq!(ID_BYTE[usize::from(b)], expected, "byte {b}");
        }
        assert!(!is_valid_id("") && !is_valid_id(&"a".repeat(65)) && is_valid_id(&"a".repeat(64)));
    }

    #[test]
    fn generated_ids_are_spec_ids_with_a_reserved_prefix() {
        assert_eq!(generated_id_prefix("DD-G9-advance"), Some("DD-"));
        assert_eq!(generated_id_prefix("dd-G9-advance"), None, "ids are case-sensitive, so this one cannot collide");
        assert_eq!(generated_id_prefix("J000000001"), None);
        for prefix in GENERATED_ID_PREFIXES {
            assert!(is_valid_id(&format!("{prefix}X")), "{prefix}");
        }
    }

    #[test]
    fn kinds_round_trip() {
        for kind in EntryKind::ALL {
            assert_eq!(EntryKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EntryKind::parse("Deposit"), None);
    }
}
