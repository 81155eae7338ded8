//! GraphQL errors with a machine code in `extensions.code`: UNAUTHENTICATED, FORBIDDEN,
//! NOT_FOUND, CONFLICT, COMMAND_ID_REUSED, VALIDATION, DOMAIN_RULE, TIMEOUT and INTERNAL. Internal details
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
    /// A command id sent again for another command (actor, kind, target or arguments).
    CommandIdReused,
    Validation,
    DomainRule,
    Timeout,
    /// The database does not hold what a signed checkpoint says it held.
    Integrity,
    /// The query text or document is larger than the service accepts.
    QueryTooLarge,
    /// Brackets or selections nest deeper than the service accepts.
    QueryTooDeep,
    /// The query would cost more than the service accepts (fields, aliases, fragments,
    /// per-field weights).
    QueryTooComplex,
    /// The query does not parse.
    GraphqlParseFailed,
    /// The query is not valid against the schema.
    GraphqlValidationFailed,
    /// Too many expensive requests are running; try again shortly.
    Busy,
    /// Too many requests from this token or address; try again after `Retry-After`.
    RateLimited,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::CommandIdReused => "COMMAND_ID_REUSED",
            ErrorCode::Validation => "VALIDATION",
            ErrorCode::DomainRule => "DOMAIN_RULE",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Integrity => "INTEGRITY",
            ErrorCode::QueryTooLarge => "QUERY_TOO_LARGE",
            ErrorCode::QueryTooDeep => "QUERY_TOO_DEEP",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            ErrorCode::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            ErrorCode::Busy => "BUSY",
            ErrorCode::RateLimited => "RATE_LIMITED",
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
        CommandError::CommandIdReused(message) => error(ErrorCode::CommandIdReused, message),
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
        ProjectionError::OutOfRange(_) => error(ErrorCode::Validation, error_value.to_string()),
        other => internal("reading the read models", other),
    }
}

/// Give an error raised by the GraphQL engine itself (validation, its depth and
/// complexity limits, input coercion) the `extensions.code` every error carries. Errors
/// from resolvers already have one.
pub fn give_engine_error_a_code(error: &mut async_graphql::ServerError) {
    let has_code = error
        .extensions
        .as_ref()
        .is_some_and(|extensions| extensions.get("code").is_some());
    if has_code {
        return;
    }
    let code = if error.message.starts_with("Query is nested too deep")
        || error
            .message
            .starts_with("The recursion depth of the query")
    {
        ErrorCode::QueryTooDeep
    } else if error.message.starts_with("Query is too complex") {
        ErrorCode::QueryTooComplex
    } else if error.path.is_empty() {
        ErrorCode::GraphqlValidationFailed
    } else {
        // An argument the engine could not coerce to its type.
        ErrorCode::Validation
    };
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
}
