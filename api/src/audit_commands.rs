//! `whistle audit …`: what inspectors run. Outputs are files and plain lines a script
//! can read; the verifier's verdict is its exit code (see [`AuditVerdict`]).

use std::path::{Path, PathBuf};

use whistle_audit::AuditError;
use whistle_audit::bundle::Evidence;
use whistle_audit::checkpoint::{Checkpoint, generate_key, verifier_key_of};
use whistle_audit::ledger::{self, HeldCheckpoint};
use whistle_audit::merkle::Hash;
use whistle_store::Database;

use crate::cli::AuditCommand;

/// The evidence was examined and does not verify: exit code 1, message on stderr.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AuditVerdict(pub String);

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))
}

fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            anyhow::anyhow!(
                "writing {}: {e} (an existing file is never overwritten)",
                path.display()
            )
        })?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// A key given on the command line: the key itself, or a file that holds it.
fn key_text(given: &str) -> anyhow::Result<String> {
    let path = Path::new(given);
    if path.is_file() {
        return Ok(read_text(path)?.trim().to_owned());
    }
    Ok(given.trim().to_owned())
}

fn leaves_path(checkpoint: &Path) -> PathBuf {
    let mut name = checkpoint.as_os_str().to_owned();
    name.push(".leaves");
    PathBuf::from(name)
}

fn leaves_to_bytes(leaves: &[Hash]) -> Vec<u8> {
    leaves.concat()
}

fn leaves_from_bytes(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    Some(
        bytes
            .chunks(32)
            .map(|c| c.try_into().expect("32 bytes"))
            .collect(),
    )
}

/// Treat an audit error as a verdict (exit 1) when it is one.
fn verdict(error: AuditError) -> anyhow::Error {
    if error.is_verification_failure() {
        AuditVerdict(error.to_string()).into()
    } else {
        error.into()
    }
}

pub async fn run(command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Keygen { out, origin } => {
            let (private, public) = generate_key(&origin)?;
            write_new(&out, format!("{private}\n").as_bytes())?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600))?;
            }
            println!("{public}");
            eprintln!(
                "private key written to {} (keep it off the database server); the public key above is what inspectors hold",
                out.display()
            );
            Ok(())
        }
        AuditCommand::Checkpoint { key, out, database } => {
            let private = key_text(&key)?;
            let origin = verifier_key_of(&private)?
                .split('+')
                .next()
                .unwrap_or_default()
                .to_owned();
            let db = Database::connect(&database.database_url).await?;
            let started = std::time::Instant::now();
            let (signed, leaves) = ledger::checkpoint(&db, &private, &origin, chrono::Utc::now())
                .await
                .map_err(verdict)?;
            db.close().await;
            write_new(&out, signed.as_bytes())?;
            write_new(&leaves_path(&out), &leaves_to_bytes(&leaves))?;
            print!("{signed}");
            eprintln!(
                "checkpoint of {} events written to {} (and its leaf list to {}) in {:.2?}",
                leaves.len(),
                out.display(),
                leaves_path(&out).display(),
                started.elapsed()
            );
            Ok(())
        }
        AuditCommand::Prove {
            event,
            checkpoint,
            out,
            database,
        } => {
            let signed = read_text(&checkpoint)?;
            let db = Database::connect(&database.database_url).await?;
            let bundle = ledger::prove_inclusion(&db, &event, &signed)
                .await
                .map_err(verdict)?;
            db.close().await;
            write_new(&out, serde_json::to_string_pretty(&bundle)?.as_bytes())?;
            eprintln!(
                "proof that event {event} is entry {} of {} events written to {} ({} hashes)",
                bundle.leaf_index + 1,
                Checkpoint::read_unverified(&signed)?.size,
                out.display(),
                bundle.proof.len()
            );
            Ok(())
        }
        AuditCommand::Consistency {
            old,
            new,
            out,
            database,
        } => {
            let (old_text, new_text) = (read_text(&old)?, read_text(&new)?);
            let db = Database::connect(&database.database_url).await?;
            let bundle = ledger::prove_consistency(&db, &old_text, &new_text)
                .await
                .map_err(verdict)?;
            db.close().await;
            write_new(&out, serde_json::to_string_pretty(&bundle)?.as_bytes())?;
            eprintln!(
                "consistency proof written to {} ({} hashes)",
                out.display(),
                bundle.proof.len()
            );
            Ok(())
        }
        AuditCommand::Verify {
            offline,
            public_key,
            checkpoint,
            files,
            database,
        } => {
            let public_key = key_text(&public_key)?;
            if offline {
                if files.is_empty() {
                    anyhow::bail!("give the checkpoint files and proof bundles to check");
                }
                for file in files.iter().chain(checkpoint.iter()) {
                    let text = read_text(file)?;
                    let verified = Evidence::parse(&text)
                        .and_then(|evidence| evidence.verify(&public_key))
                        .map_err(|e| AuditVerdict(format!("{}: {e}", file.display())))?;
                    println!("OK {}: {verified}", file.display());
                }
                return Ok(());
            }
            if !files.is_empty() {
                anyhow::bail!(
                    "files are checked with --offline; a full audit takes --checkpoint FILE"
                );
            }
            let mut held = Vec::new();
            for file in &checkpoint {
                let leaves = match std::fs::read(leaves_path(file)) {
                    Ok(bytes) => leaves_from_bytes(&bytes),
                    Err(_) => None,
                };
                held.push(HeldCheckpoint {
                    name: file.display().to_string(),
                    signed: read_text(file)?,
                    leaves,
                });
            }
            let db = Database::connect(&database.database_url).await?;
            let started = std::time::Instant::now();
            let report = ledger::full_audit(&db, &held, &public_key)
                .await
                .map_err(verdict)?;
            db.close().await;
            for (name, checkpoint, good) in &report.checkpoints {
                println!(
                    "{} {name}: {} events, root {}",
                    if *good { "OK" } else { "BAD" },
                    checkpoint.size,
                    hex(&checkpoint.root)
                );
            }
            println!(
                "{} events read, their leaves recomputed and their payloads decoded in {:.2?}{}",
                report.events,
                started.elapsed(),
                if report.checkpoints.is_empty() {
                    " (no checkpoint given: only the log's own structure was checked)"
                } else {
                    ""
                }
            );
            match report.finding {
                None => Ok(()),
                Some(finding) => Err(AuditVerdict(finding.to_string()).into()),
            }
        }
    }
}

/// The service's periodic checkpoints: every interval, if the log grew, a signed
/// checkpoint and its leaf list are written to the directory (to a temporary name first,
/// then renamed, so a file that exists is whole).
pub struct CheckpointSchedule {
    private_key: String,
    origin: String,
    dir: PathBuf,
    interval: std::time::Duration,
}

impl CheckpointSchedule {
    pub fn new(key: &str, dir: PathBuf, interval: std::time::Duration) -> anyhow::Result<Self> {
        let private_key = key_text(key)?;
        let origin = verifier_key_of(&private_key)?
            .split('+')
            .next()
            .unwrap_or_default()
            .to_owned();
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
        Ok(Self {
            private_key,
            origin,
            dir,
            interval,
        })
    }

    pub async fn run(self, database_url: String) {
        let mut last_size = None;
        loop {
            match self.once(&database_url, last_size).await {
                Ok(Some((size, file))) => {
                    tracing::info!(size, file = %file.display(), "checkpoint signed");
                    last_size = Some(size);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(%error, "periodic checkpoint failed; trying again next interval")
                }
            }
            tokio::time::sleep(self.interval).await;
        }
    }

    async fn once(
        &self,
        database_url: &str,
        last_size: Option<usize>,
    ) -> anyhow::Result<Option<(usize, PathBuf)>> {
        let db = Database::open(database_url).await?;
        let result =
            ledger::checkpoint(&db, &self.private_key, &self.origin, chrono::Utc::now()).await;
        db.close().await;
        let (signed, leaves) = result?;
        if leaves.is_empty() || last_size == Some(leaves.len()) {
            return Ok(None);
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let file = self
            .dir
            .join(format!("checkpoint-{}-{stamp}.txt", leaves.len()));
        for (path, bytes) in [
            (leaves_path(&file), leaves_to_bytes(&leaves)),
            (file.clone(), signed.into_bytes()),
        ] {
            let temporary = path.with_extension("partial");
            let _ = std::fs::remove_file(&temporary);
            write_new(&temporary, &bytes)?;
            std::fs::rename(&temporary, &path)?;
        }
        Ok(Some((leaves.len(), file)))
    }
}

fn hex(hash: &Hash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}
