//! Supervision (督办): the unit the rules name for the case's level urges (催办) a unit
//! with an open assignment — 一般 cases the cyberspace office, 较大 and above the
//! supervision office.

use crate::text::RequiredText;

use super::*;

pub(super) fn urge(d: &Decision<'_>, target_unit: &UnitId, note: &RequiredText) -> Decided {
    d.require_role(&[Role::Supervisor])?;
    d.require_open()?;
    let level = d.require_triaged()?.level;
    let supervising = d.rules.supervision.supervising_unit(level);
    if &d.actor.unit != supervising {
        return Err(Refusal::NotTheSupervisingUnit {
            level,
            supervising: supervising.clone(),
            actor_unit: d.actor.unit.clone(),
        }
        .into());
    }
    if !d
        .state
        .assignments
        .values()
        .any(|a| &a.unit_id == target_unit && a.status.is_open())
    {
        return Err(Refusal::NothingToUrge(target_unit.clone()).into());
    }
    Ok(vec![Event::SupervisionUrged {
        case_id: d.case_id,
        target_unit: target_unit.clone(),
        supervising_unit: d.actor.unit.clone(),
        note: note.clone(),
    }])
}
