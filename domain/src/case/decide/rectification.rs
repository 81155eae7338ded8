//! Rectification (整改): a unit that cannot finish at once promises a date and later
//! records completion; the promised date, end of day, is a deadline.

use chrono::NaiveDate;

use crate::calendar::{end_of_shanghai_day, shanghai_date};
use crate::text::RequiredText;

use super::*;

pub(super) fn promise(
    d: &Decision<'_>,
    assignment_id: AssignmentId,
    due_date: NaiveDate,
    measures: &RequiredText,
) -> Decided {
    let assignment = d.own_assignment(assignment_id, &[Role::Officer])?;
    d.require_open()?;
    d.require_accepted(assignment)?;
    if due_date < shanghai_date(d.now) {
        return Err(Refusal::PromisedDateInPast(due_date).into());
    }
    if let Some(rectification) = &assignment.rectification
        && !rectification.completed
    {
        return Err(Refusal::RectificationAlreadyPromised.into());
    }
    Ok(vec![Event::RectificationPromised {
        case_id: d.case_id,
        assignment_id,
        due_date,
        due_at: end_of_shanghai_day(due_date),
        measures: measures.clone(),
    }])
}

pub(super) fn complete(
    d: &Decision<'_>,
    assignment_id: AssignmentId,
    result: &RequiredText,
) -> Decided {
    let assignment = d.own_assignment(assignment_id, &[Role::Officer])?;
    d.require_open()?;
    match &assignment.rectification {
        Some(r) if !r.completed => {}
        Some(_) => return Err(Refusal::RectificationAlreadyCompleted.into()),
        None => return Err(Refusal::NoRectificationPromised.into()),
    }
    Ok(vec![Event::RectificationCompleted {
        case_id: d.case_id,
        assignment_id,
        result: result.clone(),
    }])
}
