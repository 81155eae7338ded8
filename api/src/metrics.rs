//! Metrics an operator can scrape: `GET /metrics` in the Prometheus text format, for
//! the bearer token given by `--metrics-token` (without one, `/metrics` is not served).
//!
//! Recorded across the service (`metrics` crate, one process-wide recorder):
//! - `whistle_http_requests_total{route,status}` and
//!   `whistle_http_request_duration_seconds{route}` (this module's middleware);
//! - `whistle_graphql_operations_total{operation,type,outcome}` and
//!   `whistle_graphql_operation_duration_seconds{operation,type}` (the GraphQL handler);
//! - `whistle_commands_total{command,outcome}` (the command handler);
//! - `whistle_appender_group_size`, `whistle_group_commit_failures_total` (the store);
//! - `whistle_projection_lag_events{projection}`, `whistle_projection_failures_total`;
//! - `whistle_rate_limited_total`, `whistle_query_limit_refusals_total{code}`,
//!   `whistle_connections_refused_total`;
//! - `whistle_db_pool_connections{state}` (sampled at each scrape).

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::HttpState;

/// The process's recorder and who may read it.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    token: Option<Arc<str>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Metrics {
    /// The recorder (installed once per process: tests start many applications in one)
    /// and the token `/metrics` asks for.
    pub fn install(token: Option<String>) -> Self {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        let handle = HANDLE
            .get_or_init(|| {
                let builder = PrometheusBuilder::new()
                    .set_buckets_for_metric(
                        Matcher::Suffix("_seconds".to_owned()),
                        &[
                            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                            5.0, 10.0, 20.0,
                        ],
                    )
                    .and_then(|b| {
                        b.set_buckets_for_metric(
                            Matcher::Full("whistle_appender_group_size".to_owned()),
                            &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
                        )
                    })
                    .expect("the bucket lists are not empty");
                match builder.install_recorder() {
                    Ok(handle) => handle,
                    Err(error) => {
                        // Another recorder is installed (an embedding program's): keep a
                        // recorder of our own for /metrics; its values stay empty.
                        tracing::warn!(%error, "a metrics recorder is already installed; /metrics will be empty");
                        PrometheusBuilder::new().build_recorder().handle()
                    }
                }
            })
            .clone();
        Self {
            handle,
            token: token.filter(|t| !t.is_empty()).map(Arc::from),
        }
    }
}

/// Count and time every HTTP request by its route (the matched pattern, so ids in
/// paths do not multiply the series) and status.
pub async fn track(State(_state): State<HttpState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("whistle_http_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("whistle_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: the Prometheus text format, for the metrics token only.
pub async fn scrape(State(state): State<HttpState>, headers: axum::http::HeaderMap) -> Response {
    let Some(expected) = &state.metrics.token else {
        return (
            StatusCode::NOT_FOUND,
            "metrics are off: start the service with --metrics-token",
        )
            .into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::auth::bearer_token(v).ok());
    if !given.is_some_and(|given| constant_time_eq(given.as_bytes(), expected.as_bytes())) {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            "send `Authorization: Bearer <metrics token>`",
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let pool = state.app.pool();
    let size = f64::from(pool.size());
    let idle = pool.num_idle() as f64;
    metrics::gauge!("whistle_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("whistle_db_pool_connections", "state" => "in_use").set(size - idle);
    state.metrics.handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.handle.render(),
    )
        .into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
