//! The service's periodic checkpoints: every interval, if the log grew, a signed
//! checkpoint and its leaf list are written to a directory — to a temporary name first,
//! then renamed, so a file that exists is whole. The schedule runs inside the service on
//! the service's own database pool, started and stopped with the other background
//! processes by [`crate::App`].

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;
use whistle_audit::checkpoint::verifier_key_of;
use whistle_audit::files::{encode_leaves, key_text, leaves_path, write_new};
use whistle_audit::ledger;
use whistle_store::Database;

/// Where and how often the service signs checkpoints.
#[derive(Clone)]
pub struct CheckpointConfig {
    /// The private key, or the path of the file holding it (never logged).
    pub key: String,
    pub dir: PathBuf,
    pub interval: Duration,
}

impl std::fmt::Debug for CheckpointConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointConfig")
            .field("key", &"***")
            .field("dir", &self.dir)
            .field("interval", &self.interval)
            .finish()
    }
}

/// Signs a checkpoint of the log every interval, when the log has grown.
pub struct CheckpointSchedule {
    database: Database,
    private_key: String,
    origin: String,
    dir: PathBuf,
    interval: Duration,
}

impl CheckpointSchedule {
    /// Read the key and make the directory; fails (before the service starts) when the
    /// key cannot be read or the directory made.
    pub fn new(database: Database, config: &CheckpointConfig) -> anyhow::Result<Self> {
        let private_key =
            key_text(&config.key).map_err(|e| anyhow::anyhow!("reading the audit key: {e}"))?;
        let origin = verifier_key_of(&private_key)?
            .split('+')
            .next()
            .unwrap_or_default()
            .to_owned();
        std::fs::create_dir_all(&config.dir)
            .map_err(|e| anyhow::anyhow!("creating {}: {e}", config.dir.display()))?;
        Ok(Self {
            database,
            private_key,
            origin,
            dir: config.dir.clone(),
            interval: config.interval,
        })
    }

    /// Sign every interval until `shutdown` fires.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut last_size = None;
        loop {
            match self.once(last_size).await {
                Ok(Some((size, file))) => {
                    tracing::info!(size, file = %file.display(), "checkpoint signed");
                    last_size = Some(size);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(%error, "periodic checkpoint failed; trying again next interval")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Sign one checkpoint now, unless the log is empty or has not grown since
    /// `last_size`. Returns the size signed and the file written.
    pub async fn once(&self, last_size: Option<usize>) -> anyhow::Result<Option<(usize, PathBuf)>> {
        let (signed, leaves) = ledger::checkpoint(
            &self.database,
            &self.private_key,
            &self.origin,
            chrono::Utc::now(),
        )
        .await?;
        if leaves.is_empty() || last_size == Some(leaves.len()) {
            return Ok(None);
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let file = self
            .dir
            .join(format!("checkpoint-{}-{stamp}.txt", leaves.len()));
        for (path, bytes) in [
            (leaves_path(&file), encode_leaves(&leaves)),
            (file.clone(), signed.into_bytes()),
        ] {
            let temporary = path.with_extension("partial");
            // A partial file left by an interrupted earlier attempt is replaced.
            match std::fs::remove_file(&temporary) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    return Err(error.into());
                }
                _ => {}
            }
            write_new(&temporary, &bytes)?;
            std::fs::rename(&temporary, &path)?;
        }
        Ok(Some((leaves.len(), file)))
    }
}
