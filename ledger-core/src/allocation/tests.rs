use proptest::prelude::*;

use super::*;
use crate::actor::{Actor, Role};
use crate::registry::FloorArea;

fn day(text: &str) -> Date {
    Date::parse(text).unwrap()
}

fn fen(f: i64) -> Money {
    Money::from_fen(f)
}

fn clerk() -> Actor {
    Actor::city("王会计", Role::Clerk).unwrap()
}

fn request(entry_id: &str) -> Request {
    Request {
        source: Account::InterestIncome,
        date: day("2025-01-31"),
        entry_id: entry_id.into(),
        method: None,
        from: Some(day("2025-01-01")),
        to: None,
        amount: None,
        withhold_rate: None,
        scope: AllocationScope::City,
    }
}

fn unit(id: &str, centi_m2: i64, balance_now_fen: i64) -> UnitBasis {
    UnitBasis { unit_id: id.into(), area: FloorArea::from_centi_m2(centi_m2).unwrap(), balance_now_fen }
}

/// The hand-worked 积数 case, January 2025 (31 days), every figure written out:
///
/// - A: 1,000.00 deposited in December, untouched: 100,000 fen × 31 days = 3,100,000.
/// - B: 500.00 in December, another 500.00 deposited on 16 January (mid-period):
///   50,000 × 15 days (1–15 Jan) + 100,000 × 16 days (16–31 Jan) = 750,000 + 1,600,000 = 2,350,000.
/// - C: 300.00 in December; a drawdown of 400.00 on 10 January leaves it at −100.00 for a week,
///   until a top-up of 200.00 on 17 January brings it to 100.00:
///   30,000 × 9 days (1–9 Jan) + 0 × 7 days (10–16 Jan: negative, weighs 0) + 10,000 × 15 days
///   (17–31 Jan) = 270,000 + 0 + 150,000 = 420,000.
///
/// Total 5,870,000. 100.00 of interest: exact shares 52.8109…, 40.0341…, 7.1550… (in fen
/// 5,281.09, 4,003.41, 715.50); floors 5,281 + 4,003 + 715 = 9,999, the spare fen to the largest
/// remainder (C, .50): A 52.81, B 40.03, C 7.16, summing to 100.00.
fn hand_worked() -> (Vec<UnitBasis>, Vec<DayChange>) {
    let units = vec![unit("A", 9_000, 100_000), unit("B", 9_000, 100_000), unit("C", 9_000, 10_000)];
    let change = |unit: u32, date: &str, delta_fen: i64| DayChange { unit, date: day(date), delta_fen };
    let changes =
        vec![change(1, "2025-01-16", 50_000), change(2, "2025-01-10", -40_000), change(2, "2025-01-17", 20_000)];
    (units, changes)
}

#[test]
fn hand_worked_balance_days_with_a_negative_week() {
    let (units, changes) = hand_worked();
    let period = Period { from: day("2025-01-01"), to: day("2025-01-31") };
    let weights = weights(Method::BalanceDays, &units, &changes, Some(period)).unwrap();
    assert_eq!(weights, vec![3_100_000, 2_350_000, 420_000]);
    let found = Found {
        scope_exists: true,
        source_balance: fen(10_000),
        earliest_entry: Some(day("2024-12-01")),
        units,
        changes,
        ..Found::default()
    };
    let plan = plan_allocation(found, &request("ALLOC-2025-01"), &clerk(), day("2025-02-01")).unwrap();
    let a = &plan.answer.allocation;
    assert_eq!(
        (a.amount, a.withheld, a.allocated, a.units, a.weights_total),
        (fen(10_000), fen(0), fen(10_000), 3, 5_870_000)
    );
    let shares: Vec<(&str, u128, i64)> =
        a.shares.iter().map(|s| (s.unit_id.as_str(), s.weight, s.share.fen())).collect();
    assert_eq!(shares, vec![("A", 3_100_000, 5_281), ("B", 2_350_000, 4_003), ("C", 420_000, 716)]);
    assert_eq!((a.from, a.to), (Some(day("2025-01-01")), Some(day("2025-01-31"))));
    let entry = &plan.entries[0];
    assert_eq!(
        (entry.id(), entry.date(), entry.kind()),
        ("ALLOC-2025-01", day("2025-01-31"), crate::EntryKind::Allocation)
    );
    assert_eq!(entry.postings()[0].account, Account::InterestIncome);
    assert_eq!(entry.postings()[0].amount, fen(10_000));
    assert_eq!(entry.postings().len(), 4);
}

#[test]
fn closing_balance_and_area_weights() {
    let (units, changes) = hand_worked();
    let period = Period { from: day("2025-01-01"), to: day("2025-01-12") };
    // Closing balance at the end of 12 January: changes dated after it are handed over.
    let after: Vec<DayChange> = changes.iter().copied().filter(|c| c.date > period.to).collect();
    assert_eq!(weights(Method::ClosingBalance, &units, &after, Some(period)).unwrap(), vec![100_000, 50_000, 0]);
    assert_eq!(weights(Method::Area, &units, &[], None).unwrap(), vec![9_000, 9_000, 9_000]);
}

#[test]
fn withholding_rounds_half_up_at_the_half_fen() {
    let rate = |t: &str| WithholdRate::parse(t).unwrap();
    // 1,000 fen × 0.0125 = 12.5 fen → 13 (half up; banker's rounding would give 12).
    assert_eq!(rate("0.0125").withheld(fen(1_000)).unwrap(), fen(13));
    // 1,000 fen × 0.0185 = 18.5 → 19; 10,000 × 0.0185 = 185 exactly.
    assert_eq!(rate("0.0185").withheld(fen(1_000)).unwrap(), fen(19));
    assert_eq!(rate("0.0185").withheld(fen(10_000)).unwrap(), fen(185));
    // 0.4999 fen → 0.
    assert_eq!(rate("0.004999").withheld(fen(100)).unwrap(), fen(0));
    let (amount, withheld) = amount_and_withheld(&Account::InterestIncome, fen(1_000), None, rate("0.0125")).unwrap();
    assert_eq!((amount, withheld), (fen(1_000), fen(13)));
}

#[test]
fn bad_withhold_rates_are_refused() {
    for bad in ["1", "1.0", "-0.1", "0.1234567", "", ".5", "5.", "0,1", "1e-2", "NaN", " 0.1"] {
        assert!(matches!(WithholdRate::parse(bad), Err(AllocationError::BadWithholdRate { .. })), "{bad:?}");
    }
    for good in ["0", "0.0185", "0.999999", "0.000001"] {
        assert!(WithholdRate::parse(good).is_ok(), "{good}");
    }
    assert_eq!(WithholdRate::parse("0.018500").unwrap().to_string(), "0.0185");
}

fn found_with(units: Vec<UnitBasis>, balance: i64) -> Found {
    Found {
        scope_exists: true,
        source_balance: fen(balance),
        earliest_entry: Some(day("2024-12-01")),
        units,
        ..Found::default()
    }
}

#[test]
fn refusals_name_what_was_wrong() {
    let units = || vec![unit("A", 9_000, 100), unit("B", 9_000, 100)];
    let plan = |found: Found, r: Request| plan_allocation(found, &r, &clerk(), day("2025-02-01"));
    let too_much = Request { amount: Some(fen(1_001)), ..request("X") };
    assert_eq!(
        plan(found_with(units(), 1_000), too_much).unwrap_err(),
        AllocationError::MoreThanBalance { amount: fen(1_001), account: "income:interest".into(), balance: fen(1_000) }
    );
    let zero = Request { amount: Some(fen(0)), ..request("X") };
    assert_eq!(plan(found_with(units(), 1_000), zero).unwrap_err(), AllocationError::NotPositive(fen(0)));
    let negative = Request { amount: Some(fen(-5)), ..request("X") };
    assert_eq!(plan(found_with(units(), 1_000), negative).unwrap_err(), AllocationError::NotPositive(fen(-5)));
    assert!(matches!(plan(found_with(units(), 0), request("X")).unwrap_err(), AllocationError::NoBalance { .. }));
    let broke = vec![unit("A", 9_000, 0), unit("B", 9_000, -300)];
    assert_eq!(
        plan(found_with(broke, 1_000), request("X")).unwrap_err(),
        AllocationError::AllWeightsZero { method: Method::BalanceDays }
    );
    let estate = Request { scope: AllocationScope::Estate("E1".into()), ..request("X") };
    assert_eq!(plan(found_with(units(), 1_000), estate).unwrap_err(), AllocationError::ScopeWithoutAmount);
    let bank = Request { source: Account::Bank("1".into()), ..request("X") };
    assert!(matches!(plan(found_with(units(), 1_000), bank).unwrap_err(), AllocationError::BadSource(_)));
    let late = Request { to: Some(day("2025-02-01")), ..request("X") };
    assert!(matches!(plan(found_with(units(), 1_000), late).unwrap_err(), AllocationError::PeriodAfterDate { .. }));
    let area_period = Request { method: Some(Method::Area), ..request("X") };
    assert_eq!(plan(found_with(units(), 1_000), area_period).unwrap_err(), AllocationError::PeriodForArea);
    let all_kept = Request { withhold_rate: Some(WithholdRate::parse("0.5").unwrap()), ..request("X") };
    assert!(matches!(plan(found_with(units(), 1), all_kept).unwrap_err(), AllocationError::AllWithheld { .. }));
    let auditor = Actor::city("审计", Role::Auditor).unwrap();
    let denied = plan_allocation(found_with(units(), 1_000), &request("X"), &auditor, day("2025-02-01"));
    assert!(matches!(denied.unwrap_err(), AllocationError::Denied(_)));
    let taken = Found { entry_exists: true, ..found_with(units(), 1_000) };
    assert_eq!(plan(taken, request("X")).unwrap_err(), AllocationError::EntryIdTaken("X".into()));
}

#[test]
fn the_period_defaults_follow_the_last_allocation_or_the_first_entry() {
    let asked = Parameters::of(&Request { from: None, ..request("X") });
    let last = LastAllocation { entry_id: "ALLOC-2024".into(), to: day("2024-12-31") };
    let p = period_of(&asked, Some(&last), Some(day("2020-03-01"))).unwrap().unwrap();
    assert_eq!((p.from, p.to), (day("2025-01-01"), day("2025-01-31")));
    let p = period_of(&asked, None, Some(day("2020-03-01"))).unwrap().unwrap();
    assert_eq!(p.from, day("2020-03-01"));
    let covered = LastAllocation { entry_id: "ALLOC-JAN".into(), to: day("2025-01-31") };
    let empty = period_of(&asked, Some(&covered), None).unwrap_err();
    assert!(empty.to_string().contains("ALLOC-JAN") && empty.to_string().contains("--from"), "{empty}");
}

#[test]
fn the_same_allocation_again_answers_the_first_and_other_parameters_are_refused_showing_both() {
    let (units, changes) = hand_worked();
    let found = Found {
        scope_exists: true,
        source_balance: fen(10_000),
        earliest_entry: Some(day("2024-12-01")),
        units,
        changes,
        ..Found::default()
    };
    let asked = request("ALLOC-1");
    let first = plan_allocation(found.clone(), &asked, &clerk(), day("2025-02-01")).unwrap();
    let Row::Recorded { parameters, .. } = &first.rows[0];
    let record = Record { parameters: parameters.clone(), allocation: first.answer.allocation.clone() };
    // The ledger changed since (the allocation emptied the source): the repeat still matches.
    let later = Found { existing: Some(record), entry_exists: true, source_balance: fen(0), ..found };
    let again = plan_allocation(later.clone(), &asked, &clerk(), day("2025-02-02")).unwrap();
    assert!(again.writes_nothing());
    assert_eq!(again.answer, Outcome { allocation: first.answer.allocation.clone(), status: Status::AlreadyPosted });
    // Naming the amount the first one resolved to is the same allocation too.
    let explicit = Request { amount: Some(fen(10_000)), ..asked.clone() };
    assert!(plan_allocation(later.clone(), &explicit, &clerk(), day("2025-02-02")).unwrap().writes_nothing());
    let other = Request { amount: Some(fen(5_000)), ..asked };
    let refused = plan_allocation(later, &other, &clerk(), day("2025-02-02")).unwrap_err();
    let text = refused.to_string();
    assert!(text.contains("amount whole balance") && text.contains("amount 50.00"), "{text}");
}

#[test]
fn apportion_by_weight_keeps_the_floor_area_results() {
    use crate::apportion::{apportion, apportion_by_weight, ShareBasis};
    let basis = [
        ShareBasis { unit_id: "U3", area: FloorArea::from_centi_m2(100).unwrap() },
        ShareBasis { unit_id: "U1", area: FloorArea::from_centi_m2(250).unwrap() },
    ];
    let by_area = apportion(fen(1_001), &basis).unwrap();
    assert_eq!(apportion_by_weight(fen(1_001), &["U3", "U1"], &[100, 250]).unwrap(), by_area);
}

/// Random histories: per unit some changes before, inside and after the period.
fn histories() -> impl Strategy<Value = Vec<Vec<(i32, i64)>>> {
    let change = (-60i32..120, -50_000i64..80_000);
    prop::collection::vec(prop::collection::vec(change, 0..12), 1..12)
}

proptest! {
    #[test]
    fn balance_days_from_changes_equal_the_day_by_day_sum(history in histories(), start in 0i32..30, len in 1i32..60) {
        let base = day("2025-01-01").days_since_epoch();
        let period = Period {
            from: Date::from_days_since_epoch(base + start),
            to: Date::from_days_since_epoch(base + start + len - 1),
        };
        let mut units = Vec::new();
        let mut changes = Vec::new();
        for (index, own) in history.iter().enumerate() {
            let dated: Vec<(Date, i64)> = own.iter().map(|&(d, f)| (Date::from_days_since_epoch(base + d), f)).collect();
            units.push(unit(&format!("U{index:02}"), 100, dated.iter().map(|(_, f)| f).sum()));
            // As the store reads them: grouped by day, dated from F on, sorted by date.
            let mut by_day = std::collections::BTreeMap::new();
            for &(d, f) in dated.iter().filter(|(d, _)| *d >= period.from) {
                *by_day.entry(d).or_insert(0i64) += f;
            }
            changes.extend(by_day.into_iter().map(|(date, delta_fen)| DayChange { unit: index as u32, date, delta_fen }));
            let naive = balance_days_naive(&dated, period);
            let fast = weights(Method::BalanceDays, &units[index..=index], &changes.iter().filter(|c| c.unit == index as u32).map(|c| DayChange { unit: 0, ..*c }).collect::<Vec<_>>(), Some(period)).unwrap();
            prop_assert_eq!(fast, vec![naive]);
        }
        let all = weights(Method::BalanceDays, &units, &changes, Some(period)).unwrap();
        for (index, own) in history.iter().enumerate() {
            let dated: Vec<(Date, i64)> = own.iter().map(|&(d, f)| (Date::from_days_since_epoch(base + d), f)).collect();
            prop_assert_eq!(all[index], balance_days_naive(&dated, period));
        }
    }

    #[test]
    fn shares_sum_to_the_allocated_amount_each_within_a_fen_of_its_exact_share(
        balances in prop::collection::vec(-20_000i64..2_000_000, 1..40),
        amount in 1i64..10_000_000,
        rate_millionths in 0u32..999_999,
    ) {
        let units: Vec<UnitBasis> =
            balances.iter().enumerate().map(|(i, &b)| unit(&format!("U{i:03}"), 100, b)).collect();
        prop_assume!(balances.iter().any(|&b| b > 0));
        let rate = WithholdRate::parse(&format!("0.{rate_millionths:06}")).unwrap();
        prop_assume!(rate.withheld(fen(amount)).unwrap() < fen(amount));
        let r = Request { withhold_rate: Some(rate), ..request("P") };
        let plan = plan_allocation(found_with(units, amount), &r, &clerk(), day("2025-02-01")).unwrap();
        let a = &plan.answer.allocation;
        prop_assert_eq!(a.amount, fen(amount));
        prop_assert_eq!(a.withheld.fen() + a.allocated.fen(), amount);
        prop_assert_eq!(a.shares.iter().map(|s| s.share.fen()).sum::<i64>(), a.allocated.fen());
        let total = a.weights_total as i128;
        for s in &a.shares {
            prop_assert!(s.weight > 0);
            let gap = i128::from(s.share.fen()) * total - i128::from(a.allocated.fen()) * s.weight as i128;
            prop_assert!(gap.abs() < total, "{} off by more than a fen", s.unit_id);
        }
        let credited: i64 = plan.entries[0].postings()[1..].iter().map(|p| p.amount.fen()).sum();
        prop_assert_eq!(credited, a.allocated.fen());
        prop_assert!(a.shares.windows(2).all(|w| w[0].unit_id < w[1].unit_id));
    }
}
