//! Whistle's end-to-end suite: one test binary, every test against real things — a real
//! SQLite file per test and the real HTTP server on a random loopback port.

mod helpers;

mod assessment;
mod authorization;
mod case_lifecycle;
mod deadlines;
mod demo;
mod graphql_http;
mod measures;
mod postgres_server;
mod processes;
mod projections;
mod store_contract;
