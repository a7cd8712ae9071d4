//! The pure domain of mfund, the residential special maintenance fund ledger.
//!
//! The main design choice: this crate does no I/O and knows nothing of databases, files on disk,
//! HTTP or async. Callers hand it bytes and values; it hands back checked domain values and
//! reports. So it cannot fail for outside reasons, and every rule (balancing, apportionment,
//! reconciliation) has one home that tests can drive directly.

pub mod account;
pub mod actor;
pub mod allocation;
pub mod apportion;
pub mod audit;
pub mod csvout;
mod csvscan;
pub mod date;
pub mod drawdown;
pub mod entry;
pub mod estate;
pub mod fixed;
pub mod import;
pub mod interchange;
mod journal;
pub mod money;
pub mod plan;
pub mod rating;
pub mod recon;
pub mod registry;

#[cfg(test)]
mod fuzz;

pub use account::{Account, EntryKind};
pub use date::Date;
pub use entry::{Entry, Posting, Side};
pub use money::Money;
