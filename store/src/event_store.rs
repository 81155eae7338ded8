//! The event store port: append with an expected version, read a stream, read the global
//! log in batches, and watch the head of the log move.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use tokio::sync::watch;
use uuid::Uuid;
use whistle_domain::{Actor, CommandId, Event, EventRecordError, Role, UnitId, UserId, Vocabulary};

use crate::StoreError;
use crate::database::{Backend, Database, LOG_CHANNEL};
use crate::time::{from_micros, to_micros};

/// Global position of an event in the log: 1, 2, 3, ... with no gaps. 0 means "before
/// the first event".
pub type Position = i64;

/// What the writer expects the stream's version to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be at exactly this version (its number of events).
    Exact(i64),
}

impl std::fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(v) => write!(f, "{v}"),
        }
    }
}

/// Who did it, why and when: the metadata of DOMAIN.md §5 shared by all events of one
/// command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandMetadata {
    pub actor: Actor,
    pub command_id: CommandId,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
}

/// A key that may belong to one stream only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueClaim {
    pub namespace: String,
    pub key: String,
}

/// One append: events for one stream, written atomically or not at all.
#[derive(Debug, Clone)]
pub struct AppendRequest {
    pub stream_id: String,
    pub expected_version: ExpectedVersion,
    pub events: Vec<Event>,
    pub metadata: CommandMetadata,
    pub claims: Vec<UniqueClaim>,
}

/// Where an append landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendOutcome {
    /// The stream written to (on a replay: the stream the first attempt wrote to).
    pub stream_id: String,
    pub first_position: Position,
    pub last_position: Position,
    pub stream_version: i64,
    /// True when the command id had been seen: nothing new was appended.
    pub replayed: bool,
}

/// An event as stored, with all its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub position: Position,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: serde_json::Value,
    pub recorded_at: DateTime<Utc>,
    pub actor: Actor,
    pub command_id: CommandId,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
}

impl RecordedEvent {
    /// The domain event, upcast to the current schema.
    pub fn event(&self) -> Result<Event, EventRecordError> {
        Event::from_record(&self.event_type, self.schema_version, self.payload.clone())
    }
}

/// The event store over a [`Database`].
#[derive(Clone, Debug)]
pub struct EventStore {
    db: Database,
    head: watch::Sender<Position>,
}

/// `SELECT <every event column> FROM events <tail>` as one static string.
macro_rules! select_events {
    ($tail:literal) => {
        concat!(
            "SELECT position, event_id, stream_id, stream_version, event_type, schema_version, payload, ",
            "recorded_at, actor_id, actor_name, actor_role, actor_unit, command_id, correlation_id, ",
            "causation_id FROM events ",
            $tail
        )
    };
}

impl EventStore {
    /// Open the store; the head watch starts at the current end of the log.
    ///
    /// On PostgreSQL a listener task follows appends made by every process on the
    /// database (NOTIFY at commit), until the pool is closed.
    pub async fn new(db: Database) -> Result<Self, StoreError> {
        let head = read_head(&db).await?;
        let (sender, _) = watch::channel(head);
        if let Some(listener) = db.listen(&[LOG_CHANNEL]).await? {
            tokio::spawn(follow_notifications(db.clone(), listener, sender.clone()));
        }
        Ok(Self { db, head: sender })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Append events to one stream, checking its version, recording the command id and
    /// claiming unique keys, all in one transaction.
    #[tracing::instrument(skip_all, fields(stream = %request.stream_id, events = request.events.len(), command_id = %request.metadata.command_id))]
    pub async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        if request.events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        let mut write = self.db.begin_write().await?;
        let tx = &mut write.tx;

        if let Some(outcome) = command_outcome_in(tx, request.metadata.command_id).await? {
            return Ok(outcome);
        }

        let actual: i64 =
            sqlx::query("SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_id = $1")
                .bind(&request.stream_id)
                .fetch_one(&mut **tx)
                .await?
                .try_get(0)?;
        let matches = match request.expected_version {
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(expected) => actual == expected,
        };
        if !matches {
            return Err(StoreError::VersionConflict {
                stream_id: request.stream_id.clone(),
                expected: request.expected_version.to_string(),
                actual,
            });
        }

        for claim in &request.claims {
            let owner: Option<String> = sqlx::query(
                "SELECT stream_id FROM unique_claims WHERE namespace = $1 AND claim_key = $2",
            )
            .bind(&claim.namespace)
            .bind(&claim.key)
            .fetch_optional(&mut **tx)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
            match owner {
                Some(owner) if owner != request.stream_id => {
                    return Err(StoreError::ClaimTaken {
                        namespace: claim.namespace.clone(),
                        key: claim.key.clone(),
                        owner,
                    });
                }
                Some(_) => {}
                None => {
                    sqlx::query("INSERT INTO unique_claims (namespace, claim_key, stream_id) VALUES ($1, $2, $3)")
                        .bind(&claim.namespace)
                        .bind(&claim.key)
                        .bind(&request.stream_id)
                        .execute(&mut **tx)
                        .await?;
                }
            }
        }

        let head: i64 = sqlx::query("SELECT position FROM log_head WHERE id = 1")
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
        let metadata = &request.metadata;
        let recorded_at = to_micros(metadata.recorded_at);
        let mut position = head;
        let mut version = actual;
        for event in &request.events {
            position += 1;
            version += 1;
            let (event_type, schema_version, payload) = event.to_record();
            sqlx::query(
                "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, schema_version, \
                 payload, recorded_at, actor_id, actor_name, actor_role, actor_unit, command_id, correlation_id, \
                 causation_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(position)
            .bind(Uuid::now_v7().to_string())
            .bind(&request.stream_id)
            .bind(version)
            .bind(event_type)
            .bind(i64::from(schema_version))
            .bind(payload.to_string())
            .bind(recorded_at)
            .bind(metadata.actor.user_id.as_str())
            .bind(&metadata.actor.name)
            .bind(metadata.actor.role.key())
            .bind(metadata.actor.unit.as_str())
            .bind(metadata.command_id.to_string())
            .bind(metadata.correlation_id.to_string())
            .bind(metadata.causation_id.map(|id| id.to_string()))
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query("UPDATE log_head SET position = $1 WHERE id = 1")
            .bind(position)
            .execute(&mut **tx)
            .await?;
        let outcome = AppendOutcome {
            stream_id: request.stream_id.clone(),
            first_position: head + 1,
            last_position: position,
            stream_version: version,
            replayed: false,
        };
        sqlx::query(
            "INSERT INTO commands (command_id, stream_id, first_position, last_position, stream_version, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(metadata.command_id.to_string())
        .bind(&request.stream_id)
        .bind(outcome.first_position)
        .bind(outcome.last_position)
        .bind(outcome.stream_version)
        .bind(recorded_at)
        .execute(&mut **tx)
        .await?;
        if self.db.backend() == Backend::Postgres {
            // Delivered to every listening process when (and only if) this commits.
            sqlx::query("NOTIFY whistle_log").execute(&mut **tx).await?;
        }
        write.commit().await?;
        self.head.send_if_modified(|current| {
            if position > *current {
                *current = position;
                true
            } else {
                false
            }
        });
        Ok(outcome)
    }

    /// The first outcome of a command id, if that command was already handled.
    pub async fn command_outcome(
        &self,
        command_id: CommandId,
    ) -> Result<Option<AppendOutcome>, StoreError> {
        let mut connection = self.db.pool().acquire().await?;
        command_outcome_in(&mut connection, command_id).await
    }

    /// Every event of one stream, in version order.
    pub async fn read_stream(&self, stream_id: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(select_events!(
            "WHERE stream_id = $1 ORDER BY stream_version"
        ))
        .bind(stream_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(decode_event).collect()
    }

    /// Up to `limit` events after `after`, in global order.
    pub async fn read_all(
        &self,
        after: Position,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(select_events!(
            "WHERE position > $1 ORDER BY position LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(decode_event).collect()
    }

    /// One event by its id.
    pub async fn read_event(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        let row = sqlx::query(select_events!("WHERE event_id = $1"))
            .bind(event_id.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(decode_event).transpose()
    }

    /// The position of the last event in the log (0 when empty).
    pub async fn head_position(&self) -> Result<Position, StoreError> {
        read_head(&self.db).await
    }

    /// A watch of the head position, moved after every append by this process.
    pub fn watch_head(&self) -> watch::Receiver<Position> {
        self.head.subscribe()
    }

    /// Wait until the head moves past `after`, or `timeout` passes; returns the head.
    /// Also polls the database so writers in other processes are noticed.
    pub async fn wait_for_events_after(
        &self,
        after: Position,
        timeout: Duration,
    ) -> Result<Position, StoreError> {
        let mut receiver = self.head.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let head = *receiver.borrow_and_update();
            if head > after {
                return Ok(head);
            }
            let poll = tokio::time::Instant::now() + Duration::from_millis(500);
            let wake = poll.min(deadline);
            tokio::select! {
                changed = receiver.changed() => { if changed.is_err() { return Ok(head); } }
                _ = tokio::time::sleep_until(wake) => {
                    let head = read_head(&self.db).await?;
                    self.head.send_if_modified(|current| if head > *current { *current = head; true } else { false });
                    if head > after || tokio::time::Instant::now() >= deadline {
                        return Ok(head);
                    }
                }
            }
        }
    }
}

/// Move `head` whenever another process (or this one) commits an append on PostgreSQL.
/// Notifications lost while reconnecting only delay readers: they also poll.
async fn follow_notifications(
    db: Database,
    mut listener: sqlx::postgres::PgListener,
    head: watch::Sender<Position>,
) {
    loop {
        if db.pool().is_closed() {
            return;
        }
        match tokio::time::timeout(Duration::from_secs(1), listener.recv()).await {
            Err(_elapsed) => continue,
            Ok(Err(error)) => {
                if db.pool().is_closed() {
                    return;
                }
                tracing::warn!(%error, "log notifications interrupted; reconnecting in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok(Ok(_notification)) => match read_head(&db).await {
                Ok(position) => {
                    head.send_if_modified(|current| {
                        if position > *current {
                            *current = position;
                            true
                        } else {
                            false
                        }
                    });
                }
                Err(error) => tracing::warn!(%error, "reading the log head failed"),
            },
        }
    }
}

async fn read_head(db: &Database) -> Result<Position, StoreError> {
    let head: i64 = sqlx::query("SELECT position FROM log_head WHERE id = 1")
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    Ok(head)
}

async fn command_outcome_in(
    connection: &mut sqlx::AnyConnection,
    command_id: CommandId,
) -> Result<Option<AppendOutcome>, StoreError> {
    let row = sqlx::query(
        "SELECT first_position, last_position, stream_version, stream_id FROM commands WHERE command_id = $1",
    )
    .bind(command_id.to_string())
    .fetch_optional(&mut *connection)
    .await?;
    row.map(|row| -> Result<AppendOutcome, StoreError> {
        Ok(AppendOutcome {
            stream_id: row.try_get(3)?,
            first_position: row.try_get(0)?,
            last_position: row.try_get(1)?,
            stream_version: row.try_get(2)?,
            replayed: true,
        })
    })
    .transpose()
}

fn decode_event(row: &AnyRow) -> Result<RecordedEvent, StoreError> {
    let position: i64 = row.try_get("position")?;
    let corrupt = |reason: String| StoreError::Corrupt { position, reason };
    let parse_uuid = |raw: String, what: &str| {
        Uuid::parse_str(&raw).map_err(|e| corrupt(format!("{what}: {e}")))
    };
    let payload: String = row.try_get("payload")?;
    let role: String = row.try_get("actor_role")?;
    let actor = Actor {
        user_id: UserId::parse(&row.try_get::<String, _>("actor_id")?)
            .map_err(|e| corrupt(e.to_string()))?,
        name: row.try_get("actor_name")?,
        role: Role::parse_key(&role).map_err(|e| corrupt(e.to_string()))?,
        unit: UnitId::parse(&row.try_get::<String, _>("actor_unit")?)
            .map_err(|e| corrupt(e.to_string()))?,
    };
    let schema_version: i64 = row.try_get("schema_version")?;
    Ok(RecordedEvent {
        position,
        event_id: parse_uuid(row.try_get("event_id")?, "event_id")?,
        stream_id: row.try_get("stream_id")?,
        stream_version: row.try_get("stream_version")?,
        event_type: row.try_get("event_type")?,
        schema_version: u32::try_from(schema_version).map_err(|e| corrupt(e.to_string()))?,
        payload: serde_json::from_str(&payload).map_err(|e| corrupt(format!("payload: {e}")))?,
        recorded_at: from_micros(row.try_get("recorded_at")?),
        actor,
        command_id: CommandId::from_uuid(parse_uuid(row.try_get("command_id")?, "command_id")?),
        correlation_id: parse_uuid(row.try_get("correlation_id")?, "correlation_id")?,
        causation_id: row
            .try_get::<Option<String>, _>("causation_id")?
            .map(|raw| parse_uuid(raw, "causation_id"))
            .transpose()?,
    })
}
