//! `whistle serve`: the service — GraphQL at /graphql (GraphiQL in a browser), report
//! downloads, /healthz and /readyz — with its background processes (projections,
//! deadlines, periodic checkpoints).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use whistle_api::{Application, ServerConfig};
use whistle_app::{AppConfig, CheckpointConfig, SystemClock};
use whistle_domain::UnitId;

use crate::args::{DatabaseArgs, RulesArgs, SecretArgs};

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(long, env = "WHISTLE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    secret: SecretArgs,
    #[command(flatten)]
    rules: RulesArgs,
    /// Seconds between passes of the deadline process (warnings and misses).
    #[arg(long, env = "WHISTLE_DEADLINE_INTERVAL_SECONDS", default_value_t = 30)]
    deadline_interval_seconds: u64,
    /// Unit code the system actor records deadline events under.
    #[arg(long, env = "WHISTLE_SYSTEM_UNIT", default_value = "city-cac")]
    system_unit: String,
    /// Load the demo year first when the database is empty.
    #[arg(long, env = "WHISTLE_WITH_DEMO")]
    with_demo: bool,
    /// Sign a checkpoint of the log periodically with this private key (a key file,
    /// or the key itself in WHISTLE_AUDIT_KEY); needs --checkpoint-dir.
    #[arg(
        long,
        env = "WHISTLE_AUDIT_KEY",
        hide_env_values = true,
        requires = "checkpoint_dir"
    )]
    audit_key: Option<String>,
    /// Where the periodic checkpoints (and their leaf lists) are written.
    #[arg(long, env = "WHISTLE_CHECKPOINT_DIR", requires = "audit_key")]
    checkpoint_dir: Option<PathBuf>,
    /// Minutes between periodic checkpoints (one is written only if the log grew).
    #[arg(
        long,
        env = "WHISTLE_CHECKPOINT_INTERVAL_MINUTES",
        default_value_t = 60
    )]
    checkpoint_interval_minutes: u64,
    /// Seed of the demo data (with --with-demo).
    #[arg(long, default_value_t = whistle_demo::DEFAULT_SEED)]
    seed: u64,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let system_unit = UnitId::parse(&args.system_unit)?;
    let rules = args.rules.load()?;
    tracing::info!(version = %rules.deadlines.version, "rules loaded");
    let jwt_secret = args.secret.secret()?;
    if args.with_demo {
        whistle_demo::load_if_empty(&args.database.database_url, args.seed, &rules.case_rules())
            .await?;
    }
    let checkpoints = match (args.audit_key, args.checkpoint_dir) {
        (Some(key), Some(dir)) => Some(CheckpointConfig {
            key,
            dir,
            interval: Duration::from_secs(args.checkpoint_interval_minutes.max(1) * 60),
        }),
        _ => None,
    };
    let config = ServerConfig {
        listen: args.listen,
        jwt_secret,
        app: AppConfig {
            database_url: args.database.database_url,
            rules,
            clock: Arc::new(SystemClock),
            deadline_interval: Some(Duration::from_secs(args.deadline_interval_seconds.max(1))),
            system_unit,
            checkpoints,
        },
    };
    let app = Application::build(config).await?;
    tracing::info!(
        port = app.port(),
        "Whistle is serving: GraphQL and GraphiQL at http://{}/graphql",
        args.listen
    );
    app.run_until_stopped(true).await
}
