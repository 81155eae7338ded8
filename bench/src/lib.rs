//! Whistle's whole benchmark (issue 6): one command measures the command path beside the
//! cqrs-es anchor, batched appends, and a `whistle serve` process on a large log of real
//! cases (catch-up, start-up, memory, query latency, commands over GraphQL), on SQLite
//! and on PostgreSQL, and writes the tables into BENCHMARKS.md.
//!
//! The parts that measure one thing at a time are `whistle bench …` subcommands of the
//! service binary; this crate runs them together, adds the anchor, provisions PostgreSQL
//! when no server is given, and writes the report. The end-to-end suite runs
//! [`suite::Sizes::smoke`] so the harness keeps working.

pub mod anchor;
pub mod postgres_server;
pub mod report;
pub mod service;
pub mod suite;
