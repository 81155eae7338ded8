//! The audit ledger through the `whistle audit` commands an inspector runs: checkpoints,
//! proofs checked offline, and tampering with the database — each kind detected, with the
//! first bad position named — on SQLite and PostgreSQL.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::helpers::*;
use crate::projections::busy_day;

/// What a `whistle` command run answered.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn whistle(args: &[&str]) -> Ran {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_whistle-under-test"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("whistle-under-test runs");
    Ran {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// A log with a busy day in it, the server stopped; an inspector's key pair in `dir`.
async fn recorded_log(backend: TestBackend, dir: &Path) -> (TestDatabase, String) {
    let app = spawn_app_on(backend).await;
    busy_day(&app).await;
    let database = app.stop().await;
    let keygen = whistle(&[
        "audit",
        "keygen",
        "--origin",
        "whistle.test/log",
        "--out",
        &path(dir, "key"),
    ])
    .await;
    assert_eq!(keygen.code, 0, "{}", keygen.stderr);
    let public = keygen.stdout.trim().to_owned();
    assert!(public.starts_with("whistle.test/log+"), "{public}");
    (database, public)
}

async fn checkpoint(database: &TestDatabase, dir: &Path, name: &str) {
    let ran = whistle(&[
        "audit",
        "checkpoint",
        "--key",
        &path(dir, "key"),
        "--out",
        &path(dir, name),
        "--database-url",
        &database.url,
    ])
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

/// `whistle audit consistency` from the checkpoint `old` to `new` in `dir`, written to
/// `out` there; it must succeed.
async fn consistency(database: &TestDatabase, dir: &Path, old: &str, new: &str, out: &str) {
    let ran = whistle(&[
        "audit",
        "consistency",
        "--old",
        &path(dir, old),
        "--new",
        &path(dir, new),
        "--out",
        &path(dir, out),
        "--database-url",
        &database.url,
    ])
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

async fn full_audit(database: &TestDatabase, public: &str, checkpoints: &[PathBuf]) -> Ran {
    let mut args = vec![
        "audit",
        "verify",
        "--public-key",
        public,
        "--database-url",
        &database.url,
    ];
    let names: Vec<String> = checkpoints
        .iter()
        .map(|c| c.display().to_string())
        .collect();
    for name in &names {
        args.push("--checkpoint");
        args.push(name);
    }
    whistle(&args).await
}

async fn offline(public: &str, files: &[String]) -> Ran {
    let mut args = vec!["audit", "verify", "--offline", "--public-key", public];
    args.extend(files.iter().map(String::as_str));
    whistle(&args).await
}

async fn event_id_at(database: &TestDatabase, position: i64) -> String {
    let store = database.store().await;
    let event = store.read_all(position - 1, 1).await.unwrap().remove(0);
    store.database().close().await;
    event.event_id.to_string()
}

/// The README's inspector walk-through: a checkpoint, work goes on, a second checkpoint;
/// a third party checks offline that the first log is a prefix of the second and that
/// an event was recorded — and refuses every proof or checkpoint with a bit flipped.
async fn an_inspector_proves_a_prefix_and_a_recorded_event_to_a_third_party(backend: TestBackend) {
    let dir = tempfile::tempdir().unwrap();
    let (database, public) = recorded_log(backend, dir.path()).await;
    checkpoint(&database, dir.path(), "first.checkpoint").await;

    // Work continues.
    let app = spawn_app_with(database).await;
    let monitor = app.token("m1", "李监测", "monitor", "city-cac");
    flag(&app, &monitor, "https://weibo.com/after/1", "检查点之后").await;
    let database = app.stop().await;
    checkpoint(&database, dir.path(), "second.checkpoint").await;

    let event = event_id_at(&database, 3).await;
    let prove = whistle(&[
        "audit",
        "prove",
        "--event",
        &event,
        "--checkpoint",
        &path(dir.path(), "first.checkpoint"),
        "--out",
        &path(dir.path(), "event.proof"),
        "--database-url",
        &database.url,
    ])
    .await;
    assert_eq!(prove.code, 0, "{}", prove.stderr);
    consistency(
        &database,
        dir.path(),
        "first.checkpoint",
        "second.checkpoint",
        "prefix.proof",
    )
    .await;

    let files: Vec<String> = [
        "first.checkpoint",
        "second.checkpoint",
        "event.proof",
        "prefix.proof",
    ]
    .iter()
    .map(|f| path(dir.path(), f))
    .collect();
    let checked = offline(&public, &files).await;
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    assert_eq!(
        checked
            .stdout
            .lines()
            .filter(|l| l.starts_with("OK "))
            .count(),
        4,
        "{}",
        checked.stdout
    );
    assert!(
        checked
            .stdout
            .contains(&format!("event {event} is entry 3")),
        "{}",
        checked.stdout
    );

    // The public key of another log verifies nothing.
    let other = whistle(&[
        "audit",
        "keygen",
        "--origin",
        "whistle.test/log",
        "--out",
        &path(dir.path(), "other"),
    ])
    .await;
    let refused = offline(other.stdout.trim(), &files[..1]).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);

    // One bit flipped anywhere that matters: refused.
    let mut flips: Vec<(String, String)> = Vec::new();
    let proof: Value = serde_json::from_str(&std::fs::read_to_string(&files[2]).unwrap()).unwrap();
    let mut flipped_path = proof.clone();
    let element = flipped_path["proof"][0].as_str().unwrap().to_owned();
    let mut bytes = base64_decode(&element);
    bytes[0] ^= 1;
    flipped_path["proof"][0] = json!(base64_encode(&bytes));
    flips.push(("a proof hash".into(), flipped_path.to_string()));
    let mut flipped_event = proof.clone();
    let payload = flipped_event["event"]["payload"]
        .as_str()
        .unwrap()
        .to_owned();
    flipped_event["event"]["payload"] = json!(flip_one_ascii_bit(&payload));
    flips.push(("the event's payload".into(), flipped_event.to_string()));
    let mut flipped_actor = proof.clone();
    flipped_actor["event"]["actor_name"] = json!("冒名者");
    flips.push(("the event's actor".into(), flipped_actor.to_string()));
    let checkpoint_text = std::fs::read_to_string(&files[0]).unwrap();
    flips.push((
        "the checkpoint".into(),
        flip_one_ascii_bit(&checkpoint_text),
    ));
    let prefix: Value = serde_json::from_str(&std::fs::read_to_string(&files[3]).unwrap()).unwrap();
    let mut flipped_prefix = prefix.clone();
    let element = flipped_prefix["proof"][0].as_str().unwrap().to_owned();
    let mut bytes = base64_decode(&element);
    bytes[31] ^= 0x80;
    flipped_prefix["proof"][0] = json!(base64_encode(&bytes));
    flips.push(("a consistency hash".into(), flipped_prefix.to_string()));
    for (what, text) in flips {
        let file = dir.path().join("flipped");
        std::fs::write(&file, text).unwrap();
        let ran = offline(&public, &[file.display().to_string()]).await;
        assert_eq!(
            ran.code, 1,
            "a flipped bit in {what} was accepted: {}",
            ran.stdout
        );
        std::fs::remove_file(&file).unwrap();
    }

    // An export: every return and rejected return, as CSV rows and as an evidence bundle
    // of those events with their proofs against the first checkpoint.
    let export = whistle(&[
        "audit",
        "export",
        "--checkpoint",
        &files[0],
        "--csv",
        &path(dir.path(), "returns.csv"),
        "--bundle",
        &path(dir.path(), "returns.evidence"),
        "--event-type",
        "AssignmentReturned",
        "--event-type",
        "ReturnRejected",
        "--database-url",
        &database.url,
    ])
    .await;
    assert_eq!(export.code, 0, "{}", export.stderr);
    let csv = std::fs::read_to_string(dir.path().join("returns.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert!(rows.len() >= 2, "{csv}");
    assert!(
        rows.iter()
            .all(|r| r.contains("AssignmentReturned") || r.contains("ReturnRejected"))
    );
    let evidence = path(dir.path(), "returns.evidence");
    let checked = offline(&public, std::slice::from_ref(&evidence)).await;
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    assert!(
        checked
            .stdout
            .contains(&format!("{} events, each proven", rows.len())),
        "{}",
        checked.stdout
    );
    let mut forged: Value =
        serde_json::from_str(&std::fs::read_to_string(&evidence).unwrap()).unwrap();
    forged["events"][1]["event"]["actor_id"] = json!("someone-else");
    std::fs::write(dir.path().join("forged.evidence"), forged.to_string()).unwrap();
    let refused = offline(&public, &[path(dir.path(), "forged.evidence")]).await;
    assert_eq!(refused.code, 1, "{}", refused.stdout);

    // The same proofs through GraphQL, for inspectors only.
    let app = spawn_app_with(database).await;
    let inspector = app.token("i1", "冯纪检", "inspector", "city-discipline");
    let first = std::fs::read_to_string(&files[0]).unwrap();
    let second = std::fs::read_to_string(&files[1]).unwrap();
    let answered = app
        .ok(
            &inspector,
            "query($e: ID!, $c: String!, $old: String!, $new: String!) { inclusionProof(eventId: $e, checkpoint: $c) consistencyProof(oldCheckpoint: $old, newCheckpoint: $new) }",
            json!({ "e": event, "c": first, "old": first, "new": second }),
        )
        .await;
    let over_graphql = [
        (
            "graphql-event.proof",
            answered["inclusionProof"].as_str().unwrap(),
        ),
        (
            "graphql-prefix.proof",
            answered["consistencyProof"].as_str().unwrap(),
        ),
    ];
    let mut graphql_files = Vec::new();
    for (name, text) in over_graphql {
        std::fs::write(dir.path().join(name), text).unwrap();
        graphql_files.push(path(dir.path(), name));
    }
    let checked = offline(&public, &graphql_files).await;
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    let dispatcher = app.token("d1", "王研判", "dispatcher", "city-cac");
    let (code, _) = app
        .error_code(
            &dispatcher,
            "query($e: ID!, $c: String!) { inclusionProof(eventId: $e, checkpoint: $c) }",
            json!({ "e": event, "c": first }),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let database = app.stop().await;

    // The full audit against the database agrees with both checkpoints.
    let audited = full_audit(
        &database,
        &public,
        &[
            dir.path().join("first.checkpoint"),
            dir.path().join("second.checkpoint"),
        ],
    )
    .await;
    assert_eq!(audited.code, 0, "{}{}", audited.stdout, audited.stderr);
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Flip the lowest bit of the first ASCII digit or letter after the first line (so the
/// text stays valid UTF-8).
fn flip_one_ascii_bit(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let start = text.find('\n').map_or(0, |n| n + 1);
    let at = (start..bytes.len())
        .find(|i| bytes[*i].is_ascii_alphanumeric())
        .expect("something to flip");
    bytes[at] ^= 1;
    String::from_utf8(bytes).unwrap()
}

/// The ways someone with write access to the database might rewrite history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tamper {
    PayloadByte,
    Actor,
    Delete,
    Insert,
    Swap,
}

const TAMPERED_AT: i64 = 12;

async fn tamper(database: &TestDatabase, backend: TestBackend, how: Tamper) {
    let store = database.store().await;
    let pool = store.database().pool();
    let run = |sql: String| async move {
        sqlx::query(&sql)
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    };
    // A tamperer with the database's credentials first removes the guards.
    match backend {
        TestBackend::Sqlite => {
            run("DROP TRIGGER events_are_never_updated".into()).await;
            run("DROP TRIGGER events_are_never_deleted".into()).await;
        }
        TestBackend::Postgres => run("ALTER TABLE events DISABLE TRIGGER USER".into()).await,
    }
    let k = TAMPERED_AT;
    match how {
        Tamper::PayloadByte => {
            let payload: String = sqlx::Row::get(
                &sqlx::query("SELECT payload FROM events WHERE position = $1")
                    .bind(k)
                    .fetch_one(pool)
                    .await
                    .unwrap(),
                0,
            );
            // One digit of a value changes (the payload stays well-formed).
            let at = payload.find(|c: char| c.is_ascii_digit()).expect("a digit");
            let mut bytes = payload.clone().into_bytes();
            bytes[at] ^= 1;
            let changed = String::from_utf8(bytes).unwrap();
            assert_ne!(changed, payload);
            sqlx::query("UPDATE events SET payload = $1 WHERE position = $2")
                .bind(changed)
                .bind(k)
                .execute(pool)
                .await
                .unwrap();
        }
        Tamper::Actor => {
            run(format!(
                "UPDATE events SET actor_name = '冒名者', actor_id = 'x9' WHERE position = {k}"
            ))
            .await;
        }
        Tamper::Delete => {
            run(format!("DELETE FROM events WHERE position = {k}")).await;
        }
        Tamper::Insert => {
            run(format!(
                "UPDATE events SET position = position + 1000000 WHERE position >= {k}"
            ))
            .await;
            run("UPDATE events SET position = position - 999999 WHERE position > 1000000".into())
                .await;
            run(format!(
                "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, schema_version, payload, \
                 recorded_at, actor_id, actor_name, actor_role, actor_unit, command_id, correlation_id, causation_id) \
                 SELECT {k}, '00000000-0000-7000-8000-00000000f0f0', 'case-forged', 1, event_type, schema_version, payload, \
                 recorded_at, actor_id, actor_name, actor_role, actor_unit, command_id, correlation_id, causation_id \
                 FROM events WHERE position = {}",
                k - 1
            ))
            .await;
            run("UPDATE log_head SET position = position + 1 WHERE id = 1".into()).await;
        }
        Tamper::Swap => {
            run(format!(
                "UPDATE events SET position = -1 WHERE position = {k}"
            ))
            .await;
            run(format!(
                "UPDATE events SET position = {k} WHERE position = {}",
                k + 2
            ))
            .await;
            run(format!(
                "UPDATE events SET position = {} WHERE position = -1",
                k + 2
            ))
            .await;
        }
    }
    store.database().close().await;
}

/// Each kind of rewrite, made directly in the database after a checkpoint, is detected
/// by the full audit, which names the first bad position and says what happened there.
/// No hash is stored in the database, so a tamperer has none to recompute: the evidence
/// is the checkpoint (and its leaf list) the inspector holds.
async fn every_kind_of_tampering_is_detected_with_the_first_bad_position_named(
    backend: TestBackend,
) {
    for (how, expected) in [
        (Tamper::PayloadByte, "the event there was altered"),
        (Tamper::Actor, "the event there was altered"),
        (Tamper::Delete, "the event signed there was deleted"),
        (
            Tamper::Insert,
            "an event that was never signed was inserted",
        ),
        (
            Tamper::Swap,
            "reordered: the event signed at position 14 stands here",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (database, public) = recorded_log(backend, dir.path()).await;
        checkpoint(&database, dir.path(), "held.checkpoint").await;
        let held = [dir.path().join("held.checkpoint")];
        let before = full_audit(&database, &public, &held).await;
        assert_eq!(
            before.code, 0,
            "{how:?}: untouched log: {}{}",
            before.stdout, before.stderr
        );

        // A proof made before the rewrite builds the tree's tiles (the proofs' cache).
        let prove_at = |position: i64, out: &'static str| {
            let (url, dir) = (database.url.clone(), dir.path().to_owned());
            async move {
                // Read as stored: a forged row need not decode.
                let db = whistle_store::Database::connect(&url).await.unwrap();
                let event_id: String =
                    sqlx::query_scalar("SELECT event_id FROM events WHERE position = $1")
                        .bind(position)
                        .fetch_one(db.pool())
                        .await
                        .unwrap();
                db.close().await;
                whistle(&[
                    "audit",
                    "prove",
                    "--event",
                    &event_id,
                    "--checkpoint",
                    &path(&dir, "held.checkpoint"),
                    "--out",
                    &path(&dir, out),
                    "--database-url",
                    &url,
                ])
                .await
            }
        };
        let early = prove_at(2, "early.proof").await;
        assert_eq!(early.code, 0, "{}", early.stderr);

        tamper(&database, backend, how).await;
        // With the tiles built from the signed log, the rewritten event itself cannot be
        // proven; an untouched one still can, truly (the proof verifies offline against
        // the checkpoint). A deleted event has nothing left to prove.
        if how != Tamper::Delete {
            let rewritten = prove_at(TAMPERED_AT, "rewritten.proof").await;
            assert_eq!(
                rewritten.code, 1,
                "{how:?}: a proof was made for the rewritten event"
            );
        }
        let untouched = prove_at(2, "untouched.proof").await;
        assert_eq!(untouched.code, 0, "{how:?}: {}", untouched.stderr);
        let checked = offline(&public, &[path(dir.path(), "untouched.proof")]).await;
        assert_eq!(checked.code, 0, "{how:?}: {}", checked.stderr);
        // Without the tiles, the tree must be rebuilt from the rewritten log, whose root
        // is not the signed one: no proof at all (checked below).
        let store = database.store().await;
        sqlx::query("DELETE FROM audit_tiles")
            .execute(store.database().pool())
            .await
            .unwrap();
        store.database().close().await;
        let after = full_audit(&database, &public, &held).await;
        assert_eq!(
            after.code, 1,
            "{how:?} went undetected: {}{}",
            after.stdout, after.stderr
        );
        assert!(
            after
                .stderr
                .contains(&format!("first bad position: {TAMPERED_AT}: {expected}")),
            "{how:?}: {}",
            after.stderr
        );
        // Without the leaf list the audit still refuses, naming what it can: a gap in the
        // positions, or how far it can narrow the change.
        std::fs::remove_file(dir.path().join("held.checkpoint.leaves")).unwrap();
        let unlocated = full_audit(&database, &public, &held).await;
        assert_eq!(unlocated.code, 1, "{how:?}: {}", unlocated.stderr);
        let expected = match how {
            Tamper::Delete => {
                format!("first bad position: {TAMPERED_AT}: the log's positions skip")
            }
            _ => "first bad position: at or before".to_owned(),
        };
        assert!(
            unlocated.stderr.contains(&expected),
            "{how:?}: {}",
            unlocated.stderr
        );
        // And no proof can be made from the altered log against the checkpoint.
        let prove = whistle(&[
            "audit",
            "prove",
            "--event",
            &event_id_at(&database, 2).await,
            "--checkpoint",
            &path(dir.path(), "held.checkpoint"),
            "--out",
            &path(dir.path(), "p"),
            "--database-url",
            &database.url,
        ])
        .await;
        assert_eq!(
            prove.code, 1,
            "{how:?}: a proof was made from a tampered log"
        );
    }
}

/// On PostgreSQL the service can run as a role that may append events but never
/// update, delete or truncate them: `whistle migrate --service-role ROLE` sets that up.
#[tokio::test]
async fn the_service_role_may_append_events_but_never_rewrite_them() {
    use sqlx::Connection;
    let database = TestDatabase::new(TestBackend::Postgres).await;
    let role = format!("whistle_service_{}", uuid::Uuid::new_v4().simple());
    {
        let mut admin = sqlx::PgConnection::connect(&database.url).await.unwrap();
        sqlx::Executor::execute(&mut admin, format!("CREATE ROLE {role} LOGIN").as_str())
            .await
            .unwrap();
        admin.close().await.unwrap();
    }
    let migrated = whistle(&[
        "migrate",
        "--service-role",
        &role,
        "--database-url",
        &database.url,
    ])
    .await;
    assert_eq!(migrated.code, 0, "{}", migrated.stderr);
    let refused = whistle(&[
        "migrate",
        "--service-role",
        "Robert'); DROP TABLE events;--",
        "--database-url",
        &database.url,
    ])
    .await;
    assert_eq!(
        refused.code, 2,
        "a role name that is not plain is refused: {}",
        refused.stderr
    );

    // The service runs as that role: commands, projections, reads.
    let app = spawn_app_with(database.as_role(&role)).await;
    let people = standard_city(&app).await;
    let (case, position) = flag(
        &app,
        &people.monitor,
        "https://weibo.com/role/1",
        "受限角色",
    )
    .await;
    let seen = app
        .ok(
            &people.dispatcher,
            "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { caseId } }",
            json!({ "c": case, "p": position }),
        )
        .await;
    assert_eq!(seen["case"]["caseId"], json!(case));
    let service = app.stop().await;

    // As that role, history cannot be rewritten, even with the triggers out of the way.
    let mut connection = sqlx::PgConnection::connect(&service.url).await.unwrap();
    for statement in [
        "UPDATE events SET actor_name = '冒名者' WHERE position = 1",
        "DELETE FROM events WHERE position = 1",
        "TRUNCATE events",
        "ALTER TABLE events DISABLE TRIGGER USER",
        "DELETE FROM commands",
        "UPDATE unique_claims SET stream_id = 'case-x'",
        "UPDATE personal_data SET value = '冒名者'",
    ] {
        let error = sqlx::Executor::execute(&mut connection, statement)
            .await
            .expect_err(statement);
        let message = error.to_string();
        assert!(
            message.contains("permission denied") || message.contains("must be owner"),
            "{statement}: {message}"
        );
    }
    connection.close().await.unwrap();
}

/// `case(id, asOf:)` (its stream replayed up to an instant) and `dashboard(asOf:)` (the
/// board's history rows that held at the instant) answer what the live read models
/// answered at that instant — a unit renamed since included.
async fn the_read_models_as_of_an_instant_equal_what_they_showed_then(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let people = standard_city(&app).await;
    let (case, _) = flag(
        &app,
        &people.monitor,
        "https://weibo.com/asof/1",
        "时间旅行",
    )
    .await;
    triage(&app, &people.dispatcher, &case, "MAJOR").await;
    let assignment = assign(&app, &people.dispatcher, &case, "city-housing", "LEAD").await;
    app.clock.advance(chrono::Duration::hours(3));
    flag(
        &app,
        &people.monitor,
        "https://weibo.com/asof/2",
        "另一事项",
    )
    .await;
    app.clock.advance(chrono::Duration::minutes(10));

    let case_query = "query($c: ID!, $p: Position, $t: DateTime) { case(id: $c, waitForPosition: $p, asOf: $t) {         id status level leadUnit heatTotal postCount lastPosition         assignments { id status deadlineAt } deadlines { kind dueAt settled } replies { id status }         timeline(first: 50) { edges { cursor node { position eventType actorName summary } } } } }";
    let dashboard_query = "query($p: Position, $t: DateTime) { dashboard(waitForPosition: $p, asOf: $t) {         totalCases openCases overdue dueWithin24h byStatus { key count } byLevel { key count }         byLeadUnit { key label count } byPlatform { key count } byCategory { key count }         byProblemClass { key count } flagsPerDay { key count } } }";
    let scorecards_query = "query($t: DateTime) { scorecards(from: \"2026-03-01\", to: \"2026-04-01\", asOf: $t) { \
        unitId countedAssignments withFeedback onTimeFeedback completed overdueCount buckPassingCount urgingCount \
        firstResponseMedianHours } }";
    let then = app.clock_now();
    let head = app.head().await;
    let case_then = app
        .ok(
            &people.inspector,
            case_query,
            json!({ "c": case, "p": head, "t": null }),
        )
        .await;
    let dashboard_then = app
        .ok(
            &people.inspector,
            dashboard_query,
            json!({ "p": head, "t": null }),
        )
        .await;
    let scorecards_then = app
        .ok(&people.evaluator, scorecards_query, json!({ "t": null }))
        .await;

    // Time passes and the case moves on; its lead unit is renamed.
    app.clock.advance(chrono::Duration::hours(2));
    app.ok(
        &people.admin,
        "mutation { renameUnit(unitId: \"city-housing\", name: \"市住房和城乡建设局（新）\") { position } }",
        json!({}),
    )
    .await;
    accept(&app, &people.housing_officer, &case, &assignment).await;
    let reply = submit_reply(&app, &people.housing_officer, &case, &assignment).await;
    approve(&app, &people.housing_head, &case, &reply).await;
    flag(
        &app,
        &people.monitor,
        "https://weibo.com/asof/3",
        "之后的事项",
    )
    .await;
    let head = app.head().await;
    let case_now = app
        .ok(
            &people.inspector,
            case_query,
            json!({ "c": case, "p": head, "t": null }),
        )
        .await;
    assert_ne!(case_now, case_then, "the case has moved on");
    let dashboard_now = app
        .ok(
            &people.inspector,
            dashboard_query,
            json!({ "p": head, "t": null }),
        )
        .await;
    assert_ne!(dashboard_now, dashboard_then, "the dashboard has moved on");

    let as_of = json!(then.to_rfc3339());
    let case_as_of = app
        .ok(
            &people.inspector,
            case_query,
            json!({ "c": case, "p": head, "t": as_of }),
        )
        .await;
    assert_eq!(case_as_of, case_then);
    let dashboard_as_of = app
        .ok(
            &people.inspector,
            dashboard_query,
            json!({ "p": head, "t": as_of }),
        )
        .await;
    assert_eq!(dashboard_as_of, dashboard_then);
    // Scorecards as of an instant come from the facts' own times (every assignment,
    // reply and incident carries when it happened), so they need no replay.
    let scorecards_now = app
        .ok(&people.evaluator, scorecards_query, json!({ "t": null }))
        .await;
    assert_ne!(
        scorecards_now, scorecards_then,
        "the scorecards have moved on"
    );
    let scorecards_as_of = app
        .ok(&people.evaluator, scorecards_query, json!({ "t": as_of }))
        .await;
    assert_eq!(scorecards_as_of, scorecards_then);

    // Before the case was flagged, it did not exist.
    let (code, _) = app
        .error_code(
            &people.inspector,
            case_query,
            json!({ "c": case, "p": head, "t": (crate::helpers::start_of_tests() - chrono::Duration::hours(1)).to_rfc3339() }),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
}

/// The inspectors' questions: everything that happened to a unit's assignments, whoever
/// did it; every return and rejected return; every reopened case — each row with its
/// event id (for its proof) and its case.
async fn inspectors_list_what_happened_to_a_units_assignments(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let people = standard_city(&app).await;
    let (case, _) = flag(
        &app,
        &people.monitor,
        "https://weibo.com/unit/1",
        "某单位的事项",
    )
    .await;
    triage(&app, &people.dispatcher, &case, "GENERAL").await;
    let housing = assign(&app, &people.dispatcher, &case, "city-housing", "LEAD").await;
    let transport = assign(
        &app,
        &people.dispatcher,
        &case,
        "city-transport",
        "CO_HANDLER",
    )
    .await;
    accept(&app, &people.housing_officer, &case, &housing).await;
    app.ok(
        &people.transport_officer,
        "mutation($c: ID!, $a: ID!) { returnAssignment(caseId: $c, assignmentId: $a, reason: \"不属于本单位职责\") { position } }",
        json!({ "c": case, "a": transport }),
    )
    .await;
    let reply = submit_reply(&app, &people.housing_officer, &case, &housing).await;
    approve(&app, &people.housing_head, &case, &reply).await;
    let head = app.head().await;
    let trail = |unit: &'static str| {
        let app = &app;
        let inspector = people.inspector.clone();
        async move {
            let data = app
                .ok(
                    &inspector,
                    "query($u: ID, $p: Position) { auditTrail(filter: { assignmentsOfUnitId: $u }, first: 100, waitForPosition: $p) { edges { node { eventType eventId caseId actorName } } } }",
                    json!({ "u": unit, "p": head }),
                )
                .await;
            data["auditTrail"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"].clone())
                .collect::<Vec<Value>>()
        }
    };
    let housing_events: Vec<String> = trail("city-housing")
        .await
        .iter()
        .map(|n| n["eventType"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        housing_events,
        [
            "CaseAssigned",
            "DeadlineSet",
            "AssignmentAccepted",
            "ReplySubmitted",
            "ReplyApproved"
        ]
        .iter()
        .filter(|t| housing_events.contains(&t.to_string()))
        .map(|t| t.to_string())
        .collect::<Vec<_>>(),
    );
    for expected in [
        "CaseAssigned",
        "AssignmentAccepted",
        "ReplySubmitted",
        "ReplyApproved",
    ] {
        assert!(
            housing_events.iter().any(|t| t == expected),
            "{expected} missing: {housing_events:?}"
        );
    }
    let transport_rows = trail("city-transport").await;
    let transport_events: Vec<&str> = transport_rows
        .iter()
        .map(|n| n["eventType"].as_str().unwrap())
        .collect();
    assert!(
        transport_events.contains(&"AssignmentReturned"),
        "{transport_events:?}"
    );
    assert!(
        !transport_events.contains(&"ReplySubmitted"),
        "{transport_events:?}"
    );
    for row in &transport_rows {
        assert_eq!(row["caseId"], json!(case));
        assert!(row["eventId"].as_str().is_some_and(|id| id.len() == 36));
    }
}

/// The full audit also replays the log and compares the read models: a read model
/// changed behind the projections' back is named.
async fn a_read_model_that_the_log_does_not_give_is_named(backend: TestBackend) {
    let dir = tempfile::tempdir().unwrap();
    let (database, public) = recorded_log(backend, dir.path()).await;
    checkpoint(&database, dir.path(), "held.checkpoint").await;
    let held = [dir.path().join("held.checkpoint")];
    let clean = full_audit(&database, &public, &held).await;
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    assert!(
        clean.stdout.contains("OK read models: equal to a replay"),
        "{}",
        clean.stdout
    );

    let store = database.store().await;
    sqlx::query("UPDATE rm_cases SET status = 'closed' WHERE status <> 'closed'")
        .execute(store.database().pool())
        .await
        .unwrap();
    store.database().close().await;
    let audited = full_audit(&database, &public, &held).await;
    assert_eq!(audited.code, 1, "{}{}", audited.stdout, audited.stderr);
    assert!(
        audited
            .stderr
            .contains("read model rm_cases differs from a replay of the log"),
        "{}",
        audited.stderr
    );
}

on_both_backends!(
    a_read_model_that_the_log_does_not_give_is_named,
    inspectors_list_what_happened_to_a_units_assignments,
    the_read_models_as_of_an_instant_equal_what_they_showed_then,
    an_inspector_proves_a_prefix_and_a_recorded_event_to_a_third_party,
    every_kind_of_tampering_is_detected_with_the_first_bad_position_named,
);

/// The periodic checkpoints run inside the application, on its own database: a service
/// started with a checkpoint schedule signs the log once it has grown, the checkpoint
/// verifies with the public key and covers every event, and stopping the service stops
/// the schedule.
async fn the_application_signs_checkpoints_of_its_own_log_while_it_runs(backend: TestBackend) {
    let (private, public) =
        whistle_audit::checkpoint::generate_key("whistle.test/log").expect("a key pair");
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("checkpoints");
    let schedule = whistle_app::CheckpointConfig {
        key: private,
        dir: checkpoints.clone(),
        interval: std::time::Duration::from_millis(50),
    };
    let app = spawn_app_configured(TestDatabase::new(backend).await, |config| {
        config.app.checkpoints = Some(schedule);
    })
    .await;
    standard_city(&app).await;
    let head = app.head().await;
    let mut signed = None;
    for _ in 0..200 {
        let files: Vec<std::path::PathBuf> = std::fs::read_dir(&checkpoints)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                    .collect()
            })
            .unwrap_or_default();
        let covering = files.into_iter().find_map(|file| {
            let text = std::fs::read_to_string(&file).ok()?;
            let checkpoint = whistle_audit::checkpoint::Checkpoint::open(&text, &public).ok()?;
            (checkpoint.size == head as u64).then_some(file)
        });
        if let Some(file) = covering {
            signed = Some(file);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let file = signed.expect("a checkpoint covering the whole log is written while the app runs");
    let leaves = std::fs::read(whistle_audit::files::leaves_path(&file)).unwrap();
    assert_eq!(
        leaves.len() as i64,
        32 * head,
        "its leaf list covers every event"
    );
    app.stop().await;
}

on_both_backends!(the_application_signs_checkpoints_of_its_own_log_while_it_runs);

/// Erasure on legal request (docs/domain/trust.md): the log holds a salted commitment in
/// place of each post author, so deleting the value changes no leaf. A checkpoint signed
/// before the erasure, an inclusion proof made before it, the consistency of the log
/// after it with the one before: all verify; the full audit reports the erasure as an
/// erasure; reads show 已删除 — and a value deleted or altered without an erasure is
/// named as tampering.
async fn an_erasure_on_legal_request_keeps_every_checkpoint_and_proof_valid(backend: TestBackend) {
    let dir = tempfile::tempdir().unwrap();
    let (database, public) = recorded_log(backend, dir.path()).await;
    checkpoint(&database, dir.path(), "before.checkpoint").await;

    let store = database.store().await;
    let flagged = store
        .read_all(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event_type == "PostFlagged")
        .expect("the busy day flagged posts");
    assert_eq!(flagged.payload["post"]["author"], "网友甲");
    let case = flagged.stream_id.case_id().unwrap().to_string();
    let event_id = flagged.event_id.to_string();
    let stored: String = sqlx::query_scalar("SELECT payload FROM events WHERE event_id = $1")
        .bind(&event_id)
        .fetch_one(store.database().pool())
        .await
        .unwrap();
    assert!(!stored.contains("网友甲"), "{stored}");
    assert!(stored.contains("whistle_personal"), "{stored}");
    let kept_before: i64 = sqlx::query_scalar("SELECT count(*) FROM personal_data")
        .fetch_one(store.database().pool())
        .await
        .unwrap();
    assert!(kept_before >= 2, "{kept_before}");
    store.database().close().await;
    let url = database.url.clone();
    let prove = |checkpoint: &'static str, out: &'static str| {
        let (event_id, url, dir) = (event_id.clone(), url.clone(), dir.path().to_owned());
        async move {
            whistle(&[
                "audit",
                "prove",
                "--event",
                &event_id,
                "--checkpoint",
                &path(&dir, checkpoint),
                "--out",
                &path(&dir, out),
                "--database-url",
                &url,
            ])
            .await
        }
    };
    let proved = prove("before.checkpoint", "before.proof").await;
    assert_eq!(proved.code, 0, "{}", proved.stderr);

    // A dispatcher asks, on a legal basis; the same dispatcher cannot approve; an
    // inspector does.
    let app = spawn_app_with(database).await;
    let dispatcher = app.token("d1", "王研判", "dispatcher", "city-cac");
    let inspector = app.token("i1", "冯纪检", "inspector", "city-discipline");
    let proposed = app
        .ok(
            &dispatcher,
            "mutation($c: ID!) { proposePersonalDataErasure(caseId: $c, legalBasis: \"《个人信息保护法》第四十七条:本人申请删除\") { createdId caseId } }",
            json!({ "c": case }),
        )
        .await;
    assert_eq!(proposed["proposePersonalDataErasure"]["caseId"], case);
    let erasure = proposed["proposePersonalDataErasure"]["createdId"]
        .as_str()
        .unwrap()
        .to_owned();
    let approve = "mutation($c: ID!, $e: ID!) { approvePersonalDataErasure(caseId: $c, erasureId: $e) { position } }";
    let (code, reason, _) = app
        .refusal(&dispatcher, approve, json!({ "c": case, "e": erasure }))
        .await;
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("DOMAIN_RULE", "four_eyes")
    );
    let erased = app
        .ok(&inspector, approve, json!({ "c": case, "e": erasure }))
        .await;
    let position = erased["approvePersonalDataErasure"]["position"]
        .as_str()
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap();
    let read = app
        .ok(
            &dispatcher,
            "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { posts { author } timeline { edges { node { eventType data } } } } }",
            json!({ "c": case, "p": position }),
        )
        .await;
    assert_eq!(read["case"]["posts"][0]["author"], "已删除");
    let flag_entry = read["case"]["timeline"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["eventType"] == "PostFlagged")
        .unwrap()
        .clone();
    assert_eq!(flag_entry["node"]["data"]["post"]["author"], "已删除");
    // The value is gone from the database; the other cases' values are not.
    let pool = app.store().database().pool();
    let left_for_event: i64 =
        sqlx::query_scalar("SELECT count(*) FROM personal_data WHERE event_id = $1")
            .bind(&event_id)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(left_for_event, 0);
    let kept_after: i64 = sqlx::query_scalar("SELECT count(*) FROM personal_data")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(kept_after > 0 && kept_after < kept_before, "{kept_after}");
    let database = app.stop().await;

    // Every proof still verifies: the checkpoint and proof made before, a checkpoint and
    // proof after, and the consistency of the two.
    checkpoint(&database, dir.path(), "after.checkpoint").await;
    let proved = prove("after.checkpoint", "after.proof").await;
    assert_eq!(proved.code, 0, "{}", proved.stderr);
    consistency(
        &database,
        dir.path(),
        "before.checkpoint",
        "after.checkpoint",
        "prefix.proof",
    )
    .await;
    let files: Vec<String> = [
        "before.checkpoint",
        "after.checkpoint",
        "before.proof",
        "after.proof",
        "prefix.proof",
    ]
    .iter()
    .map(|f| path(dir.path(), f))
    .collect();
    let checked = offline(&public, &files).await;
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    let checkpoints = [
        dir.path().join("before.checkpoint"),
        dir.path().join("after.checkpoint"),
    ];
    let audited = full_audit(&database, &public, &checkpoints).await;
    assert_eq!(audited.code, 0, "{}{}", audited.stdout, audited.stderr);
    assert!(
        audited.stdout.contains(&format!(
            // The busy day erased one case already.
            "{} values kept and matching their commitments, 2 erased by 2 recorded erasures",
            kept_after
        )),
        "{}",
        audited.stdout
    );

    // Deleting or altering a value without an erasure is tampering, named at its event.
    let store = database.store().await;
    let (victim, victim_position): (String, i64) = {
        let row: (String, i64) = sqlx::query_as(
            "SELECT e.event_id, e.position FROM events e JOIN personal_data p ON p.event_id = e.event_id ORDER BY e.position LIMIT 1",
        )
        .fetch_one(store.database().pool())
        .await
        .unwrap();
        row
    };
    sqlx::query("UPDATE personal_data SET value = '网友乙' WHERE event_id = $1")
        .bind(&victim)
        .execute(store.database().pool())
        .await
        .unwrap();
    let altered = full_audit(&database, &public, &checkpoints).await;
    assert_eq!(altered.code, 1, "{}{}", altered.stdout, altered.stderr);
    assert!(
        altered.stderr.contains(&format!(
            "first bad position: {victim_position}: the personal value at /post/author does not match"
        )),
        "{}",
        altered.stderr
    );
    sqlx::query("DELETE FROM personal_data WHERE event_id = $1")
        .bind(&victim)
        .execute(store.database().pool())
        .await
        .unwrap();
    store.database().close().await;
    let deleted = full_audit(&database, &public, &checkpoints).await;
    assert_eq!(deleted.code, 1, "{}{}", deleted.stdout, deleted.stderr);
    assert!(
        deleted
            .stderr
            .contains("was deleted, but no erasure of the case was recorded"),
        "{}",
        deleted.stderr
    );
}

on_both_backends!(an_erasure_on_legal_request_keeps_every_checkpoint_and_proof_valid);
