//! The rumour path (移交公安, 辟谣): a dispatcher proposes a referral to the police with
//! legal basis and evidence; a second dispatcher approves it (the four-eyes rule guards
//! against misuse against people who told the truth); the police record the outcome; a
//! confirmed rumour is rebutted.

use crate::text::RequiredText;

use super::super::state::ReferralState;
use super::*;

pub(super) fn propose(
    d: &Decision<'_>,
    referral_id: ReferralId,
    police_unit: &ReferencedUnit,
    legal_basis: &RequiredText,
    evidence: &RequiredText,
) -> Decided {
    d.require_role(&[Role::Dispatcher])?;
    d.require_triaged()?;
    require_active_unit(police_unit)?;
    if police_unit.kind != UnitKind::Police {
        return Err(Refusal::NotAPoliceUnit(police_unit.name.clone()).into());
    }
    if d.state.referrals.contains_key(&referral_id) {
        return Err(Refusal::ReferralExists(referral_id).into());
    }
    if d.state.referrals.values().any(|r| r.outcome.is_none()) {
        return Err(Refusal::ReferralPending.into());
    }
    Ok(vec![Event::RumourReferralProposed {
        case_id: d.case_id,
        referral_id,
        police_unit: police_unit.unit_id.clone(),
        legal_basis: legal_basis.clone(),
        evidence: evidence.clone(),
        proposed_by: d.actor.user_id.clone(),
    }])
}

pub(super) fn approve(d: &Decision<'_>, referral_id: ReferralId) -> Decided {
    d.require_role(&[Role::Dispatcher])?;
    let referral = referral(d, referral_id)?;
    if referral.approved {
        return Err(Refusal::ReferralAlreadyApproved(referral_id).into());
    }
    if referral.proposed_by == d.actor.user_id {
        return Err(Refusal::FourEyes.into());
    }
    Ok(vec![Event::RumourReferralApproved {
        case_id: d.case_id,
        referral_id,
        approved_by: d.actor.user_id.clone(),
    }])
}

pub(super) fn record_outcome(
    d: &Decision<'_>,
    referral_id: ReferralId,
    outcome: ReferralOutcome,
    action: &RequiredText,
) -> Decided {
    d.require_role(&[Role::Police])?;
    let referral = referral(d, referral_id)?;
    d.actor.require_unit(&referral.police_unit, d.kind)?;
    if !referral.approved {
        return Err(Refusal::ReferralNotApproved(referral_id).into());
    }
    if referral.outcome.is_some() {
        return Err(Refusal::ReferralHasOutcome(referral_id).into());
    }
    Ok(vec![Event::ReferralOutcomeRecorded {
        case_id: d.case_id,
        referral_id,
        outcome,
        action: action.clone(),
    }])
}

pub(super) fn rebut(
    d: &Decision<'_>,
    referral_id: ReferralId,
    channel: ResponseChannel,
    content: &RequiredText,
) -> Decided {
    d.require_role(&[Role::Dispatcher])?;
    let referral = referral(d, referral_id)?;
    match referral.outcome {
        Some(ReferralOutcome::ConfirmedRumour) => {}
        Some(other) => return Err(Refusal::NothingToRebut(other).into()),
        None => return Err(Refusal::RumourNotConfirmed.into()),
    }
    if referral.rebutted {
        return Err(Refusal::AlreadyRebutted(referral_id).into());
    }
    Ok(vec![Event::RumourRebutted {
        case_id: d.case_id,
        referral_id,
        channel,
        content: content.clone(),
    }])
}

fn referral<'a>(d: &Decision<'a>, referral_id: ReferralId) -> Result<&'a ReferralState, Refusal> {
    d.state
        .referrals
        .get(&referral_id)
        .ok_or(Refusal::NoSuchReferral(referral_id))
}
