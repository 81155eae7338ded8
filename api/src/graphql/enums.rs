//! The domain's vocabularies as GraphQL enums (stable value names), plus the
//! `vocabularies` listing that gives frontends every value's Chinese label.

use async_graphql::{Enum, SimpleObject};
use whistle_domain::Vocabulary;

macro_rules! graphql_enum {
    ($name:ident, $remote:literal, $doc:literal, [$($variant:ident),+ $(,)?]) => {
        #[doc = $doc]
        #[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
        #[graphql(remote = $remote)]
        pub enum $name { $($variant),+ }
    };
}

graphql_enum!(
    Level,
    "whistle_domain::Level",
    "A case's level (事项等级): 一般, 较大, 重大, 特别重大. It sets the feedback deadlines and who supervises.",
    [General, Significant, Major, Extraordinary]
);
graphql_enum!(
    KeyCategory,
    "whistle_domain::KeyCategory",
    "A key category (重点类别) of a case: policy misread, public interest, moral bottom line, emergency or disaster, superior requires a response.",
    [
        PolicyMisread,
        PublicInterest,
        MoralBottomLine,
        EmergencyOrDisaster,
        SuperiorRequiresResponse
    ]
);
graphql_enum!(
    Platform,
    "whistle_domain::Platform",
    "Where a post was published: Weibo, WeChat, Douyin, Kuaishou, Toutiao, forums, news sites, the 12345 hotline, the leader's mailbox, other.",
    [
        Weibo,
        Wechat,
        Douyin,
        Kuaishou,
        Toutiao,
        Forum,
        NewsSite,
        Hotline12345,
        LeaderMailbox,
        Other
    ]
);
graphql_enum!(
    CaseStatus,
    "whistle_domain::CaseStatus",
    "Where a case stands: flagged (已吹哨), triaged (已研判), assigned (已转办), handling (办理中), closed (已办结).",
    [Flagged, Triaged, Assigned, Handling, Closed]
);
graphql_enum!(
    AssignmentRole,
    "whistle_domain::AssignmentRole",
    "A unit's part in a case: lead (主办) or co-handler (协办).",
    [Lead, CoHandler]
);
graphql_enum!(
    AssignmentStatus,
    "whistle_domain::AssignmentStatus",
    "Where an assignment stands: awaiting signature (待签收), accepted (办理中), returned (已退回), return accepted, withdrawn, completed (已办结).",
    [
        AwaitingSignature,
        Accepted,
        Returned,
        ReturnAccepted,
        Withdrawn,
        Completed
    ]
);
graphql_enum!(
    Finding,
    "whistle_domain::Finding",
    "What verification (核查) found: true (属实), partly true (部分属实), not true (不属实).",
    [True, PartlyTrue, NotTrue]
);
graphql_enum!(
    ReplyStatus,
    "whistle_domain::ReplyStatus",
    "A reply's state: submitted for the unit head, approved (it counts as feedback), sent back for revision.",
    [Submitted, Approved, SentBack]
);
graphql_enum!(
    ResponseChannel,
    "whistle_domain::ResponseChannel",
    "Where a public response was published: an authoritative release, a press conference, a briefing, a media interview, an official account, a forum reply.",
    [
        AuthoritativeRelease,
        PressConference,
        Briefing,
        MediaInterview,
        OfficialAccount,
        ForumReply
    ]
);
graphql_enum!(
    ReferralOutcome,
    "whistle_domain::ReferralOutcome",
    "What the police concluded of a rumour referral: a confirmed rumour, not a rumour, insufficient evidence.",
    [ConfirmedRumour, NotARumour, InsufficientEvidence]
);
graphql_enum!(
    FollowUpSentiment,
    "whistle_domain::FollowUpSentiment",
    "How public opinion stands in follow-up monitoring: calmed, steady, re-flaring.",
    [Calmed, Steady, ReFlaring]
);
graphql_enum!(
    PenaltyKind,
    "whistle_domain::PenaltyKind",
    "A penalty (问责方式): point deduction, public criticism, interview (约谈), accountability, one-vote veto (一票否决).",
    [
        PointDeduction,
        PublicCriticism,
        Interview,
        Accountability,
        OneVoteVeto
    ]
);
graphql_enum!(
    UnitKind,
    "whistle_domain::UnitKind",
    "A kind of unit: the cyberspace office, a department, a township or street, a district, the police, the supervision office, the assessment office, the discipline commission, the leadership. It decides which roles its staff may hold.",
    [
        CyberspaceOffice,
        Department,
        TownshipOrStreet,
        District,
        Police,
        SupervisionOffice,
        AssessmentOffice,
        DisciplineCommission,
        Leadership
    ]
);
graphql_enum!(
    DeadlineKind,
    "whistle_domain::DeadlineKind",
    "A kind of deadline: feedback (反馈时限), public response, a leader's instruction, rectification.",
    [Feedback, PublicResponse, LeaderInstruction, Rectification]
);
graphql_enum!(
    Role,
    "whistle_domain::Role",
    "A person's role: monitor (监测员), dispatcher (研判员), officer (经办人), unit head, leader, supervisor, police, evaluator, inspector (纪检), administrator; `SYSTEM` is the service's own processes.",
    [
        Monitor, Dispatcher, Officer, UnitHead, Leader, Supervisor, Police, Evaluator, Inspector,
        Admin, System
    ]
);

/// One value of a vocabulary: its GraphQL name, its stable key in stored events, and
/// its Chinese label.
#[derive(SimpleObject, Clone, Debug)]
pub struct VocabularyValue {
    /// The value's GraphQL name, e.g. `SIGNIFICANT`.
    pub value: String,
    /// Its stable key in stored events, e.g. `significant`.
    pub key: String,
    /// Its Chinese label, e.g. 较大.
    pub label: String,
}

/// One vocabulary (a GraphQL enum) and its values with their Chinese labels.
#[derive(SimpleObject, Clone, Debug)]
pub struct VocabularyListing {
    /// The GraphQL enum's name, e.g. `Level`.
    pub name: String,
    /// Its values, in order.
    pub values: Vec<VocabularyValue>,
}

fn listing<G, D>() -> VocabularyListing
where
    G: async_graphql::EnumType + Copy + Into<D>,
    D: Vocabulary,
{
    VocabularyListing {
        name: D::NAME.to_owned(),
        values: G::items()
            .iter()
            .map(|item| {
                let domain: D = item.value.into();
                VocabularyValue {
                    value: item.name.to_owned(),
                    key: domain.key().to_owned(),
                    label: domain.label_zh().to_owned(),
                }
            })
            .collect(),
    }
}

pub fn all_vocabularies() -> Vec<VocabularyListing> {
    use whistle_domain as d;
    vec![
        listing::<Level, d::Level>(),
        listing::<KeyCategory, d::KeyCategory>(),
        listing::<Platform, d::Platform>(),
        listing::<CaseStatus, d::CaseStatus>(),
        listing::<AssignmentRole, d::AssignmentRole>(),
        listing::<AssignmentStatus, d::AssignmentStatus>(),
        listing::<Finding, d::Finding>(),
        listing::<ReplyStatus, d::ReplyStatus>(),
        listing::<ResponseChannel, d::ResponseChannel>(),
        listing::<ReferralOutcome, d::ReferralOutcome>(),
        listing::<FollowUpSentiment, d::FollowUpSentiment>(),
        listing::<PenaltyKind, d::PenaltyKind>(),
        listing::<UnitKind, d::UnitKind>(),
        listing::<DeadlineKind, d::DeadlineKind>(),
        listing::<Role, d::Role>(),
    ]
}
