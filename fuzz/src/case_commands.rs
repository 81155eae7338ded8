//! The domain target: an arbitrary sequence of commands on one case, by a cast of people
//! in every role, at arbitrary times (late December included, where deadlines run into a
//! year the calendar may not know yet), with the next year's calendar loaded part-way
//! through. Free text, URLs and codes are sometimes arbitrary strings sent through the
//! same parsers the API uses.
//!
//! After every step, whatever `decide` answered:
//! - `decide` never panics and answers the same twice (it is a pure function);
//! - a refusal has a stable code and a message, and changes nothing;
//! - accepted events belong to this case and survive the trip through the stored form
//!   (`to_record` → `from_record`) unchanged;
//! - folding the whole stream from the start gives the state evolved step by step;
//! - no running deadline is later than the deadline a leader bound it to;
//! - a closed case has no running deadline;
//! - the deadline commands the system itself issues at that moment are never refused;
//! - text the parsers accept holds no NUL or control character beyond newline and tab,
//!   and normalising it again changes nothing.

use std::sync::Arc;

use arbitrary::{Result, Unstructured};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use whistle_domain::calendar::WorkingDayCalendar;
use whistle_domain::case::{CaseState, decide, evolve};
use whistle_domain::commands::ReferencedUnit;
use whistle_domain::events::{Heat, Post};
use whistle_domain::rules::CaseRules;
use whistle_domain::text::{RequiredText, TextKind, normalize};
use whistle_domain::{
    Actor, AssignmentId, AssignmentRole, AssignmentStatus, CaseCommand, CaseId, Command,
    DomainError, Event, Finding, FollowUpSentiment, KeyCategory, Level, MemoId, Platform, PostUrl,
    ProblemClass, ReferralId, ReferralOutcome, ReplyId, ResponseChannel, Role, UnitId, UnitKind,
    UserId, Vocabulary,
};

/// Most commands one input runs.
const MAX_STEPS: usize = 48;

/// A published 2027 schedule, loaded part-way through an input as an operator would.
const NEXT_YEAR: &str = r#"{"year": 2027, "papers": [], "days": [
    {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
    {"name": "春节", "date": "2027-02-05", "isOffDay": true},
    {"name": "春节", "date": "2027-02-08", "isOffDay": true},
    {"name": "春节", "date": "2027-02-20", "isOffDay": false}
]}"#;

/// Run one input; panics (a finding) when an invariant does not hold.
pub fn run(data: &[u8]) {
    events_accepted(data);
}

/// Run one input and name the events its accepted commands produced, in order (how the
/// suite sees which parts of the lifecycle the corpus reaches).
pub fn events_accepted(data: &[u8]) -> Vec<&'static str> {
    let mut u = Unstructured::new(data);
    let mut world = World::start(&mut u);
    // Running out of bytes ends the sequence; it is not a finding.
    if let Some(world) = world.as_mut() {
        let _ = run_steps(&mut u, world);
    }
    world
        .map(|world| world.events.iter().map(|e| e.to_record().0).collect())
        .unwrap_or_default()
}

struct World {
    case_id: CaseId,
    now: DateTime<Utc>,
    rules: CaseRules,
    events: Vec<Event>,
    state: CaseState,
}

impl World {
    fn start(u: &mut Unstructured<'_>) -> Option<World> {
        let starts = [
            "2026-03-02T01:00:00Z",
            "2026-09-30T09:30:00Z",
            "2026-12-28T02:00:00Z",
            "2026-12-31T15:59:00Z",
        ];
        Some(World {
            case_id: CaseId::from_uuid(uuid::Uuid::from_u128(1)),
            now: u.choose(&starts).ok()?.parse().expect("a valid instant"),
            rules: CaseRules::default(),
            events: Vec::new(),
            state: CaseState::default(),
        })
    }
}

fn run_steps(u: &mut Unstructured<'_>, world: &mut World) -> Result<()> {
    for _ in 0..MAX_STEPS {
        if u.is_empty() {
            break;
        }
        world.now += Duration::minutes(u.int_in_range(0..=3 * 24 * 60)?);
        if u.ratio(1, 24)? {
            load_next_year(world);
        }
        // Half the time the next step in the ordinary course of a case, so sequences
        // reach replies, rectification and rumour referrals; otherwise any command.
        let kind: u8 = if u.arbitrary()? {
            next_in_course(world)
        } else {
            u.int_in_range(0..=32)?
        };
        let Some(body) = command(u, world, kind)? else {
            continue;
        };
        // Mostly someone whose role issues such commands (of the unit the command is
        // about), so sequences get deep into the lifecycle; sometimes anyone, so
        // refusals are exercised too.
        let actor = if u.ratio(3, 4)? {
            actor_of_role(u, issuer_of(kind), unit_of(world, &body))?
        } else {
            actor(u)?
        };
        step(world, actor, body);
    }
    Ok(())
}

fn load_next_year(world: &mut World) {
    let loaded =
        WorkingDayCalendar::from_holiday_cn_files(&[NEXT_YEAR]).expect("the 2027 file parses");
    world.rules.calendar = Arc::new(world.rules.calendar.merged_with(&loaded));
}

fn step(world: &mut World, actor: Actor, body: CaseCommand) {
    let command = Command {
        actor,
        issued_at: world.now,
        rules: world.rules.clone(),
        body,
    };
    let answer = decide(world.case_id, &world.state, &command);
    assert_eq!(
        answer,
        decide(world.case_id, &world.state, &command),
        "decide answers the same twice"
    );
    match answer {
        Ok(events) => accept(world, events),
        Err(DomainError::Refused(refusal)) => {
            assert!(!refusal.code().is_empty());
            assert!(!refusal.to_string().trim().is_empty());
        }
        Err(DomainError::Validation(error)) => {
            assert!(!error.reason.is_empty(), "{error:?}");
        }
    }
    check_invariants(world);
    // The system's own deadline commands at this moment are never refused.
    let system = Actor::system(unit("city-cac"));
    for body in world.state.due_deadline_commands(world.now, &world.rules) {
        let command = Command {
            actor: system.clone(),
            issued_at: world.now,
            rules: world.rules.clone(),
            body: body.clone(),
        };
        match decide(world.case_id, &world.state, &command) {
            Ok(events) => accept(world, events),
            Err(error) => panic!("the system's {body:?} was refused: {error}"),
        }
        check_invariants(world);
    }
}

fn accept(world: &mut World, events: Vec<Event>) {
    for event in events {
        assert_eq!(event.case_id(), Some(world.case_id), "{event:?}");
        let (event_type, version, payload) = event.to_record();
        let stored = Event::from_record(event_type, version, payload)
            .unwrap_or_else(|e| panic!("{event_type} does not load back: {e}"));
        assert_eq!(stored, event, "the stored form keeps the event");
        world.state = evolve(std::mem::take(&mut world.state), &event);
        world.events.push(event);
    }
}

fn check_invariants(world: &World) {
    assert_eq!(
        CaseState::from_events(&world.events),
        world.state,
        "replaying the stream gives the state evolved step by step"
    );
    for (id, deadline) in &world.state.deadlines {
        if let (false, Some((bound, rule))) = (deadline.settled, &deadline.bound_by_leader) {
            assert!(
                deadline.due_at <= *bound,
                "{id} is due {} but a leader bound it to {bound} ({rule})",
                deadline.due_at
            );
        }
        if world.state.closed {
            assert!(deadline.settled, "{id} still runs on a closed case");
        }
    }
}

// ---- the cast and the values they use ------------------------------------------------

fn unit(code: &str) -> UnitId {
    UnitId::parse(code).expect("a valid unit code")
}

fn person(user: &str, role: Role, unit_code: &str) -> Actor {
    Actor::new(
        UserId::parse(user).expect("a valid user id"),
        user,
        role,
        unit(unit_code),
    )
    .expect("a valid actor")
}

/// The command (numbered as in [`command`]) that would come next in the ordinary course
/// of the case: flag, triage, assign, a memo to a leader and the instruction on it, sign
/// for, verify, reply, approve, promise and complete rectification, complete, close; a
/// rumour referral through approval, outcome and rebuttal.
fn next_in_course(world: &World) -> u8 {
    use AssignmentStatus as S;
    let state = &world.state;
    if !state.exists() {
        return 0;
    }
    if state.closed {
        return 31;
    }
    if state.triage.is_none() {
        return 4;
    }
    if state.memos.values().any(|instructed| !instructed) {
        return 21;
    }
    if state.memos.is_empty() && !state.assignments.is_empty() {
        return 20;
    }
    if let Some(referral) = state.referrals.values().find(|r| !r.rebutted) {
        return match (referral.approved, referral.outcome) {
            (false, _) => 27,
            (true, None) => 28,
            (true, Some(ReferralOutcome::ConfirmedRumour)) => 29,
            (true, Some(_)) => 30,
        };
    }
    match state.assignments.values().find(|a| a.status.is_open()) {
        Some(a) => match a.status {
            S::AwaitingSignature => 7,
            S::Returned => 9,
            _ if a.finding.is_none() => 12,
            _ if a.pending_reply.is_some() => 14,
            _ if a.approved_replies == 0 => 13,
            _ if a.rectification.is_none() => 17,
            _ if a.rectification.as_ref().is_some_and(|r| !r.completed) => 18,
            _ => 19,
        },
        None if state.assignments.is_empty() => 6,
        None => 30,
    }
}

/// Who issues the command numbered `kind` (see [`command`]) in the ordinary course.
fn issuer_of(kind: u8) -> Role {
    match kind {
        0..=3 => Role::Monitor,
        7 | 8 | 12 | 13 | 17..=19 => Role::Officer,
        14 | 15 => Role::UnitHead,
        21 => Role::Leader,
        22..=24 => Role::System,
        25 => Role::Supervisor,
        28 => Role::Police,
        _ => Role::Dispatcher,
    }
}

/// Someone of the cast with `role`, of `unit` when the cast has one there.
fn actor_of_role(u: &mut Unstructured<'_>, role: Role, unit_id: Option<&UnitId>) -> Result<Actor> {
    if role == Role::System {
        return Ok(Actor::system(unit("city-cac")));
    }
    let of_role: Vec<_> = CAST.iter().filter(|(_, r, _)| *r == role).collect();
    let of_unit: Vec<_> = of_role
        .iter()
        .filter(|(_, _, code)| unit_id.is_some_and(|id| id.as_str() == *code))
        .copied()
        .collect();
    let (user, role, unit_code) = **u.choose(if of_unit.is_empty() {
        &of_role
    } else {
        &of_unit
    })?;
    Ok(person(user, role, unit_code))
}

/// The unit whose assignment (or reply) a command is about.
fn unit_of<'w>(world: &'w World, body: &CaseCommand) -> Option<&'w UnitId> {
    use CaseCommand as C;
    let assignment = match body {
        C::AcceptAssignment { assignment_id }
        | C::ReturnAssignment { assignment_id, .. }
        | C::VerifyFacts { assignment_id, .. }
        | C::SubmitReply { assignment_id, .. }
        | C::PromiseRectification { assignment_id, .. }
        | C::CompleteRectification { assignment_id, .. }
        | C::CompleteAssignment { assignment_id, .. } => *assignment_id,
        C::ApproveReply { reply_id, .. } | C::SendBackReply { reply_id, .. } => {
            world.state.replies.get(reply_id)?.assignment_id
        }
        _ => return None,
    };
    Some(&world.state.assignments.get(&assignment)?.unit_id)
}

/// The people who act on the case.
const CAST: [(&str, Role, &str); 16] = [
    ("m1", Role::Monitor, "city-cac"),
    ("d1", Role::Dispatcher, "city-cac"),
    ("d2", Role::Dispatcher, "city-cac"),
    ("o-road", Role::Officer, "road-bureau"),
    ("h-road", Role::UnitHead, "road-bureau"),
    ("o-water", Role::Officer, "water-bureau"),
    ("h-water", Role::UnitHead, "water-bureau"),
    ("o-east", Role::Officer, "east-street"),
    ("h-east", Role::UnitHead, "east-street"),
    ("l1", Role::Leader, "city-gov"),
    ("s1", Role::Supervisor, "city-supervision"),
    ("s2", Role::Supervisor, "city-cac"),
    ("p1", Role::Police, "city-police"),
    ("e1", Role::Evaluator, "city-assessment"),
    ("i1", Role::Inspector, "city-discipline"),
    ("a1", Role::Admin, "city-cac"),
];

fn actor(u: &mut Unstructured<'_>) -> Result<Actor> {
    if u.ratio(1, 16)? {
        return Ok(Actor::system(unit("city-cac")));
    }
    let (user, role, unit_code) = *u.choose(&CAST)?;
    Ok(person(user, role, unit_code))
}

fn referenced_unit(u: &mut Unstructured<'_>) -> Result<ReferencedUnit> {
    let units: [(&str, UnitKind); 5] = [
        ("road-bureau", UnitKind::Department),
        ("water-bureau", UnitKind::Department),
        ("city-police", UnitKind::Police),
        ("east-street", UnitKind::TownshipOrStreet),
        ("city-cac", UnitKind::CyberspaceOffice),
    ];
    let (code, mut kind) = *u.choose(&units)?;
    if u.ratio(1, 16)? {
        kind = *u.choose(UnitKind::ALL)?;
    }
    Ok(ReferencedUnit {
        unit_id: unit(code),
        name: code.to_owned(),
        kind,
        active: !u.ratio(1, 16)?,
    })
}

/// One of the case's own ids (mostly), or one from a small pool.
fn id_of<T: Copy>(
    u: &mut Unstructured<'_>,
    known: impl Iterator<Item = T>,
    base: u128,
    make: fn(uuid::Uuid) -> T,
) -> Result<T> {
    let known: Vec<T> = known.collect();
    if !known.is_empty() && !u.ratio(1, 6)? {
        return Ok(*u.choose(&known)?);
    }
    Ok(make(uuid::Uuid::from_u128(base + u.int_in_range(0..=2)?)))
}

fn assignment(u: &mut Unstructured<'_>, world: &World) -> Result<AssignmentId> {
    id_of(
        u,
        world.state.assignments.keys().copied(),
        10,
        AssignmentId::from_uuid,
    )
}
fn reply(u: &mut Unstructured<'_>, world: &World) -> Result<ReplyId> {
    id_of(
        u,
        world.state.replies.keys().copied(),
        20,
        ReplyId::from_uuid,
    )
}
fn referral(u: &mut Unstructured<'_>, world: &World) -> Result<ReferralId> {
    id_of(
        u,
        world.state.referrals.keys().copied(),
        30,
        ReferralId::from_uuid,
    )
}
fn memo(u: &mut Unstructured<'_>, world: &World) -> Result<MemoId> {
    id_of(u, world.state.memos.keys().copied(), 40, MemoId::from_uuid)
}

/// A free text: mostly a plain one, sometimes whatever the input holds, parsed as the
/// API parses it (`None` when the parser refuses it: the command is never sent).
fn text(u: &mut Unstructured<'_>) -> Result<Option<RequiredText>> {
    let raw: String = if u.ratio(1, 8)? {
        u.arbitrary()?
    } else {
        (*u.choose(&["已核实", "路面已修复", "依法处理", "第一行\n第二行\t附注"])?).to_owned()
    };
    Ok(parsed_text(&raw, TextKind::Prose))
}

fn optional_text(u: &mut Unstructured<'_>) -> Result<Option<RequiredText>> {
    Ok(if u.arbitrary()? { text(u)? } else { None })
}

/// Parse `raw` as text of `kind`; what the parser accepts is checked to be storable.
fn parsed_text(raw: &str, kind: TextKind) -> Option<RequiredText> {
    let parsed = RequiredText::parse_as("text", raw, kind).ok()?;
    check_storable(parsed.as_str(), kind);
    Some(parsed)
}

fn check_storable(text: &str, kind: TextKind) {
    assert!(!text.contains('\0'), "{text:?}");
    assert!(
        text.chars()
            .all(|c| !c.is_control() || (kind == TextKind::Prose && matches!(c, '\n' | '\t'))),
        "{text:?}"
    );
    assert_eq!(
        normalize("text", text, kind).as_deref(),
        Ok(text),
        "normalising twice changes nothing"
    );
}

fn url(u: &mut Unstructured<'_>) -> Result<Option<PostUrl>> {
    if u.ratio(1, 8)? {
        let raw: String = u.arbitrary()?;
        let parsed = PostUrl::parse(&raw).ok();
        if let Some(url) = &parsed {
            check_storable(url.as_str(), TextKind::Name);
        }
        return Ok(parsed);
    }
    let n = u.int_in_range(1..=4)?;
    Ok(Some(
        PostUrl::parse(&format!("https://weibo.example.cn/p/{n}")).expect("a valid URL"),
    ))
}

fn post(u: &mut Unstructured<'_>) -> Result<Option<Post>> {
    let Some(url) = url(u)? else {
        return Ok(None);
    };
    let title = if u.ratio(1, 4)? {
        let raw: String = u.arbitrary()?;
        match normalize("title", &raw, TextKind::Line) {
            Ok(title) if !title.is_empty() => {
                check_storable(&title, TextKind::Line);
                title
            }
            _ => return Ok(None),
        }
    } else {
        "人民路路面塌陷".to_owned()
    };
    Ok(Some(Post {
        platform: *u.choose(Platform::ALL)?,
        url,
        title,
        excerpt: String::new(),
        posted_at: None,
        author: None,
        heat: heat(u)?,
    }))
}

fn heat(u: &mut Unstructured<'_>) -> Result<Heat> {
    Ok(Heat {
        views: u.arbitrary()?,
        reposts: u.arbitrary()?,
        comments: u.arbitrary()?,
        likes: u.arbitrary()?,
    })
}

/// An instant near `now`: mostly within a few days (where it competes with the other
/// deadlines), sometimes in the past or up to two months ahead.
fn instant_near(u: &mut Unstructured<'_>, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let minutes = if u.ratio(3, 4)? {
        u.int_in_range(-24 * 60..=4 * 24 * 60)?
    } else {
        u.int_in_range(-3 * 24 * 60..=60 * 24 * 60)?
    };
    Ok(now + Duration::minutes(minutes))
}

fn date_near(u: &mut Unstructured<'_>, now: DateTime<Utc>) -> Result<NaiveDate> {
    Ok(instant_near(u, now)?.date_naive())
}

/// A deadline id: one the case has, or one it does not.
fn deadline_id(u: &mut Unstructured<'_>, world: &World) -> Result<String> {
    let known: Vec<&String> = world.state.deadlines.keys().collect();
    if !known.is_empty() && !u.ratio(1, 8)? {
        return Ok((*u.choose(&known)?).clone());
    }
    Ok((*u.choose(&["feedback:nope", "public_response", ""])?).to_owned())
}

/// The next command, or `None` when one of its texts did not parse.
fn command(u: &mut Unstructured<'_>, world: &World, kind: u8) -> Result<Option<CaseCommand>> {
    use CaseCommand as C;
    macro_rules! need {
        ($value:expr) => {
            match $value {
                Some(value) => value,
                None => return Ok(None),
            }
        };
    }
    Ok(Some(match kind {
        0 => C::FlagPost {
            post: need!(post(u)?),
            note: optional_text(u)?,
        },
        1 => C::AttachPost {
            post: need!(post(u)?),
            note: optional_text(u)?,
        },
        2 => C::RecordHeat {
            url: need!(url(u)?),
            heat: heat(u)?,
        },
        3 => C::RecordFollowUp {
            observation: need!(text(u)?),
            sentiment: *u.choose(FollowUpSentiment::ALL)?,
        },
        4 => {
            let count = u.int_in_range(0..=3)?;
            let mut categories = Vec::new();
            for _ in 0..count {
                categories.push(*u.choose(KeyCategory::ALL)?);
            }
            let class = if u.ratio(1, 4)? {
                let raw: String = u.arbitrary()?;
                need!(ProblemClass::parse(&raw).ok())
            } else {
                ProblemClass::parse("道路塌陷").expect("a valid class")
            };
            C::TriageCase {
                level: *u.choose(Level::ALL)?,
                categories,
                problem_class: class,
                jurisdiction: if u.arbitrary()? {
                    Some(referenced_unit(u)?)
                } else {
                    None
                },
            }
        }
        5 => C::ChangeCaseLevel {
            to: *u.choose(Level::ALL)?,
            reason: need!(text(u)?),
        },
        6 => C::AssignCase {
            assignment_id: id_of(u, std::iter::empty(), 10, AssignmentId::from_uuid)?,
            unit: referenced_unit(u)?,
            role: *u.choose(AssignmentRole::ALL)?,
            instruction: optional_text(u)?,
        },
        7 => C::AcceptAssignment {
            assignment_id: assignment(u, world)?,
        },
        8 => C::ReturnAssignment {
            assignment_id: assignment(u, world)?,
            reason: need!(text(u)?),
        },
        9 => C::AcceptReturn {
            assignment_id: assignment(u, world)?,
            note: optional_text(u)?,
        },
        10 => C::RejectReturn {
            assignment_id: assignment(u, world)?,
            note: need!(text(u)?),
        },
        11 => C::WithdrawAssignment {
            assignment_id: assignment(u, world)?,
            reason: need!(text(u)?),
        },
        12 => C::VerifyFacts {
            assignment_id: assignment(u, world)?,
            finding: *u.choose(Finding::ALL)?,
            summary: need!(text(u)?),
        },
        13 => C::SubmitReply {
            assignment_id: assignment(u, world)?,
            reply_id: id_of(u, std::iter::empty(), 20, ReplyId::from_uuid)?,
            content: need!(text(u)?),
        },
        14 => C::ApproveReply {
            reply_id: reply(u, world)?,
            note: optional_text(u)?,
        },
        15 => C::SendBackReply {
            reply_id: reply(u, world)?,
            note: need!(text(u)?),
        },
        16 => C::PublishResponse {
            channel: *u.choose(ResponseChannel::ALL)?,
            content: need!(text(u)?),
            url: if u.arbitrary()? { url(u)? } else { None },
        },
        17 => C::PromiseRectification {
            assignment_id: assignment(u, world)?,
            due_date: date_near(u, world.now)?,
            measures: need!(text(u)?),
        },
        18 => C::CompleteRectification {
            assignment_id: assignment(u, world)?,
            result: need!(text(u)?),
        },
        19 => C::CompleteAssignment {
            assignment_id: assignment(u, world)?,
            summary: need!(text(u)?),
        },
        20 => C::SendMemo {
            memo_id: id_of(u, std::iter::empty(), 40, MemoId::from_uuid)?,
            summary: need!(text(u)?),
        },
        21 => C::InstructOnMemo {
            memo_id: memo(u, world)?,
            instruction: need!(text(u)?),
            deadline: if u.arbitrary()? {
                Some(instant_near(u, world.now)?)
            } else {
                None
            },
        },
        22 => C::RecordDeadlineApproaching {
            deadline_id: deadline_id(u, world)?,
        },
        23 => C::RecordDeadlineMissed {
            deadline_id: deadline_id(u, world)?,
        },
        24 => C::RecomputeProvisionalDeadline {
            deadline_id: deadline_id(u, world)?,
        },
        25 => C::UrgeSupervision {
            target_unit: referenced_unit(u)?.unit_id,
            note: need!(text(u)?),
        },
        26 => C::ProposeRumourReferral {
            referral_id: id_of(u, std::iter::empty(), 30, ReferralId::from_uuid)?,
            police_unit: referenced_unit(u)?,
            legal_basis: need!(text(u)?),
            evidence: need!(text(u)?),
        },
        27 => C::ApproveRumourReferral {
            referral_id: referral(u, world)?,
        },
        28 => C::RecordReferralOutcome {
            referral_id: referral(u, world)?,
            outcome: *u.choose(ReferralOutcome::ALL)?,
            action: need!(text(u)?),
        },
        29 => C::RebutRumour {
            referral_id: referral(u, world)?,
            channel: *u.choose(ResponseChannel::ALL)?,
            content: need!(text(u)?),
        },
        30 => C::CloseCase {
            outcome: need!(text(u)?),
        },
        31 => C::ReopenCase {
            reason: need!(text(u)?),
        },
        _ => C::DeclareMassIncident {
            note: need!(text(u)?),
        },
    }))
}
