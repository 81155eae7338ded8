//! Who may do and read what (docs/domain/people.md), and bad input, over real HTTP: every
//! refusal carries its code, and a refused request changes nothing.

use serde_json::json;

use crate::helpers::*;

async fn requests_without_a_valid_token_are_unauthenticated(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let (code, message) = app.error_code("", "{ me { name } }", json!({})).await;
    assert_eq!(code, "UNAUTHENTICATED");
    assert!(message.contains("Bearer"), "{message}");
    let forged = whistle_api::auth::issue_token(
        &whistle_api::auth::JwtSecret::new("some-other-secret-entirely".into()).unwrap(),
        "x",
        "x",
        "admin",
        "city-cac",
        chrono::Utc::now(),
        chrono::Duration::hours(1),
    )
    .unwrap();
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(forged)
        .header("Content-Type", "application/json")
        .body(json!({ "query": "{ me { name } }" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

async fn each_role_is_refused_what_it_may_not_do_and_nothing_is_written(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, _) = flag(&app, &p.monitor, "https://weibo.com/roles", "角色").await;
    let head = app.head().await;
    let checks: Vec<(&str, &str, serde_json::Value)> = vec![
        (
            &p.dispatcher,
            "mutation { flagPost(post: { platform: WEIBO, url: \"https://weibo.com/roles2\", title: \"x\" }) { position } }",
            json!({}),
        ),
        (
            &p.monitor,
            "mutation($c: ID!) { triageCase(caseId: $c, level: GENERAL, problemClass: \"x\") { position } }",
            json!({ "c": case }),
        ),
        (
            &p.housing_officer,
            "mutation($c: ID!) { closeCase(caseId: $c, outcome: \"x\") { position } }",
            json!({ "c": case }),
        ),
        (
            &p.dispatcher,
            "mutation { registerUnit(unitId: \"new-unit\", name: \"新单位\", kind: DEPARTMENT) { position } }",
            json!({}),
        ),
        (
            &p.housing_officer,
            "mutation { applyPenalty(unitId: \"city-housing\", kind: POINT_DEDUCTION, points: 2, reason: \"x\", periodFrom: \"2026-01-01\", periodTo: \"2027-01-01\") { position } }",
            json!({}),
        ),
        (
            &p.inspector,
            "mutation { awardCommendation(unitId: \"city-housing\", points: 2, reason: \"x\", periodFrom: \"2026-01-01\", periodTo: \"2027-01-01\") { position } }",
            json!({}),
        ),
        (
            &p.evaluator,
            "mutation { recordDisciplinaryDecision(unitId: \"city-housing\", year: 2026, accountabilityId: \"0190a3c4-0000-7000-8000-000000000000\", person: \"某某\", decision: \"警告\") { position } }",
            json!({}),
        ),
    ];
    for (token, query, variables) in checks {
        let (code, message) = app.error_code(token, query, variables).await;
        assert_eq!(code, "FORBIDDEN", "{query}: {message}");
    }
    assert_eq!(app.head().await, head, "refused commands wrote nothing");
    // Reads are scoped too.
    let (code, _) = app
        .error_code(
            &p.housing_officer,
            "{ dashboard { totalCases } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) = app
        .error_code(
            &p.housing_officer,
            "{ auditTrail { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) = app
        .error_code(
            &p.housing_officer,
            "{ inbox(unitId: \"city-transport\") { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
}

async fn unit_staff_act_and_read_only_within_their_own_unit(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, _) = flag(&app, &p.monitor, "https://weibo.com/scope", "范围").await;
    triage(&app, &p.dispatcher, &case, "GENERAL").await;
    let (other_case, _) = flag(
        &app,
        &p.monitor,
        "https://weibo.com/scope-other",
        "别的事项",
    )
    .await;
    let assignment = assign(&app, &p.dispatcher, &case, "city-housing", "LEAD").await;
    let head = app.head().await;

    // Another unit's officer cannot sign for it; another unit's head cannot approve.
    let (code, message) = app
        .error_code(&p.transport_officer, "mutation($c: ID!, $a: ID!) { acceptAssignment(caseId: $c, assignmentId: $a) { position } }", json!({ "c": case, "a": assignment }))
        .await;
    assert_eq!(code, "FORBIDDEN");
    assert!(message.contains("city-housing"), "{message}");
    assert_eq!(app.head().await, head);
    accept(&app, &p.housing_officer, &case, &assignment).await;
    let reply = submit_reply(&app, &p.housing_officer, &case, &assignment).await;
    let (code, _) = app
        .error_code(
            &p.transport_head,
            "mutation($c: ID!, $r: ID!) { approveReply(caseId: $c, replyId: $r) { position } }",
            json!({ "c": case, "r": reply }),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");

    // Officers see only cases assigned to their unit, and never post authors. Reads wait
    // for the read models to include every write so far, as clients do.
    let head = app.head().await;
    let listed = app
        .ok(
            &p.housing_officer,
            "query($p: Position) { cases(waitForPosition: $p) { edges { node { caseId } } } }",
            json!({ "p": head }),
        )
        .await;
    let ids: Vec<&str> = listed["cases"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["caseId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![case.as_str()]);
    let (code, _) = app
        .error_code(
            &p.housing_officer,
            "query($c: ID!) { case(id: $c) { id } }",
            json!({ "c": other_case }),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    let (code, message) = app
        .error_code(
            &p.housing_officer,
            "query($c: ID!) { case(id: $c) { posts { author } } }",
            json!({ "c": case }),
        )
        .await;
    assert_eq!(code, "FORBIDDEN", "{message}");
    let seen = app
        .ok(
            &p.dispatcher,
            "query($c: ID!) { case(id: $c) { posts { author } } }",
            json!({ "c": case }),
        )
        .await;
    assert_eq!(seen["case"]["posts"][0]["author"], "网友甲");
    let inbox = app
        .ok(
            &p.housing_officer,
            "query($p: Position) { inbox(waitForPosition: $p) { edges { node { assignmentId statusLabel caseTitle } } } }",
            json!({ "p": head }),
        )
        .await;
    assert_eq!(
        inbox["inbox"]["edges"][0]["node"]["assignmentId"],
        assignment.as_str()
    );
    assert_eq!(inbox["inbox"]["edges"][0]["node"]["statusLabel"], "办理中");
}

async fn bad_input_gets_a_clear_validation_error_and_changes_nothing(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, _) = flag(&app, &p.monitor, "https://weibo.com/bad", "坏输入").await;
    triage(&app, &p.dispatcher, &case, "GENERAL").await;
    let assignment = assign(&app, &p.dispatcher, &case, "city-housing", "LEAD").await;
    let head = app.head().await;
    let checks: Vec<(&str, &str, serde_json::Value, &str)> = vec![
        (
            &p.housing_officer,
            "mutation($c: ID!, $a: ID!) { returnAssignment(caseId: $c, assignmentId: $a, reason: \"   \") { position } }",
            json!({ "c": case, "a": assignment }),
            "reason",
        ),
        (
            &p.monitor,
            "mutation { flagPost(post: { platform: WEIBO, url: \"not a url\", title: \"x\" }) { position } }",
            json!({}),
            "url",
        ),
        (
            &p.monitor,
            "mutation { flagPost(post: { platform: WEIBO, url: \"https://weibo.com/ok\", title: \"\" }) { position } }",
            json!({}),
            "title",
        ),
        (
            &p.dispatcher,
            "mutation { triageCase(caseId: \"nope\", level: GENERAL, problemClass: \"x\") { position } }",
            json!({}),
            "caseId",
        ),
        (
            &p.dispatcher,
            "mutation($c: ID!) { assignCase(caseId: $c, unitId: \"Bad Unit\", role: LEAD) { position } }",
            json!({ "c": case }),
            "unitId",
        ),
        (
            &p.evaluator,
            "{ scorecards(from: \"2026-04-01\", to: \"2026-03-01\") { unitId } }",
            json!({}),
            "empty",
        ),
    ];
    for (token, query, variables, mentions) in checks {
        let (code, message) = app.error_code(token, query, variables).await;
        assert_eq!(code, "VALIDATION", "{query}: {message}");
        assert!(
            message.contains(mentions),
            "`{message}` should mention `{mentions}`"
        );
    }
    // Domain refusals say why, and write nothing either.
    let (code, reason, message) = app
        .refusal(&p.housing_officer, "mutation($c: ID!, $a: ID!) { submitReply(caseId: $c, assignmentId: $a, content: \"已处理\") { position } }", json!({ "c": case, "a": assignment }))
        .await;
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("DOMAIN_RULE", "not_yet_accepted")
    );
    assert!(
        message.contains("请先签收"),
        "the refusal says what to do first: {message}"
    );
    let (code, _) = app
        .error_code(&p.dispatcher, "mutation($c: ID!) { assignCase(caseId: $c, unitId: \"no-such-unit\", role: CO_HANDLER) { position } }", json!({ "c": case }))
        .await;
    assert_eq!(code, "NOT_FOUND");
    let (code, message) = app
        .error_code(&p.monitor, "mutation { flagPost(post: { platform: WEIBO, url: \"HTTPS://WEIBO.COM/bad#again\", title: \"同一帖文\" }) { position } }", json!({}))
        .await;
    assert_eq!(code, "DOMAIN_RULE");
    assert!(message.contains(&case), "{message}");
    assert_eq!(app.head().await, head, "nothing was written");
}

on_both_backends!(
    requests_without_a_valid_token_are_unauthenticated,
    each_role_is_refused_what_it_may_not_do_and_nothing_is_written,
    unit_staff_act_and_read_only_within_their_own_unit,
    bad_input_gets_a_clear_validation_error_and_changes_nothing,
);
