//! The rules as data (docs/domain/time-rules.md, docs/domain/measures.md): deadline rules
//! (feedback hours by level, the public-response window, the leader-instruction window
//! in working days, the warning lead time), supervision rules (which unit supervises
//! which levels) and assessment rules (base, deductions, floor, grades, veto). Every
//! deadline records the identifier of the rule that set it, e.g. `feedback/v1/major=24h`,
//! so a later rule version never silently moves an old deadline.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::WorkingDayCalendar;
use crate::ids::UnitId;
use crate::vocabulary::{Level, Vocabulary};

/// One version of the deadline rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineRules {
    /// Version label recorded with every deadline this rule set produces.
    pub version: String,
    /// Feedback window of an assignment for 一般 and 较大 cases, in clock hours.
    pub feedback_hours_general: u32,
    /// Feedback window for 重大 and 特别重大 cases, in clock hours.
    pub feedback_hours_major: u32,
    /// Press conference window for 重大/特别重大 emergencies, hours after the flag.
    pub public_response_hours: u32,
    /// A leader's instruction is due after this many working days.
    pub leader_instruction_working_days: u32,
    /// `DeadlineApproaching` is written this many minutes before a deadline.
    pub warning_lead_minutes: u32,
}

/// What deciding a case command needs to know of the rules in force: the deadline
/// rules, who supervises which levels, the working-day calendar, and who may erase a
/// case's personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRules {
    pub deadlines: DeadlineRules,
    pub supervision: SupervisionRules,
    pub calendar: Arc<WorkingDayCalendar>,
    /// The roles that may propose and approve an erasure of personal data (two different
    /// people); default: dispatchers and inspectors.
    pub erasure_roles: Vec<crate::actor::Role>,
}

impl Default for CaseRules {
    /// The default rules and the calendar compiled into this build.
    fn default() -> Self {
        Self {
            deadlines: DeadlineRules::default(),
            supervision: SupervisionRules::default(),
            calendar: Arc::new(WorkingDayCalendar::china().clone()),
            erasure_roles: crate::access_record::ERASURE_ROLES.to_vec(),
        }
    }
}

/// The supervising unit by level: 一般 cases by the cyberspace office,
/// 较大 and above by the supervision office (督查室).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisionRules {
    pub general_unit: UnitId,
    pub significant_and_above_unit: UnitId,
}

impl SupervisionRules {
    /// The unit that supervises cases of `level`.
    pub fn supervising_unit(&self, level: Level) -> &UnitId {
        if level == Level::General {
            &self.general_unit
        } else {
            &self.significant_and_above_unit
        }
    }

    /// The levels `unit` supervises.
    pub fn levels_supervised_by(&self, unit: &UnitId) -> Vec<Level> {
        Level::ALL
            .iter()
            .copied()
            .filter(|level| self.supervising_unit(*level) == unit)
            .collect()
    }
}

impl Default for SupervisionRules {
    fn default() -> Self {
        Self {
            general_unit: UnitId::parse("city-cac").expect("valid unit code"),
            significant_and_above_unit: UnitId::parse("city-supervision").expect("valid unit code"),
        }
    }
}

impl Default for DeadlineRules {
    /// The defaults of docs/domain/time-rules.md.
    fn default() -> Self {
        Self {
            version: "v1".to_owned(),
            feedback_hours_general: 48,
            feedback_hours_major: 24,
            public_response_hours: 24,
            leader_instruction_working_days: 3,
            warning_lead_minutes: 240,
        }
    }
}

/// Does `rule` (a deadline's recorded rule) name a leader's instruction, e.g.
/// `leader_instruction/v1=3wd` or `leader_instruction/explicit`?
pub fn is_leader_instruction_rule(rule: &str) -> bool {
    rule.starts_with("leader_instruction/")
}

/// The suffix of a rule whose deadline was set by weekdays only, because a year it
/// spans had no published schedule: `leader_instruction/v1=3wd/provisional`.
pub const PROVISIONAL: &str = "/provisional";

/// Was the deadline of `rule` set provisionally (weekdays only)?
pub fn is_provisional_rule(rule: &str) -> bool {
    rule.ends_with(PROVISIONAL)
}

/// The working days a working-day rule counts: 3 for `leader_instruction/v1=3wd` (and
/// its provisional form).
pub fn working_days_of_rule(rule: &str) -> Option<u32> {
    let rule = rule.strip_suffix(PROVISIONAL).unwrap_or(rule);
    rule.rsplit_once('=')?.1.strip_suffix("wd")?.parse().ok()
}

/// A deadline together with the rule that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputedDeadline {
    pub due_at: DateTime<Utc>,
    pub rule: String,
}

impl DeadlineRules {
    /// Feedback deadline of an assignment made at `assigned_at` on a case of `level`.
    pub fn feedback_deadline(&self, level: Level, assigned_at: DateTime<Utc>) -> ComputedDeadline {
        let hours = if level.is_major_or_above() {
            self.feedback_hours_major
        } else {
            self.feedback_hours_general
        };
        ComputedDeadline {
            due_at: assigned_at + Duration::hours(i64::from(hours)),
            rule: format!("feedback/{}/{}={}h", self.version, level.key(), hours),
        }
    }

    /// Public-response deadline of a 重大/特别重大 emergency flagged at `flagged_at`.
    pub fn public_response_deadline(&self, flagged_at: DateTime<Utc>) -> ComputedDeadline {
        ComputedDeadline {
            due_at: flagged_at + Duration::hours(i64::from(self.public_response_hours)),
            rule: format!(
                "public_response/{}={}h",
                self.version, self.public_response_hours
            ),
        }
    }

    /// Deadline of a leader's instruction given at `instructed_at`: the end of the n-th
    /// working day after it. When a year it spans has no published schedule, the
    /// deadline is counted in weekdays only and its rule marked provisional, to be
    /// recomputed once the schedule is loaded.
    pub fn leader_instruction_deadline(
        &self,
        calendar: &WorkingDayCalendar,
        instructed_at: DateTime<Utc>,
    ) -> ComputedDeadline {
        let days = self.leader_instruction_working_days;
        let rule = format!("leader_instruction/{}={days}wd", self.version);
        match calendar.working_days_deadline(instructed_at, days) {
            Ok(due_at) => ComputedDeadline { due_at, rule },
            Err(_) => ComputedDeadline {
                due_at: calendar.weekdays_deadline(instructed_at, days),
                rule: format!("{rule}{PROVISIONAL}"),
            },
        }
    }

    pub fn warning_lead(&self) -> Duration {
        Duration::minutes(i64::from(self.warning_lead_minutes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_what_set_a_deadline_and_whether_it_is_provisional() {
        assert!(is_leader_instruction_rule("leader_instruction/explicit"));
        assert!(!is_leader_instruction_rule("feedback/v1/major=24h"));
        assert!(is_provisional_rule("leader_instruction/v1=3wd/provisional"));
        assert_eq!(
            working_days_of_rule("leader_instruction/v1=3wd/provisional"),
            Some(3)
        );
        assert_eq!(
            working_days_of_rule("leader_instruction/v2-2027=5wd"),
            Some(5)
        );
        assert_eq!(working_days_of_rule("feedback/v1/major=24h"), None);
    }

    #[test]
    fn feedback_windows_follow_the_level() {
        let rules = DeadlineRules::default();
        let at: DateTime<Utc> = "2026-03-02T01:00:00Z".parse().unwrap();
        let check = |level, hours: i64, rule: &str| {
            let deadline = rules.feedback_deadline(level, at);
            assert_eq!(deadline.due_at, at + Duration::hours(hours));
            assert_eq!(deadline.rule, rule);
        };
        check(Level::General, 48, "feedback/v1/general=48h");
        check(Level::Significant, 48, "feedback/v1/significant=48h");
        check(Level::Major, 24, "feedback/v1/major=24h");
        check(Level::Extraordinary, 24, "feedback/v1/extraordinary=24h");
    }
}

/// One version of the assessment rules (the defaults of docs/domain/measures.md): the base, what each
/// fact deducts or adds, the floor and the grade thresholds. Every assessment records
/// the version it used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentRules {
    pub version: String,
    pub base: i64,
    /// Points deducted per missed deadline on the unit's assignments, of the kinds in
    /// `missed_deadline_kinds`.
    pub per_missed_deadline: i64,
    /// The kinds of missed deadline that deduct (default: feedback only — a missed
    /// rectification or instruction deadline still counts in the scorecard's overdue
    /// count, but does not deduct).
    pub missed_deadline_kinds: Vec<crate::vocabulary::DeadlineKind>,
    /// Points deducted per rejected return (推诿).
    pub per_rejected_return: i64,
    /// Points deducted once per 重大/特别重大 case the unit leads.
    pub per_major_case_lead: i64,
    pub floor: i64,
    /// A mass incident (群体性事件) on a case the unit leads fails it whatever its points.
    pub mass_incident_veto: bool,
    pub excellent_from: i64,
    pub good_from: i64,
    pub pass_from: i64,
}

impl Default for AssessmentRules {
    fn default() -> Self {
        Self {
            version: "v1".to_owned(),
            base: 100,
            per_missed_deadline: 1,
            missed_deadline_kinds: vec![crate::vocabulary::DeadlineKind::Feedback],
            per_rejected_return: 2,
            per_major_case_lead: 5,
            floor: 0,
            mass_incident_veto: true,
            excellent_from: 90,
            good_from: 75,
            pass_from: 60,
        }
    }
}

/// A fact that moves a unit's score, with the points it moves it by (negative deducts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreItem {
    pub rule: crate::vocabulary::AssessmentRule,
    pub points: i64,
}

impl AssessmentRules {
    /// The points a fact of `rule` moves the score by; penalties and commendations carry
    /// their own `stated` points.
    pub fn points_for(&self, rule: crate::vocabulary::AssessmentRule, stated: i64) -> i64 {
        use crate::vocabulary::AssessmentRule as R;
        match rule {
            R::MissedDeadline => -self.per_missed_deadline,
            R::RejectedReturn => -self.per_rejected_return,
            R::MajorCaseLead => -self.per_major_case_lead,
            R::Penalty => -stated,
            R::Commendation => stated,
            R::MassIncident | R::OneVoteVetoPenalty => 0,
        }
    }

    /// The rule an incident of `kind` is scored by, if the assessment scores it (urgings
    /// are counted on scorecards, not scored). Missed deadlines count only for the kinds
    /// of deadline in [`AssessmentRules::missed_deadline_kinds`]; the caller filters those.
    pub fn incident_rule(
        kind: crate::vocabulary::IncidentKind,
    ) -> Option<crate::vocabulary::AssessmentRule> {
        use crate::vocabulary::{AssessmentRule as R, IncidentKind as K};
        match kind {
            K::DeadlineMissed => Some(R::MissedDeadline),
            K::ReturnRejected => Some(R::RejectedReturn),
            K::MajorLead => Some(R::MajorCaseLead),
            K::MassIncident => Some(R::MassIncident),
            K::SupervisionUrged => None,
        }
    }

    /// The rule of an assessment entry and the points it moves the score by: a one-vote
    /// veto fails the unit, and any points it states are deducted too.
    pub fn entry_rule(
        &self,
        entry: crate::vocabulary::AssessmentEntryKind,
        penalty: Option<crate::vocabulary::PenaltyKind>,
        stated: i64,
    ) -> (crate::vocabulary::AssessmentRule, i64) {
        use crate::vocabulary::{AssessmentEntryKind as E, AssessmentRule as R, PenaltyKind};
        let rule = match (entry, penalty) {
            (E::Commendation, _) => R::Commendation,
            (E::Penalty, Some(PenaltyKind::OneVoteVeto)) => R::OneVoteVetoPenalty,
            (E::Penalty, _) => R::Penalty,
        };
        let points = match rule {
            R::OneVoteVetoPenalty => -stated,
            other => self.points_for(other, stated),
        };
        (rule, points)
    }

    /// Whether a fact of `rule` vetoes the unit (一票否决): a veto penalty always, a mass
    /// incident when the rules say so.
    pub fn vetoes(&self, rule: crate::vocabulary::AssessmentRule) -> bool {
        use crate::vocabulary::AssessmentRule as R;
        match rule {
            R::MassIncident => self.mass_incident_veto,
            R::OneVoteVetoPenalty => true,
            _ => false,
        }
    }

    /// Score (base plus every item, not below the floor) and grade; a veto fails the unit
    /// whatever its points.
    pub fn score(&self, items: &[ScoreItem], veto: bool) -> (i64, crate::vocabulary::Grade) {
        use crate::vocabulary::Grade;
        let score = (self.base + items.iter().map(|i| i.points).sum::<i64>()).max(self.floor);
        let grade = if veto {
            Grade::Fail
        } else if score >= self.excellent_from {
            Grade::Excellent
        } else if score >= self.good_from {
            Grade::Good
        } else if score >= self.pass_from {
            Grade::Pass
        } else {
            Grade::Fail
        };
        (score, grade)
    }
}

#[cfg(test)]
mod assessment_tests {
    use super::*;
    use crate::vocabulary::{AssessmentRule as R, Grade};

    fn items(points: &[i64]) -> Vec<ScoreItem> {
        points
            .iter()
            .map(|p| ScoreItem {
                rule: R::Penalty,
                points: *p,
            })
            .collect()
    }

    #[test]
    fn grades_change_exactly_at_their_thresholds() {
        let rules = AssessmentRules::default();
        let check = |deducted: i64, want: Grade| {
            let (score, grade) = rules.score(&items(&[-deducted]), false);
            assert_eq!(
                (score, grade),
                (100 - deducted, want),
                "deducting {deducted}"
            );
        };
        check(10, Grade::Excellent); // 90
        check(11, Grade::Good); // 89
        check(25, Grade::Good); // 75
        check(26, Grade::Pass); // 74
        check(40, Grade::Pass); // 60
        check(41, Grade::Fail); // 59
    }

    #[test]
    fn the_score_never_falls_below_the_floor_and_a_veto_fails_whatever_the_points() {
        let rules = AssessmentRules::default();
        assert_eq!(rules.score(&items(&[-80, -50]), false), (0, Grade::Fail));
        assert_eq!(rules.score(&items(&[5]), true), (105, Grade::Fail));
    }

    #[test]
    fn each_rule_moves_the_score_by_its_points() {
        let rules = AssessmentRules::default();
        assert_eq!(rules.points_for(R::MissedDeadline, 0), -1);
        assert_eq!(rules.points_for(R::RejectedReturn, 0), -2);
        assert_eq!(rules.points_for(R::MajorCaseLead, 0), -5);
        assert_eq!(rules.points_for(R::Penalty, 3), -3);
        assert_eq!(rules.points_for(R::Commendation, 2), 2);
        assert_eq!(rules.points_for(R::MassIncident, 0), 0);
    }
}
