//! The PostgreSQL server the suite runs against, provisioned once per test run:
//! `DATABASE_URL=postgres://…` if given (its user must be allowed to create databases;
//! each test creates its own `whistle_test_*` database there), otherwise a throwaway
//! cluster with fsync off (the suite never crashes PostgreSQL itself; the crash tests
//! kill Whistle's processes) — see `whistle_test_support::postgres_server`.

use std::sync::OnceLock;

use whistle_test_support::postgres_server::Durability;
pub use whistle_test_support::postgres_server::PostgresServer;

static SERVER: OnceLock<Result<PostgresServer, String>> = OnceLock::new();

/// The suite's server, provisioned on first use.
pub fn server() -> &'static PostgresServer {
    let provisioned = SERVER.get_or_init(|| match std::env::var("DATABASE_URL") {
        Ok(url) => PostgresServer::from_url(&url).map_err(|e| {
            format!(
                "DATABASE_URL: {e}. Unset it to let the suite start its own PostgreSQL, or point \
                 it at a PostgreSQL server."
            )
        }),
        Err(_) => PostgresServer::start_throwaway(
            Durability::NoFsync,
            "The end-to-end suite runs every test on PostgreSQL too, and",
        ),
    });
    match provisioned {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}
