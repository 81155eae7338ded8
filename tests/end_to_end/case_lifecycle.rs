//! A case walked over real HTTP through every branch of docs/domain/lifecycle.md, read back through
//! the case detail, timeline, dashboard and scorecards; read-your-writes; idempotent
//! retries; live subscriptions.

use chrono::Duration;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::*;

const CASE_DETAIL: &str = "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) {
    id status statusLabel level levelLabel categories categoryLabels problemClass title postCount heatTotal
    massIncident reopenCount outcome leadUnit
    posts { url title views author }
    assignments { id unitId unitName role status statusLabel finding rejectedReturns rectificationDueDate rectificationCompletedAt completedAt firstApprovedReplyAt }
    replies { id status statusLabel decisionNote }
    deadlines { deadlineId kind settled rule }
    referrals { id outcome outcomeLabel approvedBy rebuttedAt }
    memos { instruction deadlineAt }
    responses { kind channel channelLabel }
    followUps { sentiment sentimentLabel }
    timeline(first: 200) { edges { node { position eventType actorName actorRoleLabel actorUnitName summary } } }
} }";

async fn a_case_walks_every_branch_from_flag_to_reopened_and_closed_again(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let hour = || app.clock.advance(Duration::hours(1));

    let (case, _) = flag(
        &app,
        &p.monitor,
        "https://weibo.com/1001/road",
        "人民路路面塌陷,行人险些跌落",
    )
    .await;
    app.ok(&p.monitor, "mutation($c: ID!) { attachPost(caseId: $c, post: { platform: DOUYIN, url: \"https://www.douyin.com/video/77\", title: \"人民路塌陷现场视频\", views: 5000 }) { position } }", json!({ "c": case })).await;
    app.ok(&p.monitor, "mutation($c: ID!) { recordHeat(caseId: $c, url: \"https://weibo.com/1001/road\", views: 9000, reposts: 300, comments: 120, likes: 800) { position } }", json!({ "c": case })).await;
    hour();
    triage(&app, &p.dispatcher, &case, "GENERAL").await;
    app.ok(&p.dispatcher, "mutation($c: ID!) { changeCaseLevel(caseId: $c, level: SIGNIFICANT, reason: \"转发量快速上升\") { position } }", json!({ "c": case })).await;
    let lead = assign(&app, &p.dispatcher, &case, "city-housing", "LEAD").await;
    let co = assign(&app, &p.dispatcher, &case, "city-transport", "CO_HANDLER").await;
    hour();
    // The co-handler passes the buck; the dispatcher rejects the return.
    app.ok(&p.transport_officer, "mutation($c: ID!, $a: ID!) { returnAssignment(caseId: $c, assignmentId: $a, reason: \"道路属住建部门管养\") { position } }", json!({ "c": case, "a": co })).await;
    app.ok(&p.dispatcher, "mutation($c: ID!, $a: ID!) { rejectReturn(caseId: $c, assignmentId: $a, note: \"交通疏导属你单位职责\") { position } }", json!({ "c": case, "a": co })).await;
    accept(&app, &p.housing_officer, &case, &lead).await;
    app.ok(&p.housing_officer, "mutation($c: ID!, $a: ID!) { verifyFacts(caseId: $c, assignmentId: $a, finding: TRUE, summary: \"现场核实属实\") { position } }", json!({ "c": case, "a": lead })).await;
    hour();
    // A reply is sent back once, then approved.
    let first_reply = submit_reply(&app, &p.housing_officer, &case, &lead).await;
    app.ok(&p.housing_head, "mutation($c: ID!, $r: ID!) { sendBackReply(caseId: $c, replyId: $r, note: \"请补充修复时限\") { position } }", json!({ "c": case, "r": first_reply })).await;
    let second_reply = submit_reply(&app, &p.housing_officer, &case, &lead).await;
    approve(&app, &p.housing_head, &case, &second_reply).await;
    app.ok(&p.housing_officer, "mutation($c: ID!) { publishResponse(caseId: $c, channel: OFFICIAL_ACCOUNT, content: \"已连夜抢修\", url: \"https://mp.weixin.qq.com/s/abc\") { position } }", json!({ "c": case })).await;
    // A memo goes up; the leader instructs.
    let memo = app.ok(&p.dispatcher, "mutation($c: ID!) { sendMemo(caseId: $c, summary: \"人民路塌陷,请批示\") { createdId } }", json!({ "c": case })).await;
    let memo = memo["sendMemo"]["createdId"].as_str().unwrap().to_owned();
    app.ok(&p.leader, "mutation($c: ID!, $m: ID!) { instructOnMemo(caseId: $c, memoId: $m, instruction: \"立即排查全市同类隐患\") { position } }", json!({ "c": case, "m": memo })).await;
    // Rectification promised; the supervisor urges the co-handler.
    app.ok(&p.housing_officer, "mutation($c: ID!, $a: ID!) { promiseRectification(caseId: $c, assignmentId: $a, dueDate: \"2026-03-20\", measures: \"全面排查地下管网\") { position } }", json!({ "c": case, "a": lead })).await;
    app.ok(&p.supervisor, "mutation($c: ID!) { urgeSupervision(caseId: $c, unitId: \"city-transport\", note: \"请尽快反馈\") { position } }", json!({ "c": case })).await;
    let transport_reply = submit_reply(&app, &p.transport_officer, &case, &co).await;
    approve(&app, &p.transport_head, &case, &transport_reply).await;
    complete(&app, &p.transport_officer, &case, &co).await;
    hour();
    app.ok(&p.housing_officer, "mutation($c: ID!, $a: ID!) { completeRectification(caseId: $c, assignmentId: $a, result: \"管网已更换\") { position } }", json!({ "c": case, "a": lead })).await;
    complete(&app, &p.housing_officer, &case, &lead).await;
    // A rumour about the collapse goes to the police under the four-eyes rule.
    let referral = app.ok(&p.dispatcher, "mutation($c: ID!) { proposeRumourReferral(caseId: $c, policeUnitId: \"city-police\", legalBasis: \"《治安管理处罚法》第二十五条\", evidence: \"造谣称塌陷致多人死亡的帖文截图\") { createdId } }", json!({ "c": case })).await;
    let referral = referral["proposeRumourReferral"]["createdId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(&p.second_dispatcher, "mutation($c: ID!, $r: ID!) { approveRumourReferral(caseId: $c, referralId: $r) { position } }", json!({ "c": case, "r": referral })).await;
    app.ok(&p.police, "mutation($c: ID!, $r: ID!) { recordReferralOutcome(caseId: $c, referralId: $r, outcome: CONFIRMED_RUMOUR, action: \"依法行政拘留五日\") { position } }", json!({ "c": case, "r": referral })).await;
    app.ok(&p.dispatcher, "mutation($c: ID!, $r: ID!) { rebutRumour(caseId: $c, referralId: $r, channel: AUTHORITATIVE_RELEASE, content: \"经查无人员伤亡\") { position } }", json!({ "c": case, "r": referral })).await;
    app.ok(&p.dispatcher, "mutation($c: ID!) { closeCase(caseId: $c, outcome: \"路面已修复,同类隐患已排查\") { position } }", json!({ "c": case })).await;
    // Follow-up sees it flare again: reopen, declare a mass incident, assign and withdraw, close.
    app.clock.advance(Duration::days(2));
    app.ok(&p.monitor, "mutation($c: ID!) { recordFollowUp(caseId: $c, observation: \"周边居民聚集\", sentiment: RE_FLARING) { position } }", json!({ "c": case })).await;
    app.ok(
        &p.dispatcher,
        "mutation($c: ID!) { reopenCase(caseId: $c, reason: \"次生舆情\") { position } }",
        json!({ "c": case }),
    )
    .await;
    app.ok(&p.dispatcher, "mutation($c: ID!) { declareMassIncident(caseId: $c, note: \"约五十人聚集\") { position } }", json!({ "c": case })).await;
    let again = assign(&app, &p.dispatcher, &case, "city-housing", "LEAD").await;
    app.ok(&p.dispatcher, "mutation($c: ID!, $a: ID!) { withdrawAssignment(caseId: $c, assignmentId: $a, reason: \"已由现场指挥部统一处置\") { position } }", json!({ "c": case, "a": again })).await;
    let closed = app
        .ok(
            &p.dispatcher,
            "mutation($c: ID!) { closeCase(caseId: $c, outcome: \"聚集已劝散\") { position } }",
            json!({ "c": case }),
        )
        .await;
    let last = closed["closeCase"]["position"]
        .as_str()
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap();

    let detail = app
        .ok(&p.inspector, CASE_DETAIL, json!({ "c": case, "p": last }))
        .await["case"]
        .clone();
    assert_eq!(detail["status"], "CLOSED");
    assert_eq!(detail["statusLabel"], "已办结");
    assert_eq!(detail["level"], "SIGNIFICANT");
    assert_eq!(detail["levelLabel"], "较大");
    assert_eq!(
        detail["categoryLabels"],
        json!(["涉及公众切身利益且产生较大影响"])
    );
    assert_eq!(detail["postCount"], 2);
    assert_eq!(detail["heatTotal"], 9000 + 300 + 120 + 800 + 5000);
    assert_eq!(detail["massIncident"], true);
    assert_eq!(detail["reopenCount"], 1);
    assert_eq!(detail["outcome"], "聚集已劝散");
    assert_eq!(
        detail["posts"][0]["author"], "网友甲",
        "inspectors see post authors"
    );
    let statuses: Vec<&str> = detail["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["COMPLETED", "COMPLETED", "WITHDRAWN"]);
    assert_eq!(detail["assignments"][0]["finding"], "TRUE");
    assert_eq!(detail["assignments"][1]["rejectedReturns"], 1);
    assert_eq!(
        detail["assignments"][0]["rectificationDueDate"],
        "2026-03-20"
    );
    assert!(detail["assignments"][0]["rectificationCompletedAt"].is_string());
    let reply_statuses: Vec<&str> = detail["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(reply_statuses, vec!["SENT_BACK", "APPROVED", "APPROVED"]);
    assert_eq!(detail["referrals"][0]["outcomeLabel"], "确认为谣言");
    assert_eq!(detail["referrals"][0]["approvedBy"], "d2");
    assert!(detail["referrals"][0]["rebuttedAt"].is_string());
    assert_eq!(detail["memos"][0]["instruction"], "立即排查全市同类隐患");
    let response_kinds: Vec<&str> = detail["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(response_kinds, vec!["public_response", "rumour_rebuttal"]);
    assert_eq!(detail["followUps"][0]["sentimentLabel"], "再次升温");
    assert!(
        detail["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["settled"] == true),
        "{:#}",
        detail["deadlines"]
    );

    // The timeline has every event of the case's stream, in order, each as a sentence.
    let stream = app
        .store()
        .read_stream(&whistle_domain::StreamId::Case(
            whistle_domain::CaseId::parse(&case).unwrap(),
        ))
        .await
        .unwrap();
    let timeline: Vec<Value> = detail["timeline"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(timeline.len(), stream.len());
    for (entry, event) in timeline.iter().zip(&stream) {
        assert_eq!(
            entry["position"]
                .as_str()
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap(),
            event.position
        );
        assert_eq!(entry["eventType"].as_str().unwrap(), event.event_type);
    }
    assert_eq!(
        timeline[0]["summary"],
        "李监测(监测员,市委网信办)吹哨:在微博发现帖文《人民路路面塌陷,行人险些跌落》,立为舆情事项"
    );
    let buck_passing = timeline
        .iter()
        .find(|e| e["eventType"] == "ReturnRejected")
        .unwrap();
    assert!(buck_passing["summary"].as_str().unwrap().contains("推诿"));
    let assigned = timeline
        .iter()
        .find(|e| e["eventType"] == "CaseAssigned")
        .unwrap();
    assert!(
        assigned["summary"]
            .as_str()
            .unwrap()
            .contains("转办给市住建局(牵头)"),
        "{assigned:#}"
    );
    assert_eq!(assigned["actorRoleLabel"], "研判转办");

    // Inspectors reconstruct what one person did.
    let trail = app
        .ok(
            &p.inspector,
            "{ auditTrail(filter: { actorId: \"d2\" }) { edges { node { eventType summary } } } }",
            json!({}),
        )
        .await;
    let d2_events: Vec<&str> = trail["auditTrail"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(d2_events, vec!["RumourReferralApproved"]);

    // The dashboard and the scorecards count it.
    let dashboard = app.ok(&p.dispatcher, "{ dashboard { totalCases openCases overdue byStatus { key label count } byPlatform { key label count } byProblemClass { key count } } }", json!({})).await;
    assert_eq!(dashboard["dashboard"]["totalCases"], 1);
    assert_eq!(dashboard["dashboard"]["openCases"], 0);
    assert_eq!(
        dashboard["dashboard"]["byStatus"],
        json!([{ "key": "closed", "label": "已办结", "count": 1 }])
    );
    assert_eq!(dashboard["dashboard"]["byPlatform"][0]["label"], "微博");
    let cards = app.ok(&p.evaluator, "{ scorecards(from: \"2026-03-01\", to: \"2026-04-01\") { unitId countedAssignments withFeedback completed feedbackRate completionRate buckPassingCount urgingCount } }", json!({})).await;
    let card = |unit: &str| {
        cards["scorecards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["unitId"] == unit)
            .unwrap()
            .clone()
    };
    let housing = card("city-housing");
    assert_eq!(
        (
            housing["countedAssignments"].as_i64(),
            housing["withFeedback"].as_i64(),
            housing["completed"].as_i64()
        ),
        (Some(1), Some(1), Some(1))
    );
    let transport = card("city-transport");
    assert_eq!(transport["buckPassingCount"], 1);
    assert_eq!(transport["urgingCount"], 1);
    assert_eq!(transport["feedbackRate"], 1.0);
}

async fn a_mutation_returns_its_position_and_a_query_waiting_for_it_sees_the_write(
    backend: TestBackend,
) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    for i in 0..5 {
        let (case, position) = flag(
            &app,
            &p.monitor,
            &format!("https://weibo.com/ryw/{i}"),
            "读己之写",
        )
        .await;
        let seen = app
            .ok(
                &p.monitor,
                "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { id lastPosition } }",
                json!({ "c": case, "p": position }),
            )
            .await;
        assert_eq!(
            seen["case"]["lastPosition"]
                .as_str()
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap(),
            position
        );
        let position = triage(&app, &p.dispatcher, &case, "GENERAL").await;
        let seen = app.ok(&p.dispatcher, "query($p: Position) { cases(first: 1, waitForPosition: $p) { edges { node { status } } } }", json!({ "p": position })).await;
        assert_eq!(seen["cases"]["edges"][0]["node"]["status"], "TRIAGED");
    }
}

async fn retrying_a_mutation_with_the_same_command_id_returns_the_first_result_and_writes_nothing(
    backend: TestBackend,
) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let command_id = uuid::Uuid::now_v7().to_string();
    let query = "mutation($id: ID!) { flagPost(post: { platform: WEIBO, url: \"https://weibo.com/retry\", title: \"重试\" }, commandId: $id) { caseId position replayed } }";
    let first = app.ok(&p.monitor, query, json!({ "id": command_id })).await;
    let head = app.head().await;
    let again = app.ok(&p.monitor, query, json!({ "id": command_id })).await;
    assert_eq!(first["flagPost"]["caseId"], again["flagPost"]["caseId"]);
    assert_eq!(first["flagPost"]["position"], again["flagPost"]["position"]);
    assert_eq!(again["flagPost"]["replayed"], true);
    assert_eq!(app.head().await, head);
}

/// 32 writers on one case at once, none naming a version: every command succeeds (they
/// take turns on the stream), and the case's versions are gapless. Contention is never
/// the caller's CONFLICT.
async fn concurrent_commands_without_an_expected_version_all_succeed(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let url = "https://weibo.com/crowded";
    let (case, _) = flag(&app, &p.monitor, url, "同一事项").await;
    let writes = (0..32u64).map(|n| {
        let (app, token, case) = (&app, p.monitor.clone(), case.clone());
        async move {
            app.graphql(
                &token,
                "mutation($c: ID!, $u: String!, $v: Int!) { recordHeat(caseId: $c, url: $u, views: $v, reposts: 0, comments: 0, likes: 0) { position } }",
                json!({ "c": case, "u": url, "v": 1_000 + n }),
            )
            .await
        }
    });
    let answers = futures::future::join_all(writes).await;
    for answer in &answers {
        assert!(answer.get("errors").is_none(), "{answer:#}");
    }
    let versions: Vec<i64> = sqlx::query_scalar(
        "SELECT stream_version FROM events WHERE stream_id = $1 ORDER BY stream_version",
    )
    .bind(format!("case-{case}"))
    .fetch_all(app.store().database().pool())
    .await
    .unwrap();
    assert_eq!(versions, (1..=33).collect::<Vec<i64>>());
}

async fn a_stale_expected_version_is_a_conflict_and_changes_nothing(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, _) = flag(&app, &p.monitor, "https://weibo.com/conflict", "并发").await;
    let head = app.head().await;
    let (code, message) = app
        .error_code(&p.dispatcher, "mutation($c: ID!) { triageCase(caseId: $c, level: GENERAL, problemClass: \"x\", expectedVersion: 5) { position } }", json!({ "c": case }))
        .await;
    assert_eq!(code, "CONFLICT", "{message}");
    assert_eq!(app.head().await, head);
    app.ok(&p.dispatcher, "mutation($c: ID!) { triageCase(caseId: $c, level: GENERAL, problemClass: \"x\", expectedVersion: 1) { position } }", json!({ "c": case })).await;
}

async fn a_subscriber_receives_new_events_of_the_case_it_follows(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, flagged_at) = flag(&app, &p.monitor, "https://weibo.com/live", "实时推送").await;

    let mut request = format!("ws://127.0.0.1:{}/graphql/ws", app.port)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket connects");
    let send = |value: Value| Message::Text(value.to_string().into());
    socket.send(send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", p.dispatcher) } }))).await.unwrap();
    let ack = socket.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
    socket
        .send(send(json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription($c: ID!, $p: Position) { caseEvents(caseId: $c, waitForPosition: $p, afterPosition: $p) { position eventType actorName caseId } }",
            "variables": { "c": case, "p": flagged_at } } })))
        .await
        .unwrap();
    // The subscription starts after the flag, so the triage below reaches it whenever
    // the server gets to registering it.
    let position = triage(&app, &p.dispatcher, &case, "MAJOR").await;
    let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
        .await
        .expect("an event arrives")
        .unwrap()
        .unwrap();
    let payload: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
    assert_eq!(payload["type"], "next", "{payload:#}");
    assert!(payload["payload"].get("errors").is_none(), "{payload:#}");
    let notice = &payload["payload"]["data"]["caseEvents"];
    assert_eq!(notice["eventType"], "CaseTriaged");
    assert_eq!(
        notice["position"]
            .as_str()
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap(),
        position
    );
    assert_eq!(notice["caseId"], case.as_str());
    assert_eq!(notice["actorName"], "王研判");

    // The follower reads its case's own stream: another case's events never reach it,
    // and a burst on its case, interleaved with the other case's, arrives whole and in
    // order.
    let (other, _) = flag(&app, &p.monitor, "https://weibo.com/live-other", "另一事项").await;
    let mut expected = Vec::new();
    for round in 0..6 {
        app.ok(
            &p.monitor,
            "mutation($c: ID!, $v: Int!) { recordHeat(caseId: $c, url: \"https://weibo.com/live-other\", views: $v, reposts: 0, comments: 0, likes: 0) { position } }",
            json!({ "c": other, "v": 100 + round }),
        )
        .await;
        let written = app
            .ok(
                &p.monitor,
                "mutation($c: ID!, $v: Int!) { recordHeat(caseId: $c, url: \"https://weibo.com/live\", views: $v, reposts: 0, comments: 0, likes: 0) { position } }",
                json!({ "c": case, "v": 2000 + round }),
            )
            .await;
        expected.push(written["recordHeat"]["position"].clone());
    }
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("each event of the followed case arrives")
            .unwrap()
            .unwrap();
        let payload: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
        let notice = &payload["payload"]["data"]["caseEvents"];
        assert_eq!(
            notice["caseId"],
            case.as_str(),
            "only the followed case: {payload:#}"
        );
        assert_eq!(notice["eventType"], "HeatRecorded");
        seen.push(notice["position"].clone());
    }
    assert_eq!(seen, expected);
}

/// A case's posts (address and views) once the read models include `head`.
async fn posts_of(app: &TestApp, token: &str, case: &str, head: i64) -> Value {
    app.ok(
        token,
        "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { posts { url views } } }",
        json!({ "c": case, "p": head }),
    )
    .await["case"]["posts"]
        .clone()
}

/// A post shared in another form (the mobile page, a tracking parameter, `http`, a
/// trailing slash, a fragment) is the same post: it never opens a second case, is never
/// attached twice, and its heat is recorded on the post as recorded.
async fn the_same_post_shared_in_another_form_never_opens_a_second_case(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, _) = flag(
        &app,
        &p.monitor,
        "https://m.weibo.cn/status/5012345678901234?from=singlemessage&isappinstalled=0",
        "路面塌陷",
    )
    .await;
    let head = app.head().await;
    let posts = posts_of(&app, &p.dispatcher, &case, head).await;
    assert_eq!(
        posts,
        json!([{ "url": "https://m.weibo.cn/detail/5012345678901234", "views": 1200 }])
    );

    let flag_again = "mutation($url: String!) { flagPost(post: { platform: WEIBO, url: $url, title: \"同一条\", excerpt: \"转发\" }) { caseId } }";
    let (code, reason, message) = app
        .refusal(
            &p.monitor,
            flag_again,
            json!({ "url": "http://weibo.com/detail/5012345678901234/#comment" }),
        )
        .await;
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("DOMAIN_RULE", "post_on_another_case"),
        "{message}"
    );
    assert!(message.contains(&case), "{message} names the case");
    let attach = "mutation($c: ID!, $url: String!) { attachPost(caseId: $c, post: { platform: WEIBO, url: $url, title: \"同一条\", excerpt: \"转发\" }) { position } }";
    let (code, reason, message) = app
        .refusal(
            &p.monitor,
            attach,
            json!({ "c": case, "url": "HTTPS://M.WEIBO.CN/detail/5012345678901234?type=comment" }),
        )
        .await;
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("DOMAIN_RULE", "post_already_on_this_case"),
        "{message}"
    );
    assert_eq!(app.head().await, head, "a refused command writes nothing");

    app.ok(
        &p.monitor,
        "mutation($c: ID!, $url: String!) { recordHeat(caseId: $c, url: $url, views: 5000, reposts: 10, comments: 3, likes: 40) { position } }",
        json!({ "c": case, "url": "http://m.weibo.cn/detail/5012345678901234/" }),
    )
    .await;
    let head = app.head().await;
    let posts = posts_of(&app, &p.dispatcher, &case, head).await;
    assert_eq!(posts[0]["views"], 5000);
    let cases = app
        .ok(
            &p.dispatcher,
            "query($p: Position) { cases(waitForPosition: $p) { totalCount } }",
            json!({ "p": head }),
        )
        .await;
    assert_eq!(cases["cases"]["totalCount"], 1);
}

on_both_backends!(
    the_same_post_shared_in_another_form_never_opens_a_second_case,
    concurrent_commands_without_an_expected_version_all_succeed,
    retrying_a_mutation_with_the_same_command_id_returns_the_first_result_and_writes_nothing,
    a_case_walks_every_branch_from_flag_to_reopened_and_closed_again,
    a_mutation_returns_its_position_and_a_query_waiting_for_it_sees_the_write,
    a_stale_expected_version_is_a_conflict_and_changes_nothing,
    a_subscriber_receives_new_events_of_the_case_it_follows,
);

/// A WebSocket session: open with graphql-transport-ws, send `connection_init` with
/// `token`, and return the socket and the first answer.
async fn websocket_session(
    app: &TestApp,
    token: &str,
) -> (
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
) {
    let mut request = format!("ws://127.0.0.1:{}/graphql/ws", app.port)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::Text(
            json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
        .await
        .expect("an answer to connection_init")
        .unwrap()
        .unwrap();
    (socket, first)
}

fn close_code(message: &Message) -> (u16, String) {
    match message {
        Message::Close(Some(frame)) => (frame.code.into(), frame.reason.to_string()),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

/// graphql-transport-ws's codes: a bad token 4401, an identity not admitted 4403, with a
/// short reason; a session ends with 4401 when its token expires.
#[tokio::test]
async fn websocket_sessions_are_refused_with_the_protocols_codes_and_end_with_their_token() {
    let app = spawn_app_on(TestBackend::Sqlite).await;
    let p = standard_city(&app).await;
    let (_, first) = websocket_session(&app, "not.a.token").await;
    let (code, reason) = close_code(&first);
    assert_eq!(code, 4401, "{reason}");
    assert!(reason.starts_with("unauthorized"), "{reason}");
    assert!(!reason.to_lowercase().contains("base64"), "{reason}");
    let stranger = app.token("x1", "某人", "monitor", "no-such-unit");
    let (_, first) = websocket_session(&app, &stranger).await;
    let (code, reason) = close_code(&first);
    assert_eq!(code, 4403, "{reason}");
    assert!(reason.contains("not registered"), "{reason}");

    // A token valid for three more seconds: the session works, then ends with 4401.
    let now = chrono::Utc::now().timestamp();
    let short = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "sub": "d9", "name": "短时", "role": "dispatcher", "unit": "city-cac", "iat": now, "exp": now + 3 }),
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    let (mut socket, first) = websocket_session(&app, &short).await;
    assert!(
        first.to_text().unwrap().contains("connection_ack"),
        "{first:?}"
    );
    socket
        .send(Message::Text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { caseEvents { position } }" } })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let _ = p;
    // 3 s of validity, plus the 5 s of clock skew a token's expiry is allowed, at most.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            match socket.next().await {
                Some(Ok(message @ Message::Close(_))) => return message,
                Some(Ok(_)) => continue,
                other => panic!("the socket ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("the session ends when its token expires");
    let (code, reason) = close_code(&ended);
    assert_eq!(code, 4401);
    assert!(reason.contains("expired"), "{reason}");
}
