//! The benchmarks keep working: a seconds-long smoke run of each `whistle bench` command
//! on both backends (no timing is asserted; BENCHMARKS.md has the numbers).

use crate::helpers::*;

async fn bench(args: &[&str]) -> (i32, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_whistle-under-test"))
        .arg("bench")
        .args(args)
        .env("RUST_LOG", "error")
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
        .filter(|l| l.starts_with("| ") && !l.starts_with("| clients"))
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

on_both_backends!(the_benchmarks_run_and_refuse_a_database_that_holds_events);
