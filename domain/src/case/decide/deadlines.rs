//! Deadline warnings and misses, written by the system itself exactly once per deadline:
//! `DeadlineApproaching` inside the warning lead time, `DeadlineMissed` once the due time
//! has passed unmet; and the recomputation of a provisional deadline (counted in weekdays
//! because a year's holiday schedule was not published) once the calendar knows it.

use crate::rules::{PROVISIONAL, is_provisional_rule, working_days_of_rule};

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

/// A provisional deadline recomputed on the calendar in force: the deadline takes its
/// final due time and rule, and the feedback deadlines it brought forward follow it —
/// but never past the due time their own level gives them.
pub(super) fn recompute_provisional(d: &Decision<'_>, deadline_id: &str) -> Decided {
    let deadline = running_deadline(d, deadline_id)?;
    if !is_provisional_rule(&deadline.rule) {
        return Err(Refusal::DeadlineNotProvisional(deadline_id.to_owned()).into());
    }
    let (Some(from), Some(days)) = (deadline.counted_from, working_days_of_rule(&deadline.rule))
    else {
        return Err(Refusal::DeadlineNotProvisional(deadline_id.to_owned()).into());
    };
    let due_at = d
        .rules
        .calendar
        .working_days_deadline(from, days)
        .map_err(Refusal::CalendarUnknown)?;
    let rule = deadline
        .rule
        .strip_suffix(PROVISIONAL)
        .unwrap_or(&deadline.rule)
        .to_owned();
    let mut events = vec![Event::DeadlineRescheduled {
        case_id: d.case_id,
        deadline_id: deadline_id.to_owned(),
        kind: deadline.kind,
        assignment_id: deadline.assignment_id,
        previous_due_at: deadline.due_at,
        due_at,
        deadline_rule: rule.clone(),
    }];
    let level = d.state.level();
    let bound = Some((deadline.due_at, deadline.rule.clone()));
    for (feedback_id, feedback) in &d.state.deadlines {
        if feedback.settled
            || feedback.kind != DeadlineKind::Feedback
            || feedback.bound_by_leader != bound
            || feedback.due_at != deadline.due_at
        {
            continue;
        }
        let by_level = match (level, feedback.assignment_id) {
            (Some(level), Some(assignment_id)) => Some(
                d.rules
                    .deadlines
                    .feedback_deadline(level, d.state.assignment(assignment_id)?.assigned_at),
            ),
            _ => None,
        };
        let (new_due, new_rule) = match by_level {
            Some(by_level) if by_level.due_at < due_at => (by_level.due_at, by_level.rule),
            _ => (due_at, rule.clone()),
        };
        if new_due != feedback.due_at {
            events.push(Event::DeadlineRescheduled {
                case_id: d.case_id,
                deadline_id: feedback_id.clone(),
                kind: DeadlineKind::Feedback,
                assignment_id: feedback.assignment_id,
                previous_due_at: feedback.due_at,
                due_at: new_due,
                deadline_rule: new_rule,
            });
        }
    }
    Ok(events)
}
