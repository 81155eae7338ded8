//! Deadline warnings and misses, written by the system itself exactly once per deadline:
//! `DeadlineApproaching` inside the warning lead time, `DeadlineMissed` once the due time
//! has passed unmet.

use super::super::state::DeadlineState;
use super::*;

pub(super) fn approaching(d: &Decision<'_>, deadline_id: &str) -> Decided {
    let deadline = running_deadline(d, deadline_id)?;
    if deadline.approaching_recorded {
        return Err(Refusal::DeadlineAlreadyWarned(deadline_id.to_owned()).into());
    }
    if d.now > deadline.due_at || d.now < deadline.due_at - d.rules.deadlines.warning_lead() {
        return Err(Refusal::DeadlineNotInWarningWindow(deadline_id.to_owned()).into());
    }
    Ok(vec![Event::DeadlineApproaching {
        case_id: d.case_id,
        deadline_id: deadline_id.to_owned(),
        kind: deadline.kind,
        unit_id: deadline.unit_id.clone(),
        assignment_id: deadline.assignment_id,
        due_at: deadline.due_at,
    }])
}

pub(super) fn missed(d: &Decision<'_>, deadline_id: &str) -> Decided {
    let deadline = running_deadline(d, deadline_id)?;
    if deadline.missed_recorded {
        return Err(Refusal::DeadlineAlreadyMissed(deadline_id.to_owned()).into());
    }
    if d.now <= deadline.due_at {
        return Err(Refusal::DeadlineNotPassed(deadline_id.to_owned()).into());
    }
    Ok(vec![Event::DeadlineMissed {
        case_id: d.case_id,
        deadline_id: deadline_id.to_owned(),
        kind: deadline.kind,
        unit_id: deadline.unit_id.clone(),
        assignment_id: deadline.assignment_id,
        due_at: deadline.due_at,
    }])
}

/// A deadline of this case that still runs, for the system actor only.
fn running_deadline<'a>(d: &Decision<'a>, deadline_id: &str) -> Result<&'a DeadlineState, Refusal> {
    d.require_role(&[Role::System])?;
    let deadline = d
        .state
        .deadlines
        .get(deadline_id)
        .ok_or_else(|| Refusal::NoSuchDeadline(deadline_id.to_owned()))?;
    if deadline.settled || d.state.closed {
        return Err(Refusal::DeadlineSettled(deadline_id.to_owned()));
    }
    Ok(deadline)
}
