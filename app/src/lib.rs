//! Whistle's application core: everything between the edge (GraphQL, the command line)
//! and the log that is not the domain's rules themselves.
//!
//! - [`admission`]: whether a verified identity may act (its unit registered and active,
//!   its role one the unit's kind holds).
//! - [`handler`]: the command handler — load a stream, fold it, let the domain decide,
//!   append the result with the stream's version as the expected version.
//! - The background processes, each started and stopped by [`App`]: the projection
//!   runner (from `whistle-projections`), the [`deadlines`] process that writes deadline
//!   warnings and misses as the system actor, and the [`checkpoints`] schedule that signs
//!   the audit log periodically. All of them share the one database pool of the `App`.
//! - Configuration: the rule set file ([`rules_file`]), the injected [`clock`], logging
//!   ([`telemetry`]).
//!
//! `App::build` opens the database (applying migrations) and prepares every process;
//! `App::start` runs them until the shutdown signal; the HTTP server in `whistle-api`
//! and the CLI are built on top.

pub mod admission;
pub mod calendar_files;
pub mod checkpoints;
pub mod clock;
pub mod deadlines;
pub mod handler;
pub mod rules_file;
pub mod telemetry;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use whistle_domain::UnitId;
use whistle_domain::calendar::WorkingDayCalendar;
use whistle_projections::{ProjectionProgress, ProjectionRunner};
use whistle_store::{Database, EventStore};

pub use checkpoints::{CheckpointConfig, CheckpointSchedule};
pub use clock::{Clock, ManualClock, SystemClock};
pub use deadlines::DeadlineProcess;
pub use handler::{CommandError, CommandHandler, CommandReceipt, Envelope};
pub use rules_file::RuleSet;

/// Events applied per projection transaction.
pub const PROJECTION_BATCH: i64 = 1_000;

/// What the application core needs to start.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub database_url: String,
    /// The deadline, supervision and assessment rules in force.
    pub rules: RuleSet,
    /// The working-day calendar: the compiled years, and any loaded with `--calendar`.
    pub calendar: Arc<WorkingDayCalendar>,
    pub clock: Arc<dyn Clock>,
    /// How often the deadline process runs; `None` leaves it to the caller (tests run
    /// passes by hand through [`App::deadline_process`]).
    pub deadline_interval: Option<Duration>,
    /// The unit the system actor records deadline events under (the cyberspace office).
    pub system_unit: UnitId,
    /// Periodic signed checkpoints of the audit log, if configured.
    pub checkpoints: Option<CheckpointConfig>,
}

/// The application core: the database, the command handler and the background
/// processes, built but not yet running.
pub struct App {
    handler: CommandHandler,
    progress: ProjectionProgress,
    rules: RuleSet,
    runner: ProjectionRunner,
    deadlines: DeadlineProcess,
    deadline_interval: Option<Duration>,
    checkpoints: Option<CheckpointSchedule>,
}

/// The background processes of a started [`App`].
pub struct Running {
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Wait (at most `limit`) for every process to stop after the shutdown signal.
    pub async fn join(self, limit: Duration) {
        let all = join_all(self.tasks);
        if tokio::time::timeout(limit, all).await.is_err() {
            tracing::warn!(
                ?limit,
                "a background process did not stop in time; leaving it behind"
            );
        }
    }
}

async fn join_all(tasks: Vec<JoinHandle<()>>) {
    for task in tasks {
        if let Err(error) = task.await {
            tracing::error!(%error, "a background process ended abnormally");
        }
    }
}

impl App {
    /// Open the database (migrations applied), the event store and the projection
    /// runner (projections whose version changed are emptied to rebuild), and prepare
    /// the deadline process and the checkpoint schedule.
    pub async fn build(config: AppConfig) -> anyhow::Result<Self> {
        let database = Database::connect(&config.database_url)
            .await
            .context("opening the database")?;
        tracing::info!(url = %database.display_url(), backend = ?database.backend(), "database open");
        let store = EventStore::new(database.clone())
            .await
            .context("opening the event store")?;
        let runner = ProjectionRunner::new(store.clone(), PROJECTION_BATCH)
            .await
            .context("starting the projections")?;
        if let Some(warning) =
            calendar_files::next_year_warning(&config.calendar, config.clock.now())
        {
            tracing::warn!("{warning}");
        }
        let handler = CommandHandler::new(
            store,
            config.rules.case_rules(config.calendar.clone()),
            config.clock,
        );
        let deadlines = DeadlineProcess::new(handler.clone(), config.system_unit)
            .with_retention(config.rules.privacy.retention_days_after_close);
        let checkpoints = config
            .checkpoints
            .as_ref()
            .map(|checkpoints| CheckpointSchedule::new(database, checkpoints))
            .transpose()
            .context("preparing the checkpoint schedule")?;
        Ok(Self {
            handler,
            progress: runner.progress(),
            rules: config.rules,
            runner,
            deadlines,
            deadline_interval: config.deadline_interval,
            checkpoints,
        })
    }

    pub fn handler(&self) -> &CommandHandler {
        &self.handler
    }

    /// How far the read models are, for read-your-writes and readiness.
    pub fn progress(&self) -> &ProjectionProgress {
        &self.progress
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The deadline process (tests run passes by hand).
    pub fn deadline_process(&self) -> DeadlineProcess {
        self.deadlines.clone()
    }

    /// Start every background process; each stops when `shutdown` turns true (the
    /// projection runner releases its lease on the way out).
    pub fn start(self, shutdown: &watch::Sender<bool>) -> Running {
        let mut tasks = vec![tokio::spawn(self.runner.run(shutdown.subscribe()))];
        if let Some(interval) = self.deadline_interval {
            tasks.push(tokio::spawn(
                self.deadlines.run(interval, shutdown.subscribe()),
            ));
        }
        if let Some(schedule) = self.checkpoints {
            tasks.push(tokio::spawn(schedule.run(shutdown.subscribe())));
        }
        Running { tasks }
    }
}

/// Open the store at `database_url` and bring every read model up to the end of the
/// log, so a report made from them reflects everything recorded.
pub async fn open_caught_up(database_url: &str) -> anyhow::Result<EventStore> {
    let store = EventStore::new(Database::connect(database_url).await?).await?;
    ProjectionRunner::new(store.clone(), PROJECTION_BATCH)
        .await?
        .catch_up()
        .await?;
    Ok(store)
}
