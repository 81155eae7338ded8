//! `whistle-bench abuse`: does the service keep answering others while it is attacked?
//!
//! A case-list load at a fixed rate runs twice against a running `whistle serve`: alone,
//! then beside abusers that send, as fast as the server answers them, the requests of
//! the hardening review — value literals nested 1,550 deep and an exponential fragment
//! chain (no token), 1,000 aliases of the annual assessment, 16 aliases of the dashboard
//! as of an instant, a NUL in a post title, a legitimate whole-year assessment (an
//! expensive request that must take its turn) — and keep 200 connections half-sent
//! (slowloris). Reported: the case list's p50/p99 alone and under attack, how the abusive
//! requests were answered (by `extensions.code`), and the server's resident memory before,
//! at its peak and after (from /proc, given its process id).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use whistle_api::auth::{JwtSecret, issue_token};

use super::graphql::{self, GraphqlRun};

/// What one abuse run measured.
pub struct AbuseRun {
    pub rate: u32,
    pub seconds: u64,
    pub alone: GraphqlRun,
    pub under_attack: GraphqlRun,
    /// Abusive requests sent, by how they were answered (`extensions.code`, or the
    /// HTTP status when the answer had none).
    pub answers: BTreeMap<String, usize>,
    /// Half-sent connections opened, and how many the server closed.
    pub slowloris_opened: usize,
    pub slowloris_closed: usize,
    /// Resident memory of the server (KiB): before, its peak, and 5 s after the attack.
    pub rss_kib: Option<(u64, u64, u64)>,
    /// The server still answered `/healthz` after the attack.
    pub alive: bool,
}

impl AbuseRun {
    fn p(run: &GraphqlRun, q: f64) -> f64 {
        run.latencies
            .get(graphql::KINDS[0])
            .and_then(|l| super::latency_quantile(l, q))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    }

    /// Case-list p50 and p99 (ms) alone and under attack, and failures.
    pub fn latency_row(&self) -> String {
        format!(
            "| {} req/s | {:.2} / {:.2} | {:.2} / {:.2} | {} / {} |",
            self.rate,
            Self::p(&self.alone, 0.5),
            Self::p(&self.alone, 0.99),
            Self::p(&self.under_attack, 0.5),
            Self::p(&self.under_attack, 0.99),
            self.alone.failed,
            self.under_attack.failed
        )
    }
}

impl std::fmt::Display for AbuseRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "case list at {} requests/s for {} s, alone and beside abusers",
            self.rate, self.seconds
        )?;
        writeln!(
            f,
            "| rate | alone p50 / p99 ms | under attack p50 / p99 ms | failed alone / under attack |"
        )?;
        writeln!(f, "|---|---|---|---|")?;
        writeln!(f, "{}", self.latency_row())?;
        writeln!(f, "\nabusive requests, by answer:")?;
        for (answer, count) in &self.answers {
            writeln!(f, "- {answer}: {count}")?;
        }
        writeln!(
            f,
            "- half-sent connections: {} opened, {} closed by the server",
            self.slowloris_opened, self.slowloris_closed
        )?;
        match self.rss_kib {
            Some((before, peak, after)) => writeln!(
                f,
                "server RSS: {} MB before, {} MB peak, {} MB after",
                before / 1024,
                peak / 1024,
                after / 1024
            )?,
            None => writeln!(f, "server RSS: not read (no --pid, or not Linux)")?,
        }
        writeln!(f, "server alive after the attack: {}", self.alive)
    }
}

/// Resident and peak resident memory of `pid` (KiB), from /proc.
pub fn rss_of(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// The abusive GraphQL bodies, each with the token it is sent with (none: anonymous).
fn abusive_requests(monitor: &str, dispatcher: &str, year: i32) -> Vec<(String, Option<String>)> {
    let deep = format!(
        "{{ me @include(if: {}true{}) {{ userId }} }}",
        "[".repeat(1_550),
        "]".repeat(1_550)
    );
    let mut bomb = String::from("fragment F0 on QueryRoot { vocabularies { name } }\n");
    for n in 1..=30 {
        bomb.push_str(&format!(
            "fragment F{n} on QueryRoot {{ ...F{m} ...F{m} }}\n",
            m = n - 1
        ));
    }
    bomb.push_str("query { ...F30 }");
    let assessments: String = (0..1_000)
        .map(|n| format!("a{n}: annualAssessment(year: {year}) {{ score }} "))
        .collect();
    let dashboards: String = (0..16)
        .map(|n| format!("d{n}: dashboard(asOf: \"{year}-03-01T00:00:00Z\") {{ totalCases }} "))
        .collect();
    let body = |query: String, variables: Value| {
        json!({ "query": query, "variables": variables }).to_string()
    };
    vec![
        (body(deep, json!({})), None),
        (body(bomb, json!({})), None),
        (body(format!("{{ {assessments} }}"), json!({})), Some(monitor.to_owned())),
        (body(format!("{{ {dashboards} }}"), json!({})), Some(dispatcher.to_owned())),
        (
            body(
                "mutation($t: String!) { flagPost(post: { platform: WEIBO, url: \"https://weibo.example.cn/abuse/nul\", title: $t }) { position } }".to_owned(),
                json!({ "t": "路\u{0}面塌陷" }),
            ),
            Some(monitor.to_owned()),
        ),
        (
            body(format!("{{ annualAssessment(year: {year}) {{ rank score }} }}"), json!({})),
            Some(dispatcher.to_owned()),
        ),
    ]
}

/// Run the case list alone, then beside the abusers, for `seconds` each.
pub async fn run(
    base: &str,
    secret: &JwtSecret,
    rate: u32,
    seconds: u64,
    pid: Option<u32>,
) -> anyhow::Result<AbuseRun> {
    let year = chrono::Utc::now().format("%Y").to_string().parse()?;
    let case_list = [graphql::QUERY_NAMES[0].to_owned()];
    let alone = graphql::run(base, secret, rate, seconds, year, &case_list).await?;
    let rss_before = pid.and_then(rss_of).map(|(rss, _)| rss);
    let token = |user: &str, role: &str| {
        issue_token(
            secret,
            user,
            "压力测试",
            role,
            "city-cac",
            chrono::Utc::now(),
            chrono::Duration::hours(1),
        )
    };
    let requests = abusive_requests(
        &token("abuse-monitor", "monitor")?,
        &token("abuse-dispatcher", "dispatcher")?,
        year,
    );
    let url = format!("{}/graphql", base.trim_end_matches('/'));
    let client = reqwest::Client::new();
    let answers: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut abusers = Vec::new();
    for (body, token) in requests {
        let (client, url, answers) = (client.clone(), url.clone(), answers.clone());
        abusers.push(tokio::spawn(async move {
            while Instant::now() < until {
                let mut request = client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .header("Accept", "application/json")
                    .body(body.clone());
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                let answer = match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        match response.json::<Value>().await {
                            Ok(json) => json["errors"][0]["extensions"]["code"]
                                .as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| format!("HTTP {status} without error")),
                            Err(_) => format!("HTTP {status}"),
                        }
                    }
                    Err(error) if error.is_connect() => "connection refused".to_owned(),
                    Err(_) => "transport error".to_owned(),
                };
                *answers
                    .lock()
                    .expect("not poisoned")
                    .entry(answer)
                    .or_default() += 1;
            }
        }));
    }
    // Half-sent requests, reopened whenever the server closes one.
    let address = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let slowloris = tokio::spawn(async move {
        let (mut opened, mut closed) = (0usize, 0usize);
        let mut connections = Vec::new();
        while Instant::now() < until {
            while connections.len() < 200 {
                match tokio::net::TcpStream::connect(&address).await {
                    Ok(mut stream) => {
                        if stream
                            .write_all(b"POST /graphql HTTP/1.1\r\nHost: whistle\r\nX-Slow: ")
                            .await
                            .is_ok()
                        {
                            opened += 1;
                            connections.push(stream);
                        }
                    }
                    Err(_) => break,
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            // Keep trickling a byte; a connection the server closed fails to take it.
            let mut alive = Vec::with_capacity(connections.len());
            for mut stream in connections.drain(..) {
                let mut probe = [0u8; 1];
                let gone = matches!(stream.try_read(&mut probe), Ok(0));
                if gone || stream.write_all(b"x").await.is_err() {
                    closed += 1;
                } else {
                    alive.push(stream);
                }
            }
            connections = alive;
        }
        (opened, closed)
    });
    let under_attack = graphql::run(base, secret, rate, seconds, year, &case_list).await?;
    for abuser in abusers {
        abuser.await?;
    }
    let (slowloris_opened, slowloris_closed) = slowloris.await?;
    let peak = pid.and_then(rss_of).map(|(_, peak)| peak);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = pid.and_then(rss_of).map(|(rss, _)| rss);
    let alive = client
        .get(format!("{}/healthz", base.trim_end_matches('/')))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    let answers = std::mem::take(&mut *answers.lock().expect("not poisoned"));
    Ok(AbuseRun {
        rate,
        seconds,
        alone,
        under_attack,
        answers,
        slowloris_opened,
        slowloris_closed,
        rss_kib: match (rss_before, peak, after) {
            (Some(before), Some(peak), Some(after)) => Some((before, peak, after)),
            _ => None,
        },
        alive,
    })
}
