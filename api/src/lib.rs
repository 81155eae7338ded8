//! Whistle's edge: GraphQL over HTTP and WebSocket, report downloads, health and
//! readiness, and the bearer-token authentication every route shares. It parses what
//! comes in into domain types, hands commands to the application core
//! (`whistle-app`) and answers reads from the read models (`whistle-projections`).
//! Only this crate knows GraphQL or axum.

pub mod auth;
pub mod downloads;
pub mod extract;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod oidc;
pub mod server;
pub mod state;

pub use axum::http::HeaderValue;
pub use server::{Application, ServerConfig, ServerLimits};
