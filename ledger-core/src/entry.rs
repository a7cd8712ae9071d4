//! Journal entries: the only way to build one is balanced.

use thiserror::Error;

use crate::account::{is_valid_id, Account, EntryKind};
use crate::date::Date;
use crate::money::{Money, MoneyError};

/// Which side of an account a posting goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Debit,
    Credit,
}

/// One line of an entry: a positive amount to one side of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub account: Account,
    pub side: Side,
    pub amount: Money,
    pub memo: String,
}

impl Posting {
    pub fn debit(account: Account, amount: Money, memo: impl Into<String>) -> Posting {
        Posting { account, side: Side::Debit, amount, memo: memo.into() }
    }

    pub fn credit(account: Account, amount: Money, memo: impl Into<String>) -> Posting {
        Posting { account, side: Side::Credit, amount, memo: memo.into() }
    }
}

/// The most postings one entry may carry: a whole-estate repair apportioned to every unit of a
/// large estate stays well below this.
pub const MAX_POSTINGS_PER_ENTRY: usize = 100_000;

/// A balanced journal entry. Fields are private: every `Entry` that exists has passed
/// [`Entry::new`], so holding one proves it balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    id: String,
    date: Date,
    kind: EntryKind,
    reverses: Option<String>,
    postings: Vec<Posting>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EntryError {
    #[error("entry id `{0}` is not a valid identifier ([A-Za-z0-9._:-]{{1,64}})")]
    BadId(String),
    #[error("an entry needs at least 2 postings, found {0}")]
    TooFewPostings(usize),
    #[error("an entry may have at most {MAX_POSTINGS_PER_ENTRY} postings, found {0}")]
    TooManyPostings(usize),
    #[error("posting {index} has amount {amount}; amounts must be positive")]
    NonPositiveAmount { index: usize, amount: Money },
    #[error("unbalanced: debits {debit} ≠ credits {credit} (difference {difference})")]
    Unbalanced { debit: Money, credit: Money, difference: Money },
    #[error("only a reversal may name an entry it reverses (kind is {0})")]
    TargetOnNonReversal(EntryKind),
    #[error("an entry cannot reverse itself")]
    ReversesItself,
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl Entry {
    pub fn new(
        id: impl Into<String>,
        date: Date,
        kind: EntryKind,
        reverses: Option<String>,
        postings: Vec<Posting>,
    ) -> Result<Entry, EntryError> {
        let id = id.into();
        if !is_valid_id(&id) {
            return Err(EntryError::BadId(id));
        }
        // A reversal need not name its target: other systems write the seven SPEC columns only,
        // and their reversals are taken as they stand. A target, when given, must be real.
        match (kind, &reverses) {
            (EntryKind::Reversal, Some(target)) if *target == id => return Err(EntryError::ReversesItself),
            (EntryKind::Reversal, Some(target)) if !is_valid_id(target) => {
                return Err(EntryError::BadId(target.clone()))
            }
            (EntryKind::Reversal, Some(_)) => {}
            (other, Some(_)) => return Err(EntryError::TargetOnNonReversal(other)),
            (_, None) => {}
        }
        check_postings(&postings)?;
        Ok(Entry { id, date, kind, reverses, postings })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn date(&self) -> Date {
        self.date
    }

    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    pub fn reverses(&self) -> Option<&str> {
        self.reverses.as_deref()
    }

    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }
}

/// Debit and credit totals of some postings, kept apart as auditors read them.
pub fn side_totals(postings: &[Posting]) -> Result<(Money, Money), MoneyError> {
    postings.iter().try_fold((Money::ZERO, Money::ZERO), |(debit, credit), p| match p.side {
        Side::Debit => Ok((debit.checked_add(p.amount)?, credit)),
        Side::Credit => Ok((debit, credit.checked_add(p.amount)?)),
    })
}

fn check_postings(postings: &[Posting]) -> Result<(), EntryError> {
    if postings.len() < 2 {
        return Err(EntryError::TooFewPostings(postings.len()));
    }
    if postings.len() > MAX_POSTINGS_PER_ENTRY {
        return Err(EntryError::TooManyPostings(postings.len()));
    }
    if let Some((index, p)) = postings.iter().enumerate().find(|(_, p)| !p.amount.is_positive()) {
        return Err(EntryError::NonPositiveAmount { index, amount: p.amount });
    }
    let (debit, credit) = side_totals(postings)?;
    if debit != credit {
        return Err(EntryError::Unbalanced { debit, credit, difference: debit.checked_sub(credit)? });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date() -> Date {
        Date::parse("2025-01-01").unwrap()
    }

    fn unit(n: usize) -> Account {
        Account::Unit(format!("U{n}"))
    }

    #[test]
    fn refuses_what_cannot_be_posted() {
        let fen = Money::from_fen;
        let one = vec![Posting::debit(unit(1), fen(5), "")];
        assert_eq!(Entry::new("E1", date(), EntryKind::Deposit, None, one), Err(EntryError::TooFewPostings(1)));
        let zero = vec![Posting::debit(unit(1), fen(0), ""), Posting::credit(unit(2), fen(0), "")];
        assert!(matches!(
            Entry::new("E1", date(), EntryKind::Deposit, None, zero),
            Err(EntryError::NonPositiveAmount { .. })
        ));
        let lopsided = vec![Posting::debit(unit(1), fen(500), ""), Posting::credit(unit(2), fen(499), "")];
        assert_eq!(
            Entry::new("E1", date(), EntryKind::Deposit, None, lopsided.clone()),
            Err(EntryError::Unbalanced { debit: fen(500), credit: fen(499), difference: fen(1) })
        );
        let even = vec![Posting::debit(unit(1), fen(500), ""), Posting::credit(unit(2), fen(500), "")];
        assert_eq!(
            Entry::new("E2", date(), EntryKind::Deposit, Some("E1".into()), even.clone()),
            Err(EntryError::TargetOnNonReversal(EntryKind::Deposit))
        );
        assert_eq!(
            Entry::new("E2", date(), EntryKind::Reversal, Some("E2".into()), even.clone()),
            Err(EntryError::ReversesItself)
        );
        assert_eq!(
            Entry::new("E2", date(), EntryKind::Reversal, Some("E 1".into()), even.clone()),
            Err(EntryError::BadId("E 1".into()))
        );
        assert!(Entry::new("E2", date(), EntryKind::Reversal, Some("E1".into()), even).is_ok());
    }

    #[test]
    fn a_reversal_without_a_target_stands_as_written() {
        let even = vec![
            Posting::debit(unit(1), Money::from_fen(500), ""),
            Posting::credit(Account::Bank("B".into()), Money::from_fen(500), ""),
        ];
        let entry = Entry::new("R1", date(), EntryKind::Reversal, None, even).unwrap();
        assert_eq!((entry.kind(), entry.reverses()), (EntryKind::Reversal, None));
    }

    /// Random balanced entries: random debits and credits, plus one posting that closes the gap.
    fn balanced_postings() -> impl Strategy<Value = Vec<Posting>> {
        let amounts = || prop::collection::vec(1i64..10_000_000, 1..8);
        (amounts(), amounts()).prop_map(|(debits, credits)| {
            let bank = || Account::Bank("B".into());
            let mut postings: Vec<Posting> =
                debits.iter().enumerate().map(|(i, &d)| Posting::debit(unit(i), Money::from_fen(d), "")).collect();
            postings.extend(credits.iter().map(|&c| Posting::credit(bank(), Money::from_fen(c), "")));
            let gap = debits.iter().sum::<i64>() - credits.iter().sum::<i64>();
            match gap.signum() {
                1 => postings.push(Posting::credit(bank(), Money::from_fen(gap), "")),
                -1 => postings.push(Posting::debit(bank(), Money::from_fen(-gap), "")),
                _ => {}
            }
            postings
        })
    }

    proptest! {
        #[test]
        fn balanced_entries_are_accepted_and_any_changed_amount_is_refused(
            postings in balanced_postings(), pick in any::<prop::sample::Index>(), delta in 1i64..1000, up in any::<bool>()
        ) {
            let entry = Entry::new("E1", date(), EntryKind::Deposit, None, postings.clone());
            prop_assert!(entry.is_ok(), "{:?}", entry);
            let mut changed = postings;
            let i = pick.index(changed.len());
            let fen = changed[i].amount.fen();
            let new_fen = if up || fen <= delta { fen + delta } else { fen - delta };
            changed[i].amount = Money::from_fen(new_fen);
            let refused = Entry::new("E1", date(), EntryKind::Deposit, None, changed);
            prop_assert!(matches!(refused, Err(EntryError::Unbalanced { .. })), "{:?}", refused);
        }
    }
}
