//! Whistle's event store: one port, used by the command side (append, read a stream)
//! and by projections and subscribers (read the global log, be told when it grows).
//!
//! The log is a single table in one global, gapless order. An append names the version
//! it expects its stream to be at; if another writer got there first the append is
//! refused with [`StoreError::VersionConflict`] and nothing is written. A command id is
//! recorded with every append, so a retried command returns its first outcome and
//! appends nothing. Keys that must belong to one stream only (a post URL opens one case)
//! are claimed in the same transaction.
//!
//! [`Database`] owns the connection pool (sqlx's `Any` driver, so SQL here and in
//! `projections` is written once for every SQL backend) and the migrations.

mod appender;
mod database;
mod event_store;
pub mod personal;
mod stored_event;
mod time;

pub use database::{Backend, Database, LOG_CHANNEL, PROJECTIONS_CHANNEL, WriteTransaction};
pub use event_store::*;
pub use stored_event::{EVENT_COLUMNS, RecordedEvent, StoredEvent};
pub use time::{from_micros, to_micros};

use thiserror::Error;

/// Everything that can go wrong in the store.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error(
        "stream `{stream_id}` is at version {actual}, not the expected {expected}: someone else changed it first"
    )]
    VersionConflict {
        stream_id: whistle_domain::StreamId,
        expected: String,
        actual: i64,
    },
    #[error("{} `{}` already belongs to {owner}", .key.namespace(), .key.key())]
    ClaimTaken {
        key: whistle_domain::UniqueKey,
        owner: String,
    },
    #[error(
        "command id {command_id} was first used for another command (another actor, kind, target or arguments): a retry must repeat the first request exactly; use a new id for a new command"
    )]
    CommandIdReused { command_id: String },
    #[error("an append needs at least one event")]
    EmptyAppend,
    #[error("`{0}` is not a plain role name (lower-case letters, digits and _)")]
    InvalidRole(String),
    #[error("the event store's appender has stopped (the service is shutting down)")]
    AppenderStopped,
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("{0}")]
    NotOnThisBackend(&'static str),
    #[error("the database accepts no writes: {0}")]
    ReadOnly(String),
    #[error("stored event at position {position} is unreadable: {reason}")]
    Corrupt { position: i64, reason: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("could not prepare the database location: {0}")]
    Io(#[from] std::io::Error),
}
