//! Whistle's audit ledger: proof, for discipline-inspection staff and anyone they show
//! it to, that the record was not altered — even by someone with write access to the
//! database.
//!
//! Every event, once its position is final, is a leaf of an RFC 6962 Merkle tree
//! ([`leaf`], [`merkle`]). A signed checkpoint ([`checkpoint`]) fixes the tree's size and
//! root with an Ed25519 key that lives outside the database; inspectors keep those files.
//! Inclusion and consistency proofs ([`bundle`]) can then be checked offline with the
//! public key alone, and a full audit ([`ledger::full_audit`]) recomputes every leaf
//! from the database and names the first event that was altered, deleted, inserted or
//! reordered since a checkpoint.

pub mod bundle;
pub mod checkpoint;
pub mod files;
pub mod leaf;
pub mod ledger;
pub mod merkle;
pub mod tiles;

use thiserror::Error;

/// Why an audit operation failed. [`AuditError::Tampered`], [`AuditError::Signature`]
/// and [`AuditError::Proof`] mean the evidence does not verify; the others mean the
/// operation could not be carried out.
#[derive(Debug, Error)]
pub enum AuditError {
    #[error("the log does not match its checkpoint: {0}")]
    Tampered(String),
    #[error("signature check failed: {0}")]
    Signature(String),
    #[error("proof check failed: {0}")]
    Proof(String),
    #[error("malformed checkpoint: {0}")]
    Checkpoint(String),
    #[error("key: {0}")]
    Key(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Store(#[from] whistle_store::StoreError),
}

impl AuditError {
    /// True when the evidence was examined and does not verify (as opposed to the
    /// operation failing for another reason).
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            AuditError::Tampered(_) | AuditError::Signature(_) | AuditError::Proof(_)
        )
    }
}
