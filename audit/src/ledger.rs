//! The ledger over a database: leaves recomputed from the `events` table, checkpoints,
//! proofs, and the full audit that names the first event that is not what a checkpoint
//! signed.
//!
//! Nothing here trusts a hash stored in the database: checkpoints and the full audit
//! recompute every leaf from the stored rows, and what is right is decided by checkpoints
//! signed outside it (and, to name the first bad position, by the leaf list an inspector
//! kept with a checkpoint). Proofs read the tree's tiles ([`crate::tiles`], a cache
//! derived from the log) and are checked before they leave: the proven row's leaf must be
//! the tree's and the tree's root the signed one.

use chrono::{DateTime, Utc};
use whistle_store::Database;

use crate::AuditError;
use crate::bundle::{
    CONSISTENCY_FORMAT, ConsistencyBundle, EVIDENCE_FORMAT, EvidenceBundle, INCLUSION_FORMAT,
    InclusionBundle, ProvenEvent, encode_proof,
};
use crate::checkpoint::Checkpoint;
use crate::leaf::{Leaf, StoredEvent};
use crate::merkle::{self, Hash};

const BATCH: i64 = 5_000;

async fn read_rows(
    db: &Database,
    sql: &str,
    binds: &[i64],
) -> Result<Vec<StoredEvent>, AuditError> {
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    let rows = query.fetch_all(db.pool()).await?;
    rows.iter().map(stored_event).collect()
}

/// An `events` row exactly as stored.
fn stored_event(row: &sqlx::any::AnyRow) -> Result<StoredEvent, AuditError> {
    Ok(StoredEvent::from_row(row)?)
}

static COLUMNS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {} FROM events", whistle_store::EVENT_COLUMNS));

/// The log as stored, in position order: each row's position and leaf hash.
#[derive(Debug, Clone, Default)]
pub struct LogLeaves {
    pub positions: Vec<i64>,
    pub leaves: Vec<Hash>,
}

impl LogLeaves {
    /// The first index whose position is not index + 1 (a gap or a duplicate).
    pub fn first_gap(&self) -> Option<usize> {
        self.positions
            .iter()
            .enumerate()
            .find(|(i, p)| **p != *i as i64 + 1)
            .map(|(i, _)| i)
    }
}

/// Recompute the leaf of every stored event, in position order; `check` sees each row
/// (the full audit decodes it).
pub async fn log_leaves(
    db: &Database,
    mut check: impl FnMut(&StoredEvent),
) -> Result<LogLeaves, AuditError> {
    let mut log = LogLeaves::default();
    let mut after = i64::MIN;
    loop {
        let sql = format!(
            "{} WHERE position > $1 ORDER BY position LIMIT $2",
            *COLUMNS
        );
        let rows = read_rows(db, &sql, &[after, BATCH]).await?;
        let Some(last) = rows.last() else { break };
        after = last.position;
        for row in &rows {
            check(row);
            log.positions.push(row.position);
            log.leaves.push(row.leaf_hash());
        }
    }
    Ok(log)
}

/// The stored event at `index` of the position order (0-based).
pub async fn stored_event_at_index(
    db: &Database,
    index: usize,
) -> Result<Option<StoredEvent>, AuditError> {
    let sql = format!("{} ORDER BY position LIMIT 1 OFFSET $1", *COLUMNS);
    Ok(read_rows(db, &sql, &[index as i64]).await?.pop())
}

/// The log's leaves, refusing a log whose positions are not 1, 2, 3, …
async fn sound_leaves(db: &Database) -> Result<Vec<Hash>, AuditError> {
    let log = log_leaves(db, |_| {}).await?;
    if let Some(index) = log.first_gap() {
        return Err(AuditError::Tampered(format!(
            "the log's positions are not gapless: entry {} has position {}; run `whistle audit verify`",
            index + 1,
            log.positions[index]
        )));
    }
    Ok(log.leaves)
}

/// Sign a checkpoint of the whole log as it is now. Returns the signed checkpoint and the
/// leaf hashes it covers (kept beside it, they let a later audit name the first bad
/// position).
pub async fn checkpoint(
    db: &Database,
    private_key: &str,
    origin: &str,
    time: DateTime<Utc>,
) -> Result<(String, Vec<Hash>), AuditError> {
    let leaves = sound_leaves(db).await?;
    let checkpoint = Checkpoint {
        origin: origin.to_owned(),
        size: leaves.len() as u64,
        root: merkle::root(&leaves),
        time: Some(time),
    };
    Ok((checkpoint.sign(private_key)?, leaves))
}

/// Prove that the event `event_id` is in the log that `checkpoint` signs.
pub async fn prove_inclusion(
    db: &Database,
    event_id: &str,
    signed_checkpoint: &str,
) -> Result<InclusionBundle, AuditError> {
    let checkpoint = Checkpoint::read_unverified(signed_checkpoint)?;
    let row = sqlx::query(&format!("{} WHERE event_id = $1", *COLUMNS))
        .bind(event_id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| AuditError::NotFound(format!("no event {event_id}")))?;
    let event = stored_event(&row)?;
    if event.position < 1 || event.position as u64 > checkpoint.size {
        return Err(AuditError::NotFound(format!(
            "event {event_id} is at position {}, after the checkpoint's {} events: take a newer checkpoint",
            event.position, checkpoint.size
        )));
    }
    let index = (event.position - 1) as u64;
    let proof = inclusion_checked(db, &event, index, &checkpoint).await?;
    Ok(InclusionBundle {
        format: INCLUSION_FORMAT.to_owned(),
        leaf_index: index,
        event,
        checkpoint: signed_checkpoint.to_owned(),
        proof: encode_proof(&proof),
    })
}

/// The audit path of `event` (at `index`) in the tree `checkpoint` signs, from the tiles:
/// extended to the log's end first, rebuilt once when their root is not the signed one.
/// Refused when the row is not the one the signed tree holds, or when the tree cannot be
/// brought to the signed root (the database no longer holds the log it signs).
async fn inclusion_checked(
    db: &Database,
    event: &StoredEvent,
    index: u64,
    checkpoint: &Checkpoint,
) -> Result<Vec<Hash>, AuditError> {
    let proof = on_signed_tree(db, checkpoint, || async move {
        let proof = crate::tiles::inclusion(db, index, checkpoint.size).await?;
        Ok((proof.root, proof))
    })
    .await?;
    if proof.leaf != Some(event.leaf_hash()) {
        return Err(AuditError::Tampered(format!(
            "the event at position {} is not the one the checkpoint signed; run `whistle audit verify`",
            event.position
        )));
    }
    Ok(proof.hashes)
}

/// Run `prove` on the tiles extended to the log's end; `prove` answers the root of the
/// checkpoint's size beside its result. When that root is not the signed one the tiles
/// are rebuilt from the log once; if it still is not, the log is not the one signed.
async fn on_signed_tree<T, Proved>(
    db: &Database,
    checkpoint: &Checkpoint,
    prove: impl Fn() -> Proved,
) -> Result<T, AuditError>
where
    Proved: std::future::Future<Output = Result<(Hash, T), AuditError>>,
{
    for attempt in 0..2 {
        signed_tree_reachable(db, checkpoint).await?;
        let (root, proved) = prove().await?;
        if root == checkpoint.root {
            return Ok(proved);
        }
        if attempt == 0 {
            crate::tiles::clear(db).await?;
        }
    }
    Err(not_the_signed_log(checkpoint.size))
}

/// Extend the tiles to the log's end and refuse a log shorter than the checkpoint.
async fn signed_tree_reachable(db: &Database, checkpoint: &Checkpoint) -> Result<(), AuditError> {
    let size = crate::tiles::extend(db).await?;
    if size < checkpoint.size {
        return Err(AuditError::Tampered(format!(
            "the database holds {size} events, fewer than the checkpoint's {}",
            checkpoint.size
        )));
    }
    Ok(())
}

fn not_the_signed_log(size: u64) -> AuditError {
    AuditError::Tampered(format!(
        "the database's first {size} events are not the log the checkpoint signed; run `whistle audit verify`"
    ))
}

/// Prove that each event at `positions` is in the log that `checkpoint` signs (positions
/// after the checkpoint are left out: the returned list says which).
pub async fn prove_events(
    db: &Database,
    positions: &[i64],
    signed_checkpoint: &str,
) -> Result<(EvidenceBundle, Vec<i64>), AuditError> {
    let checkpoint = Checkpoint::read_unverified(signed_checkpoint)?;
    let mut events = Vec::new();
    let mut after_checkpoint = Vec::new();
    for &position in positions {
        if position < 1 || position as u64 > checkpoint.size {
            after_checkpoint.push(position);
            continue;
        }
        let event = read_rows(
            db,
            &format!("{} WHERE position = $1", *COLUMNS),
            &[position],
        )
        .await?
        .pop()
        .ok_or_else(|| AuditError::NotFound(format!("no event at position {position}")))?;
        let index = (position - 1) as u64;
        let proof = inclusion_checked(db, &event, index, &checkpoint).await?;
        events.push(ProvenEvent {
            leaf_index: index,
            event,
            proof: encode_proof(&proof),
        });
    }
    Ok((
        EvidenceBundle {
            format: EVIDENCE_FORMAT.to_owned(),
            checkpoint: signed_checkpoint.to_owned(),
            events,
        },
        after_checkpoint,
    ))
}

/// Prove that the log `old` signs is a prefix of the log `new` signs.
pub async fn prove_consistency(
    db: &Database,
    old: &str,
    new: &str,
) -> Result<ConsistencyBundle, AuditError> {
    let old_checkpoint = Checkpoint::read_unverified(old)?;
    let new_checkpoint = Checkpoint::read_unverified(new)?;
    if old_checkpoint.size == 0 {
        return Err(AuditError::Proof(
            "the old checkpoint is of an empty log: every log extends it, there is nothing to prove".into(),
        ));
    }
    if old_checkpoint.size > new_checkpoint.size {
        return Err(AuditError::Proof(format!(
            "the old checkpoint ({}) is larger than the new one ({}): swap them",
            old_checkpoint.size, new_checkpoint.size
        )));
    }
    let (old_root, proof) = on_signed_tree(db, &new_checkpoint, || async {
        let (old_root, proof) =
            crate::tiles::consistency(db, old_checkpoint.size, new_checkpoint.size).await?;
        Ok((proof.root, (old_root, proof)))
    })
    .await?;
    if old_root != old_checkpoint.root {
        return Err(AuditError::Tampered(format!(
            "the database's first {} events are not the log the old checkpoint signed",
            old_checkpoint.size
        )));
    }
    Ok(ConsistencyBundle {
        format: CONSISTENCY_FORMAT.to_owned(),
        old_checkpoint: old.to_owned(),
        new_checkpoint: new.to_owned(),
        proof: encode_proof(&proof.hashes),
    })
}

/// A checkpoint an inspector brings to a full audit, with the leaf list kept beside it
/// (if any).
pub struct HeldCheckpoint {
    pub name: String,
    pub signed: String,
    pub leaves: Option<Vec<Hash>>,
}

/// What is wrong, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    /// The event at the position is not the one signed.
    Altered,
    /// The event signed at the position is missing.
    Deleted,
    /// An event not signed stands at the position.
    Inserted,
    /// The event signed at `from` now stands at the position.
    Reordered { from: i64 },
    /// The log's positions skip or repeat here.
    PositionGap,
    /// The stored event cannot be read as an event.
    Unreadable(String),
    /// Something in positions ..= the position differs from the checkpoint; without the
    /// checkpoint's leaf list the event cannot be named.
    SomewhereUpTo,
    /// A personal value kept beside the event does not match the commitment the event
    /// holds.
    PersonalValueAltered(String),
    /// A personal value the event commits to is gone, and no erasure of the case was
    /// recorded after the event.
    PersonalValueMissing(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub position: i64,
    pub kind: FindingKind,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.position;
        match &self.kind {
            FindingKind::Altered => {
                write!(f, "first bad position: {p}: the event there was altered")
            }
            FindingKind::Deleted => write!(
                f,
                "first bad position: {p}: the event signed there was deleted"
            ),
            FindingKind::Inserted => write!(
                f,
                "first bad position: {p}: an event that was never signed was inserted"
            ),
            FindingKind::Reordered { from } => {
                write!(
                    f,
                    "first bad position: {p}: reordered: the event signed at position {from} stands here"
                )
            }
            FindingKind::PositionGap => write!(
                f,
                "first bad position: {p}: the log's positions skip or repeat here"
            ),
            FindingKind::Unreadable(why) => write!(
                f,
                "first bad position: {p}: the stored event is unreadable: {why}"
            ),
            FindingKind::PersonalValueAltered(pointer) => write!(
                f,
                "first bad position: {p}: the personal value at {pointer} does not match the commitment the event holds"
            ),
            FindingKind::PersonalValueMissing(pointer) => write!(
                f,
                "first bad position: {p}: the personal value at {pointer} was deleted, but no erasure of the case was recorded"
            ),
            FindingKind::SomewhereUpTo => write!(
                f,
                "first bad position: at or before {p}: the log differs from a signed checkpoint (keep the checkpoint's .leaves file to name the event)"
            ),
        }
    }
}

/// The outcome of a full audit.
#[derive(Debug, Clone)]
pub struct AuditReport {
    pub events: usize,
    pub checkpoints: Vec<(String, Checkpoint, bool)>,
    pub finding: Option<Finding>,
    pub personal: PersonalDataReport,
}

/// What the audit found of the personal values kept beside the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonalDataReport {
    /// Values present and matching their events' commitments.
    pub kept: usize,
    /// Values gone after a recorded erasure of their case.
    pub erased: usize,
    /// Recorded erasures (`PersonalDataErased`).
    pub erasures: usize,
}

/// A personal value an event commits to: where the event is and what it commits.
struct Committed {
    position: i64,
    event_id: String,
    case: Option<String>,
    pointer: &'static str,
    commitment: String,
}

/// Recompute every leaf, check each held checkpoint (signature, then the tree it signs),
/// decode every event, and name the first bad position.
pub async fn full_audit(
    db: &Database,
    held: &[HeldCheckpoint],
    public_key: &str,
) -> Result<AuditReport, AuditError> {
    let mut opened = Vec::new();
    for checkpoint in held {
        let signed = Checkpoint::open(&checkpoint.signed, public_key)
            .map_err(|e| AuditError::Tampered(format!("checkpoint {}: {e}", checkpoint.name)))?;
        opened.push((checkpoint, signed));
    }
    opened.sort_by_key(|(_, c)| c.size);

    let mut unreadable: Option<(i64, String)> = None;
    let mut committed: Vec<Committed> = Vec::new();
    // Case stream → the position of its recorded erasure.
    let mut erasures: std::collections::HashMap<String, i64> = Default::default();
    let log = log_leaves(db, |row| {
        if row.event_type == "PersonalDataErased"
            && let Some(case) = row.stream_id.strip_prefix("access-")
        {
            erasures.entry(case.to_owned()).or_insert(row.position);
        }
        if unreadable.is_some() {
            return;
        }
        let decoded = serde_json::from_str::<serde_json::Value>(&row.payload)
            .map_err(|e| e.to_string())
            .and_then(|mut payload| {
                if whistle_store::personal::has_commitments(&row.payload) {
                    for field in whistle_domain::access::PERSONAL_FIELDS
                        .iter()
                        .filter(|f| f.event_type == row.event_type)
                    {
                        if let Some(commitment) = payload
                            .pointer(field.pointer)
                            .and_then(|v| v.get(whistle_store::personal::MARKER))
                            .and_then(|v| v.as_str())
                        {
                            committed.push(Committed {
                                position: row.position,
                                event_id: row.event_id.clone(),
                                case: row.stream_id.strip_prefix("case-").map(str::to_owned),
                                pointer: field.pointer,
                                commitment: commitment.to_owned(),
                            });
                        }
                    }
                    // Decoded as if erased: the values themselves are checked below.
                    whistle_store::personal::join(
                        &row.event_type,
                        &mut payload,
                        &Default::default(),
                    )?;
                }
                let version = u32::try_from(row.schema_version).map_err(|e| e.to_string())?;
                whistle_domain::Event::from_record(&row.event_type, version, payload)
                    .map_err(|e| e.to_string())
            });
        if let Err(why) = decoded {
            unreadable = Some((row.position, why));
        }
    })
    .await?;
    let (personal, personal_finding) = check_personal_values(db, &committed, &erasures).await?;

    let mut findings = Vec::new();
    let mut results = Vec::new();
    for (held, checkpoint) in &opened {
        let size = checkpoint.size as usize;
        let good = log.leaves.len() >= size && merkle::root(&log.leaves[..size]) == checkpoint.root;
        results.push((held.name.clone(), checkpoint.clone(), good));
        if good {
            continue;
        }
        let kept = held
            .leaves
            .as_ref()
            .filter(|leaves| leaves.len() == size && merkle::root(leaves) == checkpoint.root);
        let finding = match kept {
            Some(signed_leaves) => locate(db, &log, signed_leaves).await?,
            None => Finding {
                position: checkpoint.size as i64,
                kind: FindingKind::SomewhereUpTo,
            },
        };
        findings.push(finding);
    }
    // What the log itself shows comes after what the checkpoints show at the same
    // position: "deleted" says more than "a gap".
    let mut structural = Vec::new();
    if let Some(index) = log.first_gap() {
        structural.push(Finding {
            position: index as i64 + 1,
            kind: FindingKind::PositionGap,
        });
    }
    if let Some((position, why)) = unreadable {
        structural.push(Finding {
            position,
            kind: FindingKind::Unreadable(why),
        });
    }
    findings.extend(structural);
    findings.extend(personal_finding);
    findings.sort_by_key(|f| f.position);
    Ok(AuditReport {
        events: log.leaves.len(),
        checkpoints: results,
        finding: findings.into_iter().next(),
        personal,
    })
}

/// Every committed personal value is either kept and matching, or gone after a recorded
/// erasure of its case (an erasure, not tampering); anything else is the first finding.
async fn check_personal_values(
    db: &Database,
    committed: &[Committed],
    erasures: &std::collections::HashMap<String, i64>,
) -> Result<(PersonalDataReport, Option<Finding>), AuditError> {
    let mut report = PersonalDataReport {
        erasures: erasures.len(),
        ..Default::default()
    };
    let mut ids: Vec<String> = committed.iter().map(|c| c.event_id.clone()).collect();
    ids.dedup();
    let kept = whistle_store::personal::stored_values(db, &ids).await?;
    let mut finding = None;
    for value in committed {
        let stored = kept
            .get(&value.event_id)
            .and_then(|values| values.get(value.pointer));
        let bad = match stored {
            Some((salt, stored)) => {
                if whistle_store::personal::commitment(salt, stored) == value.commitment {
                    report.kept += 1;
                    None
                } else {
                    Some(FindingKind::PersonalValueAltered(value.pointer.to_owned()))
                }
            }
            None => {
                let erased_after = value
                    .case
                    .as_ref()
                    .and_then(|case| erasures.get(case))
                    .is_some_and(|at| *at > value.position);
                if erased_after {
                    report.erased += 1;
                    None
                } else {
                    Some(FindingKind::PersonalValueMissing(value.pointer.to_owned()))
                }
            }
        };
        if let Some(kind) = bad
            && finding.is_none()
        {
            finding = Some(Finding {
                position: value.position,
                kind,
            });
        }
    }
    Ok((report, finding))
}

/// Name the first index where the stored log departs from the signed leaves, and how.
async fn locate(db: &Database, log: &LogLeaves, signed: &[Hash]) -> Result<Finding, AuditError> {
    let first = (0..signed.len())
        .find(|i| log.leaves.get(*i) != Some(&signed[*i]))
        .expect("a checkpoint that failed differs somewhere");
    let position = first as i64 + 1;
    let at = |index: usize| async move { stored_event_at_index(db, index).await };
    let leaf_at = |event: &StoredEvent, position: i64| {
        let mut moved = event.clone();
        moved.position = position;
        moved.leaf_hash()
    };
    let Some(here) = at(first).await? else {
        return Ok(Finding {
            position,
            kind: FindingKind::Deleted,
        });
    };
    // The event signed at the next position now stands here: this one was deleted.
    if first + 1 < signed.len() && leaf_at(&here, position + 1) == signed[first + 1] {
        if let Some(next) = at(first + 1).await?
            && leaf_at(&next, position) == signed[first]
        {
            return Ok(Finding {
                position,
                kind: FindingKind::Reordered { from: position + 1 },
            });
        }
        return Ok(Finding {
            position,
            kind: FindingKind::Deleted,
        });
    }
    // The event signed here stands at the next position: an event was inserted here.
    if let Some(next) = at(first + 1).await?
        && leaf_at(&next, position) == signed[first]
    {
        return Ok(Finding {
            position,
            kind: FindingKind::Inserted,
        });
    }
    // The event here was signed at another position: reordered.
    for (index, leaf) in signed.iter().enumerate() {
        if index != first && leaf_at(&here, index as i64 + 1) == *leaf {
            return Ok(Finding {
                position,
                kind: FindingKind::Reordered {
                    from: index as i64 + 1,
                },
            });
        }
    }
    Ok(Finding {
        position,
        kind: FindingKind::Altered,
    })
}
