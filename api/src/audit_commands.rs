//! `whistle audit …`: what inspectors run. Outputs are files and plain lines a script
//! can read; the verifier's verdict is its exit code (see [`AuditVerdict`]).

use std::path::{Path, PathBuf};

use whistle_audit::AuditError;
use whistle_audit::bundle::Evidence;
use whistle_audit::checkpoint::{Checkpoint, generate_key, verifier_key_of};
use whistle_audit::ledger::{self, HeldCheckpoint};
use whistle_audit::merkle::Hash;
use whistle_domain::Vocabulary;
use whistle_projections::queries as q;
use whistle_store::{Database, EventStore};

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
        AuditCommand::Export {
            checkpoint,
            csv,
            bundle,
            actor,
            assignments_of_unit,
            case,
            event_type,
            from,
            to,
            database,
        } => {
            let signed = read_text(&checkpoint)?;
            let case_id = case
                .as_deref()
                .map(whistle_domain::CaseId::parse)
                .transpose()?;
            let filter = q::TimelineFilter {
                case_id,
                actor_id: actor,
                actor_unit: None,
                assignments_of_unit,
                from,
                to,
                event_types: event_type,
            };
            let store = crate::entry::caught_up_store(&database.database_url).await?;
            let mut rows = Vec::new();
            let mut after = None;
            loop {
                let page = q::timeline(store.database().pool(), &filter, 200, after).await?;
                after = page.items.last().map(|row| row.position);
                rows.extend(page.items);
                if !page.has_next_page {
                    break;
                }
            }
            let positions: Vec<i64> = rows.iter().map(|row| row.position).collect();
            let (evidence, after_checkpoint) =
                ledger::prove_events(store.database(), &positions, &signed)
                    .await
                    .map_err(verdict)?;
            store.database().close().await;
            let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
            writer.write_record([
                "position",
                "event_id",
                "recorded_at_utc",
                "actor_id",
                "actor_name",
                "actor_role",
                "actor_unit",
                "actor_unit_name",
                "event_type",
                "case_id",
                "summary",
                "in_bundle",
            ])?;
            for row in &rows {
                let proven = !after_checkpoint.contains(&row.position);
                writer.write_record([
                    row.position.to_string(),
                    row.event_id.clone(),
                    row.recorded_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    row.actor_id.clone(),
                    row.actor_name.clone(),
                    row.actor_role.key().to_owned(),
                    row.actor_unit.clone(),
                    row.actor_unit_name.clone(),
                    row.event_type.clone(),
                    row.case_id.clone().unwrap_or_default(),
                    row.summary_zh.clone(),
                    if proven {
                        "yes"
                    } else {
                        "no: after the checkpoint"
                    }
                    .to_owned(),
                ])?;
            }
            let table = writer
                .into_inner()
                .map_err(|e| anyhow::anyhow!("writing the CSV: {e}"))?;
            write_new(&csv, &table)?;
            write_new(&bundle, serde_json::to_string_pretty(&evidence)?.as_bytes())?;
            eprintln!(
                "{} rows written to {}; {} of them proven in {}{}",
                rows.len(),
                csv.display(),
                evidence.events.len(),
                bundle.display(),
                if after_checkpoint.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({} are after the checkpoint: take a newer one to prove them)",
                        after_checkpoint.len()
                    )
                }
            );
            Ok(())
        }
        AuditCommand::Verify {
            offline,
            public_key,
            checkpoint,
            files,
            skip_read_models,
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
            if let Some(finding) = report.finding {
                db.close().await;
                return Err(AuditVerdict(finding.to_string()).into());
            }
            if skip_read_models {
                db.close().await;
                return Ok(());
            }
            let started = std::time::Instant::now();
            let store = EventStore::new(db).await?;
            let outcome = read_models_match_a_replay(&store).await;
            store.database().close().await;
            let position = outcome?;
            println!(
                "OK read models: equal to a replay of the log's {position} events ({:.2?})",
                started.elapsed()
            );
            Ok(())
        }
    }
}

/// Bring the read models to the end of the log, then compare them, table by table and
/// row by row, with a replay of the log into a scratch database. Returns the position
/// compared at; a difference is a verdict naming the table and the first differing row.
async fn read_models_match_a_replay(store: &EventStore) -> anyhow::Result<i64> {
    use whistle_projections::{ProjectionRunner, dump_read_models, replay::replay_to_position};
    // A service writing meanwhile moves the read models on; compare at a moment when
    // they stood still (a few tries).
    for _ in 0..5 {
        let runner = ProjectionRunner::new(store.clone(), crate::app::PROJECTION_BATCH).await?;
        runner.catch_up().await?;
        let position = runner.progress().current();
        let live = dump_read_models(store).await?;
        if store.head_position().await? != position {
            continue;
        }
        let replay = replay_to_position(store, position).await?;
        let replayed = dump_read_models(replay.store()).await?;
        for (table, rows) in &replayed {
            let live_rows = live.get(table).map(Vec::as_slice).unwrap_or_default();
            if live_rows != rows.as_slice() {
                let index = live_rows
                    .iter()
                    .zip(rows)
                    .position(|(a, b)| a != b)
                    .unwrap_or(live_rows.len().min(rows.len()));
                return Err(AuditVerdict(format!(
                    "read model {table} differs from a replay of the log at row {}: the database has `{}`, the log gives `{}`",
                    index + 1,
                    live_rows.get(index).map_or("(no row)", String::as_str),
                    rows.get(index).map_or("(no row)", String::as_str),
                ))
                .into());
            }
        }
        return Ok(position);
    }
    anyhow::bail!(
        "the log kept growing while the read models were compared; run the audit again when it is quieter, or with --skip-read-models"
    )
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
