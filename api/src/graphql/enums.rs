//! The domain's vocabularies as GraphQL enums (stable value names), plus the
//! `vocabularies` listing that gives frontends every value's Chinese label.

use async_graphql::{Enum, SimpleObject};
use whistle_domain::Vocabulary;

macro_rules! graphql_enum {
    ($name:ident, $remote:literal, [$($variant:ident),+ $(,)?]) => {
        #[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
        #[graphql(remote = $remote)]
        pub enum $name { $($variant),+ }
    };
}

graphql_enum!(
    Level,
    "whistle_domain::Level",
    [General, Significant, Major, Extraordinary]
);
graphql_enum!(
    KeyCategory,
    "whistle_domain::KeyCategory",
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
    [Flagged, Triaged, Assigned, Handling, Closed]
);
graphql_enum!(
    AssignmentRole,
    "whistle_domain::AssignmentRole",
    [Lead, CoHandler]
);
graphql_enum!(
    AssignmentStatus,
    "whistle_domain::AssignmentStatus",
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
    [True, PartlyTrue, NotTrue]
);
graphql_enum!(
    ReplyStatus,
    "whistle_domain::ReplyStatus",
    [Submitted, Approved, SentBack]
);
graphql_enum!(
    ResponseChannel,
    "whistle_domain::ResponseChannel",
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
    [ConfirmedRumour, NotARumour, InsufficientEvidence]
);
graphql_enum!(
    FollowUpSentiment,
    "whistle_domain::FollowUpSentiment",
    [Calmed, Steady, ReFlaring]
);
graphql_enum!(
    PenaltyKind,
    "whistle_domain::PenaltyKind",
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
    [Feedback, PublicResponse, LeaderInstruction, Rectification]
);
graphql_enum!(
    Role,
    "whistle_domain::Role",
    [
        Monitor, Dispatcher, Officer, UnitHead, Leader, Supervisor, Police, Evaluator, Inspector,
        Admin, System
    ]
);

/// One value of a vocabulary: its GraphQL name, its stable key in stored events, and
/// its Chinese label.
#[derive(SimpleObject, Clone, Debug)]
pub struct VocabularyValue {
    pub value: String,
    pub key: String,
    pub label: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct VocabularyListing {
    /// The GraphQL enum's name, e.g. `Level`.
    pub name: String,
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
