//! GraphQL errors with a machine code in `extensions.code`: UNAUTHENTICATED, FORBIDDEN,
//! NOT_FOUND, CONFLICT, VALIDATION, DOMAIN_RULE, TIMEOUT and INTERNAL. Internal details
//! are logged, never shown to the client.

use async_graphql::ErrorExtensions;
use whistle_app::CommandError;
use whistle_domain::{DomainError, ParseError, Refusal, RefusalKind};
use whistle_projections::ProjectionError;
use whistle_store::StoreError;

/// The machine codes clients can switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    Validation,
    DomainRule,
    Timeout,
    /// The database does not hold what a signed checkpoint says it held.
    Integrity,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::Validation => "VALIDATION",
            ErrorCode::DomainRule => "DOMAIN_RULE",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Integrity => "INTEGRITY",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

pub fn error(code: ErrorCode, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into())
        .extend_with(|_, extensions| extensions.set("code", code.as_str()))
}

pub fn unauthenticated() -> async_graphql::Error {
    error(
        ErrorCode::Unauthenticated,
        "authentication required: send `Authorization: Bearer <token>` (issue one with `whistle token`)",
    )
}

pub fn validation(parse: ParseError) -> async_graphql::Error {
    error(ErrorCode::Validation, parse.to_string())
}

pub fn internal(context: &str, source: impl std::fmt::Display) -> async_graphql::Error {
    let reference = uuid::Uuid::now_v7();
    tracing::error!(%reference, %source, "{context}");
    error(
        ErrorCode::Internal,
        format!("internal error while {context} (reference {reference}); it has been logged"),
    )
}

/// A refused command: FORBIDDEN, NOT_FOUND or DOMAIN_RULE by the refusal's kind, with
/// the refusal's stable code in `extensions.reason` and its message.
pub fn from_refusal(refusal: &Refusal) -> async_graphql::Error {
    let code = match refusal.kind() {
        RefusalKind::Forbidden => ErrorCode::Forbidden,
        RefusalKind::NotFound => ErrorCode::NotFound,
        RefusalKind::Rule => ErrorCode::DomainRule,
    };
    let reason = refusal.code();
    async_graphql::Error::new(refusal.to_string()).extend_with(|_, extensions| {
        extensions.set("code", code.as_str());
        extensions.set("reason", reason);
    })
}

pub fn from_domain(error_value: DomainError) -> async_graphql::Error {
    match error_value {
        DomainError::Refused(refusal) => from_refusal(&refusal),
        DomainError::Validation(parse) => validation(parse),
    }
}

pub fn from_command(error_value: CommandError) -> async_graphql::Error {
    match error_value {
        CommandError::Domain(domain) => from_domain(domain),
        CommandError::Conflict(message) => error(ErrorCode::Conflict, message),
        CommandError::Store(store) => from_store(store),
    }
}

pub fn from_store(error_value: StoreError) -> async_graphql::Error {
    internal("talking to the event store", error_value)
}

pub fn from_audit(error_value: whistle_audit::AuditError) -> async_graphql::Error {
    use whistle_audit::AuditError as A;
    match error_value {
        A::Tampered(_) | A::Signature(_) | A::Proof(_) => {
            error(ErrorCode::Integrity, error_value.to_string())
        }
        A::NotFound(_) => error(ErrorCode::NotFound, error_value.to_string()),
        A::Checkpoint(_) | A::Key(_) => error(ErrorCode::Validation, error_value.to_string()),
        A::Database(_) | A::Store(_) => internal("audit", error_value),
    }
}

pub fn from_projection(error_value: ProjectionError) -> async_graphql::Error {
    match error_value {
        ProjectionError::WaitTimedOut { .. } => error(ErrorCode::Timeout, error_value.to_string()),
        other => internal("reading the read models", other),
    }
}
