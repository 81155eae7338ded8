//! The deadline process writes DeadlineApproaching and DeadlineMissed as the system,
//! exactly once per deadline — across repeated passes, a restart and a racing second
//! process — and never for feedback given in time.

use chrono::Duration;
use serde_json::json;
use whistle_app::deadlines::{DeadlinePass, DeadlineProcess};
use whistle_domain::UnitId;

use crate::helpers::*;

async fn count_events(app: &TestApp, event_type: &str) -> usize {
    app.store()
        .read_all(0, 100_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event_type == event_type)
        .count()
}

async fn pass(app: &TestApp) -> DeadlinePass {
    app.wait_until_projected().await;
    app.deadlines.run_once().await.unwrap()
}

async fn a_missed_feedback_deadline_is_warned_and_recorded_once_across_passes_and_restarts(
    backend: TestBackend,
) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, _) = flag(&app, &p.monitor, "https://weibo.com/deadline/1", "超期").await;
    triage(&app, &p.dispatcher, &case, "GENERAL").await;
    assign(&app, &p.dispatcher, &case, "city-housing", "LEAD").await;

    app.clock.advance(Duration::hours(43));
    assert_eq!(
        pass(&app).await.warnings,
        0,
        "not yet inside the 4 h warning window"
    );
    app.clock.advance(Duration::hours(2));
    assert_eq!(
        pass(&app).await,
        DeadlinePass {
            cases_checked: 1,
            warnings: 1,
            misses: 0,
            recomputed: 0,
            erased: 0
        }
    );
    assert_eq!(pass(&app).await.warnings, 0, "warned once");
    app.clock.advance(Duration::hours(4));
    assert_eq!(pass(&app).await.misses, 1);
    assert_eq!(pass(&app).await.misses, 0, "missed once");
    // A restarted process (new instance, nothing in memory) writes nothing more.
    let restarted = DeadlineProcess::new(app.handler.clone(), UnitId::parse("city-cac").unwrap());
    app.wait_until_projected().await;
    assert_eq!(restarted.run_once().await.unwrap().misses, 0);

    assert_eq!(count_events(&app, "DeadlineApproaching").await, 1);
    assert_eq!(count_events(&app, "DeadlineMissed").await, 1);
    let missed = app
        .store()
        .read_all(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event_type == "DeadlineMissed")
        .unwrap();
    assert_eq!(missed.actor.role, whistle_domain::Role::System);
    app.wait_until_projected().await;
    let card = app
        .ok(&p.evaluator, "{ scorecards(from: \"2026-03-01\", to: \"2026-04-01\", unitId: \"city-housing\") { overdueCount } }", json!({}))
        .await;
    assert_eq!(card["scorecards"][0]["overdueCount"], 1);
    let timeline = app
        .ok(&p.dispatcher, "query($c: ID!) { caseTimeline(caseId: $c) { edges { node { eventType actorName summary } } } }", json!({ "c": case }))
        .await;
    let missed = timeline["caseTimeline"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["eventType"] == "DeadlineMissed")
        .unwrap();
    assert_eq!(missed["node"]["actorName"], "系统");
    assert!(
        missed["node"]["summary"]
            .as_str()
            .unwrap()
            .contains("市住建局的反馈时限"),
        "{missed:#}"
    );
}

async fn feedback_approved_in_time_gets_no_missed_deadline(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let (case, _) = flag(&app, &p.monitor, "https://weibo.com/deadline/2", "按时").await;
    triage(&app, &p.dispatcher, &case, "MAJOR").await;
    let assignment = assign(&app, &p.dispatcher, &case, "city-housing", "LEAD").await;
    app.clock.advance(Duration::hours(3));
    accept(&app, &p.housing_officer, &case, &assignment).await;
    let reply = submit_reply(&app, &p.housing_officer, &case, &assignment).await;
    approve(&app, &p.housing_head, &case, &reply).await;
    app.clock.advance(Duration::hours(40));
    assert_eq!(pass(&app).await, DeadlinePass::default());
    assert_eq!(count_events(&app, "DeadlineMissed").await, 0);
}

async fn two_processes_racing_on_one_database_write_each_deadline_event_once(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    for i in 0..4 {
        let (case, _) = flag(
            &app,
            &p.monitor,
            &format!("https://weibo.com/deadline/race/{i}"),
            "竞争",
        )
        .await;
        triage(&app, &p.dispatcher, &case, "MAJOR").await;
        assign(&app, &p.dispatcher, &case, "city-housing", "LEAD").await;
        assign(&app, &p.dispatcher, &case, "city-transport", "CO_HANDLER").await;
    }
    app.clock.advance(Duration::hours(30));
    app.wait_until_projected().await;
    let other = DeadlineProcess::new(app.handler.clone(), UnitId::parse("city-cac").unwrap());
    let (first, second) = tokio::join!(app.deadlines.run_once(), other.run_once());
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.misses + second.misses, 8, "{first:?} {second:?}");
    assert_eq!(count_events(&app, "DeadlineMissed").await, 8);
    // Inside the window both deadlines were already past, so no warnings were due.
    assert_eq!(count_events(&app, "DeadlineApproaching").await, 0);
}

async fn supervisors_see_and_urge_the_cases_of_the_levels_their_unit_supervises(
    backend: TestBackend,
) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let cac_supervisor = app.token("s-cac", "林督办", "supervisor", "city-cac");
    let (general, _) = flag(
        &app,
        &p.monitor,
        "https://weibo.com/supervise/g",
        "一般事项",
    )
    .await;
    triage(&app, &p.dispatcher, &general, "GENERAL").await;
    assign(&app, &p.dispatcher, &general, "city-housing", "LEAD").await;
    let (significant, _) = flag(
        &app,
        &p.monitor,
        "https://weibo.com/supervise/s",
        "较大事项",
    )
    .await;
    triage(&app, &p.dispatcher, &significant, "SIGNIFICANT").await;
    assign(&app, &p.dispatcher, &significant, "city-transport", "LEAD").await;

    let queue = "query($p: Position) { supervisionQueue(waitForPosition: $p) { caseTitle caseLevelLabel unitName overdue deadline { kindLabel } } }";
    app.clock.advance(Duration::hours(10));
    let head = app.head().await;
    let empty = app.ok(&cac_supervisor, queue, json!({ "p": head })).await;
    assert_eq!(
        empty["supervisionQueue"],
        json!([]),
        "nothing due within 24 h yet"
    );
    app.clock.advance(Duration::hours(39));
    let mine = app.ok(&cac_supervisor, queue, json!({ "p": head })).await;
    assert_eq!(
        mine["supervisionQueue"],
        json!([{ "caseTitle": "一般事项", "caseLevelLabel": "一般", "unitName": "市住建局", "overdue": true, "deadline": { "kindLabel": "反馈时限" } }])
    );
    let office = app.ok(&p.supervisor, queue, json!({ "p": head })).await;
    assert_eq!(office["supervisionQueue"][0]["caseTitle"], "较大事项");
    assert_eq!(office["supervisionQueue"].as_array().unwrap().len(), 1);

    let urge = "mutation($c: ID!, $u: ID!) { urgeSupervision(caseId: $c, unitId: $u, note: \"请立即反馈\") { position } }";
    let (code, message) = app
        .error_code(
            &cac_supervisor,
            urge,
            json!({ "c": significant, "u": "city-transport" }),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    assert!(message.contains("city-supervision"), "{message}");
    app.ok(
        &p.supervisor,
        urge,
        json!({ "c": significant, "u": "city-transport" }),
    )
    .await;
    app.ok(
        &cac_supervisor,
        urge,
        json!({ "c": general, "u": "city-housing" }),
    )
    .await;
    let (code, _) = app.error_code(&p.dispatcher, queue, json!({})).await;
    assert_eq!(code, "FORBIDDEN");
}

/// 29 December 2026, with 2027's holiday schedule not compiled in: a leader's instruction
/// is still recorded, due by weekdays only and marked provisional; readiness warns that
/// next year is missing. Restarted with 2027 loaded (`--calendar`), the deadline process
/// recomputes it from the published schedule, as an event.
async fn a_deadline_over_an_unpublished_year_is_provisional_until_the_year_is_loaded(
    backend: TestBackend,
) {
    let app = spawn_app_on(backend).await;
    let p = standard_city(&app).await;
    let tuesday: chrono::DateTime<chrono::Utc> = "2026-12-29T02:00:00Z".parse().unwrap();
    app.clock.set(tuesday);
    let (case, _) = flag(&app, &p.monitor, "https://weibo.com/2027/1", "跨年事项").await;
    triage(&app, &p.dispatcher, &case, "GENERAL").await;
    let memo = app
        .ok(
            &p.dispatcher,
            "mutation($c: ID!) { sendMemo(caseId: $c, summary: \"请批示\") { createdId } }",
            json!({ "c": case }),
        )
        .await["sendMemo"]["createdId"]
        .as_str()
        .unwrap()
        .to_owned();
    let instructed = app
        .ok(
            &p.leader,
            "mutation($c: ID!, $m: ID!) { instructOnMemo(caseId: $c, memoId: $m, instruction: \"三个工作日内办结\") { position } }",
            json!({ "c": case, "m": memo }),
        )
        .await["instructOnMemo"]["position"]
        .as_str()
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap();
    let deadlines = "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { deadlines { kind dueAt rule } } }";
    let before = app
        .ok(
            &p.dispatcher,
            deadlines,
            json!({ "c": case, "p": instructed }),
        )
        .await;
    let instruction = |data: &serde_json::Value| {
        data["case"]["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == "LEADER_INSTRUCTION")
            .cloned()
            .unwrap()
    };
    assert_eq!(
        instruction(&before)["rule"],
        "leader_instruction/v1=3wd/provisional"
    );
    assert_eq!(instruction(&before)["dueAt"], "2027-01-01T16:00:00+00:00");
    let (_, ready) = readyz(&app).await;
    assert!(
        ready["warnings"][0].as_str().unwrap().contains("2027"),
        "{ready}"
    );
    let database = app.stop().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("2027.json"),
        r#"{"year": 2027, "papers": [], "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}]}"#,
    )
    .unwrap();
    let calendar = whistle_app::calendar_files::load(dir.path()).unwrap();
    let app = spawn_app_configured(database, |config| {
        config.app.calendar = std::sync::Arc::new(calendar);
    })
    .await;
    app.clock.set(tuesday + chrono::Duration::hours(1));
    let pass = pass(&app).await;
    assert_eq!(pass.recomputed, 1, "{pass:?}");
    assert_eq!(self::pass(&app).await.recomputed, 0, "recomputed once");
    let after = app
        .ok(
            &p.dispatcher,
            deadlines,
            json!({ "c": case, "p": app.head().await }),
        )
        .await;
    assert_eq!(instruction(&after)["rule"], "leader_instruction/v1=3wd");
    assert_eq!(instruction(&after)["dueAt"], "2027-01-04T16:00:00+00:00");
}

on_both_backends!(
    a_deadline_over_an_unpublished_year_is_provisional_until_the_year_is_loaded,
    a_missed_feedback_deadline_is_warned_and_recorded_once_across_passes_and_restarts,
    feedback_approved_in_time_gets_no_missed_deadline,
    two_processes_racing_on_one_database_write_each_deadline_event_once,
    supervisors_see_and_urge_the_cases_of_the_levels_their_unit_supervises,
);
