//! What the user typed (clap), before anything is opened or read.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ledger_core::Date;

const ABOUT: &str = "mfund keeps a city's residential special maintenance funds (住宅专项维修资金) in a \
double-entry ledger: one sub-ledger per unit, grouped by building and estate, every entry balanced, \
hash-chained and append-only.";

const AFTER_HELP: &str = "Examples:
  mfund gen --units 2000 --seed 7 --out city     write a synthetic city's CSV files
  mfund import --dir city                        load registry and journal (atomic, idempotent)
  mfund balance --estate E00001 --as-of 2024-12-31
  mfund verify                                   prove no posted entry was changed
  mfund demo                                     all of the above on a throwaway database

Exit status: 0 success, 1 discrepancies found and reported, 2 the input could not be read or the
command could not be carried out.";

#[derive(Debug, Parser)]
#[command(name = "mfund", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// Database URL: sqlite://PATH (embedded, the default) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "MFUND_DB", default_value = "sqlite://mfund.db")]
    pub db: String,
    /// Print machine-readable JSON on stdout instead of the human summary.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database and its schema (other commands do this too when needed), and
    /// configure the fund's special bank accounts.
    ///
    /// Without --bank, the first `bank:` account a journal imports becomes the fund's special
    /// account. Either way, a posting to any other `bank:` account is refused at import, with its
    /// line; `mfund bank add` configures another.
    Init {
        /// A special account (专户) number, without `bank:`; repeat for several. Payments leave
        /// from the first configured.
        #[arg(long = "bank", value_name = "ACCOUNT_NO")]
        banks: Vec<String>,
        /// The admin who configures them (required with --bank), for the record.
        #[arg(long = "as", value_name = "NAME")]
        actor: Option<String>,
    },
    /// Load estates.csv, buildings.csv, units.csv and journal.csv from a folder.
    ///
    /// Any of the files may be absent. The import lands whole or not at all: every error names
    /// file, line and column, and nothing is written. Entries already posted with the same
    /// content are skipped, so importing the same files twice posts nothing twice.
    ///
    /// A new entry is refused when its id begins with `DD-` (mfund's own drawdown payments),
    /// when it posts to a `bank:` account that is not configured (see `mfund bank`), or when it
    /// is one only a workflow may post (kind drawdown, allocation or refund, or a payment that
    /// touches a unit), unless the ledger is still empty (its opening import) or this is an
    /// admin's --migration import; those two are recorded with who, when and the journal's
    /// SHA-256.
    Import {
        /// Folder holding the CSV files.
        #[arg(long)]
        dir: PathBuf,
        /// Another system's history, historical drawdowns, allocations and refunds included: an
        /// admin's act, recorded as such. Needs --as.
        #[arg(long)]
        migration: bool,
        /// Who imports (a clerk; the admin for --migration), for the record. Default: clerk.
        #[arg(long = "as", value_name = "NAME")]
        actor: Option<String>,
    },
    /// The fund's special bank accounts (专户): `mfund bank add ACCOUNT_NO --as NAME` configures
    /// one more (an admin's act, recorded with who and when, never removed); `mfund bank list`
    /// shows them, the payment account first.
    Bank {
        #[command(subcommand)]
        verb: BankVerb,
    },
    /// Reconcile the ledger with the bank: every unit, every statement line (SPEC §3).
    ///
    /// With --dir, reads estates.csv, buildings.csv, units.csv, journal.csv and, when present,
    /// statement.csv and unit_balances.csv from the folder. Without --dir, reconciles the
    /// database against the bank files given by --statement and --unit-balances.
    ///
    /// Errors of form (a malformed row, a bad amount, a wrong header, a duplicate id) stop the
    /// run with file:line:column and exit status 2, and no report is written. Discrepancies are
    /// reported: exit status 1 when any were found, 0 when none.
    Reconcile(ReconcileArgs),
    /// Drawdowns: apply, vote, approve or reject, advance, complete, settle, cancel, notice.
    ///
    /// Emergency repairs (fire pipes, fire water, water supply, lifts, roof leaks, façades,
    /// drains) may take the green channel: no vote, the estate's street office decides within 2
    /// working days, up to 50 % may be advanced. Everything else needs the owners' vote first.
    /// Each payment posts one balanced entry that charges every beneficiary unit its floor-area
    /// share. Repeating a request changes nothing.
    Drawdown(crate::drawdown::DrawdownArgs),
    /// The registry as history: transfer (过户), refund (房屋灭失), move (street office, company).
    ///
    /// Each change is a dated version recording who, when and why; decisions and reports
    /// before its date keep the old facts. Re-importing units.csv or estates.csv with a changed
    /// owner, street office or company is refused and names the verb here.
    Estate(crate::estate::EstateArgs),
    /// Service ratings (SPEC §9): import checks, tickets and credit scores, publish a year
    /// (stars, grades, rectification, red and black lists, next year's fee float), report.
    Rating(crate::rating::RatingArgs),
    /// Serve the HTTP API (and the street office's page at /) on the configured database.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// A public holiday (YYYY-MM-DD) for green-channel deadlines; repeat for several.
        #[arg(long = "holiday", value_parser = parse_date)]
        holidays: Vec<Date>,
    },
    /// API users: `mfund user add --name N --role ROLE [--scope ID]` prints the new token once;
    /// `mfund user revoke --name N` withdraws it; `mfund user list` shows who exists.
    User {
        #[command(subcommand)]
        verb: UserVerb,
    },
    /// Show the unit sub-ledger balance of a unit, a building, an estate or the whole city.
    Balance(BalanceArgs),
    /// Recompute the audit hash chain and name the first entry that was changed, if any.
    ///
    /// Also proves that every posting is covered by a chained entry's hash and that every
    /// account's running totals are the sums of its chained postings. Prints the number of
    /// entries and the head hash: keep it, and a later `verify --expect-head` shows whether the
    /// newest entries were removed. Exit status 1 when anything does not hold.
    Verify {
        /// A head hash kept earlier (from verify, a public notice or a close): the chain must
        /// still pass through it.
        #[arg(long, value_name = "HASH", value_parser = parse_hash)]
        expect_head: Option<[u8; 32]>,
    },
    /// Write a deterministic synthetic city in the interchange files.
    Gen(GenArgs),
    /// Generate a small city, import it into a throwaway embedded database and summarise it.
    Demo {
        /// Keep the generated files and database in this folder instead of a temporary one.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Allocate the fund's income to the unit sub-ledgers (结息到户, 收益分配; SPEC §6).
    ///
    /// Moves income:interest or income:common into the units by 积数 (balance-days), floor area
    /// or closing balance, exactly in fen (largest remainder, ties to the smaller unit_id), in one
    /// balanced `allocation` entry dated --date. Repeating the same --entry-id posts nothing.
    Allocate(crate::allocation::AllocateArgs),
    /// Top-up (续筹): `mfund topup notices --as-of D` lists units below 30 % of their first deposit.
    Topup(crate::allocation::TopupArgs),
}

#[derive(Debug, Subcommand)]
pub enum UserVerb {
    /// Create a user and print its bearer token (stored only as a hash).
    Add {
        #[arg(long)]
        name: String,
        /// clerk, street_office, property_company, auditor or admin.
        #[arg(long)]
        role: String,
        /// The street office (for street_office) or the company (for property_company).
        #[arg(long, default_value = "")]
        scope: String,
    },
    /// Revoke a user's token: it stops signing in (a running server notices within 5 s).
    /// The user's name stays taken and its past actions keep naming it.
    Revoke {
        #[arg(long)]
        name: String,
    },
    /// List users: name, role, scope and whether the token was revoked (never the token).
    List,
}

#[derive(Debug, Subcommand)]
pub enum BankVerb {
    /// Configure one more special account of the fund (an admin's act).
    Add {
        /// The account number, without `bank:`.
        #[arg(value_name = "ACCOUNT_NO")]
        number: String,
        /// The admin who adds it, for the record.
        #[arg(long = "as", value_name = "NAME")]
        actor: String,
    },
    /// The configured special accounts, the payment account first, with who added each and when.
    List,
}

#[derive(Debug, Args)]
pub struct BalanceArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Count only entries dated on or before this day (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    pub as_of: Option<Date>,
}

/// Which part of the city: at most one of these.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct ScopeArgs {
    /// One unit's sub-ledger, by unit_id.
    #[arg(long)]
    pub unit: Option<String>,
    /// Every unit of a building, by building_id.
    #[arg(long)]
    pub building: Option<String>,
    /// Every unit of an estate, by estate_id.
    #[arg(long)]
    pub estate: Option<String>,
    /// The whole city (the default).
    #[arg(long)]
    pub city: bool,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Folder of interchange files to reconcile instead of the database.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Write the JSON report here (replaced atomically; removed when the input is unreadable).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The bank statement (statement.csv); defaults to DIR/statement.csv with --dir.
    #[arg(long)]
    pub statement: Option<PathBuf>,
    /// The bank's per-unit balances (unit_balances.csv); defaults to DIR/unit_balances.csv.
    #[arg(long)]
    pub unit_balances: Option<PathBuf>,
    /// Database only: count entries dated on or before this day (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date, conflicts_with = "dir")]
    pub as_of: Option<Date>,
    /// Print how long each phase took, on stderr.
    #[arg(long)]
    pub timings: bool,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// How many units the city has.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
    pub units: u64,
    /// The same seed always gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Folder to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Plant a few discrepancies of every kind and name them in truth.json.
    #[arg(long)]
    pub faults: bool,
}

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text).map_err(|e| e.to_string())
}

/// A chain hash: 64 hexadecimal digits.
fn parse_hash(text: &str) -> Result<[u8; 32], String> {
    let digits = text.trim();
    let refuse = || format!("expected a head hash of 64 hexadecimal digits, found `{text}`");
    if digits.len() != 64 || !digits.is_ascii() {
        return Err(refuse());
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|_| refuse())?;
    }
    Ok(hash)
}
