//! `spawn_app()` and the `TestApp` every test talks to.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::watch;
use whistle_api::auth::{JwtSecret, issue_token};
use whistle_api::{AppConfig, Application};
use whistle_domain::rules::DeadlineRules;
use whistle_store::{CommandHandler, EventStore, ManualClock};

pub const TEST_SECRET: &str = "end-to-end-suite-signing-secret";

/// The instant every test's clock starts at: Monday 2026-03-02 09:00 Shanghai.
pub fn start_of_tests() -> DateTime<Utc> {
    "2026-03-02T01:00:00Z".parse().unwrap()
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub clock: ManualClock,
    pub client: reqwest::Client,
    pub handler: CommandHandler,
    pub deadlines: whistle_api::deadlines::DeadlineProcess,
    pub database_url: String,
    secret: JwtSecret,
    shutdown: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    directory: Option<TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Start the real server on 127.0.0.1:0 with a fresh SQLite file and a manual clock.
pub async fn spawn_app() -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        whistle_api::telemetry::init("info,sqlx=warn");
    }
    let directory = tempfile::tempdir().expect("temp dir");
    let database_url = format!("sqlite://{}/whistle.sqlite", directory.path().display());
    let clock = ManualClock::starting_at(start_of_tests());
    let secret = JwtSecret::new(TEST_SECRET.to_owned()).unwrap();
    let config = AppConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: database_url.clone(),
        jwt_secret: secret.clone(),
        rules: DeadlineRules::default(),
        assessment_rules: whistle_domain::rules::AssessmentRules::default(),
        clock: Arc::new(clock.clone()),
        deadline_interval: None,
        system_unit: whistle_domain::UnitId::parse("city-cac").unwrap(),
    };
    let app = Application::build(config)
        .await
        .expect("the application builds");
    let port = app.port();
    let handler = app.state().handler.clone();
    let deadlines = app.deadline_process();
    let shutdown = app.shutdown_handle();
    let server = tokio::spawn(app.run_until_stopped(false));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        clock,
        client: reqwest::Client::new(),
        handler,
        deadlines,
        database_url,
        secret,
        shutdown,
        server: Some(server),
        directory: Some(directory),
    }
}

impl TestApp {
    /// Stop the server and wait until it has closed the database; the database file
    /// lives on in the returned directory.
    pub async fn stop(mut self) -> (String, TempDir) {
        let _ = self.shutdown.send(true);
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("the server task ends")
                .expect("the server stops cleanly");
        }
        (
            self.database_url.clone(),
            self.directory
                .take()
                .expect("the directory is held until stop"),
        )
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use whistle_store::Clock;
        self.clock.now()
    }

    pub fn store(&self) -> &EventStore {
        self.handler.store()
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
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(json!({ "query": query, "variables": variables }).to_string());
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        response.json().await.expect("a JSON body")
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

    pub async fn head(&self) -> i64 {
        self.store().head_position().await.unwrap()
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
pub async fn standard_city(app: &TestApp) -> People {
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
            "mutation($id: String!, $name: String!, $kind: UnitKind!) { registerUnit(unitId: $id, name: $name, kind: $kind) { position } }",
            json!({ "id": code, "name": name, "kind": kind }),
        )
        .await;
    }
    people
}

/// Flag a post and return the new case id and the position written.
pub async fn flag(app: &TestApp, token: &str, url: &str, title: &str) -> (String, i64) {
    let data = app
        .ok(
            token,
            "mutation($url: String!, $title: String!) { flagPost(post: { platform: WEIBO, url: $url, title: $title, excerpt: \"网友反映\", author: \"网友甲\", views: 1200 }) { caseId position } }",
            json!({ "url": url, "title": title }),
        )
        .await;
    (
        data["flagPost"]["caseId"].as_str().unwrap().to_owned(),
        data["flagPost"]["position"].as_i64().unwrap(),
    )
}

pub async fn triage(app: &TestApp, token: &str, case_id: &str, level: &str) -> i64 {
    let data = app
        .ok(
            token,
            "mutation($c: ID!, $level: Level!) { triageCase(caseId: $c, level: $level, categories: [PUBLIC_INTEREST], problemClass: \"道路塌陷\") { position } }",
            json!({ "c": case_id, "level": level }),
        )
        .await;
    data["triageCase"]["position"].as_i64().unwrap()
}

/// Assign and return the assignment id.
pub async fn assign(app: &TestApp, token: &str, case_id: &str, unit: &str, role: &str) -> String {
    let data = app
        .ok(
            token,
            "mutation($c: ID!, $u: String!, $r: AssignmentRole!) { assignCase(caseId: $c, unitId: $u, role: $r) { createdId } }",
            json!({ "c": case_id, "u": unit, "r": role }),
        )
        .await;
    data["assignCase"]["createdId"].as_str().unwrap().to_owned()
}

pub async fn accept(app: &TestApp, token: &str, case_id: &str, assignment: &str) {
    app.ok(
        token,
        "mutation($c: ID!, $a: ID!) { acceptAssignment(caseId: $c, assignmentId: $a) { position } }",
        json!({ "c": case_id, "a": assignment }),
    )
    .await;
}

/// Submit a reply and return its id.
pub async fn submit_reply(app: &TestApp, token: &str, case_id: &str, assignment: &str) -> String {
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

pub async fn approve(app: &TestApp, token: &str, case_id: &str, reply: &str) -> i64 {
    let data = app
        .ok(
            token,
            "mutation($c: ID!, $r: ID!) { approveReply(caseId: $c, replyId: $r) { position } }",
            json!({ "c": case_id, "r": reply }),
        )
        .await;
    data["approveReply"]["position"].as_i64().unwrap()
}

pub async fn complete(app: &TestApp, token: &str, case_id: &str, assignment: &str) -> i64 {
    let data = app
        .ok(
            token,
            "mutation($c: ID!, $a: ID!) { completeAssignment(caseId: $c, assignmentId: $a, summary: \"已办结\") { position } }",
            json!({ "c": case_id, "a": assignment }),
        )
        .await;
    data["completeAssignment"]["position"].as_i64().unwrap()
}
