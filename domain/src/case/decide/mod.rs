//! `decide`: what a command on a case produces, or why it is refused — one module per
//! stage of the lifecycle (docs/domain/lifecycle.md). Every command but the first flag
//! needs the case to exist; each stage then checks the actor's role and unit, and what
//! the case's state allows, in that order.

mod assignments;
mod closing;
mod deadlines;
mod leaders;
mod posts;
mod rectification;
mod replies;
mod rumours;
mod supervision;
mod triage;

use chrono::{DateTime, Utc};

use crate::actor::{Actor, Role};
use crate::commands::{CaseCommand, Command, ReferencedUnit};
use crate::error::DomainError;
use crate::events::Event;
use crate::ids::*;
use crate::refusal::Refusal;
use crate::rules::CaseRules;
use crate::vocabulary::*;

use super::state::{AssignmentState, CaseState, Triage};

/// What a stage returns: the events, or why not.
type Decided = Result<Vec<Event>, DomainError>;

/// Decide a command on the case `case_id`.
pub fn decide(case_id: CaseId, state: &CaseState, command: &Command<CaseCommand>) -> Decided {
    use CaseCommand as C;
    if !matches!(command.body, C::FlagPost { .. }) && !state.exists() {
        return Err(Refusal::NoSuchCase.into());
    }
    let d = Decision {
        case_id,
        state,
        actor: &command.actor,
        now: command.issued_at,
        rules: &command.rules,
        kind: command.body.kind(),
    };
    match &command.body {
        C::FlagPost { post, note } => posts::flag(&d, post, note),
        C::AttachPost { post, note } => posts::attach(&d, post, note),
        C::RecordHeat { url, heat } => posts::record_heat(&d, url, heat),
        C::RecordFollowUp {
            observation,
            sentiment,
        } => posts::record_follow_up(&d, observation, *sentiment),
        C::TriageCase {
            level,
            categories,
            problem_class,
            jurisdiction,
        } => triage::triage(&d, *level, categories, problem_class, jurisdiction.as_ref()),
        C::ChangeCaseLevel { to, reason } => triage::change_level(&d, *to, reason),
        C::AssignCase {
            assignment_id,
            unit,
            role,
            instruction,
        } => assignments::assign(&d, *assignment_id, unit, *role, instruction),
        C::AcceptAssignment { assignment_id } => assignments::accept(&d, *assignment_id),
        C::ReturnAssignment {
            assignment_id,
            reason,
        } => assignments::return_assignment(&d, *assignment_id, reason),
        C::AcceptReturn {
            assignment_id,
            note,
        } => assignments::accept_return(&d, *assignment_id, note),
        C::RejectReturn {
            assignment_id,
            note,
        } => assignments::reject_return(&d, *assignment_id, note),
        C::WithdrawAssignment {
            assignment_id,
            reason,
        } => assignments::withdraw(&d, *assignment_id, reason),
        C::CompleteAssignment {
            assignment_id,
            summary,
        } => assignments::complete(&d, *assignment_id, summary),
        C::VerifyFacts {
            assignment_id,
            finding,
            summary,
        } => replies::verify_facts(&d, *assignment_id, *finding, summary),
        C::SubmitReply {
            assignment_id,
            reply_id,
            content,
        } => replies::submit(&d, *assignment_id, *reply_id, content),
        C::ApproveReply { reply_id, note } => replies::approve(&d, *reply_id, note),
        C::SendBackReply { reply_id, note } => replies::send_back(&d, *reply_id, note),
        C::PublishResponse {
            channel,
            content,
            url,
        } => replies::publish_response(&d, *channel, content, url),
        C::PromiseRectification {
            assignment_id,
            due_date,
            measures,
        } => rectification::promise(&d, *assignment_id, *due_date, measures),
        C::CompleteRectification {
            assignment_id,
            result,
        } => rectification::complete(&d, *assignment_id, result),
        C::SendMemo { memo_id, summary } => leaders::send_memo(&d, *memo_id, summary),
        C::InstructOnMemo {
            memo_id,
            instruction,
            deadline,
        } => leaders::instruct(&d, *memo_id, instruction, *deadline),
        C::RecordDeadlineApproaching { deadline_id } => deadlines::approaching(&d, deadline_id),
        C::RecordDeadlineMissed { deadline_id } => deadlines::missed(&d, deadline_id),
        C::RecomputeProvisionalDeadline { deadline_id } => {
            deadlines::recompute_provisional(&d, deadline_id)
        }
        C::UrgeSupervision { target_unit, note } => supervision::urge(&d, target_unit, note),
        C::ProposeRumourReferral {
            referral_id,
            police_unit,
            legal_basis,
            evidence,
        } => rumours::propose(&d, *referral_id, police_unit, legal_basis, evidence),
        C::ApproveRumourReferral { referral_id } => rumours::approve(&d, *referral_id),
        C::RecordReferralOutcome {
            referral_id,
            outcome,
            action,
        } => rumours::record_outcome(&d, *referral_id, *outcome, action),
        C::RebutRumour {
            referral_id,
            channel,
            content,
        } => rumours::rebut(&d, *referral_id, *channel, content),
        C::CloseCase { outcome } => closing::close(&d, outcome),
        C::ReopenCase { reason } => closing::reopen(&d, reason),
        C::DeclareMassIncident { note } => closing::declare_mass_incident(&d, note),
    }
}

/// One command being decided: the case, its state, who asks, when, under which rules.
struct Decision<'a> {
    case_id: CaseId,
    state: &'a CaseState,
    actor: &'a Actor,
    now: DateTime<Utc>,
    rules: &'a CaseRules,
    kind: CommandKind,
}

impl Decision<'_> {
    /// Refuse unless the actor has one of `roles`.
    fn require_role(&self, roles: &[Role]) -> Result<(), Refusal> {
        self.actor.require_role(roles, self.kind)
    }

    /// Refuse unless the case is open.
    fn require_open(&self) -> Result<(), Refusal> {
        if self.state.closed {
            Err(Refusal::CaseClosed(self.case_id))
        } else {
            Ok(())
        }
    }

    /// The case's triage; refused before it is triaged.
    fn require_triaged(&self) -> Result<&Triage, Refusal> {
        self.state
            .triage
            .as_ref()
            .ok_or(Refusal::NotTriaged(self.case_id))
    }

    /// An assignment of the actor's own unit, for one of `roles` (officers and unit
    /// heads act on their own unit's assignments only).
    fn own_assignment(
        &self,
        assignment_id: AssignmentId,
        roles: &[Role],
    ) -> Result<&AssignmentState, Refusal> {
        self.require_role(roles)?;
        let assignment = self.state.assignment(assignment_id)?;
        self.actor.require_unit(&assignment.unit_id, self.kind)?;
        Ok(assignment)
    }

    /// Refuse unless `assignment` has been signed for and is still in the unit's hands.
    fn require_accepted(&self, assignment: &AssignmentState) -> Result<(), Refusal> {
        match assignment.status {
            AssignmentStatus::Accepted => Ok(()),
            AssignmentStatus::AwaitingSignature => Err(Refusal::NotYetAccepted(self.kind)),
            status => Err(Refusal::AssignmentNotInHand {
                command: self.kind,
                status,
            }),
        }
    }
}

/// Refuse a unit that has been deactivated.
fn require_active_unit(unit: &ReferencedUnit) -> Result<(), Refusal> {
    if unit.active {
        Ok(())
    } else {
        Err(Refusal::UnitDeactivated {
            unit: unit.unit_id.clone(),
            name: unit.name.clone(),
        })
    }
}
