//! Proof bundles: what an inspector hands a third party, checkable offline with only the
//! log's public key.
//!
//! An inclusion bundle holds one event as stored (payload included), its index, the
//! signed checkpoint it is proven against, and the audit path. A consistency bundle holds
//! two signed checkpoints and the proof that the older log is a prefix of the newer one.
//! Both are JSON with a `format` field naming their version.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::AuditError;
use crate::checkpoint::Checkpoint;
use crate::leaf::{Leaf, StoredEvent};
use crate::merkle::{self, Hash, hashes_from_bytes};

pub const INCLUSION_FORMAT: &str = "whistle-inclusion-proof/v1";
pub const CONSISTENCY_FORMAT: &str = "whistle-consistency-proof/v1";
pub const EVIDENCE_FORMAT: &str = "whistle-evidence-bundle/v1";

/// One event with its proof inside an [`EvidenceBundle`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenEvent {
    pub leaf_index: u64,
    pub event: StoredEvent,
    pub proof: Vec<String>,
}

/// "Each of these events was recorded, at these positions, in the log that the checkpoint
/// signs": an inspector's export (`whistle audit export`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceBundle {
    pub format: String,
    pub checkpoint: String,
    pub events: Vec<ProvenEvent>,
}

/// "This event was recorded at this index of the log that the checkpoint signs."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionBundle {
    pub format: String,
    pub leaf_index: u64,
    pub event: StoredEvent,
    pub checkpoint: String,
    pub proof: Vec<String>,
}

/// "The log the older checkpoint signs is an exact prefix of the one the newer signs."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyBundle {
    pub format: String,
    pub old_checkpoint: String,
    pub new_checkpoint: String,
    pub proof: Vec<String>,
}

/// A file an inspector can check offline.
#[derive(Debug, Clone)]
pub enum Evidence {
    Checkpoint(String),
    Inclusion(Box<InclusionBundle>),
    Consistency(ConsistencyBundle),
    Events(Box<EvidenceBundle>),
}

/// What checking one piece of evidence established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    Checkpoint(Checkpoint),
    Inclusion {
        checkpoint: Checkpoint,
        position: i64,
        event_id: String,
    },
    Consistency {
        old: Checkpoint,
        new: Checkpoint,
    },
    Events {
        checkpoint: Checkpoint,
        count: usize,
    },
}

impl std::fmt::Display for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verified::Checkpoint(c) => write!(
                f,
                "checkpoint of {} at size {}: signature valid",
                c.origin, c.size
            ),
            Verified::Inclusion {
                checkpoint,
                position,
                event_id,
            } => write!(
                f,
                "event {event_id} is entry {position} of {} at size {}",
                checkpoint.origin, checkpoint.size
            ),
            Verified::Events { checkpoint, count } => write!(
                f,
                "{count} events, each proven to be the entry of {} at size {} that it says it is",
                checkpoint.origin, checkpoint.size
            ),
            Verified::Consistency { old, new } => write!(
                f,
                "the log of {} at size {} is a prefix of the log at size {}",
                new.origin, old.size, new.size
            ),
        }
    }
}

pub fn encode_proof(proof: &[Hash]) -> Vec<String> {
    proof.iter().map(|h| STANDARD.encode(h)).collect()
}

fn decode_proof(proof: &[String]) -> Result<Vec<Hash>, AuditError> {
    let bytes = proof
        .iter()
        .map(|p| {
            STANDARD
                .decode(p)
                .map_err(|_| AuditError::Proof("a proof element is not base64".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    hashes_from_bytes(&bytes).map_err(|e| AuditError::Proof(e.to_string()))
}

/// Check that `proven.event` is entry `leaf_index` of the log `checkpoint` signs.
fn verify_proven_event(checkpoint: &Checkpoint, proven: &ProvenEvent) -> Result<(), AuditError> {
    if proven.event.position != proven.leaf_index as i64 + 1 {
        return Err(AuditError::Proof(format!(
            "the event says position {} but the proof is for entry {}",
            proven.event.position,
            proven.leaf_index + 1
        )));
    }
    let proof = decode_proof(&proven.proof)?;
    merkle::verify_inclusion(
        proven.leaf_index,
        checkpoint.size,
        &proven.event.leaf_hash(),
        &proof,
        &checkpoint.root,
    )
    .map_err(|e| {
        AuditError::Proof(format!(
            "event {} (position {}) is not in the signed log: {e}",
            proven.event.event_id, proven.event.position
        ))
    })
}

impl Evidence {
    /// Recognise a file: a JSON bundle by its `format`, otherwise a signed checkpoint.
    pub fn parse(text: &str) -> Result<Evidence, AuditError> {
        if !text.trim_start().starts_with('{') {
            return Ok(Evidence::Checkpoint(text.to_owned()));
        }
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| AuditError::Proof(format!("not a proof bundle: {e}")))?;
        match value["format"].as_str() {
            Some(INCLUSION_FORMAT) => Ok(Evidence::Inclusion(Box::new(
                serde_json::from_value(value)
                    .map_err(|e| AuditError::Proof(format!("malformed inclusion bundle: {e}")))?,
            ))),
            Some(CONSISTENCY_FORMAT) => Ok(Evidence::Consistency(
                serde_json::from_value(value)
                    .map_err(|e| AuditError::Proof(format!("malformed consistency bundle: {e}")))?,
            )),
            Some(EVIDENCE_FORMAT) => Ok(Evidence::Events(Box::new(
                serde_json::from_value(value)
                    .map_err(|e| AuditError::Proof(format!("malformed evidence bundle: {e}")))?,
            ))),
            other => Err(AuditError::Proof(format!(
                "unknown bundle format {other:?}"
            ))),
        }
    }

    /// Check signatures and proofs with the log's public key alone.
    pub fn verify(&self, public_key: &str) -> Result<Verified, AuditError> {
        match self {
            Evidence::Checkpoint(text) => {
                Ok(Verified::Checkpoint(Checkpoint::open(text, public_key)?))
            }
            Evidence::Inclusion(bundle) => {
                if bundle.format != INCLUSION_FORMAT {
                    return Err(AuditError::Proof(format!(
                        "unknown bundle format {}",
                        bundle.format
                    )));
                }
                let checkpoint = Checkpoint::open(&bundle.checkpoint, public_key)?;
                if bundle.event.position != bundle.leaf_index as i64 + 1 {
                    return Err(AuditError::Proof(format!(
                        "the event says position {} but the proof is for entry {}",
                        bundle.event.position,
                        bundle.leaf_index + 1
                    )));
                }
                let proof = decode_proof(&bundle.proof)?;
                merkle::verify_inclusion(
                    bundle.leaf_index,
                    checkpoint.size,
                    &bundle.event.leaf_hash(),
                    &proof,
                    &checkpoint.root,
                )
                .map_err(|e| {
                    AuditError::Proof(format!("the event is not in the signed log: {e}"))
                })?;
                Ok(Verified::Inclusion {
                    position: bundle.event.position,
                    event_id: bundle.event.event_id.clone(),
                    checkpoint,
                })
            }
            Evidence::Events(bundle) => {
                if bundle.format != EVIDENCE_FORMAT {
                    return Err(AuditError::Proof(format!(
                        "unknown bundle format {}",
                        bundle.format
                    )));
                }
                let checkpoint = Checkpoint::open(&bundle.checkpoint, public_key)?;
                for proven in &bundle.events {
                    verify_proven_event(&checkpoint, proven)?;
                }
                Ok(Verified::Events {
                    count: bundle.events.len(),
                    checkpoint,
                })
            }
            Evidence::Consistency(bundle) => {
                if bundle.format != CONSISTENCY_FORMAT {
                    return Err(AuditError::Proof(format!(
                        "unknown bundle format {}",
                        bundle.format
                    )));
                }
                let old = Checkpoint::open(&bundle.old_checkpoint, public_key)?;
                let new = Checkpoint::open(&bundle.new_checkpoint, public_key)?;
                if old.origin != new.origin {
                    return Err(AuditError::Proof(
                        "the checkpoints are of different logs".into(),
                    ));
                }
                let proof = decode_proof(&bundle.proof)?;
                merkle::verify_consistency(old.size, new.size, &proof, &old.root, &new.root)
                    .map_err(|e| {
                        AuditError::Proof(format!(
                            "the older log is not a prefix of the newer: {e}"
                        ))
                    })?;
                Ok(Verified::Consistency { old, new })
            }
        }
    }
}
