//! The case aggregate (舆情事项): one stream per case, from the first flagged post to
//! closing and reopening. `decide` enforces DOMAIN.md §4 and the role and unit scope of
//! §2 and §8; `evolve` folds events into the state `decide` needs, and nothing more.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::actor::Role;
use crate::calendar::{WorkingDayCalendar, end_of_shanghai_day, shanghai_date};
use crate::commands::{CaseCommand, Command, ReferencedUnit};
use crate::error::DomainError;
use crate::events::Event;
use crate::ids::*;
use crate::rules::DeadlineRules;
use crate::vocabulary::*;

/// Triage facts of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triage {
    pub level: Level,
    pub categories: Vec<KeyCategory>,
    pub problem_class: ProblemClass,
    pub jurisdiction: Option<UnitId>,
}

/// One assignment as the write side sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentState {
    pub unit_id: UnitId,
    pub role: AssignmentRole,
    pub status: AssignmentStatus,
    pub assigned_at: DateTime<Utc>,
    pub finding: Option<Finding>,
    pub pending_reply: Option<ReplyId>,
    pub approved_replies: u32,
    pub rectification: Option<RectificationState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RectificationState {
    pub due_at: DateTime<Utc>,
    pub completed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyState {
    pub assignment_id: AssignmentId,
    pub status: ReplyStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralState {
    pub police_unit: UnitId,
    pub proposed_by: UserId,
    pub approved: bool,
    pub outcome: Option<ReferralOutcome>,
    pub rebutted: bool,
}

/// A deadline on the case and whether it is still running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineState {
    pub kind: DeadlineKind,
    pub due_at: DateTime<Utc>,
    pub unit_id: Option<UnitId>,
    pub assignment_id: Option<AssignmentId>,
    /// Met, or no longer applicable (assignment withdrawn, case closed).
    pub settled: bool,
    pub approaching_recorded: bool,
    pub missed_recorded: bool,
}

impl DeadlineState {
    /// A deadline that has just been set: running, no warning or miss recorded.
    pub fn running(
        kind: DeadlineKind,
        due_at: DateTime<Utc>,
        unit_id: Option<UnitId>,
        assignment_id: Option<AssignmentId>,
    ) -> Self {
        Self {
            kind,
            due_at,
            unit_id,
            assignment_id,
            settled: false,
            approaching_recorded: false,
            missed_recorded: false,
        }
    }
}

/// Everything `decide` needs to know about one case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseState {
    pub case_id: Option<CaseId>,
    pub flagged_at: Option<DateTime<Utc>>,
    pub triage: Option<Triage>,
    pub closed: bool,
    pub posts: BTreeSet<PostUrl>,
    pub assignments: BTreeMap<AssignmentId, AssignmentState>,
    pub replies: BTreeMap<ReplyId, ReplyState>,
    pub memos: BTreeMap<MemoId, bool>,
    pub referrals: BTreeMap<ReferralId, ReferralState>,
    pub deadlines: BTreeMap<String, DeadlineState>,
    pub mass_incident: bool,
}

/// Deadline identifiers, stable within a case.
pub mod deadline_ids {
    use crate::ids::{AssignmentId, MemoId};

    pub fn feedback(assignment_id: AssignmentId) -> String {
        format!("feedback:{assignment_id}")
    }
    pub fn rectification(assignment_id: AssignmentId) -> String {
        format!("rectification:{assignment_id}")
    }
    pub fn leader_instruction(memo_id: MemoId) -> String {
        format!("leader_instruction:{memo_id}")
    }
    pub const PUBLIC_RESPONSE: &str = "public_response";
}

impl CaseState {
    /// Fold a stream's events into its state.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        events.into_iter().fold(Self::default(), evolve)
    }

    pub fn exists(&self) -> bool {
        self.case_id.is_some()
    }

    /// The status shown to people, derived from the assignments.
    pub fn status(&self) -> CaseStatus {
        derive_status(
            self.closed,
            self.triage.is_some(),
            self.assignments.values().map(|a| a.status),
        )
    }

    pub fn level(&self) -> Option<Level> {
        self.triage.as_ref().map(|t| t.level)
    }

    /// The current lead assignment: a lead that is still open. Once the lead has
    /// completed (or was withdrawn, or its return accepted), a reopened case may get a
    /// new lead.
    pub fn active_lead(&self) -> Option<(&AssignmentId, &AssignmentState)> {
        self.assignments
            .iter()
            .find(|(_, a)| a.role == AssignmentRole::Lead && a.status.is_open())
    }

    /// Deadline commands the system should issue at `now`: warnings once inside the lead
    /// time, misses once past due. Used by the deadline process.
    pub fn due_deadline_commands(
        &self,
        now: DateTime<Utc>,
        rules: &DeadlineRules,
    ) -> Vec<CaseCommand> {
        if self.closed {
            return Vec::new();
        }
        let mut commands = Vec::new();
        for (deadline_id, deadline) in &self.deadlines {
            if deadline.settled {
                continue;
            }
            if now > deadline.due_at && !deadline.missed_recorded {
                commands.push(CaseCommand::RecordDeadlineMissed {
                    deadline_id: deadline_id.clone(),
                });
            } else if now <= deadline.due_at
                && now >= deadline.due_at - rules.warning_lead()
                && !deadline.approaching_recorded
            {
                commands.push(CaseCommand::RecordDeadlineApproaching {
                    deadline_id: deadline_id.clone(),
                });
            }
        }
        commands
    }

    fn assignment(&self, assignment_id: AssignmentId) -> Result<&AssignmentState, DomainError> {
        self.assignments.get(&assignment_id).ok_or_else(|| {
            DomainError::not_found(format!("assignment {assignment_id} is not on this case"))
        })
    }
}

/// Status from its parts; shared with the read models so both say the same.
pub fn derive_status(
    closed: bool,
    triaged: bool,
    assignment_statuses: impl Iterator<Item = AssignmentStatus>,
) -> CaseStatus {
    if closed {
        return CaseStatus::Closed;
    }
    let mut any_accepted_or_done = false;
    let mut any_waiting = false;
    for status in assignment_statuses {
        match status {
            AssignmentStatus::Accepted | AssignmentStatus::Completed => any_accepted_or_done = true,
            AssignmentStatus::AwaitingSignature | AssignmentStatus::Returned => any_waiting = true,
            AssignmentStatus::ReturnAccepted | AssignmentStatus::Withdrawn => {}
        }
    }
    if any_accepted_or_done {
        CaseStatus::Handling
    } else if any_waiting {
        CaseStatus::Assigned
    } else if triaged {
        CaseStatus::Triaged
    } else {
        CaseStatus::Flagged
    }
}

/// Active: counts as the unit's assignment (not withdrawn, return not accepted).
fn is_active(status: AssignmentStatus) -> bool {
    !matches!(
        status,
        AssignmentStatus::Withdrawn | AssignmentStatus::ReturnAccepted
    )
}

/// Decide what a command on a case produces, or why it is refused.
pub fn decide(
    state: &CaseState,
    command: &Command<CaseCommand>,
) -> Result<Vec<Event>, DomainError> {
    use CaseCommand as C;
    let actor = &command.actor;
    let now = command.issued_at;
    let action = command.body.name();

    if let C::FlagPost {
        case_id,
        post,
        note,
    } = &command.body
    {
        actor.require_role(&[Role::Monitor], action)?;
        if state.exists() {
            return Err(DomainError::rule(format!(
                "case {case_id} already exists; attach further posts with attachPost"
            )));
        }
        return Ok(vec![Event::PostFlagged {
            case_id: *case_id,
            post: post.clone(),
            note: note.clone(),
            flagged_at: now,
        }]);
    }

    let case_id = state
        .case_id
        .ok_or_else(|| DomainError::not_found("no such case: flag a post first".to_owned()))?;

    let require_open = || -> Result<(), DomainError> {
        if state.closed {
            Err(DomainError::rule(format!(
                "case {case_id} is closed; reopen it first"
            )))
        } else {
            Ok(())
        }
    };
    let require_triaged = || -> Result<&Triage, DomainError> {
        state.triage.as_ref().ok_or_else(|| {
            DomainError::rule(format!(
                "case {case_id} has not been triaged yet; triage it first"
            ))
        })
    };
    // An officer or unit head may act only on their own unit's assignment.
    let own_assignment =
        |assignment_id: AssignmentId, roles: &[Role]| -> Result<&AssignmentState, DomainError> {
            actor.require_role(roles, action)?;
            let assignment = state.assignment(assignment_id)?;
            actor.require_unit(&assignment.unit_id, action)?;
            Ok(assignment)
        };
    let require_accepted = |assignment: &AssignmentState, what: &str| -> Result<(), DomainError> {
        match assignment.status {
            AssignmentStatus::Accepted => Ok(()),
            AssignmentStatus::AwaitingSignature => Err(DomainError::rule(format!(
                "{what} before the assignment is accepted: sign for (acceptAssignment) it first"
            ))),
            other => Err(DomainError::rule(format!(
                "{what} is not possible: the assignment is {}({})",
                other.key(),
                other.label_zh()
            ))),
        }
    };

    let events = match &command.body {
        C::FlagPost { .. } => unreachable!("handled above"),

        C::AttachPost { post, note } => {
            actor.require_role(&[Role::Monitor], action)?;
            if state.posts.contains(&post.url) {
                return Err(DomainError::rule(format!(
                    "post {} is already on this case",
                    post.url
                )));
            }
            vec![Event::PostAttached {
                case_id,
                post: post.clone(),
                note: note.clone(),
            }]
        }

        C::RecordHeat { url, heat } => {
            actor.require_role(&[Role::Monitor], action)?;
            if !state.posts.contains(url) {
                return Err(DomainError::not_found(format!(
                    "post {url} is not on this case"
                )));
            }
            vec![Event::HeatRecorded {
                case_id,
                url: url.clone(),
                heat: *heat,
                at: now,
            }]
        }

        C::RecordFollowUp {
            observation,
            sentiment,
        } => {
            actor.require_role(&[Role::Monitor], action)?;
            vec![Event::FollowUpRecorded {
                case_id,
                observation: observation.clone(),
                sentiment: *sentiment,
            }]
        }

        C::TriageCase {
            level,
            categories,
            problem_class,
            jurisdiction,
        } => {
            actor.require_role(&[Role::Dispatcher], action)?;
            require_open()?;
            if let Some(existing) = &state.triage
                && existing.level != *level
            {
                return Err(DomainError::rule(format!(
                    "case is already triaged as {}; change the level with changeCaseLevel and a reason",
                    existing.level.label_zh()
                )));
            }
            if let Some(unit) = jurisdiction {
                require_active_unit(unit)?;
            }
            let mut categories = categories.clone();
            categories.sort();
            categories.dedup();
            let mut events = vec![Event::CaseTriaged {
                case_id,
                level: *level,
                categories: categories.clone(),
                problem_class: problem_class.clone(),
                jurisdiction: jurisdiction.as_ref().map(|u| u.unit_id.clone()),
            }];
            events.extend(public_response_deadline(
                state,
                case_id,
                *level,
                &categories,
                &command.rules,
            ));
            events
        }

        C::ChangeCaseLevel { to, reason } => {
            actor.require_role(&[Role::Dispatcher], action)?;
            require_open()?;
            let triage = require_triaged()?;
            if triage.level == *to {
                return Err(DomainError::rule(format!(
                    "the case is already {}",
                    to.label_zh()
                )));
            }
            let mut events = vec![Event::CaseLevelChanged {
                case_id,
                from: triage.level,
                to: *to,
                reason: reason.clone(),
            }];
            // A level change recomputes open feedback deadlines from the new level.
            for (deadline_id, deadline) in &state.deadlines {
                if deadline.settled || deadline.kind != DeadlineKind::Feedback {
                    continue;
                }
                let Some(assignment_id) = deadline.assignment_id else {
                    continue;
                };
                let assigned_at = state.assignment(assignment_id)?.assigned_at;
                let recomputed = command.rules.feedback_deadline(*to, assigned_at);
                if recomputed.due_at != deadline.due_at {
                    events.push(Event::DeadlineRescheduled {
                        case_id,
                        deadline_id: deadline_id.clone(),
                        kind: DeadlineKind::Feedback,
                        assignment_id: Some(assignment_id),
                        previous_due_at: deadline.due_at,
                        due_at: recomputed.due_at,
                        deadline_rule: recomputed.rule,
                    });
                }
            }
            events.extend(public_response_deadline(
                state,
                case_id,
                *to,
                &triage.categories,
                &command.rules,
            ));
            events
        }

        C::AssignCase {
            assignment_id,
            unit,
            role,
            instruction,
        } => {
            actor.require_role(&[Role::Dispatcher], action)?;
            require_open()?;
            let triage = require_triaged()?;
            require_active_unit(unit)?;
            if state.assignments.contains_key(assignment_id) {
                return Err(DomainError::rule(format!(
                    "assignment {assignment_id} already exists"
                )));
            }
            if state
                .assignments
                .values()
                .any(|a| a.unit_id == unit.unit_id && a.status.is_open())
            {
                return Err(DomainError::rule(format!(
                    "{} already has an open assignment on this case",
                    unit.name
                )));
            }
            if *role == AssignmentRole::Lead
                && let Some((_, lead)) = state.active_lead()
            {
                return Err(DomainError::rule(format!(
                    "the case already has a lead unit ({}); withdraw that assignment first or assign as co-handler",
                    lead.unit_id
                )));
            }
            let deadline = command.rules.feedback_deadline(triage.level, now);
            vec![Event::CaseAssigned {
                case_id,
                assignment_id: *assignment_id,
                unit_id: unit.unit_id.clone(),
                role: *role,
                assigned_at: now,
                deadline: deadline.due_at,
                deadline_rule: deadline.rule,
                instruction: instruction.clone(),
            }]
        }

        C::AcceptAssignment { assignment_id } => {
            let assignment = own_assignment(*assignment_id, &[Role::Officer])?;
            require_open()?;
            if assignment.status != AssignmentStatus::AwaitingSignature {
                return Err(DomainError::rule(format!(
                    "only an assignment awaiting signature can be accepted; this one is {}",
                    assignment.status.label_zh()
                )));
            }
            vec![Event::AssignmentAccepted {
                case_id,
                assignment_id: *assignment_id,
            }]
        }

        C::ReturnAssignment {
            assignment_id,
            reason,
        } => {
            let assignment = own_assignment(*assignment_id, &[Role::Officer])?;
            require_open()?;
            if assignment.status != AssignmentStatus::AwaitingSignature {
                return Err(DomainError::rule(format!(
                    "only an assignment awaiting signature can be returned; this one is {}",
                    assignment.status.label_zh()
                )));
            }
            vec![Event::AssignmentReturned {
                case_id,
                assignment_id: *assignment_id,
                reason: reason.clone(),
            }]
        }

        C::AcceptReturn { assignment_id, .. } | C::RejectReturn { assignment_id, .. } => {
            actor.require_role(&[Role::Dispatcher], action)?;
            require_open()?;
            let assignment = state.assignment(*assignment_id)?;
            if assignment.status != AssignmentStatus::Returned {
                return Err(DomainError::rule(format!(
                    "assignment {assignment_id} has not been returned; it is {}",
                    assignment.status.label_zh()
                )));
            }
            let event = match &command.body {
                C::AcceptReturn { note, .. } => Event::ReturnAccepted {
                    case_id,
                    assignment_id: *assignment_id,
                    note: note.clone(),
                },
                C::RejectReturn { note, .. } => Event::ReturnRejected {
                    case_id,
                    assignment_id: *assignment_id,
                    note: note.clone(),
                },
                _ => unreachable!("only AcceptReturn and RejectReturn reach this arm"),
            };
            vec![event]
        }

        C::WithdrawAssignment {
            assignment_id,
            reason,
        } => {
            actor.require_role(&[Role::Dispatcher], action)?;
            require_open()?;
            let assignment = state.assignment(*assignment_id)?;
            if !assignment.status.is_open() {
                return Err(DomainError::rule(format!(
                    "assignment {assignment_id} is {} and cannot be withdrawn",
                    assignment.status.label_zh()
                )));
            }
            vec![Event::AssignmentWithdrawn {
                case_id,
                assignment_id: *assignment_id,
                reason: reason.clone(),
            }]
        }

        C::VerifyFacts {
            assignment_id,
            finding,
            summary,
        } => {
            let assignment = own_assignment(*assignment_id, &[Role::Officer])?;
            require_open()?;
            require_accepted(assignment, "verifying facts")?;
            vec![Event::FactsVerified {
                case_id,
                assignment_id: *assignment_id,
                finding: *finding,
                summary: summary.clone(),
            }]
        }

        C::SubmitReply {
            assignment_id,
            reply_id,
            content,
        } => {
            let assignment = own_assignment(*assignment_id, &[Role::Officer])?;
            require_open()?;
            require_accepted(assignment, "a reply")?;
            if let Some(pending) = assignment.pending_reply {
                return Err(DomainError::rule(format!(
                    "reply {pending} is still waiting for the unit head's approval"
                )));
            }
            if state.replies.contains_key(reply_id) {
                return Err(DomainError::rule(format!(
                    "reply {reply_id} already exists"
                )));
            }
            vec![Event::ReplySubmitted {
                case_id,
                assignment_id: *assignment_id,
                reply_id: *reply_id,
                content: content.clone(),
            }]
        }

        C::ApproveReply { reply_id, note: _ } | C::SendBackReply { reply_id, note: _ } => {
            actor.require_role(&[Role::UnitHead], action)?;
            let reply = state.replies.get(reply_id).ok_or_else(|| {
                DomainError::not_found(format!("reply {reply_id} is not on this case"))
            })?;
            let assignment = state.assignment(reply.assignment_id)?;
            actor.require_unit(&assignment.unit_id, action)?;
            require_open()?;
            if reply.status != ReplyStatus::Submitted {
                return Err(DomainError::rule(format!(
                    "reply {reply_id} is {} and no longer waiting for approval",
                    reply.status.label_zh()
                )));
            }
            match &command.body {
                C::ApproveReply { note, .. } => {
                    vec![Event::ReplyApproved {
                        case_id,
                        assignment_id: reply.assignment_id,
                        reply_id: *reply_id,
                        note: note.clone(),
                        approved_at: now,
                    }]
                }
                C::SendBackReply { note, .. } => vec![Event::ReplySentBack {
                    case_id,
                    assignment_id: reply.assignment_id,
                    reply_id: *reply_id,
                    note: note.clone(),
                }],
                _ => unreachable!("only ApproveReply and SendBackReply reach this arm"),
            }
        }

        C::PublishResponse {
            channel,
            content,
            url,
        } => {
            actor.require_role(&[Role::Officer, Role::Dispatcher], action)?;
            require_triaged()?;
            if actor.role == Role::Officer
                && !state
                    .assignments
                    .values()
                    .any(|a| a.unit_id == actor.unit && is_active(a.status))
            {
                return Err(DomainError::forbidden(format!(
                    "publishResponse: unit `{}` has no assignment on this case",
                    actor.unit
                )));
            }
            vec![Event::ResponsePublished {
                case_id,
                channel: *channel,
                content: content.clone(),
                url: url.clone(),
                published_at: now,
            }]
        }

        C::PromiseRectification {
            assignment_id,
            due_date,
            measures,
        } => {
            let assignment = own_assignment(*assignment_id, &[Role::Officer])?;
            require_open()?;
            require_accepted(assignment, "promising rectification")?;
            if *due_date < shanghai_date(now) {
                return Err(DomainError::rule(format!(
                    "the promised date {due_date} is in the past"
                )));
            }
            if let Some(rectification) = &assignment.rectification
                && !rectification.completed
            {
                return Err(DomainError::rule(
                    "a rectification is already promised and not yet completed".to_owned(),
                ));
            }
            vec![Event::RectificationPromised {
                case_id,
                assignment_id: *assignment_id,
                due_date: *due_date,
                due_at: end_of_shanghai_day(*due_date),
                measures: measures.clone(),
            }]
        }

        C::CompleteRectification {
            assignment_id,
            result,
        } => {
            let assignment = own_assignment(*assignment_id, &[Role::Officer])?;
            require_open()?;
            match &assignment.rectification {
                Some(r) if !r.completed => {}
                Some(_) => {
                    return Err(DomainError::rule(
                        "the rectification is already completed".to_owned(),
                    ));
                }
                None => {
                    return Err(DomainError::rule(
                        "no rectification was promised on this assignment".to_owned(),
                    ));
                }
            }
            vec![Event::RectificationCompleted {
                case_id,
                assignment_id: *assignment_id,
                result: result.clone(),
            }]
        }

        C::CompleteAssignment {
            assignment_id,
            summary,
        } => {
            let assignment = own_assignment(*assignment_id, &[Role::Officer])?;
            require_open()?;
            require_accepted(assignment, "completing the assignment")?;
            if assignment.approved_replies == 0 {
                return Err(DomainError::rule(
                    "the assignment has no approved reply yet: submit one and have the unit head approve it".to_owned(),
                ));
            }
            if let Some(r) = &assignment.rectification
                && !r.completed
            {
                return Err(DomainError::rule(
                    "the promised rectification is not completed yet".to_owned(),
                ));
            }
            vec![Event::AssignmentCompleted {
                case_id,
                assignment_id: *assignment_id,
                summary: summary.clone(),
            }]
        }

        C::SendMemo { memo_id, summary } => {
            actor.require_role(&[Role::Dispatcher], action)?;
            require_open()?;
            if state.memos.contains_key(memo_id) {
                return Err(DomainError::rule(format!("memo {memo_id} already exists")));
            }
            vec![Event::MemoSent {
                case_id,
                memo_id: *memo_id,
                summary: summary.clone(),
            }]
        }

        C::InstructOnMemo {
            memo_id,
            instruction,
            deadline,
        } => {
            actor.require_role(&[Role::Leader], action)?;
            require_open()?;
            match state.memos.get(memo_id) {
                None => {
                    return Err(DomainError::not_found(format!(
                        "memo {memo_id} was not sent on this case"
                    )));
                }
                Some(true) => {
                    return Err(DomainError::rule(format!(
                        "memo {memo_id} already has an instruction"
                    )));
                }
                Some(false) => {}
            }
            let (due_at, rule) = match deadline {
                Some(explicit) if *explicit <= now => {
                    return Err(DomainError::rule(
                        "the instruction's deadline must be in the future".to_owned(),
                    ));
                }
                Some(explicit) => (*explicit, "leader_instruction/explicit".to_owned()),
                None => {
                    let computed = command
                        .rules
                        .leader_instruction_deadline(WorkingDayCalendar::china(), now)
                        .map_err(|e| {
                            DomainError::rule(format!("{e}; give the deadline explicitly"))
                        })?;
                    (computed.due_at, computed.rule)
                }
            };
            let mut events = vec![Event::LeaderInstructed {
                case_id,
                memo_id: *memo_id,
                instruction: instruction.clone(),
                deadline: due_at,
                deadline_rule: rule.clone(),
            }];
            // The instruction's deadline binds the units too: open feedback deadlines that
            // fall later are brought forward to it.
            for (deadline_id, deadline) in &state.deadlines {
                if deadline.settled
                    || deadline.kind != DeadlineKind::Feedback
                    || deadline.due_at <= due_at
                {
                    continue;
                }
                events.push(Event::DeadlineRescheduled {
                    case_id,
                    deadline_id: deadline_id.clone(),
                    kind: DeadlineKind::Feedback,
                    assignment_id: deadline.assignment_id,
                    previous_due_at: deadline.due_at,
                    due_at,
                    deadline_rule: rule.clone(),
                });
            }
            events
        }

        C::RecordDeadlineApproaching { deadline_id } | C::RecordDeadlineMissed { deadline_id } => {
            actor.require_role(&[Role::System], action)?;
            let deadline = state.deadlines.get(deadline_id).ok_or_else(|| {
                DomainError::not_found(format!("deadline {deadline_id} is not on this case"))
            })?;
            if deadline.settled || state.closed {
                return Err(DomainError::rule(format!(
                    "deadline {deadline_id} is already settled"
                )));
            }
            let missed = matches!(command.body, C::RecordDeadlineMissed { .. });
            if missed {
                if deadline.missed_recorded {
                    return Err(DomainError::rule(format!(
                        "deadline {deadline_id} is already recorded as missed"
                    )));
                }
                if now <= deadline.due_at {
                    return Err(DomainError::rule(format!(
                        "deadline {deadline_id} has not passed yet"
                    )));
                }
            } else {
                if deadline.approaching_recorded {
                    return Err(DomainError::rule(format!(
                        "deadline {deadline_id} already has its warning"
                    )));
                }
                if now > deadline.due_at || now < deadline.due_at - command.rules.warning_lead() {
                    return Err(DomainError::rule(format!(
                        "deadline {deadline_id} is not within the warning lead time"
                    )));
                }
            }
            let (kind, unit_id, assignment_id, due_at) = (
                deadline.kind,
                deadline.unit_id.clone(),
                deadline.assignment_id,
                deadline.due_at,
            );
            let event = if missed {
                Event::DeadlineMissed {
                    case_id,
                    deadline_id: deadline_id.clone(),
                    kind,
                    unit_id,
                    assignment_id,
                    due_at,
                }
            } else {
                Event::DeadlineApproaching {
                    case_id,
                    deadline_id: deadline_id.clone(),
                    kind,
                    unit_id,
                    assignment_id,
                    due_at,
                }
            };
            vec![event]
        }

        C::UrgeSupervision { target_unit, note } => {
            actor.require_role(&[Role::Supervisor], action)?;
            require_open()?;
            let level = require_triaged()?.level;
            let supervising = command.rules.supervision.supervising_unit(level);
            if &actor.unit != supervising {
                return Err(DomainError::forbidden(format!(
                    "{} cases are supervised by unit `{supervising}`; you belong to `{}`",
                    level.label_zh(),
                    actor.unit
                )));
            }
            if !state
                .assignments
                .values()
                .any(|a| &a.unit_id == target_unit && a.status.is_open())
            {
                return Err(DomainError::rule(format!(
                    "unit `{target_unit}` has no open assignment on this case to urge"
                )));
            }
            vec![Event::SupervisionUrged {
                case_id,
                target_unit: target_unit.clone(),
                supervising_unit: actor.unit.clone(),
                note: note.clone(),
            }]
        }

        C::ProposeRumourReferral {
            referral_id,
            police_unit,
            legal_basis,
            evidence,
        } => {
            actor.require_role(&[Role::Dispatcher], action)?;
            require_triaged()?;
            require_active_unit(police_unit)?;
            if police_unit.kind != UnitKind::Police {
                return Err(DomainError::rule(format!(
                    "{} is not a police unit; rumours are referred to the police",
                    police_unit.name
                )));
            }
            if state.referrals.contains_key(referral_id) {
                return Err(DomainError::rule(format!(
                    "referral {referral_id} already exists"
                )));
            }
            if state.referrals.values().any(|r| r.outcome.is_none()) {
                return Err(DomainError::rule(
                    "a rumour referral on this case is still waiting for approval or its outcome"
                        .to_owned(),
                ));
            }
            vec![Event::RumourReferralProposed {
                case_id,
                referral_id: *referral_id,
                police_unit: police_unit.unit_id.clone(),
                legal_basis: legal_basis.clone(),
                evidence: evidence.clone(),
                proposed_by: actor.user_id.clone(),
            }]
        }

        C::ApproveRumourReferral { referral_id } => {
            actor.require_role(&[Role::Dispatcher], action)?;
            let referral = referral(state, *referral_id)?;
            if referral.approved {
                return Err(DomainError::rule(format!(
                    "referral {referral_id} is already approved"
                )));
            }
            if referral.proposed_by == actor.user_id {
                return Err(DomainError::rule(
                    "a referral must be approved by a second dispatcher, not the one who proposed it (four-eyes rule)"
                        .to_owned(),
                ));
            }
            vec![Event::RumourReferralApproved {
                case_id,
                referral_id: *referral_id,
                approved_by: actor.user_id.clone(),
            }]
        }

        C::RecordReferralOutcome {
            referral_id,
            outcome,
            action: police_action,
        } => {
            actor.require_role(&[Role::Police], action)?;
            let referral = referral(state, *referral_id)?;
            actor.require_unit(&referral.police_unit, action)?;
            if !referral.approved {
                return Err(DomainError::rule(format!(
                    "referral {referral_id} has not been approved by a second dispatcher yet"
                )));
            }
            if referral.outcome.is_some() {
                return Err(DomainError::rule(format!(
                    "referral {referral_id} already has an outcome"
                )));
            }
            vec![Event::ReferralOutcomeRecorded {
                case_id,
                referral_id: *referral_id,
                outcome: *outcome,
                action: police_action.clone(),
            }]
        }

        C::RebutRumour {
            referral_id,
            channel,
            content,
        } => {
            actor.require_role(&[Role::Dispatcher], action)?;
            let referral = referral(state, *referral_id)?;
            match referral.outcome {
                Some(ReferralOutcome::ConfirmedRumour) => {}
                Some(other) => {
                    return Err(DomainError::rule(format!(
                        "the police found {}: there is no rumour to rebut",
                        other.label_zh()
                    )));
                }
                None => {
                    return Err(DomainError::rule(
                        "a rumour can be rebutted once the police have confirmed it".to_owned(),
                    ));
                }
            }
            if referral.rebutted {
                return Err(DomainError::rule(format!(
                    "referral {referral_id} is already rebutted"
                )));
            }
            vec![Event::RumourRebutted {
                case_id,
                referral_id: *referral_id,
                channel: *channel,
                content: content.clone(),
            }]
        }

        C::CloseCase { outcome } => {
            actor.require_role(&[Role::Dispatcher], action)?;
            require_open()?;
            let open: Vec<_> = state
                .assignments
                .values()
                .filter(|a| a.status.is_open())
                .map(|a| format!("{} ({})", a.unit_id, a.status.label_zh()))
                .collect();
            if !open.is_empty() {
                return Err(DomainError::rule(format!(
                    "the case cannot be closed while assignments are open: {}",
                    open.join(", ")
                )));
            }
            vec![Event::CaseClosed {
                case_id,
                outcome: outcome.clone(),
                closed_at: now,
            }]
        }

        C::ReopenCase { reason } => {
            actor.require_role(&[Role::Dispatcher], action)?;
            if !state.closed {
                return Err(DomainError::rule(
                    "only a closed case can be reopened".to_owned(),
                ));
            }
            vec![Event::CaseReopened {
                case_id,
                reason: reason.clone(),
            }]
        }

        C::DeclareMassIncident { note } => {
            actor.require_role(&[Role::Dispatcher], action)?;
            require_triaged()?;
            if state.mass_incident {
                return Err(DomainError::rule(
                    "a mass incident is already declared on this case".to_owned(),
                ));
            }
            vec![Event::MassIncidentDeclared {
                case_id,
                note: note.clone(),
            }]
        }
    };
    Ok(events)
}

fn require_active_unit(unit: &ReferencedUnit) -> Result<(), DomainError> {
    if unit.active {
        Ok(())
    } else {
        Err(DomainError::rule(format!(
            "unit {} ({}) is deactivated",
            unit.name, unit.unit_id
        )))
    }
}

fn referral(state: &CaseState, referral_id: ReferralId) -> Result<&ReferralState, DomainError> {
    state.referrals.get(&referral_id).ok_or_else(|| {
        DomainError::not_found(format!("referral {referral_id} is not on this case"))
    })
}

/// A 重大/特别重大 emergency gets a public-response deadline (press conference within
/// 24 h of the flag), once.
fn public_response_deadline(
    state: &CaseState,
    case_id: CaseId,
    level: Level,
    categories: &[KeyCategory],
    rules: &DeadlineRules,
) -> Option<Event> {
    let needs = level.is_major_or_above() && categories.contains(&KeyCategory::EmergencyOrDisaster);
    if !needs || state.deadlines.contains_key(deadline_ids::PUBLIC_RESPONSE) {
        return None;
    }
    let flagged_at = state.flagged_at?;
    let deadline = rules.public_response_deadline(flagged_at);
    Some(Event::DeadlineSet {
        case_id,
        deadline_id: deadline_ids::PUBLIC_RESPONSE.to_owned(),
        kind: DeadlineKind::PublicResponse,
        unit_id: None,
        due_at: deadline.due_at,
        deadline_rule: deadline.rule,
    })
}

/// Apply one event to the state. Events of other aggregates leave it unchanged.
pub fn evolve(mut state: CaseState, event: &Event) -> CaseState {
    use Event as E;
    let settle = |state: &mut CaseState, deadline_id: &str| {
        if let Some(deadline) = state.deadlines.get_mut(deadline_id) {
            deadline.settled = true;
        }
    };
    match event {
        E::PostFlagged {
            case_id,
            post,
            flagged_at,
            ..
        } => {
            state.case_id = Some(*case_id);
            state.flagged_at = Some(*flagged_at);
            state.posts.insert(post.url.clone());
        }
        E::PostAttached { post, .. } => {
            state.posts.insert(post.url.clone());
        }
        E::CaseTriaged {
            level,
            categories,
            problem_class,
            jurisdiction,
            ..
        } => {
            state.triage = Some(Triage {
                level: *level,
                categories: categories.clone(),
                problem_class: problem_class.clone(),
                jurisdiction: jurisdiction.clone(),
            });
        }
        E::CaseLevelChanged { to, .. } => {
            if let Some(triage) = state.triage.as_mut() {
                triage.level = *to;
            }
        }
        E::CaseAssigned {
            assignment_id,
            unit_id,
            role,
            assigned_at,
            deadline,
            ..
        } => {
            state.assignments.insert(
                *assignment_id,
                AssignmentState {
                    unit_id: unit_id.clone(),
                    role: *role,
                    status: AssignmentStatus::AwaitingSignature,
                    assigned_at: *assigned_at,
                    finding: None,
                    pending_reply: None,
                    approved_replies: 0,
                    rectification: None,
                },
            );
            state.deadlines.insert(
                deadline_ids::feedback(*assignment_id),
                DeadlineState::running(
                    DeadlineKind::Feedback,
                    *deadline,
                    Some(unit_id.clone()),
                    Some(*assignment_id),
                ),
            );
        }
        E::AssignmentAccepted { assignment_id, .. } | E::ReturnRejected { assignment_id, .. } => {
            set_assignment_status(&mut state, *assignment_id, AssignmentStatus::Accepted);
        }
        E::AssignmentReturned { assignment_id, .. } => {
            set_assignment_status(&mut state, *assignment_id, AssignmentStatus::Returned);
        }
        E::ReturnAccepted { assignment_id, .. } => {
            set_assignment_status(&mut state, *assignment_id, AssignmentStatus::ReturnAccepted);
            settle(&mut state, &deadline_ids::feedback(*assignment_id));
            settle(&mut state, &deadline_ids::rectification(*assignment_id));
        }
        E::AssignmentWithdrawn { assignment_id, .. } => {
            set_assignment_status(&mut state, *assignment_id, AssignmentStatus::Withdrawn);
            settle(&mut state, &deadline_ids::feedback(*assignment_id));
            settle(&mut state, &deadline_ids::rectification(*assignment_id));
        }
        E::AssignmentCompleted { assignment_id, .. } => {
            set_assignment_status(&mut state, *assignment_id, AssignmentStatus::Completed);
            settle(&mut state, &deadline_ids::feedback(*assignment_id));
            settle(&mut state, &deadline_ids::rectification(*assignment_id));
        }
        E::FactsVerified {
            assignment_id,
            finding,
            ..
        } => {
            if let Some(a) = state.assignments.get_mut(assignment_id) {
                a.finding = Some(*finding);
            }
        }
        E::ReplySubmitted {
            assignment_id,
            reply_id,
            ..
        } => {
            state.replies.insert(
                *reply_id,
                ReplyState {
                    assignment_id: *assignment_id,
                    status: ReplyStatus::Submitted,
                },
            );
            if let Some(a) = state.assignments.get_mut(assignment_id) {
                a.pending_reply = Some(*reply_id);
            }
        }
        E::ReplyApproved {
            assignment_id,
            reply_id,
            ..
        } => {
            if let Some(reply) = state.replies.get_mut(reply_id) {
                reply.status = ReplyStatus::Approved;
            }
            if let Some(a) = state.assignments.get_mut(assignment_id) {
                a.pending_reply = None;
                a.approved_replies += 1;
            }
            settle(&mut state, &deadline_ids::feedback(*assignment_id));
            // An approved reply after a leader's instruction answers it.
            let instructions: Vec<String> = state
                .deadlines
                .iter()
                .filter(|(_, d)| d.kind == DeadlineKind::LeaderInstruction && !d.settled)
                .map(|(id, _)| id.clone())
                .collect();
            for id in instructions {
                settle(&mut state, &id);
            }
        }
        E::ReplySentBack {
            assignment_id,
            reply_id,
            ..
        } => {
            if let Some(reply) = state.replies.get_mut(reply_id) {
                reply.status = ReplyStatus::SentBack;
            }
            if let Some(a) = state.assignments.get_mut(assignment_id) {
                a.pending_reply = None;
            }
        }
        E::ResponsePublished { channel, .. } => {
            if *channel == ResponseChannel::PressConference {
                settle(&mut state, deadline_ids::PUBLIC_RESPONSE);
            }
        }
        E::RectificationPromised {
            assignment_id,
            due_at,
            ..
        } => {
            let unit_id = state
                .assignments
                .get(assignment_id)
                .map(|a| a.unit_id.clone());
            if let Some(a) = state.assignments.get_mut(assignment_id) {
                a.rectification = Some(RectificationState {
                    due_at: *due_at,
                    completed: false,
                });
            }
            state.deadlines.insert(
                deadline_ids::rectification(*assignment_id),
                DeadlineState::running(
                    DeadlineKind::Rectification,
                    *due_at,
                    unit_id,
                    Some(*assignment_id),
                ),
            );
        }
        E::RectificationCompleted { assignment_id, .. } => {
            if let Some(r) = state
                .assignments
                .get_mut(assignment_id)
                .and_then(|a| a.rectification.as_mut())
            {
                r.completed = true;
            }
            settle(&mut state, &deadline_ids::rectification(*assignment_id));
        }
        E::MemoSent { memo_id, .. } => {
            state.memos.insert(*memo_id, false);
        }
        E::LeaderInstructed {
            memo_id, deadline, ..
        } => {
            state.memos.insert(*memo_id, true);
            let unit_id = state.active_lead().map(|(_, a)| a.unit_id.clone());
            state.deadlines.insert(
                deadline_ids::leader_instruction(*memo_id),
                DeadlineState::running(DeadlineKind::LeaderInstruction, *deadline, unit_id, None),
            );
        }
        E::DeadlineSet {
            deadline_id,
            kind,
            unit_id,
            due_at,
            ..
        } => {
            state.deadlines.insert(
                deadline_id.clone(),
                DeadlineState::running(*kind, *due_at, unit_id.clone(), None),
            );
        }
        E::DeadlineRescheduled {
            deadline_id,
            due_at,
            ..
        } => {
            if let Some(d) = state.deadlines.get_mut(deadline_id) {
                if *due_at > d.due_at {
                    d.approaching_recorded = false;
                }
                d.due_at = *due_at;
            }
        }
        E::DeadlineApproaching { deadline_id, .. } => {
            if let Some(d) = state.deadlines.get_mut(deadline_id) {
                d.approaching_recorded = true;
            }
        }
        E::DeadlineMissed { deadline_id, .. } => {
            if let Some(d) = state.deadlines.get_mut(deadline_id) {
                d.missed_recorded = true;
                d.approaching_recorded = true;
            }
        }
        E::RumourReferralProposed {
            referral_id,
            police_unit,
            proposed_by,
            ..
        } => {
            state.referrals.insert(
                *referral_id,
                ReferralState {
                    police_unit: police_unit.clone(),
                    proposed_by: proposed_by.clone(),
                    approved: false,
                    outcome: None,
                    rebutted: false,
                },
            );
        }
        E::RumourReferralApproved { referral_id, .. } => {
            if let Some(r) = state.referrals.get_mut(referral_id) {
                r.approved = true;
            }
        }
        E::ReferralOutcomeRecorded {
            referral_id,
            outcome,
            ..
        } => {
            if let Some(r) = state.referrals.get_mut(referral_id) {
                r.outcome = Some(*outcome);
            }
        }
        E::RumourRebutted { referral_id, .. } => {
            if let Some(r) = state.referrals.get_mut(referral_id) {
                r.rebutted = true;
            }
        }
        E::CaseClosed { .. } => {
            state.closed = true;
            for deadline in state.deadlines.values_mut() {
                deadline.settled = true;
            }
        }
        E::CaseReopened { .. } => {
            state.closed = false;
        }
        E::MassIncidentDeclared { .. } => {
            state.mass_incident = true;
        }
        E::HeatRecorded { .. } | E::FollowUpRecorded { .. } | E::SupervisionUrged { .. } => {}
        E::UnitRegistered { .. }
        | E::UnitRenamed { .. }
        | E::UnitDeactivated { .. }
        | E::PenaltyApplied { .. }
        | E::PenaltyRevoked { .. }
        | E::CommendationAwarded { .. }
        | E::AccountabilityReferred { .. }
        | E::DisciplinaryDecisionRecorded { .. } => {}
    }
    state
}

fn set_assignment_status(
    state: &mut CaseState,
    assignment_id: AssignmentId,
    status: AssignmentStatus,
) {
    if let Some(a) = state.assignments.get_mut(&assignment_id) {
        a.status = status;
    }
}

#[cfg(test)]
#[path = "case_tests.rs"]
mod tests;
