//! The `whistle-bench` program: run the whole benchmark and write its tables into
//! BENCHMARKS.md, or one load driver (a subcommand). A library module so the
//! end-to-end suite can build the same program and run it.
//!
//! ```text
//! cargo build --release -p whistle-cli -p whistle-bench
//! target/release/whistle-bench            # both backends, full sizes, ~30 min on 2 cores
//! target/release/whistle-bench --smoke    # every part on tiny sizes, seconds
//! target/release/whistle-bench append --clients 1,8,32 --appends 6000 --database-url URL
//! ```

use std::path::PathBuf;

use crate::suite::{BenchBackend, Sizes, SuiteOptions};
use crate::{report, suite, tools};
use anyhow::Context;
use clap::Parser;
use whistle_test_support::postgres_server::{Durability, PostgresServer};

#[derive(Debug, Parser)]
#[command(
    name = "whistle-bench",
    about = "Run Whistle's whole benchmark and write BENCHMARKS.md"
)]
struct Arguments {
    /// One load driver instead of the whole benchmark.
    #[command(subcommand)]
    tool: Option<tools::Tool>,
    /// The file the results are written into (between its whistle-bench markers).
    #[arg(long, env = "WHISTLE_BENCH_OUT", default_value = "BENCHMARKS.md")]
    out: PathBuf,
    /// A PostgreSQL server where the benchmark may create databases, e.g.
    /// postgres://postgres@127.0.0.1:5432/postgres. Without it, a throwaway cluster
    /// (fsync on) is started from the machine's PostgreSQL programs.
    #[arg(long, env = "WHISTLE_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// The `whistle` program to measure as a service (default: the one beside this
    /// program, e.g. target/release/whistle).
    #[arg(long, env = "WHISTLE_BENCH_WHISTLE")]
    whistle: Option<PathBuf>,
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// Where SQLite files and service logs go (default: a temp dir, removed at the end).
    #[arg(long, env = "WHISTLE_BENCH_WORK_DIR")]
    work_dir: Option<PathBuf>,
    /// Every part on tiny sizes: seconds; the numbers mean nothing.
    #[arg(long)]
    smoke: bool,
    /// Events in the large log (default 1,000,000; 1,500 with --smoke).
    #[arg(long)]
    log_events: Option<usize>,
    /// Commands per command-path run (default 20,000).
    #[arg(long)]
    commands: Option<usize>,
}

fn backends(names: &[String]) -> anyhow::Result<Vec<BenchBackend>> {
    names
        .iter()
        .map(|name| match name.as_str() {
            "sqlite" => Ok(BenchBackend::Sqlite),
            "postgres" | "postgresql" => Ok(BenchBackend::Postgres),
            other => anyhow::bail!("unknown backend `{other}`: choose sqlite, postgres"),
        })
        .collect()
}

/// The whole program: logging, the command line, the exit code (0 done, 2 failed).
pub fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("whistle-bench: cannot start the async runtime: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(run(Arguments::parse())) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("whistle-bench: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(arguments: Arguments) -> anyhow::Result<()> {
    if let Some(tool) = arguments.tool {
        return tools::run(tool).await;
    }
    let backends = backends(&arguments.backends)?;
    let whistle = match arguments.whistle {
        Some(path) => path,
        None => std::env::current_exe()?
            .parent()
            .context("this program has no directory")?
            .join("whistle"),
    };
    anyhow::ensure!(
        whistle.is_file(),
        "{} does not exist: build it (cargo build --release -p whistle-cli) or name it with --whistle",
        whistle.display()
    );
    let postgres = if backends.contains(&BenchBackend::Postgres) {
        Some(match &arguments.postgres_url {
            Some(url) => PostgresServer::from_url(url).map_err(anyhow::Error::msg)?,
            None => PostgresServer::start_throwaway(Durability::Fsync, "The PostgreSQL benchmark")
                .map_err(anyhow::Error::msg)?,
        })
    } else {
        None
    };
    let temporary = tempfile::Builder::new()
        .prefix("whistle-bench-")
        .tempdir()?;
    let work_dir = arguments
        .work_dir
        .clone()
        .unwrap_or_else(|| temporary.path().to_owned());
    let mut sizes = if arguments.smoke {
        Sizes::smoke()
    } else {
        Sizes::full()
    };
    if let Some(events) = arguments.log_events {
        sizes.log_events = events;
    }
    if let Some(commands) = arguments.commands {
        sizes.commands_per_run = commands;
    }
    let options = SuiteOptions {
        whistle,
        backends,
        postgres,
        work_dir,
        sizes,
    };
    let results = suite::run(&options).await?;
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let section = report::render(&results, &command_line);
    report::write_into(&arguments.out, &section)?;
    println!("{section}");
    eprintln!(
        "[whistle-bench] results written into {}",
        arguments.out.display()
    );
    Ok(())
}
