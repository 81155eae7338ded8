//! Startup of the HTTP server: the application core ([`whistle_app::App`]: database,
//! command handler, background processes), the GraphQL schema and the router, bound to
//! the listener. `Application::build` binds its own port (0 works), so tests start the
//! real server exactly as `whistle serve` does.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use whistle_app::{App, AppConfig, DeadlineProcess};

use crate::auth::JwtSecret;
use crate::graphql::{AppState, build_schema};
use crate::state::HttpState;
use crate::{downloads, http};

/// Largest request body accepted (bytes).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub jwt_secret: JwtSecret,
    pub app: AppConfig,
}

/// A built, bound, not yet serving application.
pub struct Application {
    listener: TcpListener,
    router: Router,
    port: u16,
    state: AppState,
    core: App,
    shutdown: watch::Sender<bool>,
}

impl Application {
    pub async fn build(config: ServerConfig) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let core = App::build(config.app).await?;
        let state = AppState {
            handler: core.handler().clone(),
            progress: core.progress().clone(),
            assessment_rules: std::sync::Arc::new(core.rules().assessment.clone()),
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
            core,
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
        self.core.deadline_process()
    }

    /// A handle that stops the server and its background processes.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Serve until the shutdown handle fires (or Ctrl-C or SIGTERM when
    /// `stop_on_signals`). On the way out the background processes stop and the
    /// projection lease is released, so another process takes the projections over at
    /// once.
    pub async fn run_until_stopped(self, stop_on_signals: bool) -> anyhow::Result<()> {
        let mut stop = self.shutdown.subscribe();
        let running = self.core.start(&self.shutdown);
        if stop_on_signals {
            tokio::spawn(stop_on_ctrl_c_or_sigterm(self.shutdown.clone()));
        }
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            })
            .await?;
        running.join(Duration::from_secs(10)).await;
        self.state.store().database().close().await;
        Ok(())
    }
}

async fn stop_on_ctrl_c_or_sigterm(shutdown: watch::Sender<bool>) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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
