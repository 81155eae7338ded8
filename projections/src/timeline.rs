//! The `timeline` projection: the accountability audit trail. One row per event in the
//! log: who (name, role, unit as named then), when, what as a Chinese sentence, and the
//! structured payload.

use sqlx::{AnyConnection, Row};
use whistle_domain::{Event, UnitId, Vocabulary};
use whistle_store::{RecordedEvent, to_micros};

use crate::ProjectionError;
use crate::sentences::describe;

pub const TABLES: &[&str] = &[
    "rm_timeline",
    "rm_timeline_unit_names",
    "rm_timeline_assignments",
];

pub async fn apply(
    connection: &mut AnyConnection,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), ProjectionError> {
    let c = &mut *connection;
    if let Event::UnitRegistered { unit_id, name, .. } = event {
        set_unit_name(c, unit_id, name.as_str()).await?;
    }
    // Load every unit the sentence may name, as named at this point of the log.
    let mut names = std::collections::BTreeMap::new();
    for unit in units_named_by(event)
        .into_iter()
        .chain([recorded.actor.unit.clone()])
    {
        let name: Option<String> =
            sqlx::query("SELECT name FROM rm_timeline_unit_names WHERE unit_id = $1")
                .bind(unit.as_str())
                .fetch_optional(&mut *c)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
        names.insert(unit.clone(), name.unwrap_or_else(|| unit.to_string()));
    }
    let unit_name = |unit: &UnitId| names.get(unit).cloned().unwrap_or_else(|| unit.to_string());
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
    {
        sqlx::query("INSERT INTO rm_timeline_assignments (assignment_id, unit_id) VALUES ($1, $2)")
            .bind(assignment_id.to_string())
            .bind(unit_id.as_str())
            .execute(&mut *c)
            .await?;
    }
    let assignment_id = recorded
        .payload
        .get("assignment_id")
        .and_then(|id| id.as_str())
        .map(str::to_owned);
    let assignment_unit: Option<String> = match &assignment_id {
        Some(id) => {
            sqlx::query("SELECT unit_id FROM rm_timeline_assignments WHERE assignment_id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?
        }
        None => None,
    };

    sqlx::query(
        "INSERT INTO rm_timeline (position, event_id, stream_id, case_id, event_type, recorded_at, actor_id, \
         actor_name, actor_role, actor_unit, actor_unit_name, summary_zh, data, assignment_id, assignment_unit) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(recorded.position)
    .bind(recorded.event_id.to_string())
    .bind(recorded.stream_id.to_string())
    .bind(event.case_id().map(|id| id.to_string()))
    .bind(&recorded.event_type)
    .bind(to_micros(recorded.recorded_at))
    .bind(actor.user_id.as_str())
    .bind(&actor.name)
    .bind(actor.role.key())
    .bind(actor.unit.as_str())
    .bind(actor_unit_name)
    .bind(summary)
    .bind(recorded.payload.to_string())
    .bind(assignment_id)
    .bind(assignment_unit)
    .execute(&mut *c)
    .await?;

    if let Event::UnitRenamed { unit_id, to, .. } = event {
        set_unit_name(c, unit_id, to.as_str()).await?;
    }
    if let Event::PersonalDataErased { case_id, .. } = event {
        erase_personal_values(c, *case_id).await?;
    }
    Ok(())
}

/// The payloads of a case's events as erased: every personal value reads `已删除`, as
/// the log reads them from now on.
async fn erase_personal_values(
    c: &mut AnyConnection,
    case_id: whistle_domain::CaseId,
) -> Result<(), ProjectionError> {
    use whistle_domain::access::PERSONAL_FIELDS;
    let rows = sqlx::query("SELECT position, event_type, data FROM rm_timeline WHERE case_id = $1")
        .bind(case_id.to_string())
        .fetch_all(&mut *c)
        .await?;
    for row in rows {
        let event_type: String = row.try_get(1)?;
        let fields: Vec<_> = PERSONAL_FIELDS
            .iter()
            .filter(|f| f.event_type == event_type)
            .collect();
        if fields.is_empty() {
            continue;
        }
        let position: i64 = row.try_get(0)?;
        let raw: String = row.try_get(2)?;
        let mut data: serde_json::Value =
            serde_json::from_str(&raw).map_err(|e| ProjectionError::Unreadable {
                position,
                reason: format!("timeline data: {e}"),
            })?;
        for field in fields {
            if let Some(slot) = data.pointer_mut(field.pointer)
                && slot.is_string()
            {
                *slot = serde_json::Value::String(whistle_store::personal::ERASED.to_owned());
            }
        }
        sqlx::query("UPDATE rm_timeline SET data = $1 WHERE position = $2")
            .bind(data.to_string())
            .bind(position)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

async fn set_unit_name(
    c: &mut AnyConnection,
    unit_id: &UnitId,
    name: &str,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO rm_timeline_unit_names (unit_id, name) VALUES ($1, $2) \
         ON CONFLICT (unit_id) DO UPDATE SET name = excluded.name",
    )
    .bind(unit_id.as_str())
    .bind(name)
    .execute(&mut *c)
    .await?;
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
