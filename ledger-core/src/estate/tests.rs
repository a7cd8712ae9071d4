use super::*;
use crate::actor::{Actor, CompanyId, Role, Scope, StreetOfficeId};

fn day(text: &str) -> Date {
    Date::parse(text).unwrap()
}

fn act(role: Role) -> Act {
    let actor = match role {
        Role::StreetOffice => Actor::new("李主任", role, Scope::StreetOffice(StreetOfficeId::new("东城街道"))).unwrap(),
        _ => Actor::city("王会计", role).unwrap(),
    };
    Act { actor, at: day("2026-05-01"), reason: "合同".into() }
}

fn offices() -> EstateOffices {
    EstateOffices {
        estate_id: "E1".into(),
        street_office: StreetOfficeId::new("东城街道"),
        company: CompanyId::new("绿城物业"),
    }
}

fn unit() -> UnitFound {
    UnitFound { unit_id: "U1".into(), estate: offices(), owner: "张三".into(), latest_change: None, closed: None }
}

fn refund_found(balance: i64) -> RefundFound {
    RefundFound {
        unit: unit(),
        balance: Money::from_fen(balance),
        last_posting: Some(day("2026-01-01")),
        entry_id_taken: false,
        banks: vec!["bank:6222".parse().unwrap()],
    }
}

#[test]
fn a_transfer_is_a_dated_version_by_a_clerk() {
    let plan = plan_transfer(&unit(), " 李四 ", day("2026-04-01"), &act(Role::Clerk)).unwrap();
    assert_eq!(
        plan.rows,
        [RegistryRow::Owner { unit_id: "U1".into(), owner: "李四".into(), effective_from: day("2026-04-01") }]
    );
    assert!(plan.answer.changed && plan.entries.is_empty());
    let same = plan_transfer(&unit(), "张三", day("2026-04-01"), &act(Role::Clerk)).unwrap();
    assert!(same.writes_nothing() && !same.answer.changed);
    assert!(matches!(
        plan_transfer(&unit(), "李四", day("2026-04-01"), &act(Role::StreetOffice)),
        Err(EstateError::Denied(_))
    ));
    assert_eq!(
        plan_transfer(&unit(), " ", day("2026-04-01"), &act(Role::Clerk)),
        Err(EstateError::Empty("new owner's name"))
    );
}

#[test]
fn a_change_dated_before_the_latest_one_is_refused() {
    let changed = UnitFound { latest_change: Some(day("2026-03-01")), ..unit() };
    let early = plan_transfer(&changed, "李四", day("2026-02-01"), &act(Role::Clerk));
    assert!(matches!(early, Err(EstateError::OutOfOrder { .. })), "{early:?}");
    assert!(plan_transfer(&changed, "李四", day("2026-03-01"), &act(Role::Clerk)).is_ok());
}

#[test]
fn a_move_names_what_changes() {
    let found = EstateFound { estate: offices(), latest_change: None };
    let change = Move { street_office: Some("西城街道".into()), company: None };
    let plan = plan_move(&found, &change, day("2026-06-01"), &act(Role::Admin)).unwrap();
    assert_eq!(
        plan.rows,
        [RegistryRow::Offices {
            estate_id: "E1".into(),
            street_office: "西城街道".into(),
            company: "绿城物业".into(),
            effective_from: day("2026-06-01")
        }]
    );
    assert!(plan.answer.message.contains("东城街道 → 西城街道"), "{}", plan.answer.message);
    assert_eq!(
        plan_move(&found, &Move::default(), day("2026-06-01"), &act(Role::Clerk)),
        Err(EstateError::NothingToMove)
    );
    let same = Move { street_office: Some("东城街道".into()), company: None };
    assert!(plan_move(&found, &same, day("2026-06-01"), &act(Role::Clerk)).unwrap().writes_nothing());
}

#[test]
fn a_refund_pays_the_whole_balance_to_the_bank_and_closes_the_unit() {
    let plan = plan_refund(&refund_found(12_345), "R1", day("2026-05-01"), &act(Role::Clerk)).unwrap();
    let entry = &plan.entries[0];
    assert_eq!(entry.kind(), EntryKind::Refund);
    assert_eq!(entry.postings()[0].account, Account::Unit("U1".into()));
    assert_eq!(entry.postings()[0].amount, Money::from_fen(12_345));
    assert_eq!(entry.postings()[1].account.to_string(), "bank:6222");
    assert_eq!(
        plan.rows,
        [RegistryRow::Closure { unit_id: "U1".into(), closed_on: day("2026-05-01"), entry_id: Some("R1".into()) }]
    );
    // Nothing to pay: closed without an entry.
    let empty = plan_refund(&refund_found(0), "R1", day("2026-05-01"), &act(Role::Clerk)).unwrap();
    assert!(empty.entries.is_empty() && empty.rows.len() == 1);
}

#[test]
fn a_refund_is_refused_when_it_cannot_be_whole() {
    let clerk = act(Role::Clerk);
    let at = day("2026-05-01");
    assert!(matches!(plan_refund(&refund_found(-5), "R1", at, &clerk), Err(EstateError::Overdrawn { .. })));
    let taken = RefundFound { entry_id_taken: true, ..refund_found(5) };
    assert_eq!(plan_refund(&taken, "R1", at, &clerk), Err(EstateError::EntryTaken("R1".into())));
    let later = RefundFound { last_posting: Some(day("2026-06-01")), ..refund_found(5) };
    assert!(matches!(plan_refund(&later, "R1", at, &clerk), Err(EstateError::PostingsAfter { .. })));
    let no_bank = RefundFound { banks: vec![], ..refund_found(5) };
    assert_eq!(plan_refund(&no_bank, "R1", at, &clerk), Err(EstateError::NoBankAccount));
    assert_eq!(plan_refund(&refund_found(5), "R 1", at, &clerk), Err(EstateError::BadEntryId("R 1".into())));
    let closure = Closure { closed_on: at, entry_id: Some("R1".into()) };
    let closed = RefundFound { unit: UnitFound { closed: Some(closure), ..unit() }, ..refund_found(0) };
    assert!(plan_refund(&closed, "R1", at, &clerk).unwrap().writes_nothing(), "the same refund again");
    assert!(matches!(plan_refund(&closed, "R2", at, &clerk), Err(EstateError::Closed { .. })));
    assert!(matches!(plan_transfer(&closed.unit, "李四", at, &clerk), Err(EstateError::Closed { .. })));
}

#[test]
fn postings_to_a_closed_unit_are_refused() {
    let plan = plan_refund(&refund_found(100), "R1", day("2026-05-01"), &act(Role::Clerk)).unwrap();
    let mut closed = ClosedUnits::new();
    assert_eq!(refuse_closed(&plan.entries, &closed), Ok(()));
    closed.insert("U1".into(), Closure { closed_on: day("2026-05-01"), entry_id: Some("R1".into()) });
    let refused = refuse_closed(&plan.entries, &closed).unwrap_err();
    assert!(refused.to_string().contains("U1") && refused.to_string().contains("2026-05-01"), "{refused}");
}
