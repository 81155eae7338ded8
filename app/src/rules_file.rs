//! The rule set file (TOML): deadline rules and assessment rules with one version label.
//! `rules/default.toml` is compiled in as the default; `whistle serve --rules FILE` loads
//! another. A file is checked before the service starts: unknown keys, impossible windows
//! and unordered grade thresholds are refused with a message that names the key.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use thiserror::Error;
use whistle_domain::calendar::WorkingDayCalendar;
use whistle_domain::rules::{AssessmentRules, CaseRules, DeadlineRules, SupervisionRules};
use whistle_domain::{DeadlineKind, Role, UnitId, Vocabulary};

/// The rule set shipped with Whistle.
pub const DEFAULT_RULES_TOML: &str = include_str!("../../rules/default.toml");

/// Deadline, supervision and assessment rules of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    pub deadlines: DeadlineRules,
    pub supervision: SupervisionRules,
    pub assessment: AssessmentRules,
    pub privacy: PrivacyRules,
}

/// How long personal data is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyRules {
    /// Days after a case is closed when its personal data is erased by the system;
    /// `None`: kept until erased on request.
    pub retention_days_after_close: Option<u32>,
    /// The roles that may propose and approve an erasure (two different people).
    pub erasure_roles: Vec<Role>,
}

impl Default for PrivacyRules {
    fn default() -> Self {
        Self {
            retention_days_after_close: None,
            erasure_roles: whistle_domain::access_record::ERASURE_ROLES.to_vec(),
        }
    }
}

#[derive(Debug, Error)]
pub enum RulesError {
    #[error("cannot read the rules file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the rules file is not valid: {0}")]
    Syntax(String),
    #[error("rules: `{key}` {reason}")]
    Invalid { key: &'static str, reason: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    version: String,
    deadlines: DeadlineSection,
    assessment: AssessmentSection,
    supervision: SupervisionSection,
    /// Files written before retention existed keep personal data until erased.
    #[serde(default)]
    privacy: PrivacySection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PrivacySection {
    retention_days_after_close: Option<u32>,
    erasure_roles: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SupervisionSection {
    general_unit: String,
    significant_and_above_unit: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeadlineSection {
    feedback_hours_general: u32,
    feedback_hours_major: u32,
    public_response_hours: u32,
    leader_instruction_working_days: u32,
    warning_lead_minutes: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssessmentSection {
    base: i64,
    per_missed_deadline: i64,
    #[serde(default = "feedback_only")]
    missed_deadline_kinds: Vec<String>,
    per_rejected_return: i64,
    per_major_case_lead: i64,
    floor: i64,
    mass_incident_veto: bool,
    excellent_from: i64,
    good_from: i64,
    pass_from: i64,
}

/// Files written before `missed_deadline_kinds` existed deduct for feedback deadlines.
fn feedback_only() -> Vec<String> {
    vec![DeadlineKind::Feedback.key().to_owned()]
}

fn invalid(key: &'static str, reason: impl Into<String>) -> RulesError {
    RulesError::Invalid {
        key,
        reason: reason.into(),
    }
}

impl RuleSet {
    /// What deciding a case command needs: the deadline and supervision rules, on
    /// `calendar`.
    pub fn case_rules(&self, calendar: Arc<WorkingDayCalendar>) -> CaseRules {
        CaseRules {
            deadlines: self.deadlines.clone(),
            supervision: self.supervision.clone(),
            calendar,
            erasure_roles: self.privacy.erasure_roles.clone(),
        }
    }

    /// The rule set shipped with Whistle (`rules/default.toml`).
    pub fn shipped() -> Self {
        Self::parse(DEFAULT_RULES_TOML).expect("the shipped rules file is valid")
    }

    pub fn load(path: &Path) -> Result<Self, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, RulesError> {
        let file: RuleFile = toml::from_str(text).map_err(|e| RulesError::Syntax(e.to_string()))?;
        let version = file.version.trim().to_owned();
        if version.is_empty()
            || version.len() > 32
            || !version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(invalid(
                "version",
                "must be 1-32 letters, digits, '.', '_' or '-'",
            ));
        }
        let d = file.deadlines;
        for (key, hours) in [
            ("deadlines.feedback_hours_general", d.feedback_hours_general),
            ("deadlines.feedback_hours_major", d.feedback_hours_major),
            ("deadlines.public_response_hours", d.public_response_hours),
        ] {
            if !(1..=720).contains(&hours) {
                return Err(invalid(
                    key,
                    format!("must be between 1 and 720 hours, not {hours}"),
                ));
            }
        }
        if !(1..=30).contains(&d.leader_instruction_working_days) {
            return Err(invalid(
                "deadlines.leader_instruction_working_days",
                "must be between 1 and 30",
            ));
        }
        let shortest = d.feedback_hours_general.min(d.feedback_hours_major) * 60;
        if d.warning_lead_minutes == 0 || d.warning_lead_minutes >= shortest {
            return Err(invalid(
                "deadlines.warning_lead_minutes",
                format!(
                    "must be more than 0 and less than the shortest feedback window ({shortest} minutes)"
                ),
            ));
        }
        let a = file.assessment;
        for (key, points) in [
            ("assessment.per_missed_deadline", a.per_missed_deadline),
            ("assessment.per_rejected_return", a.per_rejected_return),
            ("assessment.per_major_case_lead", a.per_major_case_lead),
        ] {
            if !(0..=100).contains(&points) {
                return Err(invalid(
                    key,
                    format!("must be between 0 and 100 points deducted, not {points}"),
                ));
            }
        }
        let mut missed_deadline_kinds = Vec::new();
        for raw in &a.missed_deadline_kinds {
            let kind = DeadlineKind::parse_key(raw)
                .map_err(|e| invalid("assessment.missed_deadline_kinds", e.reason))?;
            if !missed_deadline_kinds.contains(&kind) {
                missed_deadline_kinds.push(kind);
            }
        }
        if a.base <= a.floor {
            return Err(invalid("assessment.base", "must be above the floor"));
        }
        if !(a.excellent_from >= a.good_from && a.good_from >= a.pass_from && a.pass_from > a.floor)
        {
            return Err(invalid(
                "assessment.excellent_from",
                "grade thresholds must satisfy excellent_from ≥ good_from ≥ pass_from > floor",
            ));
        }
        let unit =
            |key: &'static str, raw: &str| UnitId::parse(raw).map_err(|e| invalid(key, e.reason));
        let supervision = SupervisionRules {
            general_unit: unit("supervision.general_unit", &file.supervision.general_unit)?,
            significant_and_above_unit: unit(
                "supervision.significant_and_above_unit",
                &file.supervision.significant_and_above_unit,
            )?,
        };
        if let Some(days) = file.privacy.retention_days_after_close
            && !(1..=36_500).contains(&days)
        {
            return Err(invalid(
                "privacy.retention_days_after_close",
                format!("must be between 1 and 36,500 days, not {days}"),
            ));
        }
        let erasure_roles = match &file.privacy.erasure_roles {
            None => whistle_domain::access_record::ERASURE_ROLES.to_vec(),
            Some(keys) => {
                let mut roles = Vec::new();
                for key in keys {
                    let role = Role::parse_person_role(key)
                        .map_err(|e| invalid("privacy.erasure_roles", e.reason))?;
                    if !roles.contains(&role) {
                        roles.push(role);
                    }
                }
                if roles.is_empty() {
                    return Err(invalid(
                        "privacy.erasure_roles",
                        "name at least one role (two different people must agree)",
                    ));
                }
                roles
            }
        };
        Ok(Self {
            privacy: PrivacyRules {
                retention_days_after_close: file.privacy.retention_days_after_close,
                erasure_roles,
            },
            deadlines: DeadlineRules {
                version: version.clone(),
                feedback_hours_general: d.feedback_hours_general,
                feedback_hours_major: d.feedback_hours_major,
                public_response_hours: d.public_response_hours,
                leader_instruction_working_days: d.leader_instruction_working_days,
                warning_lead_minutes: d.warning_lead_minutes,
            },
            supervision,
            assessment: AssessmentRules {
                version,
                base: a.base,
                per_missed_deadline: a.per_missed_deadline,
                missed_deadline_kinds,
                per_rejected_return: a.per_rejected_return,
                per_major_case_lead: a.per_major_case_lead,
                floor: a.floor,
                mass_incident_veto: a.mass_incident_veto,
                excellent_from: a.excellent_from,
                good_from: a.good_from,
                pass_from: a.pass_from,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_holds_the_defaults_of_the_domain() {
        let shipped = RuleSet::shipped();
        assert_eq!(shipped.deadlines, DeadlineRules::default());
        assert_eq!(shipped.supervision, SupervisionRules::default());
        assert_eq!(shipped.assessment, AssessmentRules::default());
        assert_eq!(shipped.privacy, PrivacyRules::default());
    }

    #[test]
    fn a_new_version_changes_the_rule_recorded_with_new_deadlines() {
        let text = DEFAULT_RULES_TOML
            .replace("version = \"v1\"", "version = \"v2-2027\"")
            .replace("feedback_hours_general = 48", "feedback_hours_general = 36");
        let rules = RuleSet::parse(&text).unwrap();
        let at = "2027-03-01T00:00:00Z".parse().unwrap();
        let deadline = rules
            .deadlines
            .feedback_deadline(whistle_domain::Level::General, at);
        assert_eq!(deadline.rule, "feedback/v2-2027/general=36h");
        assert_eq!(rules.assessment.version, "v2-2027");
    }

    #[test]
    fn bad_files_are_refused_with_the_key_that_is_wrong() {
        let check = |from: &str, to: &str, mentions: &str| {
            let text = DEFAULT_RULES_TOML.replace(from, to);
            let error = RuleSet::parse(&text).unwrap_err().to_string();
            assert!(
                error.contains(mentions),
                "`{error}` should mention `{mentions}`"
            );
        };
        check(
            "feedback_hours_major = 24",
            "feedback_hours_major = 0",
            "feedback_hours_major",
        );
        check(
            "warning_lead_minutes = 240",
            "warning_lead_minutes = 5000",
            "warning_lead_minutes",
        );
        check("good_from = 75", "good_from = 95", "excellent_from");
        check("version = \"v1\"", "version = \"\"", "version");
        check("floor = 0", "floor = 0\nbonus = 3", "bonus");
        check("base = 100", "base = \"a hundred\"", "base");
        check(
            "missed_deadline_kinds = [\"feedback\"]",
            "missed_deadline_kinds = [\"feedback\", \"lunch\"]",
            "missed_deadline_kinds",
        );
        check(
            "general_unit = \"city-cac\"",
            "general_unit = \"City CAC\"",
            "supervision.general_unit",
        );
        assert!(matches!(
            RuleSet::load(Path::new("/no/such/rules.toml")),
            Err(RulesError::Read { .. })
        ));
    }

    #[test]
    fn the_roles_that_may_erase_are_read_from_the_file() {
        let with = |line: &str| {
            DEFAULT_RULES_TOML.replace("erasure_roles = [\"dispatcher\", \"inspector\"]", line)
        };
        let inspectors = RuleSet::parse(&with("erasure_roles = [\"inspector\"]")).unwrap();
        assert_eq!(inspectors.privacy.erasure_roles, vec![Role::Inspector]);
        assert_eq!(
            inspectors
                .case_rules(Arc::new(WorkingDayCalendar::china().clone()))
                .erasure_roles,
            vec![Role::Inspector]
        );
        for bad in [
            "erasure_roles = [\"system\"]",
            "erasure_roles = []",
            "erasure_roles = [\"nobody\"]",
        ] {
            assert!(RuleSet::parse(&with(bad)).is_err(), "{bad}");
        }
    }
}
