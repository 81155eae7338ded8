//! The benchmarks keep working: a seconds-long smoke run of each `whistle bench` command
//! on both backends (no timing is asserted; BENCHMARKS.md has the numbers).

use crate::helpers::*;

async fn bench(args: &[&str]) -> (i32, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_whistle-under-test"))
        .arg("bench")
        .args(args)
        .env("RUST_LOG", "error")
        .env("WHISTLE_JWT_SECRET", TEST_SECRET)
        .output()
        .await
        .expect("whistle-under-test runs");
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn result_rows(table: &str) -> usize {
    table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| clients") && !l.starts_with("| query"))
        .count()
}

async fn the_benchmarks_run_and_refuse_a_database_that_holds_events(backend: TestBackend) {
    let database = TestDatabase::new(backend).await;
    let (code, stdout, stderr) = bench(&[
        "commands",
        "--clients",
        "1,3",
        "--commands",
        "48",
        "--database-url",
        &database.url,
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(result_rows(&stdout), 2, "{stdout}");

    // The log now holds the benchmark's events: a second run is refused, nothing written.
    let store = database.store().await;
    let head = store.head_position().await.unwrap();
    let (code, _, stderr) = bench(&[
        "append",
        "--clients",
        "2",
        "--appends",
        "10",
        "--database-url",
        &database.url,
    ])
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("needs an empty database"), "{stderr}");
    assert_eq!(store.head_position().await.unwrap(), head);
    store.database().close().await;

    let fresh = TestDatabase::new(backend).await;
    let (code, stdout, stderr) = bench(&[
        "append",
        "--clients",
        "1,2",
        "--appends",
        "20",
        "--events-per-append",
        "3",
        "--database-url",
        &fresh.url,
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(result_rows(&stdout), 2, "{stdout}");
    let store = fresh.store().await;
    assert_eq!(store.head_position().await.unwrap(), 2 * 20 * 3);
    store.database().close().await;
}

/// The GraphQL load generator against the real server: every query of its mix answers.
async fn the_graphql_benchmark_runs_against_a_server(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let people = standard_city(&app).await;
    let (_, position) = flag(&app, &people.monitor, "https://weibo.com/bench/1", "基准").await;
    app.ok(
        &people.inspector,
        "query($p: Int) { logPosition(waitForPosition: $p) { head } }",
        serde_json::json!({ "p": position }),
    )
    .await;
    let (code, stdout, stderr) = bench(&[
        "graphql",
        "--url",
        &app.address,
        "--rate",
        "40",
        "--seconds",
        "1",
        "--queries",
        "case-list,case-timeline,dashboard,scorecards",
    ])
    .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("40 requests at 40 requests/s for 1 s; 0 failed"),
        "{stdout}"
    );
    assert_eq!(result_rows(&stdout), 4, "{stdout}");
}

on_both_backends!(
    the_benchmarks_run_and_refuse_a_database_that_holds_events,
    the_graphql_benchmark_runs_against_a_server,
);
