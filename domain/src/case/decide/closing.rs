//! Closing (办结) once every assignment is finished, reopening on a re-flare (次生舆情),
//! and declaring a mass incident (群体性事件, which drives the one-vote veto).

use crate::text::RequiredText;

use super::*;

pub(super) fn close(d: &Decision<'_>, outcome: &RequiredText) -> Decided {
    d.require_role(&[Role::Dispatcher])?;
    d.require_open()?;
    let open: Vec<String> = d
        .state
        .assignments
        .values()
        .filter(|a| a.status.is_open())
        .map(|a| format!("{}({})", a.unit_id, a.status))
        .collect();
    if !open.is_empty() {
        return Err(Refusal::AssignmentsStillOpen(open).into());
    }
    Ok(vec![Event::CaseClosed {
        case_id: d.case_id,
        outcome: outcome.clone(),
        closed_at: d.now,
    }])
}

pub(super) fn reopen(d: &Decision<'_>, reason: &RequiredText) -> Decided {
    d.require_role(&[Role::Dispatcher])?;
    if !d.state.closed {
        return Err(Refusal::CaseNotClosed.into());
    }
    Ok(vec![Event::CaseReopened {
        case_id: d.case_id,
        reason: reason.clone(),
    }])
}

pub(super) fn declare_mass_incident(d: &Decision<'_>, note: &RequiredText) -> Decided {
    d.require_role(&[Role::Dispatcher])?;
    d.require_triaged()?;
    if d.state.mass_incident {
        return Err(Refusal::MassIncidentAlreadyDeclared.into());
    }
    Ok(vec![Event::MassIncidentDeclared {
        case_id: d.case_id,
        note: note.clone(),
    }])
}
