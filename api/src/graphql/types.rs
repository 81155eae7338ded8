//! GraphQL output types: read-model views converted at the edge, each enum with its
//! Chinese label beside it, and the case object whose details load on demand.

use async_graphql::connection::OpaqueCursor;
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use whistle_domain::Vocabulary;

use sqlx::AnyPool;
use whistle_projections::queries as q;
use whistle_projections::replay::Replay;

use super::context::{actor, page_size, state};
use super::enums::*;
use super::errors::{ErrorCode, error, from_projection};
use super::node::{NodeKind, case_part_id, global_id};
use super::scalars::{Date, Instant, Json, Position, StreamVersion};

/// Where a command's events landed: read your own writes by passing `position` as
/// `waitForPosition` to any query.
#[derive(SimpleObject, Clone, Debug)]
pub struct CommandResult {
    /// Global position of the last event written (or first written, on a replay).
    pub position: Position,
    /// Global position of the first event written.
    pub first_position: Position,
    /// The stream the command wrote to, e.g. `case-<id>`.
    pub stream_id: String,
    /// The stream's version after the command: pass it as `expectedVersion` to refuse
    /// a later command if anyone wrote in between.
    pub stream_version: StreamVersion,
    /// The command's id: yours, or the one the service made.
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

/// A case (舆情事项): the problem one or more posts revealed, from the flag (吹哨) to
/// closing, with everything recorded about it.
#[Object]
impl Case {
    /// The case's global id (see `Node`); arguments named `caseId` take it or the
    /// case's plain id (`caseId` below).
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Case, &self.0.case_id.to_string())
    }
    /// The case's plain id (a UUID), as `CommandResult.caseId`, `Assignment.caseId`,
    /// exports and the audit trail name it.
    async fn case_id(&self) -> ID {
        ID(self.0.case_id.to_string())
    }
    /// Where the case stands in its lifecycle.
    async fn status(&self) -> CaseStatus {
        self.0.status.into()
    }
    /// The status's Chinese label.
    async fn status_label(&self) -> &'static str {
        self.0.status.label_zh()
    }
    /// The level (事项等级), once triaged.
    async fn level(&self) -> Option<Level> {
        self.0.level.map(Into::into)
    }
    /// The level's Chinese label.
    async fn level_label(&self) -> Option<&'static str> {
        self.0.level.map(|l| l.label_zh())
    }
    /// The key categories (重点类别) that apply.
    async fn categories(&self) -> Vec<KeyCategory> {
        self.0.categories.iter().map(|c| (*c).into()).collect()
    }
    /// The categories' Chinese labels.
    async fn category_labels(&self) -> Vec<&'static str> {
        self.0.categories.iter().map(|c| c.label_zh()).collect()
    }
    /// The problem class (问题类别), e.g. 道路塌陷.
    async fn problem_class(&self) -> Option<&str> {
        self.0.problem_class.as_deref()
    }
    /// The unit whose jurisdiction the problem lies in (its code).
    async fn jurisdiction_unit(&self) -> Option<&str> {
        self.0.jurisdiction_unit.as_deref()
    }
    /// The first post's title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The first post's platform.
    async fn platform(&self) -> Platform {
        self.0.platform.into()
    }
    /// The platform's Chinese label.
    async fn platform_label(&self) -> &'static str {
        self.0.platform.label_zh()
    }
    /// The first post's address, normalised.
    async fn first_url(&self) -> &str {
        &self.0.first_url
    }
    /// When the post was flagged (吹哨).
    async fn flagged_at(&self) -> Instant {
        Instant(self.0.flagged_at)
    }
    /// Who flagged it (a user id).
    async fn flagged_by(&self) -> &str {
        &self.0.flagged_by
    }
    /// The monitor's note with the flag.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// The lead unit (主办单位) now, if assigned (its code).
    async fn lead_unit(&self) -> Option<&str> {
        self.0.lead_unit.as_deref()
    }
    /// How many posts are attached.
    async fn post_count(&self) -> i64 {
        self.0.post_count
    }
    /// The posts' latest heat, summed (views, reposts, comments, likes).
    async fn heat_total(&self) -> i64 {
        self.0.heat_total
    }
    /// Whether the case led to a mass incident (it drives the one-vote veto).
    async fn mass_incident(&self) -> bool {
        self.0.mass_incident
    }
    /// How many times the case was reopened (次生舆情).
    async fn reopen_count(&self) -> i64 {
        self.0.reopen_count
    }
    /// When the case was closed (办结), while it is closed.
    async fn closed_at(&self) -> Option<Instant> {
        self.0.closed_at.map(Instant)
    }
    /// How the case ended, as recorded at closing.
    async fn outcome(&self) -> Option<&str> {
        self.0.outcome.as_deref()
    }
    /// When the last event of the case was recorded.
    async fn last_event_at(&self) -> Instant {
        Instant(self.0.last_event_at)
    }
    /// Global position of the last event applied to this case's read model.
    async fn last_position(&self) -> Position {
        Position(self.0.last_position)
    }
    /// The posts about the case, first flagged first.
    async fn posts(&self, ctx: &Context<'_>) -> Result<Vec<Post>> {
        let views = q::posts_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(Post).collect())
    }
    /// Every assignment, open and finished.
    async fn assignments(&self, ctx: &Context<'_>) -> Result<Vec<Assignment>> {
        let views = q::assignments_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(Assignment::from).collect())
    }
    /// Every reply (反馈) the units submitted.
    async fn replies(&self, ctx: &Context<'_>) -> Result<Vec<Reply>> {
        let views = q::replies_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views
            .into_iter()
            .map(|v| Reply::of(self.0.case_id, v))
            .collect())
    }
    /// Every deadline, settled or open.
    async fn deadlines(&self, ctx: &Context<'_>) -> Result<Vec<Deadline>> {
        let views = q::deadlines_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(Deadline::from).collect())
    }
    /// Rumour referrals to the police.
    async fn referrals(&self, ctx: &Context<'_>) -> Result<Vec<Referral>> {
        let views = q::referrals(self.pool(ctx)?, Some(self.0.case_id), None)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(Referral::from).collect())
    }
    /// Memos (抄告单) sent to leaders and their instructions (批示).
    async fn memos(&self, ctx: &Context<'_>) -> Result<Vec<Memo>> {
        let views = q::memos_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views
            .into_iter()
            .map(|v| Memo::of(self.0.case_id, v))
            .collect())
    }
    /// Public responses (公开回应) and rumour rebuttals (辟谣).
    async fn responses(&self, ctx: &Context<'_>) -> Result<Vec<PublicResponse>> {
        let views = q::responses_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(PublicResponse::from).collect())
    }
    /// Follow-up monitoring (跟踪监测) after handling.
    async fn follow_ups(&self, ctx: &Context<'_>) -> Result<Vec<FollowUp>> {
        let views = q::follow_ups_of_case(self.pool(ctx)?, self.0.case_id)
            .await
            .map_err(from_projection)?;
        Ok(views.into_iter().map(FollowUp::from).collect())
    }
    /// The case's audit trail, oldest first.
    #[graphql(complexity = "page_weight(first, last) * child_complexity")]
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Entries from the start: at most this many (1–200, default 50).")]
        first: Option<i32>,
        #[graphql(desc = "Entries after this cursor (an edge's `cursor`).")] after: Option<String>,
        #[graphql(desc = "Entries from the end: at most this many (1–200).")] last: Option<i32>,
        #[graphql(desc = "Entries before this cursor.")] before: Option<String>,
    ) -> Result<ListConnection<TimelineEntry>> {
        let filter = q::TimelineFilter {
            case_id: Some(self.0.case_id),
            ..Default::default()
        };
        let window = page_window(first, after, last, before)?;
        timeline_connection_on(ctx, self.pool(ctx)?, &filter, window, "Case.timeline").await
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

/// The page a list's `first`/`after`/`last`/`before` ask for (Relay's connection
/// arguments): `first` reads from the start of the range between the cursors, `last`
/// from its end; asking both at once is refused.
pub fn page_window(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<q::Window> {
    let (size, from_end) = match (first, last) {
        (Some(_), Some(_)) => {
            return Err(error(
                ErrorCode::Validation,
                "give `first` or `last`, not both: `first` pages forward from `after`, `last` backward from `before`",
            ));
        }
        (None, Some(last)) => (page_size("last", Some(last))?, true),
        (first, None) => (page_size("first", first)?, false),
    };
    Ok(q::Window {
        size,
        after: decode_cursor(after)?,
        before: decode_cursor(before)?,
        from_end,
    })
}

/// A list's complexity weight: the page size it asks for.
pub fn page_weight(first: Option<i32>, last: Option<i32>) -> usize {
    use super::context::{DEFAULT_PAGE, MAX_PAGE};
    first
        .or(last)
        .map_or(DEFAULT_PAGE, |n| i64::from(n).clamp(1, MAX_PAGE)) as usize
}

/// What a list counts in all, whichever page was asked.
#[derive(Clone)]
pub enum Counted {
    Cases(q::CaseScope, q::CaseFilter),
    Timeline(q::TimelineFilter),
    Inbox(whistle_domain::UnitId),
}

/// The fields of a list beside its page: the total, counted only when asked.
pub struct ListTotal {
    pool: AnyPool,
    counted: Counted,
}

impl ListTotal {
    pub fn new(pool: &AnyPool, counted: Counted) -> Self {
        ListTotal {
            pool: pool.clone(),
            counted,
        }
    }
}

impl ListTotal {
    /// How many items the whole list holds.
    async fn count(&self) -> Result<i64> {
        match &self.counted {
            Counted::Cases(scope, filter) => q::count_cases(&self.pool, scope, filter).await,
            Counted::Timeline(filter) => q::count_timeline(&self.pool, filter).await,
            Counted::Inbox(unit) => q::count_inbox(&self.pool, unit).await,
        }
        .map_err(from_projection)
    }
}

/// A page of a list with its cursors, in Relay's connection shape (`edges`, `nodes`,
/// `pageInfo`) plus `totalCount`. Each list's type is named after its items:
/// `CaseConnection`, `AssignmentConnection`, `TimelineEntryConnection`.
pub struct ListConnection<T> {
    edges: Vec<ListEdge<T>>,
    has_previous_page: bool,
    has_next_page: bool,
    total: ListTotal,
}

/// One item of a list and its cursor.
pub struct ListEdge<T> {
    cursor: String,
    node: T,
}

impl<T: async_graphql::OutputType> async_graphql::TypeName for ListConnection<T> {
    fn type_name() -> std::borrow::Cow<'static, str> {
        format!("{}Connection", T::type_name()).into()
    }
}

impl<T: async_graphql::OutputType> async_graphql::TypeName for ListEdge<T> {
    fn type_name() -> std::borrow::Cow<'static, str> {
        format!("{}Edge", T::type_name()).into()
    }
}

/// A page of a list, oldest or newest first as the list says, with the cursors to
/// page on (forward with `first`/`after`, backward with `last`/`before`) and the
/// total the whole list holds.
#[Object(name_type)]
impl<T: async_graphql::OutputType> ListConnection<T> {
    /// Where this page lies in the list, and the cursors to continue from.
    async fn page_info(&self) -> async_graphql::connection::PageInfo {
        async_graphql::connection::PageInfo {
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
            start_cursor: self.edges.first().map(|edge| edge.cursor.clone()),
            end_cursor: self.edges.last().map(|edge| edge.cursor.clone()),
        }
    }

    /// The page's items, each with its cursor.
    async fn edges(&self) -> &[ListEdge<T>] {
        &self.edges
    }

    /// The page's items, without cursors.
    async fn nodes(&self) -> Vec<&T> {
        self.edges.iter().map(|edge| &edge.node).collect()
    }

    /// How many items the whole list holds, every page together: the list's filters
    /// apply, its cursors do not. Counted only when asked (it costs as much as a page
    /// of 100).
    #[graphql(complexity = 100)]
    async fn total_count(&self) -> Result<i64> {
        self.total.count().await
    }
}

/// One item of a list, with the cursor that pages on from it.
#[Object(name_type)]
impl<T: async_graphql::OutputType> ListEdge<T> {
    /// The item.
    async fn node(&self) -> &T {
        &self.node
    }

    /// Pass it as `after` for the items after this one, or `before` for those before.
    async fn cursor(&self) -> &str {
        &self.cursor
    }
}

/// A connection holding `page`, each item under its cursor.
pub fn connection_of<V, T>(
    page: q::Page<V>,
    total: ListTotal,
    cursor: impl Fn(&V) -> i64,
    node: impl Fn(V) -> T,
) -> ListConnection<T> {
    use async_graphql::connection::CursorType;
    let edges = page
        .items
        .into_iter()
        .map(|item| ListEdge {
            cursor: OpaqueCursor(cursor(&item)).encode_cursor(),
            node: node(item),
        })
        .collect();
    ListConnection {
        edges,
        has_previous_page: page.has_previous_page,
        has_next_page: page.has_next_page,
        total,
    }
}

pub async fn timeline_connection(
    ctx: &Context<'_>,
    filter: &q::TimelineFilter,
    window: q::Window,
    path: &'static str,
) -> Result<ListConnection<TimelineEntry>> {
    timeline_connection_on(ctx, state(ctx)?.pool(), filter, window, path).await
}

/// An audit-trail entry as `reader` may see it: its raw payload passed through the
/// one redaction by role (a post author's identity is withheld from all but the
/// cyberspace office, the police and inspectors); what is shown is recorded as a look
/// through `path`.
pub fn shown_entry(
    ctx: &Context<'_>,
    reader: &whistle_domain::Actor,
    mut entry: q::TimelineEntry,
    path: &'static str,
) -> TimelineEntry {
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
    TimelineEntry::from(entry)
}

/// A page of the audit trail from `pool`, each entry shown as [`shown_entry`] shows it.
pub async fn timeline_connection_on(
    ctx: &Context<'_>,
    pool: &AnyPool,
    filter: &q::TimelineFilter,
    window: q::Window,
    path: &'static str,
) -> Result<ListConnection<TimelineEntry>> {
    let page = q::timeline(pool, filter, window)
        .await
        .map_err(from_projection)?;
    let reader = actor(ctx)?;
    Ok(connection_of(
        page,
        ListTotal::new(pool, Counted::Timeline(filter.clone())),
        |entry| entry.position,
        |entry| shown_entry(ctx, reader, entry, path),
    ))
}

/// A post (帖文) on a case.
pub struct Post(pub q::PostView);

/// A post (帖文) about a case, with its latest heat.
#[Object]
impl Post {
    /// The post's address, normalised.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// Where it was posted.
    async fn platform(&self) -> Platform {
        self.0.platform.into()
    }
    /// The platform's Chinese label.
    async fn platform_label(&self) -> &'static str {
        self.0.platform.label_zh()
    }
    /// The post's title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// What the post says, as the monitor excerpted it.
    async fn excerpt(&self) -> &str {
        &self.0.excerpt
    }
    /// When it was posted, if known.
    async fn posted_at(&self) -> Option<Instant> {
        self.0.posted_at.map(Instant)
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
    /// Views (阅读量) at the latest reading.
    async fn views(&self) -> i64 {
        self.0.heat.views as i64
    }
    /// Reposts (转发) at the latest reading.
    async fn reposts(&self) -> i64 {
        self.0.heat.reposts as i64
    }
    /// Comments (评论) at the latest reading.
    async fn comments(&self) -> i64 {
        self.0.heat.comments as i64
    }
    /// Likes (点赞) at the latest reading.
    async fn likes(&self) -> i64 {
        self.0.heat.likes as i64
    }
    /// Views, reposts, comments and likes together.
    async fn heat_total(&self) -> i64 {
        self.0.heat.total() as i64
    }
    /// When the post was flagged or attached.
    async fn attached_at(&self) -> Instant {
        Instant(self.0.attached_at)
    }
    /// When the heat was last read.
    async fn heat_recorded_at(&self) -> Instant {
        Instant(self.0.heat_recorded_at)
    }
}

/// An assignment (转办) of a case to a unit.
#[derive(SimpleObject, Clone, Debug)]
pub struct Assignment {
    /// The assignment's global id (see `Node`).
    #[graphql(owned)]
    pub id: ID,
    /// The assignment's plain id, as `CommandResult.createdId` names it.
    pub assignment_id: ID,
    /// The case's plain id.
    pub case_id: ID,
    /// The case's title.
    pub case_title: String,
    /// The case's level, once triaged.
    pub case_level: Option<Level>,
    /// The unit assigned (its code).
    pub unit_id: ID,
    /// The unit's name.
    pub unit_name: String,
    /// Lead (主办) or co-handler (协办).
    pub role: AssignmentRole,
    /// The role's Chinese label.
    pub role_label: String,
    /// Where the assignment stands.
    pub status: AssignmentStatus,
    /// The status's Chinese label.
    pub status_label: String,
    /// The dispatcher's instruction with the assignment.
    pub instruction: Option<String>,
    /// When the case was assigned (转办).
    pub assigned_at: Instant,
    /// The feedback deadline in force.
    pub deadline_at: Instant,
    /// The rule that set the deadline.
    pub deadline_rule: String,
    /// When the unit signed for it (签收).
    pub accepted_at: Option<Instant>,
    /// Why the unit returned it (退回), while a return is pending or accepted.
    pub returned_reason: Option<String>,
    /// What verification (核查) found.
    pub finding: Option<Finding>,
    /// The finding's Chinese label.
    pub finding_label: Option<String>,
    /// What verification established, in words.
    pub finding_summary: Option<String>,
    /// The reply awaiting the unit head's approval, if any.
    pub pending_reply_id: Option<ID>,
    /// When the first reply was approved: the feedback (反馈) that counts for the deadline.
    pub first_approved_reply_at: Option<Instant>,
    /// The day rectification was promised by (Asia/Shanghai).
    pub rectification_due_date: Option<String>,
    /// The rectification measures promised.
    pub rectification_measures: Option<String>,
    /// When the promised rectification was recorded done.
    pub rectification_completed_at: Option<Instant>,
    /// When the assignment was completed (办结).
    pub completed_at: Option<Instant>,
    /// What was done, as recorded at completion.
    pub completion_summary: Option<String>,
    /// How many of its deadlines were missed.
    pub missed_deadlines: i64,
    /// How many of its returns the dispatcher rejected (推诿).
    pub rejected_returns: i64,
}

impl From<q::AssignmentView> for Assignment {
    fn from(v: q::AssignmentView) -> Self {
        Self {
            id: case_part_id(
                NodeKind::Assignment,
                v.case_id,
                &v.assignment_id.to_string(),
            ),
            assignment_id: ID(v.assignment_id.to_string()),
            case_id: ID(v.case_id.to_string()),
            case_title: v.case_title,
            case_level: v.case_level.map(Into::into),
            unit_id: ID(v.unit_id),
            unit_name: v.unit_name,
            role: v.role.into(),
            role_label: v.role.label_zh().to_owned(),
            status: v.status.into(),
            status_label: v.status.label_zh().to_owned(),
            instruction: v.instruction,
            assigned_at: Instant(v.assigned_at),
            deadline_at: Instant(v.deadline_at),
            deadline_rule: v.deadline_rule,
            accepted_at: v.accepted_at.map(Instant),
            returned_reason: v.returned_reason,
            finding: v.finding.map(Into::into),
            finding_label: v.finding.map(|f| f.label_zh().to_owned()),
            finding_summary: v.finding_summary,
            pending_reply_id: v.pending_reply_id.map(ID),
            first_approved_reply_at: v.first_approved_reply_at.map(Instant),
            rectification_due_date: v.rectification_due_date,
            rectification_measures: v.rectification_measures,
            rectification_completed_at: v.rectification_completed_at.map(Instant),
            completed_at: v.completed_at.map(Instant),
            completion_summary: v.completion_summary,
            missed_deadlines: v.missed_deadlines,
            rejected_returns: v.rejected_returns,
        }
    }
}

/// A unit's reply (反馈) on its assignment, approved or sent back by its head.
#[derive(SimpleObject, Clone, Debug)]
pub struct Reply {
    /// The reply's global id (see `Node`).
    #[graphql(owned)]
    pub id: ID,
    /// The reply's plain id, as `CommandResult.createdId` names it.
    pub reply_id: ID,
    /// The assignment it answers.
    pub assignment_id: ID,
    /// The unit that submitted it (its code).
    pub unit_id: ID,
    /// The reply's text.
    pub content: String,
    /// Submitted, approved or sent back.
    pub status: ReplyStatus,
    /// The status's Chinese label.
    pub status_label: String,
    /// When it was submitted.
    pub submitted_at: Instant,
    /// Who submitted it.
    pub submitted_by: String,
    /// When the unit head decided on it.
    pub decided_at: Option<Instant>,
    /// The unit head who decided.
    pub decided_by: Option<String>,
    /// The unit head's note with the decision.
    pub decision_note: Option<String>,
}

impl Reply {
    /// Reply `v` of case `case`.
    pub fn of(case: whistle_domain::CaseId, v: q::ReplyView) -> Self {
        Self {
            id: case_part_id(NodeKind::Reply, case, &v.reply_id.to_string()),
            reply_id: ID(v.reply_id.to_string()),
            assignment_id: ID(v.assignment_id.to_string()),
            unit_id: ID(v.unit_id),
            content: v.content,
            status: v.status.into(),
            status_label: v.status.label_zh().to_owned(),
            submitted_at: Instant(v.submitted_at),
            submitted_by: v.submitted_by,
            decided_at: v.decided_at.map(Instant),
            decided_by: v.decided_by,
            decision_note: v.decision_note,
        }
    }
}

/// A deadline a unit or leader must meet, and the rule that set it.
#[derive(SimpleObject, Clone, Debug)]
pub struct Deadline {
    /// The case's plain id.
    pub case_id: ID,
    /// The deadline's id within the case.
    pub deadline_id: String,
    /// Which deadline: feedback, public response, leader's instruction or rectification.
    pub kind: DeadlineKind,
    /// The kind's Chinese label.
    pub kind_label: String,
    /// The unit it binds (its code), if one does.
    pub unit_id: Option<ID>,
    /// The assignment it belongs to, if any.
    pub assignment_id: Option<ID>,
    /// When it falls due.
    pub due_at: Instant,
    /// The rule that set it, e.g. `feedback_significant_24h`.
    pub rule: String,
    /// Met or no longer applicable.
    pub settled: bool,
    /// When the approaching warning was recorded.
    pub approaching_at: Option<Instant>,
    /// When it was recorded missed.
    pub missed_at: Option<Instant>,
}

impl From<q::DeadlineView> for Deadline {
    fn from(v: q::DeadlineView) -> Self {
        Self {
            case_id: ID(v.case_id.to_string()),
            deadline_id: v.deadline_id,
            kind: v.kind.into(),
            kind_label: v.kind.label_zh().to_owned(),
            unit_id: v.unit_id.map(ID),
            assignment_id: v.assignment_id.map(ID),
            due_at: Instant(v.due_at),
            rule: v.rule,
            settled: v.settled,
            approaching_at: v.approaching_at.map(Instant),
            missed_at: v.missed_at.map(Instant),
        }
    }
}

/// A rumour referral to the police (涉谣移交), approved by a second dispatcher, and its outcome.
#[derive(SimpleObject, Clone, Debug)]
pub struct Referral {
    /// The referral's global id (see `Node`).
    #[graphql(owned)]
    pub id: ID,
    /// The referral's plain id, as `CommandResult.createdId` names it.
    pub referral_id: ID,
    /// The case's plain id.
    pub case_id: ID,
    /// The police unit referred to (its code).
    pub police_unit: String,
    /// The law or regulation relied on.
    pub legal_basis: String,
    /// The evidence that the post is a rumour.
    pub evidence: String,
    /// The dispatcher who proposed it.
    pub proposed_by: String,
    /// When it was proposed.
    pub proposed_at: Instant,
    /// The second dispatcher who approved it (four eyes).
    pub approved_by: Option<String>,
    /// When it was approved.
    pub approved_at: Option<Instant>,
    /// What the police concluded, once they did.
    pub outcome: Option<ReferralOutcome>,
    /// The outcome's Chinese label.
    pub outcome_label: Option<String>,
    /// What the police did.
    pub outcome_action: Option<String>,
    /// When the outcome was recorded.
    pub outcome_at: Option<Instant>,
    /// When a rebuttal (辟谣) was published.
    pub rebutted_at: Option<Instant>,
}

impl From<q::ReferralView> for Referral {
    fn from(v: q::ReferralView) -> Self {
        Self {
            id: case_part_id(NodeKind::Referral, v.case_id, &v.referral_id),
            referral_id: ID(v.referral_id),
            case_id: ID(v.case_id.to_string()),
            police_unit: v.police_unit,
            legal_basis: v.legal_basis,
            evidence: v.evidence,
            proposed_by: v.proposed_by,
            proposed_at: Instant(v.proposed_at),
            approved_by: v.approved_by,
            approved_at: v.approved_at.map(Instant),
            outcome: v.outcome.map(Into::into),
            outcome_label: v.outcome.map(|o| o.label_zh().to_owned()),
            outcome_action: v.outcome_action,
            outcome_at: v.outcome_at.map(Instant),
            rebutted_at: v.rebutted_at.map(Instant),
        }
    }
}

/// A memo (抄告单) sending a case to a leader, and the leader's instruction (批示).
#[derive(SimpleObject, Clone, Debug)]
pub struct Memo {
    /// The memo's global id (see `Node`).
    #[graphql(owned)]
    pub id: ID,
    /// The memo's plain id, as `CommandResult.createdId` names it.
    pub memo_id: ID,
    /// The case in brief, as sent to the leader.
    pub summary: String,
    /// When it was sent.
    pub sent_at: Instant,
    /// Who sent it.
    pub sent_by: String,
    /// The leader's written instruction (批示), once given.
    pub instruction: Option<String>,
    /// The leader who gave it.
    pub instructed_by: Option<String>,
    /// When it was given.
    pub instructed_at: Option<Instant>,
    /// When the instruction falls due.
    pub deadline_at: Option<Instant>,
}

impl Memo {
    /// Memo `v` of case `case`.
    pub fn of(case: whistle_domain::CaseId, v: q::MemoView) -> Self {
        Self {
            id: case_part_id(NodeKind::Memo, case, &v.memo_id),
            memo_id: ID(v.memo_id),
            summary: v.summary,
            sent_at: Instant(v.sent_at),
            sent_by: v.sent_by,
            instruction: v.instruction,
            instructed_by: v.instructed_by,
            instructed_at: v.instructed_at.map(Instant),
            deadline_at: v.deadline_at.map(Instant),
        }
    }
}

/// A public response (公开回应) or rumour rebuttal (辟谣) published about a case.
#[derive(SimpleObject, Clone, Debug)]
pub struct PublicResponse {
    /// `public_response` or `rumour_rebuttal`.
    pub kind: String,
    /// Where it was published.
    pub channel: ResponseChannel,
    /// The channel's Chinese label.
    pub channel_label: String,
    /// What was published.
    pub content: String,
    /// Where it can be read, if online.
    pub url: Option<String>,
    /// When it was published.
    pub published_at: Instant,
    /// Who recorded it.
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
            published_at: Instant(v.published_at),
            actor_name: v.actor_name,
        }
    }
}

/// Follow-up monitoring (跟踪监测) of a case after handling.
#[derive(SimpleObject, Clone, Debug)]
pub struct FollowUp {
    /// What monitoring observed.
    pub observation: String,
    /// How public opinion stood.
    pub sentiment: FollowUpSentiment,
    /// The sentiment's Chinese label.
    pub sentiment_label: String,
    /// When it was recorded.
    pub recorded_at: Instant,
    /// Who recorded it.
    pub actor_name: String,
}

impl From<q::FollowUpView> for FollowUp {
    fn from(v: q::FollowUpView) -> Self {
        Self {
            observation: v.observation,
            sentiment: v.sentiment.into(),
            sentiment_label: v.sentiment.label_zh().to_owned(),
            recorded_at: Instant(v.recorded_at),
            actor_name: v.actor_name,
        }
    }
}

/// One entry of the accountability audit trail: who, when, what.
#[derive(SimpleObject, Clone, Debug)]
pub struct TimelineEntry {
    /// The entry's global id (see `Node`).
    #[graphql(owned)]
    pub id: ID,
    /// The event's position in the global log.
    pub position: Position,
    /// The event's id.
    pub event_id: ID,
    /// The stream it was appended to, e.g. `case-<id>`.
    pub stream_id: String,
    /// The case's plain id, for a case event.
    pub case_id: Option<ID>,
    /// What happened, e.g. `CaseAssigned` (docs/domain/events.md).
    pub event_type: String,
    /// When it was recorded.
    pub recorded_at: Instant,
    /// Who did it (a user id, `system` for the service).
    pub actor_id: String,
    /// Their name.
    pub actor_name: String,
    /// Their role when they did it.
    pub actor_role: Role,
    /// The role's Chinese label.
    pub actor_role_label: String,
    /// Their unit (its code).
    pub actor_unit: String,
    /// The unit's name when the event happened.
    pub actor_unit_name: String,
    /// What happened, as a Chinese sentence.
    pub summary: String,
    /// The event's structured payload.
    pub data: Json,
}

impl From<q::TimelineEntry> for TimelineEntry {
    fn from(v: q::TimelineEntry) -> Self {
        Self {
            id: global_id(NodeKind::TimelineEntry, &v.position.to_string()),
            position: Position(v.position),
            event_id: ID(v.event_id),
            stream_id: v.stream_id,
            case_id: v.case_id.map(ID),
            event_type: v.event_type,
            recorded_at: Instant(v.recorded_at),
            actor_id: v.actor_id,
            actor_name: v.actor_name,
            actor_role: v.actor_role.into(),
            actor_role_label: v.actor_role.label_zh().to_owned(),
            actor_unit: v.actor_unit,
            actor_unit_name: v.actor_unit_name,
            summary: v.summary_zh,
            data: Json(v.data),
        }
    }
}

/// A unit (单位): a department, township, the police, an office; who may be assigned cases and whose staff act in the record.
#[derive(SimpleObject, Clone, Debug)]
pub struct Unit {
    /// The unit's global id (see `Node`).
    #[graphql(owned)]
    pub id: ID,
    /// The unit's code, e.g. `city-cac`: what `unitId` arguments, assignments and
    /// scorecards name it by.
    pub code: ID,
    /// The unit's name now.
    pub name: String,
    /// What kind of unit.
    pub kind: UnitKind,
    /// The kind's Chinese label.
    pub kind_label: String,
    /// The unit above it (its code), if any.
    pub parent_id: Option<ID>,
    /// The area it answers for.
    pub jurisdiction: Option<String>,
    /// Whether it may still be assigned cases.
    pub active: bool,
}

impl From<q::UnitView> for Unit {
    fn from(v: q::UnitView) -> Self {
        Self {
            id: global_id(NodeKind::Unit, &v.unit_id),
            code: ID(v.unit_id),
            name: v.name,
            kind: v.kind.into(),
            kind_label: v.kind.label_zh().to_owned(),
            parent_id: v.parent_id.map(ID),
            jurisdiction: v.jurisdiction,
            active: v.active,
        }
    }
}

/// A count under a key; `label` is the key's Chinese label when the key is a vocabulary
/// value or a unit.
#[derive(SimpleObject, Clone, Debug)]
pub struct Count {
    /// What is counted: a vocabulary key, a unit code, a problem class or a day.
    pub key: String,
    /// The key's Chinese label (the key itself where it has none).
    pub label: String,
    /// How many.
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

/// The dispatchers' dashboard: counts of cases by status, level, unit, platform, category and problem class, flags per day, and open deadlines due soon or overdue.
#[derive(SimpleObject, Clone, Debug)]
pub struct Dashboard {
    /// The instant the figures are for.
    pub as_of: Instant,
    /// Cases flagged (in the period, when one is given).
    pub total_cases: i64,
    /// Of those, cases not closed.
    pub open_cases: i64,
    /// Open deadlines falling due in the next 24 hours.
    #[graphql(name = "dueWithin24h")]
    pub due_within_24h: i64,
    /// Open deadlines already past due.
    pub overdue: i64,
    /// Cases by status.
    pub by_status: Vec<Count>,
    /// Cases by level (`untriaged` before triage).
    pub by_level: Vec<Count>,
    /// Open cases by lead unit.
    pub by_lead_unit: Vec<Count>,
    /// Cases by the first post's platform.
    pub by_platform: Vec<Count>,
    /// Cases by key category (a case may count in several).
    pub by_category: Vec<Count>,
    /// Cases by problem class.
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
            as_of: Instant(as_of),
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
    /// The unit (its code).
    pub unit_id: ID,
    /// The unit's name.
    pub unit_name: String,
    /// First day of the period (Asia/Shanghai).
    pub period_from: Date,
    /// Day after the period's last.
    pub period_to: Date,
    /// The instant the figures are for.
    pub as_of: Instant,
    /// Assignments counted in the period (转办数).
    pub counted_assignments: i64,
    /// Of those, with approved feedback (反馈数).
    pub with_feedback: i64,
    /// Of those, with feedback in time (按时反馈数).
    pub on_time_feedback: i64,
    /// Of those, completed (办结数).
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
    /// Deadlines missed (超期数).
    pub overdue_count: i64,
    /// Rejected returns (推诿).
    pub buck_passing_count: i64,
    /// Urgings received (催办数).
    pub urging_count: i64,
}

impl From<q::Scorecard> for Scorecard {
    fn from(v: q::Scorecard) -> Self {
        Self {
            unit_id: ID(v.unit_id),
            unit_name: v.unit_name,
            period_from: Date(v.period_from),
            period_to: Date(v.period_to),
            as_of: Instant(v.as_of),
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
    /// Your user id.
    pub user_id: String,
    /// Your name.
    pub name: String,
    /// Your role.
    pub role: Role,
    /// Your role's Chinese label.
    pub role_label: String,
    /// Your unit (its code).
    pub unit_id: ID,
    /// Whether your role is shown the authors of posts.
    pub may_see_post_authors: bool,
}

/// An event as the subscription delivers it.
#[derive(SimpleObject, Clone, Debug)]
pub struct EventNotice {
    /// The event's position in the global log.
    pub position: Position,
    /// The event's id.
    pub event_id: ID,
    /// The stream it was appended to, e.g. `case-<id>`.
    pub stream_id: String,
    /// The case's plain id, for a case event.
    pub case_id: Option<ID>,
    /// What happened, e.g. `CaseAssigned` (docs/domain/events.md).
    pub event_type: String,
    /// When it was recorded.
    pub recorded_at: Instant,
    /// Who did it (a user id, `system` for the service).
    pub actor_id: String,
    /// Their name.
    pub actor_name: String,
    /// Their role when they did it.
    pub actor_role: Role,
    /// Their unit (its code).
    pub actor_unit: String,
}

/// One deduction or addition, with its rule, its points and the event behind it.
#[derive(SimpleObject, Clone, Debug)]
pub struct AssessmentItem {
    /// The assessment rule's stable key (e.g. `missed_feedback_deadline`).
    pub rule: String,
    /// The rule's Chinese label.
    pub rule_label: String,
    /// Negative deducts, positive adds.
    pub points: i64,
    /// Log position of the event behind the item.
    pub position: Position,
    /// The event behind the item, if one event is.
    pub event_id: Option<ID>,
    /// The case it concerns, if any.
    pub case_id: Option<ID>,
    /// When the event behind it was recorded.
    pub recorded_at: Instant,
    /// The reason recorded with a penalty or commendation.
    pub reason: Option<String>,
}

/// A unit's annual assessment: score, rank, grade, veto, and every deduction and
/// addition explained by its events.
#[derive(SimpleObject, Clone, Debug)]
pub struct UnitAssessment {
    /// The unit (its code).
    pub unit_id: ID,
    /// The unit's name.
    pub unit_name: String,
    /// The assessment year.
    pub year: i32,
    /// The version of the assessment rules used.
    pub rules_version: String,
    /// The instant the assessment is for.
    pub as_of: Instant,
    /// Points: the base, less deductions, plus additions.
    pub score: i64,
    /// Rank among all units by score (1 is best).
    pub rank: i64,
    /// The grade's stable key.
    pub grade: String,
    /// The grade's Chinese label (优秀, 良好, 合格, 不合格).
    pub grade_label: String,
    /// One-vote veto (一票否决): graded 不合格 whatever the points.
    pub veto: bool,
    /// Every deduction, with the event behind it.
    pub deductions: Vec<AssessmentItem>,
    /// Every addition, with the event behind it.
    pub additions: Vec<AssessmentItem>,
}

impl From<q::UnitAssessment> for UnitAssessment {
    fn from(v: q::UnitAssessment) -> Self {
        let item = |i: &q::AssessmentItem| AssessmentItem {
            rule: i.rule.key().to_owned(),
            rule_label: i.rule.label_zh().to_owned(),
            points: i.points,
            position: Position(i.position),
            event_id: i.event_id.clone().map(ID),
            case_id: i.case_id.clone().map(ID),
            recorded_at: Instant(i.recorded_at),
            reason: i.reason.clone(),
        };
        Self {
            unit_id: ID(v.unit_id),
            unit_name: v.unit_name,
            year: v.year,
            rules_version: v.rules_version,
            as_of: Instant(v.as_of),
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
    /// The deadline.
    pub deadline: Deadline,
    /// The case's title.
    pub case_title: String,
    /// The case's level.
    pub case_level: Level,
    /// The level's Chinese label.
    pub case_level_label: String,
    /// The unit the deadline binds.
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

/// How long one point of a trend is.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TrendGranularity {
    /// An Asia/Shanghai calendar day (日).
    Day,
    /// An ISO 8601 week, Monday to Sunday (周).
    IsoWeek,
    /// A calendar month (月).
    Month,
}

impl From<TrendGranularity> for whistle_projections::trends::Granularity {
    fn from(granularity: TrendGranularity) -> Self {
        use whistle_projections::trends::Granularity as G;
        match granularity {
            TrendGranularity::Day => G::Day,
            TrendGranularity::IsoWeek => G::IsoWeek,
            TrendGranularity::Month => G::Month,
        }
    }
}

/// One point of a trend: a day, week or month and what happened in it.
#[derive(SimpleObject, Clone, Debug)]
pub struct TrendPoint {
    /// The period's key: `2026-03-02`, `2026-W10` (ISO week) or `2026-03`.
    pub period: String,
    /// The period in Chinese, for a chart's axis: `3月2日`, `2026年第10周`, `2026年3月`.
    pub label: String,
    /// Its first day within the range asked (Asia/Shanghai).
    pub from: Date,
    /// The day after its last within the range asked.
    pub to: Date,
    /// Cases flagged (吹哨) in the period.
    pub flags: i64,
    /// The latest heat of the cases flagged in the period, summed.
    pub heat: i64,
    /// Cases closed (办结) in the period (the latest closing of a case reopened and
    /// closed again).
    pub closures: i64,
    /// Deadlines recorded missed (超期) in the period.
    pub overdue: i64,
}

impl From<whistle_projections::trends::TrendPoint> for TrendPoint {
    fn from(p: whistle_projections::trends::TrendPoint) -> Self {
        TrendPoint {
            period: p.period,
            label: p.label,
            from: Date(p.from),
            to: Date(p.to),
            flags: p.flags,
            heat: p.heat,
            closures: p.closures,
            overdue: p.overdue,
        }
    }
}
