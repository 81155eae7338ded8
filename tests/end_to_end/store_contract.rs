//! The event store's contract, on a real SQLite file and a real PostgreSQL database.

use crate::helpers::{TestBackend, TestDatabase, on_both_backends};
use chrono::Utc;
use uuid::Uuid;
use whistle_domain::text::RequiredText;
use whistle_domain::{
    Actor, CaseId, CommandId, Event, PostUrl, Role, StreamId, UniqueKey, UnitId, UserId,
};
use whistle_store::{AppendRequest, CommandMetadata, EventStore, ExpectedVersion, StoreError};

async fn fresh_store(backend: TestBackend) -> (EventStore, TestDatabase) {
    let database = TestDatabase::new(backend).await;
    (database.store().await, database)
}

fn metadata() -> CommandMetadata {
    CommandMetadata {
        actor: Actor::new(
            UserId::parse("d1").unwrap(),
            "王研判",
            Role::Dispatcher,
            UnitId::parse("city-cac").unwrap(),
        )
        .unwrap(),
        command_id: CommandId::from_uuid(Uuid::now_v7()),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        recorded_at: Utc::now(),
        fingerprint: None,
    }
}

fn reopened(case_id: CaseId, reason: &str) -> Event {
    Event::CaseReopened {
        case_id,
        reason: RequiredText::parse("reason", reason).unwrap(),
    }
}

/// The case stream a test calls `name`: the same name is the same stream.
fn stream(name: &str) -> StreamId {
    StreamId::Case(CaseId::from_uuid(Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        name.as_bytes(),
    )))
}

fn post_url_claim(url: &str) -> UniqueKey {
    UniqueKey::PostUrl(PostUrl::parse(url).unwrap())
}

fn request(name: &str, expected: ExpectedVersion, events: Vec<Event>) -> AppendRequest {
    AppendRequest {
        stream_id: stream(name),
        expected_version: expected,
        events,
        metadata: metadata(),
        claims: vec![],
        erases_personal_data_of: None,
    }
}

async fn an_append_with_a_stale_expected_version_is_refused_and_writes_nothing(
    backend: TestBackend,
) {
    let (store, _dir) = fresh_store(backend).await;
    let case = CaseId::from_uuid(Uuid::now_v7());
    store
        .append(request(
            "case-a",
            ExpectedVersion::NoStream,
            vec![reopened(case, "一")],
        ))
        .await
        .unwrap();
    let conflict = store
        .append(request(
            "case-a",
            ExpectedVersion::NoStream,
            vec![reopened(case, "二")],
        ))
        .await;
    assert!(
        matches!(conflict, Err(StoreError::VersionConflict { actual: 1, .. })),
        "{conflict:?}"
    );
    let conflict = store
        .append(request(
            "case-a",
            ExpectedVersion::Exact(5),
            vec![reopened(case, "三")],
        ))
        .await;
    assert!(matches!(conflict, Err(StoreError::VersionConflict { .. })));
    assert_eq!(store.read_stream(&stream("case-a")).await.unwrap().len(), 1);
    assert_eq!(store.head_position().await.unwrap(), 1);
    let empty = store
        .append(request("case-a", ExpectedVersion::Exact(1), vec![]))
        .await;
    assert!(matches!(empty, Err(StoreError::EmptyAppend)), "{empty:?}");
}

async fn several_events_append_atomically_with_consecutive_positions_and_versions(
    backend: TestBackend,
) {
    let (store, _dir) = fresh_store(backend).await;
    let case = CaseId::from_uuid(Uuid::now_v7());
    let events = vec![
        reopened(case, "一"),
        reopened(case, "二"),
        reopened(case, "三"),
    ];
    let outcome = store
        .append(request("case-b", ExpectedVersion::NoStream, events))
        .await
        .unwrap();
    assert_eq!(
        (
            outcome.first_position,
            outcome.last_position,
            outcome.stream_version
        ),
        (1, 3, 3)
    );
    let stream = store.read_stream(&stream("case-b")).await.unwrap();
    let versions: Vec<i64> = stream.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, vec![1, 2, 3]);
    // A refused batch leaves no partial trace.
    let refused = store
        .append(request(
            "case-b",
            ExpectedVersion::Exact(2),
            vec![reopened(case, "四"), reopened(case, "五")],
        ))
        .await;
    assert!(refused.is_err());
    assert_eq!(store.read_all(0, 100).await.unwrap().len(), 3);
}

async fn a_retried_command_id_returns_the_first_outcome_and_appends_nothing(backend: TestBackend) {
    let (store, _dir) = fresh_store(backend).await;
    let case = CaseId::from_uuid(Uuid::now_v7());
    let first = request(
        "case-c",
        ExpectedVersion::NoStream,
        vec![reopened(case, "一")],
    );
    let mut retry = first.clone();
    retry.expected_version = ExpectedVersion::Exact(7);
    let outcome = store.append(first).await.unwrap();
    let replay = store.append(retry).await.unwrap();
    assert!(!outcome.replayed);
    assert!(replay.replayed);
    assert_eq!(
        (
            replay.first_position,
            replay.last_position,
            replay.stream_id.clone()
        ),
        (1, 1, stream("case-c"))
    );
    assert_eq!(store.head_position().await.unwrap(), 1);
}

async fn global_positions_have_no_gaps_across_streams_and_read_in_batches_from_any_position(
    backend: TestBackend,
) {
    let (store, _dir) = fresh_store(backend).await;
    let case = CaseId::from_uuid(Uuid::now_v7());
    for i in 0..25 {
        let stream = format!("case-s{}", i % 4);
        let version = store
            .read_stream(&self::stream(&stream))
            .await
            .unwrap()
            .len() as i64;
        let expected = if version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(version)
        };
        store
            .append(request(
                &stream,
                expected,
                vec![reopened(case, &format!("第{i}次"))],
            ))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let batch = store.read_all(after, 7).await.unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 7);
        after = batch.last().unwrap().position;
        seen.extend(batch.into_iter().map(|e| e.position));
    }
    assert_eq!(seen, (1..=25).collect::<Vec<i64>>());
    let from_middle: Vec<i64> = store
        .read_all(20, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(from_middle, vec![21, 22, 23, 24, 25]);
}

async fn a_unique_key_claimed_by_one_stream_is_refused_to_another_and_nothing_is_written(
    backend: TestBackend,
) {
    let (store, _dir) = fresh_store(backend).await;
    let case = CaseId::from_uuid(Uuid::now_v7());
    let claim = post_url_claim("https://weibo.com/1");
    let mut first = request(
        "case-x",
        ExpectedVersion::NoStream,
        vec![reopened(case, "一")],
    );
    first.claims = vec![claim.clone()];
    store.append(first).await.unwrap();
    let mut second = request(
        "case-y",
        ExpectedVersion::NoStream,
        vec![reopened(case, "二")],
    );
    second.claims = vec![claim];
    let refused = store.append(second).await;
    assert!(
        matches!(&refused, Err(StoreError::ClaimTaken { owner, .. }) if *owner == stream("case-x").to_string()),
        "{refused:?}"
    );
    assert!(
        store
            .read_stream(&stream("case-y"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn stored_events_keep_their_metadata_and_cannot_be_updated_or_deleted(backend: TestBackend) {
    let (store, _dir) = fresh_store(backend).await;
    let case = CaseId::from_uuid(Uuid::now_v7());
    let req = request(
        "case-m",
        ExpectedVersion::NoStream,
        vec![reopened(case, "一")],
    );
    let metadata = req.metadata.clone();
    store.append(req).await.unwrap();
    let event = store.read_all(0, 1).await.unwrap().remove(0);
    assert_eq!(event.actor, metadata.actor);
    assert_eq!(event.command_id, metadata.command_id);
    assert_eq!(event.correlation_id, metadata.correlation_id);
    assert_eq!(
        event.recorded_at.timestamp_micros(),
        metadata.recorded_at.timestamp_micros()
    );
    assert_eq!(event.event_id.get_version_num(), 7);
    assert_eq!(event.event().unwrap(), reopened(case, "一"));
    let pool = store.database().pool();
    let update = sqlx::query("UPDATE events SET payload = '{}' WHERE position = 1")
        .execute(pool)
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM events WHERE position = 1")
        .execute(pool)
        .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    if backend == TestBackend::Postgres {
        let truncate = sqlx::query("TRUNCATE events").execute(pool).await;
        assert!(truncate.unwrap_err().to_string().contains("append-only"));
    }
    assert_eq!(store.read_all(0, 10).await.unwrap().len(), 1);
}

async fn concurrent_writers_to_one_stream_never_interleave_versions(backend: TestBackend) {
    let (store, _dir) = fresh_store(backend).await;
    let case = CaseId::from_uuid(Uuid::now_v7());
    store
        .append(request(
            "case-race",
            ExpectedVersion::NoStream,
            vec![reopened(case, "起")],
        ))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .append(request(
                    "case-race",
                    ExpectedVersion::Exact(1),
                    vec![reopened(case, &format!("{i}"))],
                ))
                .await
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::VersionConflict { .. }) => {}
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert_eq!(won, 1, "exactly one writer wins version 2");
    assert_eq!(
        store.read_stream(&stream("case-race")).await.unwrap().len(),
        2
    );
}

/// Eight writers, each with its own connection pool (as separate processes would be),
/// append to their own streams and to three shared ones while a tailer follows the
/// global log in small batches.
async fn a_tailer_sees_every_committed_event_once_in_one_order_under_eight_writers(
    backend: TestBackend,
) {
    use std::collections::{BTreeMap, HashSet};

    const WRITERS: usize = 8;
    const APPENDS: usize = 150;
    let database = TestDatabase::new(backend).await;
    let tail_store = database.store().await;
    let shared = ["case-shared-0", "case-shared-1", "case-shared-2"];
    let case = CaseId::from_uuid(Uuid::now_v7());

    // Told the final head once every writer is done; until then it keeps tailing.
    let (writers_done, done) = tokio::sync::watch::channel(None::<i64>);
    let tailer = {
        let store = tail_store.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut after = 0;
            loop {
                let batch = store.read_all(after, 37).await.unwrap();
                if batch.is_empty() {
                    if done.borrow().is_some_and(|head| after >= head) {
                        return seen;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    continue;
                }
                for event in batch {
                    after = event.position;
                    seen.push((event.position, event.event_id));
                }
            }
        })
    };

    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let store = database.store().await;
        writers.push(tokio::spawn(async move {
            let own = [format!("case-w{writer}-a"), format!("case-w{writer}-b")];
            let mut known: BTreeMap<String, i64> = BTreeMap::new();
            let mut committed = Vec::new();
            let mut refused = Vec::new();
            for i in 0..APPENDS {
                let stream = if i % 3 == 0 {
                    shared[(i / 3 + writer) % shared.len()].to_owned()
                } else {
                    own[i % 2].clone()
                };
                let size = 1 + (i + writer) % 3;
                let markers: Vec<String> =
                    (0..size).map(|k| format!("w{writer}-{i}-{k}")).collect();
                let events = markers.iter().map(|m| reopened(case, m)).collect();
                let expected = match known.get(&stream) {
                    None | Some(0) => ExpectedVersion::NoStream,
                    Some(v) => ExpectedVersion::Exact(*v),
                };
                match store.append(request(&stream, expected, events)).await {
                    Ok(outcome) => {
                        known.insert(stream.clone(), outcome.stream_version);
                        committed.push((stream, outcome, markers));
                    }
                    Err(StoreError::VersionConflict { actual, .. }) => {
                        known.insert(stream.clone(), actual);
                        refused.push(markers);
                    }
                    Err(other) => panic!("writer {writer}: unexpected error {other}"),
                }
            }
            (committed, refused)
        }));
    }
    let mut committed = Vec::new();
    let mut refused = Vec::new();
    for writer in writers {
        let (c, r) = writer.await.unwrap();
        committed.extend(c);
        refused.extend(r);
    }
    let head = tail_store.head_position().await.unwrap();
    writers_done.send_replace(Some(head));
    let seen = tailer.await.unwrap();
    let log = tail_store.read_all(0, 1_000_000).await.unwrap();

    // The tailer saw 1, 2, 3, ... head: every event once, none skipped, none repeated,
    // and exactly the order that the log still has.
    assert_eq!(log.len() as i64, head);
    let positions: Vec<i64> = seen.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        positions,
        (1..=head).collect::<Vec<_>>(),
        "the tailer skipped or repeated"
    );
    let final_order: Vec<(i64, Uuid)> = log.iter().map(|e| (e.position, e.event_id)).collect();
    assert_eq!(seen, final_order, "an order the tailer read has changed");

    // Every committed append is in the log whole and contiguous; every refused one is
    // absent entirely; shared streams really did conflict.
    let text_at: BTreeMap<i64, String> = log
        .iter()
        .map(|e| {
            (
                e.position,
                e.payload["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut expected_events = 0;
    for (stream, outcome, markers) in &committed {
        expected_events += markers.len() as i64;
        assert_eq!(
            outcome.last_position - outcome.first_position + 1,
            markers.len() as i64
        );
        for (offset, marker) in markers.iter().enumerate() {
            let position = outcome.first_position + offset as i64;
            assert_eq!(
                &text_at[&position], marker,
                "{stream}: append not whole at {position}"
            );
        }
    }
    assert_eq!(
        expected_events, head,
        "only committed appends are in the log"
    );
    let all_texts: HashSet<&String> = text_at.values().collect();
    assert!(!refused.is_empty(), "the shared streams produced conflicts");
    for markers in &refused {
        for marker in markers {
            assert!(
                !all_texts.contains(marker),
                "refused append half-written: {marker}"
            );
        }
    }
    // Versions within each stream are 1..n in log order.
    let mut versions: BTreeMap<&StreamId, i64> = BTreeMap::new();
    for event in &log {
        let next = versions.entry(&event.stream_id).or_insert(0);
        *next += 1;
        assert_eq!(
            event.stream_version, *next,
            "stream {} out of order",
            event.stream_id
        );
    }
}

/// Many appends at once through one store are committed in groups; each is still judged
/// on its own: conflicts, replays and claims inside one group behave as if the appends
/// had come one by one, and an append the database rejects fails alone.
async fn appends_committed_together_are_each_judged_on_their_own(backend: TestBackend) {
    let (store, _database) = fresh_store(backend).await;
    let case = CaseId::from_uuid(Uuid::now_v7());
    let retried = metadata();
    let mut tasks = Vec::new();
    for i in 0..48 {
        let store = store.clone();
        let retried = retried.clone();
        tasks.push(tokio::spawn(async move {
            let mut req = match i {
                // Sixteen distinct streams: all accepted.
                0..16 => request(
                    &format!("case-d{i}"),
                    ExpectedVersion::NoStream,
                    vec![reopened(case, "独立")],
                ),
                // Eight writers race for one new stream: one wins.
                16..24 => request(
                    "case-contended",
                    ExpectedVersion::NoStream,
                    vec![reopened(case, "争")],
                ),
                // One command sent eight times: appended once, replayed seven times.
                24..32 => {
                    let mut req = request(
                        "case-retried",
                        ExpectedVersion::NoStream,
                        vec![reopened(case, "重试")],
                    );
                    req.metadata = retried;
                    req
                }
                // Eight streams claim one URL: one gets it.
                32..40 => {
                    let mut req = request(
                        &format!("case-claim{i}"),
                        ExpectedVersion::NoStream,
                        vec![reopened(case, "认领")],
                    );
                    req.claims = vec![post_url_claim("https://weibo.com/same")];
                    req
                }
                // Eight more distinct streams, one of which the database itself may
                // reject (PostgreSQL refuses a NUL character in text: here, in the
                // actor's name, which nothing before the store has checked).
                _ => request(
                    &format!("case-e{i}"),
                    ExpectedVersion::NoStream,
                    vec![reopened(case, "独立")],
                ),
            };
            if i == 47 {
                req.metadata.actor.name = "王\0研判".to_owned();
            }
            (i, store.append(req).await)
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let count = |range: std::ops::Range<usize>, ok: bool| {
        results
            .iter()
            .filter(|(i, r)| range.contains(i) && r.is_ok() == ok)
            .count()
    };
    assert_eq!(count(0..16, true), 16);
    assert_eq!(
        count(16..24, true),
        1,
        "one writer creates the contended stream"
    );
    assert!(
        results
            .iter()
            .filter(|(i, _)| (16..24).contains(i))
            .all(|(_, r)| matches!(
                r,
                Ok(_) | Err(StoreError::VersionConflict { actual: 1, .. })
            ))
    );
    let retried_outcomes: Vec<&whistle_store::AppendOutcome> = results
        .iter()
        .filter(|(i, _)| (24..32).contains(i))
        .map(|(_, r)| r.as_ref().expect("a retried command succeeds"))
        .collect();
    assert_eq!(retried_outcomes.iter().filter(|o| !o.replayed).count(), 1);
    assert!(
        retried_outcomes
            .iter()
            .all(|o| o.first_position == retried_outcomes[0].first_position)
    );
    assert_eq!(count(32..40, true), 1, "one stream gets the URL");
    assert!(
        results
            .iter()
            .filter(|(i, _)| (32..40).contains(i))
            .all(|(_, r)| matches!(r, Ok(_) | Err(StoreError::ClaimTaken { .. })))
    );
    assert_eq!(count(40..47, true), 7);
    let odd_one = &results.iter().find(|(i, _)| *i == 47).unwrap().1;
    match backend {
        TestBackend::Sqlite => assert!(odd_one.is_ok(), "{odd_one:?}"),
        TestBackend::Postgres => assert!(
            matches!(odd_one, Err(StoreError::Database(_))),
            "{odd_one:?}"
        ),
    }
    // Exactly the accepted appends are in the log, gapless.
    let accepted = results
        .iter()
        .filter(|(_, r)| r.as_ref().is_ok_and(|o| !o.replayed))
        .count();
    let log = store.read_all(0, 1000).await.unwrap();
    assert_eq!(log.len(), accepted);
    assert_eq!(
        log.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=accepted as i64).collect::<Vec<_>>()
    );
}

on_both_backends!(
    appends_committed_together_are_each_judged_on_their_own,
    a_tailer_sees_every_committed_event_once_in_one_order_under_eight_writers,
    an_append_with_a_stale_expected_version_is_refused_and_writes_nothing,
    several_events_append_atomically_with_consecutive_positions_and_versions,
    a_retried_command_id_returns_the_first_outcome_and_appends_nothing,
    global_positions_have_no_gaps_across_streams_and_read_in_batches_from_any_position,
    a_unique_key_claimed_by_one_stream_is_refused_to_another_and_nothing_is_written,
    stored_events_keep_their_metadata_and_cannot_be_updated_or_deleted,
    concurrent_writers_to_one_stream_never_interleave_versions,
);
