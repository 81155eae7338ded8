//! `whistle bench append`: how many durable appends per second the event store takes at
//! a given number of concurrent clients, on whichever backend the URL names.
//!
//! Each client appends one-event commands (a follow-up observation on a case) to its own
//! streams, naming the exact expected version, with a fresh command id each time: the
//! same work a command does in the store, without the decide step. Every append is
//! committed durably before the next one of that client starts. The benchmark writes
//! real events, so it refuses a database whose log is not empty.

use std::time::{Duration, Instant};

use chrono::Utc;
use uuid::Uuid;
use whistle_domain::{
    Actor, CaseId, CommandId, Event, FollowUpSentiment, Role, UnitId, UserId, text::RequiredText,
};
use whistle_store::{AppendRequest, CommandMetadata, Database, EventStore, ExpectedVersion};

/// One measured run.
#[derive(Debug, Clone)]
pub struct AppendRun {
    pub clients: usize,
    pub appends: usize,
    pub events_per_append: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl AppendRun {
    pub fn appends_per_second(&self) -> f64 {
        self.appends as f64 / self.elapsed.as_secs_f64()
    }

    pub fn events_per_second(&self) -> f64 {
        (self.appends * self.events_per_append) as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency below which `quantile` of the appends finished.
    pub fn latency(&self, quantile: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let index = ((sorted.len() as f64 * quantile).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[index]
    }
}

impl std::fmt::Display for AppendRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "| {:>3} | {:>6} | {:>3} | {:>8.1} | {:>9.0} | {:>9.0} | {:>7.2} | {:>7.2} |",
            self.clients,
            self.appends,
            self.events_per_append,
            self.elapsed.as_secs_f64(),
            self.appends_per_second(),
            self.events_per_second(),
            self.latency(0.5).as_secs_f64() * 1000.0,
            self.latency(0.99).as_secs_f64() * 1000.0,
        )
    }
}

pub const APPEND_TABLE_HEADER: &str = "| clients | appends | events/append | seconds | appends/s | events/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|---|";

/// Refuse to benchmark a database that holds anything: the events it writes stay.
pub async fn open_empty_store(database_url: &str) -> anyhow::Result<EventStore> {
    let store = EventStore::new(Database::connect(database_url).await?).await?;
    let head = store.head_position().await?;
    if head != 0 {
        anyhow::bail!(
            "the benchmark writes events that can never be removed, so it needs an empty database; \
             {} already holds {head} events",
            store.database().display_url()
        );
    }
    Ok(store)
}

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
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let store = store.clone();
        let actor = actor.clone();
        let observation = observation.clone();
        tasks.push(tokio::spawn(async move {
            let streams: Vec<(CaseId, String)> = (0..16)
                .map(|_| {
                    let case_id = CaseId::from_uuid(Uuid::now_v7());
                    (case_id, whistle_domain::events::streams::case(case_id))
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
                        },
                        claims: Vec::new(),
                    })
                    .await?;
                latencies.push(began.elapsed());
                versions[slot] = outcome.stream_version;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(clients * appends_per_client);
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok(AppendRun {
        clients,
        appends: clients * appends_per_client,
        events_per_append,
        elapsed: started.elapsed(),
        latencies,
    })
}
