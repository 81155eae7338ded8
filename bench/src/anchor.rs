//! The anchor: the same lifecycle workload run through `cqrs-es` with its own SQLite and
//! PostgreSQL event repositories (`sqlite-es`, `postgres-es`), so Whistle's command path
//! can be compared with a well-known library's on the same database in the same run.
//!
//! What is held equal: the aggregate's decisions (the anchor's aggregate calls Whistle's
//! own `case::decide` and `case::evolve`), the commands and their order (the same
//! [`ClientWorkload`] and seeds), the metadata stored with each event (actor and command
//! id), the connection pools' sizes and the durability settings (SQLite: WAL with
//! `synchronous = FULL`, not the `NORMAL` of `sqlite-es`'s default pool, which may lose
//! the last commits on power loss; PostgreSQL: `synchronous_commit = on`). What is not:
//! cqrs-es has no global log position, no command-id idempotency and no unique claims
//! (the post URL), and keeps one table without a stream-version check beyond its primary
//! key — it does less work per command than Whistle. It runs without snapshots and
//! without queries (read models), as Whistle's command path does.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::drivers::commands::ClientWorkload;
use crate::drivers::{AppendRun, run_clients};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateError, CqrsFramework, DomainEvent, EventStore};
use serde::{Deserialize, Serialize};
use sqlx::Executor;
use whistle_domain::case::{self, CaseState};
use whistle_domain::commands::{Command, ReferencedUnit};
use whistle_domain::rules::CaseRules;
use whistle_domain::{Actor, CaseCommand, CaseId, DomainError, Event};

/// A case as a cqrs-es aggregate: Whistle's case state. It is never serialised (the
/// anchor takes no snapshots), so the state is skipped by serde.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AnchorCase {
    #[serde(skip)]
    state: CaseState,
}

/// Whistle's event, as cqrs-es stores it (the same JSON as Whistle's own payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AnchorEvent(pub Event);

impl DomainEvent for AnchorEvent {
    fn event_type(&self) -> String {
        // One serialisation per event (cqrs-es asks for the name once, at commit): a few
        // microseconds beside a durable commit.
        self.0.to_record().0.to_owned()
    }

    fn event_version(&self) -> String {
        whistle_domain::events::CURRENT_SCHEMA_VERSION.to_string()
    }
}

/// A case command with the person who issues it.
pub struct AnchorCommand {
    pub case_id: CaseId,
    pub actor: Actor,
    pub body: CaseCommand,
}

/// What the aggregate needs besides the command: the rules.
pub struct AnchorServices {
    pub rules: CaseRules,
}

impl Aggregate for AnchorCase {
    const TYPE: &'static str = "case";
    type Command = AnchorCommand;
    type Event = AnchorEvent;
    type Error = DomainError;
    type Services = AnchorServices;

    async fn handle(
        &mut self,
        command: AnchorCommand,
        services: &AnchorServices,
        sink: &cqrs_es::event_sink::EventSink<Self>,
    ) -> Result<(), DomainError> {
        let command_case = command.case_id;
        let command = Command {
            actor: command.actor,
            issued_at: chrono::Utc::now(),
            rules: services.rules.clone(),
            body: command.body,
        };
        for event in case::decide(command_case, &self.state, &command)? {
            sink.write(AnchorEvent(event), self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: AnchorEvent) {
        self.state = case::evolve(std::mem::take(&mut self.state), &event.0);
    }
}

/// The cqrs-es framework over one of its repositories.
pub type Anchor<R> = CqrsFramework<AnchorCase, PersistedEventStore<R, AnchorCase>>;

/// The table cqrs-es's repositories write (their documented schema, without the
/// snapshot and view tables the anchor does not use).
const SQLITE_EVENTS_TABLE: &str = "CREATE TABLE events (
    aggregate_type text NOT NULL,
    aggregate_id text NOT NULL,
    sequence integer CHECK (sequence >= 0) NOT NULL,
    event_type text NOT NULL,
    event_version text NOT NULL,
    payload text NOT NULL,
    metadata text NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT";

const POSTGRES_EVENTS_TABLE: &str = "CREATE TABLE events (
    aggregate_type text NOT NULL,
    aggregate_id text NOT NULL,
    sequence bigint CHECK (sequence >= 0) NOT NULL,
    event_type text NOT NULL,
    event_version text NOT NULL,
    payload json NOT NULL,
    metadata json NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
)";

/// The anchor's database, to count what it wrote.
#[derive(Clone)]
pub enum AnchorDatabase {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl AnchorDatabase {
    /// Rows in cqrs-es's `events` table.
    pub async fn count_events(&self) -> anyhow::Result<usize> {
        let count: i64 = match self {
            AnchorDatabase::Sqlite(pool) => {
                sqlx::query_scalar("SELECT count(*) FROM events")
                    .fetch_one(pool)
                    .await?
            }
            AnchorDatabase::Postgres(pool) => {
                sqlx::query_scalar("SELECT count(*) FROM events")
                    .fetch_one(pool)
                    .await?
            }
        };
        Ok(usize::try_from(count)?)
    }

    pub async fn close(&self) {
        match self {
            AnchorDatabase::Sqlite(pool) => pool.close().await,
            AnchorDatabase::Postgres(pool) => pool.close().await,
        }
    }
}

/// cqrs-es on a new SQLite file at `url` (`sqlite://PATH`), with Whistle's pool size
/// (8) and durability settings.
pub async fn sqlite_anchor(
    url: &str,
) -> anyhow::Result<(Anchor<sqlite_es::SqliteEventRepository>, AnchorDatabase)> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30));
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    pool.execute(SQLITE_EVENTS_TABLE).await?;
    let database = AnchorDatabase::Sqlite(pool.clone());
    let services = AnchorServices {
        rules: CaseRules::default(),
    };
    Ok((sqlite_es::sqlite_cqrs(pool, Vec::new(), services), database))
}

/// cqrs-es on an empty PostgreSQL database at `url`, with Whistle's pool size (16).
pub async fn postgres_anchor(
    url: &str,
) -> anyhow::Result<(Anchor<postgres_es::PostgresEventRepository>, AnchorDatabase)> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(16)
        .after_connect(|connection, _| {
            Box::pin(async move {
                connection.execute("SET synchronous_commit = on").await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    pool.execute(POSTGRES_EVENTS_TABLE).await?;
    let database = AnchorDatabase::Postgres(pool.clone());
    let services = AnchorServices {
        rules: CaseRules::default(),
    };
    Ok((
        postgres_es::postgres_cqrs(pool, Vec::new(), services),
        database,
    ))
}

/// Run `commands_per_client` workload commands on each of `clients` tasks through
/// cqrs-es, with the seeds Whistle's run uses; `events` counts the rows written.
pub async fn run<ES>(
    anchor: Arc<CqrsFramework<AnchorCase, ES>>,
    database: &AnchorDatabase,
    units: &[ReferencedUnit],
    clients: usize,
    commands_per_client: usize,
    seed: u64,
) -> anyhow::Result<AppendRun>
where
    ES: EventStore<AnchorCase> + Send + Sync + 'static,
    ES::AC: Send,
{
    let rows_before = database.count_events().await?;
    let (latencies, elapsed) = run_clients(clients, |client| {
        let anchor = anchor.clone();
        let mut workload = ClientWorkload::new(units.to_vec(), seed ^ client as u64)?;
        Ok(async move {
            let mut latencies = Vec::with_capacity(commands_per_client);
            for _ in 0..commands_per_client {
                let step = workload.next_step()?;
                let command_id = uuid::Uuid::now_v7().to_string();
                let metadata = HashMap::from([
                    ("actor".to_owned(), step.actor.user_id.to_string()),
                    ("role".to_owned(), format!("{:?}", step.actor.role)),
                    ("unit".to_owned(), step.actor.unit.to_string()),
                    ("command_id".to_owned(), command_id),
                ]);
                let aggregate_id = step.case_id.to_string();
                let began = Instant::now();
                anchor
                    .execute_with_metadata(
                        &aggregate_id,
                        AnchorCommand {
                            case_id: step.case_id,
                            actor: step.actor.clone(),
                            body: step.command.clone(),
                        },
                        metadata,
                    )
                    .await
                    .map_err(describe)?;
                latencies.push(began.elapsed());
                workload.done(&step);
            }
            Ok(latencies)
        })
    })
    .await?;
    Ok(AppendRun {
        clients,
        appends: latencies.len(),
        events: database.count_events().await? - rows_before,
        elapsed,
        latencies,
    })
}

fn describe(error: AggregateError<DomainError>) -> anyhow::Error {
    match error {
        AggregateError::UserError(refusal) => anyhow::anyhow!("the anchor refused: {refusal}"),
        other => anyhow::anyhow!("cqrs-es: {other}"),
    }
}
