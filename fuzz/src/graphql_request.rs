//! The request-path target: one GraphQL request, as any client could send it, through
//! the whole router (limits, rate and size layers, token, parser, cost checks, resolvers,
//! error mapping) of a real application on a SQLite file, without a socket.
//!
//! An input is text: optional directive lines at the top, then the GraphQL document.
//!
//! ```text
//! #role: monitor
//! #variables: {"first": 5}
//! #operation: Cases
//! query Cases($first: Int) { cases(first: $first) { totalCount } }
//! ```
//!
//! `#role:` names whose token is sent (`anonymous`, none, by default; `invalid` sends a
//! token that does not verify), `#variables:` is sent as the request's variables as
//! written (it need not be JSON), `#operation:` as its operation name; `#raw` sends the
//! rest of the input as the request body, byte for byte.
//!
//! Whatever the input: the service answers within [`ANSWER_WITHIN`], never with a 5xx,
//! with a JSON body whose every error carries `extensions.code` — and never `INTERNAL`,
//! which would mean an input reached a failure the service does not understand.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use tower::ServiceExt;
use whistle_api::auth::{JwtSecret, issue_token};
use whistle_api::{Application, ServerConfig, ServerLimits};
use whistle_app::{AppConfig, ManualClock, RuleSet};

/// The longest an answer may take: the request budget (20 s) and a margin.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(30);

const ROLES: [(&str, &str, &str); 11] = [
    ("monitor", "fuzz-monitor", "city-cac"),
    ("dispatcher", "fuzz-dispatcher", "city-cac"),
    ("officer", "fuzz-officer", "road-bureau"),
    ("unit_head", "fuzz-head", "road-bureau"),
    ("leader", "fuzz-leader", "city-gov"),
    ("supervisor", "fuzz-supervisor", "city-supervision"),
    ("police", "fuzz-police", "city-police"),
    ("evaluator", "fuzz-evaluator", "city-assessment"),
    ("inspector", "fuzz-inspector", "city-discipline"),
    ("admin", "fuzz-admin", "city-cac"),
    ("officer", "fuzz-water-officer", "water-bureau"),
];

/// The units the tokens above belong to.
const UNITS: [(&str, &str, whistle_domain::UnitKind); 8] = [
    (
        "city-cac",
        "市委网信办",
        whistle_domain::UnitKind::CyberspaceOffice,
    ),
    (
        "road-bureau",
        "市公路局",
        whistle_domain::UnitKind::Department,
    ),
    (
        "water-bureau",
        "市水务局",
        whistle_domain::UnitKind::Department,
    ),
    ("city-gov", "市政府", whistle_domain::UnitKind::Leadership),
    (
        "city-supervision",
        "市委督查室",
        whistle_domain::UnitKind::SupervisionOffice,
    ),
    ("city-police", "市公安局", whistle_domain::UnitKind::Police),
    (
        "city-assessment",
        "市考核办",
        whistle_domain::UnitKind::AssessmentOffice,
    ),
    (
        "city-discipline",
        "市纪委监委",
        whistle_domain::UnitKind::DisciplineCommission,
    ),
];

struct Harness {
    runtime: tokio::runtime::Runtime,
    router: Router,
    tokens: Vec<(&'static str, String)>,
    _directory: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let directory = tempfile::tempdir().expect("a temporary directory");
        let secret = JwtSecret::new("whistle-fuzzing-signing-secret".to_owned())
            .expect("a long enough secret");
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().expect("an address"),
            jwt_secret: secret.clone(),
            identity_provider: None,
            // Rate limits would refuse a fuzzer's pace; they are tested on their own.
            limits: ServerLimits {
                requests_per_second_per_address: 0,
                requests_per_second_per_token: 0,
                ..ServerLimits::default()
            },
            metrics_token: Some("whistle-fuzzing-metrics-token".to_owned()),
            app: AppConfig {
                database_url: format!(
                    "sqlite://{}?mode=rwc",
                    directory.path().join("fuzz.db").display()
                ),
                rules: RuleSet::shipped(),
                calendar: Arc::new(whistle_domain::calendar::WorkingDayCalendar::china().clone()),
                clock: Arc::new(ManualClock::starting_at(
                    "2026-03-02T01:00:00Z".parse().expect("an instant"),
                )),
                deadline_interval: None,
                system_unit: whistle_domain::UnitId::parse("city-cac").expect("a unit code"),
                checkpoints: None,
            },
        };
        let router = runtime.block_on(async {
            let application = Application::build(config)
                .await
                .expect("the application builds");
            let router = application.router();
            // Every token below belongs to a registered unit of a kind that holds its
            // role, as in a real deployment; registered by the state's own handler.
            let handler = application.state().handler.clone();
            let admin = whistle_domain::Actor::new(
                whistle_domain::UserId::parse("fuzz-admin").expect("a user id"),
                "模糊测试",
                whistle_domain::Role::Admin,
                whistle_domain::UnitId::parse("city-cac").expect("a unit code"),
            )
            .expect("an actor");
            for (unit, name, kind) in UNITS {
                let unit = whistle_domain::UnitId::parse(unit).expect("a unit code");
                handler
                    .handle_unit(
                        whistle_app::Envelope::by(admin.clone()),
                        &unit,
                        whistle_domain::UnitCommand::RegisterUnit {
                            name: whistle_domain::text::RequiredText::parse("name", name)
                                .expect("a name"),
                            kind,
                            parent: None,
                            jurisdiction: None,
                        },
                    )
                    .await
                    .expect("the unit registers");
            }
            tokio::spawn(application.run_until_stopped(false));
            router
        });
        let tokens = ROLES
            .iter()
            .map(|(role, user, unit)| {
                let token = issue_token(
                    &secret,
                    user,
                    "模糊测试",
                    role,
                    unit,
                    chrono::Utc::now(),
                    chrono::Duration::hours(36),
                )
                .expect("a token");
                (*role, token)
            })
            .collect();
        Harness {
            runtime,
            router,
            tokens,
            _directory: directory,
        }
    })
}

/// One request as an input describes it.
#[derive(Debug, Default)]
struct Input {
    role: Option<String>,
    body: Vec<u8>,
}

fn parse_input(data: &[u8]) -> Input {
    let mut input = Input::default();
    let mut variables: Option<String> = None;
    let mut operation: Option<String> = None;
    let mut rest = data;
    loop {
        let (line, after) = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => (&rest[..end], &rest[end + 1..]),
            None => (rest, &[][..]),
        };
        let line = String::from_utf8_lossy(line);
        if let Some(role) = line.strip_prefix("#role:") {
            input.role = Some(role.trim().to_owned());
        } else if let Some(raw) = line.strip_prefix("#variables:") {
            variables = Some(raw.trim().to_owned());
        } else if let Some(name) = line.strip_prefix("#operation:") {
            operation = Some(name.trim().to_owned());
        } else if line.trim_end() == "#raw" {
            input.body = after.to_vec();
            return input;
        } else {
            break;
        }
        rest = after;
    }
    let document = String::from_utf8_lossy(rest).into_owned();
    let mut body = serde_json::Map::new();
    body.insert("query".into(), serde_json::Value::String(document));
    if let Some(variables) = variables {
        // Variables that are JSON are sent as JSON, anything else as a string (which the
        // service must refuse cleanly).
        let value =
            serde_json::from_str(&variables).unwrap_or(serde_json::Value::String(variables));
        body.insert("variables".into(), value);
    }
    if let Some(operation) = operation {
        body.insert("operationName".into(), serde_json::Value::String(operation));
    }
    input.body = serde_json::Value::Object(body).to_string().into_bytes();
    input
}

/// Run one input; panics (a finding) when the answer breaks the contract above.
pub fn run(data: &[u8]) {
    let harness = harness();
    let input = parse_input(data);
    let mut request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json");
    match input.role.as_deref() {
        None | Some("anonymous") => {}
        Some("invalid") => request = request.header(header::AUTHORIZATION, "Bearer not.a.token"),
        Some(role) => {
            if let Some((_, token)) = harness.tokens.iter().find(|(r, _)| *r == role) {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
        }
    }
    let mut request = request
        .body(Body::from(input.body))
        .expect("a well-formed request");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
    let router = harness.router.clone();
    let (status, body) = harness.runtime.block_on(async move {
        let answer = tokio::time::timeout(ANSWER_WITHIN, async move {
            let response = router
                .oneshot(request)
                .await
                .expect("the router is infallible");
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
                .await
                .expect("the body is read");
            (status, body)
        })
        .await;
        answer.unwrap_or_else(|_| panic!("no answer within {ANSWER_WITHIN:?}"))
    });
    assert!(
        !status.is_server_error(),
        "HTTP {status}: {}",
        String::from_utf8_lossy(&body)
    );
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "HTTP {status}, a body that is not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    if let Some(errors) = json.get("errors") {
        let errors = errors.as_array().expect("`errors` is a list");
        assert!(!errors.is_empty(), "an empty `errors`");
        for error in errors {
            let code = error["extensions"]["code"]
                .as_str()
                .unwrap_or_else(|| panic!("an error without extensions.code: {error}"));
            assert_ne!(code, "INTERNAL", "{error}");
        }
    } else {
        assert!(
            json.get("data").is_some(),
            "neither data nor errors: {json}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_and_the_document_are_read_from_the_top() {
        let input = parse_input(b"#role: monitor\n#variables: {\"a\": 1}\n{ me { name } }\n");
        assert_eq!(input.role.as_deref(), Some("monitor"));
        let body: serde_json::Value = serde_json::from_slice(&input.body).unwrap();
        assert_eq!(body["query"], "{ me { name } }\n");
        assert_eq!(body["variables"]["a"], 1);
    }

    #[test]
    fn a_raw_input_is_sent_byte_for_byte() {
        let input = parse_input(b"#role: admin\n#raw\n{\"query\": 1}");
        assert_eq!(input.role.as_deref(), Some("admin"));
        assert_eq!(input.body, b"{\"query\": 1}");
    }
}
