//! `whistle serve`: the service — GraphQL at /graphql (GraphiQL in a browser), report
//! downloads, /healthz and /readyz — with its background processes (projections,
//! deadlines, periodic checkpoints).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use whistle_api::oidc::{ClaimNames, OidcConfig};
use whistle_api::{Application, ServerConfig, ServerLimits};
use whistle_app::{AppConfig, CheckpointConfig, SystemClock};
use whistle_domain::UnitId;

use crate::args::{CalendarArgs, DatabaseArgs, RulesArgs, SecretArgs};

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
    #[command(flatten)]
    calendar: CalendarArgs,
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
    /// Seconds a client has to send a whole request head; also how long an idle
    /// keep-alive connection stays open.
    #[arg(
        long,
        env = "WHISTLE_HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = 10
    )]
    header_read_timeout_seconds: u64,
    /// Seconds a request may take until its response starts (upload included).
    #[arg(long, env = "WHISTLE_REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    request_timeout_seconds: u64,
    /// Connections open at once; further ones are closed when accepted.
    #[arg(long, env = "WHISTLE_MAX_CONNECTIONS", default_value_t = 512)]
    max_connections: usize,
    /// WebSocket sessions open at once.
    #[arg(long, env = "WHISTLE_MAX_WEBSOCKETS", default_value_t = 256)]
    max_websockets: usize,
    /// Requests per second from one client address (bursts of twice that); 0: no limit.
    #[arg(long, env = "WHISTLE_RATE_PER_ADDRESS", default_value_t = 200)]
    rate_per_address: u32,
    /// Requests per second with one bearer token (bursts of twice that); 0: no limit.
    #[arg(long, env = "WHISTLE_RATE_PER_TOKEN", default_value_t = 50)]
    rate_per_token: u32,
    /// Origins whose pages may call the API from a browser (CORS), comma-separated, e.g.
    /// https://console.example.gov.cn; none by default (same origin only).
    #[arg(long, env = "WHISTLE_CORS_ORIGIN", value_delimiter = ',')]
    cors_origin: Vec<String>,
    /// Serve `/metrics` (Prometheus text format) to requests with this bearer token.
    #[arg(long, env = "WHISTLE_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// The organisation's OpenID Connect identity provider (its issuer URL, as its tokens
    /// name it). With one, tokens must come from it; `whistle token` tokens are refused
    /// unless --allow-development-tokens.
    #[arg(long, env = "WHISTLE_OIDC_ISSUER")]
    oidc_issuer: Option<String>,
    /// The audience the provider's tokens must be issued for.
    #[arg(long, env = "WHISTLE_OIDC_AUDIENCE", default_value = "whistle")]
    oidc_audience: String,
    /// The claim holding the person's user id.
    #[arg(long, env = "WHISTLE_OIDC_CLAIM_USER", default_value = "sub")]
    oidc_claim_user: String,
    /// The claim holding the person's display name.
    #[arg(long, env = "WHISTLE_OIDC_CLAIM_NAME", default_value = "name")]
    oidc_claim_name: String,
    /// The claim holding the person's role (monitor, dispatcher, officer …).
    #[arg(long, env = "WHISTLE_OIDC_CLAIM_ROLE", default_value = "whistle_role")]
    oidc_claim_role: String,
    /// The claim holding the person's unit code.
    #[arg(long, env = "WHISTLE_OIDC_CLAIM_UNIT", default_value = "whistle_unit")]
    oidc_claim_unit: String,
    /// With --oidc-issuer, also accept `whistle token` (HS256) tokens.
    #[arg(long, env = "WHISTLE_ALLOW_DEVELOPMENT_TOKENS")]
    allow_development_tokens: bool,
    /// Seed of the demo data (with --with-demo).
    #[arg(long, default_value_t = whistle_demo::DEFAULT_SEED)]
    seed: u64,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let system_unit = UnitId::parse(&args.system_unit)?;
    let rules = args.rules.load()?;
    let calendar = args.calendar.load()?;
    tracing::info!(
        version = %rules.deadlines.version,
        calendar_years = ?calendar.known_years().last(),
        "rules and calendar loaded"
    );
    let jwt_secret = args.secret.secret()?;
    let identity_provider = args.oidc_issuer.map(|issuer| OidcConfig {
        issuer,
        audience: args.oidc_audience,
        claims: ClaimNames {
            user: args.oidc_claim_user,
            name: args.oidc_claim_name,
            role: args.oidc_claim_role,
            unit: args.oidc_claim_unit,
        },
        allow_development_tokens: args.allow_development_tokens,
        keys_cooldown: whistle_api::oidc::KEYS_COOLDOWN,
    });
    if args.with_demo {
        let mut progress = crate::progress::Progress::new("loading the demo year", "days");
        whistle_demo::load_if_empty(
            &args.database.database_url,
            args.seed,
            &rules.case_rules(calendar.clone()),
            &mut |at| progress.set(at.days_done as u64, at.days as u64),
        )
        .await?;
        progress.finish();
    }
    let checkpoints = match (args.audit_key, args.checkpoint_dir) {
        (Some(key), Some(dir)) => Some(CheckpointConfig {
            key,
            dir,
            interval: Duration::from_secs(args.checkpoint_interval_minutes.max(1) * 60),
        }),
        _ => None,
    };
    let limits = ServerLimits {
        header_read_timeout: Duration::from_secs(args.header_read_timeout_seconds.max(1)),
        request_timeout: Duration::from_secs(args.request_timeout_seconds.max(1)),
        max_connections: args.max_connections.max(1),
        max_websockets: args.max_websockets.max(1),
        requests_per_second_per_address: args.rate_per_address,
        requests_per_second_per_token: args.rate_per_token,
        allowed_origins: args
            .cors_origin
            .iter()
            .map(|origin| {
                let origin = origin.trim();
                if !(origin.starts_with("https://") || origin.starts_with("http://"))
                    || origin.trim_end_matches('/') != origin
                {
                    anyhow::bail!(
                        "--cors-origin `{origin}` is not an origin: scheme://host[:port], without a path"
                    );
                }
                Ok(whistle_api::HeaderValue::from_str(origin)?)
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let config = ServerConfig {
        listen: args.listen,
        jwt_secret,
        identity_provider,
        limits,
        metrics_token: args.metrics_token,
        app: AppConfig {
            database_url: args.database.database_url,
            rules,
            calendar,
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
