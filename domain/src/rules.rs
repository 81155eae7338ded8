//! Deadline rules as data (DOMAIN.md §6): feedback hours by level, the public-response
//! window, the leader-instruction window in working days and the warning lead time.
//! Every deadline records the identifier of the rule that set it, e.g.
//! `feedback/v1/major=24h`, so a later rule version never silently moves an old deadline.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{UnknownYear, WorkingDayCalendar};
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

impl Default for DeadlineRules {
    /// The defaults of DOMAIN.md §6 (references 001 and 004).
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

    /// Deadline of a leader's instruction given at `instructed_at`.
    pub fn leader_instruction_deadline(
        &self,
        calendar: &WorkingDayCalendar,
        instructed_at: DateTime<Utc>,
    ) -> Result<ComputedDeadline, UnknownYear> {
        Ok(ComputedDeadline {
            due_at: calendar
                .working_days_deadline(instructed_at, self.leader_instruction_working_days)?,
            rule: format!(
                "leader_instruction/{}={}wd",
                self.version, self.leader_instruction_working_days
            ),
        })
    }

    pub fn warning_lead(&self) -> Duration {
        Duration::minutes(i64::from(self.warning_lead_minutes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
