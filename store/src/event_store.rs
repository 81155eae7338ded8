//! The event store port: append with an expected version, read a stream, read the global
//! log in batches, and watch the head of the log move.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;
use whistle_domain::{Actor, CommandId, Event, StreamId, UniqueKey};

use crate::StoreError;
use crate::appender::{MAX_APPENDS_PER_COMMIT, PendingAppend, run_appender, stored_stream};
use crate::database::{Database, LOG_CHANNEL};
use crate::stored_event::{EVENT_COLUMNS, RecordedEvent, StoredEvent};

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

/// Who did it, why and when: the metadata every event carries (docs/domain/events.md),
/// shared by all events of one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandMetadata {
    pub actor: Actor,
    pub command_id: CommandId,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
    /// What the command id is bound to (the command handler's hash of the actor, the
    /// command's kind, its stream and its arguments). A later append with the same id
    /// and a different fingerprint, or to another stream, is refused with
    /// [`StoreError::CommandIdReused`]; `None` binds the id to its stream only.
    pub fingerprint: Option<String>,
}

/// One append: events for one stream, written atomically or not at all.
#[derive(Debug, Clone)]
pub struct AppendRequest {
    pub stream_id: StreamId,
    pub expected_version: ExpectedVersion,
    pub events: Vec<Event>,
    pub metadata: CommandMetadata,
    /// Keys claimed for this stream alone, in the same transaction.
    pub claims: Vec<UniqueKey>,
    /// Delete the personal values of this stream's events in the same transaction (an
    /// erasure on legal request).
    pub erases_personal_data_of: Option<StreamId>,
}

/// Where an append landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    /// The stream written to (on a replay: the stream the first attempt wrote to).
    pub stream_id: StreamId,
    pub first_position: Position,
    pub last_position: Position,
    pub stream_version: i64,
    /// True when the command id had been seen: nothing new was appended.
    pub replayed: bool,
}

/// The first use of a command id: where it landed and what it was bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstUse {
    pub outcome: AppendOutcome,
    pub fingerprint: Option<String>,
}

impl FirstUse {
    /// Is an append to `stream` with `fingerprint` a retry of this first use? The stream
    /// must be the same; the fingerprints must be equal where both are known (ids used
    /// before fingerprints were recorded are bound to their stream alone).
    pub fn is_retried_by(&self, stream: &str, fingerprint: Option<&str>) -> bool {
        self.outcome.stream_id.to_string() == stream
            && match (self.fingerprint.as_deref(), fingerprint) {
                (Some(first), Some(now)) => first == now,
                _ => true,
            }
    }
}

/// The event store over a [`Database`].
#[derive(Clone, Debug)]
pub struct EventStore {
    db: Database,
    head: watch::Sender<Position>,
    appender: mpsc::Sender<PendingAppend>,
}

/// `SELECT <every event column> FROM events <tail>`.
fn select_events(tail: &str) -> String {
    format!("SELECT {EVENT_COLUMNS} FROM events {tail}")
}

static SELECT_STREAM: LazyLock<String> =
    LazyLock::new(|| select_events("WHERE stream_id = $1 ORDER BY stream_version"));
static SELECT_AFTER: LazyLock<String> =
    LazyLock::new(|| select_events("WHERE position > $1 ORDER BY position LIMIT $2"));
static SELECT_STREAM_BETWEEN: LazyLock<String> = LazyLock::new(|| {
    select_events(
        "WHERE stream_id = $1 AND position > $2 AND position <= $3 ORDER BY position LIMIT $4",
    )
});
static SELECT_BY_ID: LazyLock<String> = LazyLock::new(|| select_events("WHERE event_id = $1"));

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
        let (appender, pending) = mpsc::channel(4 * MAX_APPENDS_PER_COMMIT);
        tokio::spawn(run_appender(db.clone(), sender.clone(), pending));
        Ok(Self {
            db,
            head: sender,
            appender,
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Append events to one stream, checking its version, recording the command id and
    /// claiming unique keys, atomically: all of this append or none of it.
    ///
    /// Appends from concurrent callers in this process are committed together (group
    /// commit): one transaction, one lock on the log head and one durable commit for a
    /// batch of appends, each still checked against its own expected version. A refused
    /// append writes nothing and does not affect the others in its batch.
    #[tracing::instrument(skip_all, fields(stream = %request.stream_id, events = request.events.len(), command_id = %request.metadata.command_id))]
    pub async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        if request.events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        let (reply, answer) = oneshot::channel();
        self.appender
            .send(PendingAppend { request, reply })
            .await
            .map_err(|_| StoreError::AppenderStopped)?;
        answer.await.map_err(|_| StoreError::AppenderStopped)?
    }

    /// The first use of a command id, if that command was already handled.
    pub async fn command_outcome(
        &self,
        command_id: CommandId,
    ) -> Result<Option<FirstUse>, StoreError> {
        let mut connection = self.db.pool().acquire().await?;
        command_outcome_in(&mut connection, command_id).await
    }

    /// Does any stream of `category` exist (has any unit been registered, say)? Answered
    /// from the (stream_id, stream_version) index.
    pub async fn any_stream_of(
        &self,
        category: whistle_domain::StreamCategory,
    ) -> Result<bool, StoreError> {
        let prefix = category.prefix();
        // Every name of the category sorts in [prefix, prefix with its last byte + 1).
        let mut upper = prefix.as_bytes().to_vec();
        if let Some(last) = upper.last_mut() {
            *last += 1;
        }
        let upper = String::from_utf8(upper).expect("stream prefixes are ASCII");
        let row =
            sqlx::query("SELECT 1 FROM events WHERE stream_id >= $1 AND stream_id < $2 LIMIT 1")
                .bind(prefix)
                .bind(upper)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.is_some())
    }

    /// Which of `streams` have no event (were never written).
    pub async fn missing_streams(&self, streams: &[StreamId]) -> Result<Vec<StreamId>, StoreError> {
        if streams.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<String> = streams.iter().map(|s| s.to_string()).collect();
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT DISTINCT stream_id FROM events WHERE stream_id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for name in &names {
            query = query.bind(name.as_str());
        }
        let found: std::collections::HashSet<String> = query
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
        Ok(streams
            .iter()
            .zip(&names)
            .filter(|(_, name)| !found.contains(*name))
            .map(|(stream, _)| stream.clone())
            .collect())
    }

    /// Every event of one stream, in version order.
    pub async fn read_stream(
        &self,
        stream_id: &StreamId,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(&SELECT_STREAM)
            .bind(stream_id.to_string())
            .fetch_all(self.db.pool())
            .await?;
        self.decode_rows(&rows).await
    }

    /// Up to `limit` events of one stream whose global positions lie in
    /// (`after`, `up_to`], in order: what a follower of one stream reads, from the
    /// stream's own index instead of the whole log.
    pub async fn read_stream_between(
        &self,
        stream_id: &StreamId,
        after: Position,
        up_to: Position,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(&SELECT_STREAM_BETWEEN)
            .bind(stream_id.to_string())
            .bind(after)
            .bind(up_to)
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?;
        self.decode_rows(&rows).await
    }

    /// Rows of `events` as their readers know them.
    async fn decode_rows(
        &self,
        rows: &[sqlx::any::AnyRow],
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let stored = rows
            .iter()
            .map(StoredEvent::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.decode_with_personal_data(&stored).await
    }

    /// Decode stored rows, putting each personal value back where its commitment is (an
    /// erased value reads `已删除`): the events as their readers know them.
    pub async fn decode_with_personal_data(
        &self,
        stored: &[StoredEvent],
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = stored
            .iter()
            .map(StoredEvent::decode)
            .collect::<Result<Vec<_>, _>>()?;
        let wanted: Vec<String> = stored
            .iter()
            .filter(|row| crate::personal::has_commitments(&row.payload))
            .map(|row| row.event_id.clone())
            .collect();
        if wanted.is_empty() {
            return Ok(events);
        }
        let values = crate::personal::stored_values(&self.db, &wanted).await?;
        let none = HashMap::new();
        for (event, row) in events.iter_mut().zip(stored) {
            if !crate::personal::has_commitments(&row.payload) {
                continue;
            }
            let stored_values = values.get(&row.event_id).unwrap_or(&none);
            crate::personal::join(&event.event_type, &mut event.payload, stored_values).map_err(
                |reason| StoreError::Corrupt {
                    position: row.position,
                    reason,
                },
            )?;
        }
        Ok(events)
    }

    /// Up to `limit` events after `after`, in global order.
    pub async fn read_all(
        &self,
        after: Position,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let stored = self.read_stored(after, limit).await?;
        self.decode_with_personal_data(&stored).await
    }

    /// Up to `limit` rows after `after`, in global order, exactly as stored.
    pub async fn read_stored(
        &self,
        after: Position,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(&SELECT_AFTER)
            .bind(after)
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?;
        Ok(rows
            .iter()
            .map(StoredEvent::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// One event by its id.
    pub async fn read_event(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        let row = sqlx::query(&SELECT_BY_ID)
            .bind(event_id.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        let rows: Vec<_> = row.into_iter().collect();
        Ok(self.decode_rows(&rows).await?.pop())
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
                // A store being closed (a demo load's store, say) stops following.
                Err(_) if db.pool().is_closed() => return,
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
) -> Result<Option<FirstUse>, StoreError> {
    let row = sqlx::query(
        "SELECT first_position, last_position, stream_version, stream_id, fingerprint FROM commands WHERE command_id = $1",
    )
    .bind(command_id.to_string())
    .fetch_optional(&mut *connection)
    .await?;
    row.map(|row| -> Result<FirstUse, StoreError> {
        let stream: String = row.try_get(3)?;
        Ok(FirstUse {
            outcome: AppendOutcome {
                stream_id: stored_stream(&stream)?,
                first_position: row.try_get(0)?,
                last_position: row.try_get(1)?,
                stream_version: row.try_get(2)?,
                replayed: true,
            },
            fingerprint: row.try_get(4)?,
        })
    })
    .transpose()
}
