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
