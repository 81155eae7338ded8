//! The domain's closed vocabularies, each value with its stable key (the wire contract)
//! and its Chinese label for people: levels, key categories, platforms, findings, and so
//! on. Keys never change once published; labels may be refined.

use crate::error::ParseError;
#[cfg(test)]
use serde::Serialize;

/// Every vocabulary offers its values, their keys and their Chinese labels.
pub trait Vocabulary: Sized + Copy + 'static {
    /// The vocabulary's name on the wire, e.g. `Level`.
    const NAME: &'static str;
    const ALL: &'static [Self];
    fn key(self) -> &'static str;
    fn label_zh(self) -> &'static str;
    fn parse_key(raw: &str) -> Result<Self, ParseError> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.key() == raw)
            .ok_or_else(|| {
                let keys: Vec<_> = Self::ALL.iter().map(|v| v.key()).collect();
                ParseError::new(
                    Self::NAME,
                    format!("`{raw}` is not one of {}", keys.join(", ")),
                )
            })
    }
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $key:literal : $label:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $key)] $variant),+
        }

        impl $crate::vocabulary::Vocabulary for $name {
            const NAME: &'static str = stringify!($name);
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn key(self) -> &'static str {
                match self { $(Self::$variant => $key),+ }
            }
            fn label_zh(self) -> &'static str {
                match self { $(Self::$variant => $label),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label_zh())
            }
        }
    };
}

vocabulary!(
    /// 舆情等级.
    Level {
        General = "general": "一般",
        Significant = "significant": "较大",
        Major = "major": "重大",
        Extraordinary = "extraordinary": "特别重大",
    }
);

impl Level {
    /// 重大 and 特别重大: the levels with 24 h feedback and the −5 lead deduction.
    pub fn is_major_or_above(self) -> bool {
        matches!(self, Level::Major | Level::Extraordinary)
    }
}

vocabulary!(
    /// 需重点回应的五类 (the State Council notice, docs/domain/sources.md).
    KeyCategory {
        PolicyMisread = "policy_misread": "重大政策误解误读",
        PublicInterest = "public_interest": "涉及公众切身利益且产生较大影响",
        MoralBottomLine = "moral_bottom_line": "冲击道德底线",
        EmergencyOrDisaster = "emergency_or_disaster": "突发事件或自然灾害",
        SuperiorRequiresResponse = "superior_requires_response": "上级要求回应",
    }
);

vocabulary!(
    /// The platform a post appeared on.
    Platform {
        Weibo = "weibo": "微博",
        Wechat = "wechat": "微信",
        Douyin = "douyin": "抖音",
        Kuaishou = "kuaishou": "快手",
        Toutiao = "toutiao": "今日头条",
        Forum = "forum": "论坛/贴吧",
        NewsSite = "news_site": "新闻网站",
        Hotline12345 = "hotline_12345": "12345热线",
        LeaderMailbox = "leader_mailbox": "领导信箱",
        Other = "other": "其他",
    }
);

vocabulary!(
    /// Status of a case as a whole.
    CaseStatus {
        Flagged = "flagged": "待研判",
        Triaged = "triaged": "已研判",
        Assigned = "assigned": "已转办",
        Handling = "handling": "办理中",
        Closed = "closed": "已办结",
    }
);

vocabulary!(
    /// A unit's part in a case.
    AssignmentRole {
        Lead = "lead": "牵头",
        CoHandler = "co_handler": "协办",
    }
);

vocabulary!(
    /// Status of one assignment.
    AssignmentStatus {
        AwaitingSignature = "awaiting_signature": "待签收",
        Accepted = "accepted": "办理中",
        Returned = "returned": "已退回待审核",
        ReturnAccepted = "return_accepted": "退回已同意",
        Withdrawn = "withdrawn": "已撤回",
        Completed = "completed": "已办结",
    }
);

impl AssignmentStatus {
    /// Still in the unit's hands or waiting for the dispatcher: not finished.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            AssignmentStatus::AwaitingSignature
                | AssignmentStatus::Accepted
                | AssignmentStatus::Returned
        )
    }
}

vocabulary!(
    /// Outcome of verification (核查).
    Finding {
        True = "true": "属实",
        PartlyTrue = "partly_true": "部分属实",
        NotTrue = "not_true": "不属实",
    }
);

vocabulary!(
    /// Where the state of a reply stands.
    ReplyStatus {
        Submitted = "submitted": "待审核",
        Approved = "approved": "已审核通过",
        SentBack = "sent_back": "已退回修改",
    }
);

vocabulary!(
    /// Channels of a public response (公开回应).
    ResponseChannel {
        AuthoritativeRelease = "authoritative_release": "权威发布",
        PressConference = "press_conference": "新闻发布会",
        Briefing = "briefing": "吹风会",
        MediaInterview = "media_interview": "接受媒体采访",
        OfficialAccount = "official_account": "政务新媒体发布",
        ForumReply = "forum_reply": "网上回帖",
    }
);

vocabulary!(
    /// Outcome of a rumour referral as recorded by the police.
    ReferralOutcome {
        ConfirmedRumour = "confirmed_rumour": "确认为谣言",
        NotARumour = "not_a_rumour": "不构成谣言",
        InsufficientEvidence = "insufficient_evidence": "证据不足",
    }
);

vocabulary!(
    /// Sentiment seen by follow-up monitoring.
    FollowUpSentiment {
        Calmed = "calmed": "已平息",
        Steady = "steady": "持续关注",
        ReFlaring = "re_flaring": "再次升温",
    }
);

vocabulary!(
    /// Kinds of penalty (问责方式).
    PenaltyKind {
        PointDeduction = "point_deduction": "扣分",
        PublicCriticism = "public_criticism": "通报批评",
        Interview = "interview": "约谈",
        Accountability = "accountability": "追究责任",
        OneVoteVeto = "one_vote_veto": "一票否决",
    }
);

vocabulary!(
    /// Kinds of unit.
    UnitKind {
        CyberspaceOffice = "cyberspace_office": "网信办",
        Department = "department": "职能部门",
        TownshipOrStreet = "township_or_street": "乡镇街道",
        District = "district": "区县",
        Police = "police": "公安机关",
        SupervisionOffice = "supervision_office": "督查室",
        AssessmentOffice = "assessment_office": "考核办",
        DisciplineCommission = "discipline_commission": "纪检监察机关",
        Leadership = "leadership": "领导机关",
    }
);

vocabulary!(
    /// Kinds of deadline a case can carry.
    DeadlineKind {
        Feedback = "feedback": "反馈时限",
        PublicResponse = "public_response": "公开回应时限",
        LeaderInstruction = "leader_instruction": "批示办理时限",
        Rectification = "rectification": "整改承诺时限",
    }
);

vocabulary!(
    /// Annual assessment grade.
    Grade {
        Excellent = "excellent": "优秀",
        Good = "good": "良好",
        Pass = "pass": "合格",
        Fail = "fail": "不合格",
    }
);

vocabulary!(
    /// The assessment rule behind a deduction or addition.
    AssessmentRule {
        MissedDeadline = "missed_deadline": "未按时反馈(超期)",
        RejectedReturn = "rejected_return": "推诿扯皮(退回被驳回)",
        MajorCaseLead = "major_case_lead": "牵头处置重大及以上舆情",
        Penalty = "penalty": "问责扣分",
        Commendation = "commendation": "表扬加分",
        MassIncident = "mass_incident": "引发群体性事件(一票否决)",
        OneVoteVetoPenalty = "one_vote_veto_penalty": "一票否决",
    }
);

vocabulary!(
    /// What counts against (or for) a unit on a case: the facts the scorecards count and
    /// the annual assessment scores, one per event that caused it.
    IncidentKind {
        DeadlineMissed = "deadline_missed": "超期未反馈",
        ReturnRejected = "return_rejected": "退回被驳回(推诿扯皮)",
        SupervisionUrged = "supervision_urged": "被督办催办",
        MajorLead = "major_lead": "牵头处置重大及以上舆情",
        MassIncident = "mass_incident": "引发群体性事件",
    }
);

vocabulary!(
    /// An entry of the annual assessment recorded by an evaluator.
    AssessmentEntryKind {
        Penalty = "penalty": "问责扣分",
        Commendation = "commendation": "表扬加分",
    }
);

vocabulary!(
    /// What a command does, in the domain's words: the key is stable (logs, metrics,
    /// refusals, the command record), the label is what people read.
    CommandKind {
        FlagPost = "flag_post": "吹哨(标记帖文)",
        AttachPost = "attach_post": "追加帖文",
        RecordHeat = "record_heat": "记录热度",
        RecordFollowUp = "record_follow_up": "记录跟踪监测",
        TriageCase = "triage_case": "研判",
        ChangeCaseLevel = "change_case_level": "变更舆情等级",
        AssignCase = "assign_case": "转办",
        AcceptAssignment = "accept_assignment": "签收",
        ReturnAssignment = "return_assignment": "退回",
        AcceptReturn = "accept_return": "同意退回",
        RejectReturn = "reject_return": "驳回退回",
        WithdrawAssignment = "withdraw_assignment": "撤回转办",
        VerifyFacts = "verify_facts": "核查",
        SubmitReply = "submit_reply": "提交反馈",
        ApproveReply = "approve_reply": "审核通过反馈",
        SendBackReply = "send_back_reply": "退回反馈修改",
        PublishResponse = "publish_response": "公开回应",
        PromiseRectification = "promise_rectification": "承诺整改",
        CompleteRectification = "complete_rectification": "完成整改",
        CompleteAssignment = "complete_assignment": "办结转办任务",
        SendMemo = "send_memo": "呈报抄告单",
        InstructOnMemo = "instruct_on_memo": "领导批示",
        RecordDeadlineApproaching = "record_deadline_approaching": "记录时限临近",
        RecordDeadlineMissed = "record_deadline_missed": "记录超期",
        RecomputeProvisionalDeadline = "recompute_provisional_deadline": "按节假日安排重算暂定时限",
        UrgeSupervision = "urge_supervision": "督办催办",
        ProposeRumourReferral = "propose_rumour_referral": "提请移交公安",
        ApproveRumourReferral = "approve_rumour_referral": "批准移交公安",
        RecordReferralOutcome = "record_referral_outcome": "记录公安处理结果",
        RebutRumour = "rebut_rumour": "辟谣",
        CloseCase = "close_case": "办结事项",
        ReopenCase = "reopen_case": "重新启动事项",
        DeclareMassIncident = "declare_mass_incident": "认定群体性事件",
        RegisterUnit = "register_unit": "登记单位",
        RenameUnit = "rename_unit": "单位更名",
        DeactivateUnit = "deactivate_unit": "停用单位",
        ApplyPenalty = "apply_penalty": "问责扣分",
        RevokePenalty = "revoke_penalty": "撤销问责",
        AwardCommendation = "award_commendation": "表扬加分",
        ReferAccountability = "refer_accountability": "移送问责",
        RecordDisciplinaryDecision = "record_disciplinary_decision": "记录处分决定",
        RecordPersonalDataView = "record_personal_data_view": "记录查看个人信息",
        ProposePersonalDataErasure = "propose_personal_data_erasure": "提请删除个人信息",
        ApprovePersonalDataErasure = "approve_personal_data_erasure": "批准删除个人信息",
        ErasePersonalDataAfterRetention = "erase_personal_data_after_retention": "保存期满删除个人信息",
    }
);

/// Defines [`crate::actor::Role`] with the same macro as the other vocabularies.
macro_rules! vocabulary_role {
    () => {
        $crate::vocabulary::vocabulary_macro!(
            /// The roles of docs/domain/people.md, plus `System` for the service's own events.
            Role {
                Monitor = "monitor": "监测员",
                Dispatcher = "dispatcher": "研判转办",
                Officer = "officer": "经办人",
                UnitHead = "unit_head": "单位负责人",
                Leader = "leader": "领导",
                Supervisor = "supervisor": "督办",
                Police = "police": "公安/网安",
                Evaluator = "evaluator": "考核办",
                Inspector = "inspector": "纪检监察",
                Admin = "admin": "系统管理员",
                System = "system": "系统",
            }
        );

        impl Role {
            /// Parse a role that can be given to a person (every role but `system`).
            pub fn parse_person_role(raw: &str) -> Result<Self, ParseError> {
                use $crate::vocabulary::Vocabulary;
                match Self::parse_key(raw)? {
                    Role::System => Err(ParseError::new("role", "the system role cannot be given to a person")),
                    role => Ok(role),
                }
            }
        }
    };
}
pub(crate) use vocabulary as vocabulary_macro;
pub(crate) use vocabulary_role;

#[cfg(test)]
mod tests {
    use super::*;

    fn check_vocabulary<V: Vocabulary + std::fmt::Debug + PartialEq + Serialize>() {
        let mut keys = std::collections::HashSet::new();
        for value in V::ALL {
            assert!(
                keys.insert(value.key()),
                "{} key {} twice",
                V::NAME,
                value.key()
            );
            assert!(!value.label_zh().is_empty());
            assert_eq!(V::parse_key(value.key()).unwrap(), *value);
            assert_eq!(
                serde_json::to_value(value).unwrap(),
                serde_json::json!(value.key())
            );
        }
        assert!(V::parse_key("no-such-key").is_err());
    }

    #[test]
    fn every_vocabulary_has_unique_keys_labels_and_round_trips() {
        check_vocabulary::<Level>();
        check_vocabulary::<KeyCategory>();
        check_vocabulary::<Platform>();
        check_vocabulary::<CaseStatus>();
        check_vocabulary::<AssignmentRole>();
        check_vocabulary::<AssignmentStatus>();
        check_vocabulary::<Finding>();
        check_vocabulary::<ReplyStatus>();
        check_vocabulary::<ResponseChannel>();
        check_vocabulary::<ReferralOutcome>();
        check_vocabulary::<FollowUpSentiment>();
        check_vocabulary::<PenaltyKind>();
        check_vocabulary::<UnitKind>();
        check_vocabulary::<DeadlineKind>();
        check_vocabulary::<Grade>();
        check_vocabulary::<AssessmentRule>();
        check_vocabulary::<IncidentKind>();
        check_vocabulary::<AssessmentEntryKind>();
        check_vocabulary::<CommandKind>();
    }

    #[test]
    fn labels_are_the_domain_words() {
        assert_eq!(Level::Extraordinary.label_zh(), "特别重大");
        assert_eq!(Platform::Hotline12345.label_zh(), "12345热线");
        assert_eq!(PenaltyKind::OneVoteVeto.label_zh(), "一票否决");
    }
}
