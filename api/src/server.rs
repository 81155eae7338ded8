//! Startup of the HTTP server: the application core ([`whistle_app::App`]: database,
//! command handler, background processes), the GraphQL schema and the router, bound to
//! the listener. `Application::build` binds its own port (0 works), so tests start the
//! real server exactly as `whistle serve` does.
//!
//! The edge is bounded ([`ServerLimits`]): connections are served by hyper directly with a
//! header-read timeout (a slow or idle client is cut off), a cap on open connections and
//! on open WebSockets, a time limit on every request, rate limits per address and per
//! token, security headers on every response, and `no-store` on data.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use whistle_app::{App, AppConfig, DeadlineProcess};

use crate::auth::JwtSecret;
use crate::graphql::errors::ErrorCode;
use crate::graphql::{AppState, build_schema};
use crate::state::HttpState;
use crate::{downloads, http, metrics};

/// Largest request body accepted (bytes).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The bounds of the edge; every one has a `whistle serve` flag.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// A client must send a whole request head within this time; it also closes a
    /// keep-alive connection that sends no new request for this long.
    pub header_read_timeout: Duration,
    /// The longest a request may take until its response starts (body upload included).
    pub request_timeout: Duration,
    /// Connections open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// WebSocket sessions open at once.
    pub max_websockets: usize,
    /// Requests per second from one client address (0: no limit); bursts of twice that.
    pub requests_per_second_per_address: u32,
    /// Requests per second with one bearer token (0: no limit); bursts of twice that.
    pub requests_per_second_per_token: u32,
    /// Origins whose pages may call the API from a browser (CORS), e.g.
    /// `https://console.example.gov.cn`; none by default (same origin only).
    pub allowed_origins: Vec<HeaderValue>,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 512,
            max_websockets: 256,
            requests_per_second_per_address: 200,
            requests_per_second_per_token: 50,
            allowed_origins: Vec::new(),
        }
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub jwt_secret: JwtSecret,
    /// The organisation's identity provider; `None`: only `whistle token` tokens.
    pub identity_provider: Option<crate::oidc::OidcConfig>,
    pub app: AppConfig,
    pub limits: ServerLimits,
    /// The bearer token `/metrics` asks for; without one, `/metrics` is not served.
    pub metrics_token: Option<String>,
}

/// A built, bound, not yet serving application.
pub struct Application {
    listener: TcpListener,
    router: Router,
    port: u16,
    state: AppState,
    core: App,
    limits: ServerLimits,
    shutdown: watch::Sender<bool>,
    pruners: Vec<Box<dyn Fn() + Send + Sync>>,
}

impl Application {
    pub async fn build(config: ServerConfig) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let core = App::build(config.app).await?;
        let state = AppState {
            handler: core.handler().clone(),
            progress: core.progress().clone(),
            assessment_rules: Arc::new(core.rules().assessment.clone()),
        };
        let schema = build_schema(state.clone());
        let provider = match config.identity_provider {
            Some(provider) => {
                let verifier = crate::oidc::OidcVerifier::new(provider)?;
                // Read the provider's keys now so a misconfiguration shows at once; when
                // it cannot be reached, the first token tries again.
                if let Err(error) = verifier.refresh().await {
                    tracing::warn!(%error, "the identity provider is not reachable yet; its tokens are refused until it is");
                }
                Some(verifier)
            }
            None => None,
        };
        let http_state = HttpState {
            schema,
            app: state.clone(),
            authenticator: crate::auth::Authenticator::new(config.jwt_secret.clone(), provider),
            websockets: Arc::new(Semaphore::new(config.limits.max_websockets)),
            metrics: metrics::Metrics::install(config.metrics_token),
        };
        let (router, pruners) = router(http_state, &config.limits);
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
            limits: config.limits,
            shutdown: watch::channel(false).0,
            pruners,
        })
    }

    /// The router with every layer, to send it requests without a socket (the fuzz
    /// target does). A request needs the `ConnectInfo<SocketAddr>` extension the accept
    /// loop gives it when a rate limit is on.
    pub fn router(&self) -> Router {
        self.router.clone()
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
    /// `stop_on_signals`). On the way out open connections finish their requests, the
    /// background processes stop and the projection lease is released, so another
    /// process takes the projections over at once.
    pub async fn run_until_stopped(self, stop_on_signals: bool) -> anyhow::Result<()> {
        let running = self.core.start(&self.shutdown);
        if stop_on_signals {
            tokio::spawn(stop_on_ctrl_c_or_sigterm(self.shutdown.clone()));
        }
        let pruners = self.pruners;
        let mut prune_stop = self.shutdown.subscribe();
        tokio::spawn(async move {
            // The rate limiters keep a bucket per key; forget the quiet ones.
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(60)) => pruners.iter().for_each(|prune| prune()),
                    changed = prune_stop.changed() => if changed.is_err() || *prune_stop.borrow() { return },
                }
            }
        });
        serve(
            self.listener,
            self.router,
            &self.limits,
            self.shutdown.subscribe(),
        )
        .await;
        running.join(Duration::from_secs(10)).await;
        self.state.store().database().close().await;
        Ok(())
    }
}

/// Accept connections until `stop` turns true, each served by hyper's HTTP/1 with the
/// header-read timeout, within the connection cap; then let open connections finish
/// (at most 10 s).
async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &ServerLimits,
    mut stop: watch::Receiver<bool>,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let stopping = async {
            let _ = stop.wait_for(|stopped| *stopped).await.is_ok();
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping => break,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors, or the peer reset before accept: pause, go on.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            ::metrics::counter!("whistle_connections_refused_total").increment(1);
            tracing::warn!(%remote, limit = limits.max_connections, "too many open connections; closing a new one");
            drop(stream);
            continue;
        };
        while tasks.try_join_next().is_some() {}
        let router = router.clone();
        let header_read_timeout = limits.header_read_timeout;
        let mut stop = stop.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(remote));
                router.clone().oneshot(request)
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let stopping = async {
                // The guard `wait_for` returns is not `Send`: drop it at once.
                let _ = stop.wait_for(|stopped| *stopped).await.is_ok();
            };
            let finished = tokio::select! {
                served = connection.as_mut() => Some(served),
                _ = stopping => None,
            };
            let served = match finished {
                Some(served) => served,
                None => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = served {
                tracing::debug!(%error, %remote, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("connections still open after 10 s; closing them");
        tasks.abort_all();
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

/// Rate-limit key: the client's address.
#[derive(Debug, Clone, Copy)]
struct PeerAddress;

impl KeyExtractor for PeerAddress {
    type Key = std::net::IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, tower_governor::GovernorError> {
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip())
            .ok_or(tower_governor::GovernorError::UnableToExtractKey)
    }
}

/// Rate-limit key: the bearer token (by its hash), or the address without one.
#[derive(Debug, Clone, Copy)]
struct BearerOrAddress;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum TokenKey {
    Token(u64),
    Address(std::net::IpAddr),
}

impl KeyExtractor for BearerOrAddress {
    type Key = TokenKey;

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, tower_governor::GovernorError> {
        use std::hash::{Hash, Hasher};
        match request.headers().get(header::AUTHORIZATION) {
            Some(value) => {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                value.as_bytes().hash(&mut hasher);
                Ok(TokenKey::Token(hasher.finish()))
            }
            None => PeerAddress.extract(request).map(TokenKey::Address),
        }
    }
}

/// The answer to a request over a rate limit: 429, `Retry-After`, a GraphQL-shaped
/// error body with `RATE_LIMITED`.
fn rate_limited(error: tower_governor::GovernorError) -> Response {
    ::metrics::counter!("whistle_rate_limited_total").increment(1);
    let (wait, status) = match &error {
        tower_governor::GovernorError::TooManyRequests { wait_time, .. } => {
            (*wait_time, StatusCode::TOO_MANY_REQUESTS)
        }
        _ => (1, StatusCode::INTERNAL_SERVER_ERROR),
    };
    let body = serde_json::json!({ "errors": [{
        "message": format!("too many requests; try again in {wait} s"),
        "extensions": { "code": ErrorCode::RateLimited.as_str() },
    }]});
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&wait.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// One request every `1 / per_second` s, bursts of twice that.
fn quota(per_second: u32) -> (Duration, u32) {
    (
        Duration::from_nanos(1_000_000_000 / u64::from(per_second.max(1))),
        per_second.saturating_mul(2).max(1),
    )
}

type Pruner = Box<dyn Fn() + Send + Sync>;

fn router(state: HttpState, limits: &ServerLimits) -> (Router, Vec<Pruner>) {
    let request_id = HeaderName::from_static("x-request-id");
    let mut api = Router::new()
        .route(
            "/graphql",
            get(http::graphiql_or_get).post(http::graphql_post),
        )
        .route("/graphql/ws", get(http::graphql_ws))
        .route("/exports/scorecards", get(downloads::scorecards))
        .route("/exports/assessment", get(downloads::assessment))
        .route("/exports/ledger", get(downloads::ledger))
        .route("/exports/bulletin", get(downloads::bulletin))
        .route("/metrics", get(metrics::scrape))
        .with_state(state.clone());
    let mut pruners: Vec<Pruner> = Vec::new();
    if limits.requests_per_second_per_token > 0 {
        let (period, burst) = quota(limits.requests_per_second_per_token);
        let config = GovernorConfigBuilder::default()
            .period(period)
            .burst_size(burst)
            .key_extractor(BearerOrAddress)
            .finish()
            .expect("a non-zero period and burst");
        let limiter = config.limiter().clone();
        pruners.push(Box::new(move || limiter.retain_recent()));
        api = api.layer(GovernorLayer::new(config).error_handler(rate_limited));
    }
    if limits.requests_per_second_per_address > 0 {
        let (period, burst) = quota(limits.requests_per_second_per_address);
        let config = GovernorConfigBuilder::default()
            .period(period)
            .burst_size(burst)
            .key_extractor(PeerAddress)
            .finish()
            .expect("a non-zero period and burst");
        let limiter = config.limiter().clone();
        pruners.push(Box::new(move || limiter.retain_recent()));
        api = api.layer(GovernorLayer::new(config).error_handler(rate_limited));
    }
    // Probes are not rate-limited: an orchestrator asks them on its own schedule.
    let probes = Router::new()
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(http::readyz))
        // The IDE's files: static, from the binary.
        .route("/graphiql/{file}", get(crate::graphiql::asset))
        .with_state(state.clone());
    let router = api
        .merge(probes)
        .layer(axum::middleware::from_fn_with_state(state, metrics::track))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
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
        .layer(axum::middleware::map_response(challenge_on_401));
    // Outermost: a preflight is answered before routing, rate limits or timeouts.
    let router = if limits.allowed_origins.is_empty() {
        router
    } else {
        router.layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(limits.allowed_origins.clone())
                .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
                .expose_headers([header::RETRY_AFTER, HeaderName::from_static("x-request-id")])
                .max_age(Duration::from_secs(600)),
        )
    };
    (router, pruners)
}

/// Every 401 says how to authenticate (RFC 6750): `WWW-Authenticate: Bearer`.
async fn challenge_on_401(mut response: Response) -> Response {
    if response.status() == StatusCode::UNAUTHORIZED
        && !response.headers().contains_key(header::WWW_AUTHENTICATE)
    {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"whistle\""),
        );
    }
    response
}
