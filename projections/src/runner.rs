//! The projection runner: reads the log after each projection's checkpoint in batches
//! and applies each batch, with the checkpoint update, in a write transaction that first
//! locks the projection's checkpoint — every projection's batch in one transaction (one
//! commit), or, when that fails, one transaction per projection so that the one that
//! fails is named and the others move on. In a service, the runner applies batches only
//! while its process holds the [`ProjectionLease`]; otherwise it follows the checkpoints
//! written by the process that does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::{AnyConnection, Column, Row, ValueRef};
use tokio::sync::watch;
use whistle_domain::Event;
use whistle_store::{Backend, EventStore, PROJECTIONS_CHANNEL, Position, RecordedEvent};

use crate::{ProjectionError, ProjectionLease, case_board, timeline};

/// The projections Whistle runs, in the order they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    CaseBoard,
    Timeline,
}

impl Projection {
    pub const ALL: [Projection; 2] = [Projection::CaseBoard, Projection::Timeline];

    pub fn as_str(self) -> &'static str {
        match self {
            Projection::CaseBoard => "case_board",
            Projection::Timeline => "timeline",
        }
    }

    /// The version of this projection's code. Bump it when what the projection writes
    /// changes: at start, a projection whose stored version differs is emptied and
    /// rebuilt from the log.
    pub fn version(self) -> i64 {
        match self {
            // v2: unit incidents carry their event id; major-case leads and mass incidents.
            // v3: a missed deadline's incident records the deadline's kind.
            // v4: the board's history (rows stamped with when they held, for asOf).
            // v5: scorecards' facts per unit and day, counted first-response times.
            Projection::CaseBoard => 5,
            // v2: a rescheduled deadline's sentence names the rule that moved it.
            // v3: rows name the assignment they are about and its unit.
            Projection::Timeline => 3,
        }
    }

    /// The tables this projection owns (emptied on rebuild).
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Projection::CaseBoard => case_board::TABLES,
            Projection::Timeline => timeline::TABLES,
        }
    }

    /// Apply `events` (in log order, each with its domain event) to this projection's
    /// tables.
    async fn apply_batch(
        self,
        connection: &mut AnyConnection,
        events: &[(RecordedEvent, Event)],
    ) -> Result<(), ProjectionError> {
        match self {
            Projection::CaseBoard => case_board::apply_batch(connection, events).await,
            Projection::Timeline => timeline::apply_batch(connection, events).await,
        }
    }
}

/// A batch read from the log and decoded once, for every projection whose checkpoint is
/// where it starts (usually all of them).
struct ReadBatch {
    after: Position,
    limit: i64,
    /// The events decoded, up to the first that cannot be.
    events: Vec<(RecordedEvent, Event)>,
    /// The first event that cannot be decoded, and why.
    unreadable: Option<(Position, String)>,
}

impl ReadBatch {
    async fn read(
        store: &EventStore,
        after: Position,
        limit: i64,
    ) -> Result<Self, ProjectionError> {
        let recorded = store.read_all(after, limit).await?;
        let mut events = Vec::with_capacity(recorded.len());
        let mut unreadable = None;
        for event in recorded {
            match event.event() {
                Ok(domain_event) => events.push((event, domain_event)),
                Err(error) => {
                    unreadable = Some((event.position, error.to_string()));
                    break;
                }
            }
        }
        Ok(Self {
            after,
            limit,
            events,
            unreadable,
        })
    }

    /// The events to apply, or the event that cannot be decoded.
    fn events(&self) -> Result<&[(RecordedEvent, Event)], ProjectionError> {
        match &self.unreadable {
            Some((position, reason)) => Err(ProjectionError::Unreadable {
                position: *position,
                reason: reason.clone(),
            }),
            None => Ok(&self.events),
        }
    }
}

/// The position every read model has reached, for read-your-writes.
#[derive(Clone, Debug)]
pub struct ProjectionProgress {
    receiver: watch::Receiver<Position>,
    leading: Arc<AtomicBool>,
    health: watch::Receiver<Option<ProjectionFailure>>,
    rebuilding: watch::Receiver<Vec<Rebuilding>>,
}

/// A projection being rebuilt from the log because its version changed, and how far it
/// is. Until it reaches `head` its tables hold only part of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilding {
    pub projection: &'static str,
    /// The version its tables were built by.
    pub from_version: i64,
    /// This build's version.
    pub to_version: i64,
    /// The position its checkpoint has reached.
    pub reached: Position,
    /// The head of the log when the rebuild began: done when it gets there.
    pub head: Position,
}

impl ProjectionProgress {
    /// The projection that cannot move on, if one is stuck (this process runs the
    /// projections and a batch keeps failing).
    pub fn failure(&self) -> Option<ProjectionFailure> {
        self.health.borrow().clone()
    }

    /// Whether this process's runner holds the projection lease (runs the projections).
    pub fn runs_projections(&self) -> bool {
        self.leading.load(Ordering::Relaxed)
    }

    pub fn current(&self) -> Position {
        *self.receiver.borrow()
    }

    /// The projections this process's runner is rebuilding because their version
    /// changed (empty once each has reached the head it started from).
    pub fn rebuilding(&self) -> Vec<Rebuilding> {
        self.rebuilding.borrow().clone()
    }

    /// Wait until every read model has applied `position`, at most `timeout`.
    pub async fn wait_for(
        &self,
        position: Position,
        timeout: Duration,
    ) -> Result<(), ProjectionError> {
        let started = std::time::Instant::now();
        let mut receiver = self.receiver.clone();
        let waited =
            tokio::time::timeout(timeout, receiver.wait_for(|reached| *reached >= position)).await;
        match waited {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ProjectionError::WaitTimedOut {
                position,
                reached: *self.receiver.borrow(),
                waited_ms: started.elapsed().as_millis(),
            }),
        }
    }
}

/// A batch that failed: which projection, after which checkpoint, why.
#[derive(Debug)]
struct BatchFailure {
    projection: Projection,
    after: Option<Position>,
    error: ProjectionError,
}

impl BatchFailure {
    /// A failure around the batches (reading checkpoints or the head, analysing tables),
    /// not of one projection's batch.
    fn outside_a_batch(error: ProjectionError) -> Self {
        Self {
            projection: Projection::ALL[0],
            after: None,
            error,
        }
    }
}

/// A projection that cannot move on: the event it fails at and why. Reported by
/// readiness (`degraded`), a metric and one error log until it clears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionFailure {
    pub projection: &'static str,
    /// The position of the event that fails, when known.
    pub position: Option<Position>,
    pub error: String,
}

/// Event applications after which a catch-up refreshes PostgreSQL's statistics.
const ANALYZE_AFTER: usize = 10_000;

/// How far a catch-up is: the position every read model has reached, and the head of
/// the log when it started (or the reached position, if more was appended since).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatchUpProgress {
    pub reached: Position,
    pub head: Position,
}

/// Tails the log and keeps every projection up to date.
pub struct ProjectionRunner {
    store: EventStore,
    batch_size: i64,
    progress: watch::Sender<Position>,
    leading: Arc<AtomicBool>,
    health: watch::Sender<Option<ProjectionFailure>>,
    rebuilding: watch::Sender<Vec<Rebuilding>>,
}

impl ProjectionRunner {
    /// A runner over `store`; projections whose code version changed are emptied first
    /// so they rebuild from the log.
    pub async fn new(store: EventStore, batch_size: i64) -> Result<Self, ProjectionError> {
        let rebuilding = reset_outdated(&store).await?;
        let runner = Self {
            store,
            batch_size: batch_size.max(1),
            progress: watch::channel(0).0,
            leading: Arc::new(AtomicBool::new(false)),
            health: watch::channel(None).0,
            rebuilding: watch::channel(rebuilding).0,
        };
        runner.publish_progress().await?;
        Ok(runner)
    }

    pub fn progress(&self) -> ProjectionProgress {
        ProjectionProgress {
            receiver: self.progress.subscribe(),
            leading: self.leading.clone(),
            health: self.health.subscribe(),
            rebuilding: self.rebuilding.subscribe(),
        }
    }

    async fn checkpoint(&self, name: Projection) -> Result<Position, ProjectionError> {
        let row = sqlx::query("SELECT position FROM projection_checkpoints WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(self.store.database().pool())
            .await?;
        Ok(match row {
            Some(row) => row.try_get(0)?,
            None => 0,
        })
    }

    async fn min_checkpoint(&self) -> Result<Position, ProjectionError> {
        let mut reached = Position::MAX;
        for name in Projection::ALL {
            reached = reached.min(self.checkpoint(name).await?);
        }
        Ok(reached)
    }

    /// Move the rebuilds on to their projections' checkpoints; a rebuild that reached
    /// the head it started from is over.
    async fn publish_rebuilds(&self) -> Result<(), ProjectionError> {
        if self.rebuilding.borrow().is_empty() {
            return Ok(());
        }
        let mut reached = Vec::with_capacity(Projection::ALL.len());
        for name in Projection::ALL {
            reached.push((name.as_str(), self.checkpoint(name).await?));
        }
        self.rebuilding.send_if_modified(|rebuilds| {
            let before = rebuilds.clone();
            for rebuild in rebuilds.iter_mut() {
                if let Some((_, position)) = reached.iter().find(|(n, _)| *n == rebuild.projection)
                {
                    rebuild.reached = *position;
                }
            }
            rebuilds.retain(|rebuild| rebuild.reached < rebuild.head);
            *rebuilds != before
        });
        Ok(())
    }

    /// Apply at most one batch to each projection. Returns how many events were applied.
    ///
    /// The checkpoint is read inside the write transaction, so two runners on one
    /// database (a rebuild beside the live runner, or two processes) never apply the
    /// same event twice: the second one sees the first one's checkpoint.
    pub async fn run_one_batch(&self) -> Result<usize, ProjectionError> {
        self.run_batches_of(self.batch_size)
            .await
            .map_err(|failed| failed.error)
    }

    /// Apply at most `limit` events to each projection; a failure names the projection
    /// and the checkpoint it failed after (nothing of its batch is written).
    async fn run_batches_of(&self, limit: i64) -> Result<usize, BatchFailure> {
        let applied = match self.apply_together(limit).await {
            Ok(applied) => applied,
            // The projections one by one find which one fails, and report it.
            Err(error) => {
                tracing::debug!(%error, "a batch of every projection failed; applying them one by one");
                let mut applied = 0;
                let mut read = None;
                for name in Projection::ALL {
                    applied += self.apply_batch(name, limit, &mut read).await.map_err(
                        |(after, error)| BatchFailure {
                            projection: name,
                            after,
                            error,
                        },
                    )?;
                }
                applied
            }
        };
        self.publish_progress()
            .await
            .map_err(BatchFailure::outside_a_batch)?;
        Ok(applied)
    }

    /// One batch of `name`, with its checkpoint, in one transaction.
    async fn apply_batch(
        &self,
        name: Projection,
        limit: i64,
        read: &mut Option<ReadBatch>,
    ) -> Result<usize, (Option<Position>, ProjectionError)> {
        let unknown = |error: ProjectionError| (None, error);
        let mut write = self
            .store
            .database()
            .begin_read_model_write()
            .await
            .map_err(|e| unknown(e.into()))?;
        let (after, count) = self.apply_in(&mut write.tx, name, limit, read).await?;
        if count > 0 {
            self.notify_followers(&mut write.tx)
                .await
                .map_err(|e| (Some(after), e))?;
            write.commit().await.map_err(|e| (Some(after), e.into()))?;
        }
        Ok(count)
    }

    /// One batch of every projection in one transaction: one commit (one fsync, one turn
    /// of SQLite's write lock) instead of one per projection. Any failure rolls all of it
    /// back, and the caller then runs the projections one transaction each, so a
    /// projection that fails never holds the others back.
    async fn apply_together(&self, limit: i64) -> Result<usize, ProjectionError> {
        let mut write = self.store.database().begin_read_model_write().await?;
        let mut read = None;
        let mut applied = 0;
        for name in Projection::ALL {
            let (_, count) = self
                .apply_in(&mut write.tx, name, limit, &mut read)
                .await
                .map_err(|(_, error)| error)?;
            applied += count;
        }
        if applied > 0 {
            self.notify_followers(&mut write.tx).await?;
            write.commit().await?;
        }
        Ok(applied)
    }

    /// Followers in other processes learn the new checkpoints at commit (PostgreSQL).
    async fn notify_followers(&self, tx: &mut AnyConnection) -> Result<(), ProjectionError> {
        if self.store.database().backend() == Backend::Postgres {
            sqlx::query("NOTIFY whistle_projections")
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// Inside `tx`: lock `name`'s checkpoint, apply the batch after it (read once for
    /// every projection at the same checkpoint), move the checkpoint. Returns the
    /// checkpoint it started after and how many events it applied.
    async fn apply_in(
        &self,
        tx: &mut AnyConnection,
        name: Projection,
        limit: i64,
        read: &mut Option<ReadBatch>,
    ) -> Result<(Position, usize), (Option<Position>, ProjectionError)> {
        let after = lock_checkpoint(tx, self.store.database().backend(), name)
            .await
            .map_err(|e| (None, e))?;
        let failed = |error: ProjectionError| (Some(after), error);
        if !read
            .as_ref()
            .is_some_and(|batch| batch.after == after && batch.limit == limit)
        {
            *read = Some(
                ReadBatch::read(&self.store, after, limit)
                    .await
                    .map_err(failed)?,
            );
        }
        let batch = read.as_ref().expect("read just above");
        let events = batch.events().map_err(failed)?;
        let Some((last, _)) = events.last() else {
            return Ok((after, 0));
        };
        let last_position = last.position;
        name.apply_batch(tx, events).await.map_err(failed)?;
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, position, version) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position, version = excluded.version",
        )
        .bind(name.as_str())
        .bind(last_position)
        .bind(name.version())
        .execute(&mut *tx)
        .await
        .map_err(|e| failed(e.into()))?;
        Ok((after, events.len()))
    }

    /// After a failed batch, apply one event at a time up to the one that fails, so
    /// everything before it is projected and the failure names its event.
    async fn locate_failure(&self, failure: BatchFailure) -> ProjectionFailure {
        let mut failure = failure;
        loop {
            match self.apply_batch(failure.projection, 1, &mut None).await {
                Ok(0) => {
                    // It went through on its own (a passing fault): nothing to name.
                    break;
                }
                Ok(_) => continue,
                Err((after, error)) => {
                    failure.after = after;
                    failure.error = error;
                    break;
                }
            }
        }
        ProjectionFailure {
            projection: failure.projection.as_str(),
            position: failure.after.map(|after| after + 1),
            error: failure.error.to_string(),
        }
    }

    /// Each projection's lag behind the head of the log, as a metric.
    async fn publish_lag(&self) {
        let Ok(head) = self.store.head_position().await else {
            return;
        };
        for name in Projection::ALL {
            if let Ok(checkpoint) = self.checkpoint(name).await {
                metrics::gauge!("whistle_projection_lag_events", "projection" => name.as_str())
                    .set((head - checkpoint) as f64);
            }
        }
    }

    /// Read every checkpoint and tell waiting readers how far the read models are.
    async fn publish_progress(&self) -> Result<Position, ProjectionError> {
        self.publish_rebuilds().await?;
        let reached = self.min_checkpoint().await?;
        self.progress.send_if_modified(|current| {
            let moved = *current != reached;
            *current = reached;
            moved
        });
        Ok(reached)
    }

    /// Apply batches until every projection has reached the head of the log.
    ///
    /// After a large catch-up (a rebuild, a first start on a big log) PostgreSQL's read
    /// models are full of dead row versions (every update leaves one) and its planner
    /// statistics describe the tables as they were, so it picks poor plans until
    /// autovacuum gets round to them: on the demo year the dashboard took 84 ms after a
    /// rebuild, 23 ms after `VACUUM ANALYZE`. So the read-model tables are vacuumed and
    /// analysed at once. (A role that does not own them gets a warning and no vacuum.)
    pub async fn catch_up(&self) -> Result<usize, ProjectionError> {
        self.catch_up_or_fail().await.map_err(|failed| failed.error)
    }

    /// [`ProjectionRunner::catch_up`], telling `report` after every batch how far the
    /// read models are and where the head of the log is (for a progress bar).
    pub async fn catch_up_reporting(
        &self,
        report: &mut (dyn FnMut(CatchUpProgress) + Send),
    ) -> Result<usize, ProjectionError> {
        self.catch_up_inner(Some(report))
            .await
            .map_err(|failed| failed.error)
    }

    async fn catch_up_or_fail(&self) -> Result<usize, BatchFailure> {
        self.catch_up_inner(None).await
    }

    async fn catch_up_inner(
        &self,
        mut report: Option<&mut (dyn FnMut(CatchUpProgress) + Send)>,
    ) -> Result<usize, BatchFailure> {
        let mut total = 0;
        let mut head = match report {
            Some(_) => self
                .store
                .head_position()
                .await
                .map_err(|error| BatchFailure::outside_a_batch(error.into()))?,
            None => 0,
        };
        loop {
            let applied = self.run_batches_of(self.batch_size).await?;
            total += applied;
            if let Some(report) = report.as_mut() {
                let reached = self.progress.borrow().to_owned();
                head = head.max(reached);
                report(CatchUpProgress { reached, head });
            }
            // Less than one full batch in all: every projection read up to the head, so
            // there is no need to take the write lock again just to find nothing.
            if applied < self.batch_size as usize {
                break;
            }
        }
        self.analyse_after(total)
            .await
            .map_err(BatchFailure::outside_a_batch)?;
        Ok(total)
    }

    async fn analyse_after(&self, total: usize) -> Result<(), ProjectionError> {
        if total >= ANALYZE_AFTER && self.store.database().backend() == Backend::Postgres {
            for name in Projection::ALL {
                for table in name.tables() {
                    sqlx::query(&format!("VACUUM (ANALYZE) {table}"))
                        .execute(self.store.database().pool())
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Record that a batch failed: find the event it fails at, keep it in the health
    /// channel (readiness reports it), count it, and log it once per distinct failure.
    async fn report_failure(&self, failed: BatchFailure) {
        let failure = self.locate_failure(failed).await;
        metrics::counter!("whistle_projection_failures_total", "projection" => failure.projection)
            .increment(1);
        let new = self.health.borrow().as_ref() != Some(&failure);
        if new {
            tracing::error!(
                projection = failure.projection,
                position = failure.position,
                error = %failure.error,
                "a projection cannot apply an event; retrying with backoff (readiness reports it as degraded)"
            );
            self.health.send_replace(Some(failure));
        }
    }

    /// A batch went through: a reported failure is over.
    fn clear_failure(&self) {
        if let Some(failure) = self.health.send_replace(None) {
            tracing::info!(
                projection = failure.projection,
                "the projection that failed applies events again"
            );
        }
    }

    /// Run until `shutdown` fires. While this process holds the projection lease:
    /// catch up, then wait for new events. Otherwise: follow the checkpoints that the
    /// holder writes, and ask for the lease every second. Errors are logged and retried
    /// after a pause; the checkpoint guarantees nothing is applied twice.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let database = self.store.database().clone();
        let mut lease = ProjectionLease::new(database.clone());
        let mut leading = false;
        let mut checkpoints = None;
        // Pause after a failed batch, doubling from 1 s up to 30 s.
        let mut backoff = Duration::from_secs(1);
        // The lag metric costs three queries: published at most once a second.
        let mut lag_published = std::time::Instant::now() - Duration::from_secs(1);
        loop {
            if *shutdown.borrow() {
                self.leading.store(false, Ordering::Relaxed);
                lease.release().await;
                return;
            }
            let holds = match lease.hold().await {
                Ok(holds) => holds,
                Err(error) => {
                    tracing::error!(%error, "the projection lease could not be checked");
                    false
                }
            };
            if holds != leading {
                leading = holds;
                self.leading.store(leading, Ordering::Relaxed);
                if leading {
                    tracing::info!(
                        "this process holds the projection lease: running the projections"
                    );
                } else {
                    tracing::info!(
                        "another process runs the projections: following its checkpoints"
                    );
                }
            }
            if leading {
                match self.catch_up_or_fail().await {
                    Ok(applied) => {
                        if applied > 0 {
                            tracing::debug!(applied, "projections advanced");
                        }
                        self.clear_failure();
                        backoff = Duration::from_secs(1);
                    }
                    Err(failed) => {
                        self.report_failure(failed).await;
                        tokio::select! {
                            _ = tokio::time::sleep(backoff) => {}
                            stopped = shutdown.changed() => if stopped.is_err() { lease.release().await; return; }
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                        continue;
                    }
                }
                if lag_published.elapsed() >= Duration::from_secs(1) {
                    self.publish_lag().await;
                    lag_published = std::time::Instant::now();
                }
                let reached = self.progress.borrow().to_owned();
                tokio::select! {
                    waited = self.store.wait_for_events_after(reached, Duration::from_secs(1)) => {
                        if let Err(error) = waited {
                            tracing::error!(%error, "waiting for new events failed");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                    stopped = shutdown.changed() => if stopped.is_err() { lease.release().await; return; }
                }
            } else {
                if let Err(error) = self.publish_progress().await {
                    tracing::error!(%error, "reading the projection checkpoints failed");
                }
                if checkpoints.is_none() {
                    checkpoints = match database.listen(&[PROJECTIONS_CHANNEL]).await {
                        Ok(listener) => listener,
                        Err(error) => {
                            tracing::warn!(%error, "cannot listen for checkpoint notifications; polling");
                            None
                        }
                    };
                }
                // Wake on a checkpoint notification, or after a second at the latest to
                // ask for the lease again (and to poll, should a notification be lost).
                let notified = async {
                    match checkpoints.as_mut() {
                        Some(listener) => {
                            if let Err(error) = listener.recv().await {
                                tracing::warn!(%error, "checkpoint notifications interrupted");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                        None => tokio::time::sleep(Duration::from_millis(200)).await,
                    }
                };
                tokio::select! {
                    _ = notified => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    stopped = shutdown.changed() => if stopped.is_err() { lease.release().await; return; }
                }
            }
        }
    }
}

/// Lock `name`'s checkpoint for this transaction and return it. On SQLite the write
/// transaction already holds the database's write lock; on PostgreSQL the checkpoint row
/// is created if missing and locked `FOR UPDATE`, so a second runner waits and then sees
/// the first one's new checkpoint.
async fn lock_checkpoint(
    tx: &mut AnyConnection,
    backend: Backend,
    name: Projection,
) -> Result<Position, ProjectionError> {
    let select = match backend {
        Backend::Sqlite => "SELECT position FROM projection_checkpoints WHERE name = $1",
        Backend::Postgres => {
            sqlx::query(
                "INSERT INTO projection_checkpoints (name, position, version) VALUES ($1, 0, $2) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name.as_str())
            .bind(name.version())
            .execute(&mut *tx)
            .await?;
            "SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE"
        }
    };
    Ok(
        match sqlx::query(select)
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await?
        {
            Some(row) => row.try_get(0)?,
            None => 0,
        },
    )
}

/// Empty every read model and its checkpoint (in one transaction).
pub async fn reset(store: &EventStore) -> Result<(), ProjectionError> {
    reset_projections(store, &Projection::ALL).await
}

async fn reset_projections(
    store: &EventStore,
    names: &[Projection],
) -> Result<(), ProjectionError> {
    let mut write = store.database().begin_write().await?;
    if store.database().backend() == Backend::Postgres {
        // Wait for any batch in flight (it holds a checkpoint row) and keep new ones out
        // until the tables and checkpoints are empty together.
        sqlx::query("LOCK TABLE projection_checkpoints IN EXCLUSIVE MODE")
            .execute(&mut *write.tx)
            .await?;
    }
    for name in names {
        for table in name.tables() {
            let sql = format!("DELETE FROM {table}");
            sqlx::query(&sql).execute(&mut *write.tx).await?;
        }
        sqlx::query("DELETE FROM projection_checkpoints WHERE name = $1")
            .bind(name.as_str())
            .execute(&mut *write.tx)
            .await?;
    }
    write.commit().await?;
    Ok(())
}

/// Empty the projections whose stored version is not this build's, so they rebuild;
/// returns those rebuilds (none when the log is empty).
async fn reset_outdated(store: &EventStore) -> Result<Vec<Rebuilding>, ProjectionError> {
    let mut outdated = Vec::new();
    let mut rebuilds = Vec::new();
    for name in Projection::ALL {
        let stored: Option<i64> =
            sqlx::query("SELECT version FROM projection_checkpoints WHERE name = $1")
                .bind(name.as_str())
                .fetch_optional(store.database().pool())
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
        if let Some(stored) = stored.filter(|v| *v != name.version()) {
            tracing::warn!(
                projection = name.as_str(),
                stored,
                current = name.version(),
                "projection changed: rebuilding it from the log"
            );
            outdated.push(name);
            rebuilds.push(Rebuilding {
                projection: name.as_str(),
                from_version: stored,
                to_version: name.version(),
                reached: 0,
                head: 0,
            });
        }
    }
    if !outdated.is_empty() {
        reset_projections(store, &outdated).await?;
        let head = store.head_position().await?;
        for rebuild in &mut rebuilds {
            rebuild.head = head;
        }
        rebuilds.retain(|rebuild| rebuild.head > 0);
    }
    Ok(rebuilds)
}

/// Empty every read model and its checkpoint, then replay the whole log.
pub async fn rebuild(store: &EventStore, batch_size: i64) -> Result<usize, ProjectionError> {
    rebuild_reporting(store, batch_size, &mut |_| {}).await
}

/// [`rebuild`], telling `report` after every batch how far it is.
pub async fn rebuild_reporting(
    store: &EventStore,
    batch_size: i64,
    report: &mut (dyn FnMut(CatchUpProgress) + Send),
) -> Result<usize, ProjectionError> {
    reset(store).await?;
    let runner = ProjectionRunner::new(store.clone(), batch_size).await?;
    runner.catch_up_reporting(report).await
}

/// Every read-model row as text, table by table, in primary-key order: used to prove
/// that a rebuild equals the incrementally built tables.
pub async fn dump_read_models(
    store: &EventStore,
) -> Result<BTreeMap<String, Vec<String>>, ProjectionError> {
    let mut dump = BTreeMap::new();
    for name in Projection::ALL {
        for table in name.tables() {
            let sql = format!("SELECT * FROM {table} ORDER BY 1, 2");
            let rows = sqlx::query(&sql).fetch_all(store.database().pool()).await?;
            let mut lines = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut cells = Vec::with_capacity(row.columns().len());
                for column in row.columns() {
                    let index = column.ordinal();
                    let raw = row.try_get_raw(index)?;
                    let cell = if raw.is_null() {
                        "NULL".to_owned()
                    } else if let Ok(value) = row.try_get::<i64, _>(index) {
                        value.to_string()
                    } else if let Ok(value) = row.try_get::<String, _>(index) {
                        value
                    } else if let Ok(value) = row.try_get::<f64, _>(index) {
                        value.to_string()
                    } else {
                        "<unreadable>".to_owned()
                    };
                    cells.push(format!("{}={cell}", column.name()));
                }
                lines.push(cells.join("|"));
            }
            // A total order whatever the table's key (`ORDER BY 1, 2` is not one for a
            // key of three columns).
            lines.sort_unstable();
            dump.insert((*table).to_owned(), lines);
        }
    }
    Ok(dump)
}
