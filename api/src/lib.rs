//! Whistle's service: the GraphQL API over axum, authentication, startup, the demo data
//! loader and the command-line interface of the `whistle` binary.

pub mod app;
pub mod audit_commands;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod deadlines;
pub mod demo;
pub mod downloads;
pub mod entry;
pub mod exports;
pub mod graphql;
pub mod http;
pub mod rules_file;
pub mod telemetry;

pub use app::{AppConfig, Application};
