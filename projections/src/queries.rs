//! The read side: queries over the read-model tables for the case list and detail, the
//! timeline, unit inboxes, the dashboard and unit scorecards. Nothing here writes.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use whistle_domain::calendar::start_of_shanghai_day;
use whistle_domain::*;
use whistle_store::{from_micros, to_micros};

use crate::ProjectionError;

fn unreadable(reason: impl std::fmt::Display) -> ProjectionError {
    ProjectionError::Unreadable {
        position: 0,
        reason: reason.to_string(),
    }
}

fn key<V: Vocabulary>(row: &AnyRow, column: &str) -> Result<V, ProjectionError> {
    let raw: String = row.try_get(column)?;
    V::parse_key(&raw).map_err(unreadable)
}

fn optional_key<V: Vocabulary>(row: &AnyRow, column: &str) -> Result<Option<V>, ProjectionError> {
    let raw: Option<String> = row.try_get(column)?;
    raw.map(|r| V::parse_key(&r).map_err(unreadable))
        .transpose()
}

fn time(row: &AnyRow, column: &str) -> Result<DateTime<Utc>, ProjectionError> {
    Ok(from_micros(row.try_get(column)?))
}

fn optional_time(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>, ProjectionError> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(from_micros))
}

/// A bind value for SQL assembled at run time.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
}

/// WHERE clauses with numbered placeholders (`$1`, `$2`, …), valid on every backend.
#[derive(Debug, Default, Clone)]
pub(crate) struct Conditions {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Conditions {
    fn placeholder(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }
    pub(crate) fn text(&mut self, value: impl Into<String>) -> String {
        self.placeholder(Bind::Text(value.into()))
    }
    pub(crate) fn int(&mut self, value: i64) -> String {
        self.placeholder(Bind::Int(value))
    }
    pub(crate) fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }
    pub(crate) fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }
    /// `sql` with these conditions' values bound.
    fn bound<'q>(&self, sql: &'q str) -> crate::batch::AnyQuery<'q> {
        let mut query = sqlx::query(sql);
        for bind in &self.binds {
            query = match bind {
                Bind::Text(text) => query.bind(text.clone()),
                Bind::Int(int) => query.bind(*int),
            };
        }
        query
    }
    pub(crate) async fn fetch_all(
        &self,
        pool: &AnyPool,
        sql: &str,
    ) -> Result<Vec<AnyRow>, ProjectionError> {
        Ok(self.bound(sql).fetch_all(pool).await?)
    }
    /// [`Conditions::fetch_all`] on one connection (a transaction's, say).
    pub(crate) async fn fetch_all_on(
        &self,
        connection: &mut sqlx::AnyConnection,
        sql: &str,
    ) -> Result<Vec<AnyRow>, ProjectionError> {
        Ok(self.bound(sql).fetch_all(connection).await?)
    }
}

pub use whistle_domain::access::CaseScope;

/// Keep only the cases `scope` lets its reader see.
fn restrict_to_scope(scope: &CaseScope, conditions: &mut Conditions, case_column: &str) {
    match scope {
        CaseScope::All => {}
        CaseScope::Nothing => conditions.push("1 = 0".to_owned()),
        CaseScope::AssignedTo(unit) => {
            let p = conditions.text(unit.as_str());
            conditions.push(format!(
                    "EXISTS (SELECT 1 FROM rm_assignments sa WHERE sa.case_id = {case_column} AND sa.unit_id = {p})"
                ));
        }
        CaseScope::PoliceUnit(unit) => {
            let p = conditions.text(unit.as_str());
            conditions.push(format!(
                    "(EXISTS (SELECT 1 FROM rm_referrals sr WHERE sr.case_id = {case_column} AND sr.police_unit = {p}) \
                     OR EXISTS (SELECT 1 FROM rm_assignments sa WHERE sa.case_id = {case_column} AND sa.unit_id = {p}))"
                ));
        }
    }
}

/// Filters of the case list; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<CaseStatus>,
    pub level: Option<Level>,
    pub unit: Option<UnitId>,
    pub platform: Option<Platform>,
    pub category: Option<KeyCategory>,
    pub problem_class: Option<String>,
    pub flagged_from: Option<DateTime<Utc>>,
    pub flagged_to: Option<DateTime<Utc>>,
    pub text: Option<String>,
}

/// One row of the case list.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSummary {
    pub case_id: CaseId,
    pub cursor: i64,
    pub status: CaseStatus,
    pub level: Option<Level>,
    pub problem_class: Option<String>,
    pub jurisdiction_unit: Option<String>,
    pub title: String,
    pub platform: Platform,
    pub first_url: String,
    pub flagged_at: DateTime<Utc>,
    pub flagged_by: String,
    pub note: Option<String>,
    pub lead_unit: Option<String>,
    pub post_count: i64,
    pub heat_total: i64,
    pub mass_incident: bool,
    pub reopen_count: i64,
    pub closed_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub last_event_at: DateTime<Utc>,
    pub last_position: i64,
    pub categories: Vec<KeyCategory>,
}

/// A page of a keyset-paginated list, in the list's own order whichever way it was
/// read.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

/// Which page of a keyset-paginated list: `size` items after the cursor `after` and
/// before `before` (both exclusive, either or both absent), taken from the start of
/// that range or, `from_end`, from its end (Relay's `first`/`last`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub size: i64,
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub from_end: bool,
}

impl Window {
    /// The first `size` items after `after`.
    pub fn forward(size: i64, after: Option<i64>) -> Self {
        Window {
            size,
            after,
            before: None,
            from_end: false,
        }
    }

    /// Bound `column` (a list ordered by it, descending when `descending`) to the
    /// window's cursors, and give the ORDER BY and LIMIT clauses that read it.
    fn bound(&self, conditions: &mut Conditions, column: &str, descending: bool) -> String {
        let (later, earlier) = if descending { ("<", ">") } else { (">", "<") };
        if let Some(after) = self.after {
            let p = conditions.int(after);
            conditions.push(format!("{column} {later} {p}"));
        }
        if let Some(before) = self.before {
            let p = conditions.int(before);
            conditions.push(format!("{column} {earlier} {p}"));
        }
        let direction = if descending != self.from_end {
            "DESC"
        } else {
            "ASC"
        };
        let limit = conditions.int(self.size + 1);
        format!("ORDER BY {column} {direction} LIMIT {limit}")
    }

    /// The page of `rows` (read by [`Window::bound`]'s clauses), in list order.
    fn page<T>(&self, mut rows: Vec<T>) -> Page<T> {
        let more = rows.len() as i64 > self.size;
        rows.truncate(self.size as usize);
        if self.from_end {
            rows.reverse();
        }
        Page {
            items: rows,
            has_next_page: if self.from_end {
                self.before.is_some()
            } else {
                more
            },
            has_previous_page: if self.from_end {
                more
            } else {
                self.after.is_some()
            },
        }
    }
}

/// How many rows a query's conditions select.
async fn count(
    conditions: &Conditions,
    pool: &AnyPool,
    from: &str,
) -> Result<i64, ProjectionError> {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM {from} {}",
        conditions.where_sql()
    );
    let rows = conditions.fetch_all(pool, &sql).await?;
    Ok(rows
        .first()
        .map(|row| row.try_get("n"))
        .transpose()?
        .unwrap_or(0))
}

const CASE_COLUMNS: &str = "c.case_id, c.flagged_position, c.status, c.level, c.problem_class, c.jurisdiction_unit, \
     c.title, c.platform, c.first_url, c.flagged_at, c.flagged_by, c.note, c.lead_unit, c.post_count, c.heat_total, \
     c.mass_incident, c.reopen_count, c.closed_at, c.outcome, c.last_event_at, c.last_position";

/// The key categories of each of `case_ids`, in one query.
async fn categories_of(
    pool: &AnyPool,
    case_ids: &[String],
) -> Result<HashMap<String, Vec<KeyCategory>>, ProjectionError> {
    let mut categories: HashMap<String, Vec<KeyCategory>> = HashMap::new();
    if case_ids.is_empty() {
        return Ok(categories);
    }
    let mut conditions = Conditions::default();
    let placeholders: Vec<String> = case_ids
        .iter()
        .map(|id| conditions.text(id.clone()))
        .collect();
    conditions.push(format!("case_id IN ({})", placeholders.join(", ")));
    let sql = format!(
        "SELECT case_id, category FROM rm_case_categories {} ORDER BY case_id, category",
        conditions.where_sql()
    );
    for row in conditions.fetch_all(pool, &sql).await? {
        categories
            .entry(row.try_get("case_id")?)
            .or_default()
            .push(key(&row, "category")?);
    }
    Ok(categories)
}

/// Case summaries of `rows` (rows of `CASE_COLUMNS`), with their categories.
async fn case_summaries(
    pool: &AnyPool,
    rows: &[AnyRow],
) -> Result<Vec<CaseSummary>, ProjectionError> {
    let ids = rows
        .iter()
        .map(|row| row.try_get("case_id"))
        .collect::<Result<Vec<String>, _>>()?;
    let mut categories = categories_of(pool, &ids).await?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("case_id")?;
            let categories = categories.remove(&id).unwrap_or_default();
            case_summary(row, categories)
        })
        .collect()
}

fn case_summary(
    row: &AnyRow,
    categories: Vec<KeyCategory>,
) -> Result<CaseSummary, ProjectionError> {
    let id: String = row.try_get("case_id")?;
    Ok(CaseSummary {
        case_id: CaseId::parse(&id).map_err(unreadable)?,
        cursor: row.try_get("flagged_position")?,
        status: key(row, "status")?,
        level: optional_key(row, "level")?,
        problem_class: row.try_get("problem_class")?,
        jurisdiction_unit: row.try_get("jurisdiction_unit")?,
        title: row.try_get("title")?,
        platform: key(row, "platform")?,
        first_url: row.try_get("first_url")?,
        flagged_at: time(row, "flagged_at")?,
        flagged_by: row.try_get("flagged_by")?,
        note: row.try_get("note")?,
        lead_unit: row.try_get("lead_unit")?,
        post_count: row.try_get("post_count")?,
        heat_total: row.try_get("heat_total")?,
        mass_incident: row.try_get::<i64, _>("mass_incident")? != 0,
        reopen_count: row.try_get("reopen_count")?,
        closed_at: optional_time(row, "closed_at")?,
        outcome: row.try_get("outcome")?,
        last_event_at: time(row, "last_event_at")?,
        last_position: row.try_get("last_position")?,
        categories,
    })
}

/// The conditions selecting the cases of `filter` that `scope` lets its reader see.
pub(crate) fn case_conditions(scope: &CaseScope, filter: &CaseFilter) -> Conditions {
    let mut conditions = Conditions::default();
    restrict_to_scope(scope, &mut conditions, "c.case_id");
    if let Some(status) = filter.status {
        let p = conditions.text(status.key());
        conditions.push(format!("c.status = {p}"));
    }
    if let Some(level) = filter.level {
        let p = conditions.text(level.key());
        conditions.push(format!("c.level = {p}"));
    }
    if let Some(unit) = &filter.unit {
        let p = conditions.text(unit.as_str());
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM rm_assignments fa WHERE fa.case_id = c.case_id AND fa.unit_id = {p})"
        ));
    }
    if let Some(platform) = filter.platform {
        let p = conditions.text(platform.key());
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM rm_posts fp WHERE fp.case_id = c.case_id AND fp.platform = {p})"
        ));
    }
    if let Some(category) = filter.category {
        let p = conditions.text(category.key());
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM rm_case_categories fc WHERE fc.case_id = c.case_id AND fc.category = {p})"
        ));
    }
    if let Some(class) = &filter.problem_class {
        let p = conditions.text(class.clone());
        conditions.push(format!("c.problem_class = {p}"));
    }
    if let Some(from) = filter.flagged_from {
        let p = conditions.int(to_micros(from));
        conditions.push(format!("c.flagged_at >= {p}"));
    }
    if let Some(to) = filter.flagged_to {
        let p = conditions.int(to_micros(to));
        conditions.push(format!("c.flagged_at < {p}"));
    }
    if let Some(text) = filter
        .text
        .as_ref()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
    {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let p = conditions.text(format!("%{escaped}%"));
        conditions.push(format!("c.search_text LIKE {p} ESCAPE '\\'"));
    }
    conditions
}

/// The case list, newest flag first: the page `window` of it (cursors are flag
/// positions).
pub async fn list_cases(
    pool: &AnyPool,
    scope: &CaseScope,
    filter: &CaseFilter,
    window: Window,
) -> Result<Page<CaseSummary>, ProjectionError> {
    let mut conditions = case_conditions(scope, filter);
    let order = window.bound(&mut conditions, "c.flagged_position", true);
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM rm_cases c {} {order}",
        conditions.where_sql()
    );
    let rows = conditions.fetch_all(pool, &sql).await?;
    let page = window.page(rows);
    Ok(Page {
        items: case_summaries(pool, &page.items).await?,
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
    })
}

/// How many cases of `filter` the reader may see, every page together.
pub async fn count_cases(
    pool: &AnyPool,
    scope: &CaseScope,
    filter: &CaseFilter,
) -> Result<i64, ProjectionError> {
    count(&case_conditions(scope, filter), pool, "rm_cases c").await
}

/// One case's summary, if the reader's scope includes it.
pub async fn case_by_id(
    pool: &AnyPool,
    scope: &CaseScope,
    case_id: CaseId,
) -> Result<Option<CaseSummary>, ProjectionError> {
    let mut conditions = Conditions::default();
    let p = conditions.text(case_id.to_string());
    conditions.push(format!("c.case_id = {p}"));
    restrict_to_scope(scope, &mut conditions, "c.case_id");
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM rm_cases c {}",
        conditions.where_sql()
    );
    let rows = conditions.fetch_all(pool, &sql).await?;
    Ok(case_summaries(pool, &rows).await?.into_iter().next())
}

#[derive(Debug, Clone, PartialEq)]
pub struct PostView {
    pub case_id: CaseId,
    pub url: String,
    pub platform: Platform,
    pub title: String,
    pub excerpt: String,
    pub posted_at: Option<DateTime<Utc>>,
    pub author: Option<String>,
    pub heat: events::Heat,
    pub attached_at: DateTime<Utc>,
    pub heat_recorded_at: DateTime<Utc>,
}

pub async fn posts_of_case(
    pool: &AnyPool,
    case_id: CaseId,
) -> Result<Vec<PostView>, ProjectionError> {
    let rows = sqlx::query("SELECT * FROM rm_posts WHERE case_id = $1 ORDER BY attached_position")
        .bind(case_id.to_string())
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            let count = |c: &str| -> Result<u64, ProjectionError> {
                Ok(row.try_get::<i64, _>(c)?.max(0) as u64)
            };
            Ok(PostView {
                case_id,
                url: row.try_get("url")?,
                platform: key(row, "platform")?,
                title: row.try_get("title")?,
                excerpt: row.try_get("excerpt")?,
                posted_at: optional_time(row, "posted_at")?,
                author: row.try_get("author")?,
                heat: events::Heat {
                    views: count("views")?,
                    reposts: count("reposts")?,
                    comments: count("comments")?,
                    likes: count("likes")?,
                },
                attached_at: time(row, "attached_at")?,
                heat_recorded_at: time(row, "heat_recorded_at")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssignmentView {
    pub assignment_id: AssignmentId,
    pub case_id: CaseId,
    pub unit_id: String,
    pub unit_name: String,
    pub role: AssignmentRole,
    pub status: AssignmentStatus,
    pub instruction: Option<String>,
    pub assigned_at: DateTime<Utc>,
    /// Global position of the CaseAssigned event: the inbox's keyset cursor.
    pub assigned_position: i64,
    pub deadline_at: DateTime<Utc>,
    pub deadline_rule: String,
    pub accepted_at: Option<DateTime<Utc>>,
    pub returned_reason: Option<String>,
    pub finding: Option<Finding>,
    pub finding_summary: Option<String>,
    pub pending_reply_id: Option<String>,
    pub first_approved_reply_at: Option<DateTime<Utc>>,
    pub rectification_due_date: Option<String>,
    pub rectification_measures: Option<String>,
    pub rectification_completed_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completion_summary: Option<String>,
    pub missed_deadlines: i64,
    pub rejected_returns: i64,
    pub case_title: String,
    pub case_level: Option<Level>,
}

const ASSIGNMENT_SELECT: &str = "SELECT a.*, COALESCE(u.name, a.unit_id) AS unit_name, c.title AS case_title, \
     c.level AS case_level FROM rm_assignments a JOIN rm_cases c ON c.case_id = a.case_id \
     LEFT JOIN rm_units u ON u.unit_id = a.unit_id";

fn assignment_view(row: &AnyRow) -> Result<AssignmentView, ProjectionError> {
    let id: String = row.try_get("assignment_id")?;
    let case_id: String = row.try_get("case_id")?;
    Ok(AssignmentView {
        assignment_id: AssignmentId::parse(&id).map_err(unreadable)?,
        case_id: CaseId::parse(&case_id).map_err(unreadable)?,
        unit_id: row.try_get("unit_id")?,
        unit_name: row.try_get("unit_name")?,
        role: key(row, "role")?,
        status: key(row, "status")?,
        instruction: row.try_get("instruction")?,
        assigned_at: time(row, "assigned_at")?,
        assigned_position: row.try_get("assigned_position")?,
        deadline_at: time(row, "deadline_at")?,
        deadline_rule: row.try_get("deadline_rule")?,
        accepted_at: optional_time(row, "accepted_at")?,
        returned_reason: row.try_get("returned_reason")?,
        finding: optional_key(row, "finding")?,
        finding_summary: row.try_get("finding_summary")?,
        pending_reply_id: row.try_get("pending_reply_id")?,
        first_approved_reply_at: optional_time(row, "first_approved_reply_at")?,
        rectification_due_date: row.try_get("rectification_due_date")?,
        rectification_measures: row.try_get("rectification_measures")?,
        rectification_completed_at: optional_time(row, "rectification_completed_at")?,
        completed_at: optional_time(row, "completed_at")?,
        completion_summary: row.try_get("completion_summary")?,
        missed_deadlines: row.try_get("missed_deadlines")?,
        rejected_returns: row.try_get("rejected_returns")?,
        case_title: row.try_get("case_title")?,
        case_level: optional_key(row, "case_level")?,
    })
}

pub async fn assignments_of_case(
    pool: &AnyPool,
    case_id: CaseId,
) -> Result<Vec<AssignmentView>, ProjectionError> {
    let sql = format!("{ASSIGNMENT_SELECT} WHERE a.case_id = $1 ORDER BY a.assigned_position");
    let rows = sqlx::query(&sql)
        .bind(case_id.to_string())
        .fetch_all(pool)
        .await?;
    rows.iter().map(assignment_view).collect()
}

/// A unit's inbox: its open assignments (awaiting signature, in hand, or returned and
/// waiting for the dispatcher), each with its deadline and any promised rectification
/// (an assignment cannot complete while its rectification is unfinished), oldest first.
pub async fn inbox(
    pool: &AnyPool,
    unit_id: &UnitId,
    window: Window,
) -> Result<Page<AssignmentView>, ProjectionError> {
    let mut conditions = inbox_conditions(unit_id);
    let order = window.bound(&mut conditions, "a.assigned_position", false);
    let sql = format!("{ASSIGNMENT_SELECT} {} {order}", conditions.where_sql());
    let rows = conditions.fetch_all(pool, &sql).await?;
    let page = window.page(rows);
    Ok(Page {
        items: page
            .items
            .iter()
            .map(assignment_view)
            .collect::<Result<Vec<_>, _>>()?,
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
    })
}

fn inbox_conditions(unit_id: &UnitId) -> Conditions {
    let mut conditions = Conditions::default();
    let p = conditions.text(unit_id.as_str());
    conditions.push(format!("a.unit_id = {p}"));
    conditions.push("a.status IN ('awaiting_signature', 'accepted', 'returned')".to_owned());
    conditions
}

/// How many open assignments a unit's inbox holds.
pub async fn count_inbox(pool: &AnyPool, unit_id: &UnitId) -> Result<i64, ProjectionError> {
    count(&inbox_conditions(unit_id), pool, "rm_assignments a").await
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReplyView {
    pub reply_id: ReplyId,
    pub assignment_id: AssignmentId,
    pub unit_id: String,
    pub content: String,
    pub status: ReplyStatus,
    pub submitted_at: DateTime<Utc>,
    pub submitted_by: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
}

pub async fn replies_of_case(
    pool: &AnyPool,
    case_id: CaseId,
) -> Result<Vec<ReplyView>, ProjectionError> {
    let rows = sqlx::query("SELECT * FROM rm_replies WHERE case_id = $1 ORDER BY position")
        .bind(case_id.to_string())
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(ReplyView {
                reply_id: ReplyId::parse(&row.try_get::<String, _>("reply_id")?)
                    .map_err(unreadable)?,
                assignment_id: AssignmentId::parse(&row.try_get::<String, _>("assignment_id")?)
                    .map_err(unreadable)?,
                unit_id: row.try_get("unit_id")?,
                content: row.try_get("content")?,
                status: key(row, "status")?,
                submitted_at: time(row, "submitted_at")?,
                submitted_by: row.try_get("submitted_by")?,
                decided_at: optional_time(row, "decided_at")?,
                decided_by: row.try_get("decided_by")?,
                decision_note: row.try_get("decision_note")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeadlineView {
    pub case_id: CaseId,
    pub deadline_id: String,
    pub kind: DeadlineKind,
    pub unit_id: Option<String>,
    pub assignment_id: Option<String>,
    pub due_at: DateTime<Utc>,
    pub rule: String,
    pub settled: bool,
    pub approaching_at: Option<DateTime<Utc>>,
    pub missed_at: Option<DateTime<Utc>>,
}

fn deadline_view(row: &AnyRow) -> Result<DeadlineView, ProjectionError> {
    Ok(DeadlineView {
        case_id: CaseId::parse(&row.try_get::<String, _>("case_id")?).map_err(unreadable)?,
        deadline_id: row.try_get("deadline_id")?,
        kind: key(row, "kind")?,
        unit_id: row.try_get("unit_id")?,
        assignment_id: row.try_get("assignment_id")?,
        due_at: time(row, "due_at")?,
        rule: row.try_get("rule")?,
        settled: row.try_get::<i64, _>("settled")? != 0,
        approaching_at: optional_time(row, "approaching_at")?,
        missed_at: optional_time(row, "missed_at")?,
    })
}

pub async fn deadlines_of_case(
    pool: &AnyPool,
    case_id: CaseId,
) -> Result<Vec<DeadlineView>, ProjectionError> {
    let rows =
        sqlx::query("SELECT * FROM rm_deadlines WHERE case_id = $1 ORDER BY due_at, deadline_id")
            .bind(case_id.to_string())
            .fetch_all(pool)
            .await?;
    rows.iter().map(deadline_view).collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReferralView {
    pub referral_id: String,
    pub case_id: CaseId,
    pub police_unit: String,
    pub legal_basis: String,
    pub evidence: String,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub outcome: Option<ReferralOutcome>,
    pub outcome_action: Option<String>,
    pub outcome_at: Option<DateTime<Utc>>,
    pub rebutted_at: Option<DateTime<Utc>>,
}

/// Rumour referrals of one case, or of every case when `case_id` is `None`.
pub async fn referrals(
    pool: &AnyPool,
    case_id: Option<CaseId>,
    outcome: Option<ReferralOutcome>,
) -> Result<Vec<ReferralView>, ProjectionError> {
    let mut conditions = Conditions::default();
    if let Some(case_id) = case_id {
        let p = conditions.text(case_id.to_string());
        conditions.push(format!("case_id = {p}"));
    }
    if let Some(outcome) = outcome {
        let p = conditions.text(outcome.key());
        conditions.push(format!("outcome = {p}"));
    }
    let sql = format!(
        "SELECT * FROM rm_referrals {} ORDER BY position",
        conditions.where_sql()
    );
    let rows = conditions.fetch_all(pool, &sql).await?;
    rows.iter()
        .map(|row| {
            Ok(ReferralView {
                referral_id: row.try_get("referral_id")?,
                case_id: CaseId::parse(&row.try_get::<String, _>("case_id")?)
                    .map_err(unreadable)?,
                police_unit: row.try_get("police_unit")?,
                legal_basis: row.try_get("legal_basis")?,
                evidence: row.try_get("evidence")?,
                proposed_by: row.try_get("proposed_by")?,
                proposed_at: time(row, "proposed_at")?,
                approved_by: row.try_get("approved_by")?,
                approved_at: optional_time(row, "approved_at")?,
                outcome: optional_key(row, "outcome")?,
                outcome_action: row.try_get("outcome_action")?,
                outcome_at: optional_time(row, "outcome_at")?,
                rebutted_at: optional_time(row, "rebutted_at")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemoView {
    pub memo_id: String,
    pub summary: String,
    pub sent_at: DateTime<Utc>,
    pub sent_by: String,
    pub instruction: Option<String>,
    pub instructed_by: Option<String>,
    pub instructed_at: Option<DateTime<Utc>>,
    pub deadline_at: Option<DateTime<Utc>>,
}

pub async fn memos_of_case(
    pool: &AnyPool,
    case_id: CaseId,
) -> Result<Vec<MemoView>, ProjectionError> {
    let rows = sqlx::query("SELECT * FROM rm_memos WHERE case_id = $1 ORDER BY position")
        .bind(case_id.to_string())
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(MemoView {
                memo_id: row.try_get("memo_id")?,
                summary: row.try_get("summary")?,
                sent_at: time(row, "sent_at")?,
                sent_by: row.try_get("sent_by")?,
                instruction: row.try_get("instruction")?,
                instructed_by: row.try_get("instructed_by")?,
                instructed_at: optional_time(row, "instructed_at")?,
                deadline_at: optional_time(row, "deadline_at")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResponseView {
    pub kind: String,
    pub channel: ResponseChannel,
    pub content: String,
    pub url: Option<String>,
    pub published_at: DateTime<Utc>,
    pub actor_name: String,
}

pub async fn responses_of_case(
    pool: &AnyPool,
    case_id: CaseId,
) -> Result<Vec<ResponseView>, ProjectionError> {
    let rows = sqlx::query("SELECT * FROM rm_responses WHERE case_id = $1 ORDER BY position")
        .bind(case_id.to_string())
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(ResponseView {
                kind: row.try_get("kind")?,
                channel: key(row, "channel")?,
                content: row.try_get("content")?,
                url: row.try_get("url")?,
                published_at: time(row, "published_at")?,
                actor_name: row.try_get("actor_name")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpView {
    pub observation: String,
    pub sentiment: FollowUpSentiment,
    pub recorded_at: DateTime<Utc>,
    pub actor_name: String,
}

pub async fn follow_ups_of_case(
    pool: &AnyPool,
    case_id: CaseId,
) -> Result<Vec<FollowUpView>, ProjectionError> {
    let rows = sqlx::query("SELECT * FROM rm_follow_ups WHERE case_id = $1 ORDER BY position")
        .bind(case_id.to_string())
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(FollowUpView {
                observation: row.try_get("observation")?,
                sentiment: key(row, "sentiment")?,
                recorded_at: time(row, "recorded_at")?,
                actor_name: row.try_get("actor_name")?,
            })
        })
        .collect()
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub position: i64,
    pub event_id: String,
    pub stream_id: String,
    pub case_id: Option<String>,
    pub event_type: String,
    pub recorded_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_role: Role,
    pub actor_unit: String,
    pub actor_unit_name: String,
    pub summary_zh: String,
    pub data: serde_json::Value,
}

/// Filters of the audit trail.
#[derive(Debug, Clone, Default)]
pub struct TimelineFilter {
    pub case_id: Option<CaseId>,
    pub actor_id: Option<String>,
    pub actor_unit: Option<String>,
    /// Events about assignments made to this unit.
    pub assignments_of_unit: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub event_types: Vec<String>,
    /// Events of this stream only.
    pub stream_id: Option<String>,
}

/// The conditions selecting the entries of `filter`.
fn timeline_conditions(filter: &TimelineFilter) -> Conditions {
    let mut conditions = Conditions::default();
    if let Some(case_id) = filter.case_id {
        let p = conditions.text(case_id.to_string());
        conditions.push(format!("case_id = {p}"));
    }
    if let Some(actor) = &filter.actor_id {
        let p = conditions.text(actor.clone());
        conditions.push(format!("actor_id = {p}"));
    }
    if let Some(stream) = &filter.stream_id {
        let p = conditions.text(stream.clone());
        conditions.push(format!("stream_id = {p}"));
    }
    if let Some(unit) = &filter.actor_unit {
        let p = conditions.text(unit.clone());
        conditions.push(format!("actor_unit = {p}"));
    }
    if let Some(unit) = &filter.assignments_of_unit {
        let p = conditions.text(unit.clone());
        conditions.push(format!("assignment_unit = {p}"));
    }
    if let Some(from) = filter.from {
        let p = conditions.int(to_micros(from));
        conditions.push(format!("recorded_at >= {p}"));
    }
    if let Some(to) = filter.to {
        let p = conditions.int(to_micros(to));
        conditions.push(format!("recorded_at < {p}"));
    }
    if !filter.event_types.is_empty() {
        let placeholders: Vec<String> = filter
            .event_types
            .iter()
            .map(|t| conditions.text(t.clone()))
            .collect();
        conditions.push(format!("event_type IN ({})", placeholders.join(", ")));
    }
    conditions
}

/// The audit trail of `filter`, oldest first: the page `window` of it (cursors are
/// log positions).
pub async fn timeline(
    pool: &AnyPool,
    filter: &TimelineFilter,
    window: Window,
) -> Result<Page<TimelineEntry>, ProjectionError> {
    let mut conditions = timeline_conditions(filter);
    let order = window.bound(&mut conditions, "position", false);
    let sql = format!(
        "SELECT * FROM rm_timeline {} {order}",
        conditions.where_sql()
    );
    let rows = conditions.fetch_all(pool, &sql).await?;
    let page = window.page(rows);
    let items = page
        .items
        .iter()
        .map(|row| {
            let data: String = row.try_get("data")?;
            Ok(TimelineEntry {
                position: row.try_get("position")?,
                event_id: row.try_get("event_id")?,
                stream_id: row.try_get("stream_id")?,
                case_id: row.try_get("case_id")?,
                event_type: row.try_get("event_type")?,
                recorded_at: time(row, "recorded_at")?,
                actor_id: row.try_get("actor_id")?,
                actor_name: row.try_get("actor_name")?,
                actor_role: key(row, "actor_role")?,
                actor_unit: row.try_get("actor_unit")?,
                actor_unit_name: row.try_get("actor_unit_name")?,
                summary_zh: row.try_get("summary_zh")?,
                data: serde_json::from_str(&data).map_err(unreadable)?,
            })
        })
        .collect::<Result<Vec<_>, ProjectionError>>()?;
    Ok(Page {
        items,
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
    })
}

/// How many entries the audit trail of `filter` holds.
pub async fn count_timeline(
    pool: &AnyPool,
    filter: &TimelineFilter,
) -> Result<i64, ProjectionError> {
    count(&timeline_conditions(filter), pool, "rm_timeline").await
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnitView {
    pub unit_id: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent_id: Option<String>,
    pub jurisdiction: Option<String>,
    pub active: bool,
}

pub async fn units(pool: &AnyPool) -> Result<Vec<UnitView>, ProjectionError> {
    let rows = sqlx::query("SELECT * FROM rm_units ORDER BY unit_id")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(UnitView {
                unit_id: row.try_get("unit_id")?,
                name: row.try_get("name")?,
                kind: key(row, "kind")?,
                parent_id: row.try_get("parent_id")?,
                jurisdiction: row.try_get("jurisdiction")?,
                active: row.try_get::<i64, _>("active")? != 0,
            })
        })
        .collect()
}

/// A count under a key (a status, a level, a unit, a day, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub key: String,
    pub count: i64,
}

/// The dashboard of docs/domain/people.md as of `now`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dashboard {
    pub total_cases: i64,
    pub open_cases: i64,
    pub due_within_24h: i64,
    pub overdue: i64,
    pub by_status: Vec<Count>,
    pub by_level: Vec<Count>,
    pub by_lead_unit: Vec<Count>,
    pub by_platform: Vec<Count>,
    pub by_category: Vec<Count>,
    pub by_problem_class: Vec<Count>,
    pub flags_per_day: Vec<Count>,
}

async fn counts(pool: &AnyPool, sql: &str, binds: &[i64]) -> Result<Vec<Count>, ProjectionError> {
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    let rows = query.fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            Ok(Count {
                key: row.try_get::<Option<String>, _>(0)?.unwrap_or_default(),
                count: row.try_get(1)?,
            })
        })
        .collect()
}

/// One figure of the dashboard: a grouping of the period's cases (read once for all of
/// them), of their categories, or of their open deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashboardPart {
    TotalCases,
    OpenCases,
    DueWithin24h,
    Overdue,
    ByStatus,
    ByLevel,
    ByLeadUnit,
    ByPlatform,
    ByCategory,
    ByProblemClass,
    FlagsPerDay,
}

impl DashboardPart {
    pub const ALL: [DashboardPart; 11] = [
        DashboardPart::TotalCases,
        DashboardPart::OpenCases,
        DashboardPart::DueWithin24h,
        DashboardPart::Overdue,
        DashboardPart::ByStatus,
        DashboardPart::ByLevel,
        DashboardPart::ByLeadUnit,
        DashboardPart::ByPlatform,
        DashboardPart::ByCategory,
        DashboardPart::ByProblemClass,
        DashboardPart::FlagsPerDay,
    ];
}

/// Counts over the cases flagged in [from, to) (all cases when both are `None`), with
/// open/due/overdue as of `now`.
pub async fn dashboard(
    pool: &AnyPool,
    now: DateTime<Utc>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Dashboard, ProjectionError> {
    dashboard_parts(pool, now, from, to, &DashboardPart::ALL).await
}

/// The dashboard with only `parts` computed; the others are left zero or empty. On a
/// year of a city's cases each part groups ~100,000 rows, so a client asking for
/// three figures should not pay for eleven.
pub async fn dashboard_parts(
    pool: &AnyPool,
    now: DateTime<Utc>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    parts: &[DashboardPart],
) -> Result<Dashboard, ProjectionError> {
    dashboard_over(pool, &BoardRows::Current, now, from, to, parts).await
}

/// The dashboard as it stood at `as_of`, from the board's history (the rows that held at
/// that instant): what the live dashboard showed then, without replaying the log.
pub async fn dashboard_as_of(
    pool: &AnyPool,
    as_of: DateTime<Utc>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    parts: &[DashboardPart],
) -> Result<Dashboard, ProjectionError> {
    let rows = BoardRows::HeldAt(to_micros(as_of));
    dashboard_over(pool, &rows, as_of, from, to, parts).await
}

/// Every unit's name as it stood at `as_of` (units registered later are not there).
pub async fn unit_names_as_of(
    pool: &AnyPool,
    as_of: DateTime<Utc>,
) -> Result<HashMap<String, String>, ProjectionError> {
    let rows = sqlx::query(
        "SELECT unit_id, name FROM rm_unit_name_versions \
         WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1)",
    )
    .bind(to_micros(as_of))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

/// Which of the board's rows a dashboard counts: the current tables, or the history rows
/// that held at an instant (microseconds since the epoch).
enum BoardRows {
    Current,
    HeldAt(i64),
}

impl BoardRows {
    /// A history table's rows that held at the instant. The instant is an integer this
    /// code computed, written into the SQL so that every statement binds the same
    /// parameters as the current one.
    fn held(columns: &str, table: &str, instant: i64) -> String {
        format!(
            "(SELECT {columns} FROM {table} \
              WHERE valid_from <= {instant} AND (valid_to IS NULL OR valid_to > {instant}))"
        )
    }

    fn cases(&self) -> String {
        match self {
            BoardRows::Current => "rm_cases".to_owned(),
            BoardRows::HeldAt(instant) => Self::held(
                "case_id, status, level, problem_class, lead_unit, platform, flagged_at, flagged_day",
                "rm_case_versions",
                *instant,
            ),
        }
    }

    fn categories(&self) -> String {
        match self {
            BoardRows::Current => "rm_case_categories".to_owned(),
            BoardRows::HeldAt(instant) => {
                Self::held("case_id, category", "rm_case_category_versions", *instant)
            }
        }
    }

    fn deadlines(&self) -> String {
        match self {
            BoardRows::Current => "rm_deadlines".to_owned(),
            BoardRows::HeldAt(instant) => {
                Self::held("case_id, due_at, settled", "rm_deadline_versions", *instant)
            }
        }
    }
}

/// The case-level figures of the dashboard, each one `UNION ALL` branch over the period's
/// cases read once: (the part, its SQL key expression, an extra condition).
const CASE_FIGURES: [(DashboardPart, &str, &str); 8] = [
    (DashboardPart::TotalCases, "''", ""),
    (DashboardPart::OpenCases, "''", "WHERE status <> 'closed'"),
    (DashboardPart::ByStatus, "status", ""),
    (DashboardPart::ByLevel, "COALESCE(level, 'untriaged')", ""),
    (
        DashboardPart::ByLeadUnit,
        "lead_unit",
        "WHERE lead_unit IS NOT NULL",
    ),
    (DashboardPart::ByPlatform, "platform", ""),
    (
        DashboardPart::ByProblemClass,
        "problem_class",
        "WHERE problem_class IS NOT NULL",
    ),
    (DashboardPart::FlagsPerDay, "flagged_day", ""),
];

/// Counts of one figure, largest first (ties by key), or by key for days.
fn ordered(mut counts: Vec<Count>, by_key: bool) -> Vec<Count> {
    if by_key {
        counts.sort_by(|a, b| a.key.cmp(&b.key));
    } else {
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    }
    counts
}

/// A period's bound as a Shanghai date, when it is the start of one (`Some(None)` for
/// no bound; `None` when it falls within a day).
fn whole_days(bound: Option<DateTime<Utc>>) -> Option<Option<NaiveDate>> {
    match bound {
        None => Some(None),
        Some(instant) => {
            let day = whistle_domain::calendar::shanghai_date(instant);
            (start_of_shanghai_day(day) == instant).then_some(Some(day))
        }
    }
}

/// The dashboard's case figures and categories over the cases flagged on the days
/// [first, after_last), from the projector's counts per day (`rm_case_day_counts`).
async fn counts_over_days(
    pool: &AnyPool,
    dashboard: &mut Dashboard,
    first: Option<NaiveDate>,
    after_last: Option<NaiveDate>,
    parts: &[DashboardPart],
) -> Result<(), ProjectionError> {
    use crate::case_board::dashboard_facts::CountedFigure as F;
    use DashboardPart as P;
    const FIGURES: [(DashboardPart, F); 8] = [
        (P::TotalCases, F::Total),
        (P::OpenCases, F::Open),
        (P::ByStatus, F::Status),
        (P::ByLevel, F::Level),
        (P::ByLeadUnit, F::LeadUnit),
        (P::ByPlatform, F::Platform),
        (P::ByProblemClass, F::ProblemClass),
        (P::ByCategory, F::Category),
    ];
    let mut conditions = Conditions::default();
    if let Some(first) = first {
        let p = conditions.text(first.to_string());
        conditions.push(format!("flagged_day >= {p}"));
    }
    if let Some(after_last) = after_last {
        let p = conditions.text(after_last.to_string());
        conditions.push(format!("flagged_day < {p}"));
    }
    let wanted: Vec<F> = FIGURES
        .iter()
        .filter(|(part, _)| parts.contains(part))
        .map(|(_, figure)| *figure)
        .collect();
    if !wanted.is_empty() {
        let names: Vec<String> = wanted.iter().map(|f| format!("'{}'", f.key())).collect();
        let mut by_figure = conditions.clone();
        by_figure.push(format!("figure IN ({})", names.join(", ")));
        let sql = format!(
            "SELECT figure, figure_key, CAST(SUM(cases) AS BIGINT) FROM rm_case_day_counts {} \
             GROUP BY figure, figure_key",
            by_figure.where_sql()
        );
        let mut figures: HashMap<String, Vec<Count>> = HashMap::new();
        for row in by_figure.fetch_all(pool, &sql).await? {
            figures.entry(row.try_get(0)?).or_default().push(Count {
                key: row.try_get(1)?,
                count: row.try_get(2)?,
            });
        }
        for figure in wanted {
            let counts = figures.remove(figure.key()).unwrap_or_default();
            match figure {
                F::Total => dashboard.total_cases = counts.iter().map(|c| c.count).sum(),
                F::Open => dashboard.open_cases = counts.iter().map(|c| c.count).sum(),
                F::Status => dashboard.by_status = ordered(counts, false),
                F::Level => dashboard.by_level = ordered(counts, false),
                F::LeadUnit => dashboard.by_lead_unit = ordered(counts, false),
                F::Platform => dashboard.by_platform = ordered(counts, false),
                F::ProblemClass => dashboard.by_problem_class = ordered(counts, false),
                F::Category => dashboard.by_category = ordered(counts, false),
            }
        }
    }
    if parts.contains(&P::FlagsPerDay) {
        let mut totals = conditions.clone();
        totals.push(format!("figure = '{}'", F::Total.key()));
        let sql = format!(
            "SELECT flagged_day, cases FROM rm_case_day_counts {}",
            totals.where_sql()
        );
        let counts = totals
            .fetch_all(pool, &sql)
            .await?
            .iter()
            .map(|row| {
                Ok(Count {
                    key: row.try_get(0)?,
                    count: row.try_get(1)?,
                })
            })
            .collect::<Result<Vec<_>, ProjectionError>>()?;
        dashboard.flags_per_day = ordered(counts, true);
    }
    Ok(())
}

/// The dashboard over `rows`, in at most three statements: the period's cases are read
/// once for every case-level figure (a materialized common table expression grouped once
/// per figure), then the categories, then the open deadlines (due soon and overdue
/// together). Each figure used to be its own scan of the period's cases.
async fn dashboard_over(
    pool: &AnyPool,
    rows: &BoardRows,
    now: DateTime<Utc>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    parts: &[DashboardPart],
) -> Result<Dashboard, ProjectionError> {
    use DashboardPart as P;
    let (from_instant, to_instant) = (from, to);
    let from = to_micros(from.unwrap_or(DateTime::<Utc>::MIN_UTC));
    let to = to_micros(to.unwrap_or(DateTime::<Utc>::MAX_UTC));
    let now_micros = to_micros(now);
    let range = [from, to];
    let (cases, categories, deadlines) = (rows.cases(), rows.categories(), rows.deadlines());
    let mut dashboard = Dashboard::default();
    // The live dashboard over whole Shanghai days (or all cases) adds up the projector's
    // counts per day; any other period or instant groups the cases themselves.
    let days = match (rows, whole_days(from_instant), whole_days(to_instant)) {
        (BoardRows::Current, Some(first), Some(after_last)) => Some((first, after_last)),
        _ => None,
    };
    if let Some((first, after_last)) = days {
        counts_over_days(pool, &mut dashboard, first, after_last, parts).await?;
    }

    let wanted = |part: P| parts.contains(&part);
    let grouped = |part: P| wanted(part) && days.is_none();
    let branches: Vec<String> = CASE_FIGURES
        .iter()
        .enumerate()
        .filter(|(_, (part, _, _))| grouped(*part))
        .map(|(index, (_, key, condition))| {
            // A total has no key to group by (PostgreSQL refuses `GROUP BY ''`).
            let group = if *key == "''" {
                String::new()
            } else {
                format!("GROUP BY {key}")
            };
            format!(
                "SELECT CAST({index} AS BIGINT) AS figure, {key} AS figure_key, COUNT(*) AS n \
                 FROM period {condition} {group}"
            )
        })
        .collect();
    if !branches.is_empty() {
        let sql = format!(
            "WITH period AS MATERIALIZED ( \
                 SELECT c.status, c.level, c.lead_unit, c.platform, c.problem_class, c.flagged_day \
                 FROM {cases} c WHERE c.flagged_at >= $1 AND c.flagged_at < $2) \
             {}",
            branches.join(" UNION ALL ")
        );
        let mut figures: Vec<Vec<Count>> = vec![Vec::new(); CASE_FIGURES.len()];
        let mut query = sqlx::query(&sql);
        for bind in range {
            query = query.bind(bind);
        }
        for row in query.fetch_all(pool).await? {
            let figure: i64 = row.try_get(0)?;
            let counts = usize::try_from(figure)
                .ok()
                .and_then(|figure| figures.get_mut(figure))
                .ok_or_else(|| {
                    sqlx::Error::Protocol(format!("the dashboard has no figure {figure}"))
                })?;
            counts.push(Count {
                key: row.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                count: row.try_get(2)?,
            });
        }
        for ((part, _, _), counts) in CASE_FIGURES.iter().zip(figures) {
            match part {
                P::TotalCases => dashboard.total_cases = counts.iter().map(|c| c.count).sum(),
                P::OpenCases => dashboard.open_cases = counts.iter().map(|c| c.count).sum(),
                P::ByStatus => dashboard.by_status = ordered(counts, false),
                P::ByLevel => dashboard.by_level = ordered(counts, false),
                P::ByLeadUnit => dashboard.by_lead_unit = ordered(counts, false),
                P::ByPlatform => dashboard.by_platform = ordered(counts, false),
                P::ByProblemClass => dashboard.by_problem_class = ordered(counts, false),
                P::FlagsPerDay => dashboard.flags_per_day = ordered(counts, true),
                P::DueWithin24h | P::Overdue | P::ByCategory => {}
            }
        }
    }
    if grouped(P::ByCategory) {
        dashboard.by_category = counts(
            pool,
            &format!(
                "SELECT k.category, COUNT(*) FROM {categories} k JOIN {cases} c ON c.case_id = k.case_id \
                 WHERE c.flagged_at >= $1 AND c.flagged_at < $2 GROUP BY k.category ORDER BY 2 DESC, 1"
            ),
            &range,
        )
        .await?;
    }
    if wanted(P::DueWithin24h) || wanted(P::Overdue) {
        let row = sqlx::query(&format!(
            "SELECT CAST(COALESCE(SUM(CASE WHEN d.due_at > $3 AND d.due_at <= $4 THEN 1 ELSE 0 END), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN d.due_at <= $3 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM {deadlines} d JOIN {cases} c ON c.case_id = d.case_id \
             WHERE c.flagged_at >= $1 AND c.flagged_at < $2 AND d.settled = 0 AND c.status <> 'closed'"
        ))
        .bind(from)
        .bind(to)
        .bind(now_micros)
        .bind(to_micros(now + Duration::hours(24)))
        .fetch_one(pool)
        .await?;
        if wanted(P::DueWithin24h) {
            dashboard.due_within_24h = row.try_get(0)?;
        }
        if wanted(P::Overdue) {
            dashboard.overdue = row.try_get(1)?;
        }
    }
    Ok(dashboard)
}

pub use crate::scorecards::{Scorecard, board_reach, scorecards, scorecards_from_assignments};

/// One deduction or addition of an assessment, with the event behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentItem {
    pub rule: AssessmentRule,
    pub points: i64,
    pub position: i64,
    pub event_id: Option<String>,
    pub case_id: Option<String>,
    pub recorded_at: DateTime<Utc>,
    /// The penalty's or commendation's stated reason, when it has one.
    pub reason: Option<String>,
}

/// A unit's annual assessment (docs/domain/measures.md).
#[derive(Debug, Clone, PartialEq)]
pub struct UnitAssessment {
    pub unit_id: String,
    pub unit_name: String,
    pub year: i32,
    pub rules_version: String,
    pub as_of: DateTime<Utc>,
    pub score: i64,
    pub grade: Grade,
    pub veto: bool,
    /// 1 for the best; units with equal score and veto share a rank; vetoed units rank last.
    pub rank: i64,
    pub items: Vec<AssessmentItem>,
}

/// The year's window of an annual assessment: the instants of [1 January, next 1
/// January) in Asia/Shanghai, and those dates.
fn assessment_year(year: i32) -> Result<(i64, i64, NaiveDate, NaiveDate), ProjectionError> {
    let first_day =
        NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(|| unreadable(format!("year {year}")))?;
    let next_first_day = NaiveDate::from_ymd_opt(year + 1, 1, 1)
        .ok_or_else(|| unreadable(format!("year {year}")))?;
    Ok((
        to_micros(start_of_shanghai_day(first_day)),
        to_micros(start_of_shanghai_day(next_first_day)),
        first_day,
        next_first_day,
    ))
}

/// The incidents that move an assessment: rejected returns, major-case leads, mass
/// incidents, and missed deadlines of the kinds the rules deduct for.
fn assessment_incidents_sql(rules: &whistle_domain::rules::AssessmentRules) -> String {
    let kinds: Vec<String> = rules
        .missed_deadline_kinds
        .iter()
        .map(|k| format!("'{}'", k.key()))
        .collect();
    let missed = if kinds.is_empty() {
        "FALSE".to_owned()
    } else {
        format!(
            "(kind = '{}' AND assignment_id IS NOT NULL AND deadline_kind IN ({}))",
            IncidentKind::DeadlineMissed.key(),
            kinds.join(", ")
        )
    };
    format!(
        "(kind IN ('{}', '{}', '{}') OR {missed})",
        IncidentKind::ReturnRejected.key(),
        IncidentKind::MajorLead.key(),
        IncidentKind::MassIncident.key(),
    )
}

/// The rule an incident row is scored by.
fn incident_rule(kind: &str) -> Result<AssessmentRule, ProjectionError> {
    let kind = IncidentKind::parse_key(kind).map_err(unreadable)?;
    whistle_domain::rules::AssessmentRules::incident_rule(kind)
        .ok_or_else(|| unreadable(format!("incidents of kind {} are not scored", kind.key())))
}

/// The rule and points of an assessment-entry row.
fn entry_rule(
    entry_kind: &str,
    penalty_kind: Option<&str>,
    stated: i64,
    rules: &whistle_domain::rules::AssessmentRules,
) -> Result<(AssessmentRule, i64), ProjectionError> {
    let entry = AssessmentEntryKind::parse_key(entry_kind).map_err(unreadable)?;
    let penalty = penalty_kind
        .map(PenaltyKind::parse_key)
        .transpose()
        .map_err(unreadable)?;
    Ok(rules.entry_rule(entry, penalty, stated))
}

/// The annual assessment of every unit for `year` (Asia/Shanghai), as of `as_of`: each
/// fact counts in the year of the event that completed it, penalties and commendations in
/// the year their stated period starts; a penalty revoked by `as_of` does not count.
///
/// With `only`, the assessment of that unit alone, with its rank among all units: the
/// others' scores come from per-unit sums, not from every fact of the year.
pub async fn annual_assessment(
    pool: &AnyPool,
    year: i32,
    as_of: DateTime<Utc>,
    rules: &whistle_domain::rules::AssessmentRules,
    only: Option<&UnitId>,
) -> Result<Vec<UnitAssessment>, ProjectionError> {
    let (start, end, first_day, next_first_day) = assessment_year(year)?;
    let as_of_micros = to_micros(as_of);
    let mut conditions = Conditions::default();
    let p_start = conditions.int(start);
    let p_end = conditions.int(end);
    let p_as_of = conditions.int(as_of_micros);
    let unit_clause = match only {
        Some(unit) => format!(" AND unit_id = {}", conditions.text(unit.as_str())),
        None => String::new(),
    };
    // The facts of the year (of one unit, or of every unit), grouped by unit.
    let mut items_by_unit: HashMap<String, Vec<AssessmentItem>> = HashMap::new();
    let incidents = conditions
        .fetch_all(
            pool,
            &format!(
                "SELECT unit_id, kind, position, event_id, case_id, recorded_at FROM rm_unit_incidents \
                 WHERE recorded_at >= {p_start} AND recorded_at < {p_end} AND recorded_at <= {p_as_of} \
                 AND {}{unit_clause} ORDER BY position",
                assessment_incidents_sql(rules)
            ),
        )
        .await?;
    for row in &incidents {
        let kind: String = row.try_get("kind")?;
        let rule = incident_rule(&kind)?;
        items_by_unit
            .entry(row.try_get("unit_id")?)
            .or_default()
            .push(AssessmentItem {
                rule,
                points: rules.points_for(rule, 0),
                position: row.try_get("position")?,
                event_id: row.try_get("event_id")?,
                case_id: row.try_get("case_id")?,
                recorded_at: time(row, "recorded_at")?,
                reason: None,
            });
    }
    let mut conditions = Conditions::default();
    let p_from = conditions.text(first_day.to_string());
    let p_to = conditions.text(next_first_day.to_string());
    let p_as_of = conditions.int(as_of_micros);
    let unit_clause = match only {
        Some(unit) => format!(" AND unit_id = {}", conditions.text(unit.as_str())),
        None => String::new(),
    };
    let entries = conditions
        .fetch_all(
            pool,
            &format!(
                "SELECT unit_id, entry_kind, penalty_kind, points, position, event_id, case_ids, recorded_at, reason \
                 FROM rm_assessment_entries WHERE period_from >= {p_from} AND period_from < {p_to} \
                 AND recorded_at <= {p_as_of} AND (revoked_at IS NULL OR revoked_at > {p_as_of}){unit_clause} \
                 ORDER BY position"
            ),
        )
        .await?;
    for row in &entries {
        let entry_kind: String = row.try_get("entry_kind")?;
        let penalty_kind: Option<String> = row.try_get("penalty_kind")?;
        let (rule, points) = entry_rule(
            &entry_kind,
            penalty_kind.as_deref(),
            row.try_get("points")?,
            rules,
        )?;
        let case_ids: String = row.try_get("case_ids")?;
        let first_case = serde_json::from_str::<Vec<String>>(&case_ids)
            .map_err(unreadable)?
            .into_iter()
            .next();
        items_by_unit
            .entry(row.try_get("unit_id")?)
            .or_default()
            .push(AssessmentItem {
                rule,
                points,
                position: row.try_get("position")?,
                event_id: row.try_get("event_id")?,
                case_id: first_case,
                recorded_at: time(row, "recorded_at")?,
                reason: row.try_get("reason")?,
            });
    }
    // Each unit's score items: its facts, or (the others, for `only`) its sums.
    let mut score_items: HashMap<String, Vec<whistle_domain::rules::ScoreItem>> = items_by_unit
        .iter()
        .map(|(unit, items)| {
            let items = items
                .iter()
                .map(|i| whistle_domain::rules::ScoreItem {
                    rule: i.rule,
                    points: i.points,
                })
                .collect();
            (unit.clone(), items)
        })
        .collect();
    if let Some(unit) = only {
        for (other, sums) in assessment_sums(pool, year, as_of, rules).await? {
            if other != unit.as_str() {
                score_items.insert(other, sums);
            }
        }
    }
    let mut assessments = Vec::new();
    for unit in units(pool).await? {
        let items = score_items.remove(&unit.unit_id).unwrap_or_default();
        let veto = items.iter().any(|i| rules.vetoes(i.rule));
        let (score, grade) = rules.score(&items, veto);
        let mut facts = items_by_unit.remove(&unit.unit_id).unwrap_or_default();
        facts.sort_by_key(|item| item.position);
        assessments.push(UnitAssessment {
            unit_id: unit.unit_id,
            unit_name: unit.name,
            year,
            rules_version: rules.version.clone(),
            as_of,
            score,
            grade,
            veto,
            rank: 0,
            items: facts,
        });
    }
    // Competition ranking (the domain's rule), listed in rank order.
    let keys: Vec<(bool, i64)> = assessments.iter().map(|a| (a.veto, a.score)).collect();
    for (assessment, rank) in assessments
        .iter_mut()
        .zip(whistle_domain::assessment::competition_ranks(&keys))
    {
        assessment.rank = rank;
    }
    assessments.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.unit_id.cmp(&b.unit_id)));
    if let Some(unit) = only {
        assessments.retain(|a| a.unit_id == unit.as_str());
    }
    Ok(assessments)
}

/// Every unit's score items for the year as sums, one per rule (and per stated kind of
/// entry): enough to score and rank the unit, not to explain it. The score of summed
/// items is the score of the items, since scoring adds the points once and clamps.
async fn assessment_sums(
    pool: &AnyPool,
    year: i32,
    as_of: DateTime<Utc>,
    rules: &whistle_domain::rules::AssessmentRules,
) -> Result<HashMap<String, Vec<whistle_domain::rules::ScoreItem>>, ProjectionError> {
    let (start, end, first_day, next_first_day) = assessment_year(year)?;
    let as_of_micros = to_micros(as_of);
    let mut sums: HashMap<String, Vec<whistle_domain::rules::ScoreItem>> = HashMap::new();
    let incidents = sqlx::query(&format!(
        "SELECT unit_id, kind, COUNT(*) AS n FROM rm_unit_incidents \
         WHERE recorded_at >= $1 AND recorded_at < $2 AND recorded_at <= $3 AND {} \
         GROUP BY unit_id, kind",
        assessment_incidents_sql(rules)
    ))
    .bind(start)
    .bind(end)
    .bind(as_of_micros)
    .fetch_all(pool)
    .await?;
    for row in &incidents {
        let kind: String = row.try_get("kind")?;
        let rule = incident_rule(&kind)?;
        let n: i64 = row.try_get("n")?;
        sums.entry(row.try_get("unit_id")?)
            .or_default()
            .push(whistle_domain::rules::ScoreItem {
                rule,
                points: rules.points_for(rule, 0) * n,
            });
    }
    let entries = sqlx::query(
        "SELECT unit_id, entry_kind, penalty_kind, CAST(SUM(points) AS BIGINT) AS stated FROM rm_assessment_entries \
         WHERE period_from >= $1 AND period_from < $2 AND recorded_at <= $3 \
         AND (revoked_at IS NULL OR revoked_at > $3) GROUP BY unit_id, entry_kind, penalty_kind",
    )
    .bind(first_day.to_string())
    .bind(next_first_day.to_string())
    .bind(as_of_micros)
    .fetch_all(pool)
    .await?;
    for row in &entries {
        let entry_kind: String = row.try_get("entry_kind")?;
        let penalty_kind: Option<String> = row.try_get("penalty_kind")?;
        let (rule, points) = entry_rule(
            &entry_kind,
            penalty_kind.as_deref(),
            row.try_get("stated")?,
            rules,
        )?;
        sums.entry(row.try_get("unit_id")?)
            .or_default()
            .push(whistle_domain::rules::ScoreItem { rule, points });
    }
    Ok(sums)
}

/// An open deadline that is past due or inside its warning window, with its case.
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisionItem {
    pub deadline: DeadlineView,
    pub case_title: String,
    pub case_level: Level,
    pub unit_name: Option<String>,
    pub overdue: bool,
}

/// Open deadlines of open cases at `levels` that are past due, or due before `horizon`:
/// a supervisor's queue, most overdue first.
pub async fn supervision_queue(
    pool: &AnyPool,
    levels: &[Level],
    now: DateTime<Utc>,
    horizon: DateTime<Utc>,
) -> Result<Vec<SupervisionItem>, ProjectionError> {
    if levels.is_empty() {
        return Ok(Vec::new());
    }
    let mut conditions = Conditions::default();
    let level_placeholders: Vec<String> = levels.iter().map(|l| conditions.text(l.key())).collect();
    conditions.push(format!("c.level IN ({})", level_placeholders.join(", ")));
    conditions.push("d.settled = 0".to_owned());
    conditions.push("c.status <> 'closed'".to_owned());
    let p = conditions.int(to_micros(horizon));
    conditions.push(format!("d.due_at <= {p}"));
    let sql = format!(
        "SELECT d.*, c.title AS case_title, c.level AS case_level, u.name AS unit_name FROM rm_deadlines d \
         JOIN rm_cases c ON c.case_id = d.case_id LEFT JOIN rm_units u ON u.unit_id = d.unit_id {} \
         ORDER BY d.due_at, d.case_id, d.deadline_id LIMIT 500",
        conditions.where_sql()
    );
    let rows = conditions.fetch_all(pool, &sql).await?;
    rows.iter()
        .map(|row| {
            let deadline = deadline_view(row)?;
            Ok(SupervisionItem {
                overdue: deadline.due_at <= now,
                case_title: row.try_get("case_title")?,
                case_level: key(row, "case_level")?,
                unit_name: row.try_get("unit_name")?,
                deadline,
            })
        })
        .collect()
}

/// Closed cases, closed before `cutoff`, that still hold a post author's identity (the
/// retention pass erases them; a hint, the domain decides).
pub async fn cases_holding_personal_data_closed_before(
    pool: &AnyPool,
    cutoff: DateTime<Utc>,
) -> Result<Vec<CaseId>, ProjectionError> {
    let rows = sqlx::query(
        "SELECT DISTINCT c.case_id FROM rm_cases c JOIN rm_posts p ON p.case_id = c.case_id \
         WHERE c.status = 'closed' AND c.closed_at < $1 AND p.author IS NOT NULL AND p.author <> $2 \
         ORDER BY c.case_id LIMIT 1000",
    )
    .bind(to_micros(cutoff))
    .bind(whistle_domain::access::ERASED)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let raw: String = row.try_get(0)?;
            CaseId::parse(&raw).map_err(|e| ProjectionError::Unreadable {
                position: 0,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// Cases with an open deadline past due and not yet recorded as missed, due before
/// `warn_before` without its warning, or set provisionally (weekdays only, a year's
/// holiday schedule missing): what the deadline process looks at. A hint only — the
/// domain decides from each case's stream what is due.
pub async fn cases_with_due_deadlines(
    pool: &AnyPool,
    now: DateTime<Utc>,
    warn_before: DateTime<Utc>,
) -> Result<Vec<CaseId>, ProjectionError> {
    let rows = sqlx::query(
        "SELECT DISTINCT d.case_id FROM rm_deadlines d JOIN rm_cases c ON c.case_id = d.case_id \
         WHERE d.settled = 0 AND c.status <> 'closed' \
         AND ((d.missed_at IS NULL AND d.due_at < $1) OR (d.approaching_at IS NULL AND d.due_at <= $2) \
              OR d.rule LIKE '%/provisional') \
         ORDER BY d.case_id",
    )
    .bind(to_micros(now))
    .bind(to_micros(warn_before))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let raw: String = row.try_get(0)?;
            CaseId::parse(&raw).map_err(unreadable)
        })
        .collect()
}
