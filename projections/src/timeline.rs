//! The `timeline` projection: the accountability audit trail. One row per event in the
//! log: who (name, role, unit as named then), when, what as a Chinese sentence, and the
//! structured payload.

use std::collections::{BTreeSet, HashMap};

use sqlx::AnyConnection;
use whistle_domain::{Event, UnitId, Vocabulary};
use whistle_store::{RecordedEvent, to_micros};

use crate::ProjectionError;
use crate::batch::{Rows, insert_rows, load_where_in, table_row};
use crate::sentences::describe;

pub const TABLES: &[&str] = &[
    "rm_timeline",
    "rm_timeline_unit_names",
    "rm_timeline_assignments",
];

table_row! {
    /// `rm_timeline`: one event as the audit trail tells it.
    Entry in "rm_timeline", key (position): i64 {
        position: i64,
        event_id: String,
        stream_id: String,
        case_id: Option<String>,
        event_type: String,
        recorded_at: i64,
        actor_id: String,
        actor_name: String,
        actor_role: String,
        actor_unit: String,
        actor_unit_name: String,
        summary_zh: String,
        data: String,
        assignment_id: Option<String>,
        assignment_unit: Option<String>,
    }
}

table_row! {
    /// `rm_timeline_unit_names`: a unit's name as of the point the projection reached.
    UnitName in "rm_timeline_unit_names", key (unit_id): String {
        unit_id: String,
        name: String,
    }
}

table_row! {
    /// `rm_timeline_assignments`: the unit of every assignment, for the rows about it.
    AssignmentUnit in "rm_timeline_assignments", key (assignment_id): String {
        assignment_id: String,
        unit_id: String,
    }
}

table_row! {
    /// The part of a stored `rm_timeline` row an erasure rewrites.
    StoredData in "rm_timeline", key (position): i64, by_case case_id {
        position: i64,
        case_id: String,
        event_type: String,
        data: String,
    }
}

/// Apply `events` (in log order, each with its decoded domain event) to the trail.
pub async fn apply_batch(
    connection: &mut AnyConnection,
    events: &[(RecordedEvent, Event)],
) -> Result<(), ProjectionError> {
    let mut trail = Trail::load(connection, events).await?;
    for (recorded, event) in events {
        trail.apply(recorded, event)?;
    }
    trail.write(connection).await?;
    Ok(())
}

/// The rows one batch reads and writes.
#[derive(Default)]
struct Trail {
    names: Rows<UnitName>,
    assignments: Rows<AssignmentUnit>,
    entries: Vec<Entry>,
    /// Stored rows of the cases whose personal data the batch erases.
    erased: Rows<StoredData>,
}

impl Trail {
    async fn load(
        c: &mut AnyConnection,
        events: &[(RecordedEvent, Event)],
    ) -> Result<Self, ProjectionError> {
        let mut units = BTreeSet::new();
        let mut assignments = BTreeSet::new();
        let mut erased = BTreeSet::new();
        for (recorded, event) in events {
            units.insert(recorded.actor.unit.to_string());
            units.extend(units_named_by(event).iter().map(UnitId::to_string));
            if let Event::UnitRegistered { unit_id, .. } | Event::UnitRenamed { unit_id, .. } =
                event
            {
                units.insert(unit_id.to_string());
            }
            if let Some(id) = assignment_of(recorded) {
                assignments.insert(id.to_owned());
            }
            if let Event::PersonalDataErased { case_id, .. } = event {
                erased.insert(case_id.to_string());
            }
        }
        let units: Vec<String> = units.into_iter().collect();
        let assignments: Vec<String> = assignments.into_iter().collect();
        let erased: Vec<String> = erased.into_iter().collect();
        let mut trail = Trail::default();
        trail
            .names
            .add_stored(load_where_in(c, "unit_id", &units, None).await?);
        trail
            .assignments
            .add_stored(load_where_in(c, "assignment_id", &assignments, None).await?);
        trail
            .erased
            .add_stored(load_where_in(c, "case_id", &erased, None).await?);
        Ok(trail)
    }

    async fn write(&self, c: &mut AnyConnection) -> Result<(), ProjectionError> {
        insert_rows(c, &self.entries.iter().collect::<Vec<_>>(), None).await?;
        self.names.write(c).await?;
        self.assignments.write(c).await?;
        // Erasures are rare: one update per rewritten row.
        for key in self.erased.changed_keys() {
            if let Some(row) = self.erased.get(&key) {
                sqlx::query("UPDATE rm_timeline SET data = $1 WHERE position = $2")
                    .bind(&row.data)
                    .bind(row.position)
                    .execute(&mut *c)
                    .await?;
            }
        }
        Ok(())
    }

    fn set_unit_name(&mut self, unit_id: &UnitId, name: &str) {
        let key = unit_id.to_string();
        match self.names.get_mut(&key) {
            Some(held) => held.name = name.to_owned(),
            None => {
                self.names.insert(UnitName {
                    unit_id: key,
                    name: name.to_owned(),
                });
            }
        }
    }

    fn unit_name(&self, unit: &UnitId) -> String {
        self.names
            .get(&unit.to_string())
            .map(|n| n.name.clone())
            .unwrap_or_else(|| unit.to_string())
    }

    fn apply(&mut self, recorded: &RecordedEvent, event: &Event) -> Result<(), ProjectionError> {
        let position = recorded.position;
        if let Event::UnitRegistered { unit_id, name, .. } = event {
            self.set_unit_name(unit_id, name.as_str());
        }
        // Every unit the sentence may name, as named at this point of the log.
        let names: HashMap<UnitId, String> = units_named_by(event)
            .into_iter()
            .chain([recorded.actor.unit.clone()])
            .map(|unit| {
                let name = self.unit_name(&unit);
                (unit, name)
            })
            .collect();
        let unit_name =
            |unit: &UnitId| names.get(unit).cloned().unwrap_or_else(|| unit.to_string());
        let actor = &recorded.actor;
        let actor_unit_name = unit_name(&actor.unit);
        let actor_label = format!(
            "{}({},{})",
            actor.name,
            actor.role.label_zh(),
            actor_unit_name
        );
        let summary = describe(event, &actor_label, &unit_name);

        // The assignment the event is about (every assignment event names it) and its unit.
        if let Event::CaseAssigned {
            assignment_id,
            unit_id,
            ..
        } = event
            && !self.assignments.insert(AssignmentUnit {
                assignment_id: assignment_id.to_string(),
                unit_id: unit_id.to_string(),
            })
        {
            return Err(ProjectionError::Unreadable {
                position,
                reason: format!("assignment {assignment_id} is made twice"),
            });
        }
        let assignment_id = assignment_of(recorded).map(str::to_owned);
        let assignment_unit = assignment_id
            .as_ref()
            .and_then(|id| self.assignments.get(id))
            .map(|a| a.unit_id.clone());

        self.entries.push(Entry {
            position,
            event_id: recorded.event_id.to_string(),
            stream_id: recorded.stream_id.to_string(),
            case_id: event.case_id().map(|id| id.to_string()),
            event_type: recorded.event_type.clone(),
            recorded_at: to_micros(recorded.recorded_at),
            actor_id: actor.user_id.as_str().to_owned(),
            actor_name: actor.name.clone(),
            actor_role: actor.role.key().to_owned(),
            actor_unit: actor.unit.to_string(),
            actor_unit_name,
            summary_zh: summary,
            data: recorded.payload.to_string(),
            assignment_id,
            assignment_unit,
        });

        if let Event::UnitRenamed { unit_id, to, .. } = event {
            self.set_unit_name(unit_id, to.as_str());
        }
        if let Event::PersonalDataErased { case_id, .. } = event {
            self.erase_personal_values(position, &case_id.to_string())?;
        }
        Ok(())
    }

    /// The payloads of a case's events as erased: every personal value reads `已删除`,
    /// as the log reads them from now on — in the rows stored before this batch and in
    /// the batch's own.
    fn erase_personal_values(
        &mut self,
        position: i64,
        case_id: &str,
    ) -> Result<(), ProjectionError> {
        let mut failed = None;
        self.erased.update_case(
            case_id,
            |row| has_personal_fields(&row.event_type),
            |row| {
                if let Err(e) = erase_in(&row.event_type, &mut row.data) {
                    failed.get_or_insert(e);
                }
            },
        );
        for entry in self
            .entries
            .iter_mut()
            .filter(|e| e.case_id.as_deref() == Some(case_id) && has_personal_fields(&e.event_type))
        {
            if let Err(e) = erase_in(&entry.event_type, &mut entry.data) {
                failed.get_or_insert(e);
            }
        }
        match failed {
            None => Ok(()),
            Some(reason) => Err(ProjectionError::Unreadable {
                position,
                reason: format!("timeline data: {reason}"),
            }),
        }
    }
}

/// The assignment an event's payload names, if any.
fn assignment_of(recorded: &RecordedEvent) -> Option<&str> {
    recorded
        .payload
        .get("assignment_id")
        .and_then(|id| id.as_str())
}

fn has_personal_fields(event_type: &str) -> bool {
    whistle_domain::access::PERSONAL_FIELDS
        .iter()
        .any(|f| f.event_type == event_type)
}

/// Replace every personal value of a payload (as JSON text) with `已删除`.
fn erase_in(event_type: &str, data: &mut String) -> Result<(), serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_str(data)?;
    for field in whistle_domain::access::PERSONAL_FIELDS
        .iter()
        .filter(|f| f.event_type == event_type)
    {
        if let Some(slot) = value.pointer_mut(field.pointer)
            && slot.is_string()
        {
            *slot = serde_json::Value::String(whistle_store::personal::ERASED.to_owned());
        }
    }
    *data = value.to_string();
    Ok(())
}

/// Units whose names a sentence about `event` may use.
fn units_named_by(event: &Event) -> Vec<UnitId> {
    use Event as E;
    match event {
        E::UnitRegistered {
            parent: Some(parent),
            ..
        } => vec![parent.clone()],
        E::UnitDeactivated { unit_id, .. }
        | E::CaseAssigned { unit_id, .. }
        | E::PenaltyApplied { unit_id, .. }
        | E::PenaltyRevoked { unit_id, .. }
        | E::CommendationAwarded { unit_id, .. }
        | E::AccountabilityReferred { unit_id, .. }
        | E::DisciplinaryDecisionRecorded { unit_id, .. } => vec![unit_id.clone()],
        E::CaseTriaged {
            jurisdiction: Some(unit),
            ..
        } => vec![unit.clone()],
        E::DeadlineApproaching {
            unit_id: Some(unit),
            ..
        }
        | E::DeadlineMissed {
            unit_id: Some(unit),
            ..
        } => {
            vec![unit.clone()]
        }
        E::SupervisionUrged { target_unit, .. } => vec![target_unit.clone()],
        E::RumourReferralProposed { police_unit, .. } => vec![police_unit.clone()],
        _ => Vec::new(),
    }
}
