//! Why a command was refused: one variant per rule of docs/domain/lifecycle.md and
//! docs/domain/people.md, each with a stable code (what clients and tests switch on,
//! [`Refusal::code`]), a kind ([`Refusal::kind`]: the actor may not, the thing does not
//! exist, or the state does not allow it) and a message in Chinese for the person who
//! sent the command. A refused command appends nothing.
//!
//! Messages name commands by their label ([`CommandKind`]), never by how an API spells
//! them.

use chrono::NaiveDate;
use thiserror::Error;

use crate::actor::Role;
use crate::calendar::UnknownYear;
use crate::ids::*;
use crate::vocabulary::{AssignmentStatus, CommandKind, Level, ReferralOutcome, ReplyStatus};

/// Which kind of "no" a refusal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The actor's role or unit does not allow it.
    Forbidden,
    /// The thing the command names does not exist (or is not on this case).
    NotFound,
    /// The current state does not allow it.
    Rule,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    // Who may.
    #[error("「{command}」需要{}角色;你的角色是{role}", roles_zh(.allowed))]
    RoleNotAllowed {
        command: CommandKind,
        allowed: Vec<Role>,
        role: Role,
    },
    #[error("「{command}」只能由单位 {unit} 的工作人员办理;你属于 {actor_unit}")]
    NotYourUnit {
        command: CommandKind,
        unit: UnitId,
        actor_unit: UnitId,
    },
    #[error("{level}事项由单位 {supervising} 督办;你属于 {actor_unit}")]
    NotTheSupervisingUnit {
        level: Level,
        supervising: UnitId,
        actor_unit: UnitId,
    },
    #[error("单位 {unit} 在本事项没有转办任务,不能发布公开回应")]
    NoAssignmentToRespondFor { unit: UnitId },

    // What does not exist.
    #[error("事项不存在:请先吹哨(标记帖文)")]
    NoSuchCase,
    #[error("转办任务 {0} 不在本事项中")]
    NoSuchAssignment(AssignmentId),
    #[error("反馈 {0} 不在本事项中")]
    NoSuchReply(ReplyId),
    #[error("抄告单 {0} 未在本事项中呈报")]
    NoSuchMemo(MemoId),
    #[error("移交 {0} 不在本事项中")]
    NoSuchReferral(ReferralId),
    #[error("时限 {0} 不在本事项中")]
    NoSuchDeadline(String),
    #[error("帖文 {0} 不在本事项中")]
    NoSuchPost(PostUrl),
    #[error("单位 {0} 未登记")]
    UnitNotRegistered(UnitId),
    #[error("删除申请 {0} 不存在或已处理")]
    NoSuchErasure(ErasureId),
    #[error("本事项的个人信息已删除")]
    PersonalDataAlreadyErased,
    #[error("所列事项不存在:{}", .0.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("、"))]
    CasesNotFound(Vec<CaseId>),
    #[error("单位 {unit} {year} 年没有问责记录 {penalty_id}")]
    NoSuchPenalty {
        penalty_id: PenaltyId,
        unit: UnitId,
        year: i32,
    },

    // Flagging and posts.
    #[error("事项 {0} 已存在;同一问题的更多帖文请追加到该事项")]
    CaseAlreadyExists(CaseId),
    #[error("帖文 {0} 已在本事项中")]
    PostAlreadyOnThisCase(PostUrl),
    #[error("帖文 {url} 已在事项 {case_id} 中;同一网址不会开启两个事项")]
    PostOnAnotherCase { url: String, case_id: String },

    // The case's state.
    #[error("事项 {0} 已办结;请先重新启动")]
    CaseClosed(CaseId),
    #[error("事项 {0} 尚未研判;请先研判")]
    NotTriaged(CaseId),
    #[error("事项已研判为{0};变更等级须说明理由")]
    LevelChangeNeedsReason(Level),
    #[error("事项已是{0}")]
    AlreadyAtLevel(Level),
    #[error("单位 {name}({unit})已停用")]
    UnitDeactivated { unit: UnitId, name: String },
    #[error("只有已办结的事项才能重新启动")]
    CaseNotClosed,
    #[error("本事项已认定为群体性事件")]
    MassIncidentAlreadyDeclared,
    #[error("尚有未办结的转办任务,事项不能办结:{}", .0.join("、"))]
    AssignmentsStillOpen(Vec<String>),

    // Assignments.
    #[error("转办任务 {0} 已存在")]
    AssignmentExists(AssignmentId),
    #[error("{0}在本事项已有未办结的转办任务")]
    UnitHasOpenAssignment(String),
    #[error("本事项已有牵头单位({0});请先撤回该转办任务,或作为协办单位转办")]
    CaseHasLead(UnitId),
    #[error("只有待签收的转办任务才能{command};该任务{status}")]
    NotAwaitingSignature {
        command: CommandKind,
        status: AssignmentStatus,
    },
    #[error("转办任务 {assignment_id} 未被退回;该任务{status}")]
    NotReturned {
        assignment_id: AssignmentId,
        status: AssignmentStatus,
    },
    #[error("转办任务 {assignment_id} {status},不能撤回")]
    AssignmentNotOpen {
        assignment_id: AssignmentId,
        status: AssignmentStatus,
    },
    #[error("转办任务签收前不能{0}:请先签收")]
    NotYetAccepted(CommandKind),
    #[error("转办任务{status},不能{command}")]
    AssignmentNotInHand {
        command: CommandKind,
        status: AssignmentStatus,
    },
    #[error("转办任务尚无审核通过的反馈:请先提交反馈并经单位负责人审核通过")]
    NoApprovedReply,

    // Replies.
    #[error("反馈 {0} 仍在等待单位负责人审核")]
    ReplyAwaitingApproval(ReplyId),
    #[error("反馈 {0} 已存在")]
    ReplyExists(ReplyId),
    #[error("反馈 {reply_id} {status},已不在待审核状态")]
    ReplyNotAwaitingApproval {
        reply_id: ReplyId,
        status: ReplyStatus,
    },

    // Rectification.
    #[error("承诺办结日期 {0} 已过")]
    PromisedDateInPast(NaiveDate),
    #[error("已有承诺的整改尚未完成")]
    RectificationAlreadyPromised,
    #[error("整改已完成")]
    RectificationAlreadyCompleted,
    #[error("本转办任务没有承诺整改")]
    NoRectificationPromised,
    #[error("承诺的整改尚未完成")]
    RectificationNotCompleted,

    // Leaders.
    #[error("抄告单 {0} 已存在")]
    MemoExists(MemoId),
    #[error("抄告单 {0} 已有批示")]
    MemoAlreadyInstructed(MemoId),
    #[error("批示的办理时限必须晚于现在")]
    InstructionDeadlineNotInFuture,
    #[error("{0};请先加载该年度的节假日安排")]
    CalendarUnknown(UnknownYear),

    // Deadlines (written by the system).
    #[error("时限 {0} 已了结")]
    DeadlineSettled(String),
    #[error("时限 {0} 已记录为超期")]
    DeadlineAlreadyMissed(String),
    #[error("时限 {0} 尚未到期")]
    DeadlineNotPassed(String),
    #[error("时限 {0} 已有临近提醒")]
    DeadlineAlreadyWarned(String),
    #[error("时限 {0} 不在提醒时段内")]
    DeadlineNotInWarningWindow(String),
    #[error("时限 {0} 不是暂定时限,无需重算")]
    DeadlineNotProvisional(String),

    // Supervision.
    #[error("单位 {0} 在本事项没有未办结的转办任务,无需催办")]
    NothingToUrge(UnitId),

    // Rumours.
    #[error("{0}不是公安机关;谣言须移交公安机关")]
    NotAPoliceUnit(String),
    #[error("移交 {0} 已存在")]
    ReferralExists(ReferralId),
    #[error("本事项的移交公安仍在等待批准或处理结果")]
    ReferralPending,
    #[error("移交 {0} 已批准")]
    ReferralAlreadyApproved(ReferralId),
    #[error("移交公安须由另一名研判人员批准,不能由提请人本人批准(双人复核)")]
    FourEyes,
    #[error("移交 {0} 尚未经另一名研判人员批准")]
    ReferralNotApproved(ReferralId),
    #[error("移交 {0} 已有处理结果")]
    ReferralHasOutcome(ReferralId),
    #[error("公安机关认定{0}:没有需要辟谣的谣言")]
    NothingToRebut(ReferralOutcome),
    #[error("公安机关确认为谣言后才能辟谣")]
    RumourNotConfirmed,
    #[error("移交 {0} 已辟谣")]
    AlreadyRebutted(ReferralId),

    // Units.
    #[error("单位 {0} 已登记")]
    UnitAlreadyRegistered(UnitId),
    #[error("上级单位 {0} 已停用")]
    ParentDeactivated(UnitId),
    #[error("单位不能是自己的上级单位")]
    OwnParent,
    #[error("单位 {unit} 已名为{name}")]
    UnitAlreadyNamed { unit: UnitId, name: String },
    #[error("单位 {0} 已停用")]
    UnitAlreadyDeactivated(UnitId),

    // Assessment.
    #[error("期间 [{from}, {to}) 为空:结束日期须晚于开始日期")]
    EmptyPeriod { from: NaiveDate, to: NaiveDate },
    #[error("分值须在 0 到 {0} 之间")]
    PointsOutOfRange(u32),
    #[error("问责 {0} 已存在")]
    PenaltyExists(PenaltyId),
    #[error("问责 {0} 已撤销")]
    PenaltyAlreadyRevoked(PenaltyId),
    #[error("表扬 {0} 已存在")]
    CommendationExists(CommendationId),
    #[error("问责移送 {0} 已存在")]
    AccountabilityExists(AccountabilityId),
    #[error("{0} 已记录处分决定")]
    DecisionAlreadyRecorded(AccountabilityId),
}

fn roles_zh(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|role| role.to_string())
        .collect::<Vec<_>>()
        .join("或")
}

impl Refusal {
    /// The stable code of this refusal (snake case), e.g. `four_eyes`.
    pub fn code(&self) -> &'static str {
        use Refusal as R;
        match self {
            R::RoleNotAllowed { .. } => "role_not_allowed",
            R::NotYourUnit { .. } => "not_your_unit",
            R::NotTheSupervisingUnit { .. } => "not_the_supervising_unit",
            R::NoAssignmentToRespondFor { .. } => "no_assignment_to_respond_for",
            R::NoSuchCase => "no_such_case",
            R::NoSuchAssignment(_) => "no_such_assignment",
            R::NoSuchReply(_) => "no_such_reply",
            R::NoSuchMemo(_) => "no_such_memo",
            R::NoSuchReferral(_) => "no_such_referral",
            R::NoSuchDeadline(_) => "no_such_deadline",
            R::NoSuchPost(_) => "no_such_post",
            R::UnitNotRegistered(_) => "unit_not_registered",
            R::CasesNotFound(_) => "cases_not_found",
            R::NoSuchErasure(_) => "no_such_erasure",
            R::PersonalDataAlreadyErased => "personal_data_already_erased",
            R::NoSuchPenalty { .. } => "no_such_penalty",
            R::CaseAlreadyExists(_) => "case_already_exists",
            R::PostAlreadyOnThisCase(_) => "post_already_on_this_case",
            R::PostOnAnotherCase { .. } => "post_on_another_case",
            R::CaseClosed(_) => "case_closed",
            R::NotTriaged(_) => "not_triaged",
            R::LevelChangeNeedsReason(_) => "level_change_needs_reason",
            R::AlreadyAtLevel(_) => "already_at_level",
            R::UnitDeactivated { .. } => "unit_deactivated",
            R::CaseNotClosed => "case_not_closed",
            R::MassIncidentAlreadyDeclared => "mass_incident_already_declared",
            R::AssignmentsStillOpen(_) => "assignments_still_open",
            R::AssignmentExists(_) => "assignment_exists",
            R::UnitHasOpenAssignment(_) => "unit_has_open_assignment",
            R::CaseHasLead(_) => "case_has_lead",
            R::NotAwaitingSignature { .. } => "not_awaiting_signature",
            R::NotReturned { .. } => "not_returned",
            R::AssignmentNotOpen { .. } => "assignment_not_open",
            R::NotYetAccepted(_) => "not_yet_accepted",
            R::AssignmentNotInHand { .. } => "assignment_not_in_hand",
            R::NoApprovedReply => "no_approved_reply",
            R::ReplyAwaitingApproval(_) => "reply_awaiting_approval",
            R::ReplyExists(_) => "reply_exists",
            R::ReplyNotAwaitingApproval { .. } => "reply_not_awaiting_approval",
            R::PromisedDateInPast(_) => "promised_date_in_past",
            R::RectificationAlreadyPromised => "rectification_already_promised",
            R::RectificationAlreadyCompleted => "rectification_already_completed",
            R::NoRectificationPromised => "no_rectification_promised",
            R::RectificationNotCompleted => "rectification_not_completed",
            R::MemoExists(_) => "memo_exists",
            R::MemoAlreadyInstructed(_) => "memo_already_instructed",
            R::InstructionDeadlineNotInFuture => "instruction_deadline_not_in_future",
            R::CalendarUnknown(_) => "calendar_unknown",
            R::DeadlineSettled(_) => "deadline_settled",
            R::DeadlineAlreadyMissed(_) => "deadline_already_missed",
            R::DeadlineNotPassed(_) => "deadline_not_passed",
            R::DeadlineAlreadyWarned(_) => "deadline_already_warned",
            R::DeadlineNotInWarningWindow(_) => "deadline_not_in_warning_window",
            R::DeadlineNotProvisional(_) => "deadline_not_provisional",
            R::NothingToUrge(_) => "nothing_to_urge",
            R::NotAPoliceUnit(_) => "not_a_police_unit",
            R::ReferralExists(_) => "referral_exists",
            R::ReferralPending => "referral_pending",
            R::ReferralAlreadyApproved(_) => "referral_already_approved",
            R::FourEyes => "four_eyes",
            R::ReferralNotApproved(_) => "referral_not_approved",
            R::ReferralHasOutcome(_) => "referral_has_outcome",
            R::NothingToRebut(_) => "nothing_to_rebut",
            R::RumourNotConfirmed => "rumour_not_confirmed",
            R::AlreadyRebutted(_) => "already_rebutted",
            R::UnitAlreadyRegistered(_) => "unit_already_registered",
            R::ParentDeactivated(_) => "parent_deactivated",
            R::OwnParent => "own_parent",
            R::UnitAlreadyNamed { .. } => "unit_already_named",
            R::UnitAlreadyDeactivated(_) => "unit_already_deactivated",
            R::EmptyPeriod { .. } => "empty_period",
            R::PointsOutOfRange(_) => "points_out_of_range",
            R::PenaltyExists(_) => "penalty_exists",
            R::PenaltyAlreadyRevoked(_) => "penalty_already_revoked",
            R::CommendationExists(_) => "commendation_exists",
            R::AccountabilityExists(_) => "accountability_exists",
            R::DecisionAlreadyRecorded(_) => "decision_already_recorded",
        }
    }

    /// Forbidden, not found, or not allowed by the state.
    pub fn kind(&self) -> RefusalKind {
        use Refusal as R;
        match self {
            R::RoleNotAllowed { .. }
            | R::NotYourUnit { .. }
            | R::NotTheSupervisingUnit { .. }
            | R::NoAssignmentToRespondFor { .. } => RefusalKind::Forbidden,
            R::NoSuchCase
            | R::NoSuchAssignment(_)
            | R::NoSuchReply(_)
            | R::NoSuchMemo(_)
            | R::NoSuchReferral(_)
            | R::NoSuchDeadline(_)
            | R::NoSuchPost(_)
            | R::UnitNotRegistered(_)
            | R::CasesNotFound(_)
            | R::NoSuchErasure(_)
            | R::NoSuchPenalty { .. } => RefusalKind::NotFound,
            _ => RefusalKind::Rule,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_speak_chinese_name_commands_by_their_label_and_keep_a_stable_code() {
        let refusal = Refusal::RoleNotAllowed {
            command: CommandKind::CloseCase,
            allowed: vec![Role::Dispatcher],
            role: Role::Officer,
        };
        assert_eq!(refusal.code(), "role_not_allowed");
        assert_eq!(refusal.kind(), RefusalKind::Forbidden);
        assert_eq!(
            refusal.to_string(),
            "「办结事项」需要研判转办角色;你的角色是经办人"
        );
        let two = Refusal::RoleNotAllowed {
            command: CommandKind::ApplyPenalty,
            allowed: vec![Role::Evaluator, Role::Inspector],
            role: Role::Monitor,
        };
        assert!(two.to_string().contains("考核办或纪检监察"), "{two}");
        assert_eq!(Refusal::FourEyes.kind(), RefusalKind::Rule);
        assert_eq!(Refusal::NoSuchCase.kind(), RefusalKind::NotFound);
        assert!(!Refusal::FourEyes.to_string().is_ascii());
    }
}
