//! `mfund rating …`: service ratings, credit and the red and black lists (SPEC §9).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use ledger_core::actor::{Actor, Role};
use ledger_core::csvout::CsvOut;
use ledger_core::rating::{
    decimal::fixed, EstateRating, ListAction, ListKind, ManualEntry, RatingBytes, Rules, YearResult, CHECKS_FILE,
    CREDIT_FILE, INDICATORS_FILE, TICKETS_FILE,
};
use ledger_core::Date;
use ledger_store::{Store, YearLists};

use crate::files::read_optional;
use crate::Outcome;

#[derive(Debug, Args)]
pub struct RatingArgs {
    #[command(subcommand)]
    pub verb: Verb,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Load rating_checks.csv, tickets.csv, credit_scores.csv and indicators.csv from a folder.
    ///
    /// Any of the files may be absent. Whole or nothing: the first error names file, line and
    /// column, and nothing is written. Rows already recorded identically are skipped, so
    /// importing the same files twice records nothing twice; a changed row is refused,
    /// showing the stored one beside it.
    Import {
        /// Folder holding the CSV files.
        #[arg(long)]
        dir: PathBuf,
        /// A rules file (TOML) to check before importing; see `rating publish --rules`.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// The clerk who imports, recorded with the rows.
        #[arg(long = "as", default_value = "clerk")]
        actor: String,
    },
    /// Publish a year's ratings once: stars, grades, rectification orders, lists, fee floats.
    ///
    /// Computed from the stored checks, tickets and credit scores and kept with the rules used.
    /// Publishing the year again changes nothing, and checks recorded later change no figure.
    Publish {
        #[arg(long)]
        year: i32,
        /// The day of publication (YYYY-MM-DD); orders are due 3 months after it.
        #[arg(long, value_parser = parse_date)]
        date: Date,
        /// The city's rules (TOML, the names of SPEC §9); absent names keep the defaults.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// The admin who publishes.
        #[arg(long = "as")]
        actor: String,
    },
    /// A published year: a table sorted by annual total, or JSON (--json), CSV or XLSX.
    Report {
        #[arg(long)]
        year: i32,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write here instead of the terminal (required for xlsx).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// One estate: its published years, its orders' outcomes today and its checked months.
    Estate {
        #[arg(long)]
        id: String,
        /// Judge orders on this day instead of today (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<Date>,
    },
    /// The red and black lists in force for a year, with the rule behind each entry.
    Lists {
        #[arg(long)]
        year: i32,
    },
    /// Add a company to a list or remove it by hand, with a reason (nothing is deleted).
    List {
        #[arg(value_enum)]
        action: Action,
        #[arg(long)]
        company: String,
        #[arg(long)]
        year: i32,
        /// red or black.
        #[arg(long, value_parser = parse_list)]
        list: ListKind,
        #[arg(long)]
        reason: String,
        /// The clerk who decides, recorded with the entry.
        #[arg(long = "as")]
        actor: String,
        /// The day of the decision (default: today).
        #[arg(long, value_parser = parse_date)]
        date: Option<Date>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Csv,
    Xlsx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Action {
    Add,
    Remove,
}

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text).map_err(|e| e.to_string())
}

fn parse_list(text: &str) -> Result<ListKind, String> {
    ListKind::parse(text).ok_or_else(|| format!("expected red or black, found `{text}`"))
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The rules file's rules and text, or the defaults and "".
fn read_rules(path: Option<&Path>) -> anyhow::Result<(Rules, String)> {
    let Some(path) = path else { return Ok((Rules::default(), String::new())) };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    Ok((Rules::from_toml(&name, &text)?, text))
}

pub async fn run(db: &str, args: RatingArgs, json: bool) -> anyhow::Result<Outcome> {
    match args.verb {
        Verb::Import { dir, rules, actor } => import(db, &dir, rules.as_deref(), &actor, json).await,
        Verb::Publish { year, date, rules, actor } => publish(db, year, date, rules.as_deref(), &actor, json).await,
        Verb::Report { year, format, out } => report(db, year, format, out.as_deref(), json).await,
        Verb::Estate { id, as_of } => estate(db, &id, as_of, json).await,
        Verb::Lists { year } => {
            let lists = Store::connect(db).await?.rating_lists(year).await?;
            print_lists(&lists, json)
        }
        Verb::List { action, company, year, list, reason, actor, date } => {
            let action = match action {
                Action::Add => ListAction::Add,
                Action::Remove => ListAction::Remove,
            };
            let clerk = Actor::city(&actor, Role::Clerk)?;
            let on = date.unwrap_or_else(ledger_store::today);
            let entry = ManualEntry { company, year, list, action, reason, by: actor, on };
            let lists = Store::connect(db).await?.add_list_entry(&entry, &clerk).await?;
            print_lists(&lists, json)
        }
    }
}

async fn import(db: &str, dir: &Path, rules: Option<&Path>, actor: &str, json: bool) -> anyhow::Result<Outcome> {
    read_rules(rules)?;
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let files = RatingBytes {
        indicators: read_optional(dir, INDICATORS_FILE)?,
        checks: read_optional(dir, CHECKS_FILE)?,
        tickets: read_optional(dir, TICKETS_FILE)?,
        credit_scores: read_optional(dir, CREDIT_FILE)?,
    };
    let clerk = Actor::city(actor, Role::Clerk)?;
    let store = Store::connect(db).await?;
    let outcome =
        store.import_ratings(&files, &clerk).await?.map_err(|e| anyhow::anyhow!("{e}\nnothing was written"))?;
    store.close().await;
    if json {
        return print_json(&outcome).map(|_| Outcome::Clean);
    }
    println!(
        "已导入 {} 次月度考评、{} 张工单、{} 个信用分{}；{} 条已存在，未重复记录",
        outcome.checks,
        outcome.tickets,
        outcome.credit_scores,
        if outcome.catalogue { "，并启用 indicators.csv 的指标体系" } else { "" },
        outcome.already_stored
    );
    if !outcome.after_publication.is_empty() {
        println!(
            "注意：{} 次考评属于已公布年度（{}），已记录，但不改变已公布的结果",
            outcome.after_publication.len(),
            outcome.after_publication.join("、")
        );
    }
    Ok(Outcome::Clean)
}

async fn publish(
    db: &str,
    year: i32,
    date: Date,
    rules: Option<&Path>,
    actor: &str,
    json: bool,
) -> anyhow::Result<Outcome> {
    let (rules, text) = read_rules(rules)?;
    let admin = Actor::city(actor, Role::Admin)?;
    let store = Store::connect(db).await?;
    let published = store.publish_ratings(year, date, &rules, &text, &admin).await?;
    store.close().await;
    if json {
        return print_json(&published.result).map(|_| Outcome::Clean);
    }
    let r = &published.result;
    if published.newly {
        println!("{year} 年度考评已于 {} 公布（{}）", r.published_on, published.published_by);
    } else {
        println!(
            "{year} 年度考评已于 {} 由 {} 公布，结果不变（本次未作任何更改）",
            r.published_on, published.published_by
        );
    }
    let rated = r.estates.iter().filter(|e| e.stars.is_some()).count();
    let orders = r.estates.iter().filter(|e| e.order.is_some()).count();
    let count = |list| r.companies.iter().filter(|c| c.list == Some(list)).count();
    println!(
        "评定 {rated} 个小区，整改通知 {orders} 份；红名单 {} 家，黑名单 {} 家",
        count(ListKind::Red),
        count(ListKind::Black)
    );
    Ok(Outcome::Clean)
}

async fn published(db: &str, year: i32) -> anyhow::Result<YearResult> {
    let store = Store::connect(db).await?;
    let year_result = store.rating_year(year).await?;
    store.close().await;
    match year_result {
        Some(p) => Ok(p.result),
        None => bail!("year {year} is not published: `mfund rating publish --year {year} --date …` publishes it"),
    }
}

fn score(value: Option<rust_decimal::Decimal>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| fixed(v, 2))
}

/// Estates by annual total, highest first; unrated ones last, by id.
fn by_total(result: &YearResult) -> Vec<&EstateRating> {
    let mut estates: Vec<&EstateRating> = result.estates.iter().collect();
    estates.sort_by(|a, b| b.annual_total.cmp(&a.annual_total).then_with(|| a.estate_id.cmp(&b.estate_id)));
    estates
}

const CSV_HEADER: &[&str] = &[
    "estate_id",
    "company",
    "q1",
    "q2",
    "q3",
    "q4",
    "credit_score",
    "annual_total",
    "stars",
    "fee_float_pct",
    "order_due",
    "order_outcome",
];

fn csv_row(e: &EstateRating) -> Vec<String> {
    let opt = |v: Option<rust_decimal::Decimal>| v.map_or_else(String::new, |v| fixed(v, 2));
    let mut row = vec![e.estate_id.clone(), e.company.clone()];
    row.extend(e.quarters.iter().map(|q| opt(*q)));
    row.push(opt(e.credit_score));
    row.push(opt(e.annual_total));
    row.push(e.stars.map_or_else(String::new, |s| s.to_string()));
    row.push(e.fee_float_pct.map_or_else(String::new, |f| f.to_string()));
    row.push(e.order.as_ref().map_or_else(String::new, |o| o.due.to_string()));
    row.push(e.order.as_ref().map_or_else(String::new, |o| o.outcome.as_str().to_owned()));
    row
}

async fn report(db: &str, year: i32, format: Format, out: Option<&Path>, json: bool) -> anyhow::Result<Outcome> {
    let result = published(db, year).await?;
    if json {
        let text = serde_json::to_string_pretty(&result)?;
        match out {
            Some(path) => {
                std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?
            }
            None => println!("{text}"),
        }
        return Ok(Outcome::Clean);
    }
    match format {
        Format::Text => {
            let text = text_report(&result);
            match out {
                Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{text}"),
            }
        }
        Format::Csv => {
            let mut bytes = Vec::new();
            let mut csv = CsvOut::new(&mut bytes, CSV_HEADER)?;
            for e in by_total(&result) {
                csv.row(&csv_row(e))?;
            }
            csv.finish()?;
            match out {
                Some(path) => {
                    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?
                }
                None => print!("{}", String::from_utf8_lossy(&bytes)),
            }
        }
        Format::Xlsx => {
            let Some(path) = out else { bail!("--format xlsx needs --out FILE") };
            write_xlsx(&result, path)?;
        }
    }
    Ok(Outcome::Clean)
}

fn text_report(result: &YearResult) -> String {
    let mut t = format!("{} 年度物业服务考评（{} 公布）\n\n", result.year, result.published_on);
    t.push_str(&format!(
        "{:<4} {:<14} {:<16} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} {:>4} {:>6}  {}\n",
        "名次",
        "小区",
        "物业公司",
        "一季度",
        "二季度",
        "三季度",
        "四季度",
        "信用分",
        "年度总分",
        "星级",
        "费浮动",
        "整改"
    ));
    for (k, e) in by_total(result).iter().enumerate() {
        let stars = e.stars.map_or_else(|| "未评".to_owned(), |s| "★".repeat(s as usize));
        let float = e.fee_float_pct.map_or_else(|| "-".to_owned(), |f| format!("{f:+}%"));
        let order = e.order.as_ref().map_or_else(String::new, |o| format!("{} 前（{}）", o.due, o.outcome.name_zh()));
        t.push_str(&format!(
            "{:<4} {:<14} {:<16} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} {:>5} {:>6}  {order}\n",
            k + 1,
            e.estate_id,
            e.company,
            score(e.quarters[0]),
            score(e.quarters[1]),
            score(e.quarters[2]),
            score(e.quarters[3]),
            score(e.credit_score),
            score(e.annual_total),
            stars,
            float
        ));
    }
    t.push_str("\n企业等级\n");
    for c in &result.companies {
        let list = c.list.map_or_else(String::new, |l| format!("  {}：{}", l.name_zh(), c.list_rules.join("；")));
        t.push_str(&format!(
            "  {:<16} 评定小区 {:>3}  面积 {:>12} m²  加权总分 {:>7}  {}{list}\n",
            c.company,
            c.estates,
            c.floor_area,
            score(c.weighted_total),
            c.grade.map_or("未评", |g| g.name_zh())
        ));
    }
    t
}

fn write_xlsx(result: &YearResult, path: &Path) -> anyhow::Result<()> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name(format!("{}年度考评", result.year))?;
    for (c, name) in CSV_HEADER.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *name, &bold)?;
    }
    for (r, e) in by_total(result).iter().enumerate() {
        for (c, cell) in csv_row(e).into_iter().enumerate() {
            // Scores as text: exact as published, never through binary floating point.
            sheet.write_string(r as u32 + 1, c as u16, cell)?;
        }
    }
    let companies = workbook.add_worksheet();
    companies.set_name("企业等级")?;
    for (c, name) in
        ["company", "estates", "floor_area", "weighted_total", "grade", "list", "list_rules"].iter().enumerate()
    {
        companies.write_string_with_format(0, c as u16, *name, &bold)?;
    }
    for (r, c) in result.companies.iter().enumerate() {
        let row = [
            c.company.clone(),
            c.estates.to_string(),
            c.floor_area.clone(),
            c.weighted_total.map_or_else(String::new, |t| fixed(t, 2)),
            c.grade.map_or_else(String::new, |g| g.as_str().to_owned()),
            c.list.map_or_else(String::new, |l| l.as_str().to_owned()),
            c.list_rules.join("; "),
        ];
        for (k, cell) in row.into_iter().enumerate() {
            companies.write_string(r as u32 + 1, k as u16, cell)?;
        }
    }
    workbook.save(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

async fn estate(db: &str, id: &str, as_of: Option<Date>, json: bool) -> anyhow::Result<Outcome> {
    let store = Store::connect(db).await?;
    let view = store.estate_rating(id, as_of.unwrap_or_else(ledger_store::today)).await?;
    store.close().await;
    if json {
        return print_json(&view).map(|_| Outcome::Clean);
    }
    println!("小区 {}（{}，{}）", view.estate_id, view.company, view.street_office);
    for y in &view.years {
        let r = &y.rating;
        println!(
            "  {} 年度：总分 {}，{}，物业费浮动 {}",
            y.year,
            score(r.annual_total),
            r.stars.map_or_else(|| "未评".to_owned(), |s| format!("{s} 星")),
            r.fee_float_pct.map_or_else(|| "-".to_owned(), |f| format!("{f:+}%"))
        );
        if let (Some(order), Some(outcome)) = (&r.order, y.order_outcome_now) {
            println!("    整改通知：{} 前完成；截至 {}：{}", order.due, view.as_of, outcome.name_zh());
        }
    }
    for m in &view.months {
        let tickets =
            m.response_from_tickets.as_ref().map_or_else(String::new, |r| format!("（响应时限按工单计 {r} 分）"));
        println!("  {} 月度考评 {}：{} 分{tickets}", m.month, m.check_id, m.total);
    }
    Ok(Outcome::Clean)
}

fn print_lists(lists: &YearLists, json: bool) -> anyhow::Result<Outcome> {
    if json {
        return print_json(lists).map(|_| Outcome::Clean);
    }
    if !lists.published {
        println!("{} 年度考评尚未公布；以下仅为人工记录", lists.year);
    }
    for list in [ListKind::Red, ListKind::Black] {
        let entries: Vec<_> = lists.in_force.iter().filter(|l| l.list == list).collect();
        println!("{} {}（{} 家）", lists.year, list.name_zh(), entries.len());
        for l in entries {
            println!("  {}：{}", l.company, l.rules.join("；"));
        }
    }
    for e in &lists.manual_entries {
        let verb = if e.action == ListAction::Add { "列入" } else { "移出" };
        println!("  记录：{} {} {verb}{}，理由：{}（{}）", e.on, e.company, e.list.name_zh(), e.reason, e.by);
    }
    Ok(Outcome::Clean)
}

/// The demo's ratings: the generated year imported as a clerk, published as an admin.
pub async fn demo(db: &str, city_dir: &Path) -> anyhow::Result<YearResult> {
    let files = RatingBytes {
        indicators: None,
        checks: read_optional(city_dir, CHECKS_FILE)?,
        tickets: read_optional(city_dir, TICKETS_FILE)?,
        credit_scores: read_optional(city_dir, CREDIT_FILE)?,
    };
    let store = Store::connect(db).await?;
    store.import_ratings(&files, &Actor::city("clerk", Role::Clerk)?).await?.map_err(|e| anyhow::anyhow!("{e}"))?;
    let year = ledger_gen::RATING_YEAR;
    let on = Date::from_ymd(year + 1, 1, 20).expect("a date");
    let admin = Actor::city("admin", Role::Admin)?;
    let published = store.publish_ratings(year, on, &Rules::default(), "", &admin).await?;
    store.close().await;
    Ok(published.result)
}

pub fn print_demo(result: &YearResult) {
    let mut stars = [0usize; 6];
    for e in &result.estates {
        stars[e.stars.map_or(0, usize::from)] += 1;
    }
    println!(
        "\n8. Service ratings {} published on {}: ★5 {} · ★4 {} · ★3 {} · ★2 {} · ★1 {} estates ({} not rated); {} rectification orders.",
        result.year,
        result.published_on,
        stars[5],
        stars[4],
        stars[3],
        stars[2],
        stars[1],
        stars[0],
        result.estates.iter().filter(|e| e.order.is_some()).count()
    );
    for c in &result.companies {
        if let Some(list) = c.list {
            println!("   {}：{}（{}）", list.name_zh(), c.company, c.list_rules.join("；"));
        }
    }
}
