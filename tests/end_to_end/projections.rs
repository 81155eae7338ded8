//! Projections: a rebuild from the log equals the incrementally built read models, a
//! runner stopped between batches loses and repeats nothing, and the board's history
//! answers at every instant what a replay of the log up to it answers.

use serde_json::json;
use sqlx::Row;
use whistle_projections::queries::{self as q, DashboardPart};
use whistle_projections::replay::{ReplayScope, replay_until};
use whistle_projections::{ProjectionRunner, dump_read_models, rebuild, reset};
use whistle_store::EventStore;
use whistle_store::from_micros;

use crate::helpers::*;

/// A few cases through assignment, return, rejection, replies and closing.
pub async fn busy_day(app: &TestApp) {
    busy_day_ticking(app, chrono::Duration::zero()).await;
}

/// The busy day with the clock moving on by `tick` after every command.
async fn busy_day_ticking(app: &TestApp, step: chrono::Duration) {
    let tick = || app.clock.advance(step);
    let p = standard_city(app).await;
    let mut last_case = String::new();
    for i in 0..6 {
        let (case, _) = flag(
            app,
            &p.monitor,
            &format!("https://weibo.com/busy/{i}"),
            &format!("忙碌的一天{i}"),
        )
        .await;
        tick();
        if i == 5 {
            last_case = case;
            continue;
        }
        triage(
            app,
            &p.dispatcher,
            &case,
            if i % 2 == 0 { "GENERAL" } else { "MAJOR" },
        )
        .await;
        tick();
        let lead = assign(app, &p.dispatcher, &case, "city-housing", "LEAD").await;
        tick();
        if i == 4 {
            continue;
        }
        let co = assign(app, &p.dispatcher, &case, "city-transport", "CO_HANDLER").await;
        tick();
        app.ok(&p.transport_officer, "mutation($c: ID!, $a: ID!) { returnAssignment(caseId: $c, assignmentId: $a, reason: \"不属于本单位\") { position } }", json!({ "c": case, "a": co })).await;
        tick();
        if i % 2 == 0 {
            app.ok(&p.dispatcher, "mutation($c: ID!, $a: ID!) { acceptReturn(caseId: $c, assignmentId: $a) { position } }", json!({ "c": case, "a": co })).await;
            tick();
        } else {
            app.ok(&p.dispatcher, "mutation($c: ID!, $a: ID!) { rejectReturn(caseId: $c, assignmentId: $a, note: \"须办理\") { position } }", json!({ "c": case, "a": co })).await;
            tick();
        }
        accept(app, &p.housing_officer, &case, &lead).await;
        tick();
        app.clock.advance(chrono::Duration::hours(5));
        let reply = submit_reply(app, &p.housing_officer, &case, &lead).await;
        tick();
        approve(app, &p.housing_head, &case, &reply).await;
        tick();
        if i == 0 {
            complete(app, &p.housing_officer, &case, &lead).await;
            tick();
            app.ok(
                &p.dispatcher,
                "mutation($c: ID!) { closeCase(caseId: $c, outcome: \"已解决\") { position } }",
                json!({ "c": case }),
            )
            .await;
            tick();
        }
    }
    app.ok(&p.admin, "mutation { renameUnit(unitId: \"city-housing\", name: \"市住房和城乡建设局\") { position } }", json!({})).await;
    tick();
    app.ok(&p.evaluator, "mutation { applyPenalty(unitId: \"city-transport\", kind: PUBLIC_CRITICISM, points: 3, reason: \"推诿扯皮\", periodFrom: \"2026-01-01\", periodTo: \"2027-01-01\") { position } }", json!({})).await;
    tick();
    // The last case's author is looked at (a recorded look), then erased on request: the
    // read models must rebuild to the erased state too.
    let head = app.head().await;
    app.ok(
        &p.dispatcher,
        "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { posts { author } } }",
        json!({ "c": last_case, "p": head }),
    )
    .await;
    tick();
    let erasure = app
        .ok(&p.dispatcher, "mutation($c: ID!) { proposePersonalDataErasure(caseId: $c, legalBasis: \"本人申请删除\") { createdId } }", json!({ "c": last_case }))
        .await["proposePersonalDataErasure"]["createdId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(&p.inspector, "mutation($c: ID!, $e: ID!) { approvePersonalDataErasure(caseId: $c, erasureId: $e) { position } }", json!({ "c": last_case, "e": erasure })).await;
    tick();
}

/// A busy day recorded and projected by the server, which is then stopped; the store
/// reopened on its database.
async fn busy_day_then_stopped(backend: TestBackend) -> (EventStore, TestDatabase) {
    let app = spawn_app_on(backend).await;
    busy_day(&app).await;
    app.wait_until_projected().await;
    let database = app.stop().await;
    (database.store().await, database)
}

async fn a_rebuild_from_the_log_equals_the_incrementally_built_read_models(backend: TestBackend) {
    let (store, _dir) = busy_day_then_stopped(backend).await;
    let incremental = dump_read_models(&store).await.unwrap();
    assert!(
        incremental["rm_cases"].len() == 6
            && incremental["rm_timeline"].len() as i64 == store.head_position().await.unwrap()
    );
    rebuild(&store, 13).await.unwrap();
    let rebuilt = dump_read_models(&store).await.unwrap();
    for (table, rows) in &incremental {
        assert_eq!(
            rows, &rebuilt[table],
            "table {table} differs after a rebuild"
        );
    }
}

async fn a_runner_stopped_between_batches_resumes_without_losing_or_repeating_events(
    backend: TestBackend,
) {
    let (store, _dir) = busy_day_then_stopped(backend).await;
    let incremental = dump_read_models(&store).await.unwrap();

    reset(&store).await.unwrap();
    let first = ProjectionRunner::new(store.clone(), 5).await.unwrap();
    for _ in 0..3 {
        assert!(first.run_one_batch().await.unwrap() > 0);
    }
    let part_way = first.progress().current();
    assert!(part_way > 0 && part_way < store.head_position().await.unwrap());
    drop(first); // stopped between batches

    let second = ProjectionRunner::new(store.clone(), 5).await.unwrap();
    assert_eq!(
        second.progress().current(),
        part_way,
        "the checkpoint survived the stop"
    );
    second.catch_up().await.unwrap();
    let resumed = dump_read_models(&store).await.unwrap();
    for (table, rows) in &incremental {
        assert_eq!(
            rows, &resumed[table],
            "table {table} differs after resuming"
        );
    }
}

async fn a_rebuild_beside_a_live_runner_applies_each_event_once(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    busy_day(&app).await;
    app.wait_until_projected().await;
    let incremental = dump_read_models(app.store()).await.unwrap();
    // The live runner keeps running while the read models are rebuilt under it.
    rebuild(app.store(), 4).await.unwrap();
    app.wait_until_projected().await;
    let after = dump_read_models(app.store()).await.unwrap();
    for (table, rows) in &incremental {
        assert_eq!(
            rows, &after[table],
            "table {table} differs after a concurrent rebuild"
        );
    }
}

/// The dashboard and units' names from the board's history equal, at every instant an
/// event was recorded (and just before it), what the projections give when the log is
/// replayed up to that instant into a scratch database — an independent computation.
async fn the_dashboard_from_the_history_equals_a_replay_at_every_instant(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    // Seven minutes between commands, then two days on: deadlines approach and are
    // missed (the deadline process records them), some on cases closed meanwhile.
    busy_day_ticking(&app, chrono::Duration::minutes(7)).await;
    for _ in 0..4 {
        app.clock.advance(chrono::Duration::hours(12));
        app.deadlines.run_once().await.unwrap();
    }
    app.wait_until_projected().await;
    let database = app.stop().await;
    let (store, _dir) = (database.store().await, database);
    let missed: i64 =
        sqlx::query("SELECT COUNT(*) FROM events WHERE event_type = 'DeadlineMissed'")
            .fetch_one(store.database().pool())
            .await
            .unwrap()
            .get(0);
    assert!(missed > 0, "deadlines were missed");
    let instants: Vec<i64> = sqlx::query("SELECT DISTINCT recorded_at FROM events ORDER BY 1")
        .fetch_all(store.database().pool())
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<i64, _>(0).unwrap())
        .collect();
    assert!(instants.len() > 40, "every command at its own instant");
    let mut compared = 0;
    for micros in instants.iter().flat_map(|t| [t - 1, *t]) {
        let at = from_micros(micros);
        let replay = replay_until(&store, at, ReplayScope::All).await.unwrap();
        let replayed = q::dashboard(replay.pool(), at, None, None).await.unwrap();
        let from_history =
            q::dashboard_as_of(store.database().pool(), at, None, None, &DashboardPart::ALL)
                .await
                .unwrap();
        assert_eq!(from_history, replayed, "the dashboard as of {at}");
        // Over a period that is not whole Shanghai days the live dashboard groups the
        // cases themselves instead of adding up counts per day.
        let (from, to) = (
            Some(from_micros(1)),
            Some(from_micros(micros + 86_400_000_000)),
        );
        let replayed_grouped = q::dashboard(replay.pool(), at, from, to).await.unwrap();
        assert_eq!(replayed_grouped, replayed, "grouped and counted as of {at}");
        let replayed_names: std::collections::HashMap<String, String> = q::units(replay.pool())
            .await
            .unwrap()
            .into_iter()
            .map(|unit| (unit.unit_id, unit.name))
            .collect();
        let names = q::unit_names_as_of(store.database().pool(), at)
            .await
            .unwrap();
        assert_eq!(names, replayed_names, "units' names as of {at}");
        compared += 1;
    }
    // The last instant: the history's dashboard is the live one.
    let last = from_micros(*instants.last().unwrap());
    let live = q::dashboard(store.database().pool(), last, None, None)
        .await
        .unwrap();
    let from_history = q::dashboard_as_of(
        store.database().pool(),
        last,
        None,
        None,
        &DashboardPart::ALL,
    )
    .await
    .unwrap();
    assert_eq!(from_history, live);
    assert!(
        live.total_cases == 6 && !live.by_category.is_empty() && live.overdue > 0,
        "{live:?}"
    );
    assert!(compared > 80);
}

/// A read model whose tables were built by another version is emptied and rebuilt; until
/// it reaches the head of the log the runner says so (projection, versions, how far), and
/// then it no longer does — and the rebuilt tables equal the ones built incrementally.
async fn a_projection_whose_version_changed_reports_its_rebuild_until_caught_up(
    backend: TestBackend,
) {
    let (store, _dir) = busy_day_then_stopped(backend).await;
    let incremental = dump_read_models(&store).await.unwrap();
    let head = store.head_position().await.unwrap();
    sqlx::query("UPDATE projection_checkpoints SET version = version - 1 WHERE name = 'timeline'")
        .execute(store.database().pool())
        .await
        .unwrap();
    let runner = ProjectionRunner::new(store.clone(), 5).await.unwrap();
    let progress = runner.progress();
    let timeline = whistle_projections::Projection::Timeline;
    let expected = |reached| {
        vec![whistle_projections::Rebuilding {
            projection: "timeline",
            from_version: timeline.version() - 1,
            to_version: timeline.version(),
            reached,
            head,
        }]
    };
    assert_eq!(
        progress.rebuilding(),
        expected(0),
        "emptied, rebuilding from 0"
    );
    assert_eq!(progress.current(), 0);
    runner.run_one_batch().await.unwrap();
    assert_eq!(progress.rebuilding(), expected(5), "five events in");
    runner.catch_up().await.unwrap();
    assert_eq!(progress.rebuilding(), vec![], "done at the head");
    assert_eq!(progress.current(), head);
    assert_eq!(dump_read_models(&store).await.unwrap(), incremental);
    // A runner started on read models of this version rebuilds nothing.
    let again = ProjectionRunner::new(store.clone(), 5).await.unwrap();
    assert_eq!(again.progress().rebuilding(), vec![]);
}

on_both_backends!(
    a_projection_whose_version_changed_reports_its_rebuild_until_caught_up,
    the_dashboard_from_the_history_equals_a_replay_at_every_instant,
    a_rebuild_from_the_log_equals_the_incrementally_built_read_models,
    a_runner_stopped_between_batches_resumes_without_losing_or_repeating_events,
    a_rebuild_beside_a_live_runner_applies_each_event_once,
);

/// On PostgreSQL a large catch-up (here a rebuild of 6,000 events) leaves the read-model
/// tables vacuumed and analysed, so queries get good plans at once.
#[tokio::test]
async fn a_large_catch_up_on_postgres_vacuums_and_analyses_the_read_models() {
    use whistle_domain::text::RequiredText;
    use whistle_domain::{Actor, CommandId, Event, Role, UnitId, UnitKind, UserId};
    use whistle_store::{AppendRequest, CommandMetadata, ExpectedVersion};

    let database = TestDatabase::new(TestBackend::Postgres).await;
    let store = database.store().await;
    let admin = Actor::new(
        UserId::parse("admin").unwrap(),
        "系统管理员",
        Role::Admin,
        UnitId::parse("city-cac").unwrap(),
    )
    .unwrap();
    let mut appends = Vec::new();
    for n in 0..6_000 {
        let store = store.clone();
        let admin = admin.clone();
        appends.push(tokio::spawn(async move {
            let unit_id = UnitId::parse(&format!("town-{n:05}")).unwrap();
            let command_id = CommandId::from_uuid(uuid::Uuid::now_v7());
            store
                .append(AppendRequest {
                    stream_id: whistle_domain::StreamId::Unit(unit_id.clone()),
                    expected_version: ExpectedVersion::NoStream,
                    events: vec![Event::UnitRegistered {
                        unit_id,
                        name: RequiredText::parse("name", &format!("乡镇{n}")).unwrap(),
                        kind: UnitKind::TownshipOrStreet,
                        parent: None,
                        jurisdiction: None,
                    }],
                    metadata: CommandMetadata {
                        actor: admin,
                        command_id,
                        correlation_id: command_id.as_uuid(),
                        causation_id: None,
                        recorded_at: chrono::Utc::now(),
                        fingerprint: None,
                    },
                    claims: vec![],
                    erases_personal_data_of: None,
                })
                .await
                .unwrap();
        }));
    }
    for append in appends {
        append.await.unwrap();
    }
    rebuild(&store, 1_000).await.unwrap();
    let vacuumed: i64 = sqlx::Row::get(
        &sqlx::query(
            "SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname IN ('rm_units', 'rm_timeline') \
             AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL",
        )
        .fetch_one(store.database().pool())
        .await
        .unwrap(),
        0,
    );
    assert_eq!(vacuumed, 2);
    store.database().close().await;
}
