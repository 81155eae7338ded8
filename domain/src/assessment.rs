//! The assessment aggregate: one stream per unit and year holding penalties, revocations,
//! commendations, accountability referrals and disciplinary decisions (DOMAIN.md §4 step
//! 12). Scores are computed by projections from these and the case events.

use std::collections::BTreeMap;

use chrono::Datelike;

use crate::actor::Role;
use crate::commands::{AssessmentCommand, Command};
use crate::error::DomainError;
use crate::events::{Event, Period};
use crate::ids::*;

/// Most points one penalty or commendation may carry.
pub const MAX_POINTS: u32 = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssessmentState {
    /// Penalty id → revoked?
    pub penalties: BTreeMap<PenaltyId, bool>,
    pub commendations: BTreeMap<CommendationId, ()>,
    /// Accountability id → decision recorded?
    pub accountability: BTreeMap<AccountabilityId, bool>,
}

impl AssessmentState {
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        events.into_iter().fold(Self::default(), evolve)
    }
}

/// The assessment year a command belongs to (the stream it goes to).
pub fn year_of(command: &AssessmentCommand, today_year: i32) -> i32 {
    match command {
        AssessmentCommand::ApplyPenalty { period, .. }
        | AssessmentCommand::AwardCommendation { period, .. } => period.from.year(),
        _ => today_year,
    }
}

fn check_period(period: &Period) -> Result<(), DomainError> {
    if period.to <= period.from {
        return Err(DomainError::rule(format!(
            "the period [{}, {}) is empty: `to` must be after `from`",
            period.from, period.to
        )));
    }
    Ok(())
}

fn check_points(points: u32) -> Result<(), DomainError> {
    if points > MAX_POINTS {
        return Err(DomainError::rule(format!(
            "points must be between 0 and {MAX_POINTS}"
        )));
    }
    Ok(())
}

/// Decide an assessment command for `unit_id` and `year`. The caller has already checked
/// that the unit is registered (a deactivated unit can still be assessed for its past).
pub fn decide(
    state: &AssessmentState,
    unit_id: &UnitId,
    year: i32,
    command: &Command<AssessmentCommand>,
) -> Result<Vec<Event>, DomainError> {
    use AssessmentCommand as A;
    let actor = &command.actor;
    match &command.body {
        A::ApplyPenalty {
            penalty_id,
            person,
            kind,
            points,
            reason,
            case_ids,
            period,
        } => {
            actor.require_role(&[Role::Evaluator, Role::Inspector], "applyPenalty")?;
            check_period(period)?;
            check_points(*points)?;
            if state.penalties.contains_key(penalty_id) {
                return Err(DomainError::rule(format!(
                    "penalty {penalty_id} already exists"
                )));
            }
            Ok(vec![Event::PenaltyApplied {
                penalty_id: *penalty_id,
                unit_id: unit_id.clone(),
                year,
                person: person.clone(),
                kind: *kind,
                points: *points,
                reason: reason.clone(),
                case_ids: case_ids.clone(),
                period: *period,
            }])
        }
        A::RevokePenalty { penalty_id, reason } => {
            actor.require_role(&[Role::Evaluator, Role::Inspector], "revokePenalty")?;
            match state.penalties.get(penalty_id) {
                None => Err(DomainError::not_found(format!(
                    "penalty {penalty_id} was not applied to `{unit_id}` in {year}"
                ))),
                Some(true) => Err(DomainError::rule(format!(
                    "penalty {penalty_id} is already revoked"
                ))),
                Some(false) => Ok(vec![Event::PenaltyRevoked {
                    penalty_id: *penalty_id,
                    unit_id: unit_id.clone(),
                    year,
                    reason: reason.clone(),
                }]),
            }
        }
        A::AwardCommendation {
            commendation_id,
            points,
            reason,
            period,
        } => {
            actor.require_role(&[Role::Evaluator], "awardCommendation")?;
            check_period(period)?;
            check_points(*points)?;
            if state.commendations.contains_key(commendation_id) {
                return Err(DomainError::rule(format!(
                    "commendation {commendation_id} already exists"
                )));
            }
            Ok(vec![Event::CommendationAwarded {
                commendation_id: *commendation_id,
                unit_id: unit_id.clone(),
                year,
                points: *points,
                reason: reason.clone(),
                period: *period,
            }])
        }
        A::ReferAccountability {
            accountability_id,
            person,
            case_ids,
            reason,
        } => {
            actor.require_role(&[Role::Evaluator], "referAccountability")?;
            if state.accountability.contains_key(accountability_id) {
                return Err(DomainError::rule(format!(
                    "accountability referral {accountability_id} already exists"
                )));
            }
            Ok(vec![Event::AccountabilityReferred {
                accountability_id: *accountability_id,
                unit_id: unit_id.clone(),
                year,
                person: person.clone(),
                case_ids: case_ids.clone(),
                reason: reason.clone(),
            }])
        }
        A::RecordDisciplinaryDecision {
            accountability_id,
            person,
            case_ids,
            decision,
        } => {
            actor.require_role(&[Role::Inspector], "recordDisciplinaryDecision")?;
            if state.accountability.get(accountability_id) == Some(&true) {
                return Err(DomainError::rule(format!(
                    "a decision is already recorded for {accountability_id}"
                )));
            }
            Ok(vec![Event::DisciplinaryDecisionRecorded {
                accountability_id: *accountability_id,
                unit_id: unit_id.clone(),
                year,
                person: person.clone(),
                case_ids: case_ids.clone(),
                decision: decision.clone(),
            }])
        }
    }
}

pub fn evolve(mut state: AssessmentState, event: &Event) -> AssessmentState {
    match event {
        Event::PenaltyApplied { penalty_id, .. } => {
            state.penalties.insert(*penalty_id, false);
        }
        Event::PenaltyRevoked { penalty_id, .. } => {
            state.penalties.insert(*penalty_id, true);
        }
        Event::CommendationAwarded {
            commendation_id, ..
        } => {
            state.commendations.insert(*commendation_id, ());
        }
        Event::AccountabilityReferred {
            accountability_id, ..
        } => {
            state
                .accountability
                .entry(*accountability_id)
                .or_insert(false);
        }
        Event::DisciplinaryDecisionRecorded {
            accountability_id, ..
        } => {
            state.accountability.insert(*accountability_id, true);
        }
        _ => {}
    }
    state
}
