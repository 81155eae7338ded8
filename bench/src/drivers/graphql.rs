//! `whistle-bench graphql`: query latency through GraphQL over HTTP against a running
//! `whistle serve`, at a fixed request rate (open loop: a request starts on every tick,
//! whether or not earlier ones have answered, so a slow server shows as latency).
//!
//! The mix (`--queries`): a page of the case list, one case's timeline, the dashboard
//! and a year's scorecards, the dashboard as of an instant and a case as of an instant,
//! in turn. Cases for the timeline are taken from the first page of the case list at
//! start; the instants of the dashboard as of one are spread over the span between the
//! oldest and the newest flag (a golden-ratio sequence, so that early and late instants
//! alternate). Tokens are minted with the server's signing secret.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use whistle_api::auth::{JwtSecret, issue_token};

/// Latencies by query kind, and the number of failed requests.
type Tally = (BTreeMap<&'static str, Vec<Duration>>, usize);

pub const KINDS: [&str; 6] = [
    "case list",
    "case timeline",
    "dashboard",
    "year scorecards",
    "dashboard as of an instant",
    "case as of an instant",
];

/// Latencies by query kind, and how many requests failed.
pub struct GraphqlRun {
    pub rate: u32,
    pub seconds: u64,
    pub sent: usize,
    pub failed: usize,
    pub latencies: BTreeMap<&'static str, Vec<Duration>>,
}

impl std::fmt::Display for GraphqlRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} requests at {} requests/s for {} s; {} failed",
            self.sent, self.rate, self.seconds, self.failed
        )?;
        writeln!(
            f,
            "| query | requests | p50 ms | p99 ms | p99.9 ms | max ms |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|")?;
        for (kind, latencies) in &self.latencies {
            let at = |q: f64| {
                super::latency_quantile(latencies, q).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
            };
            if latencies.is_empty() {
                continue;
            }
            writeln!(
                f,
                "| {kind} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
                latencies.len(),
                at(0.5),
                at(0.99),
                at(0.999),
                at(1.0)
            )?;
        }
        Ok(())
    }
}

/// One GraphQL request; an HTTP error status or GraphQL errors are errors.
pub(super) async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let response: Value = client
        .post(url)
        .bearer_auth(token)
        .header("Accept", "application/json")
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    if let Some(errors) = response.get("errors") {
        anyhow::bail!("GraphQL errors: {errors}");
    }
    Ok(response["data"].clone())
}

/// Names of the queries, for `--queries`.
pub const QUERY_NAMES: [&str; 6] = [
    "case-list",
    "case-timeline",
    "dashboard",
    "scorecards",
    "dashboard-as-of",
    "case-as-of",
];

pub async fn run(
    base: &str,
    secret: &JwtSecret,
    rate: u32,
    seconds: u64,
    year: i32,
    chosen: &[String],
) -> anyhow::Result<GraphqlRun> {
    for name in chosen {
        if !QUERY_NAMES.contains(&name.as_str()) {
            anyhow::bail!(
                "unknown query `{name}`: choose from {}",
                QUERY_NAMES.join(", ")
            );
        }
    }
    let url = format!("{}/graphql", base.trim_end_matches('/'));
    let token = issue_token(
        secret,
        "bench-inspector",
        "基准测试",
        "inspector",
        "city-discipline",
        chrono::Utc::now(),
        chrono::Duration::hours(1),
    )?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let first_page = post(
        &client,
        &url,
        &token,
        "{ cases(first: 100) { edges { node { id flaggedAt } } } oldest: cases(last: 1) { edges { node { flaggedAt } } } }",
        json!({}),
    )
    .await?;
    let flagged_at = |edge: &Value| {
        edge["node"]["flaggedAt"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    let newest = first_page["cases"]["edges"].get(0).and_then(flagged_at);
    let oldest = first_page["oldest"]["edges"].get(0).and_then(flagged_at);
    let case_ids: Vec<String> = first_page["cases"]["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if case_ids.is_empty() {
        anyhow::bail!("the server has no cases to query: load data first (e.g. serve --with-demo)");
    }
    let (Some(oldest), Some(newest)) = (oldest, newest) else {
        anyhow::bail!("the cases have no flag times");
    };
    let span = (newest - oldest).num_microseconds().unwrap_or(0).max(0) as f64;
    let instant = |n: usize| {
        let fraction = (n as f64 * 0.618_033_988_75).fract();
        (oldest + chrono::Duration::microseconds((span * fraction) as i64)).to_rfc3339()
    };
    let queries: [(&'static str, String); 6] = [
        (KINDS[0], "query { cases(first: 20) { edges { cursor node { id title status level leadUnit } } pageInfo { hasNextPage } } }".to_owned()),
        (KINDS[1], "query($c: ID!) { caseTimeline(caseId: $c, first: 50) { edges { node { position eventType actorName summary } } } }".to_owned()),
        (KINDS[2], "query { dashboard { totalCases openCases overdue dueWithin24h byStatus { key count } byLevel { key count } } }".to_owned()),
        (KINDS[3], format!("query {{ scorecards(from: \"{year}-01-01\", to: \"{}-01-01\") {{ unitId feedbackRate onTimeRate completionRate overdueCount }} }}", year + 1)),
        (KINDS[4], "query($t: DateTime) { dashboard(asOf: $t) { totalCases openCases overdue dueWithin24h byStatus { key count } byLevel { key count } byLeadUnit { key label count } byCategory { key count } } }".to_owned()),
        (KINDS[5], "query($c: ID!, $newest: DateTime) { case(id: $c, asOf: $newest) { id status level assignments { id status deadlineAt } deadlines { kind dueAt settled } } }".to_owned()),
    ];
    let queries: Vec<(&'static str, String)> = queries
        .into_iter()
        .zip(QUERY_NAMES)
        .filter(|(_, name)| chosen.iter().any(|c| c == name))
        .map(|(query, _)| query)
        .collect();
    if queries.is_empty() {
        anyhow::bail!("choose at least one query");
    }
    let results: Arc<Mutex<Tally>> = Arc::default();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = (u64::from(rate) * seconds) as usize;
    let mut tasks = Vec::with_capacity(total);
    for n in 0..total {
        ticker.tick().await;
        let (kind, query) = queries[n % queries.len()].clone();
        let variables = json!({
            "c": case_ids[n % case_ids.len()],
            "t": instant(n),
            "newest": newest.to_rfc3339(),
        });
        let (client, url, token, results) =
            (client.clone(), url.clone(), token.clone(), results.clone());
        tasks.push(tokio::spawn(async move {
            let began = Instant::now();
            let outcome = post(&client, &url, &token, &query, variables).await;
            let elapsed = began.elapsed();
            let mut results = results.lock().expect("not poisoned");
            match outcome {
                Ok(_) => results.0.entry(kind).or_default().push(elapsed),
                Err(error) => {
                    if results.1 == 0 {
                        tracing::warn!(%error, "a request failed");
                    }
                    results.1 += 1;
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let (latencies, failed) = std::mem::take(&mut *results.lock().expect("not poisoned"));
    Ok(GraphqlRun {
        rate,
        seconds,
        sent: total,
        failed,
        latencies,
    })
}
