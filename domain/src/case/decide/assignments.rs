//! Assignments (转办): a dispatcher assigns the case to a lead unit and co-handlers; the
//! unit signs for it or returns it; the dispatcher accepts the return or rejects it (a
//! rejected return is buck-passing, 推诿) and may withdraw an assignment; the unit
//! completes it once its reply is approved and any promised rectification is done.

use crate::text::RequiredText;

use super::*;

pub(super) fn assign(
    d: &Decision<'_>,
    assignment_id: AssignmentId,
    unit: &ReferencedUnit,
    role: AssignmentRole,
    instruction: &Option<RequiredText>,
) -> Decided {
    d.require_role(&[Role::Dispatcher])?;
    d.require_open()?;
    let triage = d.require_triaged()?;
    require_active_unit(unit)?;
    if d.state.assignments.contains_key(&assignment_id) {
        return Err(Refusal::AssignmentExists(assignment_id).into());
    }
    if d.state
        .assignments
        .values()
        .any(|a| a.unit_id == unit.unit_id && a.status.is_open())
    {
        return Err(Refusal::UnitHasOpenAssignment(unit.name.clone()).into());
    }
    if role == AssignmentRole::Lead
        && let Some((_, lead)) = d.state.active_lead()
    {
        return Err(Refusal::CaseHasLead(lead.unit_id.clone()).into());
    }
    let deadline = d.rules.deadlines.feedback_deadline(triage.level, d.now);
    Ok(vec![Event::CaseAssigned {
        case_id: d.case_id,
        assignment_id,
        unit_id: unit.unit_id.clone(),
        role,
        assigned_at: d.now,
        deadline: deadline.due_at,
        deadline_rule: deadline.rule,
        instruction: instruction.clone(),
    }])
}

/// 签收: the unit accepts an assignment awaiting its signature.
pub(super) fn accept(d: &Decision<'_>, assignment_id: AssignmentId) -> Decided {
    let assignment = d.own_assignment(assignment_id, &[Role::Officer])?;
    d.require_open()?;
    require_awaiting_signature(d, assignment)?;
    Ok(vec![Event::AssignmentAccepted {
        case_id: d.case_id,
        assignment_id,
    }])
}

/// 退回: the unit returns an assignment awaiting its signature, with a reason.
pub(super) fn return_assignment(
    d: &Decision<'_>,
    assignment_id: AssignmentId,
    reason: &RequiredText,
) -> Decided {
    let assignment = d.own_assignment(assignment_id, &[Role::Officer])?;
    d.require_open()?;
    require_awaiting_signature(d, assignment)?;
    Ok(vec![Event::AssignmentReturned {
        case_id: d.case_id,
        assignment_id,
        reason: reason.clone(),
    }])
}

pub(super) fn accept_return(
    d: &Decision<'_>,
    assignment_id: AssignmentId,
    note: &Option<RequiredText>,
) -> Decided {
    require_returned(d, assignment_id)?;
    Ok(vec![Event::ReturnAccepted {
        case_id: d.case_id,
        assignment_id,
        note: note.clone(),
    }])
}

/// The return is rejected: the unit must handle the case, and the rejection is
/// recorded as buck-passing (推诿).
pub(super) fn reject_return(
    d: &Decision<'_>,
    assignment_id: AssignmentId,
    note: &RequiredText,
) -> Decided {
    require_returned(d, assignment_id)?;
    Ok(vec![Event::ReturnRejected {
        case_id: d.case_id,
        assignment_id,
        note: note.clone(),
    }])
}

pub(super) fn withdraw(
    d: &Decision<'_>,
    assignment_id: AssignmentId,
    reason: &RequiredText,
) -> Decided {
    d.require_role(&[Role::Dispatcher])?;
    d.require_open()?;
    let assignment = d.state.assignment(assignment_id)?;
    if !assignment.status.is_open() {
        return Err(Refusal::AssignmentNotOpen {
            assignment_id,
            status: assignment.status,
        }
        .into());
    }
    Ok(vec![Event::AssignmentWithdrawn {
        case_id: d.case_id,
        assignment_id,
        reason: reason.clone(),
    }])
}

/// 办结: the unit completes its assignment once a reply is approved and any promised
/// rectification is done.
pub(super) fn complete(
    d: &Decision<'_>,
    assignment_id: AssignmentId,
    summary: &RequiredText,
) -> Decided {
    let assignment = d.own_assignment(assignment_id, &[Role::Officer])?;
    d.require_open()?;
    d.require_accepted(assignment)?;
    if assignment.approved_replies == 0 {
        return Err(Refusal::NoApprovedReply.into());
    }
    if let Some(r) = &assignment.rectification
        && !r.completed
    {
        return Err(Refusal::RectificationNotCompleted.into());
    }
    Ok(vec![Event::AssignmentCompleted {
        case_id: d.case_id,
        assignment_id,
        summary: summary.clone(),
    }])
}

fn require_awaiting_signature(
    d: &Decision<'_>,
    assignment: &AssignmentState,
) -> Result<(), Refusal> {
    if assignment.status == AssignmentStatus::AwaitingSignature {
        Ok(())
    } else {
        Err(Refusal::NotAwaitingSignature {
            command: d.kind,
            status: assignment.status,
        })
    }
}

/// A dispatcher's answer to a return needs a returned assignment on an open case.
fn require_returned(d: &Decision<'_>, assignment_id: AssignmentId) -> Result<(), Refusal> {
    d.require_role(&[Role::Dispatcher])?;
    d.require_open()?;
    let assignment = d.state.assignment(assignment_id)?;
    if assignment.status != AssignmentStatus::Returned {
        return Err(Refusal::NotReturned {
            assignment_id,
            status: assignment.status,
        });
    }
    Ok(())
}
