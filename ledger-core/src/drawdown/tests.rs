//! Each drawdown rule with numbers from the rule itself, and the invariants as properties.

use proptest::prelude::*;

use super::*;
use crate::account::{Account, EntryKind};
use crate::entry::{Entry, Posting};

fn date(text: &str) -> Date {
    Date::parse(text).unwrap()
}

fn money(text: &str) -> Money {
    Money::parse(text).unwrap()
}

fn unit(id: &str, owner: &str, area: &str) -> Beneficiary {
    Beneficiary { unit_id: id.into(), owner: owner.into(), area: FloorArea::parse(area).unwrap() }
}

#[test]
fn only_the_emergency_list_takes_the_green_channel() {
    for category in Category::ALL {
        assert!(check_route(category, Route::Normal).is_ok());
        assert_eq!(check_route(category, Route::GreenChannel).is_ok(), category.is_emergency(), "{category}");
    }
    let refused = check_route(Category::ExteriorPainting, Route::GreenChannel).unwrap_err().to_string();
    assert!(refused.contains("exterior_painting") && refused.contains("normal route"), "{refused}");
    assert_eq!(Category::parse("fire_pipe_network"), Some(Category::FirePipeNetwork));
    assert_eq!(Category::parse("fire"), None);
}

#[test]
fn nothing_happens_before_filing() {
    assert!(check_acted_on(date("2026-11-20"), date("2026-11-20")).is_ok());
    let refused = check_acted_on(date("2026-11-20"), date("2026-11-19")).unwrap_err().to_string();
    assert!(refused.contains("2026-11-19") && refused.contains("2026-11-20"), "{refused}");
}

#[test]
fn a_rejection_needs_a_reason() {
    assert_eq!(check_rejection_reason("  "), Err(DrawdownError::NoReason));
    assert!(check_rejection_reason("quote missing").is_ok());
}

#[test]
fn the_decision_is_due_two_working_days_after_submission() {
    let none = BTreeSet::new();
    // Friday 2026-11-20: Monday and Tuesday are the two working days.
    assert_eq!(decision_due(date("2026-11-20"), &none), date("2026-11-24"));
    // Tuesday: Wednesday and Thursday.
    assert_eq!(decision_due(date("2026-11-17"), &none), date("2026-11-19"));
    // A public holiday on the Monday pushes it to Wednesday.
    let holidays: BTreeSet<Date> = [date("2026-11-23")].into_iter().collect();
    assert_eq!(decision_due(date("2026-11-20"), &holidays), date("2026-11-25"));
    // Overdue only after the due day, only while undecided, only on the green channel.
    let submitted = date("2026-11-20");
    assert!(!is_overdue(State::Submitted, Route::GreenChannel, submitted, date("2026-11-24"), &none));
    assert!(is_overdue(State::Submitted, Route::GreenChannel, submitted, date("2026-11-25"), &none));
    assert!(!is_overdue(State::Approved, Route::GreenChannel, submitted, date("2026-11-25"), &none));
    assert!(!is_overdue(State::Submitted, Route::Normal, submitted, date("2026-12-25"), &none));
}

#[test]
fn at_most_half_the_estimate_is_advanced() {
    let estimate = money("10000");
    assert!(check_advance(estimate, money("5000")).is_ok());
    let refused = check_advance(estimate, money("5000.01")).unwrap_err();
    assert_eq!(refused, DrawdownError::AdvanceTooLarge { amount: money("5000.01"), estimate, limit: money("5000") });
    // An odd estimate in fen: half of 0.03 is 0.015, so 0.01 may be advanced and 0.02 not.
    assert!(check_advance(money("0.03"), money("0.01")).is_ok());
    assert!(check_advance(money("0.03"), money("0.02")).is_err());
    assert!(check_advance(estimate, Money::ZERO).is_err());
}

#[test]
fn a_final_cost_over_ten_percent_needs_a_new_approval() {
    let estimate = money("10000");
    assert!(check_final_cost(estimate, money("5000"), money("11000")).is_ok());
    assert!(matches!(
        check_final_cost(estimate, money("5000"), money("11000.01")),
        Err(DrawdownError::OverEstimate { .. })
    ));
    assert!(matches!(
        check_final_cost(estimate, money("5000"), money("4999.99")),
        Err(DrawdownError::BelowAdvance { .. })
    ));
}

#[test]
fn a_revised_estimate_is_approved_before_completion_and_keeps_the_advance_within_half() {
    assert!(check_revision(State::Advanced, money("5000"), money("12000")).is_ok());
    assert!(check_revision(State::Approved, Money::ZERO, money("12000")).is_ok());
    assert!(check_revision(State::Advanced, money("5000"), money("9999.99")).is_err(), "5000 would exceed half");
    assert!(check_revision(State::Completed, money("5000"), money("12000")).is_err());
    assert!(check_revision(State::Submitted, Money::ZERO, money("12000")).is_err());
}

fn votes(pairs: &[(&str, Vote)]) -> BTreeMap<String, Vote> {
    pairs.iter().map(|(u, v)| (u.to_string(), *v)).collect()
}

#[test]
fn exactly_two_thirds_turnout_passes_and_just_under_fails() {
    let three = [unit("U1", "a", "100"), unit("U2", "b", "100"), unit("U3", "c", "100")];
    let two_yes = votes(&[("U1", Vote::Yes), ("U2", Vote::Yes)]);
    let t = tally(&three, &two_yes);
    assert_eq!((t.participating_area_centi_m2, t.total_area_centi_m2), (20_000, 30_000));
    assert!(t.passed, "exactly 2/3 of area and headcount took part: {t:?}");
    let larger_third = [unit("U1", "a", "100"), unit("U2", "b", "100"), unit("U3", "c", "100.01")];
    assert!(!tally(&larger_third, &two_yes).passed, "one hundredth of a m² under 2/3 of the area");
}

#[test]
fn more_than_half_must_say_yes_by_area_and_by_head() {
    let four = [unit("U1", "a", "100"), unit("U2", "b", "100"), unit("U3", "c", "100"), unit("U4", "d", "100")];
    // All take part; 2 yes of 4 is exactly half: not more than half.
    let half = votes(&[("U1", Vote::Yes), ("U2", Vote::Yes), ("U3", Vote::No), ("U4", Vote::Abstain)]);
    assert!(!tally(&four, &half).passed);
    let three = votes(&[("U1", Vote::Yes), ("U2", Vote::Yes), ("U3", Vote::Yes), ("U4", Vote::No)]);
    assert!(tally(&four, &three).passed);
    // Yes by area but not by head: one owner of a big unit against two small owners.
    let skewed = [unit("U1", "a", "300"), unit("U2", "b", "50"), unit("U3", "c", "50")];
    let t = tally(&skewed, &votes(&[("U1", Vote::Yes), ("U2", Vote::No), ("U3", Vote::No)]));
    assert!(t.yes_area_centi_m2 * 2 > t.participating_area_centi_m2 && t.yes_owners * 2 <= t.participating_owners);
    assert!(!t.passed);
}

#[test]
fn an_owner_of_two_units_counts_once() {
    let units = [unit("U1", "a", "100"), unit("U2", "a", "100"), unit("U3", "b", "100")];
    let t = tally(&units, &votes(&[("U1", Vote::Yes), ("U2", Vote::Yes)]));
    assert_eq!((t.total_owners, t.participating_owners, t.yes_owners), (2, 1, 1));
    assert!(!t.passed, "one owner of two is half the headcount, under 2/3");
}

#[test]
fn transitions_follow_the_states_and_repeats_are_recognised() {
    use Action::*;
    use State::*;
    assert_eq!(next_state(Submitted, Approve), Ok(Approved));
    assert_eq!(next_state(Submitted, Reject), Ok(Rejected));
    assert_eq!(next_state(Approved, Advance), Ok(Advanced));
    assert_eq!(next_state(Advanced, Complete), Ok(Completed));
    assert_eq!(next_state(Approved, Complete), Ok(Completed));
    assert_eq!(next_state(Completed, Settle), Ok(Settled));
    assert_eq!(next_state(Approved, Cancel), Ok(Cancelled));
    for (state, action) in
        [(Advanced, Cancel), (Rejected, Approve), (Settled, Cancel), (Submitted, Advance), (Cancelled, Approve)]
    {
        assert_eq!(next_state(state, action), Err(DrawdownError::Transition { action, state }));
    }
    assert!(already_done(Approved, Approve) && already_done(Advanced, Advance) && !already_done(Approved, Advance));
}

#[test]
fn a_short_unit_is_charged_in_an_emergency_and_refused_on_the_normal_route() {
    let units = [unit("U1", "a", "50"), unit("U2", "b", "150")];
    let balance = |id: &str| if id == "U1" { money("100") } else { money("10000") };
    let split = split_payment(Route::GreenChannel, money("1000"), &units, balance).unwrap();
    assert_eq!(split.shares, vec![("U1".to_owned(), money("250")), ("U2".to_owned(), money("750"))]);
    assert_eq!(
        split.shortfalls,
        vec![Shortfall { unit_id: "U1".into(), share: money("250"), balance: money("100"), missing: money("150") }]
    );
    let refused = split_payment(Route::Normal, money("1000"), &units, balance).unwrap_err();
    assert!(refused.to_string().contains("U1 short by 150.00"), "{refused}");
}

/// The entry a payment posts: each unit debited its share, the bank credited the payment.
fn payment_entry(split: &PaymentSplit, amount: Money) -> Result<Entry, crate::entry::EntryError> {
    let mut postings: Vec<Posting> = split
        .shares
        .iter()
        .filter(|(_, s)| s.is_positive())
        .map(|(u, s)| Posting::debit(Account::Unit(u.clone()), *s, ""))
        .collect();
    postings.push(Posting::credit(Account::Bank("1".into()), amount, ""));
    Entry::new("P1", date("2026-01-01"), EntryKind::Payment, None, postings)
}

fn beneficiaries() -> impl Strategy<Value = Vec<Beneficiary>> {
    prop::collection::vec((1i64..20_000, 0usize..5), 1..40).prop_map(|units| {
        units
            .iter()
            .enumerate()
            .map(|(i, &(area, owner))| Beneficiary {
                unit_id: format!("U{i:03}"),
                owner: format!("O{owner}"),
                area: FloorArea::from_centi_m2(area).unwrap(),
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn every_payment_posts_a_balanced_entry_whose_shares_sum_to_it(units in beneficiaries(), fen in 1i64..1_000_000_000, green in any::<bool>()) {
        let route = if green { Route::GreenChannel } else { Route::Normal };
        let rich = |_: &str| Money::from_fen(i64::MAX / 4);
        let split = split_payment(route, Money::from_fen(fen), &units, rich).unwrap();
        prop_assert_eq!(split.shares.iter().map(|(_, s)| s.fen()).sum::<i64>(), fen);
        prop_assert!(payment_entry(&split, Money::from_fen(fen)).is_ok());
    }

    /// Random drawdowns driven through random actions: the fund (sum of unit balances) always
    /// equals deposits minus payments; the normal route never overdraws a unit, and refuses a
    /// payment only for a real shortfall, naming exactly the units that the same payment charged
    /// regardless (as on the green channel) would leave short.
    #[test]
    fn the_fund_is_deposits_minus_payments_after_any_transitions(
        units in beneficiaries(), deposit in 0i64..5_000_000, estimate in 1i64..10_000_000, actions in prop::collection::vec((0u8..6, 1i64..6_000_000), 1..12), green in any::<bool>()
    ) {
        let route = if green { Route::GreenChannel } else { Route::Normal };
        let mut balances: BTreeMap<String, i64> = units.iter().map(|u| (u.unit_id.clone(), deposit)).collect();
        let deposits = deposit * units.len() as i64;
        let (mut state, mut paid, mut advanced, mut final_cost) = (State::Submitted, 0i64, 0i64, None);
        for (pick, fen) in actions {
            let action = [Action::Approve, Action::Reject, Action::Advance, Action::Complete, Action::Settle, Action::Cancel][pick as usize];
            let Ok(next) = next_state(state, action) else { continue };
            let payment = match action {
                Action::Advance => check_advance(Money::from_fen(estimate), Money::from_fen(fen)).ok().map(|_| fen),
                Action::Complete => {
                    if check_final_cost(Money::from_fen(estimate), Money::from_fen(advanced), Money::from_fen(fen)).is_err() { continue }
                    final_cost = Some(fen);
                    None
                }
                Action::Settle => final_cost.map(|f| f - advanced).filter(|rest| *rest > 0),
                _ => None,
            };
            if action == Action::Advance && payment.is_none() { continue }
            if let Some(amount) = payment {
                let balance_of = |id: &str| Money::from_fen(balances[id]);
                match split_payment(route, Money::from_fen(amount), &units, balance_of) {
                    Ok(split) => {
                        for (id, share) in &split.shares { *balances.get_mut(id).unwrap() -= share.fen(); }
                        if route == Route::Normal {
                            prop_assert!(balances.values().all(|&b| b >= 0), "the normal route overdrew a unit: {:?}", balances);
                        }
                        paid += amount;
                        if action == Action::Advance { advanced = amount; }
                    }
                    Err(DrawdownError::Shortfall(refused)) => {
                        prop_assert_eq!(route, Route::Normal, "the green channel charges short units, never refuses");
                        let charged = split_payment(Route::GreenChannel, Money::from_fen(amount), &units, balance_of).unwrap();
                        prop_assert_eq!(&refused, &charged.shortfalls);
                        prop_assert!(!refused.is_empty());
                        for short in &refused {
                            prop_assert!(short.balance < short.share && short.missing.is_positive(), "{:?}", short);
                        }
                        continue
                    }
                    Err(e) => return Err(TestCaseError::fail(e.to_string())),
                }
            }
            state = next;
        }
        prop_assert_eq!(balances.values().sum::<i64>(), deposits - paid);
    }
}

#[test]
fn drawdown_ids_leave_room_for_their_payment_entries() {
    let longest = "D".repeat(MAX_DRAWDOWN_ID_LEN);
    assert_eq!(check_drawdown_id(&longest), Ok(()));
    assert!(crate::account::is_valid_id(&format!("DD-{longest}-advance")));
    for bad in [format!("{longest}D"), String::new(), "<img src=x onerror=alert(1)>".to_owned(), "a b".to_owned()] {
        assert!(matches!(check_drawdown_id(&bad), Err(DrawdownError::BadId(_))), "{bad:?} accepted");
    }
}

/// Review of the one-door change: a building id with surrounding spaces was counted trimmed but
/// filed untrimmed, so the drawdown was filed for no units at all.
#[test]
fn a_building_id_with_spaces_files_the_building_it_names() {
    use crate::actor::{Actor, CompanyId, EstateOffices, Role, StreetOfficeId};
    let estate = EstateOffices {
        estate_id: "E1".into(),
        street_office: StreetOfficeId::new("东城"),
        company: CompanyId::new("物业"),
    };
    let app = Application {
        drawdown_id: "D1".into(),
        estate_id: "E1".into(),
        scope: ScopeRequest::Building(" B1 ".into()),
        category: Category::Elevator,
        route: Route::GreenChannel,
        estimate: money("100"),
        contractor: "C".into(),
        description: String::new(),
        applicant: "x".into(),
        submitted_on: date("2026-11-20"),
    };
    let act = Act { actor: Actor::city("clerk", Role::Clerk).unwrap(), at: date("2026-11-20"), reason: String::new() };
    let found = ApplyFound { existing: None, estate: Some(estate), scope: ScopeFound::Counted(3) };
    let plan = plan::plan_apply(found, &app, &act).unwrap();
    assert!(plan.rows.contains(&Row::UnitsOf { estate_id: "E1".into(), building: Some("B1".into()) }), "{plan:?}");
    assert_eq!(plan.answer.message, "filed for 3 units");
}

/// Item 9 of issue 11: the tally summed floor areas in i64, which a release build wraps; 100
/// units of the largest area pass i64 and the vote is still counted exactly.
#[test]
fn a_tally_past_the_range_of_i64_areas_counts_exactly() {
    let largest = "1000000000000000";
    let units: Vec<Beneficiary> = (0..100).map(|k| unit(&format!("U{k:03}"), &format!("O{k}"), largest)).collect();
    let votes: BTreeMap<String, Vote> = (0..70).map(|k| (format!("U{k:03}"), Vote::Yes)).collect();
    let counted = tally(&units, &votes);
    assert!(counted.passed, "70 of 100 equal units took part and said yes: {counted:?}");
    assert_eq!(counted.total_area_centi_m2, i64::MAX, "shown as the largest figure");
    let too_few: BTreeMap<String, Vote> = (0..66).map(|k| (format!("U{k:03}"), Vote::Yes)).collect();
    assert!(!tally(&units, &too_few).passed, "66 of 100 is short of 2/3");
}
