//! The load drivers as `whistle-bench` subcommands, each measuring one thing and
//! printing a Markdown table: `append` (the event store alone), `commands` (the command
//! path in process), `graphql` (queries against a running service at a fixed rate),
//! `graphql-commands` (mutations against a running service), `abuse` and `proofs` (the
//! audit ledger's proofs on a log).

use clap::{Args, Subcommand};
use whistle_api::auth::JwtSecret;

use crate::drivers;

#[derive(Debug, Args, Clone)]
pub struct DatabaseArgs {
    /// sqlite://PATH or postgres://… (an empty database: the events written stay).
    #[arg(long, env = "WHISTLE_DATABASE_URL")]
    pub database_url: String,
}

#[derive(Debug, Args, Clone)]
pub struct SecretArgs {
    /// The secret the service signs tokens with (WHISTLE_JWT_SECRET of the service).
    #[arg(long, env = "WHISTLE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
}

impl SecretArgs {
    fn secret(&self) -> anyhow::Result<JwtSecret> {
        Ok(match &self.jwt_secret {
            Some(secret) => JwtSecret::new(secret.clone())?,
            None => {
                tracing::warn!(
                    "WHISTLE_JWT_SECRET is not set: signing tokens with the development secret, \
                     which only a service running with the development secret accepts"
                );
                JwtSecret::development()
            }
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Tool {
    /// The case list at a fixed rate alone, then beside abusive requests (deep nesting,
    /// fragment bombs, alias bombs, half-sent connections …) against a running `whistle
    /// serve`; with --pid, its memory before, at peak and after.
    Abuse {
        /// The server, e.g. http://127.0.0.1:8080
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Case-list requests per second (open loop).
        #[arg(long, default_value_t = 200)]
        rate: u32,
        /// Seconds of each phase.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// The server's process id, to read its memory from /proc.
        #[arg(long)]
        pid: Option<u32>,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// Query latency over GraphQL/HTTP against a running `whistle serve` at a fixed
    /// request rate (case list, case timeline, dashboard, a year's scorecards).
    Graphql {
        /// The server, e.g. http://127.0.0.1:8080
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Requests per second (open loop).
        #[arg(long, default_value_t = 500)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// The year of the scorecards queried.
        #[arg(long, default_value_t = 2026)]
        year: i32,
        /// Which queries, in turn: case-list, case-timeline, dashboard, scorecards,
        /// dashboard-as-of, case-as-of.
        #[arg(long, value_delimiter = ',', default_value = "case-list,case-timeline")]
        queries: Vec<String>,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// The command path through GraphQL over HTTP against a running `whistle serve`:
    /// the same lifecycle workload as `whistle-bench commands`, one mutation at a time per client
    /// (closed loop); prints a Markdown table.
    GraphqlCommands {
        /// The server, e.g. http://127.0.0.1:8080
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Numbers of concurrent clients, one run each, e.g. 1,8,32.
        #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
        clients: Vec<usize>,
        /// Commands per run (split over its clients).
        #[arg(long, default_value_t = 8_000)]
        commands: usize,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// The command path (load the stream, decide, append durably) for the case
    /// lifecycle with Zipf-skewed activity; prints a Markdown table.
    Commands {
        /// Numbers of concurrent clients, one run each, e.g. 1,8,32.
        #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
        clients: Vec<usize>,
        /// Commands per run (split over its clients).
        #[arg(long, default_value_t = 8_000)]
        commands: usize,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Proof latency on an existing log (read only): a checkpoint, the tree's tiles
    /// built, then inclusion and consistency proofs of random events and sizes, each
    /// verified; prints a Markdown table.
    Proofs {
        /// Proofs of each kind.
        #[arg(long, default_value_t = 200)]
        count: usize,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Durable appends per second at each number of concurrent clients; prints a
    /// Markdown table.
    Append {
        /// Numbers of concurrent clients, one run each, e.g. 1,8,32.
        #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
        clients: Vec<usize>,
        /// Appends per run (split over its clients).
        #[arg(long, default_value_t = 8_000)]
        appends: usize,
        /// Events in each append (1: one event per command; more: batched appends).
        #[arg(long, default_value_t = 1)]
        events_per_append: usize,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// Run one driver and print its table.
pub async fn run(tool: Tool) -> anyhow::Result<()> {
    match tool {
        Tool::Proofs { count, database } => {
            let run = drivers::proofs::run(&database.database_url, count.max(1), 7).await?;
            print!("{run}");
            Ok(())
        }
        Tool::Abuse {
            url,
            rate,
            seconds,
            pid,
            secret,
        } => {
            let run =
                drivers::abuse::run(&url, &secret.secret()?, rate.max(1), seconds.max(1), pid)
                    .await?;
            print!("{run}");
            anyhow::ensure!(run.alive, "the service did not survive");
            Ok(())
        }
        Tool::Graphql {
            url,
            rate,
            seconds,
            year,
            queries,
            secret,
        } => {
            if rate == 0 || seconds == 0 {
                anyhow::bail!("--rate and --seconds must be at least 1");
            }
            let secret = secret.secret()?;
            let run = drivers::graphql::run(&url, &secret, rate, seconds, year, &queries).await?;
            print!("{run}");
            if run.failed > 0 {
                anyhow::bail!("{} of {} requests failed", run.failed, run.sent);
            }
            Ok(())
        }
        Tool::GraphqlCommands {
            url,
            clients,
            commands,
            secret,
        } => {
            if clients.contains(&0) || commands == 0 {
                anyhow::bail!("--clients and --commands must be at least 1");
            }
            let secret = secret.secret()?;
            println!("GraphQL command-path benchmark against {url}, {commands} commands per run");
            println!("{}", drivers::GRAPHQL_COMMAND_TABLE_HEADER);
            for (n, count) in clients.into_iter().enumerate() {
                let per_client = commands.div_ceil(count);
                let run =
                    drivers::graphql_commands::run(&url, &secret, count, per_client, n as u64)
                        .await?;
                println!("{}", run.latency_row());
            }
            Ok(())
        }
        Tool::Commands {
            clients,
            commands,
            database,
        } => {
            if clients.contains(&0) || commands == 0 {
                anyhow::bail!("--clients and --commands must be at least 1");
            }
            let store = drivers::open_empty_store(&database.database_url).await?;
            let (handler, units) = drivers::commands::prepare(store.clone()).await?;
            println!(
                "command-path benchmark on {} ({:?}), {} commands per run, {} units",
                store.database().display_url(),
                store.database().backend(),
                commands,
                drivers::commands::UNITS
            );
            println!("{}", drivers::COMMAND_TABLE_HEADER);
            for (n, count) in clients.into_iter().enumerate() {
                let per_client = commands.div_ceil(count);
                let run =
                    drivers::commands::run(&handler, &units, count, per_client, n as u64).await?;
                println!("{run}");
            }
            store.database().close().await;
            Ok(())
        }
        Tool::Append {
            clients,
            appends,
            events_per_append,
            database,
        } => {
            if clients.contains(&0) || appends == 0 || events_per_append == 0 {
                anyhow::bail!("--clients, --appends and --events-per-append must be at least 1");
            }
            let store = drivers::open_empty_store(&database.database_url).await?;
            println!(
                "append benchmark on {} ({:?}), {} appends per run",
                store.database().display_url(),
                store.database().backend(),
                appends
            );
            println!("{}", drivers::APPEND_TABLE_HEADER);
            for count in clients {
                let per_client = appends.div_ceil(count);
                let run = drivers::append_run(&store, count, per_client, events_per_append).await?;
                println!("{run}");
            }
            store.database().close().await;
            Ok(())
        }
    }
}
