//! Memos and instructions (抄告单, 批示): a dispatcher sends the case up to a leader on a
//! memo; the leader's instruction sets a deadline (3 working days by default) that binds
//! the units too — open feedback deadlines that fall later are brought forward to it. A
//! deadline counted over a year whose holiday schedule is not published is provisional,
//! and recomputed (`deadlines.rs`) once the schedule is loaded.

use chrono::{DateTime, Utc};

use crate::text::RequiredText;

use super::*;

pub(super) fn send_memo(d: &Decision<'_>, memo_id: MemoId, summary: &RequiredText) -> Decided {
    d.require_role(&[Role::Dispatcher])?;
    d.require_open()?;
    if d.state.memos.contains_key(&memo_id) {
        return Err(Refusal::MemoExists(memo_id).into());
    }
    Ok(vec![Event::MemoSent {
        case_id: d.case_id,
        memo_id,
        summary: summary.clone(),
    }])
}

pub(super) fn instruct(
    d: &Decision<'_>,
    memo_id: MemoId,
    instruction: &RequiredText,
    deadline: Option<DateTime<Utc>>,
) -> Decided {
    d.require_role(&[Role::Leader])?;
    d.require_open()?;
    match d.state.memos.get(&memo_id) {
        None => return Err(Refusal::NoSuchMemo(memo_id).into()),
        Some(true) => return Err(Refusal::MemoAlreadyInstructed(memo_id).into()),
        Some(false) => {}
    }
    let (due_at, rule) = match deadline {
        Some(explicit) if explicit <= d.now => {
            return Err(Refusal::InstructionDeadlineNotInFuture.into());
        }
        Some(explicit) => (explicit, "leader_instruction/explicit".to_owned()),
        None => {
            // Set even when a year's schedule is not published: then by weekdays only,
            // marked provisional, and recomputed once the schedule is loaded.
            let computed = d
                .rules
                .deadlines
                .leader_instruction_deadline(&d.rules.calendar, d.now);
            (computed.due_at, computed.rule)
        }
    };
    let mut events = vec![Event::LeaderInstructed {
        case_id: d.case_id,
        memo_id,
        instruction: instruction.clone(),
        deadline: due_at,
        deadline_rule: rule.clone(),
        instructed_at: Some(d.now),
    }];
    for (deadline_id, deadline) in &d.state.deadlines {
        if deadline.settled || deadline.kind != DeadlineKind::Feedback || deadline.due_at <= due_at
        {
            continue;
        }
        events.push(Event::DeadlineRescheduled {
            case_id: d.case_id,
            deadline_id: deadline_id.clone(),
            kind: DeadlineKind::Feedback,
            assignment_id: deadline.assignment_id,
            previous_due_at: deadline.due_at,
            due_at,
            deadline_rule: rule.clone(),
        });
    }
    Ok(events)
}
