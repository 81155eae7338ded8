//! Whistle's benchmark: every load driver ([`drivers`]), each also a `whistle-bench`
//! subcommand ([`tools`]), and the whole benchmark in one command ([`suite`]) — the
//! command path beside the cqrs-es [`anchor`], batched appends, and a `whistle serve`
//! process ([`service`]) on a large log of real cases (catch-up, start-up, memory, query
//! latency, commands over GraphQL), on SQLite and on PostgreSQL — whose tables
//! [`report`] writes into BENCHMARKS.md. The end-to-end suite runs
//! [`suite::Sizes::smoke`] so the harness keeps working.

pub mod anchor;
pub mod cli;
pub mod drivers;
pub mod report;
pub mod service;
pub mod suite;
pub mod tools;
