//! `whistle-bench commands`: the whole command path — load the case's stream, decide,
//! append durably — for a realistic mix of commands.
//!
//! Each client keeps 16 cases in flight and drives each through the lifecycle of
//! docs/domain/lifecycle.md (flag → triage → assign → accept → reply → approve → complete → close,
//! each command by the role that may issue it), choosing which case to move next with
//! Zipf weights (the first slot is moved most often), so a few streams are hot and most
//! are cool; a closed case's slot is refilled with a newly flagged one. Assignments go to
//! ~100 registered units, also Zipf-weighted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;
use whistle_app::{CommandHandler, Envelope, SystemClock};
use whistle_domain::commands::ReferencedUnit;
use whistle_domain::rules::CaseRules;
use whistle_domain::text::RequiredText;
use whistle_domain::{
    Actor, AssignmentId, AssignmentRole, CaseCommand, CaseId, CommandId, KeyCategory, Level,
    Platform, PostUrl, ProblemClass, ReplyId, Role, UnitCommand, UnitId, UnitKind, UserId,
};
use whistle_store::EventStore;

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
pub async fn prepare(store: EventStore) -> anyhow::Result<(CommandHandler, Vec<ReferencedUnit>)> {
    let handler = CommandHandler::new(store, CaseRules::default(), Arc::new(SystemClock)).quiet();
    let cac = UnitId::parse("city-cac")?;
    let admin = actor("admin", Role::Admin, &cac)?;
    let office = ReferencedUnit {
        unit_id: cac,
        name: "基准单位000".to_owned(),
        kind: UnitKind::CyberspaceOffice,
        active: true,
    };
    // The inspectors the query load reads as belong to a discipline commission.
    let discipline = ReferencedUnit {
        unit_id: UnitId::parse(DISCIPLINE_UNIT)?,
        name: DISCIPLINE_UNIT_NAME.to_owned(),
        kind: UnitKind::DisciplineCommission,
        active: true,
    };
    let units = bench_units()?;
    for unit in [&office, &discipline].into_iter().chain(&units) {
        handler
            .handle_unit(
                Envelope::by(admin.clone()).with_command_id(registration_command_id(&unit.unit_id)),
                &unit.unit_id,
                UnitCommand::RegisterUnit {
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

/// The discipline commission the benchmark's inspectors belong to.
pub const DISCIPLINE_UNIT: &str = "city-discipline";
pub const DISCIPLINE_UNIT_NAME: &str = "基准纪委";

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
                        Envelope::by(step.actor.clone()),
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
