//! The event store's contract, on a real SQLite file.

use chrono::Utc;
use uuid::Uuid;
use whistle_domain::text::RequiredText;
use whistle_domain::{Actor, CaseId, CommandId, Event, Role, UnitId, UserId};
use whistle_store::{
    AppendRequest, CommandMetadata, Database, EventStore, ExpectedVersion, StoreError, UniqueClaim,
};

async fn fresh_store() -> (EventStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/store.sqlite", dir.path().display());
    let store = EventStore::new(Database::connect(&url).await.unwrap())
        .await
        .unwrap();
    (store, dir)
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
    }
}

fn reopened(case_id: CaseId, reason: &str) -> Event {
    Event::CaseReopened {
        case_id,
        reason: RequiredText::parse("reason", reason).unwrap(),
    }
}

fn request(stream: &str, expected: ExpectedVersion, events: Vec<Event>) -> AppendRequest {
    AppendRequest {
        stream_id: stream.to_owned(),
        expected_version: expected,
        events,
        metadata: metadata(),
        claims: vec![],
    }
}

#[tokio::test]
async fn an_append_with_a_stale_expected_version_is_refused_and_writes_nothing() {
    let (store, _dir) = fresh_store().await;
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
    assert_eq!(store.read_stream("case-a").await.unwrap().len(), 1);
    assert_eq!(store.head_position().await.unwrap(), 1);
    let empty = store
        .append(request("case-a", ExpectedVersion::Exact(1), vec![]))
        .await;
    assert!(matches!(empty, Err(StoreError::EmptyAppend)), "{empty:?}");
}

#[tokio::test]
async fn several_events_append_atomically_with_consecutive_positions_and_versions() {
    let (store, _dir) = fresh_store().await;
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
    let stream = store.read_stream("case-b").await.unwrap();
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

#[tokio::test]
async fn a_retried_command_id_returns_the_first_outcome_and_appends_nothing() {
    let (store, _dir) = fresh_store().await;
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
            replay.stream_id.as_str()
        ),
        (1, 1, "case-c")
    );
    assert_eq!(store.head_position().await.unwrap(), 1);
}

#[tokio::test]
async fn global_positions_have_no_gaps_across_streams_and_read_in_batches_from_any_position() {
    let (store, _dir) = fresh_store().await;
    let case = CaseId::from_uuid(Uuid::now_v7());
    for i in 0..25 {
        let stream = format!("case-s{}", i % 4);
        let version = store.read_stream(&stream).await.unwrap().len() as i64;
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

#[tokio::test]
async fn a_unique_key_claimed_by_one_stream_is_refused_to_another_and_nothing_is_written() {
    let (store, _dir) = fresh_store().await;
    let case = CaseId::from_uuid(Uuid::now_v7());
    let claim = UniqueClaim {
        namespace: "post_url".into(),
        key: "https://weibo.com/1".into(),
    };
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
        matches!(&refused, Err(StoreError::ClaimTaken { owner, .. }) if owner == "case-x"),
        "{refused:?}"
    );
    assert!(store.read_stream("case-y").await.unwrap().is_empty());
}

#[tokio::test]
async fn stored_events_keep_their_metadata_and_cannot_be_updated_or_deleted() {
    let (store, _dir) = fresh_store().await;
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
}

#[tokio::test]
async fn concurrent_writers_to_one_stream_never_interleave_versions() {
    let (store, _dir) = fresh_store().await;
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
    assert_eq!(store.read_stream("case-race").await.unwrap().len(), 2);
}
