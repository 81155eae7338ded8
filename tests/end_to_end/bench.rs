//! The benchmarks keep working: a seconds-long smoke run of each `whistle-bench` command
//! on both backends (no timing is asserted; BENCHMARKS.md has the numbers).

use crate::helpers::*;

async fn bench(args: &[&str]) -> (i32, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_whistle-bench-under-test"))
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

    // Proofs on that log: each one verified before it counts; the log is not written.
    let (code, stdout, stderr) =
        bench(&["proofs", "--count", "5", "--database-url", &fresh.url]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("proofs on a log of 120 events"), "{stdout}");
    assert!(
        stdout.contains("| inclusion proof, p50 / p99 of 5 |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| consistency proof, p50 / p99 of 5 |"),
        "{stdout}"
    );
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
        "query($p: Position) { logPosition(waitForPosition: $p) { head } }",
        serde_json::json!({ "p": position }),
    )
    .await;
    let (code, stdout, stderr) = bench(&[
        "graphql",
        "--url",
        &app.address,
        "--rate",
        "42",
        "--seconds",
        "1",
        "--queries",
        "case-list,case-timeline,dashboard,scorecards,dashboard-as-of,case-as-of",
    ])
    .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("42 requests at 42 requests/s for 1 s; 0 failed"),
        "{stdout}"
    );
    assert_eq!(result_rows(&stdout), 6, "{stdout}");
}

/// The lifecycle through GraphQL mutations: every command answers, each writes events,
/// and a second run registers no unit twice (the registrations are replays).
async fn the_graphql_command_benchmark_runs_against_a_server(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let store = app.handler.store().clone();
    for run in 0..2 {
        let head_before = store.head_position().await.unwrap();
        let (code, stdout, stderr) = bench(&[
            "graphql-commands",
            "--url",
            &app.address,
            "--clients",
            "1,3",
            "--commands",
            "30",
        ])
        .await;
        assert_eq!(code, 0, "run {run}: {stdout}{stderr}");
        assert_eq!(result_rows(&stdout), 2, "{stdout}");
        let written = store.head_position().await.unwrap() - head_before;
        // The cyberspace office, the discipline commission and 99 departments.
        let units = if run == 0 { 101 } else { 0 };
        // 30 commands per run, one run per client count, at least one event each.
        assert!(
            written >= units + 2 * 30,
            "run {run} wrote {written} events"
        );
        let registrations: i64 =
            sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'UnitRegistered'")
                .fetch_one(store.database().pool())
                .await
                .unwrap();
        assert_eq!(registrations, 101, "after run {run}");
    }
}

on_both_backends!(
    the_benchmarks_run_and_refuse_a_database_that_holds_events,
    the_graphql_benchmark_runs_against_a_server,
    the_graphql_command_benchmark_runs_against_a_server,
);

/// The whole benchmark (`whistle-bench --smoke`), on both backends: every part runs,
/// Whistle and the cqrs-es anchor write the same events for the same workload, and the
/// tables land between the markers of an existing BENCHMARKS.md without touching the
/// rest. No timing is asserted.
#[tokio::test]
async fn the_whole_benchmark_runs_on_both_backends_and_writes_its_tables() {
    use whistle_bench::report::{BEGIN_MARKER, END_MARKER, render, write_into};
    use whistle_bench::suite::{BenchBackend, Sizes, SuiteOptions, run};

    let work = tempfile::tempdir().unwrap();
    let sizes = Sizes::smoke();
    let options = SuiteOptions {
        whistle: env!("CARGO_BIN_EXE_whistle-under-test").into(),
        backends: vec![BenchBackend::Sqlite, BenchBackend::Postgres],
        postgres: Some(crate::postgres_server::server().clone()),
        work_dir: work.path().join("work"),
        sizes: sizes.clone(),
    };
    let results = run(&options).await.expect("the smoke benchmark runs");

    assert_eq!(results.backends.len(), 2);
    for backend in &results.backends {
        let label = backend.backend.label();
        assert_eq!(backend.command_path.len(), sizes.command_clients.len());
        for (side, &clients) in backend.command_path.iter().zip(&sizes.command_clients) {
            let commands = sizes.commands_per_run.div_ceil(clients) * clients;
            assert_eq!(side.whistle.appends, commands, "{label}");
            assert_eq!(side.cqrs_es.appends, commands, "{label}");
            assert!(side.whistle.events >= commands, "{label}");
            assert_eq!(
                side.whistle.events, side.cqrs_es.events,
                "{label}, {clients} clients: the same workload writes the same events through both"
            );
        }
        let batched = &backend.batched;
        assert_eq!(batched.events, batched.appends * sizes.events_per_append);
        let log = &backend.large_log;
        assert!(
            log.events as usize >= sizes.log_events,
            "{label}: {}",
            log.events
        );
        assert_eq!(log.queries.failed, 0);
        assert_eq!(log.aggregate_queries.failed, 0);
        assert_eq!(
            log.queries.latencies.len(),
            2,
            "{label}: the case list and timelines answered"
        );
        assert_eq!(
            log.aggregate_queries.latencies.len(),
            2,
            "{label}: the dashboard and scorecards answered"
        );
        assert_eq!(log.as_of_queries.failed, 0);
        assert_eq!(
            log.as_of_queries.latencies.len(),
            2,
            "{label}: the dashboard and a case as of past instants answered"
        );
        assert_eq!(log.graphql_commands.len(), sizes.command_clients.len());
        assert!(log.peak_rss_kib >= log.rss_after_catch_up_kib.min(log.peak_rss_kib));
        assert!(log.peak_rss_kib > 0);
        assert!(log.first_start_serving <= log.catch_up);
        assert!(log.restart_serving <= log.restart_projected);
        let abuse = &log.abuse;
        assert!(
            abuse.alive,
            "{label}: the service survived the abusive requests"
        );
        for refused in ["QUERY_TOO_DEEP", "QUERY_TOO_COMPLEX"] {
            assert!(
                abuse.answers.contains_key(refused),
                "{label}: {refused} among {:?}",
                abuse.answers
            );
        }
        for never in ["INTERNAL", "connection refused", "transport error"] {
            assert!(
                !abuse.answers.contains_key(never),
                "{label}: {never} among {:?}",
                abuse.answers
            );
        }
        assert_eq!(
            abuse.under_attack.failed, 0,
            "{label}: the case list kept answering"
        );
        assert!(abuse.slowloris_opened > 0, "{label}");
    }

    let out = work.path().join("BENCHMARKS.md");
    std::fs::write(
        &out,
        format!(
            "# Benchmarks\n\nprose\n\n{BEGIN_MARKER}\nold\n{END_MARKER}\n\n## Analysis\nkept\n"
        ),
    )
    .unwrap();
    write_into(&out, &render(&results, "whistle-bench --smoke")).unwrap();
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(
        written.starts_with("# Benchmarks\n\nprose\n\n"),
        "{written}"
    );
    assert!(
        written.ends_with(&format!("{END_MARKER}\n\n## Analysis\nkept\n")),
        "{written}"
    );
    assert!(!written.contains("\nold\n"));
    let rows_of = |heading: &str| {
        let start = written
            .find(heading)
            .unwrap_or_else(|| panic!("no {heading} in {written}"));
        written[start..]
            .lines()
            .skip_while(|l| !l.starts_with("|---"))
            .skip(1)
            .take_while(|l| l.starts_with('|'))
            .count()
    };
    let per_clients = 2 * sizes.command_clients.len();
    assert_eq!(rows_of("### Command path: decide"), per_clients);
    assert_eq!(rows_of("### Batched appends"), 2);
    assert_eq!(rows_of("### A log of real cases"), 2);
    // Two backends, six query kinds (case list, timeline, dashboard, scorecards, and the
    // dashboard and a case as of an instant).
    assert_eq!(rows_of("### Queries over GraphQL"), 2 * 6);
    assert_eq!(rows_of("### Command path through GraphQL"), per_clients);
    assert_eq!(rows_of("### Under attack, on that log"), 2);
    assert_eq!(rows_of("### Against the targets"), 12);
    assert_eq!(rows_of("### The audit ledger's proofs, on that log"), 2);
}
