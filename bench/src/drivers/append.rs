//! `whistle-bench append`: how many durable appends per second the event store takes at
//! a given number of concurrent clients, on whichever backend the URL names.
//!
//! Each client appends one-event commands (a follow-up observation on a case) to its own
//! streams, naming the exact expected version, with a fresh command id each time: the
//! same work a command does in the store, without the decide step. Every append is
//! committed durably before the next one of that client starts. The benchmark writes
//! real events, so it refuses a database whose log is not empty.

use std::time::Instant;

use chrono::Utc;
use uuid::Uuid;
use whistle_domain::{
    Actor, CaseId, CommandId, Event, FollowUpSentiment, Role, StreamId, UnitId, UserId,
    text::RequiredText,
};
use whistle_store::{AppendRequest, CommandMetadata, EventStore, ExpectedVersion};

use super::{AppendRun, run_clients};

/// `clients` tasks, each appending `appends_per_client` times (`events_per_append`
/// events each) to its own 16 streams.
pub async fn append_run(
    store: &EventStore,
    clients: usize,
    appends_per_client: usize,
    events_per_append: usize,
) -> anyhow::Result<AppendRun> {
    let actor = Actor::new(
        UserId::parse("bench")?,
        "基准测试",
        Role::Monitor,
        UnitId::parse("city-cac")?,
    )?;
    let observation = RequiredText::parse("observation", "舆情平稳,持续关注")?;
    let (latencies, elapsed) = run_clients(clients, |_| {
        let store = store.clone();
        let actor = actor.clone();
        let observation = observation.clone();
        Ok(async move {
            let streams: Vec<(CaseId, StreamId)> = (0..16)
                .map(|_| {
                    let case_id = CaseId::from_uuid(Uuid::now_v7());
                    (case_id, StreamId::Case(case_id))
                })
                .collect();
            let mut versions = vec![0_i64; streams.len()];
            let mut latencies = Vec::with_capacity(appends_per_client);
            for n in 0..appends_per_client {
                let slot = n % streams.len();
                let (case_id, stream_id) = &streams[slot];
                let events = (0..events_per_append)
                    .map(|_| Event::FollowUpRecorded {
                        case_id: *case_id,
                        observation: observation.clone(),
                        sentiment: FollowUpSentiment::Steady,
                    })
                    .collect();
                let expected = match versions[slot] {
                    0 => ExpectedVersion::NoStream,
                    v => ExpectedVersion::Exact(v),
                };
                let command_id = CommandId::from_uuid(Uuid::now_v7());
                let began = Instant::now();
                let outcome = store
                    .append(AppendRequest {
                        stream_id: stream_id.clone(),
                        expected_version: expected,
                        events,
                        metadata: CommandMetadata {
                            actor: actor.clone(),
                            command_id,
                            correlation_id: command_id.as_uuid(),
                            causation_id: None,
                            recorded_at: Utc::now(),
                            fingerprint: None,
                        },
                        claims: Vec::new(),
                        erases_personal_data_of: None,
                    })
                    .await?;
                latencies.push(began.elapsed());
                versions[slot] = outcome.stream_version;
            }
            Ok(latencies)
        })
    })
    .await?;
    Ok(AppendRun {
        clients,
        appends: clients * appends_per_client,
        events: clients * appends_per_client * events_per_append,
        elapsed,
        latencies,
    })
}
