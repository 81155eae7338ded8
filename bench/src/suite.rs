//! The whole benchmark, backend by backend: the command path beside the cqrs-es anchor,
//! batched appends, then a log of real cases filled to the target size on which a
//! `whistle serve` process is timed (catch-up from empty read models, start-up, restart),
//! queried at a fixed rate, sent commands through GraphQL, and weighed (peak RSS).
//!
//! Every database is new and empty; SQLite files live in the work directory, PostgreSQL
//! databases are created on the given server and left there for inspection.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::drivers::commands::prepare;
use crate::drivers::graphql::GraphqlRun;
use crate::drivers::{AppendRun, append_run, graphql, graphql_commands, open_empty_store};
use cqrs_es::CqrsFramework;
use whistle_api::auth::JwtSecret;
use whistle_app::CommandHandler;
use whistle_domain::commands::ReferencedUnit;

use crate::anchor;
use crate::service::Service;
use whistle_test_support::postgres_server::PostgresServer;

/// The backends measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchBackend {
    Sqlite,
    Postgres,
}

impl BenchBackend {
    pub fn label(self) -> &'static str {
        match self {
            BenchBackend::Sqlite => "SQLite",
            BenchBackend::Postgres => "PostgreSQL",
        }
    }
}

/// How much work each part does.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// Concurrent clients of the command-path runs (each a run of its own).
    pub command_clients: Vec<usize>,
    /// Commands per command-path run, Whistle's and the anchor's alike.
    pub commands_per_run: usize,
    /// Batched appends: clients, appends in all, events in each.
    pub append_clients: usize,
    pub appends: usize,
    pub events_per_append: usize,
    /// Events of real cases in the large log.
    pub log_events: usize,
    /// Commands per GraphQL command-path run (on the large log).
    pub graphql_commands_per_run: usize,
    /// Query load on the large log: the case list and timelines at `query_rate`
    /// requests per second, the dashboard and a year's scorecards (whole-year
    /// aggregations) at `aggregate_query_rate`, each for `query_seconds`.
    pub query_rate: u32,
    pub aggregate_query_rate: u32,
    pub query_seconds: u64,
    /// The case list's rate and each phase's length in the abuse run.
    pub abuse_rate: u32,
    pub abuse_seconds: u64,
    /// Inclusion and consistency proofs measured on the large log, of each kind.
    pub proofs: usize,
}

impl Sizes {
    /// The published benchmark (about 25 minutes for both backends on two cores).
    pub fn full() -> Sizes {
        Sizes {
            command_clients: vec![1, 8, 32],
            commands_per_run: 20_000,
            append_clients: 8,
            appends: 4_000,
            events_per_append: 100,
            log_events: 1_000_000,
            graphql_commands_per_run: 8_000,
            query_rate: 500,
            aggregate_query_rate: 1,
            query_seconds: 20,
            abuse_rate: 200,
            abuse_seconds: 20,
            proofs: 200,
        }
    }

    /// Seconds: every part runs, on tiny sizes (CI keeps the harness working with it).
    pub fn smoke() -> Sizes {
        Sizes {
            command_clients: vec![1, 4],
            commands_per_run: 48,
            append_clients: 2,
            appends: 8,
            events_per_append: 10,
            log_events: 1_500,
            graphql_commands_per_run: 24,
            query_rate: 40,
            aggregate_query_rate: 4,
            query_seconds: 1,
            abuse_rate: 20,
            abuse_seconds: 1,
            proofs: 5,
        }
    }
}

/// What to run, and where.
pub struct SuiteOptions {
    /// The `whistle` program measured as a service.
    pub whistle: PathBuf,
    pub backends: Vec<BenchBackend>,
    /// Where PostgreSQL databases are created (needed when PostgreSQL is measured).
    pub postgres: Option<PostgresServer>,
    /// Where SQLite files and service logs go.
    pub work_dir: PathBuf,
    pub sizes: Sizes,
}

/// One command-path run of Whistle and of the anchor, on the same number of clients.
pub struct SideBySide {
    pub whistle: AppendRun,
    pub cqrs_es: AppendRun,
}

impl SideBySide {
    pub fn ratio(&self) -> f64 {
        self.whistle.appends_per_second() / self.cqrs_es.appends_per_second()
    }
}

/// A service on the large log.
pub struct LargeLog {
    pub events: i64,
    /// Filling it: every command of the 32-client runs that filled it, as one run.
    pub fill: AppendRun,
    pub database_bytes: Option<u64>,
    /// From process start to `/healthz`, with empty read models.
    pub first_start_serving: Duration,
    /// From process start until the read models reached the head.
    pub catch_up: Duration,
    pub rss_after_catch_up_kib: u64,
    /// The case list and timelines; then the dashboard and scorecards. Failed requests
    /// are counted in each run, not fatal: an overloaded service is a result.
    pub queries: GraphqlRun,
    pub aggregate_queries: GraphqlRun,
    /// The dashboard and a case as of past instants, at the aggregates' rate.
    pub as_of_queries: GraphqlRun,
    pub graphql_commands: Vec<AppendRun>,
    /// The case list alone and beside the abusive requests of the hardening review.
    pub abuse: crate::drivers::abuse::AbuseRun,
    pub peak_rss_kib: u64,
    /// After a restart on the caught-up log: to `/healthz`, and to read models at head.
    pub restart_serving: Duration,
    pub restart_projected: Duration,
    /// The audit ledger's proofs on the log (the service stopped).
    pub proofs: crate::drivers::proofs::ProofRun,
}

/// Everything measured on one backend.
pub struct BackendResults {
    pub backend: BenchBackend,
    pub version: String,
    pub command_path: Vec<SideBySide>,
    pub batched: AppendRun,
    pub large_log: LargeLog,
}

/// The run as a whole.
pub struct SuiteResults {
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub elapsed: Duration,
    pub sizes: Sizes,
    pub backends: Vec<BackendResults>,
}

struct Databases<'a> {
    backend: BenchBackend,
    postgres: Option<&'a PostgresServer>,
    work_dir: PathBuf,
}

impl Databases<'_> {
    async fn fresh(&self, name: &str) -> anyhow::Result<String> {
        match self.backend {
            BenchBackend::Sqlite => {
                let dir = self.work_dir.join(name);
                std::fs::create_dir_all(&dir)?;
                let path = dir.join("whistle.sqlite");
                anyhow::ensure!(
                    !path.exists(),
                    "{} exists already: give an empty work directory",
                    path.display()
                );
                Ok(format!("sqlite://{}", path.display()))
            }
            BenchBackend::Postgres => {
                let server = self.postgres.ok_or_else(|| {
                    anyhow::anyhow!("PostgreSQL is measured, but no server was given")
                })?;
                Ok(server
                    .create_database(&format!("whistle_bench_{}", name.replace('-', "_")))
                    .await?)
            }
        }
    }
}

async fn version_of(backend: BenchBackend, url: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    Ok(match backend {
        BenchBackend::Sqlite => {
            let mut connection = sqlx::SqliteConnection::connect(url).await?;
            let version: String = sqlx::query_scalar("SELECT sqlite_version()")
                .fetch_one(&mut connection)
                .await?;
            connection.close().await?;
            format!("SQLite {version}")
        }
        BenchBackend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(url).await?;
            let version: String = sqlx::query_scalar("SHOW server_version")
                .fetch_one(&mut connection)
                .await?;
            let fsync: String = sqlx::query_scalar("SHOW fsync")
                .fetch_one(&mut connection)
                .await?;
            let autovacuum: String = sqlx::query_scalar("SHOW autovacuum")
                .fetch_one(&mut connection)
                .await?;
            connection.close().await?;
            format!("PostgreSQL {version} (fsync {fsync}, autovacuum {autovacuum})")
        }
    })
}

fn progress(message: impl std::fmt::Display) {
    eprintln!("[whistle-bench] {message}");
}

/// Run everything the options ask for.
pub async fn run(options: &SuiteOptions) -> anyhow::Result<SuiteResults> {
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    let secret_text = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let secret = JwtSecret::new(secret_text.clone())?;
    let mut backends = Vec::new();
    for &backend in &options.backends {
        let databases = Databases {
            backend,
            postgres: options.postgres.as_ref(),
            work_dir: options.work_dir.join(backend.label().to_lowercase()),
        };
        std::fs::create_dir_all(&databases.work_dir)?;
        let sizes = &options.sizes;

        // 1. The command path, Whistle and cqrs-es, at each number of clients.
        let ours_url = databases.fresh("commands").await?;
        let theirs_url = databases.fresh("commands-cqrs-es").await?;
        let store = open_empty_store(&ours_url).await?;
        let version = version_of(backend, &ours_url).await?;
        let (handler, units) = prepare(store.clone()).await?;
        let command_path = match backend {
            BenchBackend::Sqlite => {
                let (anchor, anchor_db) = anchor::sqlite_anchor(&theirs_url).await?;
                side_by_side(backend, &handler, &units, anchor, &anchor_db, sizes).await?
            }
            BenchBackend::Postgres => {
                let (anchor, anchor_db) = anchor::postgres_anchor(&theirs_url).await?;
                side_by_side(backend, &handler, &units, anchor, &anchor_db, sizes).await?
            }
        };
        store.database().close().await;

        // 2. Batched appends.
        progress(format_args!("{}: batched appends", backend.label()));
        let store = open_empty_store(&databases.fresh("appends").await?).await?;
        let batched = append_run(
            &store,
            sizes.append_clients,
            sizes.appends.div_ceil(sizes.append_clients),
            sizes.events_per_append,
        )
        .await?;
        store.database().close().await;

        // 3. The large log of real cases, then a service on it.
        let large_url = databases.fresh("large-log").await?;
        let large_log = large_log(
            options,
            backend,
            &large_url,
            &databases.work_dir,
            &secret,
            &secret_text,
        )
        .await?;
        backends.push(BackendResults {
            backend,
            version,
            command_path,
            batched,
            large_log,
        });
    }
    Ok(SuiteResults {
        started_at,
        elapsed: started.elapsed(),
        sizes: options.sizes.clone(),
        backends,
    })
}

/// Whistle's command path and the anchor's, one after the other at each number of
/// clients, with the same seeds.
async fn side_by_side<ES>(
    backend: BenchBackend,
    handler: &CommandHandler,
    units: &[ReferencedUnit],
    anchor: CqrsFramework<anchor::AnchorCase, ES>,
    anchor_db: &anchor::AnchorDatabase,
    sizes: &Sizes,
) -> anyhow::Result<Vec<SideBySide>>
where
    ES: cqrs_es::EventStore<anchor::AnchorCase> + Send + Sync + 'static,
    ES::AC: Send,
{
    let anchor = Arc::new(anchor);
    let mut runs = Vec::new();
    for (n, &clients) in sizes.command_clients.iter().enumerate() {
        let per_client = sizes.commands_per_run.div_ceil(clients);
        progress(format_args!(
            "{}: command path, {clients} clients",
            backend.label()
        ));
        let seed = n as u64;
        let whistle =
            crate::drivers::commands::run(handler, units, clients, per_client, seed).await?;
        let cqrs_es =
            anchor::run(anchor.clone(), anchor_db, units, clients, per_client, seed).await?;
        runs.push(SideBySide { whistle, cqrs_es });
    }
    anchor_db.close().await;
    Ok(runs)
}

async fn large_log(
    options: &SuiteOptions,
    backend: BenchBackend,
    url: &str,
    work_dir: &std::path::Path,
    secret: &JwtSecret,
    secret_text: &str,
) -> anyhow::Result<LargeLog> {
    let sizes = &options.sizes;
    let label = backend.label();
    let store = open_empty_store(url).await?;
    let (handler, units) = prepare(store.clone()).await?;
    let clients = 32;
    let mut fill: Option<AppendRun> = None;
    let mut seed = 1_000;
    loop {
        let head = store.head_position().await?;
        let missing = sizes.log_events.saturating_sub(head as usize);
        if missing == 0 {
            break;
        }
        progress(format_args!(
            "{label}: filling the large log, {head} of {} events",
            sizes.log_events
        ));
        // About 1.15 events per lifecycle command; never more than 2,000 per client at once.
        let per_client = (missing * 100 / 115 / clients).clamp(1, 2_000);
        let run =
            crate::drivers::commands::run(&handler, &units, clients, per_client, seed).await?;
        seed += 1;
        fill = Some(match fill {
            None => run,
            Some(mut so_far) => {
                so_far.appends += run.appends;
                so_far.events += run.events;
                so_far.elapsed += run.elapsed;
                so_far.latencies.extend(run.latencies);
                so_far
            }
        });
    }
    let events = store.head_position().await?;
    store.database().close().await;
    let fill = fill.ok_or_else(|| anyhow::anyhow!("the large log was not filled"))?;
    let database_bytes = match backend {
        BenchBackend::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            Some(std::fs::metadata(path)?.len())
        }
        BenchBackend::Postgres => None,
    };

    let client = reqwest::Client::new();
    let log = |name: &str| work_dir.join(format!("serve-{name}.log"));
    progress(format_args!(
        "{label}: a service catching up on {events} events"
    ));
    let mut service = Service::start(&options.whistle, url, secret_text, &log("first")).await?;
    let first_start_serving = service.wait_until_serving(&client).await?;
    let catch_up = service
        .wait_until_projected(
            &client,
            events,
            Duration::from_millis(50),
            Duration::from_secs(4 * 3600),
        )
        .await?;
    let (_, rss_after_catch_up_kib) = service.memory_kib()?;

    progress(format_args!(
        "{label}: queries at {} requests/s",
        sizes.query_rate
    ));
    let year = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y")
        .to_string()
        .parse()?;
    let names = |names: &[&str]| names.iter().map(|q| q.to_string()).collect::<Vec<_>>();
    let queries = graphql::run(
        &service.base_url,
        secret,
        sizes.query_rate,
        sizes.query_seconds,
        year,
        &names(&["case-list", "case-timeline"]),
    )
    .await?;
    progress(format_args!(
        "{label}: dashboard and scorecards at {} requests/s",
        sizes.aggregate_query_rate
    ));
    let aggregate_queries = graphql::run(
        &service.base_url,
        secret,
        sizes.aggregate_query_rate,
        sizes.query_seconds,
        year,
        &names(&["dashboard", "scorecards"]),
    )
    .await?;
    progress(format_args!(
        "{label}: the dashboard and a case as of past instants at {} requests/s",
        sizes.aggregate_query_rate
    ));
    let as_of_queries = graphql::run(
        &service.base_url,
        secret,
        sizes.aggregate_query_rate,
        sizes.query_seconds,
        year,
        &names(&["dashboard-as-of", "case-as-of"]),
    )
    .await?;

    let mut graphql_commands = Vec::new();
    for (n, &clients) in sizes.command_clients.iter().enumerate() {
        progress(format_args!(
            "{label}: GraphQL command path, {clients} clients"
        ));
        let per_client = sizes.graphql_commands_per_run.div_ceil(clients);
        graphql_commands.push(
            graphql_commands::run(
                &service.base_url,
                secret,
                clients,
                per_client,
                500 + n as u64,
            )
            .await?,
        );
    }
    progress(format_args!(
        "{label}: the case list beside abusive requests"
    ));
    let abuse = crate::drivers::abuse::run(
        &service.base_url,
        secret,
        sizes.abuse_rate,
        sizes.abuse_seconds,
        Some(service.pid()?),
    )
    .await?;
    anyhow::ensure!(
        abuse.alive,
        "the service did not survive the abusive requests"
    );
    let (peak_rss_kib, _) = service.memory_kib()?;
    service.stop().await?;

    progress(format_args!("{label}: restart on the caught-up log"));
    let head = {
        let store =
            whistle_store::EventStore::new(whistle_store::Database::connect(url).await?).await?;
        let head = store.head_position().await?;
        store.database().close().await;
        head
    };
    let mut service = Service::start(&options.whistle, url, secret_text, &log("restart")).await?;
    let restart_serving = service.wait_until_serving(&client).await?;
    let restart_projected = service
        .wait_until_projected(
            &client,
            head,
            Duration::from_millis(2),
            Duration::from_secs(600),
        )
        .await?;
    service.stop().await?;
    progress(format_args!("{label}: audit proofs on the log"));
    let proofs = crate::drivers::proofs::run(url, sizes.proofs, 11).await?;
    Ok(LargeLog {
        events,
        fill,
        database_bytes,
        first_start_serving,
        catch_up,
        rss_after_catch_up_kib,
        queries,
        aggregate_queries,
        as_of_queries,
        graphql_commands,
        abuse,
        peak_rss_kib,
        restart_serving,
        restart_projected,
        proofs,
    })
}
