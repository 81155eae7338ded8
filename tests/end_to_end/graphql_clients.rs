//! Real GraphQL clients against the real server on loopback (tests/graphql-clients,
//! installed from the npm registry by `npm ci` at first use): graphql-js's standard
//! introspection and `buildClientSchema`, graphql-http's GraphQL-over-HTTP audit (no
//! MUST failed, no SHOULD warned), and GraphiQL in Debian's Chromium with no network —
//! the docs explorer shows the schema and a query runs, and no request leaves loopback.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use crate::helpers::*;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("graphql-clients")
}

/// Install the clients' pinned packages once per test run (`npm ci` from the lock).
fn install() -> &'static Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        npm_ci(
            &clients_dir(),
            &["graphql", "graphql-http", "playwright-core"],
            "the GraphQL client tests",
        )
    })
}

/// Run `script` with `args` under Node and parse the JSON line it prints.
async fn run(script: &str, args: &[&str]) -> (bool, Value) {
    if let Err(error) = install() {
        panic!("{error}");
    }
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(180),
        tokio::process::Command::new("node")
            .arg(script)
            .args(args)
            .current_dir(clients_dir())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{script} did not finish within 180 s"))
    .expect("node runs (Node.js is needed for the GraphQL client tests)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_else(|| {
        panic!(
            "{script} printed nothing; it said: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), value)
}

async fn introspection_and_client_schema(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let people = standard_city(&app).await;
    let url = format!("{}/graphql", app.address);
    let (ok, result) = run("introspect.mjs", &[&url, &people.monitor]).await;
    assert!(ok, "graphql-js introspects the schema: {result}");
    assert_eq!(result["query"], "Query");
    assert_eq!(result["mutation"], "Mutation");
    assert_eq!(result["subscription"], "Subscription");
    // What graphql-js rebuilt from introspection has every type of the checked-in SDL.
    let sdl = result["sdl"].as_str().unwrap();
    let checked_in = whistle_api::graphql::contract::sdl();
    for line in checked_in.lines() {
        let definition = ["type ", "interface ", "enum ", "input ", "scalar "]
            .iter()
            .any(|kind| line.starts_with(kind));
        if definition {
            let head = line.trim_end_matches(" {");
            let name = head.split_whitespace().nth(1).unwrap();
            assert!(
                sdl.lines()
                    .any(|l| l.split_whitespace().nth(1) == Some(name)
                        && l.starts_with(head.split_whitespace().next().unwrap())),
                "the client schema lacks `{head}`"
            );
        }
    }
    assert!(
        sdl.contains(
            "scalar Date @specifiedBy(url: \"https://scalars.graphql.org/andimarek/local-date\")"
        ),
        "Date names its specification"
    );
    assert!(sdl.contains("interface Node"));
}

async fn the_graphql_over_http_audit_passes(backend: TestBackend) {
    let app = spawn_app_on(backend).await;
    let people = standard_city(&app).await;
    let url = format!("{}/graphql", app.address);
    let (ok, report) = run("audit.mjs", &[&url, &people.monitor]).await;
    assert!(ok, "the audit runs: {report}");
    let audits = report.as_array().unwrap();
    assert!(audits.len() >= 50, "the whole audit ran: {report}");
    let unmet: Vec<&Value> = audits
        .iter()
        .filter(|audit| matches!(audit["status"].as_str(), Some("error" | "warn")))
        .collect();
    let count = |status: &str| audits.iter().filter(|a| a["status"] == status).count();
    eprintln!(
        "graphql-http audit: {} audits, {} ok, {} notice (MAY), {} warn, {} error",
        audits.len(),
        count("ok"),
        count("notice"),
        count("warn"),
        count("error")
    );
    assert!(
        unmet.is_empty(),
        "graphql-http finds MUSTs failed or SHOULDs warned:\n{}",
        serde_json::to_string_pretty(&unmet).unwrap()
    );
}

async fn graphiql_works_in_a_browser_with_no_network(backend: TestBackend) {
    let chromium = std::env::var("WHISTLE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "the GraphiQL test needs Chromium at {chromium}: install Debian's chromium \
         (apt install chromium) or set WHISTLE_CHROMIUM"
    );
    let app = spawn_app_on(backend).await;
    let people = standard_city(&app).await;
    flag(
        &app,
        &people.monitor,
        "https://weibo.com/1/IDE",
        "IDE 里看到的帖子",
    )
    .await;
    let screenshot = std::env::temp_dir().join(format!("whistle-graphiql-{}.png", app.port));
    let (ok, seen) = run(
        "graphiql.mjs",
        &[
            &app.address,
            &people.dispatcher,
            screenshot.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        ok,
        "GraphiQL loads, shows the docs and runs a query: {seen}"
    );
    assert_eq!(
        seen["outside"],
        serde_json::json!([]),
        "no request leaves loopback"
    );
    assert_eq!(seen["consoleErrors"], serde_json::json!([]), "{seen}");
    let docs = seen["docs"].as_str().unwrap();
    assert!(
        docs.contains("cases"),
        "the docs explorer shows Query's fields: {docs}"
    );
    let result = seen["result"].as_str().unwrap();
    assert!(
        result.contains("王研判"),
        "the query ran with the token: {result}"
    );
    assert!(result.contains("\"totalCount\": 1"), "{result}");
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000);
}

on_both_backends!(
    introspection_and_client_schema,
    the_graphql_over_http_audit_passes,
);

#[tokio::test]
async fn graphiql_in_chromium_with_no_network() {
    // One backend: the page and its files do not depend on the store.
    graphiql_works_in_a_browser_with_no_network(TestBackend::Sqlite).await
}
