//! What every HTTP handler is given: the GraphQL schema, the application state behind
//! it, and the key that verifies bearer tokens.

use crate::auth::JwtSecret;
use crate::graphql::{AppState, WhistleSchema};

/// State shared by the HTTP handlers.
#[derive(Clone)]
pub struct HttpState {
    pub schema: WhistleSchema,
    pub app: AppState,
    pub jwt_secret: JwtSecret,
}
