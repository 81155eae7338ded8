//! What Whistle's end-to-end suite and its benchmark both need to run against real
//! things: today, a PostgreSQL server ([`postgres_server`]) — the one a URL names, or a
//! throwaway cluster started from the machine's PostgreSQL programs.

pub mod postgres_server;
