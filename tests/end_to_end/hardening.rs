//! Nothing from outside crashes, stalls or poisons the service: each finding of the
//! hardening review, tried as an attacker or a careless client would, against the real
//! server (on both backends where a backend is involved).

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

/// POST a raw GraphQL body, optionally with a token; the status and the JSON answer.
/// POST `body` asking for `application/graphql-response+json`, the media type whose
/// status codes say what kind of error it was (400 for a request error).
async fn post_raw(app: &TestApp, token: Option<&str>, body: String) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Content-Type", "application/json")
        .header("Accept", "application/graphql-response+json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

fn first_code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error with a code: {answer:#}"))
}

async fn still_serving(app: &TestApp) {
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("the service is still up");
    assert_eq!(health.status(), 200);
}

async fn deeply_nested_requests_without_a_token_are_refused_and_the_service_stays_up(
    backend: TestBackend,
) {
    let app = spawn_app_on(backend).await;
    let deep_list = format!(
        "{{ me @include(if: {}true{}) {{ userId }} }}",
        "[".repeat(1_550),
        "]".repeat(1_550)
    );
    let deep_object = format!(
        "{{ cases(filter: {}{{}}{}) {{ edges {{ cursor }} }} }}",
        "{a: ".repeat(1_550),
        "}".repeat(1_550)
    );
    let deep_default = format!(
        "query($x: [Int] = {}1{}) {{ me {{ userId }} }}",
        "[".repeat(1_550),
        "]".repeat(1_550)
    );
    for query in [deep_list, deep_object, deep_default] {
        let (status, answer) = post_raw(&app, None, json!({ "query": query }).to_string()).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(first_code(&answer), "QUERY_TOO_DEEP");
    }
    // Variables nested deeper than the service reads are refused too.
    let mut nested = json!(1);
    for _ in 0..60 {
        nested = json!([nested]);
    }
    let (_, answer) = post_raw(
        &app,
        None,
        json!({ "query": "query($x: [Int]) { vocabularies { name } }", "variables": { "x": nested } })
            .to_string(),
    )
    .await;
    assert_eq!(first_code(&answer), "QUERY_TOO_DEEP", "{answer}");
    still_serving(&app).await;
}

async fn exponential_fragments_and_alias_bombs_are_refused_before_any_work(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let mut bomb = String::from("fragment F0 on QueryRoot { vocabularies { name } }\n");
    for n in 1..=30 {
        bomb.push_str(&format!(
            "fragment F{n} on QueryRoot {{ ...F{m} ...F{m} }}\n",
            m = n - 1
        ));
    }
    bomb.push_str("query { ...F30 }");
    let (status, answer) = post_raw(&app, None, json!({ "query": bomb }).to_string()).await;
    assert_eq!((status, first_code(&answer)), (400, "QUERY_TOO_COMPLEX"));
    let cycle = "fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A } { ...A }";
    let (_, answer) = post_raw(&app, None, json!({ "query": cycle }).to_string()).await;
    assert_eq!(first_code(&answer), "GRAPHQL_VALIDATION_FAILED");
    // A thousand whole-year assessments, or sixteen dashboards as of an instant.
    let assessments: String = (0..1_000)
        .map(|n| format!("a{n}: annualAssessment(year: 2026) {{ score }} "))
        .collect();
    let (_, answer) = post_raw(
        &app,
        Some(&p.monitor),
        json!({ "query": format!("{{ {assessments} }}") }).to_string(),
    )
    .await;
    assert_eq!(first_code(&answer), "QUERY_TOO_COMPLEX", "{answer}");
    let dashboards: String = (0..16)
        .map(|n| format!("d{n}: dashboard(asOf: \"2026-03-02T00:00:00Z\") {{ totalCases }} "))
        .collect();
    let (_, answer) = post_raw(
        &app,
        Some(&p.dispatcher),
        json!({ "query": format!("{{ {dashboards} }}") }).to_string(),
    )
    .await;
    assert_eq!(first_code(&answer), "QUERY_TOO_COMPLEX", "{answer}");
    // A real dashboard and a real assessment still answer.
    app.ok(
        &p.dispatcher,
        "{ dashboard { totalCases } annualAssessment(year: 2026) { rank } }",
        json!({}),
    )
    .await;
    still_serving(&app).await;
}

async fn text_that_a_backend_cannot_store_or_that_hides_itself_is_refused_alike(
    backend: TestBackend,
) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let head = app.head().await;
    let flag = "mutation($title: String!, $url: String!) { flagPost(post: { platform: WEIBO, url: $url, title: $title }) { position } }";
    for (title, url) in [
        ("路\u{0}面塌陷", "https://weibo.com/nul/1"),
        ("路面\u{202E}塌陷", "https://weibo.com/bidi/1"),
        ("路面塌陷", "https://weibo.com/\u{200B}zw/1"),
    ] {
        let (code, message) = app
            .error_code(&p.monitor, flag, json!({ "title": title, "url": url }))
            .await;
        assert_eq!(code, "VALIDATION", "{title:?}: {message}");
        assert!(message.contains("U+"), "names the character: {message}");
    }
    // A unit name with an invisible character, and NUL in a filter that only reads.
    let (code, _) = app
        .error_code(
            &p.admin,
            "mutation { registerUnit(unitId: \"town-zw\", name: \"某\\u200b镇\", kind: TOWNSHIP_OR_STREET) { position } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "VALIDATION");
    let (code, _) = app
        .error_code(
            &p.dispatcher,
            "query($t: String) { cases(filter: { text: $t }) { edges { cursor } } }",
            json!({ "t": "路\u{0}面" }),
        )
        .await;
    assert_eq!(code, "VALIDATION");
    assert_eq!(app.head().await, head, "nothing was written");
    // A token whose display name holds NUL is refused, not an internal error.
    // (Signed here as an identity provider would: `whistle token` refuses such a name.)
    let claims = json!({
        "sub": "nul-user", "name": "张\u{0}三", "role": "monitor", "unit": "city-cac",
        "iat": chrono::Utc::now().timestamp(),
        "exp": chrono::Utc::now().timestamp() + 600,
    });
    let poisoned = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    let (code, _) = app
        .error_code(&poisoned, "{ me { name } }", json!({}))
        .await;
    assert_eq!(code, "UNAUTHENTICATED");
    // Text is stored in one normal form: a decomposed é comes back composed.
    let (case, position) = flag_titled(
        &app,
        &p.monitor,
        "https://weibo.com/nfc/1",
        "Cafe\u{301} 门前积水",
    )
    .await;
    let detail = app
        .ok(
            &p.dispatcher,
            "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { title } }",
            json!({ "c": case, "p": position }),
        )
        .await;
    assert_eq!(detail["case"]["title"], "Caf\u{e9} 门前积水");
}

async fn flag_titled(app: &TestApp, token: &str, url: &str, title: &str) -> (String, i64) {
    let data = app
        .ok(
            token,
            "mutation($url: String!, $title: String!) { flagPost(post: { platform: WEIBO, url: $url, title: $title }) { caseId position } }",
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

async fn a_poisoned_event_is_projected_and_a_failing_projection_is_reported_not_hidden(
    backend: TestBackend,
) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, _) = flag(&app, &p.monitor, "https://weibo.com/poison/1", "积水").await;
    // An event written before the boundary refused NUL (appended here past the API):
    // PostgreSQL cannot store its text in a read model, yet it is projected.
    let case_id = whistle_domain::CaseId::parse(&case).unwrap();
    let stream = whistle_domain::StreamId::Case(case_id);
    let version = app.store().read_stream(&stream).await.unwrap().len() as i64;
    let command_id = whistle_domain::CommandId::from_uuid(uuid::Uuid::now_v7());
    let old = app
        .store()
        .append(whistle_store::AppendRequest {
            stream_id: stream.clone(),
            expected_version: whistle_store::ExpectedVersion::Exact(version),
            events: vec![whistle_domain::Event::FollowUpRecorded {
                case_id,
                observation: serde_json::from_value(json!("旧\u{0}记录")).unwrap(),
                sentiment: whistle_domain::FollowUpSentiment::Steady,
            }],
            metadata: whistle_store::CommandMetadata {
                actor: whistle_domain::Actor::new(
                    whistle_domain::UserId::parse("m1").unwrap(),
                    "李监测",
                    whistle_domain::Role::Monitor,
                    whistle_domain::UnitId::parse("city-cac").unwrap(),
                )
                .unwrap(),
                command_id,
                correlation_id: command_id.as_uuid(),
                causation_id: None,
                recorded_at: app.clock_now(),
                fingerprint: None,
            },
            claims: vec![],
            erases_personal_data_of: None,
        })
        .await
        .unwrap();
    app.wait_until_projected().await;
    let stored: String =
        sqlx::query_scalar("SELECT observation FROM rm_follow_ups WHERE position = $1")
            .bind(old.last_position)
            .fetch_one(app.store().database().pool())
            .await
            .unwrap();
    assert_eq!(stored, "旧\u{FFFD}记录");
    assert_eq!(readyz(&app).await.0, 200);

    // A read model that refuses a row (here a trigger; in life a full disk, a broken
    // index): the projection stops at that event, retries, and readiness says so.
    let pool = app.store().database().pool().clone();
    match backend {
        TestBackend::Sqlite => {
            sqlx::query(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON rm_follow_ups \
                 WHEN NEW.observation = '毒' BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
            )
            .execute(&pool)
            .await
            .unwrap();
        }
        TestBackend::Postgres => {
            sqlx::query(
                "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN IF NEW.observation = '毒' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$",
            )
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON rm_follow_ups \
                 FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
            )
            .execute(&pool)
            .await
            .unwrap();
        }
    }
    let follow_up = "mutation($c: ID!, $o: String!) { recordFollowUp(caseId: $c, observation: $o, sentiment: STEADY) { position } }";
    let poisoned = app
        .ok(&p.monitor, follow_up, json!({ "c": case, "o": "毒" }))
        .await["recordFollowUp"]["position"]
        .as_str()
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap();
    let after = app
        .ok(&p.monitor, follow_up, json!({ "c": case, "o": "之后" }))
        .await["recordFollowUp"]["position"]
        .as_str()
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap();
    let mut degraded = Value::Null;
    for _ in 0..100 {
        let (status, body) = readyz(&app).await;
        if status == 503 && body["status"] == "degraded" {
            degraded = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        degraded["failingProjection"]["position"], poisoned,
        "{degraded:#}"
    );
    assert_eq!(degraded["failingProjection"]["projection"], "case_board");
    assert!(
        degraded["failingProjection"]["error"]
            .as_str()
            .unwrap()
            .contains("poisoned"),
        "{degraded:#}"
    );
    let metrics = scrape_metrics(&app).await;
    assert!(
        metrics.contains("whistle_projection_failures_total{projection=\"case_board\"}"),
        "{metrics}"
    );
    // The fault is mended: the projection moves on by itself and readiness clears.
    let drop_trigger = match backend {
        TestBackend::Sqlite => "DROP TRIGGER refuse_poison",
        TestBackend::Postgres => "DROP TRIGGER refuse_poison ON rm_follow_ups",
    };
    sqlx::query(drop_trigger).execute(&pool).await.unwrap();
    let mut ready = false;
    for _ in 0..400 {
        if readyz(&app).await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "readiness clears once the projection moves on");
    app.ok(
        &p.inspector,
        "query($p: Position) { logPosition(waitForPosition: $p) { head } }",
        json!({ "p": after }),
    )
    .await;
}

async fn scrape_metrics(app: &TestApp) -> String {
    app.client
        .get(format!("{}/metrics", app.address))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn staff_get_their_own_assessment_ranked_among_every_unit(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    // Transport passes the buck once (−2); housing keeps 100.
    let (case, _) = flag(&app, &p.monitor, "https://weibo.com/rank/1", "排名").await;
    triage(&app, &p.dispatcher, &case, "GENERAL").await;
    let assignment = assign(&app, &p.dispatcher, &case, "city-transport", "LEAD").await;
    app.ok(
        &p.transport_officer,
        "mutation($c: ID!, $a: ID!) { returnAssignment(caseId: $c, assignmentId: $a, reason: \"非本单位职责\") { position } }",
        json!({ "c": case, "a": assignment }),
    )
    .await;
    let rejected = app
        .ok(
            &p.dispatcher,
            "mutation($c: ID!, $a: ID!) { rejectReturn(caseId: $c, assignmentId: $a, note: \"属于本单位职责\") { position } }",
            json!({ "c": case, "a": assignment }),
        )
        .await["rejectReturn"]["position"]
        .as_str()
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap();
    let query = "query($p: Position) { annualAssessment(year: 2026, waitForPosition: $p) { unitId rank score gradeLabel deductions { rule points eventId } } }";
    let all = app.ok(&p.evaluator, query, json!({ "p": rejected })).await;
    let everyone = all["annualAssessment"].as_array().unwrap();
    let transport_in_all = everyone
        .iter()
        .find(|a| a["unitId"] == "city-transport")
        .unwrap();
    assert_eq!(transport_in_all["score"], 98);
    let own = app
        .ok(&p.transport_officer, query, json!({ "p": rejected }))
        .await;
    assert_eq!(own["annualAssessment"].as_array().unwrap().len(), 1);
    assert_eq!(
        &own["annualAssessment"][0], transport_in_all,
        "the officer's view is their row of the whole assessment"
    );
    let housing = app
        .ok(&p.housing_head, query, json!({ "p": rejected }))
        .await;
    assert_eq!(housing["annualAssessment"][0]["rank"], 1);
}

async fn a_missed_rectification_counts_as_overdue_but_deducts_nothing(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, _) = flag(&app, &p.monitor, "https://weibo.com/rect/1", "整改超期").await;
    triage(&app, &p.dispatcher, &case, "GENERAL").await;
    let assignment = assign(&app, &p.dispatcher, &case, "city-housing", "LEAD").await;
    accept(&app, &p.housing_officer, &case, &assignment).await;
    let reply = submit_reply(&app, &p.housing_officer, &case, &assignment).await;
    approve(&app, &p.housing_head, &case, &reply).await;
    // Promised for the same day (2026-03-02), then never completed.
    app.ok(
        &p.housing_officer,
        "mutation($c: ID!, $a: ID!) { promiseRectification(caseId: $c, assignmentId: $a, dueDate: \"2026-03-02\", measures: \"当日修复\") { position } }",
        json!({ "c": case, "a": assignment }),
    )
    .await;
    app.clock.advance(chrono::Duration::days(2));
    app.wait_until_projected().await;
    let pass = app.deadlines.run_once().await.unwrap();
    assert_eq!(pass.misses, 1, "the rectification deadline is missed");
    app.wait_until_projected().await;
    let data = app
        .ok(
            &p.evaluator,
            "{ scorecards(from: \"2026-03-01\", to: \"2026-04-01\", unitId: \"city-housing\") { overdueCount } annualAssessment(year: 2026, unitId: \"city-housing\") { score deductions { rule } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["scorecards"][0]["overdueCount"], 1);
    assert_eq!(data["annualAssessment"][0]["score"], 100, "{data:#}");
    assert_eq!(data["annualAssessment"][0]["deductions"], json!([]));
}

async fn every_response_carries_security_headers_and_data_is_not_cached(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let graphql = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Content-Type", "application/json")
        .bearer_auth(&p.dispatcher)
        .body(json!({ "query": "{ me { name } }" }).to_string())
        .send()
        .await
        .unwrap();
    let export = app
        .client
        .get(format!(
            "{}/exports/ledger?from=2026-03-01&to=2026-04-01&format=csv",
            app.address
        ))
        .bearer_auth(&p.evaluator)
        .send()
        .await
        .unwrap();
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    for response in [&graphql, &export, &health] {
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }
}

on_both_backends!(
    deeply_nested_requests_without_a_token_are_refused_and_the_service_stays_up,
    exponential_fragments_and_alias_bombs_are_refused_before_any_work,
    text_that_a_backend_cannot_store_or_that_hides_itself_is_refused_alike,
    a_poisoned_event_is_projected_and_a_failing_projection_is_reported_not_hidden,
    staff_get_their_own_assessment_ranked_among_every_unit,
    a_missed_rectification_counts_as_overdue_but_deducts_nothing,
    every_response_carries_security_headers_and_data_is_not_cached,
);

/// An application with tight limits, on SQLite (the limits are the HTTP layer's).
async fn spawn_limited(limits: whistle_api::ServerLimits) -> TestApp {
    spawn_app_configured(TestDatabase::new(TestBackend::Sqlite).await, |config| {
        config.limits = limits;
    })
    .await
}

/// Wait until the server closes `stream` (a read returns nothing or fails), at most
/// `limit`; whatever it sends before closing (a 408, say) is read and dropped.
async fn closed_by_server(stream: &mut tokio::net::TcpStream, limit: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let read = tokio::time::timeout(limit, async {
        while let Ok(n) = stream.read(&mut buffer).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    read.is_ok()
}

#[tokio::test]
async fn slow_and_half_sent_requests_are_cut_off_and_connections_are_capped() {
    let app = spawn_limited(whistle_api::ServerLimits {
        header_read_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        max_connections: 8,
        ..whistle_api::ServerLimits::default()
    })
    .await;
    let address = format!("127.0.0.1:{}", app.port);
    // A request head that never ends is closed after the header-read timeout.
    let mut slow_head = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow_head
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: whistle\r\nContent-Ty")
        .await
        .unwrap();
    assert!(closed_by_server(&mut slow_head, Duration::from_secs(10)).await);
    // A body that never arrives gets 408 once the request time is up.
    let mut slow_body = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow_body
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: whistle\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"query\":",
        )
        .await
        .unwrap();
    let mut answer = vec![0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(10), slow_body.read(&mut answer))
        .await
        .expect("the server answers a stalled body")
        .unwrap();
    let head = String::from_utf8_lossy(&answer[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    drop(slow_body);
    // Eight connections that send nothing fill the cap; a ninth is closed at once …
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut ninth = tokio::net::TcpStream::connect(&address).await.unwrap();
    assert!(closed_by_server(&mut ninth, Duration::from_secs(1)).await);
    // … and once the idle ones are cut off (header-read timeout), requests answer again.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    still_serving(&app).await;
    drop(idle);
}

#[tokio::test]
async fn requests_over_the_rate_limits_get_429_with_retry_after() {
    let app = spawn_limited(whistle_api::ServerLimits {
        requests_per_second_per_address: 20,
        requests_per_second_per_token: 2,
        ..whistle_api::ServerLimits::default()
    })
    .await;
    register_standard_units(&app).await;
    let busy = app.token("busy", "忙碌", "inspector", "city-discipline");
    let calm = app.token("calm", "从容", "inspector", "city-discipline");
    let mut limited = None;
    for _ in 0..10 {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("Content-Type", "application/json")
            .bearer_auth(&busy)
            .body(json!({ "query": "{ me { name } }" }).to_string())
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("a token over its rate is refused");
    assert!(limited.headers().contains_key("retry-after"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(first_code(&body), "RATE_LIMITED");
    // Another token is not held back by the first one's use.
    let (status, _) = post_raw(
        &app,
        Some(&calm),
        json!({ "query": "{ me { name } }" }).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    // Without a token, the address's rate applies; probes are never limited.
    let mut refused = 0;
    for _ in 0..60 {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("Content-Type", "application/json")
            .body(json!({ "query": "{ vocabularies { name } }" }).to_string())
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            refused += 1;
        }
    }
    assert!(refused > 0, "an address over its rate is refused");
    for _ in 0..50 {
        still_serving(&app).await;
    }
}

#[tokio::test]
async fn readiness_says_so_when_the_sqlite_file_accepts_no_writes() {
    use sqlx::Connection;
    let database = TestDatabase::new(TestBackend::Sqlite).await;
    let url = database.url.clone();
    let app = spawn_app_with(database).await;
    assert_eq!(readyz(&app).await.0, 200);
    // Another process (here another connection) holds the write lock.
    let mut other = sqlx::sqlite::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("accepts no writes"),
        "{body}"
    );
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    assert_eq!(readyz(&app).await.0, 200);
}

#[tokio::test]
async fn operators_scrape_metrics_with_their_token_and_nobody_else_does() {
    let app = spawn_app_on(TestBackend::Sqlite).await;
    let p = standard_city(&app).await;
    flag(&app, &p.monitor, "https://weibo.com/metrics/1", "指标").await;
    let anonymous = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let with_a_person = app
        .client
        .get(format!("{}/metrics", app.address))
        .bearer_auth(&p.inspector)
        .send()
        .await
        .unwrap();
    assert_eq!(with_a_person.status(), 401);
    let scraped = scrape_metrics(&app).await;
    for series in [
        "whistle_http_requests_total",
        "whistle_http_request_duration_seconds_bucket",
        "whistle_graphql_operations_total{operation=\"flagPost\",type=\"mutation\",outcome=\"OK\"}",
        "whistle_commands_total{command=\"flag_post\",outcome=\"accepted\"}",
        "whistle_appender_group_size",
        "whistle_db_pool_connections",
    ] {
        assert!(
            scraped.contains(series),
            "{series} missing from:\n{scraped}"
        );
    }
}

#[tokio::test]
async fn the_database_password_never_reaches_the_logs() {
    // A server that cannot be reached: the error names the URL without its password.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_whistle-under-test"))
        .args([
            "migrate",
            "--database-url",
            "postgres://postgres:TopSecretPw123@127.0.0.1:1/whistle",
        ])
        .env("RUST_LOG", "debug")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!printed.contains("TopSecretPw123"), "{printed}");
    // A service that connects (the suite's server trusts loopback, so any password
    // works): its whole log stays free of it.
    let database = TestDatabase::new(TestBackend::Postgres).await;
    let with_password = match database.url.split_once('@') {
        Some((user, rest)) if !user.contains("TopSecret") => {
            format!("{user}:TopSecretPw123@{rest}")
        }
        _ => panic!("the suite's URL names a user: {}", database.url),
    };
    assert!(with_password.contains("TopSecretPw123"), "{with_password}");
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_whistle-under-test"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &with_password,
        ])
        .env("RUST_LOG", "debug")
        .env("WHISTLE_JWT_SECRET", TEST_SECRET)
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut text = String::new();
    for _ in 0..100 {
        text = std::fs::read_to_string(log.path()).unwrap();
        if text.contains("Whistle is serving") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().await.unwrap();
    assert!(text.contains("Whistle is serving"), "{text}");
    assert!(!text.contains("TopSecretPw123"), "{text}");
}
