//! The store keeps a published year as published: later checks and publishing again change
//! nothing, and the tables refuse UPDATE and DELETE.

use ledger_core::actor::{Actor, Role};
use ledger_core::rating::{Catalogue, RatingBytes, Rules};
use ledger_core::Date;
use proptest::prelude::*;

use crate::Store;

fn checks_csv(rows: &[(&str, &str, &str, u32)]) -> Vec<u8> {
    let mut text = String::from("check_id,estate_id,month,indicator_id,score,inspector\n");
    for (check, estate, month, tenths) in rows {
        for i in Catalogue::standard().indicators() {
            text.push_str(&format!("{check},{estate},{month},{},{}.{},李\n", i.indicator_id, tenths / 10, tenths % 10));
        }
    }
    text.into_bytes()
}

async fn city(store: &Store, dir: &std::path::Path) -> Vec<String> {
    ledger_gen::generate(dir, ledger_gen::GenOptions { units: 60, seed: 3, faults: false }).unwrap();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let registry = ledger_core::import::RegistryFiles {
        estates: ledger_core::interchange::read_estates(&read("estates.csv")).unwrap(),
        buildings: ledger_core::interchange::read_buildings(&read("buildings.csv")).unwrap(),
        units: ledger_core::interchange::read_units(&read("units.csv")).unwrap(),
    };
    let estates = registry.estates.iter().map(|e| e.value.estate_id.clone()).collect();
    store.import(registry, None, &|_, _| {}).await.unwrap();
    estates
}

fn late_checks_change_nothing(months: Vec<(u8, u8, u32)>, late: (u8, u32)) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("r.db").display())).await.unwrap();
        let estates = city(&store, &dir.path().join("city")).await;
        let clerk = Actor::city("clerk", Role::Clerk).unwrap();
        let admin = Actor::city("admin", Role::Admin).unwrap();
        let mut rows = Vec::new();
        let mut taken = std::collections::HashSet::new();
        for (e, m, tenths) in &months {
            let estate = &estates[*e as usize % estates.len()];
            if taken.insert((estate.clone(), *m)) {
                rows.push((format!("C-{estate}-{m}"), estate.clone(), format!("2024-{m:02}"), *tenths));
            }
        }
        let refs: Vec<(&str, &str, &str, u32)> =
            rows.iter().map(|(c, e, m, t)| (c.as_str(), e.as_str(), m.as_str(), *t)).collect();
        let files = RatingBytes { checks: Some(checks_csv(&refs)), ..RatingBytes::default() };
        store.import_ratings(&files, &clerk).await.unwrap().unwrap();
        let on = Date::parse("2025-01-20").unwrap();
        let first = store.publish_ratings(2024, on, &Rules::default(), "", &admin).await.unwrap();
        assert!(first.newly);
        // A month no check had yet, arriving after publication.
        let (e, tenths) = late;
        let estate = &estates[e as usize % estates.len()];
        let month = (1..=12u8).find(|m| !taken.contains(&(estate.clone(), *m)));
        if let Some(m) = month {
            let late_file = checks_csv(&[("LATE", estate, &format!("2024-{m:02}"), tenths)]);
            let outcome = store
                .import_ratings(&RatingBytes { checks: Some(late_file), ..RatingBytes::default() }, &clerk)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(outcome.after_publication.len(), 1);
        }
        let again = store
            .publish_ratings(2024, Date::parse("2025-03-01").unwrap(), &Rules::default(), "", &admin)
            .await
            .unwrap();
        assert!(!again.newly);
        assert_eq!(again.result, first.result);
        assert_eq!(store.rating_year(2024).await.unwrap().unwrap().result, first.result);
        store.close().await;
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn a_check_after_publication_changes_no_published_figure(
        months in proptest::collection::vec((0u8..8, 1u8..=12, 0u32..=50), 1..12),
        late in (0u8..8, 0u32..=50),
    ) {
        late_checks_change_nothing(months, late);
    }
}

#[tokio::test]
async fn rating_rows_refuse_update_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("r.db").display())).await.unwrap();
    let estates = city(&store, &dir.path().join("city")).await;
    let clerk = Actor::city("clerk", Role::Clerk).unwrap();
    let files =
        RatingBytes { checks: Some(checks_csv(&[("C1", &estates[0], "2024-01", 45)])), ..RatingBytes::default() };
    store.import_ratings(&files, &clerk).await.unwrap().unwrap();
    let admin = Actor::city("admin", Role::Admin).unwrap();
    store.publish_ratings(2024, Date::parse("2025-01-20").unwrap(), &Rules::default(), "", &admin).await.unwrap();
    let crate::Pool::Sqlite(pool) = &store.pool else { unreachable!() };
    for sql in [
        "UPDATE rating_checks SET score_tenths = 50",
        "DELETE FROM rating_checks",
        "UPDATE rating_years SET result_json = '{}'",
        "DELETE FROM rating_years",
    ] {
        let error = sqlx::query(sql).execute(pool).await.unwrap_err().to_string();
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
}
