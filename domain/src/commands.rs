//! Commands: the imperative of each event. A command carries who issues it, when, and
//! the rules in force; its fields are already parsed domain types, so `decide` only
//! checks what the actor and the current state allow. The stream a command goes to (the
//! case, the unit, the unit's assessment year) is given beside it, not inside it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Serialize, Serializer};

use crate::actor::Actor;
use crate::events::{Heat, Period, Post};
use crate::ids::*;
use crate::rules::CaseRules;
use crate::text::RequiredText;
use crate::vocabulary::*;

/// A command with its context.
#[derive(Debug, Clone)]
pub struct Command<B> {
    pub actor: Actor,
    /// When the command was issued (the injected clock's now).
    pub issued_at: DateTime<Utc>,
    /// The rules in force: deadlines for new deadlines, and who supervises what.
    pub rules: CaseRules,
    pub body: B,
}

/// What the command side knows about a unit named by a command, read from the unit's own
/// stream before deciding (never from a read model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferencedUnit {
    pub unit_id: UnitId,
    pub name: String,
    pub kind: UnitKind,
    pub active: bool,
}

/// A referenced unit is named by its id in what the caller asked for: the name and
/// state read from its stream are what the command side found, not the request (a
/// command's fingerprint must not change when the unit is renamed between retries).
impl Serialize for ReferencedUnit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.unit_id.serialize(serializer)
    }
}

/// Commands on one case's stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum CaseCommand {
    FlagPost {
        post: Post,
        note: Option<RequiredText>,
    },
    AttachPost {
        post: Post,
        note: Option<RequiredText>,
    },
    RecordHeat {
        url: PostUrl,
        heat: Heat,
    },
    RecordFollowUp {
        observation: RequiredText,
        sentiment: FollowUpSentiment,
    },
    TriageCase {
        level: Level,
        categories: Vec<KeyCategory>,
        problem_class: ProblemClass,
        jurisdiction: Option<ReferencedUnit>,
    },
    ChangeCaseLevel {
        to: Level,
        reason: RequiredText,
    },
    AssignCase {
        assignment_id: AssignmentId,
        unit: ReferencedUnit,
        role: AssignmentRole,
        instruction: Option<RequiredText>,
    },
    AcceptAssignment {
        assignment_id: AssignmentId,
    },
    ReturnAssignment {
        assignment_id: AssignmentId,
        reason: RequiredText,
    },
    AcceptReturn {
        assignment_id: AssignmentId,
        note: Option<RequiredText>,
    },
    RejectReturn {
        assignment_id: AssignmentId,
        note: RequiredText,
    },
    WithdrawAssignment {
        assignment_id: AssignmentId,
        reason: RequiredText,
    },
    VerifyFacts {
        assignment_id: AssignmentId,
        finding: Finding,
        summary: RequiredText,
    },
    SubmitReply {
        assignment_id: AssignmentId,
        reply_id: ReplyId,
        content: RequiredText,
    },
    ApproveReply {
        reply_id: ReplyId,
        note: Option<RequiredText>,
    },
    SendBackReply {
        reply_id: ReplyId,
        note: RequiredText,
    },
    PublishResponse {
        channel: ResponseChannel,
        content: RequiredText,
        url: Option<PostUrl>,
    },
    PromiseRectification {
        assignment_id: AssignmentId,
        due_date: NaiveDate,
        measures: RequiredText,
    },
    CompleteRectification {
        assignment_id: AssignmentId,
        result: RequiredText,
    },
    CompleteAssignment {
        assignment_id: AssignmentId,
        summary: RequiredText,
    },
    SendMemo {
        memo_id: MemoId,
        summary: RequiredText,
    },
    InstructOnMemo {
        memo_id: MemoId,
        instruction: RequiredText,
        deadline: Option<DateTime<Utc>>,
    },
    RecordDeadlineApproaching {
        deadline_id: String,
    },
    RecordDeadlineMissed {
        deadline_id: String,
    },
    /// The system recomputes a provisional deadline once the calendar knows its years.
    RecomputeProvisionalDeadline {
        deadline_id: String,
    },
    UrgeSupervision {
        target_unit: UnitId,
        note: RequiredText,
    },
    ProposeRumourReferral {
        referral_id: ReferralId,
        police_unit: ReferencedUnit,
        legal_basis: RequiredText,
        evidence: RequiredText,
    },
    ApproveRumourReferral {
        referral_id: ReferralId,
    },
    RecordReferralOutcome {
        referral_id: ReferralId,
        outcome: ReferralOutcome,
        action: RequiredText,
    },
    RebutRumour {
        referral_id: ReferralId,
        channel: ResponseChannel,
        content: RequiredText,
    },
    CloseCase {
        outcome: RequiredText,
    },
    ReopenCase {
        reason: RequiredText,
    },
    DeclareMassIncident {
        note: RequiredText,
    },
}

/// Commands on one unit's stream.
#[derive(Debug, Clone, Serialize)]
pub enum UnitCommand {
    RegisterUnit {
        name: RequiredText,
        kind: UnitKind,
        parent: Option<ReferencedUnit>,
        jurisdiction: Option<RequiredText>,
    },
    RenameUnit {
        name: RequiredText,
    },
    DeactivateUnit {
        reason: RequiredText,
    },
}

/// The most cases one assessment command may name (a penalty, a commendation, a referral
/// or a decision concerns a handful; the cap bounds the event's size).
pub const MAX_CASES_PER_COMMAND: usize = 100;

/// Refuse a list of more than [`MAX_CASES_PER_COMMAND`] cases.
pub fn check_case_count(count: usize) -> Result<(), crate::error::ParseError> {
    if count > MAX_CASES_PER_COMMAND {
        return Err(crate::error::ParseError::new(
            "caseIds",
            format!("at most {MAX_CASES_PER_COMMAND} cases may be named, not {count}"),
        ));
    }
    Ok(())
}

impl AssessmentCommand {
    /// The cases the command names as its grounds.
    pub fn case_ids(&self) -> &[CaseId] {
        match self {
            AssessmentCommand::ApplyPenalty { case_ids, .. }
            | AssessmentCommand::ReferAccountability { case_ids, .. }
            | AssessmentCommand::RecordDisciplinaryDecision { case_ids, .. } => case_ids,
            AssessmentCommand::RevokePenalty { .. }
            | AssessmentCommand::AwardCommendation { .. } => &[],
        }
    }
}

/// Commands on one unit's assessment stream for one year.
#[derive(Debug, Clone, Serialize)]
pub enum AssessmentCommand {
    ApplyPenalty {
        penalty_id: PenaltyId,
        person: Option<RequiredText>,
        kind: PenaltyKind,
        points: u32,
        reason: RequiredText,
        case_ids: Vec<CaseId>,
        period: Period,
    },
    RevokePenalty {
        penalty_id: PenaltyId,
        reason: RequiredText,
    },
    AwardCommendation {
        commendation_id: CommendationId,
        points: u32,
        reason: RequiredText,
        period: Period,
    },
    ReferAccountability {
        accountability_id: AccountabilityId,
        person: RequiredText,
        case_ids: Vec<CaseId>,
        reason: RequiredText,
    },
    RecordDisciplinaryDecision {
        accountability_id: AccountabilityId,
        person: RequiredText,
        case_ids: Vec<CaseId>,
        decision: RequiredText,
    },
}

impl CaseCommand {
    /// What the command does, for logs, refusals and the command record.
    pub fn kind(&self) -> CommandKind {
        use CaseCommand as C;
        use CommandKind as K;
        match self {
            C::FlagPost { .. } => K::FlagPost,
            C::AttachPost { .. } => K::AttachPost,
            C::RecordHeat { .. } => K::RecordHeat,
            C::RecordFollowUp { .. } => K::RecordFollowUp,
            C::TriageCase { .. } => K::TriageCase,
            C::ChangeCaseLevel { .. } => K::ChangeCaseLevel,
            C::AssignCase { .. } => K::AssignCase,
            C::AcceptAssignment { .. } => K::AcceptAssignment,
            C::ReturnAssignment { .. } => K::ReturnAssignment,
            C::AcceptReturn { .. } => K::AcceptReturn,
            C::RejectReturn { .. } => K::RejectReturn,
            C::WithdrawAssignment { .. } => K::WithdrawAssignment,
            C::VerifyFacts { .. } => K::VerifyFacts,
            C::SubmitReply { .. } => K::SubmitReply,
            C::ApproveReply { .. } => K::ApproveReply,
            C::SendBackReply { .. } => K::SendBackReply,
            C::PublishResponse { .. } => K::PublishResponse,
            C::PromiseRectification { .. } => K::PromiseRectification,
            C::CompleteRectification { .. } => K::CompleteRectification,
            C::CompleteAssignment { .. } => K::CompleteAssignment,
            C::SendMemo { .. } => K::SendMemo,
            C::InstructOnMemo { .. } => K::InstructOnMemo,
            C::RecordDeadlineApproaching { .. } => K::RecordDeadlineApproaching,
            C::RecordDeadlineMissed { .. } => K::RecordDeadlineMissed,
            C::RecomputeProvisionalDeadline { .. } => K::RecomputeProvisionalDeadline,
            C::UrgeSupervision { .. } => K::UrgeSupervision,
            C::ProposeRumourReferral { .. } => K::ProposeRumourReferral,
            C::ApproveRumourReferral { .. } => K::ApproveRumourReferral,
            C::RecordReferralOutcome { .. } => K::RecordReferralOutcome,
            C::RebutRumour { .. } => K::RebutRumour,
            C::CloseCase { .. } => K::CloseCase,
            C::ReopenCase { .. } => K::ReopenCase,
            C::DeclareMassIncident { .. } => K::DeclareMassIncident,
        }
    }
}

impl UnitCommand {
    pub fn kind(&self) -> CommandKind {
        match self {
            UnitCommand::RegisterUnit { .. } => CommandKind::RegisterUnit,
            UnitCommand::RenameUnit { .. } => CommandKind::RenameUnit,
            UnitCommand::DeactivateUnit { .. } => CommandKind::DeactivateUnit,
        }
    }
}

impl AssessmentCommand {
    pub fn kind(&self) -> CommandKind {
        use AssessmentCommand as A;
        match self {
            A::ApplyPenalty { .. } => CommandKind::ApplyPenalty,
            A::RevokePenalty { .. } => CommandKind::RevokePenalty,
            A::AwardCommendation { .. } => CommandKind::AwardCommendation,
            A::ReferAccountability { .. } => CommandKind::ReferAccountability,
            A::RecordDisciplinaryDecision { .. } => CommandKind::RecordDisciplinaryDecision,
        }
    }
}
