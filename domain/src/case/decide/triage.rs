//! Triage (研判): a dispatcher sets the level, key categories, problem class and
//! jurisdiction, and may change the level later with a reason. A level change recomputes
//! the open feedback deadlines that follow from the level.

use crate::rules::DeadlineRules;
use crate::text::RequiredText;

use super::super::state::deadline_ids;
use super::*;

pub(super) fn triage(
    d: &Decision<'_>,
    level: Level,
    categories: &[KeyCategory],
    problem_class: &ProblemClass,
    jurisdiction: Option<&ReferencedUnit>,
) -> Decided {
    d.require_role(&[Role::Dispatcher])?;
    d.require_open()?;
    if let Some(existing) = &d.state.triage
        && existing.level != level
    {
        return Err(Refusal::LevelChangeNeedsReason(existing.level).into());
    }
    if let Some(unit) = jurisdiction {
        require_active_unit(unit)?;
    }
    let mut categories = categories.to_vec();
    categories.sort();
    categories.dedup();
    let mut events = vec![Event::CaseTriaged {
        case_id: d.case_id,
        level,
        categories: categories.clone(),
        problem_class: problem_class.clone(),
        jurisdiction: jurisdiction.map(|u| u.unit_id.clone()),
    }];
    events.extend(public_response_deadline(
        d,
        level,
        &categories,
        &d.rules.deadlines,
    ));
    Ok(events)
}

pub(super) fn change_level(d: &Decision<'_>, to: Level, reason: &RequiredText) -> Decided {
    d.require_role(&[Role::Dispatcher])?;
    d.require_open()?;
    let triage = d.require_triaged()?;
    if triage.level == to {
        return Err(Refusal::AlreadyAtLevel(to).into());
    }
    let mut events = vec![Event::CaseLevelChanged {
        case_id: d.case_id,
        from: triage.level,
        to,
        reason: reason.clone(),
    }];
    // A level change recomputes open feedback deadlines from the new level, but never
    // relaxes one a leader's instruction brought forward: the earliest binding deadline
    // wins, with the rule that set it.
    for (deadline_id, deadline) in &d.state.deadlines {
        if deadline.settled || deadline.kind != DeadlineKind::Feedback {
            continue;
        }
        let Some(assignment_id) = deadline.assignment_id else {
            continue;
        };
        let assigned_at = d.state.assignment(assignment_id)?.assigned_at;
        let by_level = d.rules.deadlines.feedback_deadline(to, assigned_at);
        let (due_at, rule) = match &deadline.bound_by_leader {
            Some((leader_due, leader_rule)) if *leader_due < by_level.due_at => {
                (*leader_due, leader_rule.clone())
            }
            _ => (by_level.due_at, by_level.rule),
        };
        if due_at != deadline.due_at {
            events.push(Event::DeadlineRescheduled {
                case_id: d.case_id,
                deadline_id: deadline_id.clone(),
                kind: DeadlineKind::Feedback,
                assignment_id: Some(assignment_id),
                previous_due_at: deadline.due_at,
                due_at,
                deadline_rule: rule,
            });
        }
    }
    events.extend(public_response_deadline(
        d,
        to,
        &triage.categories,
        &d.rules.deadlines,
    ));
    Ok(events)
}

/// A 重大/特别重大 emergency gets a public-response deadline (press conference within
/// 24 h of the flag), once.
fn public_response_deadline(
    d: &Decision<'_>,
    level: Level,
    categories: &[KeyCategory],
    rules: &DeadlineRules,
) -> Option<Event> {
    let needs = level.is_major_or_above() && categories.contains(&KeyCategory::EmergencyOrDisaster);
    if !needs
        || d.state
            .deadlines
            .contains_key(deadline_ids::PUBLIC_RESPONSE)
    {
        return None;
    }
    let flagged_at = d.state.flagged_at?;
    let deadline = rules.public_response_deadline(flagged_at);
    Some(Event::DeadlineSet {
        case_id: d.case_id,
        deadline_id: deadline_ids::PUBLIC_RESPONSE.to_owned(),
        kind: DeadlineKind::PublicResponse,
        unit_id: None,
        due_at: deadline.due_at,
        deadline_rule: deadline.rule,
    })
}
