//! One function per verb: open what it needs, do the work, print the human or JSON result.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ledger_core::actor::{Actor, CompanyId, Role, Scope, StreetOfficeId};
use ledger_core::drawdown::{Act, Application, ScopeRequest};
use ledger_core::drawdown::{Category, Route};
use ledger_core::Money;
use ledger_gen::{GenOptions, GenSummary};
use ledger_store::{BalanceScope, BankAddedBy, DrawdownView, ImportBy, ImportOutcome, Store, StoreError};
use serde::Serialize;

use crate::args::{BalanceArgs, BankVerb, Cli, Command, GenArgs, ReconcileArgs};
use crate::{files, progress, Outcome};

pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let json = cli.json;
    match cli.command {
        Command::Init { banks, actor } => init(&cli.db, &banks, actor.as_deref(), json).await,
        Command::Import { dir, migration, actor } => {
            let by = import_by(migration, actor.as_deref())?;
            import(&cli.db, &dir, &by, json).await.map(|_| Outcome::Clean)
        }
        Command::Bank { verb } => bank(&cli.db, verb, json).await,
        Command::Serve { addr, holidays } => serve(&cli.db, &addr, holidays).await,
        Command::User { verb } => user(&cli.db, verb, json).await,
        Command::Drawdown(args) => crate::drawdown::run(&cli.db, args, json).await,
        Command::Estate(args) => crate::estate::run(&cli.db, args, json).await,
        Command::Rating(args) => crate::rating::run(&cli.db, args, json).await,
        Command::Reconcile(args) => crate::reconcile::run(&cli.db, args, json).await,
        Command::Balance(args) => balance(&cli.db, args, json).await,
        Command::Verify { expect_head } => verify(&cli.db, expect_head, json).await,
        Command::Gen(args) => gen(args, json),
        Command::Demo { out } => demo(out, json).await,
        Command::Allocate(args) => crate::allocation::allocate(&cli.db, args, json).await,
        Command::Topup(args) => crate::allocation::topup(&cli.db, args, json).await,
    }
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn open(db: &str) -> anyhow::Result<Store> {
    Ok(Store::connect(db).await?)
}

async fn serve(db: &str, addr: &str, holidays: Vec<ledger_core::Date>) -> anyhow::Result<Outcome> {
    // The server's log (internal errors, answers that could not be kept) goes to stderr.
    let _ = tracing_subscriber::fmt().with_writer(std::io::stderr).with_target(false).try_init();
    let store = open(db).await?;
    eprintln!(
        "mfund: serving the API on http://{addr}/api/v1 and the street office's page on http://{addr}/ ({})",
        store.engine()
    );
    let state = ledger_api::AppState::new(store, holidays.into_iter().collect());
    ledger_api::serve(addr, state).await.with_context(|| format!("cannot serve on {addr}"))?;
    Ok(Outcome::Clean)
}

async fn user(db: &str, verb: crate::args::UserVerb, json: bool) -> anyhow::Result<Outcome> {
    let (name, role, scope) = match verb {
        crate::args::UserVerb::Add { name, role, scope } => (name, role, scope),
        crate::args::UserVerb::Revoke { name } => {
            open(db).await?.revoke_user(&name).await?;
            if json {
                print_json(&serde_json::json!({ "name": name, "revoked": true }))?;
            } else {
                println!("user {name} revoked: its token no longer signs in");
            }
            return Ok(Outcome::Clean);
        }
        crate::args::UserVerb::List => {
            let users = open(db).await?.users().await?;
            if json {
                let listed: Vec<_> = users
                    .iter()
                    .map(|(u, revoked)| serde_json::json!({ "name": u.name, "role": u.role, "scope": u.scope, "revoked": revoked }))
                    .collect();
                print_json(&listed)?;
            } else {
                for (u, revoked) in &users {
                    let scope = if u.scope.is_empty() { String::new() } else { format!(" for {}", u.scope) };
                    println!("{} ({}{scope}){}", u.name, u.role, if *revoked { " — revoked" } else { "" });
                }
            }
            return Ok(Outcome::Clean);
        }
    };
    let token = new_token()?;
    let store = open(db).await?;
    store
        .add_user(
            &ledger_store::User { name: name.clone(), role: role.clone(), scope: scope.clone() },
            &ledger_api::token_hash(&token),
        )
        .await?;
    if json {
        print_json(&serde_json::json!({ "name": name, "role": role, "scope": scope, "token": token }))?;
    } else {
        println!(
            "user {name} ({role}{}) created; its token, shown only this once:",
            if scope.is_empty() { String::new() } else { format!(" for {scope}") }
        );
        println!("{token}");
    }
    Ok(Outcome::Clean)
}

/// 32 random bytes from the operating system, as hex.
fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).context("cannot read the operating system's random source")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

async fn init(db: &str, banks: &[String], actor: Option<&str>, json: bool) -> anyhow::Result<Outcome> {
    let store = open(db).await?;
    let mut configured = store.bank_accounts().await?;
    if !banks.is_empty() {
        let Some(name) = actor else {
            bail!("--bank configures the fund's special accounts: say who does, with --as NAME")
        };
        let admin = Actor::city(name, Role::Admin)?;
        for number in banks {
            configured = store.add_bank_account(&admin, number, BankAddedBy::Init).await?;
        }
    }
    if json {
        print_json(
            &serde_json::json!({ "database": store.url(), "engine": store.engine(), "bank_accounts": configured }),
        )?;
    } else {
        println!("{} database ready at {}", store.engine(), store.url());
        print_banks(&configured);
    }
    Ok(Outcome::Clean)
}

fn print_banks(configured: &[ledger_store::BankAccount]) {
    if configured.is_empty() {
        println!("no special bank account configured yet: the first one a journal imports becomes the fund's");
    }
    for (i, b) in configured.iter().enumerate() {
        let role = if i == 0 { "payments leave from here" } else { "takes postings" };
        println!("  {} — {role} (added by {}, {}, {})", b.account, b.added_by, b.how, b.added_at);
    }
}

async fn bank(db: &str, verb: BankVerb, json: bool) -> anyhow::Result<Outcome> {
    let store = open(db).await?;
    let configured = match verb {
        BankVerb::Add { number, actor } => {
            store.add_bank_account(&Actor::city(&actor, Role::Admin)?, &number, BankAddedBy::Added).await?
        }
        BankVerb::List => store.bank_accounts().await?,
    };
    if json {
        print_json(&configured)?;
    } else {
        print_banks(&configured);
    }
    Ok(Outcome::Clean)
}

/// The importer: a clerk by default; a migration is an admin's, named.
fn import_by(migration: bool, actor: Option<&str>) -> anyhow::Result<ImportBy> {
    if !migration {
        return Ok(ImportBy::clerk(actor.unwrap_or("clerk"))?);
    }
    let Some(name) = actor else { bail!("--migration is an admin's import: say who, with --as NAME") };
    Ok(ImportBy::migration(Actor::city(name, Role::Admin)?))
}

async fn import(db: &str, dir: &Path, by: &ImportBy, json: bool) -> anyhow::Result<ImportOutcome> {
    let outcome = import_files(db, dir, by).await?;
    if json {
        print_json(&serde_json::json!({
            "estates": outcome.estates, "buildings": outcome.buildings, "units": outcome.units,
            "entries": outcome.entries, "postings": outcome.postings, "already_stored": outcome.already_stored,
            "recorded_as": outcome.recorded_as, "adopted_bank": outcome.adopted_bank,
        }))?;
    } else {
        println!(
            "imported {} estates, {} buildings, {} units, {} entries ({} postings); {} entries were already posted",
            outcome.estates,
            outcome.buildings,
            outcome.units,
            outcome.entries,
            outcome.postings,
            outcome.already_stored
        );
        if let Some(bank) = &outcome.adopted_bank {
            println!("{bank} is now the fund's special account (the first one imported); others need `mfund bank add`");
        }
        if let Some(recorded) = outcome.recorded_as {
            println!("recorded as the ledger's {recorded} import, by {}", by.actor);
        }
    }
    Ok(outcome)
}

pub(crate) async fn import_files(db: &str, dir: &Path, by: &ImportBy) -> anyhow::Result<ImportOutcome> {
    let spinner = progress::spinner("reading");
    let city = files::read_city(dir);
    spinner.finish_and_clear();
    let (registry, journal) = city?;
    let store = open(db).await?;
    let bar = progress::bar("importing", "postings");
    let result = store.import_as(registry, journal, by, &progress::reporter(&bar)).await;
    bar.finish_and_clear();
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(StoreError::Refused(refused)) => bail!("{}", refused.to_string().trim_end()),
        Err(other) => return Err(other.into()),
    };
    store.close().await;
    Ok(outcome)
}

async fn balance(db: &str, args: BalanceArgs, json: bool) -> anyhow::Result<Outcome> {
    let scope = match (args.scope.unit, args.scope.building, args.scope.estate) {
        (Some(id), _, _) => BalanceScope::Unit(id),
        (_, Some(id), _) => BalanceScope::Building(id),
        (_, _, Some(id)) => BalanceScope::Estate(id),
        _ => BalanceScope::City,
    };
    let store = open(db).await?;
    let Some(balance) = store.balance(&scope, args.as_of).await? else {
        bail!("{} is not registered", describe(&scope));
    };
    if json {
        print_json(&balance)?;
    } else {
        let as_of = balance.as_of.map_or_else(String::new, |d| format!(" as of {d}"));
        println!(
            "{}{as_of}: balance {} ({} units; credits {}, debits {})",
            describe(&scope),
            balance.balance,
            balance.units,
            balance.credits,
            balance.debits
        );
    }
    Ok(Outcome::Clean)
}

fn describe(scope: &BalanceScope) -> String {
    match scope {
        BalanceScope::Unit(id) => format!("unit {id}"),
        BalanceScope::Building(id) => format!("building {id}"),
        BalanceScope::Estate(id) => format!("estate {id}"),
        BalanceScope::City => "the city".to_owned(),
    }
}

async fn verify(db: &str, expect_head: Option<[u8; 32]>, json: bool) -> anyhow::Result<Outcome> {
    let store = open(db).await?;
    let bar = progress::bar("verifying", "entries");
    let outcome = store.verify_expecting(expect_head, &progress::reporter(&bar)).await;
    bar.finish_and_clear();
    let outcome = outcome?;
    if json {
        print_json(&outcome)?;
    } else {
        print_verified(&outcome);
    }
    if !json {
        crate::estate::print_records(&outcome.records);
    }
    Ok(if outcome.is_intact() { Outcome::Clean } else { Outcome::Discrepancies })
}

fn print_verified(outcome: &ledger_store::VerifyOutcome) {
    if let Some(b) = &outcome.first_break {
        println!("chain broken at entry {} (seq {}): {}", b.entry_id, b.seq, b.reason);
        println!("{} entries before it verified", outcome.entries_checked);
        return;
    }
    println!(
        "verified {} entries ({} postings): the chain is intact; head {}",
        outcome.entries_checked, outcome.postings_checked, outcome.head
    );
    for posting in &outcome.uncovered_postings {
        println!("not covered by the chain: {posting}");
    }
    for mismatch in &outcome.totals_mismatches {
        println!("running totals differ from the chained postings: {mismatch}");
    }
    match &outcome.expected_head {
        Some(e) if e.found_at_seq.is_none() => println!(
            "expected head {} is not in the chain, which now ends at entry {} with head {}: entries were removed from the end, or changed",
            e.head, outcome.entries_checked, outcome.head
        ),
        Some(e) => println!(
            "expected head {} found at entry {} ({} entries added since)",
            e.head,
            e.found_at_seq.unwrap_or(0),
            outcome.entries_checked as i64 - e.found_at_seq.unwrap_or(0)
        ),
        None => {}
    }
}

fn generate(args: &GenArgs) -> anyhow::Result<GenSummary> {
    files::ensure_dir(&args.out)?;
    let spinner = progress::spinner("generating");
    let units = usize::try_from(args.units).context("unit count too large")?;
    let summary = ledger_gen::generate(&args.out, GenOptions { units, seed: args.seed, faults: args.faults });
    spinner.finish_and_clear();
    summary.with_context(|| format!("cannot write the city into {}", args.out.display()))
}

fn gen(args: GenArgs, json: bool) -> anyhow::Result<Outcome> {
    let summary = generate(&args)?;
    if json {
        print_json(&summary)?;
    } else {
        println!(
            "wrote {} estates, {} buildings, {} units, {} entries ({} postings) and {} statement lines to {}{}",
            summary.estates,
            summary.buildings,
            summary.units,
            summary.entries,
            summary.postings,
            summary.statement_lines,
            args.out.display(),
            if args.faults { ", with planted faults named in truth.json" } else { "" }
        );
    }
    Ok(Outcome::Clean)
}

/// A fire-pipe repair of the first building, through the green channel from application to
/// settlement, as its estate's street office and the clerk would do it.
async fn demo_green_channel_repair(db: &str, city_dir: &Path) -> anyhow::Result<DrawdownView> {
    let registry = files::read_city_registry(city_dir)?;
    let building = registry.buildings.first().context("the demo city has a building")?.value.clone();
    let estate =
        registry.estates.iter().find(|e| e.value.estate_id == building.estate_id).context("its estate")?.value.clone();
    let store = open(db).await?;
    let today = ledger_store::today();
    let act = |actor: Actor, reason: &str| Act { actor, at: today, reason: reason.to_owned() };
    let company =
        Actor::new("物业经理", Role::PropertyCompany, Scope::Company(CompanyId::new(&estate.property_company)))?;
    let office = Scope::StreetOffice(StreetOfficeId::new(&estate.street_office));
    let street_office = Actor::new("街道办主任", Role::StreetOffice, office)?;
    let clerk = Actor::city("clerk", Role::Clerk)?;
    let application = Application {
        drawdown_id: "FP-DEMO".to_owned(),
        estate_id: estate.estate_id.clone(),
        scope: ScopeRequest::Building(building.building_id.clone()),
        category: Category::FirePipeNetwork,
        route: Route::GreenChannel,
        estimate: Money::from_fen(3_000_000),
        contractor: "C-FIRE".to_owned(),
        description: "消防管网破裂抢修".to_owned(),
        applicant: estate.property_company.clone(),
        submitted_on: today,
    };
    store.apply_drawdown(&application, &act(company, "")).await?;
    store.decide_drawdown("FP-DEMO", true, &act(street_office, "现场核实，同意")).await?;
    store.advance_drawdown("FP-DEMO", Money::from_fen(1_500_000), &act(clerk.clone(), "预付50%")).await?;
    store.complete_drawdown("FP-DEMO", Money::from_fen(2_870_000), &act(clerk.clone(), "竣工验收")).await?;
    store.settle_drawdown("FP-DEMO", &act(clerk, "结算")).await?;
    let view = store.drawdown("FP-DEMO", today, &Default::default()).await?;
    store.close().await;
    Ok(view)
}

/// Units in the demo city: big enough to show every feature, small enough to run in seconds.
const DEMO_UNITS: u64 = 2_000;
const DEMO_SEED: u64 = 2026;

async fn demo(out: Option<PathBuf>, json: bool) -> anyhow::Result<Outcome> {
    let temp = tempfile::tempdir().context("cannot create a temporary folder")?;
    let keep = out.is_some();
    let folder = out.unwrap_or_else(|| temp.path().to_owned());
    let say = |line: String| {
        if !json {
            println!("{line}");
        }
    };
    let city_dir = folder.join("city");
    let summary = generate(&GenArgs { units: DEMO_UNITS, seed: DEMO_SEED, out: city_dir.clone(), faults: false })?;
    say(format!(
        "1. Generated a city of {} units in {} estates ({} postings) in {}.",
        summary.units,
        summary.estates,
        summary.postings,
        city_dir.display()
    ));
    let db = format!("sqlite://{}", folder.join("demo.db").display());
    let clerk = ImportBy::clerk("clerk")?;
    let imported = import_files(&db, &city_dir, &clerk).await?;
    let again = import_files(&db, &city_dir, &clerk).await?;
    if again.entries != 0 {
        bail!("the second import posted {} entries; importing twice must post nothing", again.entries);
    }
    say(format!(
        "2. Imported {} entries into the embedded database {db}; importing again posted nothing.",
        imported.entries
    ));
    let store = open(&db).await?;
    let city = store.balance(&BalanceScope::City, None).await?.context("the city balance")?;
    let verified = store.verify(&|_, _| {}).await?;
    store.close().await;
    say(format!("3. The city's unit sub-ledgers hold {} over {} units.", city.balance, city.units));
    say(format!("4. Verify: {} entries, hash chain intact: {}.", verified.entries_checked, verified.is_intact()));
    let against_bank = ReconcileArgs {
        dir: None,
        report: None,
        statement: Some(city_dir.join("statement.csv")),
        unit_balances: Some(city_dir.join("unit_balances.csv")),
        as_of: None,
        timings: false,
    };
    let clean = crate::reconcile::quiet_report(&db, &against_bank).await?;
    say(format!("5. Reconciled the database with the bank: {} discrepancies.", clean.summary.discrepancies));
    let repair = demo_green_channel_repair(&db, &city_dir).await?;
    say(format!(
        "6. Green channel: fire-pipe repair {} approved by {}, advanced {}, settled at {} over {} units.",
        repair.drawdown_id,
        repair.street_office,
        repair.payments.first().map_or(Money::ZERO, |p| p.amount),
        repair.paid,
        repair.units.len()
    ));
    if !json {
        println!("   Its public notice (first units):");
        for unit in repair.units.iter().take(5) {
            println!(
                "     {:<20} {:>8} m²  {:>10}",
                unit.unit_id,
                unit.floor_area.to_string(),
                unit.charged.to_string()
            );
        }
    }
    let interest = crate::allocation::demo_interest(&db, &folder, city.balance.fen(), ledger_store::today()).await?;
    if !json {
        println!("6b. A year's interest allocated to the units by 积数 (balance-days):");
        crate::allocation::print_summary(&interest);
    }
    let faulty_dir = folder.join("faulty-city");
    generate(&GenArgs { units: DEMO_UNITS, seed: DEMO_SEED, out: faulty_dir.clone(), faults: true })?;
    let faulty_args =
        ReconcileArgs { dir: Some(faulty_dir.clone()), statement: None, unit_balances: None, ..against_bank };
    let faulty = crate::reconcile::quiet_report(&db, &faulty_args).await?;
    say(format!(
        "7. The same city with planted faults (named in {}), reconciled from its files:\n",
        faulty_dir.join("truth.json").display()
    ));
    let ratings = crate::rating::demo(&db, &city_dir).await?;
    if json {
        print_json(&serde_json::json!({
            "generated": summary, "imported": imported.entries, "city_balance": city, "verify": verified,
            "reconciliation": clean.summary, "green_channel_repair": repair, "faulty_reconciliation": faulty,
            "ratings": ratings,
            "interest_allocation": interest.allocation,
        }))?;
    } else {
        crate::reconcile::print_summary(&faulty, None);
        crate::rating::print_demo(&ratings);
        if !keep {
            println!("\n(The files and the database were in a temporary folder, now removed: `mfund demo --out DIR` keeps them.)");
        }
    }
    Ok(Outcome::Clean)
}
