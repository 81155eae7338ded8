//! What the write side knows about one case: its triage, posts, assignments, replies,
//! memos, referrals and deadlines — exactly what `decide` needs, folded by `evolve`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::calendar::WorkingDayCalendar;
use crate::commands::CaseCommand;
use crate::events::Event;
use crate::ids::*;
use crate::refusal::Refusal;
use crate::rules::{CaseRules, is_provisional_rule, working_days_of_rule};
use crate::vocabulary::*;

/// Triage facts of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triage {
    pub level: Level,
    pub categories: Vec<KeyCategory>,
    pub problem_class: ProblemClass,
    pub jurisdiction: Option<UnitId>,
}

/// One assignment as the write side sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentState {
    pub unit_id: UnitId,
    pub role: AssignmentRole,
    pub status: AssignmentStatus,
    pub assigned_at: DateTime<Utc>,
    pub finding: Option<Finding>,
    pub pending_reply: Option<ReplyId>,
    pub approved_replies: u32,
    pub rectification: Option<RectificationState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RectificationState {
    pub due_at: DateTime<Utc>,
    pub completed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyState {
    pub assignment_id: AssignmentId,
    pub status: ReplyStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralState {
    pub police_unit: UnitId,
    pub proposed_by: UserId,
    pub approved: bool,
    pub outcome: Option<ReferralOutcome>,
    pub rebutted: bool,
}

/// A deadline on the case and whether it is still running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineState {
    pub kind: DeadlineKind,
    pub due_at: DateTime<Utc>,
    /// The rule that set the due time in force, e.g. `feedback/v1/major=24h`.
    pub rule: String,
    /// When counting started, for a deadline counted in working days (a leader's
    /// instruction): a provisional one is recomputed from it.
    pub counted_from: Option<DateTime<Utc>>,
    pub unit_id: Option<UnitId>,
    pub assignment_id: Option<AssignmentId>,
    /// Met, or no longer applicable (assignment withdrawn, case closed).
    pub settled: bool,
    /// The earlier due time a leader's instruction set for this deadline, and its rule:
    /// a level change never relaxes it (the earliest binding deadline wins).
    pub bound_by_leader: Option<(DateTime<Utc>, String)>,
    pub approaching_recorded: bool,
    pub missed_recorded: bool,
}

impl DeadlineState {
    /// A provisional deadline's due time on `calendar`, if the calendar now knows every
    /// year it spans (`None` when it is not provisional or still cannot be computed).
    pub fn recomputed(&self, calendar: &WorkingDayCalendar) -> Option<DateTime<Utc>> {
        if !is_provisional_rule(&self.rule) {
            return None;
        }
        let from = self.counted_from?;
        let days = working_days_of_rule(&self.rule)?;
        calendar.working_days_deadline(from, days).ok()
    }

    /// A deadline that has just been set: running, no warning or miss recorded.
    pub fn running(
        kind: DeadlineKind,
        due_at: DateTime<Utc>,
        rule: &str,
        unit_id: Option<UnitId>,
        assignment_id: Option<AssignmentId>,
    ) -> Self {
        Self {
            kind,
            due_at,
            rule: rule.to_owned(),
            counted_from: None,
            unit_id,
            assignment_id,
            settled: false,
            bound_by_leader: None,
            approaching_recorded: false,
            missed_recorded: false,
        }
    }
}

/// Everything `decide` needs to know about one case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseState {
    pub case_id: Option<CaseId>,
    pub flagged_at: Option<DateTime<Utc>>,
    pub triage: Option<Triage>,
    pub closed: bool,
    pub posts: BTreeSet<PostUrl>,
    pub assignments: BTreeMap<AssignmentId, AssignmentState>,
    pub replies: BTreeMap<ReplyId, ReplyState>,
    pub memos: BTreeMap<MemoId, bool>,
    pub referrals: BTreeMap<ReferralId, ReferralState>,
    pub deadlines: BTreeMap<String, DeadlineState>,
    pub mass_incident: bool,
}

/// Deadline identifiers, stable within a case.
pub mod deadline_ids {
    use crate::ids::{AssignmentId, MemoId};

    pub fn feedback(assignment_id: AssignmentId) -> String {
        format!("feedback:{assignment_id}")
    }
    pub fn rectification(assignment_id: AssignmentId) -> String {
        format!("rectification:{assignment_id}")
    }
    pub fn leader_instruction(memo_id: MemoId) -> String {
        format!("leader_instruction:{memo_id}")
    }
    pub const PUBLIC_RESPONSE: &str = "public_response";
}

impl CaseState {
    /// The case's post that `url` (normalised) names, as the case recorded it: exactly,
    /// or by its normalised form for a post recorded before today's rules.
    pub fn recorded_post(&self, url: &PostUrl) -> Option<&PostUrl> {
        self.posts.get(url).or_else(|| {
            self.posts
                .iter()
                .find(|recorded| recorded.names_same_post(url))
        })
    }

    /// Fold a stream's events into its state.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        events.into_iter().fold(Self::default(), super::evolve)
    }

    pub fn exists(&self) -> bool {
        self.case_id.is_some()
    }

    /// The status shown to people, derived from the assignments.
    pub fn status(&self) -> CaseStatus {
        derive_status(
            self.closed,
            self.triage.is_some(),
            self.assignments.values().map(|a| a.status),
        )
    }

    pub fn level(&self) -> Option<Level> {
        self.triage.as_ref().map(|t| t.level)
    }

    /// The current lead assignment: a lead that is still open. Once the lead has
    /// completed (or was withdrawn, or its return accepted), a reopened case may get a
    /// new lead.
    pub fn active_lead(&self) -> Option<(&AssignmentId, &AssignmentState)> {
        self.assignments
            .iter()
            .find(|(_, a)| a.role == AssignmentRole::Lead && a.status.is_open())
    }

    /// Deadline commands the system should issue at `now`: warnings once inside the lead
    /// time, misses once past due, and the recomputation of a provisional deadline once
    /// the calendar knows its years. Used by the deadline process.
    pub fn due_deadline_commands(&self, now: DateTime<Utc>, rules: &CaseRules) -> Vec<CaseCommand> {
        if self.closed {
            return Vec::new();
        }
        let mut commands = Vec::new();
        for (deadline_id, deadline) in &self.deadlines {
            if deadline.settled {
                continue;
            }
            if deadline.recomputed(&rules.calendar).is_some() {
                commands.push(CaseCommand::RecomputeProvisionalDeadline {
                    deadline_id: deadline_id.clone(),
                });
                continue;
            }
            let rules = &rules.deadlines;
            if now > deadline.due_at && !deadline.missed_recorded {
                commands.push(CaseCommand::RecordDeadlineMissed {
                    deadline_id: deadline_id.clone(),
                });
            } else if now <= deadline.due_at
                && now >= deadline.due_at - rules.warning_lead()
                && !deadline.approaching_recorded
            {
                commands.push(CaseCommand::RecordDeadlineApproaching {
                    deadline_id: deadline_id.clone(),
                });
            }
        }
        commands
    }

    /// An assignment of this case, or the refusal that names it.
    pub fn assignment(&self, assignment_id: AssignmentId) -> Result<&AssignmentState, Refusal> {
        self.assignments
            .get(&assignment_id)
            .ok_or(Refusal::NoSuchAssignment(assignment_id))
    }
}

/// Status from its parts; shared with the read models so both say the same.
pub fn derive_status(
    closed: bool,
    triaged: bool,
    assignment_statuses: impl Iterator<Item = AssignmentStatus>,
) -> CaseStatus {
    if closed {
        return CaseStatus::Closed;
    }
    let mut any_accepted_or_done = false;
    let mut any_waiting = false;
    for status in assignment_statuses {
        match status {
            AssignmentStatus::Accepted | AssignmentStatus::Completed => any_accepted_or_done = true,
            AssignmentStatus::AwaitingSignature | AssignmentStatus::Returned => any_waiting = true,
            AssignmentStatus::ReturnAccepted | AssignmentStatus::Withdrawn => {}
        }
    }
    if any_accepted_or_done {
        CaseStatus::Handling
    } else if any_waiting {
        CaseStatus::Assigned
    } else if triaged {
        CaseStatus::Triaged
    } else {
        CaseStatus::Flagged
    }
}

/// Active: counts as the unit's assignment (not withdrawn, return not accepted).
pub(crate) fn is_active(status: AssignmentStatus) -> bool {
    !matches!(
        status,
        AssignmentStatus::Withdrawn | AssignmentStatus::ReturnAccepted
    )
}
