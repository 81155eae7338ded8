//! What every HTTP handler is given: the GraphQL schema, the application state behind
//! it, who verifies bearer tokens, the cap on open WebSockets, and the metrics.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::auth::Authenticator;
use crate::graphql::{AppState, WhistleSchema};
use crate::metrics::Metrics;

/// State shared by the HTTP handlers.
#[derive(Clone)]
pub struct HttpState {
    pub schema: WhistleSchema,
    pub app: AppState,
    pub authenticator: Authenticator,
    /// One permit per open WebSocket session.
    pub websockets: Arc<Semaphore>,
    pub metrics: Metrics,
}
