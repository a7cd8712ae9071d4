//! A year's ratings from its checks, tickets and credit scores (SPEC §9): monthly totals,
//! quarters, the annual total, stars, grades, rectification orders, the lists and fee floats.
//! Exact decimals; the only roundings are the ones §9 names, each at its step.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::catalogue::{Catalogue, Dimension, Indicator};
use super::decimal::{date_text, fixed, half_up, quarters, score2};
use super::files::{Check, CreditScore, Ticket};
use super::period::{add_months, Month};
use super::rules::{
    AnnualRules, FeeFloatRules, Grade, GradeRules, ListRules, RectificationRules, ResponseRules, Rules, StarRules,
};
use crate::Date;

/// What the registry says of an estate for its rating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstateFacts {
    pub estate_id: String,
    pub company: String,
    /// The sum of its units' floor areas, the weight of its total in its company's grade.
    pub floor_area_centi_m2: i64,
}

/// A rectification order as issued by a publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedOrder {
    pub estate_id: String,
    pub company: String,
    pub issued_on: Date,
    pub due: Date,
}

/// Everything a year's publication is computed from.
#[derive(Debug, Clone, Copy)]
pub struct YearInput<'a> {
    pub year: i32,
    pub published_on: Date,
    pub rules: &'a Rules,
    pub catalogue: &'a Catalogue,
    pub estates: &'a [EstateFacts],
    /// Checks of any months: the year's make its scores, later ones recheck earlier orders.
    pub checks: &'a [Check],
    pub tickets: &'a [Ticket],
    pub credit_scores: &'a [CreditScore],
    /// The orders of the year before, judged on the publication day for the black list.
    pub earlier_orders: &'a [IssuedOrder],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pending,
    Passed,
    Failed,
    NoRecheck,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::NoRecheck => "no_recheck",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Outcome::Pending => "整改中",
            Outcome::Passed => "整改合格",
            Outcome::Failed => "整改不合格（告知业主有权依法重新选聘，曝光）",
            Outcome::NoRecheck => "未复查",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    Red,
    Black,
}

impl ListKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Red => "red",
            ListKind::Black => "black",
        }
    }

    pub fn parse(text: &str) -> Option<ListKind> {
        match text {
            "red" => Some(ListKind::Red),
            "black" => Some(ListKind::Black),
            _ => None,
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            ListKind::Red => "红名单",
            ListKind::Black => "黑名单",
        }
    }
}

/// What the annual total was made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnualBasis {
    /// 0.8 × the quarters' mean + 0.2 × the company's credit score.
    QuartersAndCredit,
    /// No credit score for the company and year: the quarters' mean alone.
    QuartersOnly,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderState {
    #[serde(with = "date_text")]
    pub due: Date,
    pub outcome: Outcome,
}

/// One estate's line of the report (SPEC §9 "Report JSON"; `annual_basis` and
/// `months_checked` added).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstateRating {
    pub estate_id: String,
    pub company: String,
    #[serde(with = "quarters")]
    pub quarters: [Option<Decimal>; 4],
    #[serde(with = "score2")]
    pub credit_score: Option<Decimal>,
    #[serde(with = "score2")]
    pub annual_total: Option<Decimal>,
    pub annual_basis: Option<AnnualBasis>,
    pub stars: Option<u8>,
    pub fee_float_pct: Option<i32>,
    pub order: Option<OrderState>,
    pub months_checked: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyRating {
    pub company: String,
    /// Its rated estates, which make its grade.
    pub estates: u32,
    /// Their floor area in m², 2 decimals.
    pub floor_area: String,
    #[serde(with = "score2")]
    pub weighted_total: Option<Decimal>,
    pub grade: Option<Grade>,
    pub list: Option<ListKind>,
    pub list_rules: Vec<String>,
}

/// The rules a publication used, catalogue included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesUsed {
    pub response: ResponseRules,
    pub annual: AnnualRules,
    pub stars: StarRules,
    pub grades: GradeRules,
    pub rectification: RectificationRules,
    pub lists: ListRules,
    pub fee_float: FeeFloatRules,
    pub indicators: Vec<Indicator>,
}

impl RulesUsed {
    pub fn new(rules: &Rules, catalogue: &Catalogue) -> RulesUsed {
        let r = rules.clone();
        RulesUsed {
            response: r.response,
            annual: r.annual,
            stars: r.stars,
            grades: r.grades,
            rectification: r.rectification,
            lists: r.lists,
            fee_float: r.fee_float,
            indicators: catalogue.indicators().to_vec(),
        }
    }

    pub fn rules(&self) -> Rules {
        Rules {
            response: self.response.clone(),
            annual: self.annual.clone(),
            stars: self.stars.clone(),
            grades: self.grades.clone(),
            rectification: self.rectification.clone(),
            lists: self.lists.clone(),
            fee_float: self.fee_float.clone(),
        }
    }
}

/// A published year: the report JSON of SPEC §9.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearResult {
    pub year: i32,
    #[serde(with = "date_text")]
    pub published_on: Date,
    pub rules: RulesUsed,
    /// Sorted by `estate_id`.
    pub estates: Vec<EstateRating>,
    /// Sorted by `company`.
    pub companies: Vec<CompanyRating>,
}

impl YearResult {
    /// The orders this publication issued.
    pub fn orders(&self) -> Vec<IssuedOrder> {
        self.estates
            .iter()
            .filter_map(|e| {
                e.order.as_ref().map(|o| IssuedOrder {
                    estate_id: e.estate_id.clone(),
                    company: e.company.clone(),
                    issued_on: self.published_on,
                    due: o.due,
                })
            })
            .collect()
    }
}

/// One checked month of an estate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthScore {
    /// The sum of the month's indicator scores, `response.1` from the tickets when there were any.
    pub total: Decimal,
    /// The points of the `satisfaction` dimension.
    pub satisfaction: Decimal,
    /// `response.1` as the tickets gave it, when they did.
    pub response_from_tickets: Option<Decimal>,
}

/// Every checked month's scores, by estate and month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthlyScores(pub BTreeMap<(String, Month), MonthScore>);

/// Tickets of an estate's month: opened, and answered within the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TicketCount {
    pub opened: u32,
    pub on_time: u32,
}

/// Per estate and month of opening: how many tickets, and how many were answered in time
/// (within `within_minutes` inclusive; a ticket never answered is late).
pub fn ticket_counts(tickets: &[Ticket], within_minutes: u32) -> HashMap<(String, Month), TicketCount> {
    let mut counts: HashMap<(String, Month), TicketCount> = HashMap::new();
    for t in tickets {
        let count = counts.entry((t.estate_id.clone(), Month::of(t.opened_at.date()))).or_default();
        count.opened += 1;
        let on_time = t.responded_at.is_some_and(|r| r.minutes_since(t.opened_at) <= i64::from(within_minutes));
        count.on_time += u32::from(on_time);
    }
    counts
}

/// `response.1` from a month's tickets: max_points × on time ÷ opened, half up to 1 decimal.
pub fn response_score(max_points: Decimal, count: TicketCount) -> Decimal {
    half_up(max_points * Decimal::from(count.on_time) / Decimal::from(count.opened), 1)
}

impl MonthlyScores {
    pub fn new(checks: &[Check], tickets: &[Ticket], catalogue: &Catalogue, rules: &Rules) -> MonthlyScores {
        let counts = ticket_counts(tickets, rules.response.within_minutes);
        let response = catalogue.get(&rules.response.indicator);
        let mut months = BTreeMap::new();
        for check in checks {
            let key = (check.estate_id.clone(), check.month);
            let from_tickets = response
                .zip(counts.get(&key).filter(|c| c.opened > 0))
                .map(|(indicator, count)| (indicator, response_score(indicator.max_points, *count)));
            let mut score =
                MonthScore { total: Decimal::ZERO, satisfaction: Decimal::ZERO, response_from_tickets: None };
            for s in &check.scores {
                let points = match from_tickets {
                    Some((indicator, points)) if indicator.indicator_id == s.value.indicator_id => points,
                    _ => s.value.score,
                };
                score.total += points;
                if catalogue.get(&s.value.indicator_id).is_some_and(|i| i.dimension == Dimension::Satisfaction) {
                    score.satisfaction += points;
                }
            }
            score.response_from_tickets = from_tickets.map(|(_, p)| p);
            months.insert(key, score);
        }
        MonthlyScores(months)
    }

    fn of_estate<'s>(&'s self, estate_id: &'s str) -> impl Iterator<Item = (Month, &'s MonthScore)> + 's {
        self.0.iter().filter(move |((e, _), _)| e == estate_id).map(|((_, m), s)| (*m, s))
    }
}

/// An order's outcome on `day`: pending before the due day; from it, by the mean of the monthly
/// totals after the month of issue up to the due day's month (none checked: no recheck).
pub fn order_outcome(order: &IssuedOrder, day: Date, monthly: &MonthlyScores, rules: &Rules) -> Outcome {
    if day < order.due {
        return Outcome::Pending;
    }
    let (after, until) = (Month::of(order.issued_on), Month::of(order.due));
    let totals: Vec<Decimal> =
        monthly.of_estate(&order.estate_id).filter(|(m, _)| *m > after && *m <= until).map(|(_, s)| s.total).collect();
    if totals.is_empty() {
        return Outcome::NoRecheck;
    }
    let sum: Decimal = totals.iter().sum();
    // mean ≥ pass ⇔ sum ≥ pass × n: no division, no rounding.
    if sum >= rules.rectification.pass_mean * Decimal::from(totals.len() as u64) {
        Outcome::Passed
    } else {
        Outcome::Failed
    }
}

/// A mean as sum and count, so that means of means divide once, at the end.
#[derive(Debug, Clone, Copy, Default)]
struct Sum {
    total: Decimal,
    count: u32,
}

/// The annual total: exact until its single division and rounding (half up, 2 decimals).
fn annual_total(quarters: &[Sum; 4], credit: Option<Decimal>, rules: &AnnualRules) -> Option<(Decimal, AnnualBasis)> {
    let rated: Vec<&Sum> = quarters.iter().filter(|q| q.count > 0).collect();
    if rated.is_empty() {
        return None;
    }
    // mean of quarter means = Σ (total_q × L / n_q) ÷ (k × L), L the lcm of the month counts.
    let lcm = rated.iter().fold(1u32, |l, q| lcm(l, q.count));
    let numerator: Decimal = rated.iter().map(|q| q.total * Decimal::from(lcm / q.count)).sum();
    let denominator = Decimal::from(rated.len() as u32 * lcm);
    Some(match credit {
        Some(credit) => {
            let weighted = rules.quarters_weight * numerator + rules.credit_weight * credit * denominator;
            (half_up(weighted / denominator, 2), AnnualBasis::QuartersAndCredit)
        }
        None => (half_up(numerator / denominator, 2), AnnualBasis::QuartersOnly),
    })
}

fn lcm(a: u32, b: u32) -> u32 {
    let gcd = |mut x: u32, mut y: u32| {
        while y != 0 {
            (x, y) = (y, x % y);
        }
        x
    };
    a / gcd(a, b) * b
}

/// Computes year `input.year` as it would be published on `input.published_on`. The result
/// depends on the inputs' content only, not their order.
pub fn publish(input: &YearInput<'_>) -> YearResult {
    let rules = input.rules;
    let monthly = MonthlyScores::new(input.checks, input.tickets, input.catalogue, rules);
    let credit: HashMap<&str, Decimal> =
        input.credit_scores.iter().filter(|c| c.year == input.year).map(|c| (c.company.as_str(), c.score)).collect();
    let mut estates: Vec<&EstateFacts> = input.estates.iter().collect();
    estates.sort_by(|a, b| a.estate_id.cmp(&b.estate_id));
    let mut ratings: Vec<EstateRating> = estates
        .iter()
        .map(|e| rate_estate(e, input.year, &monthly, credit.get(e.company.as_str()).copied(), rules))
        .collect();
    let mut companies = grade_companies(&estates, &ratings, rules);
    issue_orders(&mut ratings, &companies, input.published_on, rules);
    list_companies(&mut companies, &ratings, input, &monthly, &credit);
    float_fees(&mut ratings, &companies, rules);
    YearResult {
        year: input.year,
        published_on: input.published_on,
        rules: RulesUsed::new(rules, input.catalogue),
        estates: ratings,
        companies,
    }
}

fn rate_estate(
    estate: &EstateFacts,
    year: i32,
    monthly: &MonthlyScores,
    credit: Option<Decimal>,
    rules: &Rules,
) -> EstateRating {
    let mut sums = [Sum::default(); 4];
    for (month, score) in monthly.of_estate(&estate.estate_id).filter(|(m, _)| m.year() == year) {
        let q = &mut sums[month.quarter_index()];
        q.total += score.total;
        q.count += 1;
    }
    // Shown half up to 2 decimals; the annual total is computed from the exact sums.
    let quarters = sums.map(|q| (q.count > 0).then(|| half_up(q.total / Decimal::from(q.count), 2)));
    let annual = annual_total(&sums, credit, &rules.annual);
    EstateRating {
        estate_id: estate.estate_id.clone(),
        company: estate.company.clone(),
        quarters,
        credit_score: credit,
        annual_total: annual.map(|(t, _)| t),
        annual_basis: annual.map(|(_, b)| b),
        stars: annual.map(|(t, _)| rules.stars(t)),
        fee_float_pct: None,
        order: None,
        months_checked: sums.iter().map(|q| q.count).sum(),
    }
}

/// Each company's floor-area-weighted mean of its rated estates' totals, half up to 2 decimals.
fn grade_companies(estates: &[&EstateFacts], ratings: &[EstateRating], rules: &Rules) -> Vec<CompanyRating> {
    let mut by_company: BTreeMap<&str, (u32, i64, Decimal)> = BTreeMap::new();
    for (estate, rating) in estates.iter().zip(ratings) {
        let entry = by_company.entry(estate.company.as_str()).or_default();
        if let Some(total) = rating.annual_total {
            entry.0 += 1;
            entry.1 += estate.floor_area_centi_m2;
            entry.2 += total * Decimal::from(estate.floor_area_centi_m2);
        }
    }
    by_company
        .into_iter()
        .map(|(company, (rated, area, weighted))| {
            let total = (area > 0).then(|| half_up(weighted / Decimal::from(area), 2));
            CompanyRating {
                company: company.to_owned(),
                estates: rated,
                floor_area: fixed(Decimal::new(area, 2), 2),
                weighted_total: total,
                grade: total.map(|t| rules.grade(t)),
                list: None,
                list_rules: Vec::new(),
            }
        })
        .collect()
}

/// Orders for estates of ≤ 2 stars and every estate of a company graded basic or unqualified.
fn issue_orders(ratings: &mut [EstateRating], companies: &[CompanyRating], published_on: Date, rules: &Rules) {
    let r = &rules.rectification;
    let ordered_companies: BTreeSet<&str> = companies
        .iter()
        .filter(|c| c.grade.is_some_and(|g| r.grades.contains(&g)))
        .map(|c| c.company.as_str())
        .collect();
    let due = add_months(published_on, r.months);
    for rating in ratings {
        let low = rating.stars.is_some_and(|s| s <= r.max_stars);
        if low || ordered_companies.contains(rating.company.as_str()) {
            rating.order = Some(OrderState { due, outcome: Outcome::Pending });
        }
    }
}

/// The black list's rules first (any one suffices), then the red list's (all of them).
fn list_companies(
    companies: &mut [CompanyRating],
    ratings: &[EstateRating],
    input: &YearInput<'_>,
    monthly: &MonthlyScores,
    credit: &HashMap<&str, Decimal>,
) {
    let rules = input.rules;
    let l = &rules.lists;
    let satisfaction_points = input.catalogue.dimension_points(Dimension::Satisfaction);
    for company in companies.iter_mut() {
        let own: Vec<&EstateRating> = ratings.iter().filter(|e| e.company == company.company).collect();
        let mut black = Vec::new();
        if let Some(grade) = company.grade.filter(|g| l.black_grades.contains(g)) {
            black.push(format!("grade_{grade}"));
        }
        for order in input.earlier_orders.iter().filter(|o| o.company == company.company) {
            match order_outcome(order, input.published_on, monthly, rules) {
                Outcome::Failed => black.push(format!("order_failed:{}", order.estate_id)),
                Outcome::NoRecheck => black.push(format!("order_no_recheck:{}", order.estate_id)),
                _ => {}
            }
        }
        if satisfaction_points > Decimal::ZERO {
            for estate in &own {
                let months: Vec<Decimal> = monthly
                    .of_estate(&estate.estate_id)
                    .filter(|(m, _)| m.year() == input.year)
                    .map(|(_, s)| s.satisfaction)
                    .collect();
                let sum: Decimal = months.iter().sum();
                // mean ≤ share × points ⇔ sum ≤ share × points × n.
                let bound = l.black_satisfaction_share * satisfaction_points * Decimal::from(months.len() as u64);
                if !months.is_empty() && sum <= bound {
                    black.push(format!("satisfaction_at_most_half:{}", estate.estate_id));
                }
            }
        }
        if !black.is_empty() {
            company.list = Some(ListKind::Black);
            company.list_rules = black;
            continue;
        }
        let credit_ok = credit.get(company.company.as_str()).is_some_and(|c| *c >= l.red_min_credit);
        let stars_ok = own.iter().all(|e| e.stars.map_or(true, |s| s >= l.red_min_stars));
        if company.grade == Some(l.red_grade) && credit_ok && stars_ok {
            company.list = Some(ListKind::Red);
            company.list_rules = vec![format!(
                "grade_{}+credit_{}+stars_{}",
                l.red_grade,
                l.red_min_credit.normalize(),
                l.red_min_stars
            )];
        }
    }
}

/// Next year's fee float by stars; a black-listed company's estates at most the cap.
fn float_fees(ratings: &mut [EstateRating], companies: &[CompanyRating], rules: &Rules) {
    let black: BTreeSet<&str> =
        companies.iter().filter(|c| c.list == Some(ListKind::Black)).map(|c| c.company.as_str()).collect();
    for rating in ratings {
        rating.fee_float_pct = rating.stars.map(|s| {
            let by_stars = rules.fee_float(s);
            match black.contains(rating.company.as_str()) {
                true => by_stars.min(rules.fee_float.black_cap),
                false => by_stars,
            }
        });
    }
}

/// The fee float an estate's published year gives the year after, and why (for §8's bills and
/// the estate's board).
pub fn fee_float_of(result: &YearResult, estate_id: &str) -> Option<(Decimal, String)> {
    let estate = result.estates.iter().find(|e| e.estate_id == estate_id)?;
    let (pct, stars) = (estate.fee_float_pct?, estate.stars?);
    let black = result.companies.iter().any(|c| c.company == estate.company && c.list == Some(ListKind::Black));
    let mut reason = format!(
        "{}年度物业服务考评{}星（{}公布），{}年物业费浮动{:+}%",
        result.year,
        stars,
        result.published_on,
        result.year + 1,
        pct
    );
    if black && pct == result.rules.fee_float.black_cap && result.rules.rules().fee_float(stars) > pct {
        reason.push_str(&format!("（{}列入黑名单，最多{:+}%）", estate.company, result.rules.fee_float.black_cap));
    }
    Some((Decimal::from(pct), reason))
}
