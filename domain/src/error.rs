//! The two families of errors the domain raises: input that does not parse (the caller
//! sent something malformed) and commands the current state or the actor's role does
//! not allow. Every message is a sentence a person can act on.

use thiserror::Error;

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

/// Why a command was refused. A refused command appends nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// The actor's role or unit does not allow this command.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The thing the command refers to does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The current state does not allow this command; the message says why.
    #[error("{0}")]
    Rule(String),
    /// A field of the command is malformed.
    #[error("invalid input: {0}")]
    Validation(#[from] ParseError),
}

impl DomainError {
    pub fn rule(message: impl Into<String>) -> Self {
        DomainError::Rule(message.into())
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        DomainError::Forbidden(message.into())
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        DomainError::NotFound(message.into())
    }
}
