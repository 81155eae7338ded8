//! `spawn_app()` and the `TestApp` every test talks to.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::watch;
use whistle_api::auth::{JwtSecret, issue_token};
use whistle_api::{Application, ServerConfig, ServerLimits};
use whistle_app::{AppConfig, CommandHandler, ManualClock, RuleSet};
use whistle_store::EventStore;

pub const TEST_SECRET: &str = "end-to-end-suite-signing-secret";
/// The bearer token `/metrics` asks for in the suite's applications.
pub const METRICS_TOKEN: &str = "end-to-end-metrics-token";

/// The instant every test's clock starts at: Monday 2026-03-02 09:00 Shanghai.
pub fn start_of_tests() -> DateTime<Utc> {
    "2026-03-02T01:00:00Z".parse().unwrap()
}

/// The two SQL backends every store, projection and end-to-end test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// `on_both_backends!(a, b)`: for each `async fn a(backend: TestBackend)` in the
/// module, the tests `a::sqlite` and `a::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name($crate::helpers::TestBackend::Sqlite).await
                }
                #[tokio::test]
                async fn postgres() {
                    super::$name($crate::helpers::TestBackend::Postgres).await
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;

/// A fresh, empty database of one backend: a SQLite file in a temp dir, or a new
/// database on the suite's PostgreSQL server.
pub struct TestDatabase {
    pub url: String,
    _directory: Option<TempDir>,
}

impl TestDatabase {
    pub async fn new(backend: TestBackend) -> Self {
        if std::env::var("TEST_LOG").is_ok() {
            whistle_app::telemetry::init("info,sqlx=warn");
        }
        match backend {
            TestBackend::Sqlite => {
                let directory = tempfile::tempdir().expect("temp dir");
                TestDatabase {
                    url: format!("sqlite://{}/whistle.sqlite", directory.path().display()),
                    _directory: Some(directory),
                }
            }
            TestBackend::Postgres => TestDatabase {
                url: crate::postgres_server::server()
                    .create_database("whistle_test")
                    .await
                    .expect("the suite's PostgreSQL server creates a test database"),
                _directory: None,
            },
        }
    }

    /// Another handle on the same database (its files stay with this one).
    pub fn shared(&self) -> TestDatabase {
        TestDatabase {
            url: self.url.clone(),
            _directory: None,
        }
    }

    /// The same database reached as another PostgreSQL role.
    pub fn as_role(&self, role: &str) -> TestDatabase {
        let name = self.url.rsplit('/').next().unwrap_or_default();
        TestDatabase {
            url: crate::postgres_server::server().url_of_as(role, name),
            _directory: None,
        }
    }

    /// The event store on this database (migrations applied).
    pub async fn store(&self) -> EventStore {
        EventStore::new(
            whistle_store::Database::connect(&self.url)
                .await
                .expect("the test database opens"),
        )
        .await
        .expect("the event store opens")
    }
}

/// Talks GraphQL to a running Whistle (in this process or another one).
pub struct GraphqlClient {
    pub address: String,
    pub client: reqwest::Client,
    secret: JwtSecret,
}

pub struct TestApp {
    pub api: GraphqlClient,
    pub port: u16,
    pub clock: ManualClock,
    pub handler: CommandHandler,
    pub deadlines: whistle_app::DeadlineProcess,
    pub database: Option<TestDatabase>,
    shutdown: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl std::ops::Deref for TestApp {
    type Target = GraphqlClient;

    fn deref(&self) -> &GraphqlClient {
        &self.api
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Start the real server on 127.0.0.1:0 with a fresh database of `backend` and a manual
/// clock.
pub async fn spawn_app_on(backend: TestBackend) -> TestApp {
    let database = TestDatabase::new(backend).await;
    spawn_app_with(database).await
}

/// Start the real server on an existing test database.
pub async fn spawn_app_with(database: TestDatabase) -> TestApp {
    spawn_app_configured(database, |_| {}).await
}

/// Start the real server on an existing test database, with the configuration changed
/// by `configure` (periodic checkpoints, other rules …).
pub async fn spawn_app_configured(
    database: TestDatabase,
    configure: impl FnOnce(&mut ServerConfig),
) -> TestApp {
    let database_url = database.url.clone();
    let clock = ManualClock::starting_at(start_of_tests());
    let secret = JwtSecret::new(TEST_SECRET.to_owned()).unwrap();
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        jwt_secret: secret.clone(),
        identity_provider: None,
        // The suite's clients send bursts no person would: rate limits are tested on
        // their own (`hardening`), with their defaults.
        limits: ServerLimits {
            requests_per_second_per_address: 0,
            requests_per_second_per_token: 0,
            ..ServerLimits::default()
        },
        metrics_token: Some(METRICS_TOKEN.to_owned()),
        app: AppConfig {
            database_url: database_url.clone(),
            rules: RuleSet::shipped(),
            calendar: Arc::new(whistle_domain::calendar::WorkingDayCalendar::china().clone()),
            clock: Arc::new(clock.clone()),
            deadline_interval: None,
            system_unit: whistle_domain::UnitId::parse("city-cac").unwrap(),
            checkpoints: None,
        },
    };
    let mut config = config;
    configure(&mut config);
    let app = Application::build(config)
        .await
        .expect("the application builds");
    let port = app.port();
    let handler = app.state().handler.clone();
    let deadlines = app.deadline_process();
    let shutdown = app.shutdown_handle();
    let server = tokio::spawn(app.run_until_stopped(false));
    TestApp {
        api: GraphqlClient::new(format!("http://127.0.0.1:{port}")),
        port,
        clock,
        handler,
        deadlines,
        database: Some(database),
        shutdown,
        server: Some(server),
    }
}

impl TestApp {
    /// Stop the server and wait until it has closed the database; the database lives on
    /// in the returned handle.
    pub async fn stop(mut self) -> TestDatabase {
        let _ = self.shutdown.send(true);
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("the server task ends")
                .expect("the server stops cleanly");
        }
        self.database
            .take()
            .expect("the database is held until stop")
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use whistle_app::Clock;
        self.clock.now()
    }

    pub fn store(&self) -> &EventStore {
        self.handler.store()
    }

    pub async fn head(&self) -> i64 {
        self.store().head_position().await.unwrap()
    }

    /// Wait until the read models have applied everything in the log now.
    pub async fn wait_until_projected(&self) {
        let head = self.head().await;
        let token = self.token("i9", "核查", "inspector", "city-discipline");
        self.ok(
            &token,
            "query($p: Position) { logPosition(waitForPosition: $p) { head } }",
            json!({ "p": head }),
        )
        .await;
    }
}

impl GraphqlClient {
    pub fn new(address: String) -> Self {
        GraphqlClient {
            address,
            client: reqwest::Client::new(),
            secret: JwtSecret::new(TEST_SECRET.to_owned()).unwrap(),
        }
    }

    pub fn token(&self, user: &str, name: &str, role: &str, unit: &str) -> String {
        issue_token(
            &self.secret,
            user,
            name,
            role,
            unit,
            Utc::now(),
            chrono::Duration::hours(1),
        )
        .unwrap()
    }

    /// POST a GraphQL request; the whole JSON response.
    pub async fn graphql(&self, token: &str, query: &str, variables: Value) -> Value {
        self.try_graphql(token, query, variables)
            .await
            .expect("the server answers with JSON")
    }

    /// POST a GraphQL request; an error when the server does not answer with JSON.
    pub async fn try_graphql(
        &self,
        token: &str,
        query: &str,
        variables: Value,
    ) -> Result<Value, reqwest::Error> {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(json!({ "query": query, "variables": variables }).to_string());
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        request.send().await?.json().await
    }

    /// The `data` of a request that must succeed.
    #[track_caller]
    pub fn expect_data(response: Value) -> Value {
        if let Some(errors) = response.get("errors") {
            panic!("expected success, got errors: {errors:#}");
        }
        response["data"].clone()
    }

    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        Self::expect_data(self.graphql(token, query, variables).await)
    }

    /// The `extensions.code`, `extensions.reason` (the refusal's stable code, for
    /// refused commands) and message of the first error of a request that must fail.
    pub async fn refusal(
        &self,
        token: &str,
        query: &str,
        variables: Value,
    ) -> (String, String, String) {
        let response = self.graphql(token, query, variables).await;
        let error = response["errors"]
            .get(0)
            .unwrap_or_else(|| panic!("expected an error, got {response:#}"));
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        (
            text(&error["extensions"]["code"]),
            text(&error["extensions"]["reason"]),
            text(&error["message"]),
        )
    }

    /// The `extensions.code` of the first error of a request that must fail.
    pub async fn error_code(&self, token: &str, query: &str, variables: Value) -> (String, String) {
        let response = self.graphql(token, query, variables).await;
        let error = response["errors"]
            .get(0)
            .unwrap_or_else(|| panic!("expected an error, got {response:#}"));
        (
            error["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            error["message"].as_str().unwrap_or_default().to_owned(),
        )
    }
}

/// People of the standard test city.
pub struct People {
    pub admin: String,
    pub monitor: String,
    pub dispatcher: String,
    pub second_dispatcher: String,
    pub housing_officer: String,
    pub housing_head: String,
    pub transport_officer: String,
    pub transport_head: String,
    pub leader: String,
    pub supervisor: String,
    pub police: String,
    pub evaluator: String,
    pub inspector: String,
}

pub const UNITS: &[(&str, &str, &str)] = &[
    ("city-cac", "市委网信办", "CYBERSPACE_OFFICE"),
    ("city-housing", "市住建局", "DEPARTMENT"),
    ("city-transport", "市交通运输局", "DEPARTMENT"),
    ("city-police", "市公安局", "POLICE"),
    ("city-supervision", "市委督查室", "SUPERVISION_OFFICE"),
    ("city-assessment", "市考核办", "ASSESSMENT_OFFICE"),
    ("city-discipline", "市纪委监委", "DISCIPLINE_COMMISSION"),
    ("city-leadership", "市委市政府", "LEADERSHIP"),
];

/// Register the standard units and issue a token for each role.
pub async fn standard_city(app: &GraphqlClient) -> People {
    let people = People {
        admin: app.token("admin1", "系统管理员", "admin", "city-cac"),
        monitor: app.token("m1", "李监测", "monitor", "city-cac"),
        dispatcher: app.token("d1", "王研判", "dispatcher", "city-cac"),
        second_dispatcher: app.token("d2", "赵复核", "dispatcher", "city-cac"),
        housing_officer: app.token("o-housing", "张经办", "officer", "city-housing"),
        housing_head: app.token("h-housing", "陈局长", "unit_head", "city-housing"),
        transport_officer: app.token("o-transport", "刘经办", "officer", "city-transport"),
        transport_head: app.token("h-transport", "周局长", "unit_head", "city-transport"),
        leader: app.token("l1", "吴市长", "leader", "city-leadership"),
        supervisor: app.token("s1", "郑督查", "supervisor", "city-supervision"),
        police: app.token("p1", "孙警官", "police", "city-police"),
        evaluator: app.token("e1", "钱考核", "evaluator", "city-assessment"),
        inspector: app.token("i1", "冯纪检", "inspector", "city-discipline"),
    };
    for (code, name, kind) in UNITS {
        app.ok(
            &people.admin,
            "mutation($id: ID!, $name: String!, $kind: UnitKind!) { registerUnit(unitId: $id, name: $name, kind: $kind) { position } }",
            json!({ "id": code, "name": name, "kind": kind }),
        )
        .await;
    }
    people
}

/// The HTTP status and the body of `{ me { userId name role unitId } }` with `token`.
pub async fn me(app: &TestApp, token: &str) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .body(json!({ "query": "{ me { userId name role unitId } }" }).to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The HTTP status and the body of `/readyz`.
pub async fn readyz(app: &TestApp) -> (u16, Value) {
    let response = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Register the standard units through the command handler itself (no HTTP request:
/// for tests whose server is rate limited).
pub async fn register_standard_units(app: &TestApp) {
    use whistle_domain::{Actor, Role, UnitCommand, UnitId, UnitKind, UserId, Vocabulary};
    let admin = Actor::new(
        UserId::parse("admin1").unwrap(),
        "系统管理员",
        Role::Admin,
        UnitId::parse("city-cac").unwrap(),
    )
    .unwrap();
    for (code, name, kind) in UNITS {
        app.handler
            .handle_unit(
                whistle_app::Envelope::by(admin.clone()),
                &UnitId::parse(code).unwrap(),
                UnitCommand::RegisterUnit {
                    name: whistle_domain::text::RequiredText::parse("name", name).unwrap(),
                    kind: UnitKind::parse_key(&kind.to_lowercase()).unwrap(),
                    parent: None,
                    jurisdiction: None,
                },
            )
            .await
            .unwrap();
    }
}

/// Flag a post and return the new case id and the position written.
pub async fn flag(app: &GraphqlClient, token: &str, url: &str, title: &str) -> (String, i64) {
    let data = app
        .ok(
            token,
            "mutation($url: String!, $title: String!) { flagPost(post: { platform: WEIBO, url: $url, title: $title, excerpt: \"网友反映\", author: \"网友甲\", views: 1200 }) { caseId position } }",
            json!({ "url": url, "title": title }),
        )
        .await;
    (
        data["flagPost"]["caseId"].as_str().unwrap().to_owned(),
        data["flagPost"]["position"]
            .as_str()
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap(),
    )
}

pub async fn triage(app: &GraphqlClient, token: &str, case_id: &str, level: &str) -> i64 {
    let data = app
        .ok(
            token,
            "mutation($c: ID!, $level: Level!) { triageCase(caseId: $c, level: $level, categories: [PUBLIC_INTEREST], problemClass: \"道路塌陷\") { position } }",
            json!({ "c": case_id, "level": level }),
        )
        .await;
    data["triageCase"]["position"]
        .as_str()
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap()
}

/// Assign and return the assignment id.
pub async fn assign(
    app: &GraphqlClient,
    token: &str,
    case_id: &str,
    unit: &str,
    role: &str,
) -> String {
    let data = app
        .ok(
            token,
            "mutation($c: ID!, $u: ID!, $r: AssignmentRole!) { assignCase(caseId: $c, unitId: $u, role: $r) { createdId } }",
            json!({ "c": case_id, "u": unit, "r": role }),
        )
        .await;
    data["assignCase"]["createdId"].as_str().unwrap().to_owned()
}

pub async fn accept(app: &GraphqlClient, token: &str, case_id: &str, assignment: &str) {
    app.ok(
        token,
        "mutation($c: ID!, $a: ID!) { acceptAssignment(caseId: $c, assignmentId: $a) { position } }",
        json!({ "c": case_id, "a": assignment }),
    )
    .await;
}

/// Submit a reply and return its id.
pub async fn submit_reply(
    app: &GraphqlClient,
    token: &str,
    case_id: &str,
    assignment: &str,
) -> String {
    let data = app
        .ok(
            token,
            "mutation($c: ID!, $a: ID!) { submitReply(caseId: $c, assignmentId: $a, content: \"经核查,已安排修复\") { createdId } }",
            json!({ "c": case_id, "a": assignment }),
        )
        .await;
    data["submitReply"]["createdId"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn approve(app: &GraphqlClient, token: &str, case_id: &str, reply: &str) -> i64 {
    let data = app
        .ok(
            token,
            "mutation($c: ID!, $r: ID!) { approveReply(caseId: $c, replyId: $r) { position } }",
            json!({ "c": case_id, "r": reply }),
        )
        .await;
    data["approveReply"]["position"]
        .as_str()
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap()
}

pub async fn complete(app: &GraphqlClient, token: &str, case_id: &str, assignment: &str) -> i64 {
    let data = app
        .ok(
            token,
            "mutation($c: ID!, $a: ID!) { completeAssignment(caseId: $c, assignmentId: $a, summary: \"已办结\") { position } }",
            json!({ "c": case_id, "a": assignment }),
        )
        .await;
    data["completeAssignment"]["position"]
        .as_str()
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap()
}

/// Install the pinned npm packages of the test folder `dir` (`npm ci` from its lock),
/// unless every package of `installed` is there already.
pub fn npm_ci(dir: &std::path::Path, installed: &[&str], needed_for: &str) -> Result<(), String> {
    if installed.iter().all(|package| {
        dir.join("node_modules")
            .join(package)
            .join("package.json")
            .exists()
    }) {
        return Ok(());
    }
    let output = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .output()
        .map_err(|e| {
            format!("npm could not be run (Node.js and npm are needed for {needed_for}): {e}")
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "npm ci failed in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
