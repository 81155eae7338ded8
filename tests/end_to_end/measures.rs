//! The measures of docs/domain/measures.md against values computed by hand for a small scenario.
//!
//! Five assignments to 市住建局, all made at t0 (Monday 2026-03-02 09:00 Shanghai):
//! - A1 (一般, due t0+48h): approved at +10h, completed at +12h.
//! - A2 (重大, due t0+24h): DeadlineMissed at +25h, approved at +30h (late), not completed.
//! - A3 (一般): withdrawn at +40h, never answered.
//! - A4 (一般): returned at +2h, return rejected at +3h (推诿), approved at +20h, completed at +21h.
//! - A5 (一般): returned at +4h, return accepted at +5h.
//!
//! As of +50h, counted = {A1, A2, A4}: 反馈率 3/3, 按时反馈率 2/3, 办结率 2/3,
//! first response 10 h, 30 h, 20 h → median 20, mean 20; overdue 1; buck-passing 1.
//! As of +15h, counted = {A1, A2, A3, A4}: 反馈率 1/4, 按时 1/4, 办结 1/4, median = mean
//! = 10 h; overdue 0; buck-passing 1.

use chrono::Duration;
use serde_json::{Value, json};
use whistle_app::Envelope;
use whistle_domain::case::deadline_ids;
use whistle_domain::{Actor, AssignmentId, CaseCommand, CaseId, UnitId};

use crate::helpers::*;

async fn at_hour(app: &TestApp, hour: i64) {
    app.clock.set(start_of_tests() + Duration::hours(hour));
}

async fn scorecard_measures_match_the_hand_computed_values_now_and_as_of_an_earlier_instant(
    backend: TestBackend,
) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let mut cases = Vec::new();
    let mut assignments = Vec::new();
    for (i, level) in ["GENERAL", "MAJOR", "GENERAL", "GENERAL", "GENERAL"]
        .iter()
        .enumerate()
    {
        let (case, _) = flag(
            &app,
            &p.monitor,
            &format!("https://weibo.com/measure/{i}"),
            &format!("事项{i}"),
        )
        .await;
        triage(&app, &p.dispatcher, &case, level).await;
        assignments.push(assign(&app, &p.dispatcher, &case, "city-housing", "LEAD").await);
        cases.push(case);
    }
    let (c1, c2, c3, c4, c5) = (&cases[0], &cases[1], &cases[2], &cases[3], &cases[4]);
    let (a1, a2, a3, a4, a5) = (
        &assignments[0],
        &assignments[1],
        &assignments[2],
        &assignments[3],
        &assignments[4],
    );
    let ret = "mutation($c: ID!, $a: ID!) { returnAssignment(caseId: $c, assignmentId: $a, reason: \"非本单位职责\") { position } }";

    at_hour(&app, 1).await;
    accept(&app, &p.housing_officer, c1, a1).await;
    accept(&app, &p.housing_officer, c2, a2).await;
    at_hour(&app, 2).await;
    app.ok(&p.housing_officer, ret, json!({ "c": c4, "a": a4 }))
        .await;
    at_hour(&app, 3).await;
    app.ok(&p.dispatcher, "mutation($c: ID!, $a: ID!) { rejectReturn(caseId: $c, assignmentId: $a, note: \"属于职责\") { position } }", json!({ "c": c4, "a": a4 })).await;
    at_hour(&app, 4).await;
    app.ok(&p.housing_officer, ret, json!({ "c": c5, "a": a5 }))
        .await;
    at_hour(&app, 5).await;
    app.ok(
        &p.dispatcher,
        "mutation($c: ID!, $a: ID!) { acceptReturn(caseId: $c, assignmentId: $a) { position } }",
        json!({ "c": c5, "a": a5 }),
    )
    .await;
    at_hour(&app, 10).await;
    let reply = submit_reply(&app, &p.housing_officer, c1, a1).await;
    approve(&app, &p.housing_head, c1, &reply).await;
    at_hour(&app, 12).await;
    complete(&app, &p.housing_officer, c1, a1).await;
    at_hour(&app, 20).await;
    let reply = submit_reply(&app, &p.housing_officer, c4, a4).await;
    approve(&app, &p.housing_head, c4, &reply).await;
    at_hour(&app, 21).await;
    complete(&app, &p.housing_officer, c4, a4).await;
    at_hour(&app, 25).await;
    let system = Actor::system(UnitId::parse("city-cac").unwrap());
    let missed = CaseCommand::RecordDeadlineMissed {
        deadline_id: deadline_ids::feedback(AssignmentId::parse(a2).unwrap()),
    };
    app.handler
        .handle_case(Envelope::by(system), CaseId::parse(c2).unwrap(), missed)
        .await
        .unwrap();
    at_hour(&app, 30).await;
    let reply = submit_reply(&app, &p.housing_officer, c2, a2).await;
    approve(&app, &p.housing_head, c2, &reply).await;
    at_hour(&app, 40).await;
    app.ok(&p.dispatcher, "mutation($c: ID!, $a: ID!) { withdrawAssignment(caseId: $c, assignmentId: $a, reason: \"重复转办\") { position } }", json!({ "c": c3, "a": a3 })).await;
    at_hour(&app, 50).await;
    let head = app.head().await;

    let query = "query($asOf: DateTime, $p: Position) { scorecards(from: \"2026-03-01\", to: \"2026-04-01\", unitId: \"city-housing\", asOf: $asOf, waitForPosition: $p) {
        countedAssignments withFeedback onTimeFeedback completed feedbackRate onTimeRate completionRate
        firstResponseMedianHours firstResponseMeanHours overdueCount buckPassingCount } }";
    let now = app.ok(&p.evaluator, query, json!({ "p": head })).await["scorecards"][0].clone();
    assert_eq!(now["countedAssignments"], 3);
    assert_eq!(now["withFeedback"], 3);
    assert_eq!(now["onTimeFeedback"], 2);
    assert_eq!(now["completed"], 2);
    assert_eq!(now["feedbackRate"], 1.0);
    assert!((now["onTimeRate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert!((now["completionRate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(now["firstResponseMedianHours"], 20.0);
    assert_eq!(now["firstResponseMeanHours"], 20.0);
    assert_eq!(now["overdueCount"], 1);
    assert_eq!(now["buckPassingCount"], 1);

    let as_of = (start_of_tests() + Duration::hours(15)).to_rfc3339();
    let earlier = app
        .ok(&p.evaluator, query, json!({ "p": head, "asOf": as_of }))
        .await["scorecards"][0]
        .clone();
    assert_eq!(earlier["countedAssignments"], 4);
    assert_eq!(earlier["withFeedback"], 1);
    assert_eq!(earlier["feedbackRate"], 0.25);
    assert_eq!(earlier["onTimeRate"], 0.25);
    assert_eq!(earlier["completionRate"], 0.25);
    assert_eq!(earlier["firstResponseMedianHours"], 10.0);
    assert_eq!(earlier["firstResponseMeanHours"], 10.0);
    assert_eq!(earlier["overdueCount"], 0);
    assert_eq!(earlier["buckPassingCount"], 1);

    // Two responses by hour 25 (10 h and 20 h): the median of an even count is the mean
    // of the middle two.
    let as_of = (start_of_tests() + Duration::hours(25)).to_rfc3339();
    let two = app
        .ok(&p.evaluator, query, json!({ "p": head, "asOf": as_of }))
        .await["scorecards"][0]
        .clone();
    assert_eq!(two["withFeedback"], 2);
    assert_eq!(two["firstResponseMedianHours"], 15.0);
    assert_eq!(two["firstResponseMeanHours"], 15.0);

    // A unit's own staff see their own scorecard only.
    let own = app
        .ok(
            &p.housing_head,
            "{ scorecards(from: \"2026-03-01\", to: \"2026-04-01\") { unitId } }",
            json!({}),
        )
        .await;
    assert_eq!(own["scorecards"], json!([{ "unitId": "city-housing" }]));
    let (code, _) = app
        .error_code(&p.housing_head, "{ scorecards(from: \"2026-03-01\", to: \"2026-04-01\", unitId: \"city-transport\") { unitId } }", json!({}))
        .await;
    assert_eq!(code, "FORBIDDEN");
}

/// The dashboard computes only the figures a request selects (through fields,
/// fragments or aliases), and those equal what the whole dashboard shows.
async fn a_dashboard_asked_for_some_figures_shows_what_the_whole_dashboard_shows(
    backend: TestBackend,
) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (c1, _) = flag(&app, &p.monitor, "https://weibo.com/d/1", "道路积水").await;
    let (c2, _) = flag(&app, &p.monitor, "https://weibo.com/d/2", "路灯不亮").await;
    flag(&app, &p.monitor, "https://weibo.com/d/3", "噪音扰民").await;
    triage(&app, &p.dispatcher, &c1, "SIGNIFICANT").await;
    let position = triage(&app, &p.dispatcher, &c2, "GENERAL").await;

    let whole = app
        .ok(
            &p.evaluator,
            "query($p: Position) { dashboard(waitForPosition: $p) { totalCases openCases overdue dueWithin24h \
             byStatus { key count } byLevel { key count } byLeadUnit { key count } byPlatform { key count } \
             byCategory { key count } byProblemClass { key count } flagsPerDay { key count } } }",
            json!({ "p": position }),
        )
        .await["dashboard"]
        .clone();
    assert_eq!(whole["totalCases"], 3);
    assert!(!whole["byLevel"].as_array().unwrap().is_empty());

    let some = app
        .ok(
            &p.evaluator,
            "{ dashboard { openCases byLevel { key count } } }",
            json!({}),
        )
        .await["dashboard"]
        .clone();
    assert_eq!(some["openCases"], whole["openCases"]);
    assert_eq!(some["byLevel"], whole["byLevel"]);

    let through_fragment = app
        .ok(
            &p.evaluator,
            "query { dashboard { ...Figures } } fragment Figures on Dashboard { total: totalCases ... on Dashboard { byStatus { key count } } }",
            json!({}),
        )
        .await["dashboard"]
        .clone();
    assert_eq!(through_fragment["total"], whole["totalCases"]);
    assert_eq!(through_fragment["byStatus"], whole["byStatus"]);
}

on_both_backends!(
    scorecard_measures_match_the_hand_computed_values_now_and_as_of_an_earlier_instant,
    a_dashboard_asked_for_some_figures_shows_what_the_whole_dashboard_shows,
);

/// Trends by Asia/Shanghai day, ISO week and month, as computed by hand: flags and
/// their heat by the day of the flag, closures by the day of closing, missed deadlines
/// by the day they were recorded missed; every period present; filters and roles as
/// the dashboard's.
async fn trends_count_each_day_week_and_month_as_computed_by_hand(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    // Monday 2 March 2026, 09:00 in Shanghai (ISO week 10): three flags.
    let (a, _) = flag(&app, &p.monitor, "https://weibo.com/t/a", "甲").await;
    let (b, _) = flag(&app, &p.monitor, "https://weibo.com/t/b", "乙").await;
    flag(&app, &p.monitor, "https://weibo.com/t/c", "丙").await;
    triage(&app, &p.dispatcher, &a, "GENERAL").await;
    assign(&app, &p.dispatcher, &a, "city-housing", "LEAD").await;
    triage(&app, &p.dispatcher, &b, "GENERAL").await;
    let b_assignment = assign(&app, &p.dispatcher, &b, "city-housing", "LEAD").await;
    accept(&app, &p.housing_officer, &b, &b_assignment).await;
    let reply = submit_reply(&app, &p.housing_officer, &b, &b_assignment).await;
    approve(&app, &p.housing_head, &b, &reply).await;
    complete(&app, &p.housing_officer, &b, &b_assignment).await;
    // Tuesday: a fourth flag, and 乙 closed.
    app.clock.advance(Duration::hours(24));
    flag(&app, &p.monitor, "https://weibo.com/t/d", "丁").await;
    app.ok(
        &p.dispatcher,
        "mutation($c: ID!) { closeCase(caseId: $c, outcome: \"已解决\") { position } }",
        json!({ "c": b }),
    )
    .await;
    // Thursday: 甲's 48-hour feedback deadline (Wednesday 09:00) is recorded missed.
    app.clock.advance(Duration::hours(48));
    // The deadline process reads open deadlines from the read models.
    app.wait_until_projected().await;
    app.deadlines.run_once().await.unwrap();
    // Tuesday of week 11: a fifth flag.
    app.clock.advance(Duration::days(5));
    flag(&app, &p.monitor, "https://weibo.com/t/e", "戊").await;
    let head = app.head().await.to_string();

    let query = "query($g: TrendGranularity!, $f: TrendFilterInput, $p: Position) { trends(from: \"2026-03-01\", to: \"2026-03-12\", granularity: $g, filter: $f, waitForPosition: $p) { period label from to flags heat closures overdue } }";
    let points = |data: &Value| -> Vec<(String, i64, i64, i64, i64)> {
        data["trends"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["period"].as_str().unwrap().to_owned(),
                    p["flags"].as_i64().unwrap(),
                    p["heat"].as_i64().unwrap(),
                    p["closures"].as_i64().unwrap(),
                    p["overdue"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let days = app
        .ok(&p.dispatcher, query, json!({ "g": "DAY", "p": head }))
        .await;
    let by_day = points(&days);
    assert_eq!(by_day.len(), 11, "every day of [03-01, 03-12) is present");
    let day = |key: &str| by_day.iter().find(|p| p.0 == key).unwrap().clone();
    assert_eq!(day("2026-03-01"), ("2026-03-01".into(), 0, 0, 0, 0));
    assert_eq!(day("2026-03-02"), ("2026-03-02".into(), 3, 3600, 0, 0));
    assert_eq!(day("2026-03-03"), ("2026-03-03".into(), 1, 1200, 1, 0));
    assert_eq!(day("2026-03-05"), ("2026-03-05".into(), 0, 0, 0, 1));
    assert_eq!(day("2026-03-10"), ("2026-03-10".into(), 1, 1200, 0, 0));
    assert_eq!(days["trends"][1]["label"], "3月2日");
    let totals: (i64, i64, i64) = by_day
        .iter()
        .fold((0, 0, 0), |t, p| (t.0 + p.1, t.1 + p.3, t.2 + p.4));
    assert_eq!(totals, (5, 1, 1));

    let weeks = app
        .ok(&p.dispatcher, query, json!({ "g": "ISO_WEEK", "p": head }))
        .await;
    assert_eq!(
        points(&weeks),
        vec![
            ("2026-W09".into(), 0, 0, 0, 0),
            ("2026-W10".into(), 4, 4800, 1, 1),
            ("2026-W11".into(), 1, 1200, 0, 0),
        ]
    );
    // A period is clipped to the range asked.
    assert_eq!(weeks["trends"][0]["from"], "2026-03-01");
    assert_eq!(weeks["trends"][0]["to"], "2026-03-02");
    assert_eq!(weeks["trends"][2]["to"], "2026-03-12");
    assert_eq!(weeks["trends"][1]["label"], "2026年第10周");
    let months = app
        .ok(&p.dispatcher, query, json!({ "g": "MONTH", "p": head }))
        .await;
    assert_eq!(points(&months), vec![("2026-03".into(), 5, 6000, 1, 1)]);

    // Filtered like the case list: the housing bureau's cases are 甲 and 乙.
    let housing = app
        .ok(
            &p.dispatcher,
            query,
            json!({ "g": "MONTH", "f": { "unitId": "city-housing", "level": "GENERAL" }, "p": head }),
        )
        .await;
    assert_eq!(points(&housing), vec![("2026-03".into(), 2, 2400, 1, 1)]);
    let major = app
        .ok(
            &p.dispatcher,
            query,
            json!({ "g": "MONTH", "f": { "level": "MAJOR" }, "p": head }),
        )
        .await;
    assert_eq!(points(&major), vec![("2026-03".into(), 0, 0, 0, 0)]);

    // The dashboard's readers only; a range beyond the bounds is refused clearly.
    let (code, _) = app
        .error_code(&p.housing_officer, query, json!({ "g": "DAY" }))
        .await;
    assert_eq!(code, "FORBIDDEN");
    let (code, message) = app
        .error_code(
            &p.dispatcher,
            "{ trends(from: \"2026-01-01\", to: \"2027-06-01\", granularity: DAY) { period } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "VALIDATION");
    assert!(message.contains("at most 400"), "{message}");
}

on_both_backends!(trends_count_each_day_week_and_month_as_computed_by_hand);
