//! `whistle audit …`: what inspectors run. Outputs are files and plain lines a script
//! can read; the verifier's verdict is its exit code (see [`AuditVerdict`]).

use std::path::Path;

use clap::Subcommand;
use whistle_audit::AuditError;
use whistle_audit::bundle::Evidence;
use whistle_audit::checkpoint::{Checkpoint, generate_key, verifier_key_of};
use whistle_audit::files::{decode_leaves, encode_leaves, key_text, leaves_path};
use whistle_audit::ledger::{self, HeldCheckpoint};
use whistle_audit::merkle::Hash;
use whistle_domain::Vocabulary;
use whistle_projections::queries as q;
use whistle_store::{Database, EventStore};

use crate::args::DatabaseArgs;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Make an Ed25519 key pair for signing checkpoints: the private key goes to --out
    /// (keep it outside the database), the public key is printed.
    Keygen {
        /// Where to write the private key (refuses to overwrite).
        #[arg(long)]
        out: std::path::PathBuf,
        /// The log's name (origin), e.g. whistle.example.gov.cn/log; checkpoints carry it.
        #[arg(long, env = "WHISTLE_AUDIT_ORIGIN", default_value = "whistle")]
        origin: String,
    },
    /// Sign a checkpoint of the log as it is now. Writes FILE and FILE.leaves (the leaf
    /// hashes it covers, which let a later audit name the first bad event).
    Checkpoint {
        /// The private key file (or the key itself in WHISTLE_AUDIT_KEY).
        #[arg(long, env = "WHISTLE_AUDIT_KEY", hide_env_values = true)]
        key: String,
        #[arg(long)]
        out: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Prove that an event is in the log a checkpoint signs (a bundle for the offline
    /// verifier).
    Prove {
        /// The event id.
        #[arg(long)]
        event: String,
        #[arg(long)]
        checkpoint: std::path::PathBuf,
        #[arg(long)]
        out: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Prove that the log an older checkpoint signs is a prefix of the one a newer signs.
    Consistency {
        #[arg(long)]
        old: std::path::PathBuf,
        #[arg(long)]
        new: std::path::PathBuf,
        #[arg(long)]
        out: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Export audit-trail rows (CSV) and the same events with their proofs against a
    /// checkpoint (an evidence bundle the offline verifier accepts).
    Export {
        /// The checkpoint the events are proven against.
        #[arg(long)]
        checkpoint: std::path::PathBuf,
        /// Where to write the rows as CSV (UTF-8 with BOM).
        #[arg(long)]
        csv: std::path::PathBuf,
        /// Where to write the evidence bundle.
        #[arg(long)]
        bundle: std::path::PathBuf,
        /// Everything this person did.
        #[arg(long)]
        actor: Option<String>,
        /// Everything that happened to the assignments of this unit.
        #[arg(long)]
        assignments_of_unit: Option<String>,
        /// Everything that happened to this case.
        #[arg(long)]
        case: Option<String>,
        /// Only these event types (repeatable), e.g. ReturnRejected, CaseReopened.
        #[arg(long)]
        event_type: Vec<String>,
        /// From this instant (RFC 3339).
        #[arg(long)]
        from: Option<chrono::DateTime<chrono::Utc>>,
        /// Before this instant (RFC 3339).
        #[arg(long)]
        to: Option<chrono::DateTime<chrono::Utc>>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Verify. Offline: checkpoint files and proof bundles, with the public key only.
    /// Otherwise a full audit of the database against the checkpoints you hold. Exit 0:
    /// everything verifies; 1: something does not (the first bad position on stderr);
    /// 2: the check could not be carried out.
    Verify {
        /// Check FILES without touching any database.
        #[arg(long)]
        offline: bool,
        /// The log's public key (the key itself, or a file holding it).
        #[arg(long, env = "WHISTLE_AUDIT_PUBLIC_KEY")]
        public_key: String,
        /// A checkpoint you hold (repeatable; full audit).
        #[arg(long)]
        checkpoint: Vec<std::path::PathBuf>,
        /// Checkpoint files and proof bundles (offline).
        files: Vec<std::path::PathBuf>,
        /// Full audit: skip replaying the log to compare the read models (which takes as
        /// long as projecting the whole log).
        #[arg(long)]
        skip_read_models: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// The evidence was examined and does not verify: exit code 1, message on stderr.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AuditVerdict(pub String);

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))
}

/// Write a file that must not exist yet (evidence is never overwritten).
fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    whistle_audit::files::write_new(path, bytes).map_err(|e| {
        anyhow::anyhow!(
            "writing {}: {e} (an existing file is never overwritten)",
            path.display()
        )
    })
}

/// A key given on the command line: the key itself, or a file that holds it.
fn read_key(given: &str) -> anyhow::Result<String> {
    key_text(given).map_err(|e| anyhow::anyhow!("reading the key {given}: {e}"))
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
            let private = read_key(&key)?;
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
            write_new(&leaves_path(&out), &encode_leaves(&leaves))?;
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
                stream_id: None,
            };
            let store = whistle_app::open_caught_up(&database.database_url).await?;
            let mut rows = Vec::new();
            let mut after = None;
            loop {
                let page = q::timeline(
                    store.database().pool(),
                    &filter,
                    q::Window::forward(200, after),
                )
                .await?;
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
            let public_key = read_key(&public_key)?;
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
                // Without its leaf list a checkpoint still verifies the log; the
                // audit then names a range instead of the first bad event.
                let leaves = match std::fs::read(leaves_path(file)) {
                    Ok(bytes) => Some(decode_leaves(&bytes).ok_or_else(|| {
                        anyhow::anyhow!(
                            "{}: not a leaf list (its length is not a multiple of 32 bytes)",
                            leaves_path(file).display()
                        )
                    })?),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
                    Err(error) => {
                        anyhow::bail!("reading {}: {error}", leaves_path(file).display())
                    }
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
            println!(
                "personal data: {} values kept and matching their commitments, {} erased by {} recorded erasures (erasures, not tampering: every leaf and proof stays valid)",
                report.personal.kept, report.personal.erased, report.personal.erasures
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
        let runner = ProjectionRunner::new(store.clone(), whistle_app::PROJECTION_BATCH).await?;
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

fn hex(hash: &Hash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}
