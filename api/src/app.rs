//! Startup: open the database (migrations applied), start the projection runner, build
//! the GraphQL schema and the router, bind the listener. `Application::build` binds its
//! own port (0 works), so tests start the real server exactly as `whistle serve` does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use whistle_domain::UnitId;
use whistle_domain::rules::{AssessmentRules, DeadlineRules};
use whistle_projections::ProjectionRunner;
use whistle_store::{Clock, CommandHandler, Database, EventStore};

use crate::auth::JwtSecret;
use crate::deadlines::DeadlineProcess;
use crate::graphql::{AppState, WhistleSchema, build_schema};
use crate::{downloads, http};

/// Largest request body accepted (bytes).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Events applied per projection transaction.
pub const PROJECTION_BATCH: i64 = 1_000;

/// Everything the service needs to start.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub listen: SocketAddr,
    pub database_url: String,
    pub jwt_secret: JwtSecret,
    pub rules: DeadlineRules,
    pub assessment_rules: AssessmentRules,
    pub clock: Arc<dyn Clock>,
    /// How often the deadline process runs; `None` leaves it to the caller (tests).
    pub deadline_interval: Option<Duration>,
    /// The unit the system actor records deadline events under (the cyberspace office).
    pub system_unit: UnitId,
}

/// State shared by the HTTP handlers.
#[derive(Clone)]
pub struct HttpState {
    pub schema: WhistleSchema,
    pub app: AppState,
    pub jwt_secret: JwtSecret,
}

/// A built, bound, not yet serving application.
pub struct Application {
    listener: TcpListener,
    router: Router,
    port: u16,
    state: AppState,
    runner: ProjectionRunner,
    deadlines: DeadlineProcess,
    deadline_interval: Option<Duration>,
    shutdown: watch::Sender<bool>,
}

impl Application {
    pub async fn build(config: AppConfig) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let database = Database::connect(&config.database_url)
            .await
            .with_context(|| format!("opening the database at {}", config.database_url))?;
        let store = EventStore::new(database)
            .await
            .context("opening the event store")?;
        let runner = ProjectionRunner::new(store.clone(), PROJECTION_BATCH)
            .await
            .context("starting the projections")?;
        let handler = CommandHandler::new(store, config.rules.clone(), config.clock.clone());
        let deadlines = DeadlineProcess::new(handler.clone(), config.system_unit.clone());
        let state = AppState {
            handler,
            progress: runner.progress(),
            assessment_rules: Arc::new(config.assessment_rules.clone()),
        };
        let schema = build_schema(state.clone());
        let http_state = HttpState {
            schema,
            app: state.clone(),
            jwt_secret: config.jwt_secret.clone(),
        };
        let router = router(http_state);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            listener,
            router,
            port,
            state,
            runner,
            deadlines,
            deadline_interval: config.deadline_interval,
            shutdown: watch::channel(false).0,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The deadline process of this application (tests run passes by hand).
    pub fn deadline_process(&self) -> DeadlineProcess {
        self.deadlines.clone()
    }

    /// A handle that stops the server and its projection runner.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Serve until the shutdown handle fires (or Ctrl-C or SIGTERM when
    /// `stop_on_ctrl_c`). On the way out the projection lease is released, so another
    /// process takes the projections over at once.
    pub async fn run_until_stopped(self, stop_on_ctrl_c: bool) -> anyhow::Result<()> {
        let mut stop = self.shutdown.subscribe();
        let runner_stop = self.shutdown.subscribe();
        let runner = tokio::spawn(self.runner.run(runner_stop));
        if let Some(interval) = self.deadline_interval {
            tokio::spawn(self.deadlines.run(interval, self.shutdown.subscribe()));
        }
        let shutdown = self.shutdown.clone();
        if stop_on_ctrl_c {
            tokio::spawn(async move {
                let terminate = async {
                    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
                        Ok(mut signal) => {
                            signal.recv().await;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "cannot listen for SIGTERM");
                            std::future::pending::<()>().await;
                        }
                    }
                };
                tokio::select! {
                    interrupted = tokio::signal::ctrl_c() => {
                        if interrupted.is_err() { return; }
                        tracing::info!("Ctrl-C: shutting down");
                    }
                    _ = terminate => tracing::info!("SIGTERM: shutting down"),
                }
                let _ = shutdown.send(true);
            });
        }
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            })
            .await?;
        let _ = tokio::time::timeout(Duration::from_secs(10), runner).await;
        self.state.store().database().close().await;
        Ok(())
    }
}

fn router(state: HttpState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/graphql", get(http::graphiql_or_get).post(http::graphql_post))
        .route("/graphql/ws", get(http::graphql_ws))
        .route("/exports/scorecards", get(downloads::scorecards))
        .route("/exports/assessment", get(downloads::assessment))
        .route("/exports/ledger", get(downloads::ledger))
        .route("/exports/bulletin", get(downloads::bulletin))
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(http::readyz))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), %request_id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}
