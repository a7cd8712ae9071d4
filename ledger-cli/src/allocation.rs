//! `mfund allocate` (结息到户, SPEC §6) and `mfund topup notices` (续筹, SPEC §7).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use ledger_core::actor::{Actor, Role};
use ledger_core::allocation::topup::Notice;
use ledger_core::allocation::{Allocation, AllocationScope, Method, Outcome, Request, Status, WithholdRate};
use ledger_core::csvout::CsvOut;
use ledger_core::{Account, Date, Money};
use ledger_store::{Store, TopupFilter};

use crate::{progress, Outcome as Exit};

/// `mfund allocate`: what the clerk typed.
#[derive(Debug, Args)]
pub struct AllocateArgs {
    /// The account whose income is allocated: income:interest (增值收益, the bank's interest) or
    /// income:common (公共收益, net income of shared parts).
    #[arg(long)]
    pub source: String,
    /// The allocation's date D (YYYY-MM-DD): the entry is dated D, and the whole balance of the
    /// source as of D is allocated unless --amount says otherwise.
    #[arg(long, value_parser = parse_date)]
    pub date: Date,
    /// The entry's id, the idempotency key: the same allocation again posts nothing and shows the
    /// first result; the same id with other parameters is refused, showing both.
    #[arg(long = "entry-id")]
    pub entry_id: String,
    /// balance-days (积数: Σ of each day's non-negative balance, the default for income:interest),
    /// area (floor area, the default for income:common) or closing-balance (balance at the end of T).
    #[arg(long, value_parser = parse_method)]
    pub method: Option<Method>,
    /// First day F of the period (default: the day after the last allocation's T from the same
    /// source, or the earliest journal date for the first one). Not for --method area.
    #[arg(long, value_parser = parse_date)]
    pub from: Option<Date>,
    /// Last day T of the period (default: D). Not for --method area.
    #[arg(long, value_parser = parse_date)]
    pub to: Option<Date>,
    /// Allocate this much (yuan, e.g. 1234.56) instead of the whole balance; required with
    /// --estate or --building. More than the balance, zero or a negative amount is refused.
    #[arg(long, value_parser = parse_money, allow_negative_numbers = true)]
    pub amount: Option<Money>,
    /// Keep round_half_up(amount × R) in the source (0 ≤ R < 1, at most 6 decimals), e.g. 0.0185
    /// for next year's management costs; the rest is allocated.
    #[arg(long = "withhold-rate", value_parser = parse_rate, allow_negative_numbers = true)]
    pub withhold_rate: Option<WithholdRate>,
    /// Only the units of this estate take part (needs --amount).
    #[arg(long, conflicts_with = "building")]
    pub estate: Option<String>,
    /// Only the units of this building take part (needs --amount).
    #[arg(long)]
    pub building: Option<String>,
    /// Compute and print, post nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also write `unit_id,weight,share` here, for the owners' notice.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Who allocates (a clerk of the authority), for the record.
    #[arg(long = "as")]
    pub actor: String,
}

/// `mfund topup …`.
#[derive(Debug, Args)]
pub struct TopupArgs {
    #[command(subcommand)]
    pub verb: TopupVerb,
}

#[derive(Debug, Subcommand)]
pub enum TopupVerb {
    /// Every unit whose balance is below 30 % of its first deposit, with the amount due to bring
    /// it back to the first deposit (续筹通知).
    Notices {
        /// Balances and first deposits as of the end of this day (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        as_of: Date,
        /// Only this estate's units.
        #[arg(long)]
        estate: Option<String>,
        /// Also write `unit_id,owner,first_deposit,balance,due` here.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text).map_err(|e| e.to_string())
}

fn parse_money(text: &str) -> Result<Money, String> {
    Money::parse(text).map_err(|e| e.to_string())
}

fn parse_rate(text: &str) -> Result<WithholdRate, String> {
    WithholdRate::parse(text).map_err(|e| e.to_string())
}

fn parse_method(text: &str) -> Result<Method, String> {
    Method::parse(text).ok_or_else(|| "expected balance-days, area or closing-balance".to_owned())
}

impl AllocateArgs {
    /// The request, checked for what can be judged before the database is opened.
    pub fn request(&self) -> anyhow::Result<Request> {
        let source: Account = self.source.parse().with_context(|| format!("--source `{}`", self.source))?;
        let scope = match (&self.estate, &self.building) {
            (Some(e), _) => AllocationScope::Estate(e.clone()),
            (_, Some(b)) => AllocationScope::Building(b.clone()),
            _ => AllocationScope::City,
        };
        Ok(Request {
            source,
            date: self.date,
            entry_id: self.entry_id.clone(),
            method: self.method,
            from: self.from,
            to: self.to,
            amount: self.amount,
            withhold_rate: self.withhold_rate,
            scope,
        })
    }
}

pub async fn allocate(db: &str, args: AllocateArgs, json: bool) -> anyhow::Result<Exit> {
    let request = args.request()?;
    let actor = Actor::city(&args.actor, Role::Clerk)?;
    let outcome = run_allocation(db, &request, &actor, args.dry_run).await?;
    if let Some(path) = &args.csv {
        write_atomically(path, &shares_csv(&outcome.allocation)?)?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&outcome.allocation)?);
    } else {
        print_summary(&outcome);
    }
    Ok(Exit::Clean)
}

/// Opens the database and allocates (or plans, for a dry run), with a spinner on a terminal.
pub async fn run_allocation(db: &str, request: &Request, actor: &Actor, dry_run: bool) -> anyhow::Result<Outcome> {
    let store = Store::connect(db).await?;
    let spinner = progress::spinner("allocating");
    let outcome = store.allocate(request, actor, ledger_store::today(), dry_run).await;
    spinner.finish_and_clear();
    store.close().await;
    Ok(outcome?)
}

/// The summary in Chinese: what was posted, how much was kept, how many units, the range.
pub fn print_summary(outcome: &Outcome) {
    let a = &outcome.allocation;
    let status = match outcome.status {
        Status::Posted => "已入账",
        Status::AlreadyPosted => "此前已入账，本次未重复入账（以下为首次结果）",
        Status::DryRun => "试算（--dry-run），未入账",
    };
    let period = match (a.from, a.to) {
        (Some(from), Some(to)) => format!("，期间 {from} 至 {to}"),
        _ => String::new(),
    };
    println!("收益分配 {}：{status}", a.entry_id);
    println!("  来源科目 {}，{}{period}", a.source, a.method.describe());
    println!("  分配基数 {}，留存 {}，分配到户 {}", a.amount, a.withheld, a.allocated);
    let (smallest, largest) = a.share_range().unwrap_or((Money::ZERO, Money::ZERO));
    println!("  入账户数 {}（权重总计 {}），最小份额 {}，最大份额 {}", a.units, a.weights_total, smallest, largest);
}

fn shares_csv(a: &Allocation) -> anyhow::Result<Vec<u8>> {
    let mut out = CsvOut::new(Vec::new(), &["unit_id", "weight", "share"])?;
    for s in &a.shares {
        out.row(&[s.unit_id.as_str(), &s.weight.to_string(), &s.share.to_string()])?;
    }
    Ok(out.finish()?)
}

/// Writes to a temporary file beside `path`, then renames: a reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut temp =
        tempfile::NamedTempFile::new_in(folder).with_context(|| format!("cannot write into {}", folder.display()))?;
    std::io::Write::write_all(&mut temp, bytes)?;
    temp.persist(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub async fn topup(db: &str, args: TopupArgs, json: bool) -> anyhow::Result<Exit> {
    let TopupVerb::Notices { as_of, estate, csv } = args.verb;
    let store = Store::connect(db).await?;
    let filter = TopupFilter { as_of, estate_id: estate.clone() };
    let found = store.topup_notices(&filter).await?;
    store.close().await;
    let Some(notices) = found else { bail!("estate `{}` is not registered", estate.unwrap_or_default()) };
    if let Some(path) = &csv {
        write_atomically(path, &notices_csv(&notices)?)?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&notices)?);
        return Ok(Exit::Clean);
    }
    let due = notices.iter().try_fold(Money::ZERO, |sum, n| sum.checked_add(n.due))?;
    println!("续筹通知（截至 {as_of}）：{} 户余额低于首次缴存的 30%，应续筹合计 {due}", notices.len());
    println!("{:<24} {:<12} {:>12} {:>12} {:>12}", "户号", "业主", "首次缴存", "余额", "应续筹");
    for n in &notices {
        println!("{:<24} {:<12} {:>12} {:>12} {:>12}", n.unit_id, n.owner, n.first_deposit, n.balance, n.due);
    }
    Ok(Exit::Clean)
}

fn notices_csv(notices: &[Notice]) -> anyhow::Result<Vec<u8>> {
    let mut out = CsvOut::new(Vec::new(), &["unit_id", "owner", "first_deposit", "balance", "due"])?;
    for n in notices {
        let money = [n.first_deposit.to_string(), n.balance.to_string(), n.due.to_string()];
        out.row(&[n.unit_id.as_str(), &n.owner, &money[0], &money[1], &money[2]])?;
    }
    Ok(out.finish()?)
}

/// The demo's year of interest (结息到户): the bank's interest for the year is posted to
/// income:interest when the city holds none unallocated, then allocated by 积数 over the year
/// up to `today`. `city_fen`: the units' total, on which the interest is reckoned.
pub async fn demo_interest(db: &str, folder: &Path, city_fen: i64, today: Date) -> anyhow::Result<Outcome> {
    let clerk = Actor::city("clerk", Role::Clerk)?;
    let request = Request {
        source: Account::InterestIncome,
        date: today,
        entry_id: format!("DEMO-ALLOC-{today}"),
        method: Some(Method::BalanceDays),
        from: Some(today.add_days(-364)),
        to: None,
        amount: None,
        withhold_rate: None,
        scope: AllocationScope::City,
    };
    let store = Store::connect(db).await?;
    let planned = store.allocate(&request, &clerk, today, true).await;
    store.close().await;
    if let Err(ledger_store::StoreError::Allocation(ledger_core::allocation::AllocationError::NoBalance { .. })) =
        planned
    {
        post_demo_interest(db, folder, city_fen, today).await?;
    }
    run_allocation(db, &request, &clerk, false).await
}

/// Imports one `interest` entry: the bank's yearly interest at 0.35 % (a demand-deposit rate,
/// rounded down to the fen) credited to income:interest.
async fn post_demo_interest(db: &str, folder: &Path, city_fen: i64, today: Date) -> anyhow::Result<()> {
    let interest = Money::from_fen((city_fen.max(0) as i128 * 35 / 10_000) as i64);
    if !interest.is_positive() {
        bail!("the demo city holds nothing to earn interest on");
    }
    let dir = folder.join("interest");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let id = format!("DEMO-INT-{today}");
    let mut out = CsvOut::new(Vec::new(), &["entry_id", "date", "kind", "account", "debit", "credit", "memo"])?;
    let (date, amount) = (today.to_string(), interest.to_string());
    out.row(&[id.as_str(), &date, "interest", ledger_gen::BANK_ACCOUNT, &amount, "", "年度结息"])?;
    out.row(&[id.as_str(), &date, "interest", "income:interest", "", &amount, ""])?;
    std::fs::write(dir.join("journal.csv"), out.finish()?).context("cannot write the interest journal")?;
    let clerk = ledger_store::ImportBy::clerk("clerk")?;
    crate::commands::import_files(db, &dir, &clerk).await.map(|_| ())
}
