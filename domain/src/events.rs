//! The event catalogue of docs/domain/events.md: Whistle's public, versioned contract.
//!
//! Each event is stored as its type name (the variant name, e.g. `CaseAssigned`), a
//! schema version and a JSON payload. Old events keep loading: [`Event::from_record`]
//! upcasts older schema versions to the current shape, and a stored event is never
//! rewritten. Adding an optional field keeps the version; renaming or changing the
//! meaning of a field bumps it and adds an upcaster here.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::*;
use crate::text::RequiredText;
use crate::vocabulary::*;

/// A post (帖文) as flagged or attached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub platform: Platform,
    pub url: PostUrl,
    pub title: String,
    #[serde(default)]
    pub excerpt: String,
    #[serde(default)]
    pub posted_at: Option<DateTime<Utc>>,
    /// The author's identity as shown on the platform; restricted (docs/domain/trust.md).
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub heat: Heat,
}

/// Heat (热度) of a post at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heat {
    pub views: u64,
    pub reposts: u64,
    pub comments: u64,
    pub likes: u64,
}

impl Heat {
    pub fn total(&self) -> u64 {
        self.views
            .saturating_add(self.reposts)
            .saturating_add(self.comments)
            .saturating_add(self.likes)
    }
}

/// An assessment period [from, to) in Asia/Shanghai dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Every event of Whistle. The variant name is the stored type name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Event {
    // Units.
    UnitRegistered {
        unit_id: UnitId,
        name: RequiredText,
        kind: UnitKind,
        parent: Option<UnitId>,
        jurisdiction: Option<RequiredText>,
    },
    UnitRenamed {
        unit_id: UnitId,
        from: String,
        to: RequiredText,
    },
    UnitDeactivated {
        unit_id: UnitId,
        reason: RequiredText,
    },

    // Flagging and monitoring.
    PostFlagged {
        case_id: CaseId,
        post: Post,
        note: Option<RequiredText>,
        flagged_at: DateTime<Utc>,
    },
    PostAttached {
        case_id: CaseId,
        post: Post,
        note: Option<RequiredText>,
    },
    HeatRecorded {
        case_id: CaseId,
        url: PostUrl,
        heat: Heat,
        at: DateTime<Utc>,
    },
    FollowUpRecorded {
        case_id: CaseId,
        observation: RequiredText,
        sentiment: FollowUpSentiment,
    },

    // Triage.
    CaseTriaged {
        case_id: CaseId,
        level: Level,
        categories: Vec<KeyCategory>,
        problem_class: ProblemClass,
        jurisdiction: Option<UnitId>,
    },
    CaseLevelChanged {
        case_id: CaseId,
        from: Level,
        to: Level,
        reason: RequiredText,
    },

    // Assignments.
    CaseAssigned {
        case_id: CaseId,
        assignment_id: AssignmentId,
        unit_id: UnitId,
        role: AssignmentRole,
        assigned_at: DateTime<Utc>,
        deadline: DateTime<Utc>,
        /// The rule that set the deadline, e.g. `feedback/v1/major=24h`.
        deadline_rule: String,
        instruction: Option<RequiredText>,
    },
    AssignmentAccepted {
        case_id: CaseId,
        assignment_id: AssignmentId,
    },
    AssignmentReturned {
        case_id: CaseId,
        assignment_id: AssignmentId,
        reason: RequiredText,
    },
    ReturnAccepted {
        case_id: CaseId,
        assignment_id: AssignmentId,
        note: Option<RequiredText>,
    },
    ReturnRejected {
        case_id: CaseId,
        assignment_id: AssignmentId,
        note: RequiredText,
    },
    AssignmentWithdrawn {
        case_id: CaseId,
        assignment_id: AssignmentId,
        reason: RequiredText,
    },
    FactsVerified {
        case_id: CaseId,
        assignment_id: AssignmentId,
        finding: Finding,
        summary: RequiredText,
    },
    ReplySubmitted {
        case_id: CaseId,
        assignment_id: AssignmentId,
        reply_id: ReplyId,
        content: RequiredText,
    },
    ReplyApproved {
        case_id: CaseId,
        assignment_id: AssignmentId,
        reply_id: ReplyId,
        note: Option<RequiredText>,
        approved_at: DateTime<Utc>,
    },
    ReplySentBack {
        case_id: CaseId,
        assignment_id: AssignmentId,
        reply_id: ReplyId,
        note: RequiredText,
    },
    ResponsePublished {
        case_id: CaseId,
        channel: ResponseChannel,
        content: RequiredText,
        url: Option<PostUrl>,
        published_at: DateTime<Utc>,
    },
    RectificationPromised {
        case_id: CaseId,
        assignment_id: AssignmentId,
        due_date: NaiveDate,
        /// End of `due_date` in Asia/Shanghai, in UTC.
        due_at: DateTime<Utc>,
        measures: RequiredText,
    },
    RectificationCompleted {
        case_id: CaseId,
        assignment_id: AssignmentId,
        result: RequiredText,
    },
    AssignmentCompleted {
        case_id: CaseId,
        assignment_id: AssignmentId,
        summary: RequiredText,
    },

    // Leaders.
    MemoSent {
        case_id: CaseId,
        memo_id: MemoId,
        summary: RequiredText,
    },
    LeaderInstructed {
        case_id: CaseId,
        memo_id: MemoId,
        instruction: RequiredText,
        deadline: DateTime<Utc>,
        deadline_rule: String,
        /// When the instruction was given (absent in events recorded before it was kept):
        /// a provisional deadline is recomputed from it.
        #[serde(default)]
        instructed_at: Option<DateTime<Utc>>,
    },

    // Deadlines (written by the system) and supervision.
    DeadlineApproaching {
        case_id: CaseId,
        deadline_id: String,
        kind: DeadlineKind,
        unit_id: Option<UnitId>,
        assignment_id: Option<AssignmentId>,
        due_at: DateTime<Utc>,
    },
    DeadlineMissed {
        case_id: CaseId,
        deadline_id: String,
        kind: DeadlineKind,
        unit_id: Option<UnitId>,
        assignment_id: Option<AssignmentId>,
        due_at: DateTime<Utc>,
    },
    DeadlineSet {
        case_id: CaseId,
        deadline_id: String,
        kind: DeadlineKind,
        unit_id: Option<UnitId>,
        due_at: DateTime<Utc>,
        deadline_rule: String,
    },
    DeadlineRescheduled {
        case_id: CaseId,
        deadline_id: String,
        kind: DeadlineKind,
        assignment_id: Option<AssignmentId>,
        previous_due_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
        deadline_rule: String,
    },
    SupervisionUrged {
        case_id: CaseId,
        target_unit: UnitId,
        supervising_unit: UnitId,
        note: RequiredText,
    },

    // Rumours.
    RumourReferralProposed {
        case_id: CaseId,
        referral_id: ReferralId,
        police_unit: UnitId,
        legal_basis: RequiredText,
        evidence: RequiredText,
        proposed_by: UserId,
    },
    RumourReferralApproved {
        case_id: CaseId,
        referral_id: ReferralId,
        approved_by: UserId,
    },
    ReferralOutcomeRecorded {
        case_id: CaseId,
        referral_id: ReferralId,
        outcome: ReferralOutcome,
        action: RequiredText,
    },
    RumourRebutted {
        case_id: CaseId,
        referral_id: ReferralId,
        channel: ResponseChannel,
        content: RequiredText,
    },

    // Closing.
    CaseClosed {
        case_id: CaseId,
        outcome: RequiredText,
        closed_at: DateTime<Utc>,
    },
    CaseReopened {
        case_id: CaseId,
        reason: RequiredText,
    },
    MassIncidentDeclared {
        case_id: CaseId,
        note: RequiredText,
    },

    // Assessment.
    PenaltyApplied {
        penalty_id: PenaltyId,
        unit_id: UnitId,
        year: i32,
        person: Option<RequiredText>,
        kind: PenaltyKind,
        points: u32,
        reason: RequiredText,
        case_ids: Vec<CaseId>,
        period: Period,
    },
    PenaltyRevoked {
        penalty_id: PenaltyId,
        unit_id: UnitId,
        year: i32,
        reason: RequiredText,
    },
    CommendationAwarded {
        commendation_id: CommendationId,
        unit_id: UnitId,
        year: i32,
        points: u32,
        reason: RequiredText,
        period: Period,
    },
    AccountabilityReferred {
        accountability_id: AccountabilityId,
        unit_id: UnitId,
        year: i32,
        person: RequiredText,
        case_ids: Vec<CaseId>,
        reason: RequiredText,
    },
    DisciplinaryDecisionRecorded {
        accountability_id: AccountabilityId,
        unit_id: UnitId,
        year: i32,
        person: RequiredText,
        case_ids: Vec<CaseId>,
        decision: RequiredText,
    },

    // Personal data.
    /// Someone was shown a case's personal data (a post author's identity): which
    /// fields, through which read path. Recorded on the case's access stream, not on the
    /// case, so looking never changes a case's version.
    PersonalDataViewed {
        case_id: CaseId,
        fields: Vec<String>,
        path: String,
    },
    /// Someone asks that a case's personal data be erased, on a legal basis; a second
    /// person must approve (four eyes).
    PersonalDataErasureProposed {
        case_id: CaseId,
        erasure_id: ErasureId,
        legal_basis: RequiredText,
        proposed_by: UserId,
    },
    /// The case's personal data was erased: its values are deleted in the same
    /// transaction; the events and their proofs stay as they were (the payloads hold
    /// salted commitments, not the values). `proposed_by` is the first pair of eyes; the
    /// event's actor the second (or the system, when a retention period ran out).
    PersonalDataErased {
        case_id: CaseId,
        erasure_id: ErasureId,
        legal_basis: RequiredText,
        proposed_by: Option<UserId>,
    },
}

/// Every event type name, in catalogue order.
pub const EVENT_TYPES: &[&str] = &[
    "UnitRegistered",
    "UnitRenamed",
    "UnitDeactivated",
    "PostFlagged",
    "PostAttached",
    "HeatRecorded",
    "FollowUpRecorded",
    "CaseTriaged",
    "CaseLevelChanged",
    "CaseAssigned",
    "AssignmentAccepted",
    "AssignmentReturned",
    "ReturnAccepted",
    "ReturnRejected",
    "AssignmentWithdrawn",
    "FactsVerified",
    "ReplySubmitted",
    "ReplyApproved",
    "ReplySentBack",
    "ResponsePublished",
    "RectificationPromised",
    "RectificationCompleted",
    "AssignmentCompleted",
    "MemoSent",
    "LeaderInstructed",
    "DeadlineApproaching",
    "DeadlineMissed",
    "DeadlineSet",
    "DeadlineRescheduled",
    "SupervisionUrged",
    "RumourReferralProposed",
    "RumourReferralApproved",
    "ReferralOutcomeRecorded",
    "RumourRebutted",
    "CaseClosed",
    "CaseReopened",
    "MassIncidentDeclared",
    "PenaltyApplied",
    "PenaltyRevoked",
    "CommendationAwarded",
    "AccountabilityReferred",
    "DisciplinaryDecisionRecorded",
    "PersonalDataViewed",
    "PersonalDataErasureProposed",
    "PersonalDataErased",
];

/// The current schema version of every event type. Bump one (and add an upcaster in
/// [`Event::from_record`]) when its payload changes incompatibly.
pub const CURRENT_SCHEMA_VERSION: u32 = 1;

/// A stored event could not be turned back into an [`Event`].
#[derive(Debug, Error)]
pub enum EventRecordError {
    #[error("unknown event type `{0}`")]
    UnknownType(String),
    #[error(
        "event type `{event_type}` has schema version {version}, newer than this build knows ({CURRENT_SCHEMA_VERSION}); upgrade Whistle"
    )]
    FutureVersion { event_type: String, version: u32 },
    #[error("payload of `{event_type}` v{version} does not match its schema: {source}")]
    Payload {
        event_type: String,
        version: u32,
        #[source]
        source: serde_json::Error,
    },
}

impl Event {
    /// Split into (type name, schema version, payload) for storage.
    pub fn to_record(&self) -> (&'static str, u32, serde_json::Value) {
        let mut value = serde_json::to_value(self).expect("events always serialise");
        let payload = value
            .get_mut("data")
            .map(serde_json::Value::take)
            .unwrap_or(serde_json::Value::Null);
        (type_name_of(&value), CURRENT_SCHEMA_VERSION, payload)
    }

    /// Load a stored event, upcasting older schema versions to the current shape.
    pub fn from_record(
        event_type: &str,
        schema_version: u32,
        payload: serde_json::Value,
    ) -> Result<Self, EventRecordError> {
        if !EVENT_TYPES.contains(&event_type) {
            return Err(EventRecordError::UnknownType(event_type.to_owned()));
        }
        if schema_version > CURRENT_SCHEMA_VERSION {
            return Err(EventRecordError::FutureVersion {
                event_type: event_type.to_owned(),
                version: schema_version,
            });
        }
        // Upcasters go here, one per (type, version) that changed, each turning the
        // payload of version N into version N + 1. Version 1 is the first published shape.
        let mut payload = upcast(event_type, schema_version, payload);
        replace_nul(&mut payload);
        serde_json::from_value(serde_json::json!({ "type": event_type, "data": payload })).map_err(
            |source| EventRecordError::Payload {
                event_type: event_type.to_owned(),
                version: schema_version,
                source,
            },
        )
    }

    /// The case this event belongs to, if it is a case event.
    pub fn case_id(&self) -> Option<CaseId> {
        use Event::*;
        match self {
            PostFlagged { case_id, .. }
            | PostAttached { case_id, .. }
            | HeatRecorded { case_id, .. }
            | FollowUpRecorded { case_id, .. }
            | CaseTriaged { case_id, .. }
            | CaseLevelChanged { case_id, .. }
            | CaseAssigned { case_id, .. }
            | AssignmentAccepted { case_id, .. }
            | AssignmentReturned { case_id, .. }
            | ReturnAccepted { case_id, .. }
            | ReturnRejected { case_id, .. }
            | AssignmentWithdrawn { case_id, .. }
            | FactsVerified { case_id, .. }
            | ReplySubmitted { case_id, .. }
            | ReplyApproved { case_id, .. }
            | ReplySentBack { case_id, .. }
            | ResponsePublished { case_id, .. }
            | RectificationPromised { case_id, .. }
            | RectificationCompleted { case_id, .. }
            | AssignmentCompleted { case_id, .. }
            | MemoSent { case_id, .. }
            | LeaderInstructed { case_id, .. }
            | DeadlineApproaching { case_id, .. }
            | DeadlineMissed { case_id, .. }
            | DeadlineSet { case_id, .. }
            | DeadlineRescheduled { case_id, .. }
            | SupervisionUrged { case_id, .. }
            | RumourReferralProposed { case_id, .. }
            | RumourReferralApproved { case_id, .. }
            | ReferralOutcomeRecorded { case_id, .. }
            | RumourRebutted { case_id, .. }
            | CaseClosed { case_id, .. }
            | CaseReopened { case_id, .. }
            | MassIncidentDeclared { case_id, .. } => Some(*case_id),
            UnitRegistered { .. }
            | UnitRenamed { .. }
            | UnitDeactivated { .. }
            | PenaltyApplied { .. }
            | PenaltyRevoked { .. }
            | CommendationAwarded { .. }
            | AccountabilityReferred { .. }
            | DisciplinaryDecisionRecorded { .. }
            | PersonalDataViewed { .. }
            | PersonalDataErasureProposed { .. }
            | PersonalDataErased { .. } => None,
        }
    }
}

/// The listed type name of a serialised event (`{"type": .., "data": ..}`).
fn type_name_of(value: &serde_json::Value) -> &'static str {
    let name = value
        .get("type")
        .and_then(|t| t.as_str())
        .expect("events are tagged");
    EVENT_TYPES
        .iter()
        .copied()
        .find(|known| *known == name)
        .expect("every variant is listed in EVENT_TYPES")
}

/// Text in events is read with U+0000 replaced by U+FFFD. The boundary has refused NUL
/// since it learned that PostgreSQL cannot store it, so only an event written before can
/// hold one; read this way it can still be projected on every backend. The stored event
/// is unchanged (its audit leaf covers it as stored).
fn replace_nul(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) if text.contains('\0') => {
            *text = text.replace('\0', "\u{FFFD}");
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(replace_nul),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(replace_nul),
        _ => {}
    }
}

/// Bring a payload of `version` up to [`CURRENT_SCHEMA_VERSION`]. There is one published
/// version so far, so this is the identity; it is the one place future upcasters go.
fn upcast(_event_type: &str, _version: u32, payload: serde_json::Value) -> serde_json::Value {
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_their_stored_record() {
        let event = Event::CaseLevelChanged {
            case_id: CaseId::from_uuid(uuid::Uuid::now_v7()),
            from: Level::General,
            to: Level::Major,
            reason: RequiredText::parse("reason", "转发量激增").unwrap(),
        };
        let (event_type, version, payload) = event.to_record();
        assert_eq!(event_type, "CaseLevelChanged");
        assert_eq!(version, 1);
        assert_eq!(payload["to"], "major");
        assert_eq!(
            Event::from_record(event_type, version, payload).unwrap(),
            event
        );
    }

    #[test]
    fn unknown_types_future_versions_and_bad_payloads_are_errors_not_panics() {
        assert!(matches!(
            Event::from_record("NoSuchEvent", 1, serde_json::json!({})),
            Err(EventRecordError::UnknownType(_))
        ));
        assert!(matches!(
            Event::from_record("CaseReopened", 99, serde_json::json!({})),
            Err(EventRecordError::FutureVersion { .. })
        ));
        assert!(matches!(
            Event::from_record("CaseReopened", 1, serde_json::json!({"case_id": 3})),
            Err(EventRecordError::Payload { .. })
        ));
    }

    #[test]
    fn a_nul_written_before_the_boundary_refused_it_is_read_as_a_replacement_character() {
        let payload = serde_json::json!({
            "case_id": uuid::Uuid::from_u128(1),
            "observation": "路\u{0}面",
            "sentiment": "steady",
        });
        match Event::from_record("FollowUpRecorded", 1, payload).unwrap() {
            Event::FollowUpRecorded { observation, .. } => {
                assert_eq!(observation.as_str(), "路\u{FFFD}面")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_listed_type_name_is_unique() {
        let set: std::collections::HashSet<_> = EVENT_TYPES.iter().collect();
        assert_eq!(set.len(), EVENT_TYPES.len());
    }
}
