//! `mfund estate …`: the registry as history (SPEC §10). Each change is a dated version with
//! who, when and why; nothing in the registry is overwritten.

use anyhow::bail;
use clap::{Args, Subcommand};
use ledger_core::actor::{Actor, Role};
use ledger_core::drawdown::Act;
use ledger_core::estate::{Move, RegistryChange};
use ledger_core::Date;
use ledger_store::{RecordsOutcome, Store};

use crate::Outcome;

#[derive(Debug, Args)]
pub struct EstateArgs {
    #[command(subcommand)]
    pub verb: Verb,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// 过户: the unit's owner changes from --date; its balance stays with the unit.
    ///
    /// Decisions, notices and statements dated before --date keep the old owner. A change is
    /// never dated before the unit's latest recorded change. Repeating it changes nothing.
    ///
    /// Example: mfund estate transfer --unit U0001 --owner 李四 --date 2026-04-01 --as 王会计
    Transfer {
        /// The unit, by unit_id.
        #[arg(long)]
        unit: String,
        /// The new owner's name.
        #[arg(long)]
        owner: String,
        /// The day the new owner takes over (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        date: Date,
        #[command(flatten)]
        who: Who,
    },
    /// 房屋灭失: pays the unit's whole balance out and closes the unit from --date.
    ///
    /// Posts one `refund` entry (debit the unit, credit the fund's bank account) under
    /// --entry-id. From then on the unit refuses every posting: imports, drawdown payments,
    /// allocations. An overdrawn unit must be topped up first; a unit with postings after --date
    /// cannot be refunded on --date. Repeating the same refund changes nothing.
    ///
    /// Example: mfund estate refund --unit U0001 --date 2026-05-01 --entry-id RF-U0001 --as 王会计
    Refund {
        #[arg(long)]
        unit: String,
        /// The day of the refund (the entry's date), from which the unit is closed.
        #[arg(long, value_parser = parse_date)]
        date: Date,
        /// The refund entry's id ([A-Za-z0-9._:-], at most 64), not used by any posted entry.
        #[arg(long = "entry-id")]
        entry_id: String,
        #[command(flatten)]
        who: Who,
    },
    /// The estate's street office or property company changes from --date.
    ///
    /// Decisions, bills and ratings dated before --date keep the old one: a drawdown decided
    /// before --date needs the old street office, on or after it the new one.
    ///
    /// Example: mfund estate move --estate E00001 --street-office 西城街道 --date 2026-06-01 --as 王会计
    Move {
        #[arg(long)]
        estate: String,
        /// The new street office.
        #[arg(long = "street-office", required_unless_present = "company")]
        street_office: Option<String>,
        /// The new property company.
        #[arg(long)]
        company: Option<String>,
        /// The day the change takes effect (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        date: Date,
        #[command(flatten)]
        who: Who,
    },
}

/// Who records the change, and why.
#[derive(Debug, Args)]
pub struct Who {
    /// The clerk recording the change, by name (`admin:NAME` for an administrator).
    #[arg(long = "as")]
    pub actor: String,
    /// Why (a contract number, a court order, a letter): kept with the version.
    #[arg(long, default_value = "")]
    pub reason: String,
}

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text).map_err(|e| e.to_string())
}

impl Who {
    fn act(&self) -> anyhow::Result<Act> {
        let actor = match self.actor.strip_prefix("admin:") {
            Some(name) => Actor::city(name, Role::Admin)?,
            None if self.actor.contains(':') => {
                bail!("--as names a clerk (NAME) or an administrator (admin:NAME), found `{}`", self.actor)
            }
            None => Actor::city(&self.actor, Role::Clerk)?,
        };
        Ok(Act { actor, at: ledger_store::today(), reason: self.reason.clone() })
    }
}

pub async fn run(db: &str, args: EstateArgs, json: bool) -> anyhow::Result<Outcome> {
    let change = match args.verb {
        Verb::Transfer { unit, owner, date, who } => {
            let act = who.act()?;
            Store::connect(db).await?.transfer_unit(&unit, &owner, date, &act).await?
        }
        Verb::Refund { unit, date, entry_id, who } => {
            let act = who.act()?;
            Store::connect(db).await?.refund_unit(&unit, &entry_id, date, &act).await?
        }
        Verb::Move { estate, street_office, company, date, who } => {
            let act = who.act()?;
            let change = Move { street_office, company };
            Store::connect(db).await?.move_estate(&estate, &change, date, &act).await?
        }
    };
    print_change(&change, json)?;
    Ok(Outcome::Clean)
}

fn print_change(change: &RegistryChange, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(change)?);
        return Ok(());
    }
    let verb = match change.action.as_str() {
        "transfer" => "过户",
        "refund" => "退还",
        _ => "变更",
    };
    let done = if change.changed { "已登记" } else { "无变化" };
    println!("{verb}{done}（自 {} 起）：{}", change.effective_from, change.message);
    if let Some(entry) = &change.entry_id {
        println!("  记账凭证 {entry}{}", change.amount.map(|a| format!("，退还金额 {a}")).unwrap_or_default());
    }
    Ok(())
}

/// The records chain's line of `mfund verify`.
pub fn print_records(records: &RecordsOutcome) {
    match &records.first_break {
        None => println!("records chain intact: {} records; head {}", records.records_checked, records.head),
        Some(b) => {
            let at = b.seq.map_or_else(|| "outside the chain".to_owned(), |s| format!("seq {s}"));
            println!("records chain broken at {} `{}` ({at}): {}", b.kind, b.key, b.reason);
            println!("{} records before it verified", records.records_checked);
        }
    }
}
