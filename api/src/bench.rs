//! `whistle bench append`: how many durable appends per second the event store takes at
//! a given number of concurrent clients, on whichever backend the URL names.
//!
//! Each client appends one-event commands (a follow-up observation on a case) to its own
//! streams, naming the exact expected version, with a fresh command id each time: the
//! same work a command does in the store, without the decide step. Every append is
//! committed durably before the next one of that client starts. The benchmark writes
//! real events, so it refuses a database whose log is not empty.

use std::time::{Duration, Instant};

use chrono::Utc;
use uuid::Uuid;
use whistle_domain::{
    Actor, CaseId, CommandId, Event, FollowUpSentiment, Role, UnitId, UserId, text::RequiredText,
};
use whistle_store::{AppendRequest, CommandMetadata, Database, EventStore, ExpectedVersion};

/// One measured run.
#[derive(Debug, Clone)]
pub struct AppendRun {
    pub clients: usize,
    pub appends: usize,
    /// Events written in all (appends × events per append, or what commands wrote).
    pub events: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl AppendRun {
    pub fn appends_per_second(&self) -> f64 {
        self.appends as f64 / self.elapsed.as_secs_f64()
    }

    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency below which `quantile` of the appends finished.
    pub fn latency(&self, quantile: f64) -> Duration {
        latency_quantile(&self.latencies, quantile).unwrap_or(Duration::ZERO)
    }
}

/// Start one task per client, each made by `client(n)` and returning its latencies;
/// wait for all of them. Returns every latency and the wall time from the first start.
pub async fn run_clients<Client, Task>(
    clients: usize,
    mut client: Client,
) -> anyhow::Result<(Vec<Duration>, Duration)>
where
    Client: FnMut(usize) -> anyhow::Result<Task>,
    Task: std::future::Future<Output = anyhow::Result<Vec<Duration>>> + Send + 'static,
{
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for n in 0..clients {
        tasks.push(tokio::spawn(client(n)?));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok((latencies, started.elapsed()))
}

/// The latency below which `quantile` (0 to 1) of `latencies` fell (nearest rank);
/// `None` for no latencies.
pub fn latency_quantile(latencies: &[Duration], quantile: f64) -> Option<Duration> {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let rank = (sorted.len() as f64 * quantile).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
}

impl AppendRun {
    /// A table row without event counts: clients, commands, seconds, commands/s,
    /// p50, p99, p99.9 (ms).
    pub fn latency_row(&self) -> String {
        format!(
            "| {:>3} | {:>6} | {:>8.1} | {:>9.0} | {:>7.2} | {:>7.2} | {:>7.2} |",
            self.clients,
            self.appends,
            self.elapsed.as_secs_f64(),
            self.appends_per_second(),
            self.latency(0.5).as_secs_f64() * 1000.0,
            self.latency(0.99).as_secs_f64() * 1000.0,
            self.latency(0.999).as_secs_f64() * 1000.0,
        )
    }
}

pub const GRAPHQL_COMMAND_TABLE_HEADER: &str = "| clients | commands | seconds | commands/s | p50 ms | p99 ms | p99.9 ms |\n|---|---|---|---|---|---|---|";

impl std::fmt::Display for AppendRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "| {:>3} | {:>6} | {:>5.1} | {:>8.1} | {:>9.0} | {:>9.0} | {:>7.2} | {:>7.2} |",
            self.clients,
            self.appends,
            self.events as f64 / self.appends.max(1) as f64,
            self.elapsed.as_secs_f64(),
            self.appends_per_second(),
            self.events_per_second(),
            self.latency(0.5).as_secs_f64() * 1000.0,
            self.latency(0.99).as_secs_f64() * 1000.0,
        )
    }
}

pub const COMMAND_TABLE_HEADER: &str = "| clients | commands | events/command | seconds | commands/s | events/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|---|";

pub const APPEND_TABLE_HEADER: &str = "| clients | appends | events/append | seconds | appends/s | events/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|---|";

/// Refuse to benchmark a database that holds anything: the events it writes stay.
pub async fn open_empty_store(database_url: &str) -> anyhow::Result<EventStore> {
    let store = EventStore::new(Database::connect(database_url).await?).await?;
    let head = store.head_position().await?;
    if head != 0 {
        anyhow::bail!(
            "the benchmark writes events that can never be removed, so it needs an empty database; \
             {} already holds {head} events",
            store.database().display_url()
        );
    }
    Ok(store)
}

/// `clients` tasks, each appending `appends_per_client` times (`events_per_append`
/// events each) to its own 16 streams.
pub async fn append_run(
    store: &EventStore,
    clients: usize,
    appends_per_client: usize,
    events_per_append: usize,
) -> anyhow::Result<AppendRun> {
    let actor = Actor::new(
        UserId::parse("bench")?,
        "基准测试",
        Role::Monitor,
        UnitId::parse("city-cac")?,
    )?;
    let observation = RequiredText::parse("observation", "舆情平稳,持续关注")?;
    let (latencies, elapsed) = run_clients(clients, |_| {
        let store = store.clone();
        let actor = actor.clone();
        let observation = observation.clone();
        Ok(async move {
            let streams: Vec<(CaseId, String)> = (0..16)
                .map(|_| {
                    let case_id = CaseId::from_uuid(Uuid::now_v7());
                    (case_id, whistle_domain::events::streams::case(case_id))
                })
                .collect();
            let mut versions = vec![0_i64; streams.len()];
            let mut latencies = Vec::with_capacity(appends_per_client);
            for n in 0..appends_per_client {
                let slot = n % streams.len();
                let (case_id, stream_id) = &streams[slot];
                let events = (0..events_per_append)
                    .map(|_| Event::FollowUpRecorded {
                        case_id: *case_id,
                        observation: observation.clone(),
                        sentiment: FollowUpSentiment::Steady,
                    })
                    .collect();
                let expected = match versions[slot] {
                    0 => ExpectedVersion::NoStream,
                    v => ExpectedVersion::Exact(v),
                };
                let command_id = CommandId::from_uuid(Uuid::now_v7());
                let began = Instant::now();
                let outcome = store
                    .append(AppendRequest {
                        stream_id: stream_id.clone(),
                        expected_version: expected,
                        events,
                        metadata: CommandMetadata {
                            actor: actor.clone(),
                            command_id,
                            correlation_id: command_id.as_uuid(),
                            causation_id: None,
                            recorded_at: Utc::now(),
                        },
                        claims: Vec::new(),
                    })
                    .await?;
                latencies.push(began.elapsed());
                versions[slot] = outcome.stream_version;
            }
            Ok(latencies)
        })
    })
    .await?;
    Ok(AppendRun {
        clients,
        appends: clients * appends_per_client,
        events: clients * appends_per_client * events_per_append,
        elapsed,
        latencies,
    })
}

/// `whistle bench commands`: the whole command path — load the case's stream, decide,
/// append durably — for a realistic mix of commands.
///
/// Each client keeps 16 cases in flight and drives each through the lifecycle of
/// DOMAIN.md §4 (flag → triage → assign → accept → reply → approve → complete → close,
/// each command by the role that may issue it), choosing which case to move next with
/// Zipf weights (the first slot is moved most often), so a few streams are hot and most
/// are cool; a closed case's slot is refilled with a newly flagged one. Assignments go to
/// ~100 registered units, also Zipf-weighted.
pub mod commands {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use uuid::Uuid;
    use whistle_domain::commands::ReferencedUnit;
    use whistle_domain::rules::DeadlineRules;
    use whistle_domain::text::RequiredText;
    use whistle_domain::{
        Actor, AssignmentId, AssignmentRole, CaseCommand, CaseId, CommandId, KeyCategory, Level,
        Platform, PostUrl, ProblemClass, ReplyId, Role, UnitCommand, UnitId, UnitKind, UserId,
    };
    use whistle_store::{CommandHandler, EventStore, Issue, SystemClock};

    pub const UNITS: usize = 100;
    const SLOTS: usize = 16;

    fn actor(user: &str, role: Role, unit: &UnitId) -> anyhow::Result<Actor> {
        Ok(Actor::new(UserId::parse(user)?, user, role, unit.clone())?)
    }

    fn text(s: &str) -> RequiredText {
        RequiredText::parse("text", s).expect("benchmark texts are not blank")
    }

    /// Cumulative Zipf (s = 1) weights over `n` ranks.
    fn zipf(n: usize) -> Vec<f64> {
        let weights: Vec<f64> = (1..=n).map(|k| 1.0 / k as f64).collect();
        let total: f64 = weights.iter().sum();
        let mut cumulative = 0.0;
        weights
            .iter()
            .map(|w| {
                cumulative += w / total;
                cumulative
            })
            .collect()
    }

    fn pick(cdf: &[f64], rng: &mut ChaCha8Rng) -> usize {
        let roll: f64 = rng.random();
        cdf.iter().position(|c| roll <= *c).unwrap_or(cdf.len() - 1)
    }

    /// The command handler on `store`, with the ~100 units registered.
    pub async fn prepare(
        store: EventStore,
    ) -> anyhow::Result<(CommandHandler, Vec<ReferencedUnit>)> {
        let handler =
            CommandHandler::new(store, DeadlineRules::default(), Arc::new(SystemClock)).quiet();
        let cac = UnitId::parse("city-cac")?;
        let admin = actor("admin", Role::Admin, &cac)?;
        let office = ReferencedUnit {
            unit_id: cac,
            name: "基准单位000".to_owned(),
            kind: UnitKind::CyberspaceOffice,
            active: true,
        };
        let units = bench_units()?;
        for unit in std::iter::once(&office).chain(&units) {
            handler
                .handle_unit(
                    Issue::by(admin.clone())
                        .with_command_id(registration_command_id(&unit.unit_id)),
                    &unit.unit_id,
                    UnitCommand::RegisterUnit {
                        unit_id: unit.unit_id.clone(),
                        name: text(&unit.name),
                        kind: unit.kind,
                        parent: None,
                        jurisdiction: None,
                    },
                )
                .await?;
            let registered = handler.resolve_unit(&unit.unit_id).await?;
            anyhow::ensure!(
                &registered == unit,
                "unit {} reads back as {registered:?}",
                unit.unit_id
            );
        }
        Ok((handler, units))
    }

    /// The command id that registers a benchmark unit: derived from the unit's id, so a
    /// registration through GraphQL after [`prepare`] (or a second run) is a replay that
    /// writes nothing.
    pub fn registration_command_id(unit: &UnitId) -> CommandId {
        CommandId::from_uuid(Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("whistle-bench/unit/{unit}").as_bytes(),
        ))
    }

    /// One case in flight: where it is in its lifecycle.
    struct InFlight {
        case_id: CaseId,
        step: usize,
        unit: ReferencedUnit,
        assignment: AssignmentId,
        reply: ReplyId,
    }

    /// The number of commands that take a case from flagged to closed.
    pub const STEPS_PER_CASE: usize = 8;

    /// The next command of one client's workload: which case, by whom, what.
    #[derive(Debug, Clone)]
    pub struct LifecycleStep {
        slot: usize,
        /// 0 (flag) to 7 (close).
        pub step: usize,
        pub case_id: CaseId,
        pub actor: Actor,
        pub command: CaseCommand,
    }

    /// One client's stream of commands: 16 cases in flight, moved along the lifecycle
    /// with Zipf weights, each assigned to a Zipf-chosen unit. The same seed and units
    /// give the same commands, so Whistle and the cqrs-es anchor run the same workload.
    pub struct ClientWorkload {
        rng: ChaCha8Rng,
        slot_cdf: Vec<f64>,
        unit_cdf: Vec<f64>,
        units: Vec<ReferencedUnit>,
        monitor: Actor,
        dispatcher: Actor,
        slots: Vec<Option<InFlight>>,
    }

    impl ClientWorkload {
        pub fn new(units: Vec<ReferencedUnit>, seed: u64) -> anyhow::Result<Self> {
            if units.is_empty() {
                anyhow::bail!("the workload needs at least one unit to assign cases to");
            }
            let cac = UnitId::parse("city-cac")?;
            Ok(ClientWorkload {
                rng: ChaCha8Rng::seed_from_u64(seed),
                slot_cdf: zipf(SLOTS),
                unit_cdf: zipf(units.len()),
                units,
                monitor: actor("m1", Role::Monitor, &cac)?,
                dispatcher: actor("d1", Role::Dispatcher, &cac)?,
                slots: (0..SLOTS).map(|_| None).collect(),
            })
        }

        /// The next command. Call [`ClientWorkload::done`] once it has been handled.
        pub fn next_step(&mut self) -> anyhow::Result<LifecycleStep> {
            let slot = pick(&self.slot_cdf, &mut self.rng);
            if self.slots[slot].is_none() {
                let unit = self.units[pick(&self.unit_cdf, &mut self.rng)].clone();
                self.slots[slot] = Some(InFlight {
                    case_id: CaseId::from_uuid(Uuid::now_v7()),
                    step: 0,
                    unit,
                    assignment: AssignmentId::from_uuid(Uuid::now_v7()),
                    reply: ReplyId::from_uuid(Uuid::now_v7()),
                });
            }
            let case = self.slots[slot].as_ref().expect("filled above");
            let officer = || actor("o1", Role::Officer, &case.unit.unit_id);
            let head = || actor("h1", Role::UnitHead, &case.unit.unit_id);
            let (who, command) = match case.step {
                0 => (
                    self.monitor.clone(),
                    CaseCommand::FlagPost {
                        case_id: case.case_id,
                        post: whistle_domain::events::Post {
                            platform: Platform::Weibo,
                            url: PostUrl::parse(&format!(
                                "https://weibo.example.cn/bench/{}",
                                case.case_id
                            ))?,
                            title: "基准测试帖文:道路积水影响出行".to_owned(),
                            excerpt: "网友反映多处路段积水".to_owned(),
                            posted_at: None,
                            author: None,
                            heat: Default::default(),
                        },
                        note: None,
                    },
                ),
                1 => (
                    self.dispatcher.clone(),
                    CaseCommand::TriageCase {
                        level: Level::General,
                        categories: vec![KeyCategory::PublicInterest],
                        problem_class: ProblemClass::parse("道路积水")?,
                        jurisdiction: None,
                    },
                ),
                2 => (
                    self.dispatcher.clone(),
                    CaseCommand::AssignCase {
                        assignment_id: case.assignment,
                        unit: case.unit.clone(),
                        role: AssignmentRole::Lead,
                        instruction: None,
                    },
                ),
                3 => (
                    officer()?,
                    CaseCommand::AcceptAssignment {
                        assignment_id: case.assignment,
                    },
                ),
                4 => (
                    officer()?,
                    CaseCommand::SubmitReply {
                        assignment_id: case.assignment,
                        reply_id: case.reply,
                        content: text("已核实并安排排水处置"),
                    },
                ),
                5 => (
                    head()?,
                    CaseCommand::ApproveReply {
                        reply_id: case.reply,
                        note: None,
                    },
                ),
                6 => (
                    officer()?,
                    CaseCommand::CompleteAssignment {
                        assignment_id: case.assignment,
                        summary: text("积水已排除"),
                    },
                ),
                _ => (
                    self.dispatcher.clone(),
                    CaseCommand::CloseCase {
                        outcome: text("问题已解决"),
                    },
                ),
            };
            Ok(LifecycleStep {
                slot,
                step: case.step,
                case_id: case.case_id,
                actor: who,
                command,
            })
        }

        /// The step was handled: move its case on (a closed case's slot is refilled).
        pub fn done(&mut self, step: &LifecycleStep) {
            let finished = match &mut self.slots[step.slot] {
                Some(case) if case.case_id == step.case_id => {
                    case.step += 1;
                    case.step == STEPS_PER_CASE
                }
                _ => false,
            };
            if finished {
                self.slots[step.slot] = None;
            }
        }
    }

    /// The units the workload assigns cases to, as the command side sees them (their
    /// registration is [`prepare`]'s job).
    pub fn bench_units() -> anyhow::Result<Vec<ReferencedUnit>> {
        (1..UNITS)
            .map(|n| {
                Ok(ReferencedUnit {
                    unit_id: UnitId::parse(&format!("bench-dept-{n:03}"))?,
                    name: format!("基准单位{n:03}"),
                    kind: UnitKind::Department,
                    active: true,
                })
            })
            .collect()
    }

    /// Run `commands_per_client` commands on each of `clients` tasks.
    pub async fn run(
        handler: &CommandHandler,
        units: &[ReferencedUnit],
        clients: usize,
        commands_per_client: usize,
        seed: u64,
    ) -> anyhow::Result<super::AppendRun> {
        let head_before = handler.store().head_position().await?;
        let (latencies, elapsed) = super::run_clients(clients, |client| {
            let handler = handler.clone();
            let mut workload = ClientWorkload::new(units.to_vec(), seed ^ client as u64)?;
            Ok(async move {
                let mut latencies: Vec<Duration> = Vec::with_capacity(commands_per_client);
                for _ in 0..commands_per_client {
                    let step = workload.next_step()?;
                    let began = Instant::now();
                    handler
                        .handle_case(
                            Issue::by(step.actor.clone()),
                            step.case_id,
                            step.command.clone(),
                        )
                        .await?;
                    latencies.push(began.elapsed());
                    workload.done(&step);
                }
                Ok(latencies)
            })
        })
        .await?;
        let events = (handler.store().head_position().await? - head_before) as usize;
        Ok(super::AppendRun {
            clients,
            appends: latencies.len(),
            events,
            elapsed,
            latencies,
        })
    }
}

/// `whistle bench graphql`: query latency through GraphQL over HTTP against a running
/// `whistle serve`, at a fixed request rate (open loop: a request starts on every tick,
/// whether or not earlier ones have answered, so a slow server shows as latency).
///
/// The mix (`--queries`): a page of the case list, one case's timeline, the dashboard
/// and a year's scorecards, in turn. Cases for the timeline are taken from the first page of the case
/// list at start. Tokens are minted with the server's signing secret.
pub mod graphql {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use serde_json::{Value, json};

    use crate::auth::{JwtSecret, issue_token};

    /// Latencies by query kind, and the number of failed requests.
    type Tally = (BTreeMap<&'static str, Vec<Duration>>, usize);

    pub const KINDS: [&str; 4] = ["case list", "case timeline", "dashboard", "year scorecards"];

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
    pub const QUERY_NAMES: [&str; 4] = ["case-list", "case-timeline", "dashboard", "scorecards"];

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
            "{ cases(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await?;
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
            anyhow::bail!(
                "the server has no cases to query: load data first (e.g. serve --with-demo)"
            );
        }
        let queries: [(&'static str, String); 4] = [
            (KINDS[0], "query { cases(first: 20) { edges { cursor node { id title status level leadUnit } } pageInfo { hasNextPage } } }".to_owned()),
            (KINDS[1], "query($c: ID!) { caseTimeline(caseId: $c, first: 50) { edges { node { position eventType actorName summary } } } }".to_owned()),
            (KINDS[2], "query { dashboard { totalCases openCases overdue dueWithin24h byStatus { key count } byLevel { key count } } }".to_owned()),
            (KINDS[3], format!("query {{ scorecards(from: \"{year}-01-01\", to: \"{}-01-01\") {{ unitId feedbackRate onTimeRate completionRate overdueCount }} }}", year + 1)),
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
        let mut ticker =
            tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let total = (u64::from(rate) * seconds) as usize;
        let mut tasks = Vec::with_capacity(total);
        for n in 0..total {
            ticker.tick().await;
            let (kind, query) = queries[n % queries.len()].clone();
            let variables = json!({ "c": case_ids[n % case_ids.len()] });
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
}

/// `whistle bench graphql-commands`: the command path through GraphQL over HTTP against a
/// running `whistle serve` — the same lifecycle workload as `whistle bench commands`, each
/// command a mutation sent by a client holding the token of the role that may issue it,
/// the next one sent when the answer has come (closed loop).
///
/// The ~100 units are registered first through `registerUnit` with command ids derived
/// from their ids, so running it again against the same server registers nothing twice.
pub mod graphql_commands {
    use std::collections::HashMap;
    use std::collections::hash_map::Entry;
    use std::time::Instant;

    use serde_json::{Value, json};
    use whistle_domain::vocabulary::Vocabulary;
    use whistle_domain::{Actor, CaseCommand, CaseId, Role, UnitId};

    use super::commands::{ClientWorkload, bench_units, registration_command_id};
    use crate::auth::{JwtSecret, issue_token};

    fn token_for(secret: &JwtSecret, actor: &Actor) -> anyhow::Result<String> {
        Ok(issue_token(
            secret,
            actor.user_id.as_str(),
            &actor.name,
            actor.role.key(),
            actor.unit.as_str(),
            chrono::Utc::now(),
            chrono::Duration::hours(2),
        )?)
    }

    /// The mutation for one workload command; `server_case` is the id the server gave the
    /// case when it was flagged (the server makes case ids up).
    fn mutation_of(command: &CaseCommand, server_case: Option<&str>) -> (&'static str, Value) {
        let c = server_case.unwrap_or_default();
        match command {
            CaseCommand::FlagPost { post, .. } => (
                "mutation($url: String!, $title: String!, $excerpt: String!) { flagPost(post: { platform: WEIBO, url: $url, title: $title, excerpt: $excerpt }) { caseId } }",
                json!({ "url": post.url.to_string(), "title": post.title, "excerpt": post.excerpt }),
            ),
            CaseCommand::TriageCase { problem_class, .. } => (
                "mutation($c: ID!, $p: String!) { triageCase(caseId: $c, level: GENERAL, categories: [PUBLIC_INTEREST], problemClass: $p) { position } }",
                json!({ "c": c, "p": problem_class.to_string() }),
            ),
            CaseCommand::AssignCase {
                assignment_id,
                unit,
                ..
            } => (
                "mutation($c: ID!, $u: String!, $a: ID!) { assignCase(caseId: $c, unitId: $u, role: LEAD, assignmentId: $a) { position } }",
                json!({ "c": c, "u": unit.unit_id.as_str(), "a": assignment_id.to_string() }),
            ),
            CaseCommand::AcceptAssignment { assignment_id } => (
                "mutation($c: ID!, $a: ID!) { acceptAssignment(caseId: $c, assignmentId: $a) { position } }",
                json!({ "c": c, "a": assignment_id.to_string() }),
            ),
            CaseCommand::SubmitReply {
                assignment_id,
                reply_id,
                content,
            } => (
                "mutation($c: ID!, $a: ID!, $r: ID!, $t: String!) { submitReply(caseId: $c, assignmentId: $a, replyId: $r, content: $t) { position } }",
                json!({ "c": c, "a": assignment_id.to_string(), "r": reply_id.to_string(), "t": content.as_str() }),
            ),
            CaseCommand::ApproveReply { reply_id, .. } => (
                "mutation($c: ID!, $r: ID!) { approveReply(caseId: $c, replyId: $r) { position } }",
                json!({ "c": c, "r": reply_id.to_string() }),
            ),
            CaseCommand::CompleteAssignment {
                assignment_id,
                summary,
            } => (
                "mutation($c: ID!, $a: ID!, $s: String!) { completeAssignment(caseId: $c, assignmentId: $a, summary: $s) { position } }",
                json!({ "c": c, "a": assignment_id.to_string(), "s": summary.as_str() }),
            ),
            CaseCommand::CloseCase { outcome } => (
                "mutation($c: ID!, $o: String!) { closeCase(caseId: $c, outcome: $o) { position } }",
                json!({ "c": c, "o": outcome.as_str() }),
            ),
            other => unreachable!("the lifecycle workload never issues {}", other.name()),
        }
    }

    /// Register the workload's units (idempotently) through the server.
    pub async fn register_units(
        client: &reqwest::Client,
        url: &str,
        secret: &JwtSecret,
    ) -> anyhow::Result<()> {
        let admin = Actor::new(
            whistle_domain::UserId::parse("bench-admin")?,
            "基准测试管理员",
            Role::Admin,
            UnitId::parse("city-cac")?,
        )?;
        let token = token_for(secret, &admin)?;
        let office = (
            UnitId::parse("city-cac")?,
            "基准单位000".to_owned(),
            "CYBERSPACE_OFFICE",
        );
        let departments = bench_units()?
            .into_iter()
            .map(|u| (u.unit_id, u.name, "DEPARTMENT"));
        for (id, name, kind) in std::iter::once(office).chain(departments) {
            let command_id = registration_command_id(&id);
            super::graphql::post(
                client,
                url,
                &token,
                "mutation($u: String!, $n: String!, $k: UnitKind!, $id: ID!) { registerUnit(unitId: $u, name: $n, kind: $k, commandId: $id) { position } }",
                json!({ "u": id.as_str(), "n": name, "k": kind, "id": command_id.to_string() }),
            )
            .await?;
        }
        Ok(())
    }

    /// `clients` closed-loop clients, `commands_per_client` mutations each.
    pub async fn run(
        base: &str,
        secret: &JwtSecret,
        clients: usize,
        commands_per_client: usize,
        seed: u64,
    ) -> anyhow::Result<super::AppendRun> {
        let url = format!("{}/graphql", base.trim_end_matches('/'));
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?;
        register_units(&client, &url, secret).await?;
        let units = bench_units()?;
        let (latencies, elapsed) = super::run_clients(clients, |n| {
            let (client, url, secret) = (client.clone(), url.clone(), secret.clone());
            let mut workload = ClientWorkload::new(units.clone(), seed ^ n as u64)?;
            Ok(async move {
                let mut tokens: HashMap<(String, Role, String), String> = HashMap::new();
                let mut server_cases: HashMap<CaseId, String> = HashMap::new();
                let mut latencies = Vec::with_capacity(commands_per_client);
                for _ in 0..commands_per_client {
                    let step = workload.next_step()?;
                    let key = (
                        step.actor.user_id.to_string(),
                        step.actor.role,
                        step.actor.unit.to_string(),
                    );
                    let token = match tokens.entry(key) {
                        Entry::Occupied(known) => known.get().clone(),
                        Entry::Vacant(new) => new.insert(token_for(&secret, &step.actor)?).clone(),
                    };
                    let (query, variables) = mutation_of(
                        &step.command,
                        server_cases.get(&step.case_id).map(String::as_str),
                    );
                    let began = Instant::now();
                    let data =
                        super::graphql::post(&client, &url, &token, query, variables).await?;
                    latencies.push(began.elapsed());
                    if let Some(case) = data["flagPost"]["caseId"].as_str() {
                        server_cases.insert(step.case_id, case.to_owned());
                    }
                    if matches!(step.command, CaseCommand::CloseCase { .. }) {
                        server_cases.remove(&step.case_id);
                    }
                    workload.done(&step);
                }
                Ok(latencies)
            })
        })
        .await?;
        Ok(super::AppendRun {
            clients,
            appends: latencies.len(),
            events: 0,
            elapsed,
            latencies,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::latency_quantile;

    #[test]
    fn quantiles_are_nearest_ranks() {
        let ms = |n: u64| Duration::from_millis(n);
        let latencies: Vec<Duration> = [5, 1, 4, 2, 3].into_iter().map(ms).collect();
        assert_eq!(latency_quantile(&latencies, 0.5), Some(ms(3)));
        assert_eq!(latency_quantile(&latencies, 0.99), Some(ms(5)));
        assert_eq!(latency_quantile(&latencies, 1.0), Some(ms(5)));
        assert_eq!(latency_quantile(&latencies, 0.0), Some(ms(1)));
        assert_eq!(latency_quantile(&[], 0.5), None);
    }
}
