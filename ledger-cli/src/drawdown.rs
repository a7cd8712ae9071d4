//! `mfund drawdown …`: the green channel and the normal route, one verb per transition.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use ledger_core::actor::{Actor, Role, Scope, StreetOfficeId};
use ledger_core::csvout::CsvOut;
use ledger_core::drawdown::{Act, Application, Category, Change, Route, ScopeRequest, State, Vote};
use ledger_core::{Date, Money};
use ledger_store::{DrawdownView, ListFilter, Store};

use crate::Outcome;

#[derive(Debug, Args)]
pub struct DrawdownArgs {
    #[command(subcommand)]
    pub verb: Verb,
    /// A public holiday (YYYY-MM-DD) not counted as a working day; repeat for several.
    #[arg(long = "holiday", global = true, value_parser = parse_date)]
    pub holidays: Vec<Date>,
    /// The day the action happens (default: today, China Standard Time).
    #[arg(long, global = true, value_parser = parse_date)]
    pub date: Option<Date>,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// File an application: scope, category, estimate, contractor.
    Apply(ApplyArgs),
    /// The estate's street office approves (normal route: after the owners' vote passed).
    Approve(DecideArgs),
    /// The estate's street office rejects, with a reason.
    Reject(DecideArgs),
    /// The estate's street office approves a revised estimate (a final cost more than 10 % over
    /// the approved estimate needs one).
    Revise {
        #[arg(long)]
        id: String,
        #[arg(long, value_parser = parse_money)]
        estimate: Money,
        /// The acting street office, as street_office:<name>.
        #[arg(long = "as")]
        actor: String,
        /// The person who decided for the street office (default: the office's name).
        #[arg(long)]
        by: Option<String>,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Pay up to 50 % of the approved estimate now.
    Advance {
        #[arg(long)]
        id: String,
        #[arg(long, value_parser = parse_money)]
        amount: Money,
        #[arg(long = "as", default_value = "clerk")]
        actor: String,
    },
    /// Record completion acceptance with the final cost (≤ 110 % of the estimate).
    Complete {
        #[arg(long)]
        id: String,
        #[arg(long = "final-cost", value_parser = parse_money)]
        final_cost: Money,
        #[arg(long = "as", default_value = "clerk")]
        actor: String,
    },
    /// Pay the rest of the final cost.
    Settle {
        #[arg(long)]
        id: String,
        #[arg(long = "as", default_value = "clerk")]
        actor: String,
    },
    /// Withdraw an application before any payment.
    Cancel {
        #[arg(long)]
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long = "as", default_value = "clerk")]
        actor: String,
    },
    /// Record a unit's vote (normal route): yes, no or abstain.
    Vote {
        #[arg(long)]
        id: String,
        #[arg(long)]
        unit: String,
        #[arg(long, value_parser = parse_vote)]
        vote: Vote,
        /// Who records the owner's vote (the event's actor; the unit is in the action).
        #[arg(long = "as", default_value = "clerk")]
        actor: String,
    },
    /// Count the owners' vote against Civil Code art. 278.
    Tally {
        #[arg(long)]
        id: String,
    },
    /// Everything about one drawdown.
    Show {
        #[arg(long)]
        id: String,
    },
    /// Drawdowns by state, estate or street office; --overdue for late green-channel decisions.
    List {
        #[arg(long, value_parser = parse_state)]
        state: Option<State>,
        #[arg(long)]
        estate: Option<String>,
        #[arg(long = "street-office")]
        street_office: Option<String>,
        #[arg(long)]
        overdue: bool,
    },
    /// The public notice (公示): the work, the cost and every unit's share.
    Notice {
        #[arg(long)]
        id: String,
        /// Also write the notice as CSV here.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The application's id: repeating the same application changes nothing.
    #[arg(long)]
    pub id: String,
    #[arg(long)]
    pub estate: String,
    /// One building of the estate (default: the whole estate).
    #[arg(long, conflicts_with = "units")]
    pub building: Option<String>,
    /// A comma-separated list of units of the estate.
    #[arg(long, value_delimiter = ',')]
    pub units: Option<Vec<String>>,
    /// fire_pipe_network, fire_water_system, water_supply, elevator, roof_leak, facade, drainage
    /// (emergencies), or exterior_painting, security_system, roads_and_parking, other.
    #[arg(long, value_parser = parse_category)]
    pub category: Category,
    #[arg(long, value_parser = parse_money)]
    pub estimate: Money,
    #[arg(long)]
    pub contractor: String,
    #[arg(long, default_value = "")]
    pub description: String,
    #[arg(long)]
    pub applicant: String,
    /// Who enters the application (a clerk), recorded in its history (default: the applicant).
    #[arg(long = "as")]
    pub actor: Option<String>,
    /// Ask for the green channel (emergency categories only): no vote, the street office decides.
    #[arg(long)]
    pub green_channel: bool,
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    #[arg(long)]
    pub id: String,
    /// The acting street office, as street_office:<name>.
    #[arg(long = "as")]
    pub actor: String,
    /// The person who decided for the street office (default: the office's name).
    #[arg(long)]
    pub by: Option<String>,
    #[arg(long, default_value = "")]
    pub reason: String,
}

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text).map_err(|e| e.to_string())
}

fn parse_money(text: &str) -> Result<Money, String> {
    Money::parse(text).map_err(|e| e.to_string())
}

fn parse_category(text: &str) -> Result<Category, String> {
    Category::parse(text).ok_or_else(|| {
        let all: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        format!("expected one of {}", all.join(", "))
    })
}

fn parse_vote(text: &str) -> Result<Vote, String> {
    Vote::parse(text).ok_or_else(|| "expected yes, no or abstain".to_owned())
}

fn parse_state(text: &str) -> Result<State, String> {
    State::parse(text)
        .ok_or_else(|| "expected submitted, approved, rejected, advanced, completed, settled or cancelled".to_owned())
}

/// The street office a decision is entered for (`--as street_office:<name>`), and the person
/// who decided (`--by`, else the office's name).
fn street_office(actor: &str, by: Option<&str>) -> anyhow::Result<Actor> {
    match actor.strip_prefix("street_office:") {
        Some(name) if !name.trim().is_empty() => {
            let office = Scope::StreetOffice(StreetOfficeId::new(name));
            Ok(Actor::new(by.unwrap_or(name), Role::StreetOffice, office)?)
        }
        _ => bail!("--as must name the acting street office as street_office:<name>, found `{actor}`"),
    }
}

/// A clerk of the authority, by name (`--as`).
fn clerk(name: &str) -> anyhow::Result<Actor> {
    Ok(Actor::city(name, Role::Clerk)?)
}

pub async fn run(db: &str, args: DrawdownArgs, json: bool) -> anyhow::Result<Outcome> {
    let store = Store::connect(db).await?;
    let at = args.date.unwrap_or_else(ledger_store::today);
    let holidays: BTreeSet<Date> = args.holidays.iter().copied().collect();
    let act = |actor: Actor, reason: &str| Act { actor, at, reason: reason.to_owned() };
    let change = match args.verb {
        Verb::Apply(a) => {
            let scope = match (a.building, a.units) {
                (Some(b), _) => ScopeRequest::Building(b),
                (_, Some(units)) => ScopeRequest::Units(units),
                _ => ScopeRequest::Estate,
            };
            let route = if a.green_channel { Route::GreenChannel } else { Route::Normal };
            let application = Application {
                drawdown_id: a.id,
                estate_id: a.estate,
                scope,
                category: a.category,
                route,
                estimate: a.estimate,
                contractor: a.contractor,
                description: a.description,
                applicant: a.applicant.clone(),
                submitted_on: at,
            };
            let entered_by = a.actor.as_deref().unwrap_or(&a.applicant);
            store.apply_drawdown(&application, &act(clerk(entered_by)?, "")).await?
        }
        Verb::Approve(d) => {
            store.decide_drawdown(&d.id, true, &act(street_office(&d.actor, d.by.as_deref())?, &d.reason)).await?
        }
        Verb::Reject(d) => {
            store.decide_drawdown(&d.id, false, &act(street_office(&d.actor, d.by.as_deref())?, &d.reason)).await?
        }
        Verb::Revise { id, estimate, actor: who, by, reason } => {
            store.revise_drawdown(&id, estimate, &act(street_office(&who, by.as_deref())?, &reason)).await?
        }
        Verb::Advance { id, amount, actor: who } => {
            store.advance_drawdown(&id, amount, &act(clerk(&who)?, "advance")).await?
        }
        Verb::Complete { id, final_cost, actor: who } => {
            store.complete_drawdown(&id, final_cost, &act(clerk(&who)?, "completion accepted")).await?
        }
        Verb::Settle { id, actor: who } => store.settle_drawdown(&id, &act(clerk(&who)?, "final payment")).await?,
        Verb::Cancel { id, reason, actor: who } => store.cancel_drawdown(&id, &act(clerk(&who)?, &reason)).await?,
        Verb::Vote { id, unit, vote, actor: who } => {
            store.vote_drawdown(&id, &unit, vote, &act(clerk(&who)?, "")).await?
        }
        Verb::Tally { id } => {
            let t = store.tally_drawdown(&id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&t)?);
            } else {
                let m2 = |centi: i64| format!("{}.{:02}", centi / 100, centi % 100);
                println!(
                    "area: {} of {} m² took part, {} m² yes",
                    m2(t.participating_area_centi_m2),
                    m2(t.total_area_centi_m2),
                    m2(t.yes_area_centi_m2)
                );
                println!("owners: {} of {} took part, {} yes", t.participating_owners, t.total_owners, t.yes_owners);
                println!(
                    "{}",
                    if t.passed { "PASSED (Civil Code art. 278)" } else { "NOT PASSED (Civil Code art. 278)" }
                );
            }
            return Ok(Outcome::Clean);
        }
        Verb::Show { id } => {
            let view = store.drawdown(&id, at, &holidays).await?;
            print_view(&view, json)?;
            return Ok(Outcome::Clean);
        }
        Verb::List { state, estate, street_office, overdue } => {
            let filter = ListFilter { state, estate_id: estate, street_office, company: None, overdue_only: overdue };
            let views = store.list_drawdowns(&filter, at, &holidays).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&views)?);
            } else {
                for v in &views {
                    let due = v.decision_due.map_or_else(String::new, |d| format!(" decide by {d}"));
                    let flag = if v.overdue { "  OVERDUE" } else { "" };
                    println!(
                        "{:<12} {:<10} {:<18} {:<10} {:>14} {}{due}{flag}",
                        v.drawdown_id, v.estate_id, v.category, v.state, v.estimate, v.street_office
                    );
                }
                println!("{} drawdowns", views.len());
            }
            return Ok(Outcome::Clean);
        }
        Verb::Notice { id, csv } => {
            let view = store.drawdown(&id, at, &holidays).await?;
            if let Some(path) = csv {
                std::fs::write(&path, notice_csv(&view)).with_context(|| format!("cannot write {}", path.display()))?;
            }
            print_notice(&view, json)?;
            return Ok(Outcome::Clean);
        }
    };
    print_change(&change, json)?;
    Ok(Outcome::Clean)
}

fn print_change(change: &Change, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(change)?);
        return Ok(());
    }
    println!("{} {}: {}", change.drawdown_id, change.action, change.message);
    if let Some(entry) = &change.entry_id {
        println!("  posted entry {entry}");
    }
    for s in &change.topup_required {
        println!(
            "  top-up required: {} charged {} with {} left, short by {}",
            s.unit_id, s.share, s.balance, s.missing
        );
    }
    Ok(())
}

fn print_view(v: &DrawdownView, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(v)?);
        return Ok(());
    }
    println!("{} — {} ({}), {} route, state {}", v.drawdown_id, v.category, v.description, v.route, v.state);
    println!("estate {} (street office {}), scope {}, {} units", v.estate_id, v.street_office, v.scope, v.units.len());
    println!(
        "estimate {}, final cost {}, paid {}",
        v.estimate,
        v.final_cost.map_or("-".to_owned(), |m| m.to_string()),
        v.paid
    );
    if let Some(due) = v.decision_due {
        println!("street office decides by {due}{}", if v.overdue { " — OVERDUE" } else { "" });
    }
    for e in &v.events {
        println!(
            "  {} {} by {} ({}{}){}",
            e.at,
            e.action,
            e.actor,
            e.role,
            if e.office.is_empty() { String::new() } else { format!(" of {}", e.office) },
            if e.reason.is_empty() { String::new() } else { format!(": {}", e.reason) }
        );
    }
    Ok(())
}

fn print_notice(v: &DrawdownView, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(v)?);
        return Ok(());
    }
    let cost = v.final_cost.unwrap_or(v.paid);
    println!("公示 PUBLIC NOTICE — use of the special maintenance fund");
    println!("Estate {}: {} ({}), contractor {}", v.estate_id, v.category, v.description, v.contractor);
    println!(
        "Route: {}; approved by street office {}; cost {}; paid from the fund {}",
        v.route, v.street_office, cost, v.paid
    );
    println!("{:<24} {:>10} {:>12}", "unit", "area m²", "share");
    for u in &v.units {
        println!("{:<24} {:>10} {:>12}", u.unit_id, u.floor_area.to_string(), u.charged.to_string());
    }
    println!("账本链头 ledger chain head: {} entries, {}", v.ledger_head.entries, v.ledger_head.head);
    Ok(())
}

fn notice_csv(v: &DrawdownView) -> String {
    let header = ["drawdown_id", "unit_id", "owner", "floor_area", "share"];
    let mut out = CsvOut::new(Vec::new(), &header).expect("writing to memory cannot fail");
    for u in &v.units {
        let row = [&v.drawdown_id, &u.unit_id, &u.owner, &u.floor_area.to_string(), &u.charged.to_string()];
        out.row(&row).expect("writing to memory cannot fail");
    }
    let bytes = out.finish().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("every field is text")
}
