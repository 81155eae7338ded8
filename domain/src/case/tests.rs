//! Given/when/then tests of the case aggregate: given the events a history of commands
//! produced, when a command, then these events or this refusal.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::*;
use crate::actor::{Actor, Role};
use crate::commands::{CaseCommand, Command, ReferencedUnit};
use crate::error::DomainError;
use crate::events::{Event, Heat, Post};
use crate::ids::*;
use crate::refusal::{Refusal, RefusalKind};
use crate::rules::CaseRules;
use crate::text::RequiredText;
use crate::vocabulary::*;

fn t0() -> DateTime<Utc> {
    "2026-03-02T01:00:00Z".parse().unwrap()
}

fn person(user: &str, role: Role, unit: &str) -> Actor {
    Actor::new(
        UserId::parse(user).unwrap(),
        user,
        role,
        UnitId::parse(unit).unwrap(),
    )
    .unwrap()
}

fn monitor() -> Actor {
    person("m1", Role::Monitor, "city-cac")
}
fn dispatcher() -> Actor {
    person("d1", Role::Dispatcher, "city-cac")
}
fn second_dispatcher() -> Actor {
    person("d2", Role::Dispatcher, "city-cac")
}
fn officer(unit: &str) -> Actor {
    person(&format!("o-{unit}"), Role::Officer, unit)
}
fn unit_head(unit: &str) -> Actor {
    person(&format!("h-{unit}"), Role::UnitHead, unit)
}
fn police() -> Actor {
    person("p1", Role::Police, "city-police")
}
fn system() -> Actor {
    Actor::system(UnitId::parse("city-cac").unwrap())
}

fn text(s: &str) -> RequiredText {
    RequiredText::parse("text", s).unwrap()
}

fn unit(code: &str, kind: UnitKind, active: bool) -> ReferencedUnit {
    ReferencedUnit {
        unit_id: UnitId::parse(code).unwrap(),
        name: code.to_owned(),
        kind,
        active,
    }
}

fn post(url: &str) -> Post {
    Post {
        platform: Platform::Weibo,
        url: PostUrl::parse(url).unwrap(),
        title: "人民路路面塌陷".to_owned(),
        excerpt: String::new(),
        posted_at: None,
        author: None,
        heat: Heat::default(),
    }
}

fn case_id() -> CaseId {
    CaseId::from_uuid(uuid::Uuid::from_u128(1))
}
fn a1() -> AssignmentId {
    AssignmentId::from_uuid(uuid::Uuid::from_u128(11))
}
fn a2() -> AssignmentId {
    AssignmentId::from_uuid(uuid::Uuid::from_u128(12))
}
fn r1() -> ReplyId {
    ReplyId::from_uuid(uuid::Uuid::from_u128(21))
}
fn ref1() -> ReferralId {
    ReferralId::from_uuid(uuid::Uuid::from_u128(31))
}
fn memo1() -> MemoId {
    MemoId::from_uuid(uuid::Uuid::from_u128(41))
}

/// A history built by running commands through `decide`, so every "given" is reachable.
#[derive(Clone)]
struct Scenario {
    events: Vec<Event>,
    now: DateTime<Utc>,
}

impl Scenario {
    fn new() -> Self {
        Self {
            events: Vec::new(),
            now: t0(),
        }
    }
    fn state(&self) -> CaseState {
        CaseState::from_events(&self.events)
    }
    fn at(mut self, offset: Duration) -> Self {
        self.now = t0() + offset;
        self
    }
    fn when(&self, actor: Actor, body: CaseCommand) -> Result<Vec<Event>, DomainError> {
        let command = Command {
            actor,
            issued_at: self.now,
            rules: CaseRules::default(),
            body,
        };
        decide(case_id(), &self.state(), &command)
    }
    fn given(mut self, actor: Actor, body: CaseCommand) -> Self {
        let name = body.kind();
        let events = self
            .when(actor, body)
            .unwrap_or_else(|e| panic!("given {name} was refused: {e}"));
        self.events.extend(events);
        self
    }
    fn flagged() -> Self {
        Self::new().given(
            monitor(),
            CaseCommand::FlagPost {
                post: post("https://weibo.com/1"),
                note: None,
            },
        )
    }
    fn triaged(level: Level, categories: Vec<KeyCategory>) -> Self {
        Self::flagged().given(
            dispatcher(),
            CaseCommand::TriageCase {
                level,
                categories,
                problem_class: ProblemClass::parse("道路塌陷").unwrap(),
                jurisdiction: None,
            },
        )
    }
    fn assigned() -> Self {
        Self::triaged(Level::General, vec![]).given(
            dispatcher(),
            CaseCommand::AssignCase {
                assignment_id: a1(),
                unit: unit("city-housing", UnitKind::Department, true),
                role: AssignmentRole::Lead,
                instruction: None,
            },
        )
    }
    fn accepted() -> Self {
        Self::assigned().given(
            officer("city-housing"),
            CaseCommand::AcceptAssignment {
                assignment_id: a1(),
            },
        )
    }
    fn replied() -> Self {
        Self::accepted().given(
            officer("city-housing"),
            CaseCommand::SubmitReply {
                assignment_id: a1(),
                reply_id: r1(),
                content: text("已修复"),
            },
        )
    }
    fn approved() -> Self {
        Self::replied().given(
            unit_head("city-housing"),
            CaseCommand::ApproveReply {
                reply_id: r1(),
                note: None,
            },
        )
    }
    fn referral_proposed() -> Self {
        Self::triaged(Level::General, vec![]).given(
            dispatcher(),
            CaseCommand::ProposeRumourReferral {
                referral_id: ref1(),
                police_unit: unit("city-police", UnitKind::Police, true),
                legal_basis: text("《治安管理处罚法》第二十五条"),
                evidence: text("截图三张"),
            },
        )
    }
}

/// The refusal of a command that must be refused.
#[track_caller]
fn refusal(result: Result<Vec<Event>, DomainError>) -> Refusal {
    match result {
        Err(DomainError::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Refused by the state, with the refusal `code`.
#[track_caller]
fn refused_as_rule(result: Result<Vec<Event>, DomainError>, code: &str) {
    let refusal = refusal(result);
    assert_eq!(refusal.kind(), RefusalKind::Rule, "{refusal}");
    assert_eq!(refusal.code(), code, "{refusal}");
}

/// Refused because what it names does not exist, with the refusal `code`.
#[track_caller]
fn not_found(result: Result<Vec<Event>, DomainError>, code: &str) {
    let refusal = refusal(result);
    assert_eq!(refusal.kind(), RefusalKind::NotFound, "{refusal}");
    assert_eq!(refusal.code(), code, "{refusal}");
}

/// Forbidden because the actor lacks the role; `role` is one of those that may.
#[track_caller]
fn forbidden_to_role(result: Result<Vec<Event>, DomainError>, role: Role) {
    match refusal(result) {
        Refusal::RoleNotAllowed { allowed, .. } => {
            assert!(allowed.contains(&role), "{allowed:?} should name {role:?}")
        }
        other => panic!("expected a refusal for the role, got {other:?}"),
    }
}

/// Forbidden because what it acts on belongs to `unit`, not to the actor's unit.
#[track_caller]
fn forbidden_to_unit(result: Result<Vec<Event>, DomainError>, unit: &str) {
    match refusal(result) {
        Refusal::NotYourUnit { unit: owner, .. } => assert_eq!(owner.as_str(), unit),
        other => panic!("expected a refusal for the unit, got {other:?}"),
    }
}

/// Forbidden for another reason, with the refusal `code`.
#[track_caller]
fn forbidden(result: Result<Vec<Event>, DomainError>, code: &str) {
    let refusal = refusal(result);
    assert_eq!(refusal.kind(), RefusalKind::Forbidden, "{refusal}");
    assert_eq!(refusal.code(), code, "{refusal}");
}

// --- The refusals of docs/domain/lifecycle.md -------------------------------------------------

#[test]
fn a_reply_before_the_assignment_is_accepted_is_refused() {
    let result = Scenario::assigned().when(
        officer("city-housing"),
        CaseCommand::SubmitReply {
            assignment_id: a1(),
            reply_id: r1(),
            content: text("已处理"),
        },
    );
    refused_as_rule(result, "not_yet_accepted");
}

#[test]
fn closing_with_an_assignment_still_open_is_refused() {
    let result = Scenario::approved().when(
        dispatcher(),
        CaseCommand::CloseCase {
            outcome: text("已办结"),
        },
    );
    refused_as_rule(result, "assignments_still_open");
}

#[test]
fn a_police_outcome_with_no_referral_is_refused() {
    let result = Scenario::triaged(Level::General, vec![]).when(
        police(),
        CaseCommand::RecordReferralOutcome {
            referral_id: ref1(),
            outcome: ReferralOutcome::ConfirmedRumour,
            action: text("行政拘留"),
        },
    );
    not_found(result, "no_such_referral");
}

#[test]
fn a_police_outcome_before_the_second_dispatcher_approves_is_refused() {
    let result = Scenario::referral_proposed().when(
        police(),
        CaseCommand::RecordReferralOutcome {
            referral_id: ref1(),
            outcome: ReferralOutcome::NotARumour,
            action: text("不予处理"),
        },
    );
    refused_as_rule(result, "referral_not_approved");
}

#[test]
fn a_referral_approved_by_the_dispatcher_who_proposed_it_is_refused() {
    let result = Scenario::referral_proposed().when(
        dispatcher(),
        CaseCommand::ApproveRumourReferral {
            referral_id: ref1(),
        },
    );
    refused_as_rule(result, "four_eyes");
    let approved = Scenario::referral_proposed()
        .when(
            second_dispatcher(),
            CaseCommand::ApproveRumourReferral {
                referral_id: ref1(),
            },
        )
        .unwrap();
    assert!(matches!(approved[0], Event::RumourReferralApproved { .. }));
}

#[test]
fn an_officer_acting_for_another_unit_is_forbidden() {
    let result = Scenario::assigned().when(
        officer("city-transport"),
        CaseCommand::AcceptAssignment {
            assignment_id: a1(),
        },
    );
    forbidden_to_unit(result, "city-housing");
    let result = Scenario::replied().when(
        unit_head("city-transport"),
        CaseCommand::ApproveReply {
            reply_id: r1(),
            note: None,
        },
    );
    forbidden_to_unit(result, "city-housing");
}

#[test]
fn a_case_cannot_be_flagged_twice_and_a_post_cannot_be_attached_twice() {
    let scenario = Scenario::flagged();
    refused_as_rule(
        scenario.when(
            monitor(),
            CaseCommand::FlagPost {
                post: post("https://weibo.com/2"),
                note: None,
            },
        ),
        "case_already_exists",
    );
    refused_as_rule(
        scenario.when(
            monitor(),
            CaseCommand::AttachPost {
                post: post("https://weibo.com/1"),
                note: None,
            },
        ),
        "post_already_on_this_case",
    );
}

#[test]
fn commands_on_a_case_that_was_never_flagged_are_not_found() {
    not_found(
        Scenario::new().when(dispatcher(), CaseCommand::CloseCase { outcome: text("x") }),
        "no_such_case",
    );
}

#[test]
fn assignment_needs_triage_an_active_unit_and_one_lead() {
    let assign = |code: &str, active: bool, role| CaseCommand::AssignCase {
        assignment_id: a2(),
        unit: unit(code, UnitKind::Department, active),
        role,
        instruction: None,
    };
    refused_as_rule(
        Scenario::flagged().when(
            dispatcher(),
            assign("city-housing", true, AssignmentRole::Lead),
        ),
        "not_triaged",
    );
    let triaged = Scenario::triaged(Level::General, vec![]);
    refused_as_rule(
        triaged.when(
            dispatcher(),
            assign("city-old", false, AssignmentRole::Lead),
        ),
        "unit_deactivated",
    );
    let assigned = Scenario::assigned();
    refused_as_rule(
        assigned.when(
            dispatcher(),
            assign("city-transport", true, AssignmentRole::Lead),
        ),
        "case_has_lead",
    );
    refused_as_rule(
        assigned.when(
            dispatcher(),
            assign("city-housing", true, AssignmentRole::CoHandler),
        ),
        "unit_has_open_assignment",
    );
    assert!(
        assigned
            .when(
                dispatcher(),
                assign("city-transport", true, AssignmentRole::CoHandler)
            )
            .is_ok()
    );
}

#[test]
fn a_rejected_return_sends_the_assignment_back_to_the_unit_and_an_accepted_one_ends_it() {
    let returned = Scenario::assigned().given(
        officer("city-housing"),
        CaseCommand::ReturnAssignment {
            assignment_id: a1(),
            reason: text("不属于本单位职责"),
        },
    );
    let rejected = returned
        .when(
            dispatcher(),
            CaseCommand::RejectReturn {
                assignment_id: a1(),
                note: text("属于职责范围"),
            },
        )
        .unwrap();
    let mut history = returned.events.clone();
    history.extend(rejected);
    assert_eq!(
        CaseState::from_events(&history).assignments[&a1()].status,
        AssignmentStatus::Accepted
    );

    let accepted = returned
        .when(
            dispatcher(),
            CaseCommand::AcceptReturn {
                assignment_id: a1(),
                note: None,
            },
        )
        .unwrap();
    let mut history = returned.events.clone();
    history.extend(accepted);
    let state = CaseState::from_events(&history);
    assert_eq!(
        state.assignments[&a1()].status,
        AssignmentStatus::ReturnAccepted
    );
    assert!(state.deadlines[&deadline_ids::feedback(a1())].settled);
    assert!(state.active_lead().is_none());
    // An assignment not returned cannot have its return decided.
    refused_as_rule(
        Scenario::accepted().when(
            dispatcher(),
            CaseCommand::RejectReturn {
                assignment_id: a1(),
                note: text("x"),
            },
        ),
        "not_returned",
    );
    // Returning after signing for it is refused.
    refused_as_rule(
        Scenario::accepted().when(
            officer("city-housing"),
            CaseCommand::ReturnAssignment {
                assignment_id: a1(),
                reason: text("x"),
            },
        ),
        "not_awaiting_signature",
    );
}

#[test]
fn completing_needs_an_approved_reply_and_any_promised_rectification_done() {
    refused_as_rule(
        Scenario::replied().when(
            officer("city-housing"),
            CaseCommand::CompleteAssignment {
                assignment_id: a1(),
                summary: text("办结"),
            },
        ),
        "no_approved_reply",
    );
    let promised = Scenario::approved().given(
        officer("city-housing"),
        CaseCommand::PromiseRectification {
            assignment_id: a1(),
            due_date: NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
            measures: text("全面排查"),
        },
    );
    refused_as_rule(
        promised.when(
            officer("city-housing"),
            CaseCommand::CompleteAssignment {
                assignment_id: a1(),
                summary: text("办结"),
            },
        ),
        "rectification_not_completed",
    );
    let done = promised
        .given(
            officer("city-housing"),
            CaseCommand::CompleteRectification {
                assignment_id: a1(),
                result: text("已完成"),
            },
        )
        .given(
            officer("city-housing"),
            CaseCommand::CompleteAssignment {
                assignment_id: a1(),
                summary: text("办结"),
            },
        )
        .given(
            dispatcher(),
            CaseCommand::CloseCase {
                outcome: text("问题已解决"),
            },
        );
    assert_eq!(done.state().status(), CaseStatus::Closed);
}

#[test]
fn a_promised_date_in_the_past_is_refused() {
    let result = Scenario::accepted().when(
        officer("city-housing"),
        CaseCommand::PromiseRectification {
            assignment_id: a1(),
            due_date: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            measures: text("x"),
        },
    );
    refused_as_rule(result, "promised_date_in_past");
}

#[test]
fn a_reply_is_decided_once() {
    let approved = Scenario::approved();
    refused_as_rule(
        approved.when(
            unit_head("city-housing"),
            CaseCommand::ApproveReply {
                reply_id: r1(),
                note: None,
            },
        ),
        "reply_not_awaiting_approval",
    );
    refused_as_rule(
        Scenario::replied().when(
            officer("city-housing"),
            CaseCommand::SubmitReply {
                assignment_id: a1(),
                reply_id: ReplyId::from_uuid(uuid::Uuid::from_u128(22)),
                content: text("再次"),
            },
        ),
        "reply_awaiting_approval",
    );
}

#[test]
fn a_closed_case_refuses_work_until_reopened() {
    let closed = Scenario::triaged(Level::General, vec![]).given(
        dispatcher(),
        CaseCommand::CloseCase {
            outcome: text("经核实无需转办"),
        },
    );
    refused_as_rule(
        closed.when(
            dispatcher(),
            CaseCommand::AssignCase {
                assignment_id: a1(),
                unit: unit("city-housing", UnitKind::Department, true),
                role: AssignmentRole::Lead,
                instruction: None,
            },
        ),
        "case_closed",
    );
    refused_as_rule(
        Scenario::flagged().when(dispatcher(), CaseCommand::ReopenCase { reason: text("x") }),
        "case_not_closed",
    );
    let reopened = closed.given(
        dispatcher(),
        CaseCommand::ReopenCase {
            reason: text("再次发酵"),
        },
    );
    assert_eq!(reopened.state().status(), CaseStatus::Triaged);
}

#[test]
fn a_rumour_can_be_rebutted_only_once_the_police_confirm_it() {
    let approved = Scenario::referral_proposed().given(
        second_dispatcher(),
        CaseCommand::ApproveRumourReferral {
            referral_id: ref1(),
        },
    );
    let rebut = CaseCommand::RebutRumour {
        referral_id: ref1(),
        channel: ResponseChannel::AuthoritativeRelease,
        content: text("辟谣"),
    };
    refused_as_rule(
        approved.when(dispatcher(), rebut.clone()),
        "rumour_not_confirmed",
    );
    let not_rumour = approved.clone().given(
        police(),
        CaseCommand::RecordReferralOutcome {
            referral_id: ref1(),
            outcome: ReferralOutcome::NotARumour,
            action: text("不构成"),
        },
    );
    refused_as_rule(
        not_rumour.when(dispatcher(), rebut.clone()),
        "nothing_to_rebut",
    );
    forbidden_to_unit(
        approved.when(
            person("p2", Role::Police, "county-police"),
            CaseCommand::RecordReferralOutcome {
                referral_id: ref1(),
                outcome: ReferralOutcome::ConfirmedRumour,
                action: text("x"),
            },
        ),
        "city-police",
    );
    refused_as_rule(
        Scenario::triaged(Level::General, vec![]).when(
            dispatcher(),
            CaseCommand::ProposeRumourReferral {
                referral_id: ref1(),
                police_unit: unit("city-housing", UnitKind::Department, true),
                legal_basis: text("x"),
                evidence: text("y"),
            },
        ),
        "not_a_police_unit",
    );
}

// --- Roles of docs/domain/people.md ------------------------------------------------------------

#[test]
fn each_command_is_refused_to_the_roles_that_may_not_issue_it() {
    forbidden_to_role(
        Scenario::new().when(
            dispatcher(),
            CaseCommand::FlagPost {
                post: post("https://weibo.com/9"),
                note: None,
            },
        ),
        Role::Monitor,
    );
    forbidden_to_role(
        Scenario::flagged().when(
            monitor(),
            CaseCommand::TriageCase {
                level: Level::General,
                categories: vec![],
                problem_class: ProblemClass::parse("x").unwrap(),
                jurisdiction: None,
            },
        ),
        Role::Dispatcher,
    );
    forbidden_to_role(
        Scenario::assigned().when(
            dispatcher(),
            CaseCommand::AcceptAssignment {
                assignment_id: a1(),
            },
        ),
        Role::Officer,
    );
    forbidden_to_role(
        Scenario::replied().when(
            officer("city-housing"),
            CaseCommand::ApproveReply {
                reply_id: r1(),
                note: None,
            },
        ),
        Role::UnitHead,
    );
    forbidden_to_role(
        Scenario::approved().when(
            officer("city-housing"),
            CaseCommand::CloseCase { outcome: text("x") },
        ),
        Role::Dispatcher,
    );
    forbidden_to_role(
        Scenario::assigned().when(
            dispatcher(),
            CaseCommand::RecordDeadlineMissed {
                deadline_id: deadline_ids::feedback(a1()),
            },
        ),
        Role::System,
    );
    let memo = Scenario::triaged(Level::Major, vec![]).given(
        dispatcher(),
        CaseCommand::SendMemo {
            memo_id: memo1(),
            summary: text("请批示"),
        },
    );
    forbidden_to_role(
        memo.when(
            dispatcher(),
            CaseCommand::InstructOnMemo {
                memo_id: memo1(),
                instruction: text("x"),
                deadline: None,
            },
        ),
        Role::Leader,
    );
    forbidden_to_role(
        Scenario::assigned().when(
            dispatcher(),
            CaseCommand::UrgeSupervision {
                target_unit: UnitId::parse("city-housing").unwrap(),
                note: text("x"),
            },
        ),
        Role::Supervisor,
    );
    // 一般 cases are supervised by the cyberspace office, not the supervision office.
    forbidden(
        Scenario::assigned().when(
            person("s1", Role::Supervisor, "city-supervision"),
            CaseCommand::UrgeSupervision {
                target_unit: UnitId::parse("city-housing").unwrap(),
                note: text("x"),
            },
        ),
        "not_the_supervising_unit",
    );
    let supervisor = person("s-cac", Role::Supervisor, "city-cac");
    assert!(
        Scenario::assigned()
            .when(
                supervisor.clone(),
                CaseCommand::UrgeSupervision {
                    target_unit: UnitId::parse("city-housing").unwrap(),
                    note: text("请尽快反馈")
                },
            )
            .is_ok()
    );
    refused_as_rule(
        Scenario::assigned().when(
            supervisor,
            CaseCommand::UrgeSupervision {
                target_unit: UnitId::parse("city-transport").unwrap(),
                note: text("x"),
            },
        ),
        "nothing_to_urge",
    );
    forbidden_to_role(
        Scenario::accepted().when(
            person("i1", Role::Inspector, "city-discipline"),
            CaseCommand::PublishResponse {
                channel: ResponseChannel::ForumReply,
                content: text("x"),
                url: None,
            },
        ),
        Role::Officer,
    );
    forbidden(
        Scenario::accepted().when(
            officer("city-transport"),
            CaseCommand::PublishResponse {
                channel: ResponseChannel::ForumReply,
                content: text("x"),
                url: None,
            },
        ),
        "no_assignment_to_respond_for",
    );
}

// --- Deadlines of docs/domain/time-rules.md -------------------------------------------------------

#[test]
fn the_feedback_deadline_follows_the_level_and_a_level_change_reschedules_it() {
    let assigned = Scenario::assigned();
    let deadline = &assigned.state().deadlines[&deadline_ids::feedback(a1())];
    assert_eq!(deadline.due_at, t0() + Duration::hours(48));
    let events = assigned
        .clone()
        .at(Duration::hours(1))
        .when(
            dispatcher(),
            CaseCommand::ChangeCaseLevel {
                to: Level::Major,
                reason: text("热度激增"),
            },
        )
        .unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    match &events[1] {
        Event::DeadlineRescheduled {
            due_at,
            previous_due_at,
            deadline_rule,
            ..
        } => {
            assert_eq!(*previous_due_at, t0() + Duration::hours(48));
            assert_eq!(*due_at, t0() + Duration::hours(24));
            assert_eq!(deadline_rule, "feedback/v1/major=24h");
        }
        other => panic!("expected a reschedule, got {other:?}"),
    }
    refused_as_rule(
        assigned.when(
            dispatcher(),
            CaseCommand::ChangeCaseLevel {
                to: Level::General,
                reason: text("x"),
            },
        ),
        "already_at_level",
    );
}

#[test]
fn deadline_events_are_written_once_and_only_when_due() {
    let feedback = deadline_ids::feedback(a1());
    let rules = CaseRules::default();
    let assigned = Scenario::assigned();
    // Before the warning window: nothing due.
    assert!(
        assigned
            .state()
            .due_deadline_commands(t0() + Duration::hours(43), &rules)
            .is_empty()
    );
    refused_as_rule(
        assigned.clone().at(Duration::hours(43)).when(
            system(),
            CaseCommand::RecordDeadlineApproaching {
                deadline_id: feedback.clone(),
            },
        ),
        "deadline_not_in_warning_window",
    );
    // Inside the 4 h warning window: one warning.
    let warned = assigned.at(Duration::hours(45)).given(
        system(),
        CaseCommand::RecordDeadlineApproaching {
            deadline_id: feedback.clone(),
        },
    );
    refused_as_rule(
        warned.when(
            system(),
            CaseCommand::RecordDeadlineApproaching {
                deadline_id: feedback.clone(),
            },
        ),
        "deadline_already_warned",
    );
    refused_as_rule(
        warned.when(
            system(),
            CaseCommand::RecordDeadlineMissed {
                deadline_id: feedback.clone(),
            },
        ),
        "deadline_not_passed",
    );
    // Past due: one miss, then nothing more.
    let missed = warned.at(Duration::hours(49)).given(
        system(),
        CaseCommand::RecordDeadlineMissed {
            deadline_id: feedback.clone(),
        },
    );
    assert!(
        missed
            .state()
            .due_deadline_commands(t0() + Duration::hours(60), &rules)
            .is_empty()
    );
    refused_as_rule(
        missed.when(
            system(),
            CaseCommand::RecordDeadlineMissed {
                deadline_id: feedback,
            },
        ),
        "deadline_already_missed",
    );
}

#[test]
fn an_assignment_answered_in_time_gets_no_missed_deadline() {
    let approved = Scenario::approved();
    let rules = CaseRules::default();
    assert!(approved.state().deadlines[&deadline_ids::feedback(a1())].settled);
    assert!(
        approved
            .state()
            .due_deadline_commands(t0() + Duration::days(10), &rules)
            .is_empty()
    );
}

#[test]
fn a_major_emergency_gets_a_press_conference_deadline_that_a_press_conference_meets() {
    let triaged = Scenario::triaged(Level::Major, vec![KeyCategory::EmergencyOrDisaster]);
    let deadline = &triaged.state().deadlines[deadline_ids::PUBLIC_RESPONSE];
    assert_eq!(deadline.due_at, t0() + Duration::hours(24));
    let responded = triaged.given(
        dispatcher(),
        CaseCommand::PublishResponse {
            channel: ResponseChannel::PressConference,
            content: text("召开新闻发布会"),
            url: None,
        },
    );
    assert!(responded.state().deadlines[deadline_ids::PUBLIC_RESPONSE].settled);
    // A general case gets none.
    assert!(
        Scenario::triaged(Level::General, vec![KeyCategory::EmergencyOrDisaster])
            .state()
            .deadlines
            .is_empty()
    );
}

#[test]
fn a_leader_instruction_is_due_in_three_working_days_by_default() {
    // Friday 2025-11-14 10:00 Shanghai → Wednesday 19th 24:00.
    let friday: DateTime<Utc> = "2025-11-14T02:00:00Z".parse().unwrap();
    let memo = Scenario::triaged(Level::Major, vec![]).given(
        dispatcher(),
        CaseCommand::SendMemo {
            memo_id: memo1(),
            summary: text("请批示"),
        },
    );
    let command = Command {
        actor: person("l1", Role::Leader, "city-leadership"),
        issued_at: friday,
        rules: CaseRules::default(),
        body: CaseCommand::InstructOnMemo {
            memo_id: memo1(),
            instruction: text("速办"),
            deadline: None,
        },
    };
    let events = decide(case_id(), &memo.state(), &command).unwrap();
    match &events[0] {
        Event::LeaderInstructed {
            deadline,
            deadline_rule,
            ..
        } => {
            assert_eq!(
                *deadline,
                "2025-11-19T16:00:00Z".parse::<DateTime<Utc>>().unwrap()
            );
            assert_eq!(deadline_rule, "leader_instruction/v1=3wd");
        }
        other => panic!("{other:?}"),
    }
    not_found(
        Scenario::triaged(Level::Major, vec![]).when(
            person("l1", Role::Leader, "city-leadership"),
            CaseCommand::InstructOnMemo {
                memo_id: memo1(),
                instruction: text("x"),
                deadline: None,
            },
        ),
        "no_such_memo",
    );
}

#[test]
fn the_status_follows_the_lifecycle() {
    assert_eq!(Scenario::flagged().state().status(), CaseStatus::Flagged);
    assert_eq!(
        Scenario::triaged(Level::General, vec![]).state().status(),
        CaseStatus::Triaged
    );
    assert_eq!(Scenario::assigned().state().status(), CaseStatus::Assigned);
    assert_eq!(Scenario::accepted().state().status(), CaseStatus::Handling);
}

#[test]
fn a_leader_instruction_before_national_day_is_due_on_the_make_up_saturday() {
    // Tuesday 2025-09-30 16:00 Shanghai; Oct 1-8 are off, Thu 9 and Fri 10 are worked,
    // Saturday 11 is a make-up working day: the third working day ends Saturday 24:00.
    let before_holiday: DateTime<Utc> = "2025-09-30T08:00:00Z".parse().unwrap();
    let memo = Scenario::triaged(Level::Major, vec![]).given(
        dispatcher(),
        CaseCommand::SendMemo {
            memo_id: memo1(),
            summary: text("请批示"),
        },
    );
    let command = Command {
        actor: person("l1", Role::Leader, "city-leadership"),
        issued_at: before_holiday,
        rules: CaseRules::default(),
        body: CaseCommand::InstructOnMemo {
            memo_id: memo1(),
            instruction: text("节前部署"),
            deadline: None,
        },
    };
    match &decide(case_id(), &memo.state(), &command).unwrap()[0] {
        Event::LeaderInstructed { deadline, .. } => {
            assert_eq!(
                *deadline,
                "2025-10-11T16:00:00Z".parse::<DateTime<Utc>>().unwrap()
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_leader_instruction_brings_later_feedback_deadlines_forward_as_events() {
    // Assigned Friday 2025-11-14 10:00 Shanghai as 一般 (due Sunday 10:00); instructed with
    // an explicit deadline of Saturday 18:00: the feedback deadline moves to it.
    let friday: DateTime<Utc> = "2025-11-14T02:00:00Z".parse().unwrap();
    let mut scenario = Scenario::triaged(Level::General, vec![]);
    scenario.now = friday;
    let scenario = scenario
        .given(
            dispatcher(),
            CaseCommand::AssignCase {
                assignment_id: a1(),
                unit: unit("city-housing", UnitKind::Department, true),
                role: AssignmentRole::Lead,
                instruction: None,
            },
        )
        .given(
            dispatcher(),
            CaseCommand::SendMemo {
                memo_id: memo1(),
                summary: text("请批示"),
            },
        );
    let saturday_evening: DateTime<Utc> = "2025-11-15T10:00:00Z".parse().unwrap();
    let command = Command {
        actor: person("l1", Role::Leader, "city-leadership"),
        issued_at: friday + Duration::hours(1),
        rules: CaseRules::default(),
        body: CaseCommand::InstructOnMemo {
            memo_id: memo1(),
            instruction: text("周六前反馈"),
            deadline: Some(saturday_evening),
        },
    };
    let events = decide(case_id(), &scenario.state(), &command).unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    match &events[1] {
        Event::DeadlineRescheduled {
            deadline_id,
            previous_due_at,
            due_at,
            ..
        } => {
            assert_eq!(deadline_id, &deadline_ids::feedback(a1()));
            assert_eq!(*previous_due_at, friday + Duration::hours(48));
            assert_eq!(*due_at, saturday_evening);
        }
        other => panic!("{other:?}"),
    }
}

/// An assigned 一般 case (feedback due in 48 h) on whose memo a leader instructed with an
/// explicit deadline 30 h after the assignment: the feedback deadline is at 30 h.
fn instructed_at_30_hours() -> Scenario {
    Scenario::assigned()
        .given(
            dispatcher(),
            CaseCommand::SendMemo {
                memo_id: memo1(),
                summary: text("请批示"),
            },
        )
        .at(Duration::hours(1))
        .given(
            person("l1", Role::Leader, "city-leadership"),
            CaseCommand::InstructOnMemo {
                memo_id: memo1(),
                instruction: text("限期反馈"),
                deadline: Some(t0() + Duration::hours(30)),
            },
        )
}

fn change_level(scenario: &Scenario, to: Level) -> Vec<Event> {
    scenario
        .clone()
        .at(Duration::hours(2))
        .when(
            dispatcher(),
            CaseCommand::ChangeCaseLevel {
                to,
                reason: text("研判调整"),
            },
        )
        .unwrap()
}

fn feedback_due(events: &[Event], scenario: &Scenario) -> (DateTime<Utc>, String) {
    let mut state = scenario.state();
    for event in events {
        state = evolve(state, event);
    }
    let deadline = &state.deadlines[&deadline_ids::feedback(a1())];
    let rule = events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::DeadlineRescheduled { deadline_rule, .. } => Some(deadline_rule.clone()),
            _ => None,
        })
        .unwrap_or_default();
    (deadline.due_at, rule)
}

#[test]
fn raising_the_level_keeps_a_leaders_earlier_deadline() {
    // 重大 gives 24 h — earlier than the leader's 30 h: the level's deadline binds.
    let instructed = instructed_at_30_hours();
    let raised = change_level(&instructed, Level::Major);
    assert_eq!(
        feedback_due(&raised, &instructed),
        (
            t0() + Duration::hours(24),
            "feedback/v1/major=24h".to_owned()
        )
    );
    // 较大 keeps 48 h — later than the leader's 30 h: nothing moves.
    let significant = change_level(&instructed, Level::Significant);
    assert_eq!(
        significant.len(),
        1,
        "only the level change: {significant:?}"
    );
    // And going back down from 重大 restores the leader's deadline, not the level's 48 h.
    let mut after_raise = instructed.clone();
    after_raise.events.extend(raised);
    let lowered = change_level(&after_raise, Level::General);
    assert_eq!(
        feedback_due(&lowered, &after_raise),
        (
            t0() + Duration::hours(30),
            "leader_instruction/explicit".to_owned()
        )
    );
}

#[test]
fn lowering_the_level_never_relaxes_a_leaders_deadline() {
    // Triaged 重大 (24 h), instructed for 20 h, lowered to 一般 (48 h by level): 20 h holds.
    let major = Scenario::triaged(Level::Major, vec![])
        .given(
            dispatcher(),
            CaseCommand::AssignCase {
                assignment_id: a1(),
                unit: unit("city-housing", UnitKind::Department, true),
                role: AssignmentRole::Lead,
                instruction: None,
            },
        )
        .given(
            dispatcher(),
            CaseCommand::SendMemo {
                memo_id: memo1(),
                summary: text("请批示"),
            },
        )
        .at(Duration::hours(1))
        .given(
            person("l1", Role::Leader, "city-leadership"),
            CaseCommand::InstructOnMemo {
                memo_id: memo1(),
                instruction: text("二十小时内反馈"),
                deadline: Some(t0() + Duration::hours(20)),
            },
        );
    let lowered = change_level(&major, Level::General);
    assert_eq!(
        lowered.len(),
        1,
        "the deadline stays where the leader put it: {lowered:?}"
    );
    assert_eq!(
        major.state().deadlines[&deadline_ids::feedback(a1())].due_at,
        t0() + Duration::hours(20)
    );
}

#[test]
fn an_instruction_after_a_level_change_still_brings_the_deadline_forward() {
    let raised = Scenario::assigned()
        .at(Duration::hours(1))
        .given(
            dispatcher(),
            CaseCommand::ChangeCaseLevel {
                to: Level::Major,
                reason: text("热度激增"),
            },
        )
        .given(
            dispatcher(),
            CaseCommand::SendMemo {
                memo_id: memo1(),
                summary: text("请批示"),
            },
        );
    let instruction = raised
        .clone()
        .at(Duration::hours(2))
        .when(
            person("l1", Role::Leader, "city-leadership"),
            CaseCommand::InstructOnMemo {
                memo_id: memo1(),
                instruction: text("十小时内反馈"),
                deadline: Some(t0() + Duration::hours(10)),
            },
        )
        .unwrap();
    assert_eq!(
        feedback_due(&instruction, &raised),
        (
            t0() + Duration::hours(10),
            "leader_instruction/explicit".to_owned()
        )
    );
}

#[test]
fn an_instruction_over_an_unpublished_year_gets_a_provisional_deadline_recomputed_once_the_year_is_loaded()
 {
    // Tuesday 2026-12-29 10:00 Shanghai; 2027's schedule is not compiled in.
    let tuesday: DateTime<Utc> = "2026-12-29T02:00:00Z".parse().unwrap();
    let mut memo = Scenario::triaged(Level::General, vec![]);
    memo.now = tuesday;
    let memo = memo
        .given(
            dispatcher(),
            CaseCommand::AssignCase {
                assignment_id: a1(),
                unit: unit("city-housing", UnitKind::Department, true),
                role: AssignmentRole::Lead,
                instruction: None,
            },
        )
        .given(
            dispatcher(),
            CaseCommand::SendMemo {
                memo_id: memo1(),
                summary: text("请批示"),
            },
        );
    let events = memo
        .when(
            person("l1", Role::Leader, "city-leadership"),
            CaseCommand::InstructOnMemo {
                memo_id: memo1(),
                instruction: text("三个工作日内办结"),
                deadline: None,
            },
        )
        .expect("the instruction is recorded although 2027 is not published");
    let weekdays_end: DateTime<Utc> = "2027-01-01T16:00:00Z".parse().unwrap();
    match &events[0] {
        Event::LeaderInstructed {
            deadline,
            deadline_rule,
            ..
        } => {
            assert_eq!(*deadline, weekdays_end, "Wed, Thu, Fri by weekdays only");
            assert_eq!(deadline_rule, "leader_instruction/v1=3wd/provisional");
        }
        other => panic!("{other:?}"),
    }
    let mut instructed = memo.clone();
    instructed.events.extend(events);
    let state = instructed.state();
    let instruction_id = deadline_ids::leader_instruction(memo1());
    // Without 2027 nothing is to be recomputed; the feedback deadline (48 h, Thu 10:00) is
    // earlier than the instruction's and was not moved.
    assert!(
        state
            .due_deadline_commands(tuesday + Duration::hours(1), &CaseRules::default())
            .is_empty()
    );
    // 2027 is loaded: 1 January is a holiday, so the third working day is Monday the 4th.
    let published =
        r#"{"year": 2027, "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}]}"#;
    let loaded = crate::calendar::WorkingDayCalendar::from_holiday_cn_files(&[published]).unwrap();
    let rules = CaseRules {
        calendar: std::sync::Arc::new(
            crate::calendar::WorkingDayCalendar::china().merged_with(&loaded),
        ),
        ..CaseRules::default()
    };
    let due = state.due_deadline_commands(tuesday + Duration::hours(2), &rules);
    assert_eq!(
        due,
        vec![CaseCommand::RecomputeProvisionalDeadline {
            deadline_id: instruction_id.clone()
        }]
    );
    let command = Command {
        actor: system(),
        issued_at: tuesday + Duration::hours(2),
        rules,
        body: due[0].clone(),
    };
    let recomputed = decide(case_id(), &state, &command).unwrap();
    assert_eq!(recomputed.len(), 1, "{recomputed:?}");
    match &recomputed[0] {
        Event::DeadlineRescheduled {
            deadline_id,
            previous_due_at,
            due_at,
            deadline_rule,
            ..
        } => {
            assert_eq!(deadline_id, &instruction_id);
            assert_eq!(*previous_due_at, weekdays_end);
            assert_eq!(
                *due_at,
                "2027-01-04T16:00:00Z".parse::<DateTime<Utc>>().unwrap()
            );
            assert_eq!(deadline_rule, "leader_instruction/v1=3wd");
        }
        other => panic!("{other:?}"),
    }
    // Once recomputed it is final: nothing more to recompute.
    let final_state = evolve(state, &recomputed[0]);
    assert!(
        final_state
            .due_deadline_commands(tuesday + Duration::hours(3), &command.rules)
            .is_empty()
    );
}
