//! Real `whistle serve` processes on one database: two services sharing PostgreSQL (one
//! projection runner at a time, another taking over when it dies), and a SIGKILL in the
//! middle of a load of commands on either backend.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::{Child, Command};
use whistle_projections::{dump_read_models, rebuild};

use crate::helpers::*;

/// A `whistle serve` process of its own.
struct ServiceProcess {
    child: Child,
    api: GraphqlClient,
}

impl ServiceProcess {
    async fn start(database_url: &str) -> Self {
        Self::start_with(database_url, &[]).await
    }

    async fn start_with(database_url: &str, extra: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = if std::env::var("TEST_LOG").is_ok() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let child = Command::new(env!("CARGO_BIN_EXE_whistle-under-test"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--deadline-interval-seconds", "3600"])
            .args(extra)
            .env("WHISTLE_DATABASE_URL", database_url)
            .env("WHISTLE_JWT_SECRET", TEST_SECRET)
            // The load of these tests comes from one address with few tokens.
            .env("WHISTLE_RATE_PER_ADDRESS", "0")
            .env("WHISTLE_RATE_PER_TOKEN", "0")
            .env("RUST_LOG", "info,sqlx=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("whistle-under-test starts");
        let mut process = ServiceProcess {
            child,
            api: GraphqlClient::new(format!("http://127.0.0.1:{port}")),
        };
        for _ in 0..600 {
            if let Some(status) = process.child.try_wait().unwrap() {
                panic!("whistle serve exited at start: {status}");
            }
            if process.readyz().await.is_some() {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("whistle serve was not ready within 60 s");
    }

    async fn readyz(&self) -> Option<Value> {
        let response = self
            .api
            .client
            .get(format!("{}/readyz", self.api.address))
            .send()
            .await
            .ok()?;
        response.json().await.ok()
    }

    async fn runs_projections(&self) -> bool {
        self.readyz()
            .await
            .is_some_and(|r| r["runsProjections"] == json!(true))
    }

    /// Wait until the read models of this process have reached the head.
    async fn caught_up(&self) -> i64 {
        for _ in 0..200 {
            if let Some(ready) = self.readyz().await
                && ready["lag"] == json!(0)
            {
                return ready["head"].as_i64().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the read models did not catch up: {:?}",
            self.readyz().await
        );
    }

    async fn sigkill(mut self) {
        self.child.start_kill().expect("SIGKILL is sent");
        self.child
            .wait()
            .await
            .expect("the killed process is reaped");
    }
}

/// Flag one post through `api`, returning the case id and its position.
async fn flag_through(api: &GraphqlClient, token: &str, url: &str) -> (String, i64) {
    flag(api, token, url, "多进程测试").await
}

/// `api` shows `case` once its read models have reached `position`.
async fn sees_case(api: &GraphqlClient, inspector: &str, case: &str, position: i64) {
    let seen = api
        .ok(
            inspector,
            "query($c: ID!, $p: Position) { case(id: $c, waitForPosition: $p) { caseId } }",
            json!({ "c": case, "p": position }),
        )
        .await;
    assert_eq!(seen["case"]["caseId"], json!(case));
}

/// Read models left by the processes equal a rebuild from the log.
async fn read_models_equal_a_rebuild(database: &TestDatabase) {
    let store = database.store().await;
    let live = dump_read_models(&store).await.unwrap();
    rebuild(&store, 50).await.unwrap();
    let rebuilt = dump_read_models(&store).await.unwrap();
    for (table, rows) in &live {
        assert_eq!(
            rows, &rebuilt[table],
            "table {table} differs from a rebuild"
        );
    }
    store.database().close().await;
}

#[tokio::test]
async fn two_service_processes_share_the_projections_and_one_takes_over_when_the_other_dies() {
    let database = TestDatabase::new(TestBackend::Postgres).await;
    let first = ServiceProcess::start(&database.url).await;
    let second = ServiceProcess::start(&database.url).await;

    // Exactly one of them runs the projections.
    let mut leaders = (false, false);
    for _ in 0..100 {
        leaders = (
            first.runs_projections().await,
            second.runs_projections().await,
        );
        if leaders.0 != leaders.1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(leaders.0 != leaders.1, "one runner at a time: {leaders:?}");
    let (leader, follower) = if leaders.0 {
        (first, second)
    } else {
        (second, first)
    };

    // Commands through both; each reads the other's writes (read-your-writes across
    // processes: the follower learns the leader's checkpoints).
    let people = standard_city(&leader.api).await;
    let inspector = &people.inspector;
    let mut cases = Vec::new();
    for i in 0..4 {
        let (writer, reader) = if i % 2 == 0 {
            (&leader, &follower)
        } else {
            (&follower, &leader)
        };
        let (case, position) = flag_through(
            &writer.api,
            &people.monitor,
            &format!("https://weibo.com/mp/{i}"),
        )
        .await;
        sees_case(&reader.api, inspector, &case, position).await;
        cases.push(case);
    }

    // The runner dies; the survivor takes the projections over and keeps answering.
    leader.sigkill().await;
    let (case, position) = flag_through(
        &follower.api,
        &people.monitor,
        "https://weibo.com/mp/after-kill",
    )
    .await;
    sees_case(&follower.api, inspector, &case, position).await;
    assert!(
        follower.runs_projections().await,
        "the survivor took the lease"
    );
    follower.caught_up().await;
    follower.sigkill().await;

    read_models_equal_a_rebuild(&database).await;
}

/// Eight clients flag posts as fast as they can; the service is killed with SIGKILL in
/// the middle. Every flag that was answered with success is in the log after a restart,
/// and the restarted service's read models equal a rebuild.
async fn a_sigkill_during_a_load_loses_no_acknowledged_command(backend: TestBackend) {
    let database = TestDatabase::new(backend).await;
    let service = ServiceProcess::start(&database.url).await;
    let people = standard_city(&service.api).await;
    let acknowledged = Arc::new(tokio::sync::Mutex::new(Vec::<(String, i64)>::new()));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for client in 0..8 {
        let api = GraphqlClient::new(service.api.address.clone());
        let token = people.monitor.clone();
        let acknowledged = acknowledged.clone();
        let answered = answered.clone();
        clients.push(tokio::spawn(async move {
            for n in 0.. {
                let response = api
                    .try_graphql(
                        &token,
                        "mutation($url: String!) { flagPost(post: { platform: WEIBO, url: $url, title: \"负载\", excerpt: \"网友反映\", views: 1 }) { caseId position } }",
                        json!({ "url": format!("https://weibo.com/load/{client}/{n}") }),
                    )
                    .await;
                let Ok(response) = response else { return };
                let Some(case) = response["data"]["flagPost"]["caseId"].as_str() else {
                    return;
                };
                let position = response["data"]["flagPost"]["position"].as_str().and_then(|n| n.parse::<i64>().ok()).unwrap();
                acknowledged.lock().await.push((case.to_owned(), position));
                answered.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    while answered.load(Ordering::Relaxed) < 150 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    service.sigkill().await;
    for client in clients {
        client.await.unwrap();
    }
    let acknowledged = acknowledged.lock().await.clone();
    assert!(acknowledged.len() >= 150);

    let restarted = ServiceProcess::start(&database.url).await;
    let head = restarted.caught_up().await;
    let store = database.store().await;
    for (case, position) in &acknowledged {
        assert!(
            *position <= head,
            "acknowledged position {position} beyond the head {head}"
        );
        let stream = store
            .read_stream(&whistle_domain::StreamId::Case(
                whistle_domain::CaseId::parse(case).unwrap(),
            ))
            .await
            .unwrap();
        assert_eq!(
            stream.first().map(|e| e.event_type.as_str()),
            Some("PostFlagged"),
            "acknowledged case {case} is in the log"
        );
        assert!(
            stream.iter().any(|e| e.position == *position),
            "case {case} holds the acknowledged position {position}"
        );
    }
    store.database().close().await;
    restarted.sigkill().await;
    read_models_equal_a_rebuild(&database).await;
}

/// `serve --audit-key … --checkpoint-dir …` signs checkpoints by itself; they verify
/// offline with the public key.
#[tokio::test]
async fn the_service_signs_checkpoints_periodically() {
    let database = TestDatabase::new(TestBackend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    let keygen = Command::new(env!("CARGO_BIN_EXE_whistle-under-test"))
        .args(["audit", "keygen", "--origin", "whistle.test/log", "--out"])
        .arg(&key)
        .output()
        .await
        .unwrap();
    let public = String::from_utf8(keygen.stdout).unwrap().trim().to_owned();
    let checkpoints = dir.path().join("checkpoints");
    let signing = [
        "--audit-key",
        key.to_str().unwrap(),
        "--checkpoint-dir",
        checkpoints.to_str().unwrap(),
        "--checkpoint-interval-minutes",
        "1",
    ];
    let service = ServiceProcess::start_with(&database.url, &signing).await;
    standard_city(&service.api).await;
    // The pass at start saw an empty log and signed nothing; a restarted service's first
    // pass signs the log as it now is.
    service.sigkill().await;
    let service = ServiceProcess::start_with(&database.url, &signing).await;
    let mut written = Vec::new();
    for _ in 0..100 {
        written = std::fs::read_dir(&checkpoints)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                    .collect()
            })
            .unwrap_or_default();
        if !written.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    service.sigkill().await;
    assert_eq!(written.len(), 1, "one checkpoint: {written:?}");
    let verified = Command::new(env!("CARGO_BIN_EXE_whistle-under-test"))
        .args(["audit", "verify", "--offline", "--public-key", &public])
        .arg(&written[0])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert_eq!(verified.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("at size {}", UNITS.len())),
        "{stdout}"
    );
}

/// Each service keeps the streams it wrote last in memory and decides on them without
/// reading them again. When another service has written to such a stream meanwhile, a
/// command must still be decided on the stream as stored: a conflict is retried, and a
/// refusal decided on the stale copy is checked against a fresh read first.
async fn a_service_deciding_on_its_own_copy_of_a_stream_sees_what_another_wrote(
    backend: TestBackend,
) {
    let first = spawn_app_on(backend).await;
    let people = standard_city(&first).await;
    let second = spawn_app_with(first.database.as_ref().unwrap().shared()).await;

    // The first service writes the case (and keeps it); the second assigns it.
    let (case, _) = flag(
        &first,
        &people.monitor,
        "https://weibo.com/two/1",
        "两个服务",
    )
    .await;
    triage(&first, &people.dispatcher, &case, "GENERAL").await;
    let assignment = assign(&second, &people.dispatcher, &case, "city-housing", "LEAD").await;

    // On its own copy the first service knows no such assignment: it must not say so.
    accept(&first, &people.housing_officer, &case, &assignment).await;
    // A command valid on either copy: the append refuses the stale version, the command
    // is decided again on the stream as stored.
    let recorded = first
        .ok(
            &people.monitor,
            "mutation($c: ID!) { recordFollowUp(caseId: $c, observation: \"话题仍在发酵\", sentiment: STEADY) { position } }",
            serde_json::json!({ "c": case }),
        )
        .await;
    assert!(
        recorded["recordFollowUp"]["position"]
            .as_str()
            .and_then(|n| n.parse::<i64>().ok())
            .is_some()
    );
    let second_copy_written = second
        .ok(
            &people.monitor,
            "mutation($c: ID!) { recordFollowUp(caseId: $c, observation: \"热度下降\", sentiment: CALMED) { position } }",
            serde_json::json!({ "c": case }),
        )
        .await;
    assert!(
        second_copy_written["recordFollowUp"]["position"]
            .as_str()
            .and_then(|n| n.parse::<i64>().ok())
            .is_some()
    );

    let stream = first
        .store()
        .read_stream(&whistle_domain::StreamId::Case(
            whistle_domain::CaseId::parse(&case).unwrap(),
        ))
        .await
        .unwrap();
    let types: Vec<&str> = stream.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "PostFlagged",
            "CaseTriaged",
            "CaseAssigned",
            "AssignmentAccepted",
            "FollowUpRecorded",
            "FollowUpRecorded"
        ]
        .iter()
        .filter(|t| types.contains(t))
        .copied()
        .collect::<Vec<_>>()
    );
    assert!(types.contains(&"AssignmentAccepted"), "{types:?}");
    assert_eq!(
        types.iter().filter(|t| **t == "FollowUpRecorded").count(),
        2,
        "{types:?}"
    );
    let versions: Vec<i64> = stream.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, (1..=stream.len() as i64).collect::<Vec<_>>());
    second.stop().await;
}

on_both_backends!(
    a_sigkill_during_a_load_loses_no_acknowledged_command,
    a_service_deciding_on_its_own_copy_of_a_stream_sees_what_another_wrote,
);
