//! Flagging and monitoring (吹哨, 跟踪监测): the first post opens the case; monitors
//! attach further posts, record heat and follow-up observations.

use crate::events::{Heat, Post};
use crate::text::RequiredText;

use super::*;

/// 吹哨: a monitor flags a post; the case opens.
pub(super) fn flag(d: &Decision<'_>, post: &Post, note: &Option<RequiredText>) -> Decided {
    d.require_role(&[Role::Monitor])?;
    if d.state.exists() {
        return Err(Refusal::CaseAlreadyExists(d.case_id).into());
    }
    Ok(vec![Event::PostFlagged {
        case_id: d.case_id,
        post: post.clone(),
        note: note.clone(),
        flagged_at: d.now,
    }])
}

pub(super) fn attach(d: &Decision<'_>, post: &Post, note: &Option<RequiredText>) -> Decided {
    d.require_role(&[Role::Monitor])?;
    if let Some(recorded) = d.state.recorded_post(&post.url) {
        return Err(Refusal::PostAlreadyOnThisCase(recorded.clone()).into());
    }
    Ok(vec![Event::PostAttached {
        case_id: d.case_id,
        post: post.clone(),
        note: note.clone(),
    }])
}

pub(super) fn record_heat(d: &Decision<'_>, url: &PostUrl, heat: &Heat) -> Decided {
    d.require_role(&[Role::Monitor])?;
    // The post as its case recorded it (perhaps in a form normalised differently then).
    let Some(recorded) = d.state.recorded_post(url) else {
        return Err(Refusal::NoSuchPost(url.clone()).into());
    };
    Ok(vec![Event::HeatRecorded {
        case_id: d.case_id,
        url: recorded.clone(),
        heat: *heat,
        at: d.now,
    }])
}

pub(super) fn record_follow_up(
    d: &Decision<'_>,
    observation: &RequiredText,
    sentiment: FollowUpSentiment,
) -> Decided {
    d.require_role(&[Role::Monitor])?;
    Ok(vec![Event::FollowUpRecorded {
        case_id: d.case_id,
        observation: observation.clone(),
        sentiment,
    }])
}
