//! Hand-worked cases at every threshold of SPEC §9, bad input, and properties.

use std::collections::HashSet;

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::interchange::Located;
use crate::Date;

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn day(text: &str) -> Date {
    Date::parse(text).unwrap()
}

/// A check of the standard catalogue whose scores sum to `total` (1 decimal), spread evenly
/// so that no dimension is starved (the satisfaction dimension gets its share).
fn check(estate: &str, month: &str, total: &str) -> Check {
    let tenths = rust_decimal::prelude::ToPrimitive::to_i64(&(d(total) * Decimal::from(10))).unwrap();
    let (base, extra) = (tenths / 20, tenths % 20);
    let catalogue = Catalogue::standard();
    let scores = catalogue
        .indicators()
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let score = Decimal::new(base + i64::from((k as i64) < extra), 1);
            Located {
                line: 0,
                value: CheckScore { indicator_id: i.indicator_id.clone(), score, inspector: "李".into() },
            }
        })
        .collect();
    Check {
        check_id: format!("{estate}-{month}"),
        estate_id: estate.into(),
        month: Month::parse(month).unwrap(),
        line: 0,
        scores,
    }
}

/// Twelve checks of `year`, each with the same total.
fn year_of(estate: &str, year: i32, total: &str) -> Vec<Check> {
    (1..=12).map(|m| check(estate, &format!("{year}-{m:02}"), total)).collect()
}

fn estate(id: &str, company: &str, area_m2: i64) -> EstateFacts {
    EstateFacts { estate_id: id.into(), company: company.into(), floor_area_centi_m2: area_m2 * 100 }
}

fn credit(company: &str, year: i32, score: &str) -> CreditScore {
    CreditScore { company: company.into(), year, score: d(score) }
}

struct Case {
    estates: Vec<EstateFacts>,
    checks: Vec<Check>,
    tickets: Vec<Ticket>,
    credit: Vec<CreditScore>,
    earlier: Vec<IssuedOrder>,
    published_on: Date,
}

impl Case {
    fn new(estates: Vec<EstateFacts>, checks: Vec<Check>) -> Case {
        Case { estates, checks, tickets: vec![], credit: vec![], earlier: vec![], published_on: day("2025-01-31") }
    }

    fn publish(&self, rules: &Rules) -> YearResult {
        let catalogue = Catalogue::standard();
        publish(&YearInput {
            year: 2024,
            published_on: self.published_on,
            rules,
            catalogue: &catalogue,
            estates: &self.estates,
            checks: &self.checks,
            tickets: &self.tickets,
            credit_scores: &self.credit,
            earlier_orders: &self.earlier,
        })
    }
}

fn rating<'r>(result: &'r YearResult, id: &str) -> &'r EstateRating {
    result.estates.iter().find(|e| e.estate_id == id).unwrap()
}

fn company<'r>(result: &'r YearResult, name: &str) -> &'r CompanyRating {
    result.companies.iter().find(|c| c.company == name).unwrap()
}

#[test]
fn an_annual_89_99_is_four_stars_and_90_00_five() {
    // 0.8 × 90 + 0.2 × 89.95 = 72 + 17.99 = 89.99; with a credit of 90: 90.00.
    let mut checks = year_of("E1", 2024, "90");
    checks.extend(year_of("E2", 2024, "90"));
    let mut case = Case::new(vec![estate("E1", "甲物业", 100), estate("E2", "乙物业", 100)], checks);
    case.credit = vec![credit("甲物业", 2024, "89.95"), credit("乙物业", 2024, "90"), credit("乙物业", 2023, "10")];
    let result = case.publish(&Rules::default());
    let (e1, e2) = (rating(&result, "E1"), rating(&result, "E2"));
    assert_eq!((e1.annual_total, e1.stars, e1.fee_float_pct), (Some(d("89.99")), Some(4), Some(0)));
    assert_eq!((e2.annual_total, e2.stars, e2.fee_float_pct), (Some(d("90.00")), Some(5), Some(5)));
    assert_eq!(e1.annual_basis, Some(AnnualBasis::QuartersAndCredit));
    assert_eq!(company(&result, "甲物业").grade, Some(Grade::Good));
    // 乙: excellent, credit 90 and no estate below 4 stars: red.
    let yi = company(&result, "乙物业");
    assert_eq!((yi.grade, yi.list), (Some(Grade::Excellent), Some(ListKind::Red)));
    assert_eq!(yi.list_rules, vec!["grade_excellent+credit_90+stars_4".to_owned()]);
    assert_eq!(company(&result, "甲物业").list, None);
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["estates"][0]["annual_total"], "89.99");
    assert_eq!(json["estates"][0]["quarters"], serde_json::json!(["90.00", "90.00", "90.00", "90.00"]));
    assert_eq!(json["estates"][0]["stars"], 4);
    assert_eq!(json["companies"][0]["floor_area"], "100.00");
    assert_eq!(serde_json::from_value::<YearResult>(json).unwrap(), result);
}

#[test]
fn half_up_only_at_the_end() {
    // Quarters 90, 90, 89.9, 90: mean 89.975, half up to 89.98 (never 89.97).
    let mut checks: Vec<Check> =
        ["01", "04", "07", "10"].iter().map(|m| check("E1", &format!("2024-{m}"), "90")).collect();
    checks[2] = check("E1", "2024-07", "89.9");
    let result = Case::new(vec![estate("E1", "甲", 1)], checks).publish(&Rules::default());
    assert_eq!(rating(&result, "E1").annual_total, Some(d("89.98")));
    assert_eq!(rating(&result, "E1").quarters[2], Some(d("89.9")));
}

#[test]
fn a_grade_at_exactly_60_is_basic_and_orders_every_estate() {
    // Equal areas, totals 50 and 70: weighted 60.00, basic. Both estates get an order.
    let mut checks = year_of("E1", 2024, "50");
    checks.extend(year_of("E2", 2024, "70"));
    let estates = vec![estate("E1", "丙物业", 120), estate("E2", "丙物业", 120), estate("E3", "丁物业", 50)];
    let mut case = Case::new(estates, checks);
    case.checks.extend(year_of("E3", 2024, "59.9"));
    let result = case.publish(&Rules::default());
    let bing = company(&result, "丙物业");
    assert_eq!((bing.weighted_total, bing.grade, bing.estates), (Some(d("60.00")), Some(Grade::Basic), 2));
    assert_eq!(bing.floor_area, "240.00");
    assert_eq!(company(&result, "丁物业").grade, Some(Grade::Unqualified));
    for id in ["E1", "E2", "E3"] {
        let order = rating(&result, id).order.clone().unwrap();
        assert_eq!((order.due, order.outcome), (day("2025-04-30"), Outcome::Pending), "{id}");
    }
    // E1's satisfaction, 4 × 2.5 = 10 a month, is exactly half of 20: black.
    assert_eq!(bing.list, Some(ListKind::Black));
    assert_eq!(bing.list_rules, vec!["satisfaction_at_most_half:E1".to_owned()]);
    // 丁 is unqualified: black by its grade (and by satisfaction, 11.9 > 10, not).
    assert_eq!(company(&result, "丁物业").list_rules, vec!["grade_unqualified".to_owned()]);
    // Fee floats: E1 one star −10; E2 three stars 0, capped at −5 for a black-listed company.
    assert_eq!(rating(&result, "E1").fee_float_pct, Some(-10));
    assert_eq!(rating(&result, "E2").fee_float_pct, Some(-5));
    let (pct, reason) = fee_float_of(&result, "E2").unwrap();
    assert_eq!(pct, Decimal::from(-5));
    assert!(reason.contains("3星") && reason.contains("黑名单"), "{reason}");
}

#[test]
fn a_grade_just_above_a_threshold_and_a_two_star_estate_ordered() {
    let mut checks = year_of("E1", 2024, "65");
    checks.extend(year_of("E2", 2024, "95"));
    let case = Case::new(vec![estate("E1", "戊", 100), estate("E2", "戊", 300)], checks);
    let result = case.publish(&Rules::default());
    // (65 × 100 + 95 × 300) ÷ 400 = 87.5: good, no company order, but E1 (2 stars) has one.
    assert_eq!(company(&result, "戊").weighted_total, Some(d("87.50")));
    assert_eq!(rating(&result, "E1").stars, Some(2));
    assert!(rating(&result, "E1").order.is_some());
    assert!(rating(&result, "E2").order.is_none());
    assert_eq!(rating(&result, "E1").fee_float_pct, Some(-5));
}

#[test]
fn a_quarter_with_one_checked_month() {
    // Q1: February only, 81. Q2: 70, 80, 90 → 80. Q3, Q4 unchecked. Annual (81 + 80) ÷ 2 = 80.50.
    let checks = vec![
        check("E1", "2024-02", "81"),
        check("E1", "2024-04", "70"),
        check("E1", "2024-05", "80"),
        check("E1", "2024-06", "90"),
        check("E1", "2023-12", "10"),
        check("E1", "2025-01", "10"),
    ];
    let result = Case::new(vec![estate("E1", "甲", 1)], checks).publish(&Rules::default());
    let e = rating(&result, "E1");
    assert_eq!(e.quarters, [Some(d("81")), Some(d("80")), None, None]);
    assert_eq!((e.annual_total, e.stars, e.months_checked), (Some(d("80.50")), Some(4), 4));
    let json = serde_json::to_value(e).unwrap();
    assert_eq!(json["quarters"], serde_json::json!(["81.00", "80.00", null, null]));
}

#[test]
fn a_year_without_a_credit_score_is_the_quarters_alone_and_says_so() {
    let mut case = Case::new(vec![estate("E1", "甲", 1), estate("E2", "乙", 1)], year_of("E1", 2024, "85"));
    case.credit = vec![credit("甲", 2023, "100")];
    let result = case.publish(&Rules::default());
    let e = rating(&result, "E1");
    assert_eq!(
        (e.annual_total, e.credit_score, e.annual_basis),
        (Some(d("85.00")), None, Some(AnnualBasis::QuartersOnly))
    );
    // E2 has no checked month: not rated, no stars, no float, no order; its company no grade.
    let e2 = rating(&result, "E2");
    assert_eq!((e2.annual_total, e2.stars, e2.fee_float_pct, e2.order.clone()), (None, None, None, None));
    assert_eq!(company(&result, "乙").grade, None);
    let json = serde_json::to_value(e2).unwrap();
    assert_eq!(json["annual_total"], serde_json::Value::Null);
}

fn order(issued: &str, due: &str) -> IssuedOrder {
    IssuedOrder { estate_id: "E1".into(), company: "甲".into(), issued_on: day(issued), due: day(due) }
}

#[test]
fn outcomes_pending_passed_failed_and_no_recheck() {
    let rules = Rules::default();
    let catalogue = Catalogue::standard();
    let o = order("2025-01-31", "2025-04-30");
    let monthly = |checks: Vec<Check>| MonthlyScores::new(&checks, &[], &catalogue, &rules);
    let rechecked =
        monthly(vec![check("E1", "2025-02", "70"), check("E1", "2025-03", "70"), check("E1", "2025-04", "70")]);
    assert_eq!(order_outcome(&o, day("2025-04-29"), &rechecked, &rules), Outcome::Pending);
    // A mean of exactly 70 passes.
    assert_eq!(order_outcome(&o, day("2025-04-30"), &rechecked, &rules), Outcome::Passed);
    let low = monthly(vec![check("E1", "2025-02", "69.9"), check("E1", "2025-03", "70"), check("E1", "2025-04", "70")]);
    assert_eq!(order_outcome(&o, day("2025-05-10"), &low, &rules), Outcome::Failed);
    // January (the month of issue) and May (after the due month) do not count; nor other estates.
    let unchecked =
        monthly(vec![check("E1", "2025-01", "99"), check("E1", "2025-05", "99"), check("E9", "2025-03", "99")]);
    assert_eq!(order_outcome(&o, day("2025-04-30"), &unchecked, &rules), Outcome::NoRecheck);
}

#[test]
fn last_years_failed_order_black_lists_the_company() {
    let mut checks = year_of("E1", 2024, "95");
    checks.push(check("E1", "2024-02", "95"));
    checks.dedup_by(|a, b| a.month == b.month);
    let mut case = Case::new(vec![estate("E1", "甲", 1), estate("E2", "乙", 1)], checks);
    case.checks.extend(year_of("E2", 2024, "95"));
    // Orders of 2023's publication on 2024-01-15, due 2024-04-15; E1 rechecked at 95 (passed).
    case.earlier = vec![order("2024-01-15", "2024-04-15")];
    case.earlier.push(IssuedOrder {
        estate_id: "E2".into(),
        company: "乙".into(),
        ..order("2024-01-15", "2024-04-15")
    });
    let result = case.publish(&Rules::default());
    assert_eq!(company(&result, "甲").list, None, "no credit score: not red either");
    assert_eq!(company(&result, "乙").list, None);
    // Without rechecks between February and April, E2's order is no_recheck: 乙 is black.
    case.checks.retain(|c| !(c.estate_id == "E2" && (2..=4).contains(&c.month.month())));
    let result = case.publish(&Rules::default());
    assert_eq!(company(&result, "乙").list_rules, vec!["order_no_recheck:E2".to_owned()]);
    assert_eq!(rating(&result, "E2").fee_float_pct, Some(-5), "5 stars, capped by the black list");
}

fn ticket(id: &str, opened: &str, responded: Option<&str>) -> Ticket {
    Ticket {
        ticket_id: id.into(),
        estate_id: "E1".into(),
        kind: TicketKind::Repair,
        opened_at: Moment::parse(opened).unwrap(),
        responded_at: responded.map(|r| Moment::parse(r).unwrap()),
        closed_at: None,
    }
}

#[test]
fn a_response_at_exactly_two_hours_is_on_time_and_two_hours_one_minute_late() {
    let tickets = vec![
        ticket("T1", "2024-03-01T08:00", Some("2024-03-01T10:00")),
        ticket("T2", "2024-03-02T08:00", Some("2024-03-02T10:01")),
        ticket("T3", "2024-03-03T23:30", None),
        ticket("T4", "2024-03-31T23:00", Some("2024-04-01T00:30")),
        ticket("T5", "2024-04-02T08:00", Some("2024-04-02T09:00")),
    ];
    let counts = ticket_counts(&tickets, 120);
    let march = counts[&("E1".to_owned(), Month::parse("2024-03").unwrap())];
    assert_eq!((march.opened, march.on_time), (4, 2));
    assert_eq!(response_score(d("5"), march), d("2.5"));
    // 1 of 3 on time: 5 ÷ 3 = 1.666… → 1.7.
    assert_eq!(response_score(d("5"), TicketCount { opened: 3, on_time: 1 }), d("1.7"));
    // The inspector gave response.1 its 5 points (total 100); the tickets make it 2.5.
    let catalogue = Catalogue::standard();
    let checks = vec![check("E1", "2024-03", "100"), check("E1", "2024-05", "100")];
    let monthly = MonthlyScores::new(&checks, &tickets, &catalogue, &Rules::default());
    let march = monthly.0[&("E1".to_owned(), Month::parse("2024-03").unwrap())];
    assert_eq!((march.total, march.response_from_tickets), (d("97.5"), Some(d("2.5"))));
    // A month without tickets keeps the inspector's score.
    assert_eq!(monthly.0[&("E1".to_owned(), Month::parse("2024-05").unwrap())].total, d("100"));
}

#[test]
fn manual_entries_add_and_remove_and_keep_the_reason() {
    let mut checks = year_of("E1", 2024, "95");
    checks.extend(year_of("E2", 2024, "40"));
    let mut case = Case::new(vec![estate("E1", "甲", 1), estate("E2", "乙", 1)], checks);
    case.credit = vec![credit("甲", 2024, "95")];
    let result = case.publish(&Rules::default());
    let entry = |company: &str, list, action, reason: &str| ManualEntry {
        company: company.into(),
        year: 2024,
        list,
        action,
        reason: reason.into(),
        by: "王会计".into(),
        on: day("2025-02-01"),
    };
    let base = lists_in_force(&result, &[]);
    assert_eq!(
        base.iter().map(|l| (l.company.as_str(), l.list)).collect::<Vec<_>>(),
        [("乙", ListKind::Black), ("甲", ListKind::Red)]
    );
    let manual = [
        entry("甲", ListKind::Red, ListAction::Remove, "群众投诉核实"),
        entry("甲", ListKind::Black, ListAction::Add, "违规收费"),
        entry("乙", ListKind::Black, ListAction::Remove, "整改到位"),
        entry("乙", ListKind::Black, ListAction::Remove, "again"),
    ];
    let lists = lists_in_force(&result, &manual);
    assert_eq!(lists.len(), 1);
    assert_eq!((lists[0].company.as_str(), lists[0].list), ("甲", ListKind::Black));
    assert!(lists[0].rules[0].contains("违规收费") && lists[0].rules[0].contains("王会计"), "{:?}", lists[0].rules);
}

fn error_of(result: Result<impl std::fmt::Debug, RatingInputError>) -> RatingInputError {
    result.unwrap_err()
}

const CHECK_HEAD: &str = "check_id,estate_id,month,indicator_id,score,inspector\n";

fn full_check_rows(check_id: &str, estate: &str, month: &str, score: &str) -> String {
    Catalogue::standard()
        .indicators()
        .iter()
        .map(|i| format!("{check_id},{estate},{month},{},{score},李四\n", i.indicator_id))
        .collect()
}

#[test]
fn a_checks_file_reads_and_bad_checks_are_located() {
    let catalogue = Catalogue::standard();
    let good = format!("{CHECK_HEAD}{}", full_check_rows("C1", "E1", "2024-03", "4.5"));
    let checks = read_checks(good.as_bytes(), &catalogue).unwrap();
    assert_eq!((checks.len(), checks[0].scores.len(), checks[0].line), (1, 20, 2));
    // Missing one indicator: named at the check's first line, column indicator_id.
    let missing = good.replace("C1,E1,2024-03,satisfaction.4,4.5,李四\n", "");
    let e = error_of(read_checks(missing.as_bytes(), &catalogue));
    assert_eq!((e.line, e.column.clone()), (2, Some((4, "indicator_id".into()))), "{e}");
    assert!(e.to_string().starts_with("rating_checks.csv:2:4:") && e.to_string().contains("satisfaction.4"), "{e}");
    // Scored twice.
    let twice = format!("{good}C1,E1,2024-03,safety.2,3,李四\n");
    let e = error_of(read_checks(twice.as_bytes(), &catalogue));
    assert_eq!(e.line, 22, "{e}");
    assert!(matches!(&e.kind, RatingFault::ScoredTwice { first_line: 11, .. }), "{e}");
    // Above its points, and two decimals.
    for (bad, why) in [("5.5", "from 0 to 5"), ("4.25", "at most 1 decimal"), ("-1", "from 0"), ("", "from 0")] {
        let text = good.replacen("performance.2,4.5", &format!("performance.2,{bad}"), 1);
        let e = error_of(read_checks(text.as_bytes(), &catalogue));
        assert_eq!((e.line, e.column.clone()), (3, Some((5, "score".into()))), "{bad}: {e}");
        assert!(e.to_string().contains(why), "{e}");
    }
    // An unknown indicator, a bad month, a second check of the same estate and month.
    let e = error_of(read_checks(good.replacen("performance.2", "performance.9", 1).as_bytes(), &catalogue));
    assert_eq!(e.column, Some((4, "indicator_id".into())), "{e}");
    let e = error_of(read_checks(good.replacen("2024-03", "2024-3", 1).as_bytes(), &catalogue));
    assert_eq!((e.line, e.column.clone()), (2, Some((3, "month".into()))), "{e}");
    let second = format!("{good}{}", full_check_rows("C2", "E1", "2024-03", "4"));
    let e = error_of(read_checks(second.as_bytes(), &catalogue));
    assert!(matches!(&e.kind, RatingFault::SecondCheck { first_line: 2, .. }) && e.line == 22, "{e}");
    // A check whose rows disagree on the estate.
    let e = error_of(read_checks(
        good.replacen("C1,E1,2024-03,performance.3", "C1,E2,2024-03,performance.3", 1).as_bytes(),
        &catalogue,
    ));
    assert_eq!((e.line, e.column.clone()), (4, Some((2, "estate_id".into()))), "{e}");
    let e = error_of(read_checks(b"check_id,estate,month\n", &catalogue));
    assert!(e.to_string().contains("expected the header"), "{e}");
}

#[test]
fn bad_tickets_credit_and_catalogues_are_located() {
    let head = "ticket_id,estate_id,kind,opened_at,responded_at,closed_at\n";
    let good = format!("{head}T1,E1,repair,2024-03-01T08:00,2024-03-01T10:00,\nT2,E1,complaint,2024-03-01T08:00,,\n");
    let tickets = read_tickets(good.as_bytes()).unwrap();
    assert_eq!((tickets.len(), tickets[1].value.responded_at), (2, None));
    for (row, column, why) in [
        ("T3,E1,repair,2024-03-01 08:00,,", 4, "YYYY-MM-DDTHH:MM"),
        ("T3,E1,repair,2024-03-01T08:00,2024-03-01T25:00,", 5, "YYYY-MM-DDTHH:MM"),
        ("T3,E1,repair,2024-03-01T08:00,2024-03-01T07:59,", 5, "on or after opened_at"),
        ("T3,E1,repair,,,", 4, "YYYY-MM-DDTHH:MM"),
        ("T3,E1,leak,2024-03-01T08:00,,", 3, "`repair` or `complaint`"),
        ("T1,E1,repair,2024-03-01T08:00,,", 1, "duplicate id"),
    ] {
        let e = error_of(read_tickets(format!("{good}{row}\n").as_bytes()));
        assert_eq!(
            (e.file.as_str(), e.line, e.column.as_ref().map(|c| c.0)),
            ("tickets.csv", 4, Some(column)),
            "{row}: {e}"
        );
        assert!(e.to_string().contains(why), "{e}");
    }
    let credit_head = "company,year,score\n";
    assert_eq!(
        read_credit_scores(format!("{credit_head}甲物业,2024,89.95\n").as_bytes()).unwrap()[0].value.score,
        d("89.95")
    );
    for (row, column) in [("甲,2024,100.01", 3), ("甲,2024,89.955", 3), ("甲,24,80", 2), (",2024,80", 1)] {
        let e = error_of(read_credit_scores(format!("{credit_head}{row}\n").as_bytes()));
        assert_eq!(
            (e.file.as_str(), e.line, e.column.as_ref().map(|c| c.0)),
            ("credit_scores.csv", 2, Some(column)),
            "{row}: {e}"
        );
    }
    let ind_head = "indicator_id,dimension,name,max_points\n";
    let rows: String = (1..=10).map(|k| format!("x.{k},safety,指标{k},10\n")).collect();
    assert_eq!(read_indicators(format!("{ind_head}{rows}").as_bytes()).unwrap().indicators().len(), 10);
    let short: String = (1..=9).map(|k| format!("x.{k},safety,指标{k},10\n")).collect();
    let e = error_of(read_indicators(format!("{ind_head}{short}").as_bytes()));
    assert_eq!(
        (e.file.as_str(), e.line, e.column.clone()),
        ("indicators.csv", 10, Some((4, "max_points".into()))),
        "{e}"
    );
    assert!(e.to_string().contains("sum to 90, expected 100"), "{e}");
    let e = error_of(read_indicators(format!("{ind_head}{short}x.10,colour,指标,10\n").as_bytes()));
    assert_eq!((e.line, e.column.as_ref().map(|c| c.0)), (11, Some(2)), "{e}");
}

fn stored(estates: &[&str]) -> StoredRatings {
    StoredRatings {
        estates: estates.iter().map(|e| e.to_string()).collect(),
        companies: HashSet::from(["甲物业".to_owned()]),
        ..StoredRatings::default()
    }
}

#[test]
fn an_import_is_judged_against_the_store() {
    let checks = format!("{CHECK_HEAD}{}", full_check_rows("C1", "E1", "2024-03", "4.5"));
    let files = RatingBytes { checks: Some(checks.clone().into_bytes()), ..RatingBytes::default() };
    let e = error_of(plan_import(&stored(&["E2"]), &files));
    assert_eq!((e.line, e.column.clone()), (2, Some((2, "estate_id".into()))), "{e}");
    assert!(e.to_string().contains("estate `E1` is not registered"), "{e}");
    let mut store = stored(&["E1"]);
    let plan = plan_import(&store, &files).unwrap();
    assert_eq!((plan.checks.len(), plan.already_stored), (1, 0));
    // Record it, then the same file again is already stored; a changed score is refused.
    for s in &plan.checks[0].scores {
        let score = StoredScore {
            estate_id: "E1".into(),
            month: plan.checks[0].month,
            score: s.value.score,
            inspector: s.value.inspector.clone(),
        };
        store.scores.insert(("C1".into(), s.value.indicator_id.clone()), score);
    }
    store.check_of_month.insert(("E1".into(), plan.checks[0].month), "C1".into());
    let again = plan_import(&store, &files).unwrap();
    assert_eq!((again.checks.len(), again.already_stored), (0, 1));
    let changed = RatingBytes {
        checks: Some(checks.replacen("performance.1,4.5", "performance.1,4", 1).into_bytes()),
        ..files.clone()
    };
    let e = error_of(plan_import(&store, &changed));
    assert!(e.to_string().contains("score 4.5") && e.to_string().contains("score 4,"), "{e}");
    let other = RatingBytes { checks: Some(checks.replace("C1,", "C9,").into_bytes()), ..files.clone() };
    assert!(error_of(plan_import(&store, &other)).to_string().contains("check `C1`"));
    // A new catalogue once checks are stored is refused.
    let rows: String = (1..=10).map(|k| format!("x.{k},safety,指标{k},10\n")).collect();
    let catalogue = RatingBytes {
        indicators: Some(format!("indicator_id,dimension,name,max_points\n{rows}").into_bytes()),
        ..RatingBytes::default()
    };
    assert!(matches!(error_of(plan_import(&store, &catalogue)).kind, RatingFault::CatalogueFixed));
    assert!(plan_import(&stored(&["E1"]), &catalogue).unwrap().catalogue.is_some());
    // Credit scores: unknown company refused, changed score refused.
    let credit = |text: &str| RatingBytes {
        credit_scores: Some(format!("company,year,score\n{text}\n").into_bytes()),
        ..RatingBytes::default()
    };
    assert!(matches!(error_of(plan_import(&store, &credit("乙物业,2024,80"))).kind, RatingFault::UnknownCompany(_)));
    store.credit_scores.insert(("甲物业".into(), 2024), d("80"));
    assert_eq!(plan_import(&store, &credit("甲物业,2024,80.00")).unwrap().already_stored, 1);
    assert!(error_of(plan_import(&store, &credit("甲物业,2024,81"))).to_string().contains("already recorded as 80"));
}

/// A small random city: estates of two companies, each month's total from 0 to 100.
fn arb_case() -> impl Strategy<Value = (Vec<EstateFacts>, Vec<Check>, Vec<CreditScore>)> {
    let estate_months = proptest::collection::vec(proptest::option::of(0i64..=1000), 12);
    (proptest::collection::vec((estate_months, 1i64..500), 1..5), proptest::option::of(0i64..=10000)).prop_map(
        |(estates, credit_centi)| {
            let mut facts = Vec::new();
            let mut checks = Vec::new();
            for (k, (months, area)) in estates.into_iter().enumerate() {
                let id = format!("E{k}");
                let company = if k % 2 == 0 { "甲" } else { "乙" };
                facts.push(estate(&id, company, area));
                for (m, total) in months.into_iter().enumerate() {
                    if let Some(tenths) = total {
                        checks.push(check(&id, &format!("2024-{:02}", m + 1), &Decimal::new(tenths, 1).to_string()));
                    }
                }
            }
            let credit =
                credit_centi.map(|c| vec![credit("甲", 2024, &Decimal::new(c, 2).to_string())]).unwrap_or_default();
            (facts, checks, credit)
        },
    )
}

proptest! {
    #[test]
    fn stars_never_fall_as_the_total_rises(a in 0i64..=10000, b in 0i64..=10000) {
        let rules = Rules::default();
        let (low, high) = (Decimal::new(a.min(b), 2), Decimal::new(a.max(b), 2));
        prop_assert!(rules.stars(low) <= rules.stars(high));
        prop_assert!(rules.grade(low) >= rules.grade(high), "grades are ordered best first");
    }

    #[test]
    fn raising_a_score_never_lowers_the_total_or_the_stars((estates, checks, credit) in arb_case(), pick in any::<prop::sample::Index>()) {
        prop_assume!(!checks.is_empty());
        let mut case = Case::new(estates, checks);
        case.credit = credit;
        let before = case.publish(&Rules::default());
        let i = pick.index(case.checks.len());
        let score = case.checks[i].scores.iter_mut().find(|s| s.value.score < Decimal::from(5)).map(|s| &mut s.value.score);
        prop_assume!(score.is_some());
        *score.unwrap() += Decimal::new(1, 1);
        let after = case.publish(&Rules::default());
        let id = &case.checks[i].estate_id;
        let (b, a) = (rating(&before, id), rating(&after, id));
        prop_assert!(a.annual_total >= b.annual_total);
        prop_assert!(a.stars >= b.stars);
    }

    #[test]
    fn publishing_twice_or_in_another_order_gives_the_same_result((estates, checks, credit) in arb_case()) {
        let mut case = Case::new(estates, checks);
        case.credit = credit;
        let first = case.publish(&Rules::default());
        prop_assert_eq!(&first, &case.publish(&Rules::default()));
        case.estates.reverse();
        case.checks.reverse();
        prop_assert_eq!(&first, &case.publish(&Rules::default()));
        let json = serde_json::to_string(&first).unwrap();
        prop_assert_eq!(serde_json::from_str::<YearResult>(&json).unwrap(), first);
    }
}
