//! Projections turn the global log into read-model tables, and answer queries over them.
//!
//! Two projections run, each with its own checkpoint: `case_board` (cases, posts,
//! assignments, replies, deadlines, unit incidents, referrals, memos, assessment
//! entries, and the sums scorecards and the dashboard add up) and `timeline` (the
//! accountability audit trail). Both are *eventual*: a runner tails the log and applies
//! each batch to the projection's tables in the same transaction that moves its
//! checkpoint, so a crash never loses or double-counts an event. Every table can be
//! emptied and rebuilt from the log with identical results.
//!
//! When several service processes share a PostgreSQL database, one of them at a time
//! holds the [`ProjectionLease`] and runs the projections; the others follow the
//! checkpoints (told by NOTIFY) so read-your-writes works on every process.
//!
//! Only this crate writes `rm_*` tables; [`queries`] is the read side over them.

mod batch;
mod case_board;
mod lease;
pub mod queries;
pub mod replay;
mod runner;
mod scorecards;
pub mod sentences;
mod timeline;
pub mod trends;

pub use lease::{PROJECTION_LEASE_KEY, ProjectionLease};
pub use runner::{
    CatchUpProgress, Projection, ProjectionFailure, ProjectionProgress, ProjectionRunner,
    Rebuilding, dump_read_models, rebuild, rebuild_reporting, reset,
};

use thiserror::Error;
use whistle_store::StoreError;

#[derive(Debug, Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event at position {position} cannot be projected: {reason}")]
    Unreadable { position: i64, reason: String },
    /// A query asked for more than a read model answers (a trend's range or points).
    #[error("{0}")]
    OutOfRange(String),
    #[error(
        "timed out after {waited_ms} ms waiting for the read models to reach position {position} (they are at {reached})"
    )]
    WaitTimedOut {
        position: i64,
        reached: i64,
        waited_ms: u128,
    },
}
