//! The assessment aggregate: one stream per unit and year holding penalties, revocations,
//! commendations, accountability referrals and disciplinary decisions (the last step of
//! docs/domain/lifecycle.md). Scores are computed from these and the case events by the
//! read side, with the scoring rules of [`crate::rules::AssessmentRules`].

use std::collections::BTreeMap;

use chrono::Datelike;

use crate::actor::Role;
use crate::aggregate::Aggregate;
use crate::commands::{AssessmentCommand, Command};
use crate::error::DomainError;
use crate::events::{Event, Period};
use crate::ids::*;
use crate::refusal::Refusal;
use crate::stream::StreamId;
use crate::vocabulary::CommandKind;

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

/// Competition ranks ("1224") of units given as (vetoed, score): vetoed units after all
/// the others, then by score, highest first; equal keys share a rank. The ranks come back
/// in the order the units were given.
pub fn competition_ranks(units: &[(bool, i64)]) -> Vec<i64> {
    let key = |&(veto, score): &(bool, i64)| (veto, std::cmp::Reverse(score));
    let mut keys: Vec<_> = units.iter().map(key).collect();
    keys.sort();
    units
        .iter()
        .map(|unit| {
            let own = key(unit);
            keys.partition_point(|k| *k < own) as i64 + 1
        })
        .collect()
}

/// The assessment year a command belongs to (the stream it goes to).
pub fn year_of(command: &AssessmentCommand, today_year: i32) -> i32 {
    match command {
        AssessmentCommand::ApplyPenalty { period, .. }
        | AssessmentCommand::AwardCommendation { period, .. } => period.from.year(),
        _ => today_year,
    }
}

/// One unit's assessment stream for one year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentYear {
    pub unit: UnitId,
    pub year: i32,
}

/// The assessment as an [`Aggregate`].
pub struct AssessmentAggregate;

impl Aggregate for AssessmentAggregate {
    type Id = AssessmentYear;
    type State = AssessmentState;
    type Command = AssessmentCommand;

    fn stream_id(id: &AssessmentYear) -> StreamId {
        StreamId::Assessment {
            unit: id.unit.clone(),
            year: id.year,
        }
    }

    fn kind(command: &AssessmentCommand) -> CommandKind {
        command.kind()
    }

    fn evolve(state: AssessmentState, event: &Event) -> AssessmentState {
        evolve(state, event)
    }

    fn decide(
        id: &AssessmentYear,
        state: &AssessmentState,
        command: &Command<AssessmentCommand>,
    ) -> Result<Vec<Event>, DomainError> {
        decide(state, &id.unit, id.year, command)
    }
}

fn check_period(period: &Period) -> Result<(), Refusal> {
    if period.to <= period.from {
        return Err(Refusal::EmptyPeriod {
            from: period.from,
            to: period.to,
        });
    }
    Ok(())
}

fn check_points(points: u32) -> Result<(), Refusal> {
    if points > MAX_POINTS {
        return Err(Refusal::PointsOutOfRange(MAX_POINTS));
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
    let command_kind = command.body.kind();
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
            actor.require_role(&[Role::Evaluator, Role::Inspector], command_kind)?;
            check_period(period)?;
            check_points(*points)?;
            if state.penalties.contains_key(penalty_id) {
                return Err(Refusal::PenaltyExists(*penalty_id).into());
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
            actor.require_role(&[Role::Evaluator, Role::Inspector], command_kind)?;
            match state.penalties.get(penalty_id) {
                None => Err(Refusal::NoSuchPenalty {
                    penalty_id: *penalty_id,
                    unit: unit_id.clone(),
                    year,
                }
                .into()),
                Some(true) => Err(Refusal::PenaltyAlreadyRevoked(*penalty_id).into()),
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
            actor.require_role(&[Role::Evaluator], command_kind)?;
            check_period(period)?;
            check_points(*points)?;
            if state.commendations.contains_key(commendation_id) {
                return Err(Refusal::CommendationExists(*commendation_id).into());
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
            actor.require_role(&[Role::Evaluator], command_kind)?;
            if state.accountability.contains_key(accountability_id) {
                return Err(Refusal::AccountabilityExists(*accountability_id).into());
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
            actor.require_role(&[Role::Inspector], command_kind)?;
            if state.accountability.get(accountability_id) == Some(&true) {
                return Err(Refusal::DecisionAlreadyRecorded(*accountability_id).into());
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

#[cfg(test)]
mod ranking_tests {
    use super::competition_ranks;

    #[test]
    fn ties_share_a_rank_and_vetoed_units_rank_last() {
        let units = [
            (false, 90),
            (true, 99),
            (false, 95),
            (false, 90),
            (true, 80),
        ];
        assert_eq!(competition_ranks(&units), vec![2, 4, 1, 2, 5]);
        assert!(competition_ranks(&[]).is_empty());
    }
}
