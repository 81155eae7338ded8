//! Time travel: the read models as they stood at a past instant, built by replaying the
//! log up to that instant into a scratch database and running the same projections.
//!
//! The scratch database is an embedded SQLite file in a temporary directory, whatever
//! the live backend, removed when the [`Replay`] is dropped. Events keep their positions,
//! so everything read from a replay (cursors, positions, ids) is what the live read
//! models showed at that instant.

use chrono::{DateTime, Utc};
use sqlx::AnyPool;
use whistle_domain::CaseId;
use whistle_store::{Database, EVENT_COLUMNS, EventStore, StoredEvent, to_micros};

use crate::{ProjectionError, ProjectionRunner};

/// Which streams a replay needs.
#[derive(Debug, Clone, Copy)]
pub enum ReplayScope {
    /// Everything (dashboards, scorecards).
    All,
    /// One case: its stream and the units' streams (names, kinds).
    Case(CaseId),
}

/// Read models rebuilt from the events recorded up to an instant.
pub struct Replay {
    store: EventStore,
    events: usize,
    _directory: tempfile::TempDir,
}

impl Replay {
    pub fn pool(&self) -> &AnyPool {
        self.store.database().pool()
    }

    /// The scratch store (its read models are the replay's).
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// How many events were replayed.
    pub fn events(&self) -> usize {
        self.events
    }
}

const BATCH: i64 = 500;

/// Replay the events of `scope` recorded at or before `as_of` into a scratch database
/// and bring its read models up to date.
pub async fn replay_until(
    live: &EventStore,
    as_of: DateTime<Utc>,
    scope: ReplayScope,
) -> Result<Replay, ProjectionError> {
    replay(live, as_of, i64::MAX, scope).await
}

/// Replay every event up to and including `position`.
pub async fn replay_to_position(
    live: &EventStore,
    position: i64,
) -> Result<Replay, ProjectionError> {
    replay(live, DateTime::<Utc>::MAX_UTC, position, ReplayScope::All).await
}

async fn replay(
    live: &EventStore,
    as_of: DateTime<Utc>,
    last_position: i64,
    scope: ReplayScope,
) -> Result<Replay, ProjectionError> {
    let directory = tempfile::Builder::new()
        .prefix("whistle-replay-")
        .tempdir()
        .map_err(whistle_store::StoreError::from)?;
    let url = format!("sqlite://{}/replay.sqlite", directory.path().display());
    let scratch = Database::connect(&url).await?;
    let mut after = 0_i64;
    let mut copied = 0;
    // One case's events are read through the stream index (its stream, then the units'
    // streams), not by scanning the global log.
    let mut case_events = match scope {
        ReplayScope::All => None,
        ReplayScope::Case(case_id) => {
            let case_stream = whistle_domain::StreamId::Case(case_id).to_string();
            let mut events = read_events(
                live,
                "stream_id = $1 AND recorded_at <= $2 AND position <= $3",
                &case_stream,
                as_of,
                last_position,
            )
            .await?;
            // Unit streams are named `unit-<code>`: the range ['unit-', 'unit.').
            events.extend(
                read_events(
                    live,
                    "stream_id >= $1 AND stream_id < 'unit.' AND recorded_at <= $2 AND position <= $3",
                    "unit-",
                    as_of,
                    last_position,
                )
                .await?,
            );
            events.sort_by_key(|event| event.position);
            Some(events.into_iter())
        }
    };
    let select = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 AND recorded_at <= $2 AND position <= $4 \
         ORDER BY position LIMIT $3"
    );
    let insert_row = format!(
        "({})",
        (1..=15)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    loop {
        let rows = match &mut case_events {
            Some(events) => events.by_ref().take(BATCH as usize).collect::<Vec<_>>(),
            None => sqlx::query(&select)
                .bind(after)
                .bind(to_micros(as_of))
                .bind(BATCH)
                .bind(last_position)
                .fetch_all(live.database().pool())
                .await?
                .iter()
                .map(StoredEvent::from_row)
                .collect::<Result<Vec<_>, _>>()?,
        };
        let Some(last) = rows.last() else { break };
        after = last.position;
        let mut tx = scratch.pool().begin().await?;
        let insert = format!("INSERT INTO events ({EVENT_COLUMNS}) VALUES {insert_row}");
        for row in &rows {
            sqlx::query(&insert)
                .bind(row.position)
                .bind(&row.event_id)
                .bind(&row.stream_id)
                .bind(row.stream_version)
                .bind(&row.event_type)
                .bind(row.schema_version)
                .bind(&row.payload)
                .bind(row.recorded_at)
                .bind(&row.actor_id)
                .bind(&row.actor_name)
                .bind(&row.actor_role)
                .bind(&row.actor_unit)
                .bind(&row.command_id)
                .bind(&row.correlation_id)
                .bind(&row.causation_id)
                .execute(&mut *tx)
                .await?;
        }
        // The personal values kept beside these events, as they are now: an erasure
        // reaches into the past too.
        let committed: Vec<String> = rows
            .iter()
            .filter(|row| whistle_store::personal::has_commitments(&row.payload))
            .map(|row| row.event_id.clone())
            .collect();
        let values = whistle_store::personal::stored_values(live.database(), &committed).await?;
        for (event_id, pointers) in &values {
            for (pointer, (salt, value)) in pointers {
                sqlx::query(
                    "INSERT INTO personal_data (event_id, pointer, salt, value) VALUES ($1, $2, $3, $4)",
                )
                .bind(event_id)
                .bind(pointer)
                .bind(salt)
                .bind(value)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query("UPDATE log_head SET position = $1 WHERE id = 1")
            .bind(after)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        copied += rows.len();
    }
    let store = EventStore::new(scratch).await?;
    ProjectionRunner::new(store.clone(), 1_000)
        .await?
        .catch_up()
        .await?;
    Ok(Replay {
        store,
        events: copied,
        _directory: directory,
    })
}

/// The events `condition` selects (binding `text`, `as_of` and `last_position` as $1, $2,
/// $3), in any order.
async fn read_events(
    live: &EventStore,
    condition: &str,
    text: &str,
    as_of: DateTime<Utc>,
    last_position: i64,
) -> Result<Vec<StoredEvent>, ProjectionError> {
    let rows = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE {condition}"
    ))
    .bind(text)
    .bind(to_micros(as_of))
    .bind(last_position)
    .fetch_all(live.database().pool())
    .await?;
    Ok(rows
        .iter()
        .map(StoredEvent::from_row)
        .collect::<Result<Vec<_>, _>>()?)
}
