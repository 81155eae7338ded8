//! The two families of errors the domain raises: input that does not parse (the caller
//! sent something malformed) and commands that are refused ([`Refusal`]: the actor may
//! not, the thing does not exist, or the current state does not allow it).

use thiserror::Error;

pub use crate::refusal::{Refusal, RefusalKind};

/// A value from outside could not be turned into a domain type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {reason}")]
pub struct ParseError {
    pub field: &'static str,
    pub reason: String,
}

impl ParseError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Why a command produced no events. A refused command appends nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// The command is refused; the refusal says why.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A field of the command is malformed.
    #[error("invalid input: {0}")]
    Validation(#[from] ParseError),
}

impl DomainError {
    /// The refusal, when the command was refused (not malformed).
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            DomainError::Refused(refusal) => Some(refusal),
            DomainError::Validation(_) => None,
        }
    }
}
