//! GraphQL output types: read-model views converted at the edge, each enum with its
//! Chinese label beside it, and the case object whose details load on demand.

use async_graphql::connection::{Connection, Edge, EmptyFields, OpaqueCursor};
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Arc;
use whistle_domain::Vocabulary;

use sqlx::AnyPool;
use whistle_projections::queries as q;
use whistle_projections::replay::Replay;

use super::context::{actor, page_size, state};
use super::enums::*;
use super::errors::{ErrorCode, error, from_projection};

/// Where a command's events landed: read your own writes by passing `position` as
/// `waitForPosition` to any query.
#[derive(SimpleObject, Clone, Debug)]
pub struct CommandResult {
    /// Global position of the last event written (or first written, on a replay).
    pub position: i64,
    pub first_position: i64,
    pub stream_id: String,
    pub stream_version: i64,
    pub command_id: ID,
    /// True when this command id had been handled before: nothing new was written.
    pub replayed: bool,
    /// The case the command was about, when it was a case command.
    pub case_id: Option<ID>,
    /// The id of what the command created: an assignment, reply, memo, referral,
    /// penalty, commendation or accountability referral.
    pub created_id: Option<ID>,
}

/// A case (舆情事项) as the case board shows it.
/// A case as the live read models show it, or as a replay up to a past instant showed
/// it (`case(id, asOf:)`): every field below reads from the same source.
pub struct Case(pub q::CaseSummary, pub Option<Arc<Replay>>);

impl Case {
    pub fn live(summary: q::CaseSummary) -> Self {
        Case(summary, None)
    }

    fn pool<'a>(&'a self, ctx: &'a Context<'_>) -> Result<&'a AnyPool> {
        match &self.1 {
            Some(replay) => Ok(replay.pool()),
            None => Ok(state(ctx)?.pool()),
        }
    }
}

#[Object]
impl Case {
    async fn id(&self) -> ID {
        ID(self.0.case_id.to_string())
    }
    async fn status(&self) -> CaseStatus {
        self.0.status.into()
    }
    async fn status_label(&self) -> &'static str {
        self.0.status.label_zh()
    }
    async fn level(&self) -> Option<Level> {
        self.0.level.map(Into::into)
    }
    async fn level_label(&self) -> Option<&'static str> {
        self.0.level.map(|l| l.label_zh())
    }
    async fn categories(&self) -> Vec<KeyCategory> {
        self.0.categories.iter().map(|c| (*c).into()).collect()
    }
    async fn category_labels(&self) -> Vec<&'static str> {
        self.0.categories.iter().map(|c| c.label_zh()).collect()
    }
    async fn problem_class(&self) -> Option<&str> {
        self.0.problem_class.as_deref()
    }
    async fn jurisdiction_unit(&self) -> Option<&str> {
        self.0.jurisdiction_unit.as_deref()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn platform(&self) -> Platform {
        self.0.platform.into()
    }
    async fn platform_label(&self) -> &'static str {
        self.0.platform.label_zh()
    }
    async fn first_url(&self) -> &str {
        &self.0.first_url
    }
    async fn flagged_at(&self) -> DateTime<Utc> {
        self.0.flagged_at
    }
    async fn flagged_by(&self) -> &str {
        &self.0.flagged_by
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn lead_unit(&self) -> Option<&str> {
        self.0.lead_unit.as_deref()
    }
    async fn post_count(&self) -> i64 {
        self.0.post_count
    }
    async fn heat_total(&self) -> i64 {
        self.0.heat_total
    }
    async fn mass_incident(&self) -> bool {
        self.0.mass_incident
    }
    async fn reopen_count(&self) -> i64 {
        self.0.reopen_count
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    async fn outcome(&self) -> Option<&str> {
        self.0.outcome.as_deref()
    }
    async fn last_event_at(&self) -> DateTime<Utc> {
        self.0.last_event_at
    }
    /// Global position of the last event applied to this case's read model.
    async fn last_position(&self) -> i64 {
        self.0.last_position
    }
    async fn posts(&self, ctx: &Context<'_>) -> Result<Vec<Post>> {
        let views = q::posts_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(Post).collect())
    }
    async fn assignments(&self, ctx: &Context<'_>) -> Result<Vec<Assignment>> {
        let views = q::assignments_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(Assignment::from).collect())
    }
    async fn replies(&self, ctx: &Context<'_>) -> Result<Vec<Reply>> {
        let views = q::replies_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(Reply::from).collect())
    }
    async fn deadlines(&self, ctx: &Context<'_>) -> Result<Vec<Deadline>> {
        let views = q::deadlines_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(Deadline::from).collect())
    }
    async fn referrals(&self, ctx: &Context<'_>) -> Result<Vec<Referral>> {
        let views = q::referrals(self.pool(ctx)?, Some(self.0.case_id), None)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(Referral::from).collect())
    }
    async fn memos(&self, ctx: &Context<'_>) -> Result<Vec<Memo>> {
        let views = q::memos_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(Memo::from).collect())
    }
    async fn responses(&self, ctx: &Context<'_>) -> Result<Vec<PublicResponse>> {
        let views = q::responses_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(PublicResponse::from).collect())
    }
    async fn follow_ups(&self, ctx: &Context<'_>) -> Result<Vec<FollowUp>> {
        let views = q::follow_ups_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(FollowUp::from).collect())
    }
    /// The case's audit trail, oldest first.
    #[graphql(complexity = "(first.unwrap_or(50).clamp(1, 200) as usize) * child_complexity")]
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<OpaqueCursor<i64>, TimelineEntry, EmptyFields, EmptyFields>> {
        let filter = q::TimelineFilter {
            case_id: Some(self.0.case_id),
            ..Default::default()
        };
        timeline_connection_on(ctx, self.pool(ctx)?, &filter, first, after, "Case.timeline").await
    }
}

pub fn decode_cursor(after: Option<String>) -> Result<Option<i64>> {
    use async_graphql::connection::CursorType;
    after
        .map(|cursor| {
            OpaqueCursor::<i64>::decode_cursor(&cursor)
                .map(|c| c.0)
                .map_err(|_| {
                    error(
                        ErrorCode::Validation,
                        format!("`{cursor}` is not a cursor this list gave out"),
                    )
                })
        })
        .transpose()
}

pub async fn timeline_connection(
    ctx: &Context<'_>,
    filter: &q::TimelineFilter,
    first: Option<i32>,
    after: Option<String>,
    path: &'static str,
) -> Result<Connection<OpaqueCursor<i64>, TimelineEntry, EmptyFields, EmptyFields>> {
    timeline_connection_on(ctx, state(ctx)?.pool(), filter, first, after, path).await
}

/// A page of the audit trail from `pool`, each entry's raw payload passed through the
/// one redaction by the reader's role (a post author's identity is withheld from all
/// but the cyberspace office, the police and inspectors); what is shown is recorded as
/// a look through `path`.
pub async fn timeline_connection_on(
    ctx: &Context<'_>,
    pool: &AnyPool,
    filter: &q::TimelineFilter,
    first: Option<i32>,
    after: Option<String>,
    path: &'static str,
) -> Result<Connection<OpaqueCursor<i64>, TimelineEntry, EmptyFields, EmptyFields>> {
    let after = decode_cursor(after)?;
    let page = q::timeline(pool, filter, page_size(first)?, after)
        .await
        .map_err(from_projection)?;
    let reader = actor(ctx)?;
    let mut connection = Connection::new(after.is_some(), page.has_next_page);
    for mut entry in page.items {
        let shown =
            whistle_domain::access::redact_event_data(reader, &entry.event_type, &mut entry.data);
        if let Some(case_id) = entry
            .case_id
            .as_deref()
            .and_then(|c| whistle_domain::CaseId::parse(c).ok())
        {
            for field in shown {
                super::personal_data::record(ctx, reader, case_id, field, path);
            }
        }
        connection.edges.push(Edge::new(
            OpaqueCursor(entry.position),
            TimelineEntry::from(entry),
        ));
    }
    Ok(connection)
}

/// A post (帖文) on a case.
pub struct Post(pub q::PostView);

#[Object]
impl Post {
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn platform(&self) -> Platform {
        self.0.platform.into()
    }
    async fn platform_label(&self) -> &'static str {
        self.0.platform.label_zh()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn excerpt(&self) -> &str {
        &self.0.excerpt
    }
    async fn posted_at(&self) -> Option<DateTime<Utc>> {
        self.0.posted_at
    }
    /// The author's identity: visible to the cyberspace office (monitors, dispatchers),
    /// police and inspectors only (docs/domain/trust.md).
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        let reader = actor(ctx)?;
        if whistle_domain::access::may_see_post_authors(reader) {
            if self
                .0
                .author
                .as_deref()
                .is_some_and(|a| a != whistle_domain::access::ERASED)
            {
                super::personal_data::record(
                    ctx,
                    reader,
                    self.0.case_id,
                    "post.author",
                    "Post.author",
                );
            }
            Ok(self.0.author.as_deref())
        } else {
            Err(error(
                ErrorCode::Forbidden,
                "a post author's identity is visible to the cyberspace office, police and inspectors only",
            ))
        }
    }
    async fn views(&self) -> i64 {
        self.0.heat.views as i64
    }
    async fn reposts(&self) -> i64 {
        self.0.heat.reposts as i64
    }
    async fn comments(&self) -> i64 {
        self.0.heat.comments as i64
    }
    async fn likes(&self) -> i64 {
        self.0.heat.likes as i64
    }
    async fn heat_total(&self) -> i64 {
        self.0.heat.total() as i64
    }
    async fn attached_at(&self) -> DateTime<Utc> {
        self.0.attached_at
    }
    async fn heat_recorded_at(&self) -> DateTime<Utc> {
        self.0.heat_recorded_at
    }
}

/// An assignment (转办) of a case to a unit.
#[derive(SimpleObject, Clone, Debug)]
pub struct Assignment {
    pub id: ID,
    pub case_id: ID,
    pub case_title: String,
    pub case_level: Option<Level>,
    pub unit_id: String,
    pub unit_name: String,
    pub role: AssignmentRole,
    pub role_label: String,
    pub status: AssignmentStatus,
    pub status_label: String,
    pub instruction: Option<String>,
    pub assigned_at: DateTime<Utc>,
    /// The feedback deadline in force.
    pub deadline_at: DateTime<Utc>,
    /// The rule that set the deadline.
    pub deadline_rule: String,
    pub accepted_at: Option<DateTime<Utc>>,
    pub returned_reason: Option<String>,
    pub finding: Option<Finding>,
    pub finding_label: Option<String>,
    pub finding_summary: Option<String>,
    pub pending_reply_id: Option<ID>,
    pub first_approved_reply_at: Option<DateTime<Utc>>,
    pub rectification_due_date: Option<String>,
    pub rectification_measures: Option<String>,
    pub rectification_completed_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completion_summary: Option<String>,
    pub missed_deadlines: i64,
    pub rejected_returns: i64,
}

impl From<q::AssignmentView> for Assignment {
    fn from(v: q::AssignmentView) -> Self {
        Self {
            id: ID(v.assignment_id.to_string()),
            case_id: ID(v.case_id.to_string()),
            case_title: v.case_title,
            case_level: v.case_level.map(Into::into),
            unit_id: v.unit_id,
            unit_name: v.unit_name,
            role: v.role.into(),
            role_label: v.role.label_zh().to_owned(),
            status: v.status.into(),
            status_label: v.status.label_zh().to_owned(),
            instruction: v.instruction,
            assigned_at: v.assigned_at,
            deadline_at: v.deadline_at,
            deadline_rule: v.deadline_rule,
            accepted_at: v.accepted_at,
            returned_reason: v.returned_reason,
            finding: v.finding.map(Into::into),
            finding_label: v.finding.map(|f| f.label_zh().to_owned()),
            finding_summary: v.finding_summary,
            pending_reply_id: v.pending_reply_id.map(ID),
            first_approved_reply_at: v.first_approved_reply_at,
            rectification_due_date: v.rectification_due_date,
            rectification_measures: v.rectification_measures,
            rectification_completed_at: v.rectification_completed_at,
            completed_at: v.completed_at,
            completion_summary: v.completion_summary,
            missed_deadlines: v.missed_deadlines,
            rejected_returns: v.rejected_returns,
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Reply {
    pub id: ID,
    pub assignment_id: ID,
    pub unit_id: String,
    pub content: String,
    pub status: ReplyStatus,
    pub status_label: String,
    pub submitted_at: DateTime<Utc>,
    pub submitted_by: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
}

impl From<q::ReplyView> for Reply {
    fn from(v: q::ReplyView) -> Self {
        Self {
            id: ID(v.reply_id.to_string()),
            assignment_id: ID(v.assignment_id.to_string()),
            unit_id: v.unit_id,
            content: v.content,
            status: v.status.into(),
            status_label: v.status.label_zh().to_owned(),
            submitted_at: v.submitted_at,
            submitted_by: v.submitted_by,
            decided_at: v.decided_at,
            decided_by: v.decided_by,
            decision_note: v.decision_note,
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Deadline {
    pub case_id: ID,
    pub deadline_id: String,
    pub kind: DeadlineKind,
    pub kind_label: String,
    pub unit_id: Option<String>,
    pub assignment_id: Option<ID>,
    pub due_at: DateTime<Utc>,
    pub rule: String,
    /// Met or no longer applicable.
    pub settled: bool,
    pub approaching_at: Option<DateTime<Utc>>,
    pub missed_at: Option<DateTime<Utc>>,
}

impl From<q::DeadlineView> for Deadline {
    fn from(v: q::DeadlineView) -> Self {
        Self {
            case_id: ID(v.case_id.to_string()),
            deadline_id: v.deadline_id,
            kind: v.kind.into(),
            kind_label: v.kind.label_zh().to_owned(),
            unit_id: v.unit_id,
            assignment_id: v.assignment_id.map(ID),
            due_at: v.due_at,
            rule: v.rule,
            settled: v.settled,
            approaching_at: v.approaching_at,
            missed_at: v.missed_at,
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Referral {
    pub id: ID,
    pub case_id: ID,
    pub police_unit: String,
    pub legal_basis: String,
    pub evidence: String,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub outcome: Option<ReferralOutcome>,
    pub outcome_label: Option<String>,
    pub outcome_action: Option<String>,
    pub outcome_at: Option<DateTime<Utc>>,
    pub rebutted_at: Option<DateTime<Utc>>,
}

impl From<q::ReferralView> for Referral {
    fn from(v: q::ReferralView) -> Self {
        Self {
            id: ID(v.referral_id),
            case_id: ID(v.case_id.to_string()),
            police_unit: v.police_unit,
            legal_basis: v.legal_basis,
            evidence: v.evidence,
            proposed_by: v.proposed_by,
            proposed_at: v.proposed_at,
            approved_by: v.approved_by,
            approved_at: v.approved_at,
            outcome: v.outcome.map(Into::into),
            outcome_label: v.outcome.map(|o| o.label_zh().to_owned()),
            outcome_action: v.outcome_action,
            outcome_at: v.outcome_at,
            rebutted_at: v.rebutted_at,
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Memo {
    pub id: ID,
    pub summary: String,
    pub sent_at: DateTime<Utc>,
    pub sent_by: String,
    pub instruction: Option<String>,
    pub instructed_by: Option<String>,
    pub instructed_at: Option<DateTime<Utc>>,
    pub deadline_at: Option<DateTime<Utc>>,
}

impl From<q::MemoView> for Memo {
    fn from(v: q::MemoView) -> Self {
        Self {
            id: ID(v.memo_id),
            summary: v.summary,
            sent_at: v.sent_at,
            sent_by: v.sent_by,
            instruction: v.instruction,
            instructed_by: v.instructed_by,
            instructed_at: v.instructed_at,
            deadline_at: v.deadline_at,
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct PublicResponse {
    /// `public_response` or `rumour_rebuttal`.
    pub kind: String,
    pub channel: ResponseChannel,
    pub channel_label: String,
    pub content: String,
    pub url: Option<String>,
    pub published_at: DateTime<Utc>,
    pub actor_name: String,
}

impl From<q::ResponseView> for PublicResponse {
    fn from(v: q::ResponseView) -> Self {
        Self {
            kind: v.kind,
            channel: v.channel.into(),
            channel_label: v.channel.label_zh().to_owned(),
            content: v.content,
            url: v.url,
            published_at: v.published_at,
            actor_name: v.actor_name,
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct FollowUp {
    pub observation: String,
    pub sentiment: FollowUpSentiment,
    pub sentiment_label: String,
    pub recorded_at: DateTime<Utc>,
    pub actor_name: String,
}

impl From<q::FollowUpView> for FollowUp {
    fn from(v: q::FollowUpView) -> Self {
        Self {
            observation: v.observation,
            sentiment: v.sentiment.into(),
            sentiment_label: v.sentiment.label_zh().to_owned(),
            recorded_at: v.recorded_at,
            actor_name: v.actor_name,
        }
    }
}

/// One entry of the accountability audit trail: who, when, what.
#[derive(SimpleObject, Clone, Debug)]
pub struct TimelineEntry {
    pub position: i64,
    pub event_id: ID,
    pub stream_id: String,
    pub case_id: Option<ID>,
    pub event_type: String,
    pub recorded_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_role: Role,
    pub actor_role_label: String,
    pub actor_unit: String,
    /// The unit's name when the event happened.
    pub actor_unit_name: String,
    /// What happened, as a Chinese sentence.
    pub summary: String,
    /// The event's structured payload.
    pub data: async_graphql::Json<serde_json::Value>,
}

impl From<q::TimelineEntry> for TimelineEntry {
    fn from(v: q::TimelineEntry) -> Self {
        Self {
            position: v.position,
            event_id: ID(v.event_id),
            stream_id: v.stream_id,
            case_id: v.case_id.map(ID),
            event_type: v.event_type,
            recorded_at: v.recorded_at,
            actor_id: v.actor_id,
            actor_name: v.actor_name,
            actor_role: v.actor_role.into(),
            actor_role_label: v.actor_role.label_zh().to_owned(),
            actor_unit: v.actor_unit,
            actor_unit_name: v.actor_unit_name,
            summary: v.summary_zh,
            data: async_graphql::Json(v.data),
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Unit {
    pub id: String,
    pub name: String,
    pub kind: UnitKind,
    pub kind_label: String,
    pub parent_id: Option<String>,
    pub jurisdiction: Option<String>,
    pub active: bool,
}

impl From<q::UnitView> for Unit {
    fn from(v: q::UnitView) -> Self {
        Self {
            id: v.unit_id,
            name: v.name,
            kind: v.kind.into(),
            kind_label: v.kind.label_zh().to_owned(),
            parent_id: v.parent_id,
            jurisdiction: v.jurisdiction,
            active: v.active,
        }
    }
}

/// A count under a key; `label` is the key's Chinese label when the key is a vocabulary
/// value or a unit.
#[derive(SimpleObject, Clone, Debug)]
pub struct Count {
    pub key: String,
    pub label: String,
    pub count: i64,
}

fn counts_with<V: Vocabulary>(counts: Vec<q::Count>) -> Vec<Count> {
    counts
        .into_iter()
        .map(|c| {
            let label = V::parse_key(&c.key)
                .map(|v| v.label_zh().to_owned())
                .unwrap_or_else(|_| match c.key.as_str() {
                    "untriaged" => "未研判".to_owned(),
                    other => other.to_owned(),
                });
            Count {
                key: c.key,
                label,
                count: c.count,
            }
        })
        .collect()
}

fn counts_plain(
    counts: Vec<q::Count>,
    names: &std::collections::HashMap<String, String>,
) -> Vec<Count> {
    counts
        .into_iter()
        .map(|c| Count {
            label: names.get(&c.key).cloned().unwrap_or_else(|| c.key.clone()),
            key: c.key,
            count: c.count,
        })
        .collect()
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Dashboard {
    pub as_of: DateTime<Utc>,
    pub total_cases: i64,
    pub open_cases: i64,
    /// Open deadlines falling due in the next 24 hours.
    #[graphql(name = "dueWithin24h")]
    pub due_within_24h: i64,
    /// Open deadlines already past due.
    pub overdue: i64,
    pub by_status: Vec<Count>,
    pub by_level: Vec<Count>,
    pub by_lead_unit: Vec<Count>,
    pub by_platform: Vec<Count>,
    pub by_category: Vec<Count>,
    pub by_problem_class: Vec<Count>,
    /// New flags per Asia/Shanghai day.
    pub flags_per_day: Vec<Count>,
}

impl Dashboard {
    pub fn build(
        as_of: DateTime<Utc>,
        d: q::Dashboard,
        unit_names: &std::collections::HashMap<String, String>,
    ) -> Self {
        let no_names = std::collections::HashMap::new();
        Self {
            as_of,
            total_cases: d.total_cases,
            open_cases: d.open_cases,
            due_within_24h: d.due_within_24h,
            overdue: d.overdue,
            by_status: counts_with::<whistle_domain::CaseStatus>(d.by_status),
            by_level: counts_with::<whistle_domain::Level>(d.by_level),
            by_lead_unit: counts_plain(d.by_lead_unit, unit_names),
            by_platform: counts_with::<whistle_domain::Platform>(d.by_platform),
            by_category: counts_with::<whistle_domain::KeyCategory>(d.by_category),
            by_problem_class: counts_plain(d.by_problem_class, &no_names),
            flags_per_day: counts_plain(d.flags_per_day, &no_names),
        }
    }
}

/// A unit's measures (docs/domain/measures.md) for a period, as of an instant.
#[derive(SimpleObject, Clone, Debug)]
pub struct Scorecard {
    pub unit_id: String,
    pub unit_name: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub as_of: DateTime<Utc>,
    pub counted_assignments: i64,
    pub with_feedback: i64,
    pub on_time_feedback: i64,
    pub completed: i64,
    /// 反馈率 (0..1); null when nothing was assigned.
    pub feedback_rate: Option<f64>,
    /// 按时反馈率 (0..1).
    pub on_time_rate: Option<f64>,
    /// 办结率 (0..1).
    pub completion_rate: Option<f64>,
    /// 首次响应时长 median, hours.
    pub first_response_median_hours: Option<f64>,
    /// 首次响应时长 mean, hours.
    pub first_response_mean_hours: Option<f64>,
    pub overdue_count: i64,
    /// Rejected returns (推诿).
    pub buck_passing_count: i64,
    pub urging_count: i64,
}

impl From<q::Scorecard> for Scorecard {
    fn from(v: q::Scorecard) -> Self {
        Self {
            unit_id: v.unit_id,
            unit_name: v.unit_name,
            period_from: v.period_from,
            period_to: v.period_to,
            as_of: v.as_of,
            counted_assignments: v.counted_assignments,
            with_feedback: v.with_feedback,
            on_time_feedback: v.on_time_feedback,
            completed: v.completed,
            feedback_rate: v.feedback_rate,
            on_time_rate: v.on_time_rate,
            completion_rate: v.completion_rate,
            first_response_median_hours: v.first_response_median_hours,
            first_response_mean_hours: v.first_response_mean_hours,
            overdue_count: v.overdue_count,
            buck_passing_count: v.buck_passing_count,
            urging_count: v.urging_count,
        }
    }
}

/// The person the token belongs to.
#[derive(SimpleObject, Clone, Debug)]
pub struct Me {
    pub user_id: String,
    pub name: String,
    pub role: Role,
    pub role_label: String,
    pub unit_id: String,
    pub may_see_post_authors: bool,
}

/// An event as the subscription delivers it.
#[derive(SimpleObject, Clone, Debug)]
pub struct EventNotice {
    pub position: i64,
    pub event_id: ID,
    pub stream_id: String,
    pub case_id: Option<ID>,
    pub event_type: String,
    pub recorded_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_role: Role,
    pub actor_unit: String,
}

/// One deduction or addition, with its rule, its points and the event behind it.
#[derive(SimpleObject, Clone, Debug)]
pub struct AssessmentItem {
    pub rule: String,
    pub rule_label: String,
    /// Negative deducts, positive adds.
    pub points: i64,
    pub position: i64,
    pub event_id: Option<ID>,
    pub case_id: Option<ID>,
    pub recorded_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// A unit's annual assessment: score, rank, grade, veto, and every deduction and
/// addition explained by its events.
#[derive(SimpleObject, Clone, Debug)]
pub struct UnitAssessment {
    pub unit_id: String,
    pub unit_name: String,
    pub year: i32,
    /// The version of the assessment rules used.
    pub rules_version: String,
    pub as_of: DateTime<Utc>,
    pub score: i64,
    pub rank: i64,
    pub grade: String,
    pub grade_label: String,
    /// One-vote veto (一票否决): graded 不合格 whatever the points.
    pub veto: bool,
    pub deductions: Vec<AssessmentItem>,
    pub additions: Vec<AssessmentItem>,
}

impl From<q::UnitAssessment> for UnitAssessment {
    fn from(v: q::UnitAssessment) -> Self {
        let item = |i: &q::AssessmentItem| AssessmentItem {
            rule: i.rule.key().to_owned(),
            rule_label: i.rule.label_zh().to_owned(),
            points: i.points,
            position: i.position,
            event_id: i.event_id.clone().map(ID),
            case_id: i.case_id.clone().map(ID),
            recorded_at: i.recorded_at,
            reason: i.reason.clone(),
        };
        Self {
            unit_id: v.unit_id,
            unit_name: v.unit_name,
            year: v.year,
            rules_version: v.rules_version,
            as_of: v.as_of,
            score: v.score,
            rank: v.rank,
            grade: v.grade.key().to_owned(),
            grade_label: v.grade.label_zh().to_owned(),
            veto: v.veto,
            deductions: v
                .items
                .iter()
                .filter(|i| {
                    i.points < 0
                        || matches!(
                            i.rule,
                            whistle_domain::AssessmentRule::MassIncident
                                | whistle_domain::AssessmentRule::OneVoteVetoPenalty
                        )
                })
                .map(item)
                .collect(),
            additions: v.items.iter().filter(|i| i.points > 0).map(item).collect(),
        }
    }
}

/// A deadline a supervisor should act on.
#[derive(SimpleObject, Clone, Debug)]
pub struct SupervisionItem {
    pub deadline: Deadline,
    pub case_title: String,
    pub case_level: Level,
    pub case_level_label: String,
    pub unit_name: Option<String>,
    /// Past due (otherwise due within the next 24 hours).
    pub overdue: bool,
}

impl From<q::SupervisionItem> for SupervisionItem {
    fn from(v: q::SupervisionItem) -> Self {
        Self {
            deadline: Deadline::from(v.deadline),
            case_title: v.case_title,
            case_level: v.case_level.into(),
            case_level_label: v.case_level.label_zh().to_owned(),
            unit_name: v.unit_name,
            overdue: v.overdue,
        }
    }
}
