//! Whistle's end-to-end suite: one test binary, every test against real things — a real
//! SQLite file or PostgreSQL database per test (most tests run on both), the real HTTP
//! server on a random loopback port, and real `whistle` processes.

mod helpers;

mod assessment;
mod audit;
mod authorization;
mod bench;
mod case_lifecycle;
mod contract;
mod deadlines;
mod demo;
mod fuzzing;
mod graphql_clients;
mod graphql_http;
mod hardening;
mod identity;
mod identity_provider;
mod measures;
mod postgres_server;
mod processes;
mod projections;
mod store_contract;
mod tidy;
