//! A `whistle serve` process under measurement: started on a free loopback port, timed
//! until it answers `/healthz` and until its read models reach the log's head, its peak
//! resident memory read from `/proc`, stopped with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;

/// A running service.
pub struct Service {
    child: tokio::process::Child,
    pub base_url: String,
    started: Instant,
    log: PathBuf,
}

impl Service {
    /// Start `whistle serve` on `database_url`, signing tokens with `secret`; its output
    /// goes to `log`.
    pub async fn start(
        whistle: &Path,
        database_url: &str,
        secret: &str,
        log: &Path,
    ) -> anyhow::Result<Service> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let output = std::fs::File::create(log)
            .with_context(|| format!("creating the service log {}", log.display()))?;
        let started = Instant::now();
        let child = tokio::process::Command::new(whistle)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", database_url])
            // The load generators send from one address with a few tokens far faster
            // than people do: the benchmark measures the service, not its rate limits.
            .args(["--rate-per-address", "0", "--rate-per-token", "0"])
            .env("WHISTLE_JWT_SECRET", secret)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", whistle.display()))?;
        Ok(Service {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            started,
            log: log.to_owned(),
        })
    }

    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child
            .id()
            .context("the service has already exited (see its log)")
    }

    /// Time from start until `/healthz` answers 200.
    pub async fn wait_until_serving(
        &mut self,
        client: &reqwest::Client,
    ) -> anyhow::Result<Duration> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "the service exited ({status}) before serving; its log is {}",
                    self.log.display()
                );
            }
            let answer = client
                .get(format!("{}/healthz", self.base_url))
                .send()
                .await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return Ok(self.started.elapsed());
            }
            if self.started.elapsed() > Duration::from_secs(300) {
                anyhow::bail!(
                    "the service did not serve within 300 s; see {}",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Time from start until `/readyz` reports read models at a head of at least
    /// `head`, polling every `every`; gives up after `limit`.
    pub async fn wait_until_projected(
        &mut self,
        client: &reqwest::Client,
        head: i64,
        every: Duration,
        limit: Duration,
    ) -> anyhow::Result<Duration> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "the service exited ({status}) while projecting; its log is {}",
                    self.log.display()
                );
            }
            let ready: serde_json::Value = client
                .get(format!("{}/readyz", self.base_url))
                .send()
                .await?
                .json()
                .await?;
            let read_models = ready["readModels"].as_i64().unwrap_or(0);
            if read_models >= head && ready["lag"].as_i64() == Some(0) {
                return Ok(self.started.elapsed());
            }
            if self.started.elapsed() > limit {
                anyhow::bail!(
                    "the read models reached {read_models} of {head} in {} s; see {}",
                    limit.as_secs(),
                    self.log.display()
                );
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Peak and current resident memory in KiB (`VmHWM`, `VmRSS` of /proc/PID/status).
    pub fn memory_kib(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?))
            .context("reading the service's memory from /proc (Linux only)")?;
        let field = |name: &str| -> anyhow::Result<u64> {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse().ok())
                .with_context(|| format!("{name} is not in /proc/PID/status"))
        };
        Ok((field("VmHWM:")?, field("VmRSS:")?))
    }

    /// Stop with SIGTERM and wait for the process to exit cleanly.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.pid()?;
        let signalled = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await?;
        anyhow::ensure!(signalled.success(), "kill -TERM {pid} failed");
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .context("the service did not stop within 60 s of SIGTERM")??;
        anyhow::ensure!(
            status.success(),
            "the service exited with {status}; see {}",
            self.log.display()
        );
        Ok(())
    }
}
