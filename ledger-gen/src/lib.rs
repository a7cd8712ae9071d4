//! Deterministic synthetic cities in the SPEC interchange files.
//!
//! The same `units` and `seed` always give byte-identical files. The city is realistic in
//! shape — estates of 1–30 buildings of 6–33 floors, units of 35–180 m², first deposits at city
//! rates by building type, yearly interest allocated to units by floor area, repairs apportioned
//! by floor area, top-ups, a few refunds and reversals — and the bank's statement and per-unit
//! balances agree with the ledger exactly, unless `faults` plants discrepancies, which are then
//! named in `truth.json`.

use std::fmt::{Display, Write as _};
use std::fs::File;
use std::io;
use std::path::Path;

use ledger_core::apportion::{apportion, ShareBasis};
use ledger_core::csvout::CsvOut;
use ledger_core::registry::FloorArea;
use ledger_core::{Date, Money};
use serde::Serialize;

mod rating;
pub use rating::{write_ratings, RATING_YEAR};

/// The special account all money moves through.
pub const BANK_ACCOUNT: &str = "bank:6222020200112233";
const FIRST_YEAR: i32 = 2016;
const LAST_YEAR: i32 = 2025;
/// Faults planted of each kind with `--faults`.
const FAULTS_PER_KIND: usize = 3;

#[derive(Debug, Clone, Copy)]
pub struct GenOptions {
    pub units: usize,
    pub seed: u64,
    pub faults: bool,
}

/// What a generated city holds, for the caller's summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GenSummary {
    pub estates: usize,
    pub buildings: usize,
    pub units: usize,
    pub entries: usize,
    pub postings: usize,
    pub statement_lines: usize,
}

/// The discrepancies planted by `--faults`, each named as the reconciliation report names it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Truth {
    pub unbalanced_entries: Vec<String>,
    pub invalid_postings: Vec<InvalidPosting>,
    pub unit_mismatches: Vec<UnitMismatch>,
    pub units_missing_in_bank: Vec<String>,
    pub units_unknown_to_registry: Vec<String>,
    pub unmatched_ledger: Vec<String>,
    pub unmatched_statement: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InvalidPosting {
    pub entry_id: String,
    pub account: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitMismatch {
    pub unit_id: String,
    /// ledger − bank
    pub difference: Money,
}

struct UnitState {
    id: String,
    area: FloorArea,
    owner: String,
    balance_fen: i64,
    first_deposit_fen: i64,
}

struct BuildingState {
    units: std::ops::Range<usize>,
    floors: u16,
    estate: usize,
}

const ESTATES_HEADER: [&str; 5] = ["estate_id", "name", "district", "street_office", "property_company"];
const BUILDINGS_HEADER: [&str; 5] = ["building_id", "estate_id", "name", "floors", "has_elevator"];
const UNITS_HEADER: [&str; 5] = ["unit_id", "building_id", "floor_area", "use", "owner"];
const JOURNAL_HEADER: [&str; 8] = ["entry_id", "date", "kind", "account", "debit", "credit", "memo", "reverses"];
const STATEMENT_HEADER: [&str; 5] = ["txn_id", "date", "amount", "ref", "memo"];
const UNIT_BALANCES_HEADER: [&str; 2] = ["unit_id", "balance"];

/// Starts the CSV file `name` in `dir` with its header.
fn csv_file(dir: &Path, name: &str, header: &[&str]) -> io::Result<CsvOut<File>> {
    CsvOut::new(File::create(dir.join(name))?, header)
}

/// Formats `value` into `buffer`, reused from row to row so that rows cost no allocation.
fn shown(buffer: &mut String, value: impl Display) -> &str {
    buffer.clear();
    write!(buffer, "{value}").expect("formatting into a String cannot fail");
    buffer
}

struct Writers {
    journal: CsvOut<File>,
    statement: CsvOut<File>,
    next_entry: u64,
    next_txn: u64,
    summary: GenSummary,
    date_text: String,
    amount_text: String,
}

/// A posting about to be written: account, signed fen (+ debit, − credit), memo.
type Line<'a> = (&'a str, i64, &'a str);

impl Writers {
    fn entry_id(&mut self) -> String {
        self.next_entry += 1;
        format!("J{:09}", self.next_entry)
    }

    /// Writes one entry; `bank_line` adds the bank's statement line for its bank posting.
    fn entry(
        &mut self,
        id: &str,
        date: Date,
        kind: &str,
        lines: &[Line<'_>],
        bank_line: Option<(Date, bool)>,
    ) -> io::Result<()> {
        self.entry_reversing(id, date, kind, lines, bank_line, "")
    }

    /// Like [`Writers::entry`], naming in the `reverses` column the entry a reversal undoes.
    fn entry_reversing(
        &mut self,
        id: &str,
        date: Date,
        kind: &str,
        lines: &[Line<'_>],
        bank_line: Option<(Date, bool)>,
        reverses: &str,
    ) -> io::Result<()> {
        let date_text = shown(&mut self.date_text, date);
        for &(account, signed_fen, memo) in lines {
            let amount = shown(&mut self.amount_text, Money::from_fen(signed_fen.abs()));
            let (debit, credit) = if signed_fen > 0 { (amount, "") } else { ("", amount) };
            self.journal.row(&[id, date_text, kind, account, debit, credit, memo, reverses])?;
        }
        self.summary.entries += 1;
        self.summary.postings += lines.len();
        if let Some((date, with_ref)) = bank_line {
            let bank_fen: i64 = lines.iter().filter(|l| l.0 == BANK_ACCOUNT).map(|l| l.1).sum();
            self.statement_line(date, bank_fen, if with_ref { id } else { "" }, kind)?;
        }
        Ok(())
    }

    fn statement_line(&mut self, date: Date, signed_fen: i64, reference: &str, memo: &str) -> io::Result<String> {
        self.next_txn += 1;
        let txn_id = format!("T{:09}", self.next_txn);
        let date = shown(&mut self.date_text, date);
        let amount = shown(&mut self.amount_text, Money::from_fen(signed_fen));
        self.statement.row(&[&txn_id, date, amount, reference, memo])?;
        self.summary.statement_lines += 1;
        Ok(txn_id)
    }
}

fn day_in_year(rng: &mut fastrand::Rng, year: i32) -> Date {
    let start = Date::from_ymd(year, 1, 1).expect("valid date");
    start.add_days(rng.i32(0..360))
}

const DISTRICTS: [&str; 6] = ["东城区", "西城区", "南湖区", "北山区", "高新区", "滨江区"];
const ESTATE_WORDS: [&str; 8] = ["幸福", "和平", "锦绣", "阳光", "翠湖", "金桥", "明珠", "春晖"];
const COMPANIES: [&str; 5] = ["安居物业", "万家物业服务有限公司", "\"绿城\"物业", "和谐物业, 分公司", "宏达物业"];
const SURNAMES: [&str; 10] = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
const CONTRACTORS: usize = 40;

/// Writes the city into `dir` (created if missing) and returns what it holds.
pub fn generate(dir: &Path, options: GenOptions) -> io::Result<GenSummary> {
    std::fs::create_dir_all(dir)?;
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let (units, buildings, estate_count) = write_registry(dir, &mut rng, options.units)?;
    let mut w = Writers {
        journal: csv_file(dir, "journal.csv", &JOURNAL_HEADER)?,
        statement: csv_file(dir, "statement.csv", &STATEMENT_HEADER)?,
        next_entry: 0,
        next_txn: 0,
        summary: GenSummary {
            estates: estate_count,
            buildings: buildings.len(),
            units: units.len(),
            ..GenSummary::default()
        },
        date_text: String::new(),
        amount_text: String::new(),
    };
    let mut units = units;
    write_history(&mut w, &mut rng, &mut units, &buildings)?;
    let mut truth = Truth::default();
    if options.faults {
        plant_journal_faults(&mut w, &mut rng, &mut units, &mut truth)?;
    }
    w.journal.finish()?;
    w.statement.finish()?;
    write_unit_balances(dir, &mut rng, &units, options.faults.then_some(&mut truth))?;
    if options.faults {
        std::fs::write(dir.join("truth.json"), serde_json::to_vec_pretty(&truth)?)?;
    }
    rating::write_ratings(dir, options.seed)?;
    Ok(w.summary)
}

fn write_registry(
    dir: &Path,
    rng: &mut fastrand::Rng,
    unit_target: usize,
) -> io::Result<(Vec<UnitState>, Vec<BuildingState>, usize)> {
    let mut estates = csv_file(dir, "estates.csv", &ESTATES_HEADER)?;
    let mut building_file = csv_file(dir, "buildings.csv", &BUILDINGS_HEADER)?;
    let mut unit_file = csv_file(dir, "units.csv", &UNITS_HEADER)?;
    let mut area_text = String::new();
    let mut units = Vec::with_capacity(unit_target);
    let mut buildings = Vec::new();
    let mut estate_no = 0;
    while units.len() < unit_target {
        estate_no += 1;
        let estate_id = format!("E{estate_no:05}");
        let district = DISTRICTS[rng.usize(..DISTRICTS.len())];
        let street_office = format!("{district}第{}街道办事处", rng.usize(1..=4));
        let name = format!("{}{}小区", ESTATE_WORDS[rng.usize(..ESTATE_WORDS.len())], estate_no);
        estates.row(&[&estate_id, &name, district, &street_office, COMPANIES[rng.usize(..COMPANIES.len())]])?;
        for b in 1..=rng.usize(1..=30) {
            if units.len() >= unit_target {
                break;
            }
            let building_id = format!("{estate_id}-B{b:02}");
            let floors = rng.u16(6..=33);
            let has_elevator = floors >= 7;
            let name = format!("{b}号楼");
            building_file.row(&[&building_id, &estate_id, &name, &floors.to_string(), &has_elevator.to_string()])?;
            let doors = rng.usize(2..=4);
            let start = units.len();
            'floors: for floor in 1..=floors {
                for door in 1..=doors {
                    if units.len() >= unit_target {
                        break 'floors;
                    }
                    let unit_id = format!("{building_id}-{floor:02}{door:02}");
                    let area = FloorArea::from_centi_m2(rng.i64(3_500..=18_000)).expect("positive area");
                    let unit_use = if floor == 1 && rng.u8(..10) == 0 { "commercial" } else { "residential" };
                    let owner = format!("{}{}", SURNAMES[rng.usize(..SURNAMES.len())], units.len() % 9973);
                    unit_file.row(&[&unit_id, &building_id, shown(&mut area_text, area), unit_use, &owner])?;
                    units.push(UnitState { id: unit_id, area, owner, balance_fen: 0, first_deposit_fen: 0 });
                }
            }
            buildings.push(BuildingState { units: start..units.len(), floors, estate: estate_no });
        }
    }
    estates.finish()?;
    building_file.finish()?;
    unit_file.finish()?;
    Ok((units, buildings, estate_no))
}

/// City rate per m² by building type: walk-up, lift building, high-rise.
fn deposit_rate_yuan(floors: u16) -> i64 {
    match floors {
        0..=6 => 50,
        7..=18 => 80,
        _ => 130,
    }
}

fn write_history(
    w: &mut Writers,
    rng: &mut fastrand::Rng,
    units: &mut [UnitState],
    buildings: &[BuildingState],
) -> io::Result<()> {
    let interest_income = "income:interest";
    for building in buildings {
        let rate = deposit_rate_yuan(building.floors);
        for i in building.units.clone() {
            let unit = &mut units[i];
            let fen = unit.area.centi_m2() * rate;
            let date = day_in_year(rng, FIRST_YEAR);
            let id = w.entry_id();
            let account = format!("unit:{}", unit.id);
            w.entry(
                &id,
                date,
                "deposit",
                &[(BANK_ACCOUNT, fen, "首次缴存"), (&account, -fen, &unit.owner)],
                Some(bank_date(rng, date)),
            )?;
            unit.balance_fen += fen;
            unit.first_deposit_fen = fen;
            if rng.u16(..500) == 0 {
                // A deposit keyed in twice, then reversed: both moves went through the bank.
                let dup = w.entry_id();
                w.entry(
                    &dup,
                    date,
                    "deposit",
                    &[(BANK_ACCOUNT, fen, "重复录入"), (&account, -fen, "")],
                    Some((date, true)),
                )?;
                let rev = w.entry_id();
                let lines = [(account.as_str(), fen, "冲销重复缴存"), (BANK_ACCOUNT, -fen, "")];
                w.entry_reversing(&rev, date.add_days(3), "reversal", &lines, Some((date.add_days(3), true)), &dup)?;
            }
        }
    }
    for year in FIRST_YEAR + 1..=LAST_YEAR {
        for building in buildings {
            write_building_year(w, rng, units, building, year, interest_income)?;
        }
    }
    Ok(())
}

/// Most statement lines carry the entry id; those that do not are dated the same day so that
/// matching by amount and date finds them unambiguously.
fn bank_date(rng: &mut fastrand::Rng, date: Date) -> (Date, bool) {
    if rng.u8(..5) == 0 {
        (date, false)
    } else {
        (date.add_days(rng.i32(0..=2)), true)
    }
}

fn write_building_year(
    w: &mut Writers,
    rng: &mut fastrand::Rng,
    units: &mut [UnitState],
    building: &BuildingState,
    year: i32,
    interest_income: &str,
) -> io::Result<()> {
    let range = building.units.clone();
    let accounts: Vec<String> = range.clone().map(|i| format!("unit:{}", units[i].id)).collect();
    let balance: i64 = range.clone().map(|i| units[i].balance_fen).sum();
    // Interest paid by the bank on 21 December, allocated to units by floor area on the 31st.
    let interest_fen = balance.max(0) * 15 / 1000;
    if interest_fen > 0 {
        let id = w.entry_id();
        let date = Date::from_ymd(year, 12, 21).expect("valid date");
        w.entry(
            &id,
            date,
            "interest",
            &[(BANK_ACCOUNT, interest_fen, "年度结息"), (interest_income, -interest_fen, "")],
            Some(bank_date(rng, date)),
        )?;
        let shares = shares_by_area(units, &range, interest_fen);
        let mut lines: Vec<Line> = vec![(interest_income, interest_fen, "增值收益分配")];
        for (k, share) in shares.iter().enumerate() {
            if share.is_positive() {
                lines.push((&accounts[k], -share.fen(), ""));
                units[range.start + k].balance_fen += share.fen();
            }
        }
        if lines.len() >= 2 {
            let id = w.entry_id();
            w.entry(&id, Date::from_ymd(year, 12, 31).expect("valid date"), "allocation", &lines, None)?;
        }
    }
    if rng.u8(..5) < 2 {
        write_repair(w, rng, units, building, year, &accounts)?;
    }
    if building.estate % 211 == 7 && year == LAST_YEAR {
        write_refund(w, rng, units, building, &accounts)?;
    } else {
        write_topups(w, rng, units, building, year, &accounts)?;
    }
    Ok(())
}

fn shares_by_area(units: &[UnitState], range: &std::ops::Range<usize>, total_fen: i64) -> Vec<Money> {
    let basis: Vec<ShareBasis> =
        units[range.clone()].iter().map(|u| ShareBasis { unit_id: &u.id, area: u.area }).collect();
    apportion(Money::from_fen(total_fen), &basis).expect("a building has units and a positive amount")
}

fn write_repair(
    w: &mut Writers,
    rng: &mut fastrand::Rng,
    units: &mut [UnitState],
    building: &BuildingState,
    year: i32,
    accounts: &[String],
) -> io::Result<()> {
    let range = building.units.clone();
    let balance: i64 = range.clone().map(|i| units[i].balance_fen).sum();
    // Most repairs take 10–60 % of the building's fund; a rare emergency takes more than it has.
    let percent = if rng.u8(..50) == 0 { 130 } else { rng.i64(10..=60) };
    let cost_fen = (balance.max(0) * percent / 100) / 10_000 * 10_000;
    if cost_fen <= 0 {
        return Ok(());
    }
    let shares = shares_by_area(units, &range, cost_fen);
    let contractor = format!("payable:C{:03}", rng.usize(..CONTRACTORS));
    let mut lines: Vec<Line> = Vec::with_capacity(accounts.len() + 1);
    for (k, share) in shares.iter().enumerate() {
        if share.is_positive() {
            lines.push((&accounts[k], share.fen(), ""));
            units[range.start + k].balance_fen -= share.fen();
        }
    }
    lines.push((&contractor, -cost_fen, "维修工程款"));
    let date = day_in_year(rng, year);
    let id = w.entry_id();
    w.entry(&id, date, "drawdown", &lines, None)?;
    let paid = date.add_days(rng.i32(1..=20));
    let id = w.entry_id();
    w.entry(
        &id,
        paid,
        "payment",
        &[(&contractor, cost_fen, "支付工程款"), (BANK_ACCOUNT, -cost_fen, "")],
        Some(bank_date(rng, paid)),
    )
}

fn write_topups(
    w: &mut Writers,
    rng: &mut fastrand::Rng,
    units: &mut [UnitState],
    building: &BuildingState,
    year: i32,
    accounts: &[String],
) -> io::Result<()> {
    for (k, i) in building.units.clone().enumerate() {
        let unit = &mut units[i];
        // Below 30 % of the first deposit the owner must top up; most do, within the year.
        if unit.balance_fen * 10 < unit.first_deposit_fen * 3 && rng.u8(..10) < 8 {
            let fen = unit.first_deposit_fen - unit.balance_fen.max(0) / 2;
            let date = day_in_year(rng, year);
            let id = w.entry_id();
            w.entry(
                &id,
                date,
                "topup",
                &[(BANK_ACCOUNT, fen, "续筹"), (&accounts[k], -fen, "")],
                Some(bank_date(rng, date)),
            )?;
            unit.balance_fen += fen;
        }
    }
    Ok(())
}

/// A demolished building: every unit with money left gets it back.
fn write_refund(
    w: &mut Writers,
    rng: &mut fastrand::Rng,
    units: &mut [UnitState],
    building: &BuildingState,
    accounts: &[String],
) -> io::Result<()> {
    let range = building.units.clone();
    let mut lines: Vec<Line> = Vec::new();
    let mut total = 0;
    for (k, i) in range.clone().enumerate() {
        if units[i].balance_fen > 0 {
            lines.push((&accounts[k], units[i].balance_fen, "房屋灭失退还"));
            total += units[i].balance_fen;
            units[i].balance_fen = 0;
        }
    }
    if total == 0 {
        return Ok(());
    }
    lines.push((BANK_ACCOUNT, -total, ""));
    let date = day_in_year(rng, LAST_YEAR);
    let id = w.entry_id();
    w.entry(&id, date, "refund", &lines, Some(bank_date(rng, date)))
}

/// Fault amounts are above a million yuan with odd fen, which no generated posting reaches,
/// so each planted item can only match (or fail to match) itself.
fn fault_fen(k: usize) -> i64 {
    100_000_000 + 1_037 * (k as i64 + 1)
}

fn plant_journal_faults(
    w: &mut Writers,
    rng: &mut fastrand::Rng,
    units: &mut [UnitState],
    truth: &mut Truth,
) -> io::Result<()> {
    let date = Date::from_ymd(LAST_YEAR, 12, 30).expect("valid date");
    for k in 0..FAULTS_PER_KIND {
        // An adjustment whose two sides differ by a fen.
        let id = w.entry_id();
        let fen = fault_fen(k);
        w.entry(&id, date, "adjustment", &[("suspense", fen, "错账"), ("income:common", -(fen - 1), "")], None)?;
        truth.unbalanced_entries.push(id);
        // A posting to an account outside the chart, and one to a unit the registry lacks.
        let account = if k % 2 == 0 { format!("cash:{k}") } else { format!("unit:GHOST-{k}") };
        let id = w.entry_id();
        w.entry(&id, date, "adjustment", &[("suspense", fen, "无效科目"), (&account, -fen, "")], None)?;
        truth.invalid_postings.push(InvalidPosting { entry_id: id, account });
        // Money the ledger says arrived, which the bank never saw.
        let unit = &mut units[rng.usize(..units.len())];
        let id = w.entry_id();
        let account = format!("unit:{}", unit.id);
        w.entry(&id, date, "topup", &[(BANK_ACCOUNT, fen + 7, "未达账项"), (&account, -(fen + 7), "")], None)?;
        unit.balance_fen += fen + 7;
        truth.unmatched_ledger.push(id);
        // A bank charge the ledger never recorded.
        let txn = w.statement_line(date, -(fen + 11), "", "银行扣费")?;
        truth.unmatched_statement.push(txn);
    }
    Ok(())
}

fn write_unit_balances(
    dir: &Path,
    rng: &mut fastrand::Rng,
    units: &[UnitState],
    mut truth: Option<&mut Truth>,
) -> io::Result<()> {
    let mut file = csv_file(dir, "unit_balances.csv", &UNIT_BALANCES_HEADER)?;
    let mut balance_text = String::new();
    let planted = |rng: &mut fastrand::Rng| -> Vec<usize> {
        (0..FAULTS_PER_KIND * 2).map(|_| rng.usize(..units.len())).collect()
    };
    let picks = if truth.is_some() { planted(rng) } else { Vec::new() };
    let (mismatched, missing) = picks.split_at(picks.len() / 2);
    for (i, unit) in units.iter().enumerate() {
        if missing.contains(&i) {
            if let Some(t) = truth.as_deref_mut() {
                if !t.units_missing_in_bank.contains(&unit.id)
                    && !t.unit_mismatches.iter().any(|m| m.unit_id == unit.id)
                {
                    t.units_missing_in_bank.push(unit.id.clone());
                    continue;
                }
            }
        }
        let mut bank_fen = unit.balance_fen;
        if mismatched.contains(&i) {
            if let Some(t) = truth.as_deref_mut() {
                if !t.unit_mismatches.iter().any(|m| m.unit_id == unit.id) {
                    bank_fen += 100 * (i as i64 % 7 + 1);
                    t.unit_mismatches.push(UnitMismatch {
                        unit_id: unit.id.clone(),
                        difference: Money::from_fen(unit.balance_fen - bank_fen),
                    });
                }
            }
        }
        file.row(&[&unit.id, shown(&mut balance_text, Money::from_fen(bank_fen))])?;
    }
    if let Some(t) = truth {
        for k in 0..FAULTS_PER_KIND {
            let id = format!("X-UNKNOWN-{k}");
            file.row(&[&id, shown(&mut balance_text, Money::from_fen(12_345 * (k as i64 + 1)))])?;
            t.units_unknown_to_registry.push(id);
        }
        t.unit_mismatches.sort_by(|a, b| a.unit_id.cmp(&b.unit_id));
        t.units_missing_in_bank.sort();
    }
    file.finish().map(drop)
}
