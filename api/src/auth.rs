//! Authentication: bearer JWTs carrying the user id, display name, role and unit — from
//! the organisation's identity provider ([`crate::oidc`]: RS256, ES256, EdDSA), or, for
//! development and the demo, HS256 tokens that `whistle token` issues with the same
//! secret the service verifies them with.
//!
//! A token is checked strictly: signature, `exp` and `nbf` with at most [`LEEWAY`] of
//! clock skew, an `iat` not in the future, a lifetime (`exp − iat`) of at most
//! [`MAX_LIFETIME`], a user id that is not reserved (`system`). Then the identity must be
//! bound to the world ([`whistle_app::admission`]): its unit registered and active, its
//! role one a unit of that kind holds.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use whistle_domain::{Actor, Role, UnitId, UserId, Vocabulary};

use crate::oidc::OidcVerifier;

/// The development secret used when `WHISTLE_JWT_SECRET` is unset. Tokens signed with it
/// prove nothing; the service warns loudly when it runs with it.
pub const DEVELOPMENT_SECRET: &str = "whistle-development-secret-do-not-use-in-production";

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY: Duration = Duration::seconds(5);

/// The longest a token may be valid (`exp − iat`): a working day and a half.
pub const MAX_LIFETIME: Duration = Duration::hours(36);

/// The signing secret; its value never appears in logs.
#[derive(Clone)]
pub struct JwtSecret(String);

impl JwtSecret {
    pub fn new(secret: String) -> Result<Self, AuthError> {
        if secret.len() < 16 {
            return Err(AuthError::WeakSecret);
        }
        Ok(Self(secret))
    }
    pub fn development() -> Self {
        Self(DEVELOPMENT_SECRET.to_owned())
    }
    pub fn is_development(&self) -> bool {
        self.0 == DEVELOPMENT_SECRET
    }
}

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtSecret(***)")
    }
}

/// The token's claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub name: String,
    pub role: String,
    pub unit: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

#[derive(Debug, Error)]
pub enum AuthError {
    #[error("the JWT secret must be at least 16 bytes")]
    WeakSecret,
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error("invalid claim: {0}")]
    InvalidClaim(String),
    #[error("the Authorization header must be `Bearer <token>`")]
    NotBearer,
    /// The identity is valid but not bound to the world (unknown or inactive unit, a
    /// role the unit's kind does not hold).
    #[error("{0}")]
    NotAdmitted(String),
    /// The units could not be read to check the identity.
    #[error("the identity could not be checked now: {0}")]
    Unavailable(String),
}

impl From<whistle_app::admission::AdmissionError> for AuthError {
    fn from(error: whistle_app::admission::AdmissionError) -> Self {
        match error {
            whistle_app::admission::AdmissionError::Store(store) => {
                tracing::error!(error = %store, "reading units to admit an identity failed");
                AuthError::Unavailable("the unit register is unavailable".to_owned())
            }
            other => AuthError::NotAdmitted(other.to_string()),
        }
    }
}

/// The token of an `Authorization` value `Bearer <token>` (the scheme in any case, as
/// RFC 7235 has it).
pub fn bearer_token(value: &str) -> Result<&str, AuthError> {
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::NotBearer);
    }
    Ok(token.trim())
}

/// Who verifies tokens: the service's own secret (`whistle token`, HS256), and the
/// organisation's identity provider when one is configured. With a provider, HS256
/// tokens are refused unless development tokens are explicitly allowed.
#[derive(Clone, Debug)]
pub struct Authenticator {
    secret: JwtSecret,
    provider: Option<Arc<OidcVerifier>>,
}

impl Authenticator {
    pub fn new(secret: JwtSecret, provider: Option<Arc<OidcVerifier>>) -> Self {
        Self { secret, provider }
    }

    /// The identity provider, if one is configured.
    pub fn provider(&self) -> Option<&Arc<OidcVerifier>> {
        self.provider.as_ref()
    }

    /// Verify a bearer token (signature, times, claims) and return its person, not yet
    /// admitted, with the token's times.
    pub async fn verify(&self, token: &str) -> Result<(Actor, TokenTimes), AuthError> {
        let algorithm = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?
            .alg;
        match &self.provider {
            Some(provider) if algorithm != Algorithm::HS256 => provider.verify(token).await,
            Some(provider) if !provider.config().allow_development_tokens => {
                Err(AuthError::InvalidToken(
                    "development tokens (HS256, `whistle token`) are refused: this service trusts its identity provider (start it with --allow-development-tokens to accept both)".to_owned(),
                ))
            }
            _ => verify_token_times_at(&self.secret, token, Utc::now()),
        }
    }

    /// [`Authenticator::authenticate`], and when the token expires (a WebSocket session
    /// ends then).
    pub async fn authenticate_until(
        &self,
        handler: &whistle_app::CommandHandler,
        authorization: Option<&str>,
    ) -> Result<Option<(Actor, DateTime<Utc>)>, AuthError> {
        let Some(value) = authorization else {
            return Ok(None);
        };
        let (actor, times) = self.verify(bearer_token(value)?).await?;
        handler.admit(&actor).await?;
        let expires = DateTime::from_timestamp(times.exp, 0)
            .ok_or_else(|| AuthError::InvalidToken("the token's exp is out of range".to_owned()))?;
        Ok(Some((actor, expires)))
    }

    /// The actor an `Authorization` value names: none without a value, an error when the
    /// value is not a valid bearer token or its identity is not admitted. The one way
    /// every route (GraphQL over HTTP and WebSocket, downloads) reads who is asking.
    pub async fn authenticate(
        &self,
        handler: &whistle_app::CommandHandler,
        authorization: Option<&str>,
    ) -> Result<Option<Actor>, AuthError> {
        Ok(self
            .authenticate_until(handler, authorization)
            .await?
            .map(|(actor, _)| actor))
    }
}

/// Issue a token for a person; `role` cannot be `system`.
pub fn issue_token(
    secret: &JwtSecret,
    user: &str,
    name: &str,
    role: &str,
    unit: &str,
    issued_at: DateTime<Utc>,
    valid_for: Duration,
) -> Result<String, AuthError> {
    let actor = actor_from_parts(user, name, role, unit)?;
    if valid_for > MAX_LIFETIME {
        return Err(AuthError::InvalidClaim(format!(
            "a token may be valid for at most {} hours",
            MAX_LIFETIME.num_hours()
        )));
    }
    let claims = Claims {
        sub: actor.user_id.to_string(),
        name: actor.name,
        role: actor.role.key().to_owned(),
        unit: actor.unit.to_string(),
        iat: issued_at.timestamp(),
        exp: (issued_at + valid_for).timestamp(),
        nbf: None,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.0.as_bytes()),
    )
    .map_err(|e| AuthError::InvalidToken(e.to_string()))
}

/// Verify a token's signature, `exp`, `nbf`, `iat` and lifetime against the real time
/// and return its actor (not yet admitted: see [`authenticate`]).
pub fn verify_token(secret: &JwtSecret, token: &str) -> Result<Actor, AuthError> {
    verify_token_at(secret, token, Utc::now())
}

/// [`verify_token`] at the instant `now`.
pub fn verify_token_at(
    secret: &JwtSecret,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Actor, AuthError> {
    verify_token_times_at(secret, token, now).map(|(actor, _)| actor)
}

/// [`verify_token_at`], with the token's times.
fn verify_token_times_at(
    secret: &JwtSecret,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(Actor, TokenTimes), AuthError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub", "iat"]);
    // `exp` and `nbf` are checked below against `now`, with the same leeway.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.0.as_bytes()),
        &validation,
    )
    .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
    let claims = data.claims;
    let times = TokenTimes {
        iat: claims.iat,
        exp: claims.exp,
        nbf: claims.nbf,
    };
    times.check(now)?;
    let actor = actor_from_parts(&claims.sub, &claims.name, &claims.role, &claims.unit)?;
    Ok((actor, times))
}

/// A token's times, checked the same way for every kind of token.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct TokenTimes {
    pub iat: i64,
    pub exp: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
}

impl TokenTimes {
    /// `exp` and `nbf` with at most [`LEEWAY`] of skew, `iat` not in the future, and a
    /// lifetime of at most [`MAX_LIFETIME`].
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), AuthError> {
        let now = now.timestamp();
        let leeway = LEEWAY.num_seconds();
        if self.exp + leeway < now {
            return Err(AuthError::InvalidToken("the token has expired".to_owned()));
        }
        if let Some(nbf) = self.nbf
            && nbf - leeway > now
        {
            return Err(AuthError::InvalidToken(
                "the token is not valid yet (nbf)".to_owned(),
            ));
        }
        if self.iat - leeway > now {
            return Err(AuthError::InvalidToken(
                "the token was issued in the future (iat)".to_owned(),
            ));
        }
        if self.exp - self.iat > MAX_LIFETIME.num_seconds() {
            return Err(AuthError::InvalidToken(format!(
                "the token is valid for longer than the {} hours allowed",
                MAX_LIFETIME.num_hours()
            )));
        }
        Ok(())
    }
}

/// User ids a person may not hold: the service's own actor.
pub const RESERVED_USER_IDS: &[&str] = &["system"];

pub(crate) fn actor_from_parts(
    user: &str,
    name: &str,
    role: &str,
    unit: &str,
) -> Result<Actor, AuthError> {
    let invalid = |e: whistle_domain::ParseError| AuthError::InvalidClaim(e.to_string());
    if RESERVED_USER_IDS
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(user.trim()))
    {
        return Err(AuthError::InvalidClaim(format!(
            "user id `{}` is reserved for the service itself",
            user.trim()
        )));
    }
    let role = Role::parse_person_role(role).map_err(invalid)?;
    Actor::new(
        UserId::parse(user).map_err(invalid)?,
        name,
        role,
        UnitId::parse(unit).map_err(invalid)?,
    )
    .map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_a_forged_one_is_refused() {
        let secret = JwtSecret::new("a-test-secret-of-enough-length".into()).unwrap();
        let token = issue_token(
            &secret,
            "u1",
            "王五",
            "officer",
            "city-housing",
            Utc::now(),
            Duration::hours(1),
        )
        .unwrap();
        let actor = verify_token(&secret, &token).unwrap();
        assert_eq!(actor.role, Role::Officer);
        assert_eq!(actor.unit.as_str(), "city-housing");
        let other = JwtSecret::new("another-secret-of-enough-length".into()).unwrap();
        assert!(verify_token(&other, &token).is_err());
        let expired = issue_token(
            &secret,
            "u1",
            "王五",
            "officer",
            "city-housing",
            Utc::now() - Duration::days(2),
            Duration::hours(1),
        )
        .unwrap();
        assert!(verify_token(&secret, &expired).is_err());
        assert!(
            issue_token(
                &secret,
                "u1",
                "x",
                "system",
                "city-cac",
                Utc::now(),
                Duration::hours(1)
            )
            .is_err()
        );
        assert!(JwtSecret::new("short".into()).is_err());
    }

    #[test]
    fn the_bearer_scheme_is_read_in_any_case_and_nothing_else_is_a_token() {
        assert_eq!(bearer_token("Bearer abc").unwrap(), "abc");
        assert_eq!(bearer_token("bearer abc").unwrap(), "abc");
        assert_eq!(bearer_token("BEARER  abc ").unwrap(), "abc");
        for bad in ["abc", "Basic abc", "Bearer", "Bearer  "] {
            assert!(bearer_token(bad).is_err(), "{bad}");
        }
    }
}
