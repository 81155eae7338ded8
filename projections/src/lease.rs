//! The projection lease: which process runs the projections when several `whistle serve`
//! processes share one database.
//!
//! On PostgreSQL the lease is a session-level advisory lock held on a connection of its
//! own. The server releases it the moment that connection ends — the holder stopped,
//! crashed or was killed — and the next process that asks (every second) takes over.
//! The holder checks its connection before every round, so a holder that lost it stops
//! applying. Even if two ever overlapped, each batch locks its projection's checkpoint
//! row, so no event is applied twice.
//!
//! SQLite is embedded: one process owns the file, and the lease is always held. (Two
//! processes on one SQLite file would both run, safely, because SQLite has one writer
//! and each batch reads its checkpoint inside its write transaction.)

use sqlx::{AnyConnection, Connection, Row};
use whistle_store::{Backend, Database};

use crate::ProjectionError;

/// The advisory-lock key of the projection lease ("Whistle" in ASCII, then 1).
pub const PROJECTION_LEASE_KEY: i64 = 0x5768_6973_746c_6501;

/// This process's claim on running the projections.
pub struct ProjectionLease {
    database: Database,
    connection: Option<AnyConnection>,
    held: bool,
}

impl ProjectionLease {
    pub fn new(database: Database) -> Self {
        Self {
            database,
            connection: None,
            held: false,
        }
    }

    /// Whether this process holds the lease now: keeps it if it is held and its
    /// connection is alive, tries to take it otherwise.
    pub async fn hold(&mut self) -> Result<bool, ProjectionError> {
        if self.database.backend() == Backend::Sqlite {
            self.held = true;
            return Ok(true);
        }
        if self.connection.is_none() {
            self.held = false;
            self.connection = Some(self.database.dedicated_connection().await?);
        }
        let connection = self.connection.as_mut().expect("connected above");
        if self.held {
            match connection.ping().await {
                Ok(()) => return Ok(true),
                Err(error) => {
                    tracing::warn!(%error, "the projection lease's connection failed: lease lost");
                    self.held = false;
                    self.connection = None;
                    return Err(error.into());
                }
            }
        }
        let taken = sqlx::query("SELECT pg_try_advisory_lock($1)")
            .bind(PROJECTION_LEASE_KEY)
            .fetch_one(&mut *connection)
            .await;
        match taken {
            Ok(row) => {
                self.held = row.try_get::<bool, _>(0)?;
                Ok(self.held)
            }
            Err(error) => {
                self.connection = None;
                Err(error.into())
            }
        }
    }

    /// Give the lease up (at shutdown), so another process takes over at once.
    pub async fn release(&mut self) {
        if let Some(connection) = self.connection.take()
            && let Err(error) = connection.close().await
        {
            tracing::warn!(%error, "closing the projection lease's connection failed");
        }
        self.held = false;
    }
}
