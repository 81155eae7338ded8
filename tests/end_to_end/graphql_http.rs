//! The `/graphql` endpoint follows the GraphQL-over-HTTP spec, and the service's other
//! HTTP surfaces answer.

use serde_json::json;

use crate::helpers::*;

async fn the_endpoint_negotiates_media_types_and_refuses_what_the_spec_refuses(
    backend: TestBackend,
) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let url = format!("{}/graphql", app.address);
    let post = |accept: &'static str, content_type: &'static str, body: String| {
        app.client
            .post(&url)
            .header("Accept", accept)
            .header("Content-Type", content_type)
            .bearer_auth(&p.dispatcher)
            .body(body)
    };
    // application/json is answered as application/json.
    let response = post(
        "application/json",
        "application/json",
        json!({ "query": "{ me { name } }" }).to_string(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    // graphql-response+json is answered as such; a request error is a 400 there.
    let response = post(
        "application/graphql-response+json",
        "application/json",
        json!({ "query": "{ me { name } }" }).to_string(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/graphql-response+json"
    );
    let response = post(
        "application/graphql-response+json",
        "application/json",
        json!({ "query": "{ noSuchField }" }).to_string(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 400);
    let response = post(
        "application/graphql-response+json",
        "application/json",
        json!({ "query": "{ me { " }).to_string(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 400);
    // A body that is not JSON: 415 for the wrong media type, 400 for malformed JSON.
    let response = post("application/json", "text/plain", "{ me { name } }".into())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let response = post("application/json", "application/json", "{not json".into())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // Nothing acceptable: 406.
    let response = post(
        "text/csv",
        "application/json",
        json!({ "query": "{ me { name } }" }).to_string(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 406);
    // Queries over GET work; mutations over GET are 405 with Allow: POST.
    let response = app
        .client
        .get(&url)
        .query(&[("query", "{ me { name } }")])
        .bearer_auth(&p.dispatcher)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["data"]["me"]["name"], "王研判");
    let head = app.head().await;
    let response = app
        .client
        .get(&url)
        .query(&[(
            "query",
            "mutation { closeCase(caseId: \"x\", outcome: \"y\") { position } }",
        )])
        .bearer_auth(&p.dispatcher)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(app.head().await, head);
}

async fn graphiql_health_readiness_and_vocabularies_answer(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let page = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    let (_, ready) = readyz(&app).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["rebuilding"], json!([]), "{ready}");
    let rebuilding = app
        .ok(
            &p.monitor,
            "{ logPosition { rebuilding { projection reached head } } }",
            json!({}),
        )
        .await;
    assert_eq!(rebuilding["logPosition"]["rebuilding"], json!([]));
    let vocabularies = app
        .ok(
            &p.monitor,
            "{ vocabularies { name values { value key label } } }",
            json!({}),
        )
        .await;
    let level = vocabularies["vocabularies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "Level")
        .unwrap();
    assert_eq!(
        level["values"][3],
        json!({ "value": "EXTRAORDINARY", "key": "extraordinary", "label": "特别重大" })
    );
}

async fn oversized_bodies_deep_queries_and_huge_pages_are_refused(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let big = "x".repeat(whistle_api::server::MAX_BODY_BYTES + 10);
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Content-Type", "application/json")
        .bearer_auth(&p.monitor)
        .body(json!({ "query": "{ me { name } }", "variables": { "pad": big } }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let deep = "{ cases(first: 5) { edges { node { timeline(first: 20) { edges { node { data } } } } } } }".to_owned();
    // 13 levels of selection of the schema's fields: deeper than the limit of 12 …
    let nested = format!("{{ {}id{} }}", "cases { ".repeat(12), " }".repeat(12));
    let response = app.graphql(&p.monitor, &nested, json!({})).await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
        "{response:#}"
    );
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("selections nest 13 deep"),
        "{response:#}"
    );
    // … while introspection, whose standard queries reach 13 with their `ofType` chains,
    // is bounded at 24.
    let introspection = |levels: usize| {
        format!(
            "{{ __schema {{ types {{ fields {{ type {{ {}name{} }} }} }} }} }}",
            "ofType { ".repeat(levels),
            " }".repeat(levels)
        )
    };
    let answered = app.graphql(&p.monitor, &introspection(9), json!({})).await;
    assert!(answered.get("errors").is_none(), "{answered:#}");
    let response = app.graphql(&p.monitor, &introspection(21), json!({})).await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
        "{response:#}"
    );
    let response = app.graphql(&p.monitor, &deep, json!({})).await;
    assert!(
        response.get("errors").is_none(),
        "a reasonable query passes: {response:#}"
    );
    let (code, _) = app
        .error_code(
            &p.monitor,
            "{ cases(first: 5000) { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "VALIDATION");
}

async fn reports_download_over_http_for_authorised_users_only(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, _) = flag(&app, &p.monitor, "https://weibo.com/report/1", "报表事项").await;
    triage(&app, &p.dispatcher, &case, "GENERAL").await;
    assign(&app, &p.dispatcher, &case, "city-housing", "LEAD").await;
    let head = app.head().await;
    app.ok(
        &p.evaluator,
        "query($p: Position) { logPosition(waitForPosition: $p) { head } }",
        json!({ "p": head }),
    )
    .await;
    let get = |path: &str, token: Option<&str>| {
        let mut request = app.client.get(format!("{}{path}", app.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let csv = get(
        "/exports/ledger?from=2026-03-01&to=2026-04-01&format=csv",
        Some(&p.evaluator),
    )
    .await
    .unwrap();
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("ledger-2026-03-01-2026-04-01.csv")
    );
    let body = csv.bytes().await.unwrap();
    let text = String::from_utf8(body[3..].to_vec()).unwrap();
    assert!(text.lines().nth(1).unwrap().contains("报表事项"), "{text}");
    let xlsx = get(
        "/exports/assessment?year=2026&format=xlsx",
        Some(&p.inspector),
    )
    .await
    .unwrap();
    assert_eq!(xlsx.status(), 200);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    let bulletin = get("/exports/bulletin?week=2026-W10", Some(&p.leader))
        .await
        .unwrap();
    assert_eq!(bulletin.status(), 200);
    assert!(bulletin.text().await.unwrap().contains("本周吹哨 1 件"));
    assert_eq!(
        get(
            "/exports/scorecards?from=2026-03-01&to=2026-04-01&format=csv",
            None
        )
        .await
        .unwrap()
        .status(),
        401
    );
    assert_eq!(
        get(
            "/exports/scorecards?from=2026-03-01&to=2026-04-01&format=csv",
            Some(&p.housing_officer)
        )
        .await
        .unwrap()
        .status(),
        403
    );
    assert_eq!(
        get(
            "/exports/scorecards?from=2026-04-01&to=2026-03-01&format=csv",
            Some(&p.evaluator)
        )
        .await
        .unwrap()
        .status(),
        400
    );
    assert_eq!(
        get(
            "/exports/scorecards?from=2026-03-01&to=2026-04-01&format=pdf",
            Some(&p.evaluator)
        )
        .await
        .unwrap()
        .status(),
        400
    );
}

on_both_backends!(
    the_endpoint_negotiates_media_types_and_refuses_what_the_spec_refuses,
    graphiql_health_readiness_and_vocabularies_answer,
    oversized_bodies_deep_queries_and_huge_pages_are_refused,
    reports_download_over_http_for_authorised_users_only,
);

/// The introspection query that GraphiQL, code generators and graphql-inspector send —
/// graphql-js 16's `getIntrospectionQuery()` with every option on, as it printed it
/// (tests/fixtures) — is answered in full, without a token.
#[tokio::test]
async fn the_standard_introspection_query_is_answered() {
    let app = spawn_app_on(TestBackend::Sqlite).await;
    let query = include_str!("../fixtures/introspection-graphql-js-16.graphql");
    let response = app.graphql("", query, serde_json::json!({})).await;
    assert!(response.get("errors").is_none(), "{response:#}");
    let types = response["data"]["__schema"]["types"].as_array().unwrap();
    assert!(types.len() > 50, "{}", types.len());
    assert!(
        types.iter().any(|t| t["name"] == "Case"),
        "the schema's own types are listed"
    );
}

/// A 401 says how to authenticate (`WWW-Authenticate: Bearer`), on every route.
#[tokio::test]
async fn unauthorised_answers_carry_a_bearer_challenge() {
    let app = spawn_app_on(TestBackend::Sqlite).await;
    let forged = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth("not.a.token")
        .header("Content-Type", "application/json")
        .body(serde_json::json!({ "query": "{ me { name } }" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(
        forged.headers()["www-authenticate"],
        "Bearer realm=\"whistle\""
    );
    let export = app
        .client
        .get(format!(
            "{}/exports/ledger?from=2026-01-01&to=2027-01-01&format=csv",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 401);
    assert!(export.headers().contains_key("www-authenticate"));
}

/// CORS: a page from an allowed origin may call the API (preflight and request); a page
/// from another origin gets no permission; without --cors-origin, none at all.
#[tokio::test]
async fn pages_of_allowed_origins_may_call_the_api_and_others_may_not() {
    let allowed = "https://console.example.gov.cn";
    let app = spawn_app_configured(TestDatabase::new(TestBackend::Sqlite).await, |config| {
        config.limits.allowed_origins = vec![whistle_api::HeaderValue::from_static(allowed)];
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type",
            )
            .send()
    };
    let answer = preflight(allowed).await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    assert_eq!(answer.headers()["access-control-allow-origin"], allowed);
    let methods = answer.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    let headers = answer.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(headers.contains("authorization"), "{headers}");
    let stranger = preflight("https://elsewhere.example.com").await.unwrap();
    assert!(
        !stranger
            .headers()
            .contains_key("access-control-allow-origin")
    );
    let call = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Origin", allowed)
        .header("Content-Type", "application/json")
        .body(serde_json::json!({ "query": "{ vocabularies { name } }" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(call.headers()["access-control-allow-origin"], allowed);

    let same_origin_only = spawn_app_on(TestBackend::Sqlite).await;
    let answer = same_origin_only
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/graphql", same_origin_only.address),
        )
        .header("Origin", allowed)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(!answer.headers().contains_key("access-control-allow-origin"));
}

/// Null propagation (GraphQL spec §6.4.4): an error in a non-null root field makes the
/// whole `data` null, and the error names the path.
#[tokio::test]
async fn an_error_in_a_non_null_root_field_nulls_the_data() {
    let app = spawn_app_on(TestBackend::Sqlite).await;
    let p = standard_city(&app).await;
    let response = app
        .graphql(
            &p.dispatcher,
            "{ me { userId } case(id: \"0190a3c4-0000-7000-8000-000000000bad\") { id } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(response["data"], serde_json::Value::Null, "{response:#}");
    assert_eq!(response["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(response["errors"][0]["path"], serde_json::json!(["case"]));
}

/// A batch (a JSON array body) is refused with a message that says so, not with a
/// deserialiser's words.
#[tokio::test]
async fn a_batched_request_is_refused_clearly() {
    let app = spawn_app_on(TestBackend::Sqlite).await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Content-Type", "application/json")
        .header("Accept", "application/graphql-response+json")
        .body(r#" [{"query": "{ vocabularies { name } }"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("batched requests are not accepted"),
        "{message}"
    );
}

/// Status codes by media type (GraphQL over HTTP): a document that does not parse, one
/// the limits refuse and one that is not valid are all request errors — 400 with
/// `application/graphql-response+json`, 200 with `application/json` — and each carries
/// its code.
#[tokio::test]
async fn request_errors_answer_by_the_media_type_asked_for() {
    let app = spawn_app_on(TestBackend::Sqlite).await;
    let documents = [
        ("{ vocabularies { name }", "GRAPHQL_PARSE_FAILED"),
        ("{ nothingHere }", "GRAPHQL_VALIDATION_FAILED"),
        (
            &*format!("{{ {}name{} }}", "cases { ".repeat(13), " }".repeat(13)),
            "QUERY_TOO_DEEP",
        ),
    ];
    for (accept, status) in [
        ("application/graphql-response+json", 400),
        ("application/json", 200),
    ] {
        for (document, code) in &documents {
            let response = app
                .client
                .post(format!("{}/graphql", app.address))
                .header("Content-Type", "application/json")
                .header("Accept", accept)
                .body(serde_json::json!({ "query": document }).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), status, "{accept}: {document}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["errors"][0]["extensions"]["code"], *code, "{body}");
            assert!(body.get("data").is_none(), "{accept}: {body}");
        }
    }
}

/// Relay's object identification and connections, and the schema's scalars, as a client
/// uses them: every object's global id fetches it again through `node`, under the same
/// visibility; the case list pages backward as well as forward and counts itself;
/// positions are strings; ids of either form are accepted wherever an id is.
async fn global_ids_pagination_and_scalars_work_as_relay_clients_expect(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let mut cases = Vec::new();
    for n in 0..5 {
        let (case, _) = flag(
            &app,
            &p.monitor,
            &format!("https://weibo.com/9/{n}"),
            &format!("第{n}条"),
        )
        .await;
        cases.push(case);
    }
    let case = cases[0].clone();
    triage(&app, &p.dispatcher, &case, "GENERAL").await;
    let assignment = assign(&app, &p.dispatcher, &case, "city-housing", "LEAD").await;
    let head = app.head().await;

    // Positions and versions are 64-bit-safe strings; an Int literal is accepted too.
    let read = app
        .ok(
            &p.dispatcher,
            "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { id caseId lastPosition assignments { id assignmentId unitId } timeline(first: 1) { nodes { id position } } } logPosition(waitForPosition: 1) { head readModels } }",
            json!({ "c": case, "p": head.to_string() }),
        )
        .await;
    let node_id = read["case"]["id"].as_str().unwrap().to_owned();
    assert_ne!(node_id, case, "`id` is a global id");
    assert_eq!(read["case"]["caseId"], json!(case));
    assert!(
        read["case"]["lastPosition"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 0
    );
    assert_eq!(read["logPosition"]["head"], json!(head.to_string()));
    let assignment_node = read["case"]["assignments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        read["case"]["assignments"][0]["assignmentId"],
        json!(assignment)
    );
    let entry_node = read["case"]["timeline"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // node(id:) gives each object back, with its type; nodes(ids:) keeps the order.
    let units = app
        .ok(&p.dispatcher, "{ units { id code } }", json!({}))
        .await;
    let housing = units["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == "city-housing")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let fetched = app
        .ok(
            &p.dispatcher,
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Case { title } ... on Assignment { unitId } ... on Unit { code } ... on TimelineEntry { eventType } } }",
            json!({ "ids": [node_id, assignment_node, housing, entry_node] }),
        )
        .await;
    let nodes = fetched["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["__typename"], "Case");
    assert_eq!(nodes[0]["title"], "第0条");
    assert_eq!(nodes[0]["id"], json!(node_id));
    assert_eq!(nodes[1]["__typename"], "Assignment");
    assert_eq!(nodes[1]["unitId"], "city-housing");
    assert_eq!(nodes[2]["code"], "city-housing");
    assert_eq!(nodes[3]["eventType"], "PostFlagged");
    // The same visibility as the lists: the transport bureau's officer is not assigned
    // this case, so its node is null; a malformed id is an error with a code.
    let hidden = app
        .ok(
            &p.transport_officer,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": node_id }),
        )
        .await;
    assert_eq!(hidden["node"], serde_json::Value::Null);
    let (code, _) = app
        .error_code(
            &p.dispatcher,
            "{ node(id: \"not-a-global-id\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "VALIDATION");
    // An argument takes the global id or the plain one; a global id of another kind is
    // refused by name.
    for id in [&node_id, &case] {
        let data = app
            .ok(
                &p.dispatcher,
                "query($c: ID!) { case(id: $c) { caseId } }",
                json!({ "c": id }),
            )
            .await;
        assert_eq!(data["case"]["caseId"], json!(case));
    }
    let (code, message) = app
        .error_code(
            &p.dispatcher,
            "query($c: ID!) { case(id: $c) { caseId } }",
            json!({ "c": housing }),
        )
        .await;
    assert_eq!(code, "VALIDATION");
    assert!(
        message.contains("is the id of a Unit, not of a Case"),
        "{message}"
    );
    app.ok(
        &p.housing_officer,
        "mutation($c: ID!, $a: ID!) { acceptAssignment(caseId: $c, assignmentId: $a) { position streamVersion } }",
        json!({ "c": node_id, "a": assignment_node }),
    )
    .await;

    // Pages forward and backward meet; totalCount is the whole list.
    let page = "query($first: Int, $after: String, $last: Int, $before: String) { cases(first: $first, after: $after, last: $last, before: $before) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { title } } }";
    let titles = |data: &serde_json::Value| -> Vec<String> {
        data["cases"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = app.ok(&p.dispatcher, page, json!({ "first": 2 })).await;
    assert_eq!(first["cases"]["totalCount"], 5);
    assert_eq!(titles(&first), ["第4条", "第3条"]);
    assert_eq!(first["cases"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["cases"]["pageInfo"]["hasPreviousPage"], false);
    let last = app.ok(&p.dispatcher, page, json!({ "last": 2 })).await;
    assert_eq!(titles(&last), ["第1条", "第0条"]);
    assert_eq!(last["cases"]["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(last["cases"]["pageInfo"]["hasNextPage"], false);
    let before = last["cases"]["pageInfo"]["startCursor"].as_str().unwrap();
    let middle = app
        .ok(&p.dispatcher, page, json!({ "last": 2, "before": before }))
        .await;
    assert_eq!(titles(&middle), ["第3条", "第2条"]);
    assert_eq!(middle["cases"]["pageInfo"]["hasNextPage"], true);
    let after = first["cases"]["pageInfo"]["endCursor"].as_str().unwrap();
    let between = app
        .ok(
            &p.dispatcher,
            page,
            json!({ "first": 5, "after": after, "before": before }),
        )
        .await;
    assert_eq!(titles(&between), ["第2条"]);
    assert_eq!(
        between["cases"]["totalCount"], 5,
        "the cursors do not change the total"
    );
    let (code, _) = app
        .error_code(&p.dispatcher, page, json!({ "first": 1, "last": 1 }))
        .await;
    assert_eq!(code, "VALIDATION");
    // A unit's staff count only what they may see.
    let theirs = app
        .ok(&p.housing_officer, page, json!({ "first": 1 }))
        .await;
    assert_eq!(theirs["cases"]["totalCount"], 1);

    // Dates are `Date`, unit ids `ID`; a bad date is a validation error with a code.
    let cards = app
        .ok(
            &p.evaluator,
            "query($from: Date!, $to: Date!, $u: ID) { scorecards(from: $from, to: $to, unitId: $u) { unitId periodFrom } }",
            json!({ "from": "2026-01-01", "to": "2027-01-01", "u": housing }),
        )
        .await;
    assert_eq!(cards["scorecards"][0]["unitId"], "city-housing");
    assert_eq!(cards["scorecards"][0]["periodFrom"], "2026-01-01");
    let (code, _) = app
        .error_code(
            &p.evaluator,
            "{ scorecards(from: \"2026-1-1\", to: \"2027-01-01\") { unitId } }",
            json!({}),
        )
        .await;
    assert!(
        code.starts_with("GRAPHQL_VALIDATION") || code == "VALIDATION",
        "{code}"
    );
}

on_both_backends!(global_ids_pagination_and_scalars_work_as_relay_clients_expect);
