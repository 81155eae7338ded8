//! The database handle: chooses the backend from the URL (`sqlite://…` or
//! `postgres://…`), opens the pool with the backend's settings, applies the backend's
//! migrations, and hands out write transactions.
//!
//! Appends in this process queue on an async gate, and every append transaction starts by
//! locking the log's head row. On SQLite that takes the database's single write lock; on
//! PostgreSQL the row lock is held until commit, so positions are handed out in commit
//! order across every process writing to the server (see ARCHITECTURE.md, "Global
//! order"). Read-model writes on PostgreSQL do not take that lock: projections lock their
//! own checkpoint row instead, so they never hold up appends.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::StoreError;

/// Which SQL backend a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file: zero set-up, one machine.
    Sqlite,
    /// A PostgreSQL server: several service processes on one database.
    Postgres,
}

impl Backend {
    /// The backend of an open connection.
    pub fn of(connection: &sqlx::AnyConnection) -> Self {
        if connection.backend_name() == "PostgreSQL" {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// Append `(p, p, …)`: `count` placeholders numbered from `first`. PostgreSQL's are
    /// `$1, $2, …`; SQLite's are anonymous `?`s, bound in order: SQLite looks each `$N`
    /// up among the names it has seen when it prepares and binds a statement, so
    /// numbered placeholders cost time quadratic in a statement's parameters (a rebuild
    /// spent most of its time there, the appender was held to 8 rows a statement).
    pub fn push_placeholders(self, sql: &mut String, first: usize, count: usize) {
        sql.push('(');
        for i in 0..count {
            if i > 0 {
                sql.push_str(", ");
            }
            match self {
                Backend::Postgres => {
                    sql.push('$');
                    sql.push_str(&(first + i).to_string());
                }
                Backend::Sqlite => sql.push('?'),
            }
        }
        sql.push(')');
    }
}

/// A connection pool plus what is needed to write safely to it.
#[derive(Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    write_gate: Arc<Mutex<()>>,
    url_for_display: String,
    /// The URL as connected (with credentials), for PostgreSQL's LISTEN connections.
    connect_url: Arc<str>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .field("url", &self.url_for_display)
            .finish()
    }
}

/// A write transaction; it holds the process's write gate (if it took one) until
/// committed or dropped.
pub struct WriteTransaction {
    pub tx: Transaction<'static, sqlx::Any>,
    _gate: Option<OwnedMutexGuard<()>>,
}

impl WriteTransaction {
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The PostgreSQL channel told about every append (delivered at commit).
pub const LOG_CHANNEL: &str = "whistle_log";
/// The PostgreSQL channel told whenever a projection checkpoint moves.
pub const PROJECTIONS_CHANNEL: &str = "whistle_projections";

impl Database {
    /// Open the database at `url`, creating a SQLite file (and its folder) if needed, and
    /// apply pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let db = Self::open(url).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Open without migrating (used by `whistle migrate` to report what it applies).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, normalised) = normalise_url(url)?;
        let options = AnyConnectOptions::from_str(&normalised)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|connection, _meta| {
                        Box::pin(async move {
                            // WAL lets readers run beside the writer; FULL makes every
                            // commit durable (fsync) before it is acknowledged.
                            connection.execute("PRAGMA journal_mode = WAL").await?;
                            connection.execute("PRAGMA synchronous = FULL").await?;
                            connection.execute("PRAGMA busy_timeout = 30000").await?;
                            connection.execute("PRAGMA foreign_keys = ON").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|connection, _meta| {
                        Box::pin(async move {
                            // A transaction left open (a hung client holding the log's
                            // head lock) is ended by the server instead of stalling
                            // every writer. Commits wait for the WAL flush (the default,
                            // stated here so a server-wide setting cannot weaken it).
                            connection
                                .execute("SET idle_in_transaction_session_timeout = '30s'")
                                .await?;
                            connection.execute("SET synchronous_commit = on").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
        };
        Ok(Self {
            pool,
            backend,
            write_gate: Arc::new(Mutex::new(())),
            url_for_display: redact(url),
            connect_url: Arc::from(normalised.as_str()),
        })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        // When every migration is applied, unchanged, there is nothing to do: a service
        // role without the right to create tables (PostgreSQL) starts without touching
        // the schema. Otherwise the migrator runs, and reports what it cannot do.
        if self.every_migration_applied(migrator).await {
            return Ok(());
        }
        // Both migrators take a lock first (PostgreSQL: an advisory lock), so several
        // processes starting together apply each migration once.
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// True when the migration record lists every migration of this build, each with
    /// the checksum of its file here. False when anything differs or the record cannot be
    /// read (a new database): then the migrator decides.
    async fn every_migration_applied(&self, migrator: &sqlx::migrate::Migrator) -> bool {
        use sqlx::Row;
        let Ok(rows) =
            sqlx::query("SELECT version, checksum FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.pool)
                .await
        else {
            return false;
        };
        let applied: std::collections::HashMap<i64, Vec<u8>> = rows
            .iter()
            .filter_map(|row| Some((row.try_get(0).ok()?, row.try_get(1).ok()?)))
            .collect();
        migrator.iter().all(|migration| {
            applied
                .get(&migration.version)
                .is_some_and(|checksum| checksum.as_slice() == migration.checksum.as_ref())
        })
    }

    /// PostgreSQL: give `role` (an existing role the service logs in as) exactly what the
    /// service needs. The log, the command record and the unique claims are append-only
    /// for it — SELECT and INSERT, never UPDATE, DELETE or TRUNCATE — so even a
    /// compromised service cannot rewrite history; the triggers refuse it for everyone
    /// else. Read models and checkpoints it may change; the migration record it may read.
    /// Grants cover the tables that exist: run it again after migrations add tables.
    pub async fn grant_service_role(&self, role: &str) -> Result<(), StoreError> {
        if self.backend != Backend::Postgres {
            return Err(StoreError::NotOnThisBackend(
                "roles and grants exist on PostgreSQL only; SQLite has no users",
            ));
        }
        let valid = role
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && role
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(StoreError::InvalidRole(role.to_owned()));
        }
        let mut tx = self.pool.begin().await?;
        for statement in [
            format!("GRANT USAGE ON SCHEMA public TO {role}"),
            format!("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"),
            format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
            ),
            format!("REVOKE INSERT, UPDATE, DELETE ON _sqlx_migrations FROM {role}"),
            format!("REVOKE UPDATE, DELETE ON events, commands, unique_claims FROM {role}"),
            format!("REVOKE DELETE ON log_head FROM {role}"),
            // Personal values are inserted and, by an erasure, deleted; never changed.
            format!("REVOKE UPDATE ON personal_data FROM {role}"),
        ] {
            sqlx::query(&statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A PostgreSQL listener on `channels` (None on SQLite, which has no notifications:
    /// its readers poll).
    pub async fn listen(
        &self,
        channels: &[&str],
    ) -> Result<Option<sqlx::postgres::PgListener>, StoreError> {
        match self.backend {
            Backend::Sqlite => Ok(None),
            Backend::Postgres => {
                let mut listener = sqlx::postgres::PgListener::connect(&self.connect_url).await?;
                listener.listen_all(channels.iter().copied()).await?;
                Ok(Some(listener))
            }
        }
    }

    /// A connection of its own, outside the pool, for a session-level lock that must
    /// live exactly as long as the connection (the projection lease).
    pub async fn dedicated_connection(&self) -> Result<sqlx::AnyConnection, StoreError> {
        use sqlx::Connection;
        Ok(sqlx::AnyConnection::connect(&self.connect_url).await?)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with any password removed, for logs.
    pub fn display_url(&self) -> &str {
        &self.url_for_display
    }

    /// Begin an append transaction. Its first statement locks the log's head row (on
    /// SQLite: the database's write lock), so a reader inside it sees the latest
    /// committed state and no other append commits until this one has.
    pub async fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        let gate = self.write_gate.clone().lock_owned().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE log_head SET position = position WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        Ok(WriteTransaction {
            tx,
            _gate: Some(gate),
        })
    }

    /// Begin a read-model write. On SQLite this is an ordinary write transaction (there
    /// is one writer); on PostgreSQL it takes no log lock, and the caller locks what it
    /// writes (a projection locks its checkpoint row first).
    pub async fn begin_read_model_write(&self) -> Result<WriteTransaction, StoreError> {
        match self.backend {
            Backend::Sqlite => self.begin_write().await,
            Backend::Postgres => Ok(WriteTransaction {
                tx: self.pool.begin().await?,
                _gate: None,
            }),
        }
    }

    /// Does the database accept writes now? SQLite: a connection of its own takes the
    /// write lock (`BEGIN IMMEDIATE`, waiting at most `wait`) and lets it go; another
    /// process holding the lock makes this fail. PostgreSQL: the server is not a
    /// read-only standby and does not default to read-only transactions. For readiness:
    /// nothing is written.
    pub async fn probe_writable(&self, wait: Duration) -> Result<(), StoreError> {
        use sqlx::Connection;
        match self.backend {
            Backend::Sqlite => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(&self.connect_url)?
                    .busy_timeout(wait);
                let mut connection = sqlx::sqlite::SqliteConnection::connect_with(&options).await?;
                let probed = async {
                    connection.execute("BEGIN IMMEDIATE").await?;
                    connection.execute("ROLLBACK").await?;
                    Ok::<(), sqlx::Error>(())
                }
                .await;
                connection.close().await?;
                probed?;
                Ok(())
            }
            Backend::Postgres => {
                use sqlx::Row;
                let row = sqlx::query(
                    "SELECT CASE WHEN pg_is_in_recovery() OR current_setting('default_transaction_read_only') = 'on' \
                     THEN 1 ELSE 0 END",
                )
                .fetch_one(&self.pool)
                .await?;
                let read_only: i32 = row.try_get(0)?;
                if read_only == 1 {
                    return Err(StoreError::ReadOnly(
                        "the PostgreSQL server is a standby or read-only by default".to_owned(),
                    ));
                }
                Ok(())
            }
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Pick the backend and complete the URL with the options Whistle needs.
fn normalise_url(url: &str) -> Result<(Backend, String), StoreError> {
    let url = url.trim();
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path_part = rest.trim_start_matches("//");
        let path = path_part.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            return Err(StoreError::UnsupportedUrl(format!(
                "{url} (an in-memory SQLite database is not shared between connections; give a file path)"
            )));
        }
        if let Some(parent) = Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        let separator = if rest.contains('?') { '&' } else { '?' };
        let with_mode = if rest.contains("mode=") {
            format!("sqlite://{path_part}")
        } else {
            format!("sqlite://{path_part}{separator}mode=rwc")
        };
        return Ok((Backend::Sqlite, with_mode));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    Err(StoreError::UnsupportedUrl(redact(url)))
}

/// A database URL with its secrets replaced by `***`: the password of the user part
/// (`postgres://user:secret@host/db`) and any `password`, `sslpassword` or
/// `sslkey`-like query parameter. What logs and messages show of a URL.
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match base.find("://") {
        Some(scheme_end) => {
            let rest = &base[scheme_end + 3..];
            // The user part ends at the last '@' before the path.
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => {
                    let user = rest[..at].split(':').next().unwrap_or_default();
                    let password = rest[..at].contains(':');
                    format!(
                        "{}{user}{}{}",
                        &base[..scheme_end + 3],
                        if password { ":***" } else { "" },
                        &rest[at..]
                    )
                }
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    match query {
        None => base,
        Some(query) => {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((key, _))
                        if key.to_ascii_lowercase().contains("password")
                            || key.eq_ignore_ascii_case("sslkey") =>
                    {
                        format!("{key}=***")
                    }
                    _ => param.to_owned(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode_and_memory_is_refused() {
        let dir = std::env::temp_dir().join(format!("whistle-url-{}", std::process::id()));
        let url = format!("sqlite://{}/x.sqlite", dir.display());
        let (backend, normalised) = normalise_url(&url).unwrap();
        assert_eq!(backend, Backend::Sqlite);
        assert!(normalised.ends_with("x.sqlite?mode=rwc"));
        assert!(dir.exists());
        assert!(normalise_url("sqlite::memory:").is_err());
        assert!(normalise_url("mysql://x").is_err());
        let (backend, _) = normalise_url("postgres://whistle@127.0.0.1/whistle").unwrap();
        assert_eq!(backend, Backend::Postgres);
        let (backend, _) = normalise_url("postgresql://127.0.0.1:5433/w").unwrap();
        assert_eq!(backend, Backend::Postgres);
    }

    #[test]
    fn passwords_are_redacted_for_logs() {
        assert_eq!(
            redact("postgres://whistle:secret@db/whistle"),
            "postgres://whistle:***@db/whistle"
        );
        assert_eq!(
            redact("postgres://postgres:TopSecret@Pw123@127.0.0.1:5432/x"),
            "postgres://postgres:***@127.0.0.1:5432/x"
        );
        assert_eq!(
            redact("postgres://db/w?user=a&password=TopSecretPw123&sslmode=require"),
            "postgres://db/w?user=a&password=***&sslmode=require"
        );
        assert_eq!(redact("postgres://reader@db/w"), "postgres://reader@db/w");
        assert_eq!(redact("sqlite://data/w.sqlite"), "sqlite://data/w.sqlite");
    }
}
