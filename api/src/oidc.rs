//! Tokens from the organisation's identity provider (OpenID Connect): the provider's
//! metadata is discovered from its issuer URL (`/.well-known/openid-configuration`), its
//! signing keys are read from the `jwks_uri` and kept; a token signed with a key id the
//! cache does not know makes the keys be read again (at most once per
//! [`OidcConfig::keys_cooldown`], so tokens naming made-up key ids cannot make the service
//! hammer the provider), so the provider can rotate its keys without a restart.
//!
//! A token is accepted when it is signed with RS256, ES256 or EdDSA by a key of the
//! provider's set (a key's type must match the token's algorithm; symmetric keys are never
//! taken from a key set), its `iss` is the configured issuer and its `aud` the configured
//! audience, and its times pass the same checks as every token ([`crate::auth`]). The
//! person's id, display name, role and unit are read from claims whose names are
//! configured ([`ClaimNames`]), since providers name them differently.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};
use whistle_domain::Actor;

use crate::auth::{AuthError, TokenTimes, actor_from_parts};

/// Keys are read again for an unknown key id at most this often, by default.
pub const KEYS_COOLDOWN: Duration = Duration::from_secs(10);

/// How long a request to the provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(5);

/// The algorithms a provider's token may be signed with.
pub const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// Which claims name the person. Defaults: `sub`, `name`, `whistle_role`, `whistle_unit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    pub user: String,
    pub name: String,
    pub role: String,
    pub unit: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            user: "sub".to_owned(),
            name: "name".to_owned(),
            role: "whistle_role".to_owned(),
            unit: "whistle_unit".to_owned(),
        }
    }
}

/// How to trust an identity provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer URL exactly as the provider's tokens name it.
    pub issuer: String,
    /// The audience the tokens must be issued for.
    pub audience: String,
    pub claims: ClaimNames,
    /// Also accept `whistle token` (HS256) tokens signed with the service's secret.
    pub allow_development_tokens: bool,
    /// The provider's keys are read again for an unknown key id at most this often
    /// ([`KEYS_COOLDOWN`] by default).
    pub keys_cooldown: Duration,
}

/// Why the provider could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the identity provider at {url} could not be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error(
        "the identity provider's metadata names issuer `{found}`, not the configured `{expected}`"
    )]
    IssuerMismatch { expected: String, found: String },
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// The keys last read from the provider, and when.
#[derive(Default)]
struct Keys {
    jwks_uri: Option<String>,
    set: Vec<Jwk>,
    read_at: Option<Instant>,
}

/// Verifies tokens from one OpenID Connect provider.
pub struct OidcVerifier {
    config: OidcConfig,
    client: reqwest::Client,
    keys: RwLock<Keys>,
    /// One refresh at a time.
    refreshing: Mutex<()>,
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcVerifier")
            .field("issuer", &self.config.issuer)
            .field("audience", &self.config.audience)
            .finish_non_exhaustive()
    }
}

impl OidcVerifier {
    pub fn new(config: OidcConfig) -> Result<Arc<Self>, ProviderError> {
        let client = reqwest::Client::builder()
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|e| ProviderError::Unreachable {
                url: config.issuer.clone(),
                reason: e.to_string(),
            })?;
        Ok(Arc::new(Self {
            config,
            client,
            keys: RwLock::new(Keys::default()),
            refreshing: Mutex::new(()),
        }))
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Discover the provider and read its keys now (at start, so a misconfiguration is
    /// seen at once; a failure here is retried on the first token).
    pub async fn refresh(&self) -> Result<usize, ProviderError> {
        let _one_at_a_time = self.refreshing.lock().await;
        self.read_keys().await
    }

    async fn read_keys(&self) -> Result<usize, ProviderError> {
        let jwks_uri = match self.keys.read().await.jwks_uri.clone() {
            Some(uri) => uri,
            None => {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.config.issuer.trim_end_matches('/')
                );
                let discovery: Discovery = self.get_json(&url).await?;
                if discovery.issuer != self.config.issuer {
                    return Err(ProviderError::IssuerMismatch {
                        expected: self.config.issuer.clone(),
                        found: discovery.issuer,
                    });
                }
                discovery.jwks_uri
            }
        };
        let set: JwkSet = self.get_json(&jwks_uri).await?;
        let count = set.keys.len();
        let mut keys = self.keys.write().await;
        keys.jwks_uri = Some(jwks_uri);
        keys.set = set.keys;
        keys.read_at = Some(Instant::now());
        tracing::info!(issuer = %self.config.issuer, keys = count, "identity provider keys read");
        Ok(count)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, ProviderError> {
        let unreachable = |reason: String| ProviderError::Unreachable {
            url: url.to_owned(),
            reason,
        };
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .error_for_status()
            .map_err(|e| unreachable(e.to_string()))?;
        response
            .json()
            .await
            .map_err(|e| unreachable(e.to_string()))
    }

    /// The key named `kid`, reading the provider's keys again when it is not known (and
    /// they were not read within the cooldown).
    async fn key(&self, kid: &str) -> Result<Option<Jwk>, AuthError> {
        let find = |keys: &Keys| {
            keys.set
                .iter()
                .find(|k| k.common.key_id.as_deref() == Some(kid))
                .cloned()
        };
        if let Some(key) = find(&*self.keys.read().await) {
            return Ok(Some(key));
        }
        let _one_at_a_time = self.refreshing.lock().await;
        // Someone else may have read the keys while this waited.
        {
            let keys = self.keys.read().await;
            if let Some(key) = find(&keys) {
                return Ok(Some(key));
            }
            if keys
                .read_at
                .is_some_and(|at| at.elapsed() < self.config.keys_cooldown)
            {
                return Ok(None);
            }
        }
        self.read_keys().await.map_err(|error| {
            tracing::warn!(%error, "reading the identity provider's keys failed");
            AuthError::Unavailable("the identity provider cannot be reached".to_owned())
        })?;
        Ok(find(&*self.keys.read().await))
    }

    /// Verify a token the provider issued and return its person (not yet admitted) and
    /// the token's times.
    pub async fn verify(&self, token: &str) -> Result<(Actor, TokenTimes), AuthError> {
        let invalid = |reason: String| AuthError::InvalidToken(reason);
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(invalid(format!(
                "tokens of the identity provider must be signed with RS256, ES256 or EdDSA, not {:?}",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| invalid("the token names no signing key (kid)".to_owned()))?;
        let jwk = self.key(&kid).await?.ok_or_else(|| {
            invalid(format!(
                "the token is signed with key `{kid}`, which the identity provider does not publish"
            ))
        })?;
        let family_matches = matches!(
            (&jwk.algorithm, header.alg),
            (AlgorithmParameters::RSA(_), Algorithm::RS256)
                | (AlgorithmParameters::EllipticCurve(_), Algorithm::ES256)
                | (AlgorithmParameters::OctetKeyPair(_), Algorithm::EdDSA)
        );
        if !family_matches {
            return Err(invalid(format!(
                "key `{kid}` is not a {:?} key",
                header.alg
            )));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| invalid(e.to_string()))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        // Times are checked by `TokenTimes`, the same way for every token.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|e| invalid(e.to_string()))?;
        let claims = data.claims;
        let times: TokenTimes =
            serde_json::from_value(serde_json::Value::Object(claims.clone()))
                .map_err(|e| invalid(format!("the token's times are malformed: {e}")))?;
        times.check(chrono::Utc::now())?;
        let text = |name: &str| -> Result<String, AuthError> {
            match claims.get(name) {
                Some(serde_json::Value::String(value)) => Ok(value.clone()),
                Some(_) => Err(AuthError::InvalidClaim(format!(
                    "claim `{name}` must be a string"
                ))),
                None => Err(AuthError::InvalidClaim(format!(
                    "the token has no `{name}` claim (the identity provider must send it; see --oidc-claim-*)"
                ))),
            }
        };
        let names = &self.config.claims;
        let actor = actor_from_parts(
            &text(&names.user)?,
            &text(&names.name)?,
            &text(&names.role)?,
            &text(&names.unit)?,
        )?;
        Ok((actor, times))
    }
}
