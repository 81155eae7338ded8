//! The GraphQL schema: queries over the read models, one mutation per command, and
//! event subscriptions. Only this module (and the HTTP layer) knows GraphQL.

pub mod context;
pub mod contract;
pub mod enums;
pub mod errors;
pub mod limits;
pub mod mutation;
pub mod node;
pub mod personal_data;
pub mod query;
pub mod scalars;
pub mod subscription;
pub mod types;

use async_graphql::Schema;

pub use context::{AppState, RequestActor};

pub type WhistleSchema =
    Schema<query::QueryRoot, mutation::MutationRoot, subscription::SubscriptionRoot>;

/// Deepest query accepted.
pub const MAX_DEPTH: usize = 12;
/// Most complex query accepted (each field costs 1; lists multiply by `first`).
pub const MAX_COMPLEXITY: usize = 5_000;

pub fn build_schema(state: AppState) -> WhistleSchema {
    Schema::build(
        query::QueryRoot,
        mutation::MutationRoot,
        subscription::SubscriptionRoot,
    )
    .data(state)
    .extension(limits::QueryCost::new())
    .extension(personal_data::AccessRecorder)
    // Depth is limited by `limits` (the schema's fields and introspection apart); the
    // engine's own depth limit would count introspection's `ofType` chains too.
    .limit_complexity(MAX_COMPLEXITY)
    .finish()
}
