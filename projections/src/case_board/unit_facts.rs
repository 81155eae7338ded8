//! Scorecards' figures per unit and Asia/Shanghai day (`rm_unit_day_facts`), kept by the
//! projector as the record stands, so a year's scorecards add up a few hundred rows a
//! unit instead of reading each of the year's assignments.
//!
//! A row is the sum of what the unit's assignments made that day contribute now (counted
//! — neither withdrawn nor returned with the return accepted — answered, answered on
//! time, completed, the sum of first-response times) and what its incidents recorded
//! that day contribute (missed deadlines and rejected returns on its assignments,
//! urgings). After a batch, each assignment it created or changed takes back what it
//! contributed as loaded and adds what it contributes now; the differences are added to
//! the rows, and a row that comes to nothing is deleted. The rows therefore depend on
//! the events applied, not on how they were cut into batches (the rebuild-equals-
//! incremental tests hold it).
//!
//! The same pass sets each counted, answered assignment's `counted_response` (indexed
//! by unit), which the scorecard's median walks in order; and `rm_board_reach` keeps the
//! latest recorded time of any event the board applied, which says from when the rows
//! are the whole story: a scorecard as of an earlier instant is computed from the
//! assignments themselves.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::AnyConnection;
use whistle_domain::calendar::shanghai_date;
use whistle_domain::{IncidentKind, Vocabulary};
use whistle_store::{Backend, RecordedEvent, from_micros, to_micros};

use super::rows::{Assignment, Incident};
use crate::ProjectionError;
use crate::batch::{Rows, add_to_sums, delete_nothing};

/// The table of the facts, and of the board's reach.
pub(crate) const FACTS_TABLE: &str = "rm_unit_day_facts";
pub(crate) const REACH_TABLE: &str = "rm_board_reach";

/// What one unit's assignments and incidents of one day add up to (or a difference).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct DayFacts {
    counted: i64,
    with_feedback: i64,
    on_time: i64,
    completed: i64,
    response_total: i64,
    overdue: i64,
    buck_passing: i64,
    urgings: i64,
}

impl DayFacts {
    fn add(&mut self, other: &DayFacts, sign: i64) {
        self.counted += sign * other.counted;
        self.with_feedback += sign * other.with_feedback;
        self.on_time += sign * other.on_time;
        self.completed += sign * other.completed;
        self.response_total += sign * other.response_total;
        self.overdue += sign * other.overdue;
        self.buck_passing += sign * other.buck_passing;
        self.urgings += sign * other.urgings;
    }

    fn is_nothing(&self) -> bool {
        *self == DayFacts::default()
    }

    fn values(&self) -> [i64; 8] {
        [
            self.counted,
            self.with_feedback,
            self.on_time,
            self.completed,
            self.response_total,
            self.overdue,
            self.buck_passing,
            self.urgings,
        ]
    }
}

/// The columns of `rm_unit_day_facts` after its key, in the order of [`DayFacts::values`].
pub(crate) const FIGURES: [&str; 8] = [
    "counted",
    "with_feedback",
    "on_time",
    "completed",
    "response_total",
    "overdue",
    "buck_passing",
    "urgings",
];

/// The Shanghai day (`YYYY-MM-DD`) of an instant in microseconds.
fn day_of(micros: i64) -> String {
    shanghai_date(from_micros(micros)).to_string()
}

/// Whether an assignment counts in its unit's scorecards as the record stands.
fn is_counted(assignment: &Assignment) -> bool {
    assignment.withdrawn_at.is_none() && assignment.return_accepted_at.is_none()
}

/// A counted assignment's first-response time (first approved reply less assignment).
pub(super) fn counted_response(assignment: &Assignment) -> Option<i64> {
    if !is_counted(assignment) {
        return None;
    }
    assignment
        .first_approved_reply_at
        .map(|approved| approved - assignment.assigned_at)
}

/// What an assignment contributes to its unit's row of the day it was made.
fn contribution(assignment: &Assignment) -> ((String, String), DayFacts) {
    let key = (assignment.unit_id.clone(), day_of(assignment.assigned_at));
    if !is_counted(assignment) {
        return (key, DayFacts::default());
    }
    let approved = assignment.first_approved_reply_at;
    let facts = DayFacts {
        counted: 1,
        with_feedback: i64::from(approved.is_some()),
        on_time: i64::from(matches!(
            (approved, assignment.deadline_at_first_approval),
            (Some(approved), Some(deadline)) if approved <= deadline
        )),
        completed: i64::from(assignment.completed_at.is_some()),
        response_total: approved.map_or(0, |approved| approved - assignment.assigned_at),
        ..DayFacts::default()
    };
    (key, facts)
}

/// What an incident contributes to its unit's row of the day it was recorded: the
/// scorecard counts missed deadlines and rejected returns on assignments, and urgings.
fn incident_contribution(incident: &Incident) -> Option<((String, String), DayFacts)> {
    let on_assignment = incident.assignment_id.is_some();
    let facts = match IncidentKind::parse_key(&incident.kind).ok() {
        Some(IncidentKind::DeadlineMissed) if on_assignment => DayFacts {
            overdue: 1,
            ..DayFacts::default()
        },
        Some(IncidentKind::ReturnRejected) if on_assignment => DayFacts {
            buck_passing: 1,
            ..DayFacts::default()
        },
        Some(IncidentKind::SupervisionUrged) => DayFacts {
            urgings: 1,
            ..DayFacts::default()
        },
        _ => return None,
    };
    Some((
        (incident.unit_id.clone(), day_of(incident.recorded_at)),
        facts,
    ))
}

/// Set each touched assignment's `counted_response` from how it stands.
pub(super) fn settle_responses(assignments: &mut Rows<Assignment>) {
    for assignment in assignments.touched_mut() {
        assignment.counted_response = counted_response(assignment);
    }
}

/// The differences a batch makes to the facts, by unit and day (none that are nothing).
pub(super) fn differences(
    assignments: &Rows<Assignment>,
    incidents: &[Incident],
) -> BTreeMap<(String, String), DayFacts> {
    let mut differences: BTreeMap<(String, String), DayFacts> = BTreeMap::new();
    for (loaded, now) in assignments.touched() {
        if let Some(loaded) = loaded {
            let (key, facts) = contribution(loaded);
            differences.entry(key).or_default().add(&facts, -1);
        }
        let (key, facts) = contribution(now);
        differences.entry(key).or_default().add(&facts, 1);
    }
    for (key, facts) in incidents.iter().filter_map(incident_contribution) {
        differences.entry(key).or_default().add(&facts, 1);
    }
    differences.retain(|_, facts| !facts.is_nothing());
    differences
}

/// Add `differences` to the facts, delete the rows that come to nothing, and raise the
/// board's reach to the latest recorded time among `events`.
pub(super) async fn write(
    c: &mut AnyConnection,
    differences: &BTreeMap<(String, String), DayFacts>,
    events: &[(RecordedEvent, whistle_domain::Event)],
) -> Result<(), ProjectionError> {
    let rows: Vec<(Vec<String>, Vec<i64>)> = differences
        .iter()
        .map(|((unit, day), facts)| (vec![unit.clone(), day.clone()], facts.values().to_vec()))
        .collect();
    add_to_sums(
        c,
        FACTS_TABLE,
        &["unit_id", "shanghai_day"],
        &FIGURES,
        &rows,
    )
    .await?;
    let units: Vec<String> = differences
        .keys()
        .map(|(unit, _)| unit.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    delete_nothing(c, FACTS_TABLE, &FIGURES, "unit_id", &units, None).await?;
    let backend = Backend::of(c);
    if let Some(latest) = events
        .iter()
        .map(|(recorded, _)| to_micros(recorded.recorded_at))
        .max()
    {
        let mut sql = format!("INSERT INTO {REACH_TABLE} (reach, latest_recorded_at) VALUES ");
        backend.push_placeholders(&mut sql, 1, 2);
        sql.push_str(&format!(
            " ON CONFLICT (reach) DO UPDATE SET latest_recorded_at = \
             CASE WHEN excluded.latest_recorded_at > {REACH_TABLE}.latest_recorded_at \
             THEN excluded.latest_recorded_at ELSE {REACH_TABLE}.latest_recorded_at END"
        ));
        sqlx::query(&sql)
            .persistent(false)
            .bind(1_i64)
            .bind(latest)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}
