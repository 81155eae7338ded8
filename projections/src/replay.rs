//! Time travel: the read models as they stood at a past instant, built by replaying the
//! log up to that instant into a scratch database and running the same projections.
//!
//! The scratch database is an embedded SQLite file in a temporary directory, whatever
//! the live backend, removed when the [`Replay`] is dropped. Events keep their positions,
//! so everything read from a replay (cursors, positions, ids) is what the live read
//! models showed at that instant.

use chrono::{DateTime, Utc};
use sqlx::{AnyPool, Row};
use whistle_domain::CaseId;
use whistle_store::{Database, EventStore, to_micros};

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

const COLUMNS: &str = "position, event_id, stream_id, stream_version, event_type, schema_version, payload, \
     recorded_at, actor_id, actor_name, actor_role, actor_unit, command_id, correlation_id, causation_id";
const INTEGER_COLUMNS: [usize; 4] = [0, 3, 5, 7];
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
    let (stream_clause, case_stream) = match scope {
        ReplayScope::All => (String::new(), None),
        ReplayScope::Case(case_id) => (
            " AND (stream_id = $5 OR stream_id LIKE 'unit-%')".to_owned(),
            Some(whistle_domain::events::streams::case(case_id)),
        ),
    };
    let select = format!(
        "SELECT {COLUMNS} FROM events WHERE position > $1 AND recorded_at <= $2 AND position <= $4{stream_clause} \
         ORDER BY position LIMIT $3"
    );
    let insert_row = format!(
        "({})",
        (1..=15)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut after = 0_i64;
    let mut copied = 0;
    loop {
        let mut query = sqlx::query(&select)
            .bind(after)
            .bind(to_micros(as_of))
            .bind(BATCH)
            .bind(last_position);
        if let Some(stream) = &case_stream {
            query = query.bind(stream.as_str());
        }
        let rows = query.fetch_all(live.database().pool()).await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get(0)?;
        let mut tx = scratch.pool().begin().await?;
        for row in &rows {
            let sql = format!("INSERT INTO events ({COLUMNS}) VALUES {insert_row}");
            let mut statement = sqlx::query(&sql);
            for column in 0..15 {
                statement = if INTEGER_COLUMNS.contains(&column) {
                    statement.bind(row.try_get::<i64, _>(column)?)
                } else {
                    statement.bind(row.try_get::<Option<String>, _>(column)?)
                };
            }
            statement.execute(&mut *tx).await?;
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
