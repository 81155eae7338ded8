//! An `events` row exactly as stored ([`StoredEvent`]: every column, text as text), the
//! one place the column list is written down, and its decoding into a
//! [`RecordedEvent`]. The store reads rows as `StoredEvent`s; the audit ledger hashes
//! them as they are (its leaves must cover what is stored, not a re-encoding); the
//! time-travel replay copies them into a scratch database unchanged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;
use whistle_domain::{
    Actor, CommandId, Event, EventRecordError, Role, StreamId, UnitId, UserId, Vocabulary,
};

use crate::StoreError;
use crate::event_store::Position;
use crate::time::from_micros;

/// Every column of `events`, in the order [`StoredEvent`] lists them.
pub const EVENT_COLUMNS: &str = "position, event_id, stream_id, stream_version, event_type, schema_version, payload, \
     recorded_at, actor_id, actor_name, actor_role, actor_unit, command_id, correlation_id, causation_id";

/// An `events` row exactly as stored, every column as its stored value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub position: i64,
    pub event_id: String,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_type: String,
    pub schema_version: i64,
    pub payload: String,
    pub recorded_at: i64,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_role: String,
    pub actor_unit: String,
    pub command_id: String,
    pub correlation_id: String,
    pub causation_id: Option<String>,
}

impl StoredEvent {
    /// A row selected with [`EVENT_COLUMNS`].
    pub fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(StoredEvent {
            position: row.try_get("position")?,
            event_id: row.try_get("event_id")?,
            stream_id: row.try_get("stream_id")?,
            stream_version: row.try_get("stream_version")?,
            event_type: row.try_get("event_type")?,
            schema_version: row.try_get("schema_version")?,
            payload: row.try_get("payload")?,
            recorded_at: row.try_get("recorded_at")?,
            actor_id: row.try_get("actor_id")?,
            actor_name: row.try_get("actor_name")?,
            actor_role: row.try_get("actor_role")?,
            actor_unit: row.try_get("actor_unit")?,
            command_id: row.try_get("command_id")?,
            correlation_id: row.try_get("correlation_id")?,
            causation_id: row.try_get("causation_id")?,
        })
    }

    /// The row decoded: ids parsed, the payload read as JSON, the actor rebuilt.
    pub fn decode(&self) -> Result<RecordedEvent, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            position: self.position,
            reason,
        };
        let uuid = |raw: &str, what: &str| {
            Uuid::parse_str(raw).map_err(|e| corrupt(format!("{what}: {e}")))
        };
        let actor = Actor {
            user_id: UserId::parse(&self.actor_id).map_err(|e| corrupt(e.to_string()))?,
            name: self.actor_name.clone(),
            role: Role::parse_key(&self.actor_role).map_err(|e| corrupt(e.to_string()))?,
            unit: UnitId::parse(&self.actor_unit).map_err(|e| corrupt(e.to_string()))?,
        };
        Ok(RecordedEvent {
            position: self.position,
            event_id: uuid(&self.event_id, "event_id")?,
            stream_id: StreamId::parse(&self.stream_id).map_err(|e| corrupt(e.to_string()))?,
            stream_version: self.stream_version,
            event_type: self.event_type.clone(),
            schema_version: u32::try_from(self.schema_version)
                .map_err(|e| corrupt(e.to_string()))?,
            payload: serde_json::from_str(&self.payload)
                .map_err(|e| corrupt(format!("payload: {e}")))?,
            recorded_at: from_micros(self.recorded_at),
            actor,
            command_id: CommandId::from_uuid(uuid(&self.command_id, "command_id")?),
            correlation_id: uuid(&self.correlation_id, "correlation_id")?,
            causation_id: self
                .causation_id
                .as_deref()
                .map(|raw| uuid(raw, "causation_id"))
                .transpose()?,
        })
    }
}

/// An event as stored, decoded, with all its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub position: Position,
    pub event_id: Uuid,
    pub stream_id: StreamId,
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

    /// The domain events of `recorded`, in order; one that does not load is named as
    /// corrupt at its position.
    pub fn events(recorded: &[RecordedEvent]) -> Result<Vec<Event>, StoreError> {
        recorded
            .iter()
            .map(|r| {
                r.event().map_err(|e| StoreError::Corrupt {
                    position: r.position,
                    reason: e.to_string(),
                })
            })
            .collect()
    }
}
