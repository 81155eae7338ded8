//! `evolve`: one event applied to a case's state. Events of other aggregates leave it
//! unchanged. Arms that do more than set a field are named functions below.

use chrono::{DateTime, Utc};

use crate::events::Event;
use crate::ids::*;
use crate::rules::is_leader_instruction_rule;
use crate::vocabulary::*;

use super::state::{
    AssignmentState, CaseState, DeadlineState, RectificationState, ReferralState, ReplyState,
    Triage, deadline_ids,
};

/// Apply one event to the state.
pub fn evolve(mut state: CaseState, event: &Event) -> CaseState {
    use Event as E;
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
            deadline_rule,
            ..
        } => assigned(
            &mut state,
            *assignment_id,
            unit_id,
            *role,
            *assigned_at,
            (*deadline, deadline_rule),
        ),
        E::AssignmentAccepted { assignment_id, .. } | E::ReturnRejected { assignment_id, .. } => {
            set_status(&mut state, *assignment_id, AssignmentStatus::Accepted);
        }
        E::AssignmentReturned { assignment_id, .. } => {
            set_status(&mut state, *assignment_id, AssignmentStatus::Returned);
        }
        E::ReturnAccepted { assignment_id, .. } => {
            ended(&mut state, *assignment_id, AssignmentStatus::ReturnAccepted);
        }
        E::AssignmentWithdrawn { assignment_id, .. } => {
            ended(&mut state, *assignment_id, AssignmentStatus::Withdrawn);
        }
        E::AssignmentCompleted { assignment_id, .. } => {
            ended(&mut state, *assignment_id, AssignmentStatus::Completed);
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
        } => reply_approved(&mut state, *assignment_id, *reply_id),
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
        } => rectification_promised(&mut state, *assignment_id, *due_at),
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
            memo_id,
            deadline,
            deadline_rule,
            instructed_at,
            ..
        } => {
            state.memos.insert(*memo_id, true);
            let unit_id = state.active_lead().map(|(_, a)| a.unit_id.clone());
            let mut instruction = DeadlineState::running(
                DeadlineKind::LeaderInstruction,
                *deadline,
                deadline_rule,
                unit_id,
                None,
            );
            instruction.counted_from = *instructed_at;
            state
                .deadlines
                .insert(deadline_ids::leader_instruction(*memo_id), instruction);
        }
        E::DeadlineSet {
            deadline_id,
            kind,
            unit_id,
            due_at,
            deadline_rule,
            ..
        } => {
            state.deadlines.insert(
                deadline_id.clone(),
                DeadlineState::running(*kind, *due_at, deadline_rule, unit_id.clone(), None),
            );
        }
        E::DeadlineRescheduled {
            deadline_id,
            due_at,
            deadline_rule,
            ..
        } => rescheduled(&mut state, deadline_id, *due_at, deadline_rule),
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
        E::CaseReopened { .. } => state.closed = false,
        E::MassIncidentDeclared { .. } => state.mass_incident = true,
        E::HeatRecorded { .. } | E::FollowUpRecorded { .. } | E::SupervisionUrged { .. } => {}
        E::UnitRegistered { .. }
        | E::UnitRenamed { .. }
        | E::UnitDeactivated { .. }
        | E::PersonalDataViewed { .. }
        | E::PersonalDataErasureProposed { .. }
        | E::PersonalDataErased { .. }
        | E::PenaltyApplied { .. }
        | E::PenaltyRevoked { .. }
        | E::CommendationAwarded { .. }
        | E::AccountabilityReferred { .. }
        | E::DisciplinaryDecisionRecorded { .. } => {}
    }
    state
}

/// A deadline moved: it warns again if it moved later; a leader's rule binds it from
/// now on; and when a leader's instruction deadline itself moves (a provisional one
/// recomputed), the feedback deadlines it bound follow the binding.
fn rescheduled(state: &mut CaseState, deadline_id: &str, due_at: DateTime<Utc>, rule: &str) {
    let Some(d) = state.deadlines.get_mut(deadline_id) else {
        return;
    };
    if due_at > d.due_at {
        d.approaching_recorded = false;
    }
    let before = (d.due_at, std::mem::replace(&mut d.rule, rule.to_owned()));
    d.due_at = due_at;
    let kind = d.kind;
    if kind == DeadlineKind::LeaderInstruction {
        for other in state.deadlines.values_mut() {
            if other.bound_by_leader.as_ref() == Some(&before) {
                other.bound_by_leader = Some((due_at, rule.to_owned()));
            }
        }
    } else if is_leader_instruction_rule(rule) {
        d.bound_by_leader = Some((due_at, rule.to_owned()));
    }
}

/// A new assignment, awaiting signature, with its feedback deadline running.
fn assigned(
    state: &mut CaseState,
    assignment_id: AssignmentId,
    unit_id: &UnitId,
    role: AssignmentRole,
    assigned_at: DateTime<Utc>,
    (deadline, rule): (DateTime<Utc>, &str),
) {
    state.assignments.insert(
        assignment_id,
        AssignmentState {
            unit_id: unit_id.clone(),
            role,
            status: AssignmentStatus::AwaitingSignature,
            assigned_at,
            finding: None,
            pending_reply: None,
            approved_replies: 0,
            rectification: None,
        },
    );
    state.deadlines.insert(
        deadline_ids::feedback(assignment_id),
        DeadlineState::running(
            DeadlineKind::Feedback,
            deadline,
            rule,
            Some(unit_id.clone()),
            Some(assignment_id),
        ),
    );
}

/// An assignment that is over (completed, withdrawn, its return accepted): its
/// deadlines no longer run.
fn ended(state: &mut CaseState, assignment_id: AssignmentId, status: AssignmentStatus) {
    set_status(state, assignment_id, status);
    settle(state, &deadline_ids::feedback(assignment_id));
    settle(state, &deadline_ids::rectification(assignment_id));
}

/// An approved reply is the unit's feedback: it meets the feedback deadline and
/// answers any leader's instruction still open.
fn reply_approved(state: &mut CaseState, assignment_id: AssignmentId, reply_id: ReplyId) {
    if let Some(reply) = state.replies.get_mut(&reply_id) {
        reply.status = ReplyStatus::Approved;
    }
    if let Some(a) = state.assignments.get_mut(&assignment_id) {
        a.pending_reply = None;
        a.approved_replies += 1;
    }
    settle(state, &deadline_ids::feedback(assignment_id));
    for deadline in state.deadlines.values_mut() {
        if deadline.kind == DeadlineKind::LeaderInstruction {
            deadline.settled = true;
        }
    }
}

/// A promised rectification runs its own deadline until it is completed.
fn rectification_promised(
    state: &mut CaseState,
    assignment_id: AssignmentId,
    due_at: DateTime<Utc>,
) {
    let unit_id = state
        .assignments
        .get(&assignment_id)
        .map(|a| a.unit_id.clone());
    if let Some(a) = state.assignments.get_mut(&assignment_id) {
        a.rectification = Some(RectificationState {
            due_at,
            completed: false,
        });
    }
    state.deadlines.insert(
        deadline_ids::rectification(assignment_id),
        DeadlineState::running(
            DeadlineKind::Rectification,
            due_at,
            "rectification/promised",
            unit_id,
            Some(assignment_id),
        ),
    );
}

fn set_status(state: &mut CaseState, assignment_id: AssignmentId, status: AssignmentStatus) {
    if let Some(a) = state.assignments.get_mut(&assignment_id) {
        a.status = status;
    }
}

fn settle(state: &mut CaseState, deadline_id: &str) {
    if let Some(deadline) = state.deadlines.get_mut(deadline_id) {
        deadline.settled = true;
    }
}
