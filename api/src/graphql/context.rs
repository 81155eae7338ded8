//! What every resolver needs: the application state, the authenticated actor, page
//! sizes, and the bounded wait that lets a client read its own writes.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, ErrorExtensions, Result};
use sqlx::AnyPool;
use whistle_app::{Clock, CommandHandler};
use whistle_domain::{Actor, Role};
use whistle_projections::ProjectionProgress;
use whistle_store::EventStore;

use super::errors::{ErrorCode, error, from_projection, unauthenticated};

/// The longest a query waits for the read models to reach a position.
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// The largest page a list returns.
pub const MAX_PAGE: i64 = 200;
pub const DEFAULT_PAGE: i64 = 50;

pub use whistle_domain::access::{READS_EVERY_CASE as READS_EVERYTHING, case_scope};

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub handler: CommandHandler,
    pub progress: ProjectionProgress,
    pub assessment_rules: Arc<whistle_domain::rules::AssessmentRules>,
}

impl AppState {
    pub fn store(&self) -> &EventStore {
        self.handler.store()
    }
    pub fn pool(&self) -> &AnyPool {
        self.handler.store().database().pool()
    }
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.handler.clock()
    }
}

/// The actor of this request, if a valid token came with it.
#[derive(Clone, Debug)]
pub struct RequestActor(pub Option<Actor>);

pub fn state<'a>(ctx: &'a Context<'_>) -> Result<&'a AppState> {
    ctx.data::<AppState>()
}

pub fn actor<'a>(ctx: &'a Context<'_>) -> Result<&'a Actor> {
    ctx.data::<RequestActor>()
        .ok()
        .and_then(|a| a.0.as_ref())
        .ok_or_else(unauthenticated)
}

/// Refuse administrators a read of the record (cases, inboxes, figures): they read
/// units and settings only (docs/domain/people.md). Returns the actor otherwise.
pub fn record_reader<'a>(ctx: &'a Context<'_>, what: &str) -> Result<&'a Actor> {
    let actor = actor(ctx)?;
    if actor.role == Role::Admin {
        return Err(super::errors::error(
            super::errors::ErrorCode::Forbidden,
            format!("administrators read units and settings only, not {what}"),
        ));
    }
    Ok(actor)
}

/// Refuse a read unless the actor has one of `roles`; `what` names the field read.
pub fn require_role<'a>(ctx: &'a Context<'_>, roles: &[Role], what: &str) -> Result<&'a Actor> {
    let actor = actor(ctx)?;
    if roles.contains(&actor.role) {
        return Ok(actor);
    }
    let allowed: Vec<String> = roles.iter().map(|role| role.to_string()).collect();
    let message = format!(
        "{what} 需要{}角色;你的角色是{}",
        allowed.join("或"),
        actor.role
    );
    Err(
        async_graphql::Error::new(message).extend_with(|_, extensions| {
            extensions.set("code", ErrorCode::Forbidden.as_str());
            extensions.set("reason", "role_not_allowed");
        }),
    )
}

/// The page size a list's `argument` (`first` or `last`) asks for.
pub fn page_size(argument: &str, size: Option<i32>) -> Result<i64> {
    match size {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE as i32).contains(&n) => Ok(i64::from(n)),
        Some(n) => Err(error(
            ErrorCode::Validation,
            format!("{argument} must be between 1 and {MAX_PAGE}, not {n}"),
        )),
    }
}

/// Wait (at most [`MAX_WAIT`]) until the read models include `position`.
pub async fn wait_until_projected(
    ctx: &Context<'_>,
    position: Option<super::scalars::Position>,
) -> Result<()> {
    if let Some(super::scalars::Position(position)) = position {
        state(ctx)?
            .progress
            .wait_for(position, MAX_WAIT)
            .await
            .map_err(from_projection)?;
    }
    Ok(())
}
