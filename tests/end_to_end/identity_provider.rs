//! A real OpenID Connect provider on loopback (tests/identity-provider: panva's
//! oidc-provider, installed from the npm registry by `npm ci` at first use) and the
//! service trusting it: discovery, JWT access tokens signed with RS256, ES256 and EdDSA,
//! issuer and audience checks, configurable claim names, a key rotation, development
//! tokens refused unless allowed — and identities still bound to registered units.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::*;

/// The provider's folder in the repository.
fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("identity-provider")
}

/// Install the provider's pinned packages once per test run (`npm ci` from the lock).
fn install() -> &'static Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        npm_ci(
            &provider_dir(),
            &["oidc-provider"],
            "the identity provider tests",
        )
    })
}

/// The people the provider knows: client id (= user id) → claims.
fn people() -> Value {
    json!({
        "i-oidc": { "name": "冯纪检", "whistle_role": "inspector", "whistle_unit": "city-discipline", "dept": "city-discipline", "post": "inspector" },
        "m-oidc": { "name": "李监测", "whistle_role": "monitor", "whistle_unit": "city-cac", "dept": "city-cac", "post": "monitor" },
        "x-oidc": { "name": "无名", "whistle_role": "monitor", "whistle_unit": "no-such-unit", "dept": "no-such-unit", "post": "monitor" },
    })
}

/// A running provider; stopped when dropped.
struct IdentityProvider {
    port: u16,
    child: Child,
    people_file: tempfile::NamedTempFile,
    client: reqwest::Client,
}

impl IdentityProvider {
    async fn start() -> Self {
        if let Err(error) = install() {
            panic!("{error}");
        }
        let people_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(people_file.path(), people().to_string()).unwrap();
        // A free port may be taken by another test's server before the provider binds
        // it: then another port is tried.
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            match spawn(port, 1, people_file.path()).await {
                Ok(child) => {
                    return Self {
                        port,
                        child,
                        people_file,
                        client: reqwest::Client::new(),
                    };
                }
                Err(failure) => failures.push(failure),
            }
        }
        panic!("the identity provider did not start: {failures:#?}");
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Restart with new keys (generation `generation`): the old keys are gone.
    async fn rotate_keys(&mut self, generation: u32) {
        self.child.kill().await.unwrap();
        self.child = spawn(self.port, generation, self.people_file.path())
            .await
            .expect("the identity provider starts again");
    }

    /// An access token for `client`, signed with `alg`, for `audience`.
    async fn token(&self, client: &str, alg: &str, audience: &str) -> String {
        let response: Value = self
            .client
            .post(format!("{}/token", self.issuer()))
            .basic_auth(client, Some(format!("secret-{client}")))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "whistle"),
                ("resource", &format!("urn:whistle:{alg}:{audience}")),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("the provider issues a token: {response}"))
            .to_owned()
    }
}

/// Start the provider on `port`; what it said when it did not start.
async fn spawn(port: u16, generation: u32, people: &Path) -> Result<Child, String> {
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .arg(port.to_string())
        .arg(generation.to_string())
        .arg(people)
        .current_dir(provider_dir())
        .stdout(Stdio::piped())
        .stderr(stderr.reopen().unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (Node.js is needed for the identity provider tests)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("listening") {
                return true;
            }
        }
        false
    })
    .await;
    if listening == Ok(true) {
        Ok(child)
    } else {
        Err(format!(
            "on port {port} ({}): {}",
            if listening.is_err() {
                "no answer within 20 s"
            } else {
                "it exited"
            },
            std::fs::read_to_string(stderr.path()).unwrap_or_default()
        ))
    }
}

async fn service_trusting(
    backend: TestBackend,
    provider: &IdentityProvider,
    claims: whistle_api::oidc::ClaimNames,
    allow_development_tokens: bool,
) -> TestApp {
    let issuer = provider.issuer();
    spawn_app_configured(TestDatabase::new(backend).await, move |config| {
        config.identity_provider = Some(whistle_api::oidc::OidcConfig {
            issuer,
            audience: "whistle-api".to_owned(),
            claims,
            allow_development_tokens,
            keys_cooldown: KEYS_COOLDOWN,
        });
    })
    .await
}

/// How soon the service reads the provider's keys again for an unknown key id.
const KEYS_COOLDOWN: Duration = Duration::from_millis(500);

async fn tokens_of_the_identity_provider_are_verified_across_algorithms_and_a_key_rotation(
    backend: TestBackend,
) {
    let mut provider = IdentityProvider::start().await;
    let app = service_trusting(
        backend,
        &provider,
        whistle_api::oidc::ClaimNames::default(),
        false,
    )
    .await;
    register_standard_units(&app).await;

    for alg in ["RS256", "ES256", "EdDSA"] {
        let token = provider.token("i-oidc", alg, "whistle-api").await;
        let (status, body) = me(&app, &token).await;
        assert_eq!(status, 200, "{alg}: {body}");
        assert_eq!(body["data"]["me"]["userId"], "i-oidc");
        assert_eq!(body["data"]["me"]["name"], "冯纪检");
        assert_eq!(body["data"]["me"]["role"], "INSPECTOR");
        assert_eq!(body["data"]["me"]["unitId"], "city-discipline");
    }
    // A token for another audience is refused.
    let other_audience = provider.token("i-oidc", "RS256", "another-api").await;
    let (status, body) = me(&app, &other_audience).await;
    assert_eq!(status, 401, "{body}");
    // A verified identity is still bound to the world: its unit must be registered.
    let stranger = provider.token("x-oidc", "RS256", "whistle-api").await;
    let (status, body) = me(&app, &stranger).await;
    assert_eq!(status, 401);
    assert!(body.to_string().contains("not registered"), "{body}");
    // `whistle token` tokens are refused once a provider is trusted.
    let development = app.token("i1", "冯纪检", "inspector", "city-discipline");
    let (status, body) = me(&app, &development).await;
    assert_eq!(status, 401);
    assert!(body.to_string().contains("development tokens"), "{body}");
    // A forged token signed with the service's secret but claiming RS256 is refused.
    let mut forged_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    forged_header.kid = Some("RS256-g1-forged".to_owned());
    let forged = jsonwebtoken::encode(
        &forged_header,
        &json!({ "sub": "i-oidc", "name": "x", "whistle_role": "inspector", "whistle_unit": "city-discipline", "iss": provider.issuer(), "aud": "whistle-api", "iat": chrono::Utc::now().timestamp(), "exp": chrono::Utc::now().timestamp() + 60 }),
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(me(&app, &forged).await.0, 401);

    // The provider rotates its keys: a token under the new keys is accepted (the service
    // reads the keys again for the unknown key id), one under the old keys no longer.
    let before_rotation = provider.token("m-oidc", "ES256", "whistle-api").await;
    assert_eq!(me(&app, &before_rotation).await.0, 200);
    provider.rotate_keys(2).await;
    // An unknown key id makes the service read the keys again once the cooldown since
    // the last read has passed.
    tokio::time::sleep(KEYS_COOLDOWN + Duration::from_millis(100)).await;
    let after_rotation = provider.token("m-oidc", "ES256", "whistle-api").await;
    let (status, body) = me(&app, &after_rotation).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["me"]["userId"], "m-oidc");
    // The old key is unknown now: refused.
    tokio::time::sleep(KEYS_COOLDOWN + Duration::from_millis(100)).await;
    let (status, body) = me(&app, &before_rotation).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.to_string().contains("does not publish"), "{body}");
}

async fn claim_names_are_configurable_and_development_tokens_can_be_allowed(backend: TestBackend) {
    let provider = IdentityProvider::start().await;
    let claims = whistle_api::oidc::ClaimNames {
        user: "client_id".to_owned(),
        name: "name".to_owned(),
        role: "post".to_owned(),
        unit: "dept".to_owned(),
    };
    let app = service_trusting(backend, &provider, claims, true).await;
    register_standard_units(&app).await;
    let token = provider.token("m-oidc", "EdDSA", "whistle-api").await;
    let (status, body) = me(&app, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["me"]["role"], "MONITOR");
    assert_eq!(body["data"]["me"]["unitId"], "city-cac");
    let development = app.token("i1", "冯纪检", "inspector", "city-discipline");
    assert_eq!(me(&app, &development).await.0, 200);
}

on_both_backends!(
    tokens_of_the_identity_provider_are_verified_across_algorithms_and_a_key_rotation,
    claim_names_are_configurable_and_development_tokens_can_be_allowed,
);
