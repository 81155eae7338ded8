//! The annual assessment against values computed by hand (docs/domain/measures.md defaults).
//!
//! 市住建局: −1 (a missed feedback deadline), −5 (leads a 重大 case, once although its level
//! goes down and up again), −3 (a penalty), a 10-point penalty revoked later (counts only
//! before its revocation), +2 (a commendation): 93, 优秀; as of before the revocation and
//! the commendation, 81, 良好.
//! 市交通运输局: −2 −2 (two rejected returns) −1 −1 (two missed deadlines) = 94, but it leads
//! a case that led to a mass incident: one-vote veto, 不合格, ranked last.
//! 市公安局: penalties of 100 and 5 points: the floor, 0, 不合格.
//! Every other unit: 100, 优秀, sharing rank 1.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::*;

const QUERY: &str = "query($asOf: DateTime, $p: Position) { annualAssessment(year: 2026, asOf: $asOf, waitForPosition: $p) {
    unitId score rank grade gradeLabel veto rulesVersion
    deductions { rule ruleLabel points position eventId caseId reason }
    additions { rule points reason } } }";

fn unit(assessments: &Value, unit_id: &str) -> Value {
    assessments["annualAssessment"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["unitId"] == unit_id)
        .unwrap()
        .clone()
}

async fn the_annual_assessment_applies_every_rule_as_computed_by_hand(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let ret = "mutation($c: ID!, $a: ID!) { returnAssignment(caseId: $c, assignmentId: $a, reason: \"非本单位职责\") { position } }";
    let reject = "mutation($c: ID!, $a: ID!) { rejectReturn(caseId: $c, assignmentId: $a, note: \"属于职责\") { position } }";

    // Case A: 住建局 leads, misses its deadline; 交通局 co-handles and passes the buck.
    let (case_a, _) = flag(&app, &p.monitor, "https://weibo.com/assess/a", "事项A").await;
    triage(&app, &p.dispatcher, &case_a, "GENERAL").await;
    assign(&app, &p.dispatcher, &case_a, "city-housing", "LEAD").await;
    let co = assign(&app, &p.dispatcher, &case_a, "city-transport", "CO_HANDLER").await;
    app.ok(&p.transport_officer, ret, json!({ "c": case_a, "a": co }))
        .await;
    app.ok(&p.dispatcher, reject, json!({ "c": case_a, "a": co }))
        .await;
    // Case B: 住建局 leads a 重大 case whose level goes down and up again.
    let (case_b, _) = flag(&app, &p.monitor, "https://weibo.com/assess/b", "事项B").await;
    triage(&app, &p.dispatcher, &case_b, "MAJOR").await;
    assign(&app, &p.dispatcher, &case_b, "city-housing", "LEAD").await;
    for level in ["GENERAL", "MAJOR"] {
        app.ok(&p.dispatcher, "mutation($c: ID!, $l: Level!) { changeCaseLevel(caseId: $c, level: $l, reason: \"研判调整\") { position } }", json!({ "c": case_b, "l": level })).await;
    }
    // Case C: 交通局 leads, passes the buck again, and the case leads to a mass incident.
    let (case_c, _) = flag(&app, &p.monitor, "https://weibo.com/assess/c", "事项C").await;
    triage(&app, &p.dispatcher, &case_c, "GENERAL").await;
    let lead_c = assign(&app, &p.dispatcher, &case_c, "city-transport", "LEAD").await;
    app.ok(
        &p.transport_officer,
        ret,
        json!({ "c": case_c, "a": lead_c }),
    )
    .await;
    app.ok(&p.dispatcher, reject, json!({ "c": case_c, "a": lead_c }))
        .await;
    app.ok(
        &p.dispatcher,
        "mutation($c: ID!) { declareMassIncident(caseId: $c, note: \"群众聚集\") { position } }",
        json!({ "c": case_c }),
    )
    .await;

    // Case B is answered within its 24 h; case A's and 交通局's 48 h deadlines pass.
    app.clock.advance(Duration::hours(2));
    let written = app.head().await;
    let detail = app
        .ok(
            &p.dispatcher,
            "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { assignments { id } } }",
            json!({ "c": case_b, "p": written }),
        )
        .await;
    let b_assignment = detail["case"]["assignments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    accept(&app, &p.housing_officer, &case_b, &b_assignment).await;
    let reply = submit_reply(&app, &p.housing_officer, &case_b, &b_assignment).await;
    approve(&app, &p.housing_head, &case_b, &reply).await;
    app.clock.advance(Duration::hours(47));
    let head = app.head().await;
    app.ok(
        &p.inspector,
        "query($p: Position) { logPosition(waitForPosition: $p) { head } }",
        json!({ "p": head }),
    )
    .await;
    app.deadlines.run_once().await.unwrap();

    // Penalties and a commendation; one penalty is revoked later.
    let penalty = "mutation($u: ID!, $points: Int!, $reason: String!) { applyPenalty(unitId: $u, kind: POINT_DEDUCTION, points: $points, reason: $reason, periodFrom: \"2026-01-01\", periodTo: \"2027-01-01\") { createdId } }";
    app.clock.advance(Duration::days(1));
    app.ok(
        &p.evaluator,
        penalty,
        json!({ "u": "city-housing", "points": 3, "reason": "反馈质量差" }),
    )
    .await;
    let revoked = app
        .ok(
            &p.evaluator,
            penalty,
            json!({ "u": "city-housing", "points": 10, "reason": "误判" }),
        )
        .await;
    let revoked = revoked["applyPenalty"]["createdId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        &p.evaluator,
        penalty,
        json!({ "u": "city-police", "points": 100, "reason": "严重失职" }),
    )
    .await;
    app.ok(
        &p.evaluator,
        penalty,
        json!({ "u": "city-police", "points": 5, "reason": "再次失职" }),
    )
    .await;
    app.clock.advance(Duration::hours(1));
    let before_revocation = app.clock_now();
    // What the evaluator saw live at that instant.
    let head_then = app.head().await;
    let live_then = app.ok(&p.evaluator, QUERY, json!({ "p": head_then })).await;
    app.clock.advance(Duration::hours(1));
    app.ok(&p.evaluator, "mutation($id: ID!) { revokePenalty(unitId: \"city-housing\", year: 2026, penaltyId: $id, reason: \"经复核撤销\") { position } }", json!({ "id": revoked })).await;
    app.ok(&p.evaluator, "mutation { awardCommendation(unitId: \"city-housing\", points: 2, reason: \"整改到位\", periodFrom: \"2026-01-01\", periodTo: \"2027-01-01\") { position } }", json!({})).await;
    let head = app.head().await;

    let now = app.ok(&p.evaluator, QUERY, json!({ "p": head })).await;
    let housing = unit(&now, "city-housing");
    assert_eq!(
        (
            housing["score"].as_i64(),
            housing["grade"].as_str(),
            housing["veto"].as_bool()
        ),
        (Some(93), Some("excellent"), Some(false)),
        "{housing:#}"
    );
    assert_eq!(housing["gradeLabel"], "优秀");
    assert_eq!(housing["rulesVersion"], "v1");
    let rules: Vec<(&str, i64)> = housing["deductions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["rule"].as_str().unwrap(), d["points"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        rules,
        vec![
            ("major_case_lead", -5),
            ("missed_deadline", -1),
            ("penalty", -3)
        ]
    );
    let missed = housing["deductions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "missed_deadline")
        .unwrap();
    assert_eq!(missed["caseId"], case_a.as_str());
    let event_id = missed["eventId"].as_str().unwrap();
    let event = app
        .store()
        .read_event(event_id.parse().unwrap())
        .await
        .unwrap()
        .expect("the event behind a deduction exists");
    assert_eq!(event.event_type, "DeadlineMissed");
    assert_eq!(
        event.position,
        missed["position"]
            .as_str()
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap()
    );
    let major = housing["deductions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "major_case_lead")
        .unwrap();
    assert_eq!(major["caseId"], case_b.as_str());
    assert_eq!(
        housing["additions"],
        json!([{ "rule": "commendation", "points": 2, "reason": "整改到位" }])
    );

    let transport = unit(&now, "city-transport");
    assert_eq!(
        (
            transport["score"].as_i64(),
            transport["grade"].as_str(),
            transport["veto"].as_bool()
        ),
        (Some(94), Some("fail"), Some(true)),
        "{transport:#}"
    );
    let police = unit(&now, "city-police");
    assert_eq!(
        (police["score"].as_i64(), police["grade"].as_str()),
        (Some(0), Some("fail"))
    );

    // Ranks: five untouched units share 1; then 93, then 0; the vetoed unit is last.
    let ranks: Vec<(String, i64)> = now["annualAssessment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["unitId"].as_str().unwrap().to_owned(),
                a["rank"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ranks.iter().filter(|(_, r)| *r == 1).count(),
        5,
        "{ranks:?}"
    );
    assert_eq!(ranks[5], ("city-housing".to_owned(), 6));
    assert_eq!(ranks[6], ("city-police".to_owned(), 7));
    assert_eq!(ranks[7], ("city-transport".to_owned(), 8));

    // As it stood before the revocation and the commendation.
    let earlier = app
        .ok(
            &p.evaluator,
            QUERY,
            json!({ "p": head, "asOf": before_revocation.to_rfc3339() }),
        )
        .await;
    assert_eq!(
        earlier, live_then,
        "the as-of assessment equals the one computed live at that instant"
    );
    let housing_then = unit(&earlier, "city-housing");
    assert_eq!(
        (
            housing_then["score"].as_i64(),
            housing_then["grade"].as_str()
        ),
        (Some(81), Some("good")),
        "{housing_then:#}"
    );

    // The exports say the same as the API.
    let pool = app.store().database().pool();
    let rules = whistle_domain::rules::AssessmentRules::default();
    let report = whistle_reports::assessment(pool, 2026, app.clock_now(), &rules)
        .await
        .unwrap();
    let csv = String::from_utf8(report.to_csv().unwrap()[3..].to_vec()).unwrap();
    let housing_line = csv.lines().find(|l| l.contains(",city-housing,")).unwrap();
    assert!(
        housing_line.starts_with("6,city-housing,市住建局,93,优秀,否,-9,2,"),
        "{housing_line}"
    );
    assert_eq!(
        report.sheets[1]
            .rows
            .iter()
            .filter(|r| r[0] == "city-housing".into())
            .count(),
        4,
        "three deductions and one addition"
    );
    assert!(report.to_xlsx().unwrap().starts_with(b"PK"));
    let ledger = whistle_reports::ledger(
        pool,
        "2026-03-01".parse().unwrap(),
        "2026-04-01".parse().unwrap(),
    )
    .await
    .unwrap();
    let titles: Vec<String> = ledger.sheets[0]
        .rows
        .iter()
        .map(|r| format!("{:?}", r[3]))
        .collect();
    assert_eq!(
        titles,
        vec!["Text(\"事项A\")", "Text(\"事项B\")", "Text(\"事项C\")"]
    );

    // Reproducible: after a rebuild from the log the assessment is the same, also as of
    // the earlier instant.
    whistle_projections::rebuild(app.store(), 7).await.unwrap();
    let rebuilt = app.ok(&p.evaluator, QUERY, json!({ "p": head })).await;
    assert_eq!(rebuilt, now);
    let rebuilt_earlier = app
        .ok(
            &p.evaluator,
            QUERY,
            json!({ "p": head, "asOf": before_revocation.to_rfc3339() }),
        )
        .await;
    assert_eq!(rebuilt_earlier, earlier);

    // A one-vote-veto penalty fails a unit whatever its points, and ranks it with the vetoed.
    app.ok(&p.evaluator, "mutation { applyPenalty(unitId: \"city-leadership\", kind: ONE_VOTE_VETO, points: 0, reason: \"重大失误\", periodFrom: \"2026-01-01\", periodTo: \"2027-01-01\") { position } }", json!({})).await;
    let head = app.head().await;
    let vetoed = app.ok(&p.evaluator, QUERY, json!({ "p": head })).await;
    let leadership = unit(&vetoed, "city-leadership");
    assert_eq!(
        (
            leadership["score"].as_i64(),
            leadership["grade"].as_str(),
            leadership["veto"].as_bool()
        ),
        (Some(100), Some("fail"), Some(true)),
        "{leadership:#}"
    );
    assert_eq!(leadership["deductions"][0]["rule"], "one_vote_veto_penalty");
    assert_eq!(
        leadership["rank"], 7,
        "vetoed units rank after every unit that is not"
    );

    // A unit's own staff see their own assessment only.
    let own = app
        .ok(
            &p.housing_head,
            "{ annualAssessment(year: 2026) { unitId score } }",
            json!({}),
        )
        .await;
    assert_eq!(
        own["annualAssessment"],
        json!([{ "unitId": "city-housing", "score": 93 }])
    );
}

on_both_backends!(the_annual_assessment_applies_every_rule_as_computed_by_hand,);
