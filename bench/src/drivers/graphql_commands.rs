//! `whistle-bench graphql-commands`: the command path through GraphQL over HTTP against a
//! running `whistle serve` — the same lifecycle workload as `whistle-bench commands`, each
//! command a mutation sent by a client holding the token of the role that may issue it,
//! the next one sent when the answer has come (closed loop).
//!
//! The ~100 units are registered first through `registerUnit` with command ids derived
//! from their ids, so running it again against the same server registers nothing twice.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Instant;

use serde_json::{Value, json};
use whistle_domain::vocabulary::Vocabulary;
use whistle_domain::{Actor, CaseCommand, CaseId, Role, UnitId};

use super::commands::{ClientWorkload, bench_units, registration_command_id};
use whistle_api::auth::{JwtSecret, issue_token};

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
            "mutation($c: ID!, $u: ID!, $a: ID!) { assignCase(caseId: $c, unitId: $u, role: LEAD, assignmentId: $a) { position } }",
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
        other => unreachable!("the lifecycle workload never issues {}", other.kind()),
    }
}

/// Register the workload's units (idempotently) through the server.
pub async fn register_units(
    client: &reqwest::Client,
    url: &str,
    secret: &JwtSecret,
) -> anyhow::Result<()> {
    let admin = Actor::new(
        // The same administrator as `commands::prepare`, so that registering again
        // through GraphQL with the same command ids is a replay.
        whistle_domain::UserId::parse("admin")?,
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
    let discipline = (
        UnitId::parse(super::commands::DISCIPLINE_UNIT)?,
        super::commands::DISCIPLINE_UNIT_NAME.to_owned(),
        "DISCIPLINE_COMMISSION",
    );
    let departments = bench_units()?
        .into_iter()
        .map(|u| (u.unit_id, u.name, "DEPARTMENT"));
    for (id, name, kind) in [office, discipline].into_iter().chain(departments) {
        let command_id = registration_command_id(&id);
        super::graphql::post(
            client,
            url,
            &token,
            "mutation($u: ID!, $n: String!, $k: UnitKind!, $id: ID!) { registerUnit(unitId: $u, name: $n, kind: $k, commandId: $id) { position } }",
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
                let data = super::graphql::post(&client, &url, &token, query, variables).await?;
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
