//! The demo loader: every step of its simulation is accepted by the domain, it covers the
//! branches of the lifecycle, and a seed always gives the same history.

use std::collections::BTreeMap;

use crate::helpers::{TestBackend, TestDatabase, on_both_backends};

type History = (Vec<(String, i64, String, String)>, BTreeMap<String, usize>);

async fn history(backend: TestBackend, seed: u64) -> History {
    let database = TestDatabase::new(backend).await;
    let report = whistle_demo::load_days(
        &database.url,
        seed,
        12,
        &whistle_domain::rules::CaseRules::default(),
        &mut |_| {},
    )
    .await
    .expect("the demo loads without a refusal");
    assert!(report.cases > 50, "{report}");
    let store = database.store().await;
    let events = store.read_all(0, 1_000_000).await.unwrap();
    assert_eq!(events.len() as i64, report.events);
    let mut counts = BTreeMap::new();
    let mut sequence = Vec::new();
    for event in events {
        *counts.entry(event.event_type.clone()).or_insert(0) += 1;
        sequence.push((
            event.stream_id.to_string(),
            event.stream_version,
            event.event_type,
            event.payload.to_string(),
        ));
    }
    (sequence, counts)
}

async fn the_demo_is_deterministic_for_a_seed_and_walks_the_lifecycle(backend: TestBackend) {
    let (first, counts) = history(backend, 7).await;
    let (second, _) = history(backend, 7).await;
    assert_eq!(first, second, "the same seed gives the same history");
    let (other, _) = history(backend, 8).await;
    assert_ne!(first, other, "another seed gives another history");
    for event_type in [
        "UnitRegistered",
        "PostFlagged",
        "CaseTriaged",
        "CaseAssigned",
        "AssignmentAccepted",
        "AssignmentReturned",
        "ReplySubmitted",
        "ReplyApproved",
        "ReplySentBack",
        "DeadlineApproaching",
        "DeadlineMissed",
        "AssignmentCompleted",
        "CaseClosed",
        "PenaltyApplied",
    ] {
        assert!(
            counts.get(event_type).copied().unwrap_or(0) > 0,
            "no {event_type} in {counts:?}"
        );
    }
}

on_both_backends!(the_demo_is_deterministic_for_a_seed_and_walks_the_lifecycle,);

/// The scorecards' facts per unit and day (kept by the projector) give the scorecards
/// computed from the assignments themselves, for every period and unit, and the same
/// facts whatever batches the log was applied in.
async fn scorecards_from_the_facts_equal_those_from_the_assignments(backend: TestBackend) {
    use chrono::{Duration, NaiveDate, TimeZone, Utc};
    use whistle_projections::queries as q;
    use whistle_projections::{dump_read_models, rebuild};

    let database = TestDatabase::new(backend).await;
    whistle_demo::load_days(
        &database.url,
        11,
        21,
        &whistle_domain::rules::CaseRules::default(),
        &mut |_| {},
    )
    .await
    .expect("the demo loads without a refusal");
    let store = database.store().await;
    rebuild(&store, 7).await.unwrap();
    let in_small_batches = dump_read_models(&store).await.unwrap();
    rebuild(&store, 1000).await.unwrap();
    let in_large_batches = dump_read_models(&store).await.unwrap();
    for table in ["rm_unit_day_facts", "rm_board_reach", "rm_assignments"] {
        assert!(!in_large_batches[table].is_empty(), "{table} is empty");
        assert_eq!(
            in_small_batches[table], in_large_batches[table],
            "{table} depends on the batches"
        );
    }

    let pool = store.database().pool();
    let reach = q::board_reach(pool).await.unwrap().expect("events applied");
    let as_of = reach + Duration::days(1);
    // The demo starts on 2025-11-17.
    let first = NaiveDate::from_ymd_opt(2025, 11, 17).unwrap();
    let mut periods = vec![(first, first + Duration::days(60))];
    for week in 0..5 {
        let from = first + Duration::days(7 * week);
        periods.push((from, from + Duration::days(7)));
    }
    periods.push((first + Duration::days(3), first + Duration::days(4)));
    let (mut counted, mut medians) = (0, 0);
    for (from, to) in periods {
        let facts = q::scorecards(pool, from, to, as_of, None).await.unwrap();
        let rows = q::scorecards_from_assignments(pool, from, to, as_of, None)
            .await
            .unwrap();
        assert_eq!(facts, rows, "scorecards for [{from}, {to})");
        for card in &facts {
            counted += card.counted_assignments;
            medians += i64::from(card.first_response_median_hours.is_some());
            let unit = whistle_domain::UnitId::parse(&card.unit_id).unwrap();
            let one = q::scorecards(pool, from, to, as_of, Some(&unit))
                .await
                .unwrap();
            assert_eq!(one, vec![card.clone()], "{}'s scorecard", card.unit_id);
        }
    }
    assert!(
        counted > 100 && medians > 10,
        "{counted} counted, {medians} medians"
    );

    // The live dashboard over all cases or whole days adds up the counts per day; the
    // history's rows that hold at the reach are grouped case by case.
    use whistle_domain::calendar::start_of_shanghai_day;
    let mut ranges = vec![(None, None)];
    for (from, to) in [(0, 7), (3, 4), (7, 60)] {
        ranges.push((
            Some(start_of_shanghai_day(first + Duration::days(from))),
            Some(start_of_shanghai_day(first + Duration::days(to))),
        ));
    }
    for (from, to) in ranges {
        let counted = q::dashboard(pool, reach, from, to).await.unwrap();
        let grouped = q::dashboard_as_of(pool, reach, from, to, &q::DashboardPart::ALL)
            .await
            .unwrap();
        assert_eq!(counted, grouped, "the dashboard over [{from:?}, {to:?})");
        assert!(counted.total_cases > 0 && !counted.by_category.is_empty());
    }
    // Before the reach the facts are not used: an instant in the demo's range is computed
    // from the assignments (and leaves out what came after it).
    let earlier = Utc.with_ymd_and_hms(2025, 11, 27, 0, 0, 0).unwrap();
    assert!(earlier < reach);
    let (from, to) = (first, first + Duration::days(60));
    let then = q::scorecards(pool, from, to, earlier, None).await.unwrap();
    assert_eq!(
        then,
        q::scorecards_from_assignments(pool, from, to, earlier, None)
            .await
            .unwrap()
    );
    assert_ne!(
        then.iter().map(|c| c.counted_assignments).sum::<i64>(),
        q::scorecards(pool, from, to, as_of, None)
            .await
            .unwrap()
            .iter()
            .map(|c| c.counted_assignments)
            .sum::<i64>()
    );
}

on_both_backends!(scorecards_from_the_facts_equal_those_from_the_assignments,);
