//! Who is who, and whose data (docs/domain/trust.md): a post author's identity on every
//! read path for every role, command ids bound to their first command, tokens bound to
//! registered units and the roles their kind holds, strict token times, administrators
//! kept to units and settings, and assessment commands naming only cases that exist.

use serde_json::{Value, json};

use crate::helpers::*;

/// The author every case in these tests was flagged with (see `flag`).
const AUTHOR: &str = "网友甲";

/// A token with exactly these claims, signed with the test secret.
fn forged(claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap()
}

fn claims(sub: &str, role: &str, unit: &str, iat: i64, exp: i64) -> Value {
    json!({ "sub": sub, "name": "某人", "role": role, "unit": unit, "iat": iat, "exp": exp })
}

async fn an_authors_identity_is_shown_only_where_the_rules_allow_on_every_read_path(
    backend: TestBackend,
) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, flagged_at) = flag(&app, &p.monitor, "https://weibo.com/who", "路面塌陷").await;
    triage(&app, &p.dispatcher, &case, "GENERAL").await;
    assign(&app, &p.dispatcher, &case, "city-housing", "LEAD").await;
    // The police see the cases assigned or referred to them.
    assign(&app, &p.dispatcher, &case, "city-police", "CO_HANDLER").await;
    let head = app.head().await;
    let as_of = app.clock_now().to_rfc3339();
    let roles: Vec<(&str, &str, bool)> = vec![
        ("monitor", &p.monitor, true),
        ("dispatcher", &p.dispatcher, true),
        ("police", &p.police, true),
        ("inspector", &p.inspector, true),
        ("officer", &p.housing_officer, false),
        ("unit_head", &p.housing_head, false),
        ("leader", &p.leader, false),
        ("supervisor", &p.supervisor, false),
        ("evaluator", &p.evaluator, false),
        ("admin", &p.admin, false),
    ];
    // Every path that can carry a post's author: the typed field, the raw payloads of
    // the case's timeline (live and as of an instant), the audit trail, the case list.
    let paths: Vec<(&str, String)> = vec![
        (
            "case.posts.author",
            "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { posts { author } } }"
                .to_owned(),
        ),
        (
            "caseTimeline.data",
            "query($c: ID!, $p: Position) { caseTimeline(caseId: $c, waitForPosition: $p) { edges { node { eventType data } } } }"
                .to_owned(),
        ),
        (
            "case.timeline.data",
            "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { timeline { edges { node { data } } } } }"
                .to_owned(),
        ),
        (
            "case(asOf).timeline.data",
            format!("query($c: ID!, $p: Position) {{ case(id: $c, waitForPosition: $p, asOf: \"{as_of}\") {{ timeline {{ edges {{ node {{ data }} }} }} }} }}"),
        ),
        (
            "auditTrail.data",
            "query($c: ID!, $p: Position) { auditTrail(filter: { caseId: $c }, waitForPosition: $p) { edges { node { data } } } }"
                .to_owned(),
        ),
        (
            "cases.posts.author",
            "query($p: Position) { cases(first: 50, waitForPosition: $p) { edges { node { posts { author } } } } }"
                .to_owned(),
        ),
    ];
    let mut shown_somewhere = std::collections::BTreeSet::new();
    for (role, token, may_see) in &roles {
        for (path, query) in &paths {
            let response = app
                .graphql(token, query, json!({ "c": case, "p": head }))
                .await;
            let text = response.to_string();
            if *may_see {
                if response.get("errors").is_none() {
                    assert!(text.contains(AUTHOR), "{role} reads {path}: {text}");
                    shown_somewhere.insert(*role);
                }
            } else {
                assert!(
                    !text.contains(AUTHOR),
                    "{role} must not see the author through {path}: {text}"
                );
            }
        }
        // A withheld author reads as withheld in the raw payload, not as missing.
        if !*may_see && *role != "admin" {
            let response = app
                .graphql(token, &paths[1].1, json!({ "c": case, "p": head }))
                .await;
            if response.get("errors").is_none() {
                let flagged = response["data"]["caseTimeline"]["edges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|edge| edge["node"]["eventType"] == "PostFlagged")
                    .unwrap_or_else(|| panic!("{role} sees the flag: {response}"));
                assert_eq!(flagged["node"]["data"]["post"]["author"], "已隐藏");
            }
        }
    }
    // Each role that may see authors did see one (the test can fail both ways).
    assert_eq!(
        shown_somewhere.into_iter().collect::<Vec<_>>(),
        vec!["dispatcher", "inspector", "monitor", "police"]
    );
    // The ledger export carries no author at all.
    let ledger = app
        .client
        .get(format!(
            "{}/exports/ledger?from=2026-01-01&to=2027-01-01&format=csv",
            app.address
        ))
        .bearer_auth(&p.inspector)
        .send()
        .await
        .unwrap();
    assert_eq!(ledger.status(), 200);
    assert!(!ledger.text().await.unwrap().contains(AUTHOR));
    let _ = flagged_at;

    // Every look was recorded, on the case's access stream (the case itself unchanged),
    // and inspectors can ask who looked.
    let version_before: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_id = $1",
    )
    .bind(format!("case-{case}"))
    .fetch_one(app.store().database().pool())
    .await
    .unwrap();
    let looks = app
        .ok(
            &p.inspector,
            "query($c: ID!, $p: Position) { personalDataAccess(caseId: $c, first: 200, waitForPosition: $p) { edges { node { actorId eventType summary data } } } }",
            json!({ "c": case, "p": app.head().await }),
        )
        .await;
    let looks = looks["personalDataAccess"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    let lookers: std::collections::BTreeSet<String> = looks
        .iter()
        .map(|edge| edge["node"]["actorId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        lookers.into_iter().collect::<Vec<_>>(),
        vec!["d1", "i1", "m1", "p1"],
        "{looks:#?}"
    );
    let paths: std::collections::BTreeSet<String> = looks
        .iter()
        .flat_map(|edge| {
            edge["node"]["data"]["path"]
                .as_str()
                .unwrap()
                .split(", ")
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    for path in ["Post.author", "caseTimeline", "Case.timeline", "auditTrail"] {
        assert!(paths.contains(path), "{path} in {paths:?}");
    }
    for edge in &looks {
        assert_eq!(edge["node"]["eventType"], "PersonalDataViewed");
        assert_eq!(edge["node"]["data"]["fields"], json!(["post.author"]));
        assert!(!edge.to_string().contains(AUTHOR), "{edge}");
        assert!(
            edge["node"]["summary"]
                .as_str()
                .unwrap()
                .contains("帖文作者身份")
        );
    }
    let version_after: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_id = $1",
    )
    .bind(format!("case-{case}"))
    .fetch_one(app.store().database().pool())
    .await
    .unwrap();
    assert_eq!(version_before, version_after);
    // Only inspectors read the record of looks.
    let (code, _) = app
        .error_code(
            &p.dispatcher,
            "query($c: ID!) { personalDataAccess(caseId: $c) { edges { node { actorId } } } }",
            json!({ "c": case }),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
}

async fn a_command_id_is_bound_to_the_command_it_was_first_used_for(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (other_case, _) = flag(&app, &p.monitor, "https://weibo.com/other", "其他事项").await;
    let key = uuid::Uuid::now_v7().to_string();
    let flag_with_key = "mutation($k: ID!) { flagPost(post: { platform: WEIBO, url: \"https://weibo.com/keyed\", title: \"幂等\", author: \"网友乙\" }, commandId: $k) { caseId position replayed } }";
    let first = app.ok(&p.monitor, flag_with_key, json!({ "k": key })).await;
    let head = app.head().await;

    // An officer of another unit sending the monitor's key for another command learns
    // nothing of the monitor's case, and nothing is written.
    let response = app
        .graphql(
            &p.transport_officer,
            "mutation($c: ID!, $k: ID!) { closeCase(caseId: $c, outcome: \"结案\", commandId: $k) { caseId position replayed } }",
            json!({ "c": other_case, "k": key }),
        )
        .await;
    let error = &response["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "COMMAND_ID_REUSED",
        "{response}"
    );
    let text = response.to_string();
    assert!(
        !text.contains(first["flagPost"]["caseId"].as_str().unwrap()),
        "{text}"
    );
    // An administrator's registration with the key registers nothing and says so.
    let (code, _) = app
        .error_code(
            &p.admin,
            "mutation($k: ID!) { registerUnit(unitId: \"city-keyed\", name: \"借号单位\", kind: DEPARTMENT, commandId: $k) { position replayed } }",
            json!({ "k": key }),
        )
        .await;
    assert_eq!(code, "COMMAND_ID_REUSED");
    // The same monitor with other arguments is refused too.
    let (code, message) = app
        .error_code(
            &p.monitor,
            "mutation($k: ID!) { flagPost(post: { platform: WEIBO, url: \"https://weibo.com/keyed-2\", title: \"另一帖\" }, commandId: $k) { caseId } }",
            json!({ "k": key }),
        )
        .await;
    assert_eq!(code, "COMMAND_ID_REUSED", "{message}");
    assert!(message.contains("retry"), "{message}");
    assert_eq!(app.head().await, head);
    // The monitor's own retry of the very same request is the first answer.
    let again = app.ok(&p.monitor, flag_with_key, json!({ "k": key })).await;
    assert_eq!(again["flagPost"]["caseId"], first["flagPost"]["caseId"]);
    assert_eq!(again["flagPost"]["position"], first["flagPost"]["position"]);
    assert_eq!(again["flagPost"]["replayed"], true);
    assert_eq!(app.head().await, head);
}

async fn tokens_are_bound_to_registered_units_and_the_roles_their_kind_holds(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    // Before any unit exists only the first administrator is admitted.
    let officer_too_early = app.token("o1", "张经办", "officer", "city-housing");
    let (status, body) = me(&app, &officer_too_early).await;
    assert_eq!(status, 401, "{body}");
    let p = standard_city(&app).await;
    let (status, _) = me(&app, &p.housing_officer).await;
    assert_eq!(status, 200);
    let head = app.head().await;
    let refused: Vec<(String, &str)> = vec![
        (
            app.token("x1", "某人", "monitor", "no-such-unit"),
            "not registered",
        ),
        (
            app.token("x2", "某人", "dispatcher", "city-housing"),
            "holds only",
        ),
        (
            app.token("x3", "某人", "monitor", "city-housing"),
            "holds only",
        ),
        (
            app.token("x4", "某人", "inspector", "city-cac"),
            "holds only",
        ),
        (
            app.token("x5", "某人", "leader", "city-police"),
            "holds only",
        ),
    ];
    for (token, expected) in &refused {
        let (status, body) = me(&app, token).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
        // Nor can it write.
        let response = app
            .graphql(
                token,
                "mutation { flagPost(post: { platform: WEIBO, url: \"https://weibo.com/intruder\", title: \"x\" }) { position } }",
                json!({}),
            )
            .await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"],
            "UNAUTHENTICATED"
        );
    }
    assert_eq!(app.head().await, head);
    // `system` is the service's own actor; no token may claim it.
    let now = chrono::Utc::now().timestamp();
    let (status, body) = me(
        &app,
        &forged(claims("system", "monitor", "city-cac", now, now + 600)),
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.to_string().contains("reserved"), "{body}");
    // A deactivated unit's people are no longer admitted.
    app.ok(
        &p.admin,
        "mutation { deactivateUnit(unitId: \"city-transport\", reason: \"机构改革\") { position } }",
        json!({}),
    )
    .await;
    let (status, body) = me(&app, &p.transport_officer).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.to_string().contains("deactivated"), "{body}");
}

async fn token_times_are_checked_strictly(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let _people = standard_city(&app).await;
    let now = chrono::Utc::now().timestamp();
    let token = |iat: i64, exp: i64, nbf: Option<i64>| {
        let mut c = claims("i9", "inspector", "city-discipline", iat, exp);
        if let Some(nbf) = nbf {
            c["nbf"] = json!(nbf);
        }
        forged(c)
    };
    let cases: Vec<(&str, String, u16)> = vec![
        ("valid", token(now - 60, now + 600, None), 200),
        ("expired 30 s ago", token(now - 600, now - 30, None), 401),
        (
            "expired 2 s ago (leeway)",
            token(now - 600, now - 2, None),
            200,
        ),
        ("not valid yet", token(now, now + 600, Some(now + 120)), 401),
        (
            "issued in the future",
            token(now + 120, now + 600, None),
            401,
        ),
        ("valid until 2100", token(now, 4_102_444_800, None), 401),
        ("37 hours", token(now, now + 37 * 3600, None), 401),
    ];
    for (what, token, expected) in cases {
        let (status, body) = me(&app, &token).await;
        assert_eq!(status, expected, "{what}: {body}");
    }
    // Without `iat` a token's lifetime cannot be known: refused.
    let (status, _) = me(
        &app,
        &forged(json!({ "sub": "i9", "name": "某人", "role": "inspector", "unit": "city-discipline", "exp": now + 600 })),
    )
    .await;
    assert_eq!(status, 401);
}

async fn administrators_read_units_and_settings_only(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, position) = flag(&app, &p.monitor, "https://weibo.com/admin-read", "管理员").await;
    let reads = [
        (
            "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { id } }",
            json!({ "c": case, "p": position }),
        ),
        (
            "query($p: Position) { cases(waitForPosition: $p) { edges { node { id } } } }",
            json!({ "p": position }),
        ),
        (
            "query($c: ID!) { caseTimeline(caseId: $c) { edges { node { data } } } }",
            json!({ "c": case }),
        ),
        ("{ dashboard { openCases } }", json!({})),
        ("{ inbox { edges { node { caseId } } } }", json!({})),
        (
            "{ scorecards(from: \"2026-01-01\", to: \"2027-01-01\") { unitId } }",
            json!({}),
        ),
        ("{ annualAssessment(year: 2026) { unitId } }", json!({})),
        ("{ auditTrail { edges { node { data } } } }", json!({})),
    ];
    for (query, variables) in reads {
        let (code, message) = app.error_code(&p.admin, query, variables).await;
        assert_eq!(code, "FORBIDDEN", "{query}: {message}");
    }
    let units = app
        .ok(
            &p.admin,
            "query($p: Position) { units(waitForPosition: $p) { id kind } }",
            json!({ "p": app.head().await }),
        )
        .await;
    assert_eq!(units["units"].as_array().unwrap().len(), UNITS.len());
    let ledger = app
        .client
        .get(format!(
            "{}/exports/ledger?from=2026-01-01&to=2027-01-01&format=csv",
            app.address
        ))
        .bearer_auth(&p.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(ledger.status(), 403);
}

async fn a_penalty_names_only_cases_that_exist_and_a_bounded_number_of_them(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, _) = flag(&app, &p.monitor, "https://weibo.com/penalty", "问责").await;
    let head = app.head().await;
    let penalty = "mutation($ids: [ID!]!) { applyPenalty(unitId: \"city-housing\", kind: POINT_DEDUCTION, points: 2, reason: \"迟报\", periodFrom: \"2026-01-01\", periodTo: \"2027-01-01\", caseIds: $ids) { position } }";
    let unknown = "0190a3c4-0000-7000-8000-00000000dead";
    let (code, reason, message) = app
        .refusal(&p.evaluator, penalty, json!({ "ids": [case, unknown] }))
        .await;
    assert_eq!(code, "NOT_FOUND", "{message}");
    assert_eq!(reason, "cases_not_found");
    assert!(message.contains(unknown), "{message}");
    assert!(!message.contains(&case), "{message}");
    let many: Vec<String> = (0..20_000)
        .map(|n| format!("0190a3c4-0000-7000-8000-{n:012x}"))
        .collect();
    let (code, message) = app
        .error_code(&p.evaluator, penalty, json!({ "ids": many }))
        .await;
    assert_eq!(code, "VALIDATION", "{message}");
    assert!(message.contains("at most 100"), "{message}");
    assert_eq!(app.head().await, head);
    app.ok(&p.evaluator, penalty, json!({ "ids": [case, case] }))
        .await;
    let recorded: String = sqlx::query_scalar(
        "SELECT payload FROM events WHERE event_type = 'PenaltyApplied' ORDER BY position DESC LIMIT 1",
    )
    .fetch_one(app.store().database().pool())
    .await
    .unwrap();
    let recorded: Value = serde_json::from_str(&recorded).unwrap();
    assert_eq!(recorded["case_ids"], json!([case]));
    // Key categories are a set: 10,000 repetitions are recorded once each.
    let many: Vec<&str> = std::iter::repeat_n(["PUBLIC_INTEREST", "MORAL_BOTTOM_LINE"], 5_000)
        .flatten()
        .collect();
    app.ok(
        &p.dispatcher,
        "mutation($c: ID!, $k: [KeyCategory!]!) { triageCase(caseId: $c, level: GENERAL, categories: $k, problemClass: \"x\") { position } }",
        json!({ "c": case, "k": many }),
    )
    .await;
    let triaged: String = sqlx::query_scalar(
        "SELECT payload FROM events WHERE event_type = 'CaseTriaged' ORDER BY position DESC LIMIT 1",
    )
    .fetch_one(app.store().database().pool())
    .await
    .unwrap();
    let triaged: Value = serde_json::from_str(&triaged).unwrap();
    assert_eq!(
        triaged["categories"],
        json!(["public_interest", "moral_bottom_line"])
    );
}

on_both_backends!(
    token_times_are_checked_strictly,
    an_authors_identity_is_shown_only_where_the_rules_allow_on_every_read_path,
    a_command_id_is_bound_to_the_command_it_was_first_used_for,
    tokens_are_bound_to_registered_units_and_the_roles_their_kind_holds,
    administrators_read_units_and_settings_only,
    a_penalty_names_only_cases_that_exist_and_a_bounded_number_of_them,
);

/// With a retention period in the rules, the system erases a closed case's personal data
/// once the period has run out — once, and only for cases closed long enough ago.
async fn the_retention_period_erases_personal_data_of_cases_closed_long_ago(backend: TestBackend) {
    let database = TestDatabase::new(backend).await;
    let app = spawn_app_configured(database, |config| {
        config.app.rules.privacy.retention_days_after_close = Some(30);
    })
    .await;
    let p = standard_city(&app).await;
    let (closed, _) = flag(&app, &p.monitor, "https://weibo.com/retained", "已办结").await;
    let (open, _) = flag(&app, &p.monitor, "https://weibo.com/still-open", "办理中").await;
    triage(&app, &p.dispatcher, &closed, "GENERAL").await;
    let lead = assign(&app, &p.dispatcher, &closed, "city-housing", "LEAD").await;
    accept(&app, &p.housing_officer, &closed, &lead).await;
    let reply = submit_reply(&app, &p.housing_officer, &closed, &lead).await;
    approve(&app, &p.housing_head, &closed, &reply).await;
    complete(&app, &p.housing_officer, &closed, &lead).await;
    app.ok(
        &p.dispatcher,
        "mutation($c: ID!) { closeCase(caseId: $c, outcome: \"已解决\") { position } }",
        json!({ "c": closed }),
    )
    .await;
    app.wait_until_projected().await;
    let author = |case: String| {
        let (app, token) = (&app, p.inspector.clone());
        async move {
            let data = app
                .ok(
                    &token,
                    "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { posts { author } } }",
                    json!({ "c": case, "p": app.head().await }),
                )
                .await;
            data["case"]["posts"][0]["author"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    // Within the period nothing is erased.
    app.clock.advance(chrono::Duration::days(29));
    assert_eq!(app.deadlines.run_once().await.unwrap().erased, 0);
    assert_eq!(author(closed.clone()).await, AUTHOR);
    // After it, the closed case's author is erased by the system; the open case keeps
    // its author; a second pass erases nothing more.
    app.clock.advance(chrono::Duration::days(2));
    assert_eq!(app.deadlines.run_once().await.unwrap().erased, 1);
    app.wait_until_projected().await;
    assert_eq!(app.deadlines.run_once().await.unwrap().erased, 0);
    assert_eq!(author(closed.clone()).await, "已删除");
    assert_eq!(author(open.clone()).await, AUTHOR);
    let erased: (String, String) = sqlx::query_as(
        "SELECT actor_id, payload FROM events WHERE event_type = 'PersonalDataErased'",
    )
    .fetch_one(app.store().database().pool())
    .await
    .unwrap();
    assert_eq!(erased.0, "system");
    assert!(erased.1.contains("保存期满"), "{}", erased.1);
}

on_both_backends!(the_retention_period_erases_personal_data_of_cases_closed_long_ago);
