//! Verification and replies (核查, 反馈): the unit verifies the facts and submits a reply;
//! its head approves it (then it counts as feedback) or sends it back. Units with an
//! assignment and the dispatchers publish public responses.

use crate::text::RequiredText;

use super::super::state::is_active;
use super::*;

pub(super) fn verify_facts(
    d: &Decision<'_>,
    assignment_id: AssignmentId,
    finding: Finding,
    summary: &RequiredText,
) -> Decided {
    let assignment = d.own_assignment(assignment_id, &[Role::Officer])?;
    d.require_open()?;
    d.require_accepted(assignment)?;
    Ok(vec![Event::FactsVerified {
        case_id: d.case_id,
        assignment_id,
        finding,
        summary: summary.clone(),
    }])
}

pub(super) fn submit(
    d: &Decision<'_>,
    assignment_id: AssignmentId,
    reply_id: ReplyId,
    content: &RequiredText,
) -> Decided {
    let assignment = d.own_assignment(assignment_id, &[Role::Officer])?;
    d.require_open()?;
    d.require_accepted(assignment)?;
    if let Some(pending) = assignment.pending_reply {
        return Err(Refusal::ReplyAwaitingApproval(pending).into());
    }
    if d.state.replies.contains_key(&reply_id) {
        return Err(Refusal::ReplyExists(reply_id).into());
    }
    Ok(vec![Event::ReplySubmitted {
        case_id: d.case_id,
        assignment_id,
        reply_id,
        content: content.clone(),
    }])
}

pub(super) fn approve(d: &Decision<'_>, reply_id: ReplyId, note: &Option<RequiredText>) -> Decided {
    let assignment_id = reply_awaiting_its_head(d, reply_id)?;
    Ok(vec![Event::ReplyApproved {
        case_id: d.case_id,
        assignment_id,
        reply_id,
        note: note.clone(),
        approved_at: d.now,
    }])
}

pub(super) fn send_back(d: &Decision<'_>, reply_id: ReplyId, note: &RequiredText) -> Decided {
    let assignment_id = reply_awaiting_its_head(d, reply_id)?;
    Ok(vec![Event::ReplySentBack {
        case_id: d.case_id,
        assignment_id,
        reply_id,
        note: note.clone(),
    }])
}

pub(super) fn publish_response(
    d: &Decision<'_>,
    channel: ResponseChannel,
    content: &RequiredText,
    url: &Option<PostUrl>,
) -> Decided {
    d.require_role(&[Role::Officer, Role::Dispatcher])?;
    d.require_triaged()?;
    if d.actor.role == Role::Officer
        && !d
            .state
            .assignments
            .values()
            .any(|a| a.unit_id == d.actor.unit && is_active(a.status))
    {
        return Err(Refusal::NoAssignmentToRespondFor {
            unit: d.actor.unit.clone(),
        }
        .into());
    }
    Ok(vec![Event::ResponsePublished {
        case_id: d.case_id,
        channel,
        content: content.clone(),
        url: url.clone(),
        published_at: d.now,
    }])
}

/// A reply waiting for its unit head: the head of the reply's unit, on an open case.
/// Returns the reply's assignment.
fn reply_awaiting_its_head(d: &Decision<'_>, reply_id: ReplyId) -> Result<AssignmentId, Refusal> {
    d.require_role(&[Role::UnitHead])?;
    let reply = d
        .state
        .replies
        .get(&reply_id)
        .ok_or(Refusal::NoSuchReply(reply_id))?;
    let assignment = d.state.assignment(reply.assignment_id)?;
    d.actor.require_unit(&assignment.unit_id, d.kind)?;
    d.require_open()?;
    if reply.status != ReplyStatus::Submitted {
        return Err(Refusal::ReplyNotAwaitingApproval {
            reply_id,
            status: reply.status,
        });
    }
    Ok(reply.assignment_id)
}
