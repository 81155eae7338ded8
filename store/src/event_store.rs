//! The event store port: append with an expected version, read a stream, read the global
//! log in batches, and watch the head of the log move.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use tokio::sync::{mpsc, oneshot, watch};
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
    appender: mpsc::Sender<PendingAppend>,
}

/// The most appends committed in one transaction.
const MAX_APPENDS_PER_COMMIT: usize = 256;

/// An append waiting for the appender task, with where to send its outcome.
#[derive(Debug)]
struct PendingAppend {
    request: AppendRequest,
    reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
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

/// The appender task: takes every append waiting, up to [`MAX_APPENDS_PER_COMMIT`],
/// commits them in one transaction, answers each, and repeats. It ends when every
/// [`EventStore`] handle is gone.
async fn run_appender(
    db: Database,
    head: watch::Sender<Position>,
    mut pending: mpsc::Receiver<PendingAppend>,
) {
    let mut batch = Vec::with_capacity(MAX_APPENDS_PER_COMMIT);
    while pending.recv_many(&mut batch, MAX_APPENDS_PER_COMMIT).await > 0 {
        let requests: Vec<&AppendRequest> = batch.iter().map(|p| &p.request).collect();
        let results = match append_batch(&db, &requests).await {
            Ok(results) => results,
            Err(error) if batch.len() == 1 => vec![Err(error)],
            Err(error) => {
                // The batch's transaction failed as a whole (nothing of it is
                // committed, or — if the commit's answer was lost — all of it is, and the
                // command ids make a retry return that outcome). Retry each append on
                // its own so one append's failure is reported to that caller only.
                tracing::warn!(%error, appends = batch.len(), "a group commit failed; retrying its appends one by one");
                let mut results = Vec::with_capacity(batch.len());
                for request in &requests {
                    results.push(match append_batch(&db, &[request]).await {
                        Ok(mut one) => one.remove(0),
                        Err(error) => Err(error),
                    });
                }
                results
            }
        };
        let last = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|o| o.last_position)
            .max();
        if let Some(last) = last {
            head.send_if_modified(|current| {
                if last > *current {
                    *current = last;
                    true
                } else {
                    false
                }
            });
        }
        for (pending, result) in batch.drain(..).zip(results) {
            // A caller that gave up waiting has dropped its receiver; its append stands.
            let _ = pending.reply.send(result);
        }
    }
}

/// Rows per multi-row INSERT. Small on purpose: binding a statement's parameters costs
/// time quadratic in their number with the SQLite driver (each is looked up by name), so
/// 8 rows of 15 parameters is several times faster per row than 500 (measured: 80% of
/// a 100-event-append benchmark went to `sqlite3_bind_parameter_name` at 500 rows).
const ROWS_PER_INSERT: usize = 8;

/// Commit `requests` in one transaction. The outer error means the transaction failed;
/// each inner result is one append's outcome or its refusal (a refused append writes
/// nothing). Requests are decided in order, each seeing the ones before it.
async fn append_batch(
    db: &Database,
    requests: &[&AppendRequest],
) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError> {
    let mut write = db.begin_write().await?;
    let tx = &mut write.tx;

    // What the database knows of these commands, streams and claims, in three reads.
    let mut outcomes_by_command: HashMap<String, AppendOutcome> = HashMap::new();
    let command_ids: Vec<String> = requests
        .iter()
        .map(|r| r.metadata.command_id.to_string())
        .collect();
    for row in fetch_in(tx, &command_ids, |placeholders| {
        format!(
            "SELECT command_id, first_position, last_position, stream_version, stream_id FROM commands \
             WHERE command_id IN ({})",
            placeholders.join(", ")
        )
    })
    .await?
    {
        outcomes_by_command.insert(
            row.try_get(0)?,
            AppendOutcome {
                stream_id: row.try_get(4)?,
                first_position: row.try_get(1)?,
                last_position: row.try_get(2)?,
                stream_version: row.try_get(3)?,
                replayed: true,
            },
        );
    }
    let mut stream_ids: Vec<String> = requests.iter().map(|r| r.stream_id.clone()).collect();
    stream_ids.sort();
    stream_ids.dedup();
    // One MAX per stream, as a correlated subquery: each is answered from the end of
    // the (stream_id, stream_version) index whatever the planner's statistics say. The
    // plain `WHERE stream_id IN (…) GROUP BY` form let PostgreSQL, on a million-event
    // table never analysed, pick parallel bitmap scans for large groups (32 clients
    // through GraphQL fell to 131 commands/s; BENCHMARKS.md).
    let mut versions: HashMap<String, i64> = HashMap::new();
    for row in fetch_in(tx, &stream_ids, |placeholders| {
        let rows: Vec<String> = placeholders.iter().map(|p| format!("({p})")).collect();
        format!(
            "SELECT s.column1, (SELECT MAX(e.stream_version) FROM events e WHERE e.stream_id = s.column1) \
             FROM (VALUES {}) AS s",
            rows.join(", ")
        )
    })
    .await?
    {
        if let Some(version) = row.try_get::<Option<i64>, _>(1)? {
            versions.insert(row.try_get(0)?, version);
        }
    }
    let mut claim_owners: HashMap<(String, String), String> = HashMap::new();
    for request in requests {
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
            if let Some(owner) = owner {
                claim_owners.insert((claim.namespace.clone(), claim.key.clone()), owner);
            }
        }
    }

    let head: i64 = sqlx::query("SELECT position FROM log_head WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    let mut position = head;
    let mut results = Vec::with_capacity(requests.len());
    let mut new_claims: Vec<(&str, &str, &str)> = Vec::new();
    let mut new_events: Vec<(Position, i64, &AppendRequest, &Event)> = Vec::new();
    let mut new_commands: Vec<&AppendRequest> = Vec::new();
    let mut new_outcomes: Vec<AppendOutcome> = Vec::new();
    for request in requests {
        let command_id = request.metadata.command_id.to_string();
        if let Some(outcome) = outcomes_by_command.get(&command_id) {
            let mut replay = outcome.clone();
            replay.replayed = true;
            results.push(Ok(replay));
            continue;
        }
        let actual = versions.get(&request.stream_id).copied().unwrap_or(0);
        let matches = match request.expected_version {
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(expected) => actual == expected,
        };
        if !matches {
            results.push(Err(StoreError::VersionConflict {
                stream_id: request.stream_id.clone(),
                expected: request.expected_version.to_string(),
                actual,
            }));
            continue;
        }
        let taken = request.claims.iter().find_map(|claim| {
            claim_owners
                .get(&(claim.namespace.clone(), claim.key.clone()))
                .filter(|owner| **owner != request.stream_id)
                .map(|owner| StoreError::ClaimTaken {
                    namespace: claim.namespace.clone(),
                    key: claim.key.clone(),
                    owner: owner.clone(),
                })
        });
        if let Some(refusal) = taken {
            results.push(Err(refusal));
            continue;
        }
        // Accepted: what follows in this batch sees it.
        for claim in &request.claims {
            let key = (claim.namespace.clone(), claim.key.clone());
            if let std::collections::hash_map::Entry::Vacant(vacant) = claim_owners.entry(key) {
                vacant.insert(request.stream_id.clone());
                new_claims.push((&claim.namespace, &claim.key, &request.stream_id));
            }
        }
        let first_position = position + 1;
        let mut version = actual;
        for event in &request.events {
            position += 1;
            version += 1;
            new_events.push((position, version, request, event));
        }
        versions.insert(request.stream_id.clone(), version);
        let outcome = AppendOutcome {
            stream_id: request.stream_id.clone(),
            first_position,
            last_position: position,
            stream_version: version,
            replayed: false,
        };
        outcomes_by_command.insert(command_id, outcome.clone());
        new_commands.push(request);
        new_outcomes.push(outcome.clone());
        results.push(Ok(outcome));
    }
    if new_events.is_empty() {
        // Nothing to write: every append was refused or replayed.
        write.tx.rollback().await?;
        return Ok(results);
    }

    for chunk in new_claims.chunks(ROWS_PER_INSERT) {
        let sql = multi_row_insert(
            "INSERT INTO unique_claims (namespace, claim_key, stream_id)",
            3,
            chunk.len(),
        );
        let mut query = sqlx::query(&sql);
        for (namespace, key, stream) in chunk {
            query = query.bind(*namespace).bind(*key).bind(*stream);
        }
        query.execute(&mut **tx).await?;
    }
    for chunk in new_events.chunks(ROWS_PER_INSERT) {
        let sql = multi_row_insert(
            "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, schema_version, \
             payload, recorded_at, actor_id, actor_name, actor_role, actor_unit, command_id, correlation_id, \
             causation_id)",
            15,
            chunk.len(),
        );
        let mut query = sqlx::query(&sql);
        for (position, version, request, event) in chunk {
            let metadata = &request.metadata;
            let (event_type, schema_version, payload) = event.to_record();
            query = query
                .bind(*position)
                .bind(Uuid::now_v7().to_string())
                .bind(&request.stream_id)
                .bind(*version)
                .bind(event_type)
                .bind(i64::from(schema_version))
                .bind(payload.to_string())
                .bind(to_micros(metadata.recorded_at))
                .bind(metadata.actor.user_id.as_str())
                .bind(&metadata.actor.name)
                .bind(metadata.actor.role.key())
                .bind(metadata.actor.unit.as_str())
                .bind(metadata.command_id.to_string())
                .bind(metadata.correlation_id.to_string())
                .bind(metadata.causation_id.map(|id| id.to_string()));
        }
        query.execute(&mut **tx).await?;
    }
    let commands: Vec<(&AppendRequest, &AppendOutcome)> =
        new_commands.into_iter().zip(new_outcomes.iter()).collect();
    for chunk in commands.chunks(ROWS_PER_INSERT) {
        let sql = multi_row_insert(
            "INSERT INTO commands (command_id, stream_id, first_position, last_position, stream_version, recorded_at)",
            6,
            chunk.len(),
        );
        let mut query = sqlx::query(&sql);
        for (request, outcome) in chunk {
            query = query
                .bind(request.metadata.command_id.to_string())
                .bind(&request.stream_id)
                .bind(outcome.first_position)
                .bind(outcome.last_position)
                .bind(outcome.stream_version)
                .bind(to_micros(request.metadata.recorded_at));
        }
        query.execute(&mut **tx).await?;
    }
    sqlx::query("UPDATE log_head SET position = $1 WHERE id = 1")
        .bind(position)
        .execute(&mut **tx)
        .await?;
    if db.backend() == Backend::Postgres {
        // Delivered to every listening process when (and only if) this commits.
        sqlx::query("NOTIFY whistle_log").execute(&mut **tx).await?;
    }
    write.commit().await?;
    Ok(results)
}

/// `prefix VALUES ($1, $2, ...), (...)`: `rows` rows of `columns` placeholders.
fn multi_row_insert(prefix: &str, columns: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(prefix.len() + rows * columns * 5);
    sql.push_str(prefix);
    sql.push_str(" VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * columns + column + 1));
        }
        sql.push(')');
    }
    sql
}

/// Keys per `IN (…)` lookup: one parameter each, so many fit before binding by name gets
/// costly (see [`ROWS_PER_INSERT`]); a group of appends is looked up in a few queries.
const KEYS_PER_LOOKUP: usize = 64;

/// Rows for `keys`, looked up in chunks of at most [`KEYS_PER_LOOKUP`]: `sql_for` gets a
/// chunk's placeholders (`$1`, `$2`, …) and returns the statement that binds them.
async fn fetch_in(
    connection: &mut sqlx::AnyConnection,
    keys: &[String],
    sql_for: impl Fn(&[String]) -> String,
) -> Result<Vec<AnyRow>, StoreError> {
    let mut rows = Vec::new();
    for chunk in keys.chunks(KEYS_PER_LOOKUP) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = sql_for(&placeholders);
        let mut query = sqlx::query(&sql);
        for key in chunk {
            query = query.bind(key);
        }
        rows.extend(query.fetch_all(&mut *connection).await?);
    }
    Ok(rows)
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
