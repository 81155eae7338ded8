//! The one axum extractor that says who is asking: the optional actor of a request's
//! `Authorization: Bearer …` header, used by every HTTP route (the WebSocket's
//! `connection_init` payload goes through the same [`crate::auth::authenticate`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use whistle_domain::Actor;

use crate::auth::AuthError;
use crate::state::HttpState;

/// The person the request's bearer token names; `None` without a token.
#[derive(Debug, Clone)]
pub struct MaybeActor(pub Option<Actor>);

/// A token came with the request but is not valid (or the header is not a bearer
/// token); each route answers it in its own media type.
#[derive(Debug)]
pub struct InvalidToken(pub AuthError);

/// Taken alone (not as `Result<MaybeActor, InvalidToken>`), a bad token answers 401 in
/// plain text.
impl IntoResponse for InvalidToken {
    fn into_response(self) -> Response {
        let status = match self.0 {
            AuthError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        };
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.0.to_string(),
        )
            .into_response()
    }
}

impl FromRequestParts<HttpState> for MaybeActor {
    type Rejection = InvalidToken;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        let value = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| InvalidToken(AuthError::NotBearer))?,
            ),
        };
        state
            .authenticator
            .authenticate(&state.app.handler, value)
            .await
            .map(MaybeActor)
            .map_err(InvalidToken)
    }
}
