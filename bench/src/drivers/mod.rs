//! The load drivers, each also a `whistle-bench` subcommand: [`append`] (the event store
//! alone), [`commands`] (the command path in process, driven by the lifecycle workload
//! the cqrs-es anchor also runs), [`graphql`] (queries at a fixed rate against a running
//! service) and [`graphql_commands`] (the same lifecycle as mutations over HTTP). What
//! they share: a measured run, its latency quantiles and the tables they print. Beside
//! them, [`abuse`] measures how a service answers others while it is attacked, and
//! [`proofs`] the audit ledger's proof latency on a log.

pub mod abuse;
pub mod append;
pub mod commands;
pub mod graphql;
pub mod graphql_commands;
pub mod proofs;

use std::time::{Duration, Instant};

use whistle_store::{Database, EventStore};

pub use append::append_run;

/// One measured run.
#[derive(Debug, Clone)]
pub struct AppendRun {
    pub clients: usize,
    pub appends: usize,
    /// Events written in all (appends × events per append, or what commands wrote).
    pub events: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl AppendRun {
    pub fn appends_per_second(&self) -> f64 {
        self.appends as f64 / self.elapsed.as_secs_f64()
    }

    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency below which `quantile` of the appends finished.
    pub fn latency(&self, quantile: f64) -> Duration {
        latency_quantile(&self.latencies, quantile).unwrap_or(Duration::ZERO)
    }
}

/// Start one task per client, each made by `client(n)` and returning its latencies;
/// wait for all of them. Returns every latency and the wall time from the first start.
pub async fn run_clients<Client, Task>(
    clients: usize,
    mut client: Client,
) -> anyhow::Result<(Vec<Duration>, Duration)>
where
    Client: FnMut(usize) -> anyhow::Result<Task>,
    Task: std::future::Future<Output = anyhow::Result<Vec<Duration>>> + Send + 'static,
{
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for n in 0..clients {
        tasks.push(tokio::spawn(client(n)?));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok((latencies, started.elapsed()))
}

/// The latency below which `quantile` (0 to 1) of `latencies` fell (nearest rank);
/// `None` for no latencies.
pub fn latency_quantile(latencies: &[Duration], quantile: f64) -> Option<Duration> {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let rank = (sorted.len() as f64 * quantile).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
}

impl AppendRun {
    /// A table row without event counts: clients, commands, seconds, commands/s,
    /// p50, p99, p99.9 (ms).
    pub fn latency_row(&self) -> String {
        format!(
            "| {:>3} | {:>6} | {:>8.1} | {:>9.0} | {:>7.2} | {:>7.2} | {:>7.2} |",
            self.clients,
            self.appends,
            self.elapsed.as_secs_f64(),
            self.appends_per_second(),
            self.latency(0.5).as_secs_f64() * 1000.0,
            self.latency(0.99).as_secs_f64() * 1000.0,
            self.latency(0.999).as_secs_f64() * 1000.0,
        )
    }
}

pub const GRAPHQL_COMMAND_TABLE_HEADER: &str = "| clients | commands | seconds | commands/s | p50 ms | p99 ms | p99.9 ms |\n|---|---|---|---|---|---|---|";

impl std::fmt::Display for AppendRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "| {:>3} | {:>6} | {:>5.1} | {:>8.1} | {:>9.0} | {:>9.0} | {:>7.2} | {:>7.2} |",
            self.clients,
            self.appends,
            self.events as f64 / self.appends.max(1) as f64,
            self.elapsed.as_secs_f64(),
            self.appends_per_second(),
            self.events_per_second(),
            self.latency(0.5).as_secs_f64() * 1000.0,
            self.latency(0.99).as_secs_f64() * 1000.0,
        )
    }
}

pub const COMMAND_TABLE_HEADER: &str = "| clients | commands | events/command | seconds | commands/s | events/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|---|";

pub const APPEND_TABLE_HEADER: &str = "| clients | appends | events/append | seconds | appends/s | events/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|---|";

/// Refuse to benchmark a database that holds anything: the events it writes stay.
pub async fn open_empty_store(database_url: &str) -> anyhow::Result<EventStore> {
    let store = EventStore::new(Database::connect(database_url).await?).await?;
    let head = store.head_position().await?;
    if head != 0 {
        anyhow::bail!(
            "the benchmark writes events that can never be removed, so it needs an empty database; \
             {} already holds {head} events",
            store.database().display_url()
        );
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::latency_quantile;

    #[test]
    fn quantiles_are_nearest_ranks() {
        let ms = |n: u64| Duration::from_millis(n);
        let latencies: Vec<Duration> = [5, 1, 4, 2, 3].into_iter().map(ms).collect();
        assert_eq!(latency_quantile(&latencies, 0.5), Some(ms(3)));
        assert_eq!(latency_quantile(&latencies, 0.99), Some(ms(5)));
        assert_eq!(latency_quantile(&latencies, 1.0), Some(ms(5)));
        assert_eq!(latency_quantile(&latencies, 0.0), Some(ms(1)));
        assert_eq!(latency_quantile(&[], 0.5), None);
    }
}
