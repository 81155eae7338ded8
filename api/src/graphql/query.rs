//! Queries: one per read model, lists as Relay connections with keyset cursors, each
//! accepting `waitForPosition` so a client reads its own writes.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::Utc;
use whistle_domain::{CaseId, Role, UnitId, Vocabulary};
use whistle_projections::queries as q;
use whistle_projections::replay::{ReplayScope, replay_until};

use super::context::*;
use super::enums::{self, VocabularyListing};
use super::errors::{
    ErrorCode, error, from_audit, from_projection, from_store, internal, validation,
};
use super::node::{self, Node, NodeKind, key_of};
use super::scalars::{Date, Instant, Position};
use super::types::*;

pub struct QueryRoot;

// What a field costs beside its children (each field costs 1, a page multiplies its
// children by its size). The request limit is `MAX_COMPLEXITY` (5,000); a request of at
// least `limits::EXPENSIVE_COMPLEXITY` (1,000) waits its turn among the expensive ones.
/// A proof rebuilds the Merkle tree from the log.
const PROOF_WEIGHT: usize = 2_000;
/// A case as of an instant replays its stream.
const AS_OF_CASE_WEIGHT: usize = 1_000;
/// The dashboard aggregates the period's cases.
const DASHBOARD_WEIGHT: usize = 300;
/// The dashboard as of an instant aggregates the history rows of the period's cases.
const AS_OF_DASHBOARD_WEIGHT: usize = 1_000;
/// Scorecards aggregate every assignment of the period.
const SCORECARDS_WEIGHT: usize = 1_000;
/// The annual assessment scores every unit for a year.
const ASSESSMENT_WEIGHT: usize = 1_500;
/// A list bounded by the read model (supervision queue, referrals).
const LIST_WEIGHT: usize = 100;

/// Filters of the case list; all optional, combined with AND.
#[derive(InputObject, Default)]
pub struct CaseFilterInput {
    /// Only cases in this status.
    pub status: Option<enums::CaseStatus>,
    /// Only cases of this level.
    pub level: Option<enums::Level>,
    /// Cases with an assignment (any role, any state) to this unit.
    pub unit_id: Option<ID>,
    /// Cases with a post on this platform.
    pub platform: Option<enums::Platform>,
    /// Only cases in this key category.
    pub category: Option<enums::KeyCategory>,
    /// Only cases of this problem class.
    pub problem_class: Option<String>,
    /// Flagged at or after this instant.
    pub flagged_from: Option<Instant>,
    /// Flagged before this instant.
    pub flagged_to: Option<Instant>,
    /// Words in a post title or excerpt, or the problem class.
    pub text: Option<String>,
}

/// Filters of a trend; all optional, combined with AND.
#[derive(InputObject, Default)]
pub struct TrendFilterInput {
    /// Only cases of this level.
    pub level: Option<enums::Level>,
    /// Only cases with an assignment (any role, any state) to this unit (its code or
    /// global id).
    pub unit_id: Option<ID>,
    /// Only cases with a post on this platform.
    pub platform: Option<enums::Platform>,
    /// Only cases of this problem class.
    pub problem_class: Option<String>,
}

/// Filters of the audit trail (inspectors and evaluators).
#[derive(InputObject, Default)]
pub struct AuditFilterInput {
    /// Only events of this case (its id or global id).
    pub case_id: Option<ID>,
    /// Everything this person did.
    pub actor_id: Option<String>,
    /// Everything done by staff of this unit.
    pub actor_unit_id: Option<ID>,
    /// Everything that happened to the assignments made to this unit (assigned,
    /// accepted, returned, replies, deadlines, completion …), whoever did it.
    pub assignments_of_unit_id: Option<ID>,
    /// Recorded at or after this instant.
    pub from: Option<Instant>,
    /// Recorded before this instant.
    pub to: Option<Instant>,
    /// Only these event types, e.g. `["ReturnRejected", "CaseReopened"]`.
    pub event_types: Option<Vec<String>>,
}

fn parse_case_id(id: &ID) -> Result<CaseId> {
    CaseId::parse(&key_of(id, NodeKind::Case)?).map_err(validation)
}

fn parse_unit(raw: &str) -> Result<UnitId> {
    UnitId::parse(&key_of(raw, NodeKind::Unit)?).map_err(validation)
}

async fn unit_names(ctx: &Context<'_>) -> Result<HashMap<String, String>> {
    let units = q::units(state(ctx)?.pool())
        .await
        .map_err(from_projection)?;
    Ok(units.into_iter().map(|u| (u.unit_id, u.name)).collect())
}

/// Everything that can be read: cases and their audit trail, inboxes, the dashboard,
/// scorecards and the annual assessment, proofs for inspectors. Each field applies the
/// reader's role and unit; lists are Relay connections.
#[Object(name = "Query")]
impl QueryRoot {
    /// Any object by its global id (`id` of a `Node`): null when it does not exist or
    /// you may not see it.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id, as a `Node`'s `id` gives it.")] id: ID,
    ) -> Result<Option<Node>> {
        node::resolve(ctx, &id).await
    }

    /// Objects by their global ids, in the order asked (at most 100); null for each
    /// that does not exist or you may not see.
    #[graphql(complexity = "ids.len() * child_complexity")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids, as `Node`s' `id`s give them.")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        node::resolve_all(ctx, &ids).await
    }

    /// Who the token says you are.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        let actor = actor(ctx)?;
        Ok(Me {
            user_id: actor.user_id.to_string(),
            name: actor.name.clone(),
            role: actor.role.into(),
            role_label: actor.role.label_zh().to_owned(),
            unit_id: ID(actor.unit.to_string()),
            may_see_post_authors: whistle_domain::access::may_see_post_authors(actor),
        })
    }

    /// Every enum with each value's stable key and Chinese label.
    async fn vocabularies(&self) -> Vec<VocabularyListing> {
        enums::all_vocabularies()
    }

    /// The global position of the last event in the log, and how far the read models are.
    async fn log_position(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command's `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
    ) -> Result<LogPosition> {
        actor(ctx)?;
        wait_until_projected(ctx, wait_for_position).await?;
        let state = state(ctx)?;
        Ok(LogPosition {
            head: Position(state.store().head_position().await.map_err(from_store)?),
            read_models: Position(state.progress.current()),
            rebuilding: state
                .progress
                .rebuilding()
                .into_iter()
                .map(|r| ReadModelRebuild {
                    projection: r.projection.to_owned(),
                    from_version: r.from_version,
                    to_version: r.to_version,
                    reached: Position(r.reached),
                    head: Position(r.head),
                })
                .collect(),
        })
    }

    /// Inspectors: proof that an event is in the log that a signed checkpoint (the text of
    /// a `whistle audit checkpoint` file) covers, as a `whistle-inclusion-proof/v1`
    /// bundle (JSON) that `whistle audit verify --offline` checks with the public key.
    /// INTEGRITY when the database no longer holds the log the checkpoint signed.
    #[graphql(complexity = "PROOF_WEIGHT + child_complexity")]
    async fn inclusion_proof(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The event to prove (its `eventId`).")] event_id: ID,
        #[graphql(desc = "A signed checkpoint (the text of a `whistle audit checkpoint` file).")]
        checkpoint: String,
    ) -> Result<String> {
        require_role(ctx, &[Role::Inspector], "inclusionProof")?;
        let state = state(ctx)?;
        let bundle = whistle_audit::ledger::prove_inclusion(
            state.store().database(),
            event_id.as_str(),
            &checkpoint,
        )
        .await
        .map_err(from_audit)?;
        serde_json::to_string_pretty(&bundle).map_err(|e| internal("inclusionProof", e))
    }

    /// Inspectors: proof that the log an older signed checkpoint covers is an exact
    /// prefix of the log a newer one covers (`whistle-consistency-proof/v1`, JSON).
    #[graphql(complexity = "PROOF_WEIGHT + child_complexity")]
    async fn consistency_proof(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The older signed checkpoint (the text of a `whistle audit checkpoint` file)."
        )]
        old_checkpoint: String,
        #[graphql(desc = "The newer signed checkpoint.")] new_checkpoint: String,
    ) -> Result<String> {
        require_role(ctx, &[Role::Inspector], "consistencyProof")?;
        let state = state(ctx)?;
        let bundle = whistle_audit::ledger::prove_consistency(
            state.store().database(),
            &old_checkpoint,
            &new_checkpoint,
        )
        .await
        .map_err(from_audit)?;
        serde_json::to_string_pretty(&bundle).map_err(|e| internal("consistencyProof", e))
    }

    /// One case, if it exists and you may see it. With `asOf`: the case exactly as the
    /// read models showed it at that instant (status, assignments, replies, deadlines,
    /// timeline …), rebuilt by replaying its events recorded up to then.
    #[graphql(
        complexity = "if as_of.is_some() { AS_OF_CASE_WEIGHT } else { 1 } + child_complexity"
    )]
    async fn case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its global id or its plain id.")] id: ID,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command's `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
        #[graphql(desc = "As the record stood at this instant (default: now).")] as_of: Option<
            Instant,
        >,
    ) -> Result<Case> {
        let actor = record_reader(ctx, "cases")?;
        wait_until_projected(ctx, wait_for_position).await?;
        let case_id = parse_case_id(&id)?;
        let replay = match as_of {
            Some(as_of) => Some(Arc::new(
                replay_until(state(ctx)?.store(), as_of.0, ReplayScope::Case(case_id))
                    .await
                    .map_err(from_projection)?,
            )),
            None => None,
        };
        let pool = match &replay {
            Some(replay) => replay.pool(),
            None => state(ctx)?.pool(),
        };
        q::case_by_id(pool, &case_scope(actor), case_id)
            .await
            .map_err(from_projection)?
            .map(|summary| Case(summary, replay.clone()))
            .ok_or_else(|| {
                error(
                    ErrorCode::NotFound,
                    format!("case {case_id} does not exist or is not visible to you"),
                )
            })
    }

    /// The case list, newest flag first.
    #[graphql(complexity = "page_weight(first, last) * child_complexity")]
    #[allow(clippy::too_many_arguments)] // one per GraphQL argument
    async fn cases(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Cases from the start of the list: at most this many (1–200, default 50)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cases after this cursor (an edge's `cursor`).")] after: Option<String>,
        #[graphql(desc = "Filters, combined with AND.")] filter: Option<CaseFilterInput>,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command's `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
        #[graphql(desc = "Cases from the end of the list: at most this many (1–200).")]
        last: Option<i32>,
        #[graphql(desc = "Cases before this cursor.")] before: Option<String>,
    ) -> Result<ListConnection<Case>> {
        let actor = record_reader(ctx, "cases")?;
        wait_until_projected(ctx, wait_for_position).await?;
        let filter = filter.unwrap_or_default();
        let query_filter = q::CaseFilter {
            status: filter.status.map(Into::into),
            level: filter.level.map(Into::into),
            unit: filter
                .unit_id
                .as_deref()
                .map(|unit| parse_unit(unit))
                .transpose()?,
            platform: filter.platform.map(Into::into),
            category: filter.category.map(Into::into),
            problem_class: filter.problem_class,
            flagged_from: filter.flagged_from.map(|i| i.0),
            flagged_to: filter.flagged_to.map(|i| i.0),
            text: filter.text,
        };
        let window = page_window(first, after, last, before)?;
        let pool = state(ctx)?.pool();
        let scope = case_scope(actor);
        let page = q::list_cases(pool, &scope, &query_filter, window)
            .await
            .map_err(from_projection)?;
        Ok(connection_of(
            page,
            ListTotal::new(pool, Counted::Cases(scope, query_filter)),
            |case| case.cursor,
            Case::live,
        ))
    }

    /// The accountability audit trail of one case, oldest first.
    #[graphql(complexity = "page_weight(first, last) * child_complexity")]
    #[allow(clippy::too_many_arguments)] // one per GraphQL argument
    async fn case_timeline(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "Entries from the start: at most this many (1–200, default 50).")]
        first: Option<i32>,
        #[graphql(desc = "Entries after this cursor (an edge's `cursor`).")] after: Option<String>,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command\'s `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
        #[graphql(desc = "Entries from the end: at most this many (1–200).")] last: Option<i32>,
        #[graphql(desc = "Entries before this cursor.")] before: Option<String>,
    ) -> Result<ListConnection<TimelineEntry>> {
        let actor = record_reader(ctx, "a case's timeline")?;
        wait_until_projected(ctx, wait_for_position).await?;
        let case_id = parse_case_id(&case_id)?;
        if q::case_by_id(state(ctx)?.pool(), &case_scope(actor), case_id)
            .await
            .map_err(from_projection)?
            .is_none()
        {
            return Err(error(
                ErrorCode::NotFound,
                format!("case {case_id} does not exist or is not visible to you"),
            ));
        }
        let filter = q::TimelineFilter {
            case_id: Some(case_id),
            ..Default::default()
        };
        timeline_connection(
            ctx,
            &filter,
            page_window(first, after, last, before)?,
            "caseTimeline",
        )
        .await
    }

    /// Everything recorded, filtered by person, unit, case, window and event type: for
    /// discipline inspection and assessment.
    #[graphql(complexity = "page_weight(first, last) * child_complexity")]
    #[allow(clippy::too_many_arguments)] // one per GraphQL argument
    async fn audit_trail(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filters, combined with AND.")] filter: Option<AuditFilterInput>,
        #[graphql(desc = "Entries from the start: at most this many (1–200, default 50).")]
        first: Option<i32>,
        #[graphql(desc = "Entries after this cursor (an edge's `cursor`).")] after: Option<String>,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command\'s `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
        #[graphql(desc = "Entries from the end: at most this many (1–200).")] last: Option<i32>,
        #[graphql(desc = "Entries before this cursor.")] before: Option<String>,
    ) -> Result<ListConnection<TimelineEntry>> {
        require_role(ctx, &[Role::Inspector, Role::Evaluator], "auditTrail")?;
        wait_until_projected(ctx, wait_for_position).await?;
        let filter = filter.unwrap_or_default();
        let query_filter = q::TimelineFilter {
            case_id: filter.case_id.as_ref().map(parse_case_id).transpose()?,
            actor_id: filter.actor_id,
            actor_unit: filter
                .actor_unit_id
                .map(|unit| key_of(&unit, NodeKind::Unit))
                .transpose()?,
            assignments_of_unit: filter
                .assignments_of_unit_id
                .map(|unit| key_of(&unit, NodeKind::Unit))
                .transpose()?,
            from: filter.from.map(|i| i.0),
            to: filter.to.map(|i| i.0),
            event_types: filter.event_types.unwrap_or_default(),
            stream_id: None,
        };
        timeline_connection(
            ctx,
            &query_filter,
            page_window(first, after, last, before)?,
            "auditTrail",
        )
        .await
    }

    /// Who was shown a case's personal data (a post author's identity), when, which
    /// fields and through which path, oldest first: every look is recorded. For
    /// inspectors.
    #[graphql(complexity = "page_weight(first, last) * child_complexity")]
    #[allow(clippy::too_many_arguments)] // one per GraphQL argument
    async fn personal_data_access(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "Entries from the start: at most this many (1–200, default 50).")]
        first: Option<i32>,
        #[graphql(desc = "Entries after this cursor (an edge's `cursor`).")] after: Option<String>,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command\'s `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
        #[graphql(desc = "Entries from the end: at most this many (1–200).")] last: Option<i32>,
        #[graphql(desc = "Entries before this cursor.")] before: Option<String>,
    ) -> Result<ListConnection<TimelineEntry>> {
        require_role(ctx, &[Role::Inspector], "personalDataAccess")?;
        wait_until_projected(ctx, wait_for_position).await?;
        let case_id = parse_case_id(&case_id)?;
        let filter = q::TimelineFilter {
            stream_id: Some(whistle_domain::StreamId::PersonalDataAccess(case_id).to_string()),
            ..Default::default()
        };
        timeline_connection(
            ctx,
            &filter,
            page_window(first, after, last, before)?,
            "personalDataAccess",
        )
        .await
    }

    /// A unit's inbox: open assignments and unfinished promised rectifications. Staff of
    /// a unit see their own unit's; the cyberspace office, supervisors, leaders,
    /// evaluators and inspectors may name any unit.
    #[graphql(complexity = "page_weight(first, last) * child_complexity")]
    #[allow(clippy::too_many_arguments)] // one per GraphQL argument
    async fn inbox(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit (its code or global id); default your own.")] unit_id: Option<
            ID,
        >,
        #[graphql(desc = "Assignments from the start: at most this many (1–200, default 50).")]
        first: Option<i32>,
        #[graphql(desc = "Assignments after this cursor (an edge's `cursor`).")] after: Option<
            String,
        >,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command's `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
        #[graphql(desc = "Assignments from the end: at most this many (1–200).")] last: Option<i32>,
        #[graphql(desc = "Assignments before this cursor.")] before: Option<String>,
    ) -> Result<ListConnection<Assignment>> {
        let actor = record_reader(ctx, "inboxes")?;
        wait_until_projected(ctx, wait_for_position).await?;
        let unit = match unit_id {
            Some(raw) => parse_unit(&raw)?,
            None => actor.unit.clone(),
        };
        if unit != actor.unit && !READS_EVERYTHING.contains(&actor.role) {
            return Err(error(
                ErrorCode::Forbidden,
                format!(
                    "you may read the inbox of your own unit `{}` only",
                    actor.unit
                ),
            ));
        }
        let window = page_window(first, after, last, before)?;
        let pool = state(ctx)?.pool();
        let page = q::inbox(pool, &unit, window)
            .await
            .map_err(from_projection)?;
        Ok(connection_of(
            page,
            ListTotal::new(pool, Counted::Inbox(unit)),
            |assignment| assignment.assigned_position,
            Assignment::from,
        ))
    }

    /// Counts by status, level, unit, platform, category and problem class; flags per
    /// day; open, due in the next 24 h and overdue. Optionally only cases flagged in
    /// [from, to).
    #[graphql(
        complexity = "if as_of.is_some() { AS_OF_DASHBOARD_WEIGHT } else { DASHBOARD_WEIGHT } + child_complexity"
    )]
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only cases flagged at or after this instant.")] from: Option<Instant>,
        #[graphql(desc = "Only cases flagged before this instant.")] to: Option<Instant>,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command's `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
        #[graphql(desc = "As the record stood at this instant (default: now).")] as_of: Option<
            Instant,
        >,
    ) -> Result<Dashboard> {
        let (from, to, as_of) = (from.map(|i| i.0), to.map(|i| i.0), as_of.map(|i| i.0));
        require_role(ctx, READS_EVERYTHING, "dashboard")?;
        wait_until_projected(ctx, wait_for_position).await?;
        let Some(as_of) = as_of else {
            let now = state(ctx)?.clock().now();
            let dashboard = q::dashboard_parts(
                state(ctx)?.pool(),
                now,
                from,
                to,
                &dashboard_parts_asked(ctx),
            )
            .await
            .map_err(from_projection)?;
            return Ok(Dashboard::build(now, dashboard, &unit_names(ctx).await?));
        };
        // As of a past instant: the board's rows that held then.
        let pool = state(ctx)?.pool();
        let dashboard = q::dashboard_as_of(pool, as_of, from, to, &dashboard_parts_asked(ctx))
            .await
            .map_err(from_projection)?;
        let names = q::unit_names_as_of(pool, as_of)
            .await
            .map_err(from_projection)?;
        Ok(Dashboard::build(as_of, dashboard, &names))
    }

    /// Trends for charts: per Asia/Shanghai day, ISO week or month of [from, to), the
    /// cases flagged and their heat, the cases closed and the deadlines missed, every
    /// period present. Days cover at most 366 points; the range at most three years.
    #[graphql(complexity = "DASHBOARD_WEIGHT + child_complexity")]
    async fn trends(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day (Asia/Shanghai).")] from: Date,
        #[graphql(desc = "Day after the last: the range is [from, to).")] to: Date,
        #[graphql(
            default_with = "TrendGranularity::Day",
            desc = "Days, ISO weeks or months."
        )]
        granularity: TrendGranularity,
        #[graphql(desc = "Filters, combined with AND.")] filter: Option<TrendFilterInput>,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command's `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
    ) -> Result<Vec<TrendPoint>> {
        let actor = require_role(ctx, READS_EVERYTHING, "trends")?;
        wait_until_projected(ctx, wait_for_position).await?;
        let filter = filter.unwrap_or_default();
        let case_filter = q::CaseFilter {
            level: filter.level.map(Into::into),
            unit: filter
                .unit_id
                .as_deref()
                .map(|unit| parse_unit(unit))
                .transpose()?,
            platform: filter.platform.map(Into::into),
            problem_class: filter.problem_class,
            ..Default::default()
        };
        let points = whistle_projections::trends::trends(
            state(ctx)?.pool(),
            &case_scope(actor),
            &case_filter,
            from.0,
            to.0,
            granularity.into(),
        )
        .await
        .map_err(from_projection)?;
        Ok(points.into_iter().map(Into::into).collect())
    }

    /// Unit scorecards (docs/domain/measures.md) for the period [from, to) in Asia/Shanghai dates,
    /// as of `asOf` (default now). Staff of a unit see their own unit's only.
    #[graphql(complexity = "SCORECARDS_WEIGHT + child_complexity")]
    async fn scorecards(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day of the period (Asia/Shanghai).")] from: Date,
        #[graphql(desc = "Day after the period's last: the period is [from, to).")] to: Date,
        #[graphql(
            desc = "Only this unit (its code or global id); staff of a unit always get their own."
        )]
        unit_id: Option<ID>,
        #[graphql(desc = "As the record stood at this instant (default: now).")] as_of: Option<
            Instant,
        >,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command's `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
    ) -> Result<Vec<Scorecard>> {
        let as_of = as_of.map(|i| i.0);
        let actor = record_reader(ctx, "scorecards")?;
        wait_until_projected(ctx, wait_for_position).await?;
        if to <= from {
            return Err(error(
                ErrorCode::Validation,
                format!(
                    "the period [{}, {}) is empty: `to` must be after `from`",
                    from.0, to.0
                ),
            ));
        }
        let unit = unit_id
            .as_deref()
            .map(|unit| parse_unit(unit))
            .transpose()?;
        let unit = if READS_EVERYTHING.contains(&actor.role) {
            unit
        } else {
            match unit {
                Some(unit) if unit != actor.unit => {
                    return Err(error(
                        ErrorCode::Forbidden,
                        "you may read your own unit's scorecard only",
                    ));
                }
                _ => Some(actor.unit.clone()),
            }
        };
        let as_of = as_of.unwrap_or_else(|| {
            state(ctx)
                .map(|s| s.clock().now())
                .unwrap_or_else(|_| Utc::now())
        });
        let cards = q::scorecards(state(ctx)?.pool(), from.0, to.0, as_of, unit.as_ref())
            .await
            .map_err(from_projection)?;
        Ok(cards.into_iter().map(Scorecard::from).collect())
    }

    /// The annual assessment (年度考核) of every unit for a year, as of `asOf` (default
    /// now), ranked; every deduction and addition lists the event behind it. Staff of a
    /// unit see their own unit's only.
    #[graphql(complexity = "ASSESSMENT_WEIGHT + child_complexity")]
    async fn annual_assessment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The assessment year (a calendar year, Asia/Shanghai).")] year: i32,
        #[graphql(
            desc = "Only this unit (its code or global id); staff of a unit always get their own."
        )]
        unit_id: Option<ID>,
        #[graphql(desc = "As the record stood at this instant (default: now).")] as_of: Option<
            Instant,
        >,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command's `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
    ) -> Result<Vec<UnitAssessment>> {
        let as_of = as_of.map(|i| i.0);
        let actor = record_reader(ctx, "the annual assessment")?;
        wait_until_projected(ctx, wait_for_position).await?;
        if !(2000..=2100).contains(&year) {
            return Err(error(
                ErrorCode::Validation,
                format!("year {year} is out of range"),
            ));
        }
        let wanted = unit_id
            .as_deref()
            .map(|unit| parse_unit(unit))
            .transpose()?;
        let own_only = !READS_EVERYTHING.contains(&actor.role);
        if own_only && wanted.as_ref().is_some_and(|u| *u != actor.unit) {
            return Err(error(
                ErrorCode::Forbidden,
                "you may read your own unit's assessment only",
            ));
        }
        let state = state(ctx)?;
        let as_of = as_of.unwrap_or_else(|| state.clock().now());
        // Staff get their own unit's assessment, ranked among all, without every other
        // unit's facts being read.
        let only = if own_only {
            Some(actor.unit.clone())
        } else {
            wanted
        };
        let assessments = q::annual_assessment(
            state.pool(),
            year,
            as_of,
            &state.assessment_rules,
            only.as_ref(),
        )
        .await
        .map_err(from_projection)?;
        Ok(assessments.into_iter().map(UnitAssessment::from).collect())
    }

    /// A supervisor's queue (督办): open deadlines past due or due within 24 hours on the
    /// cases their unit supervises (一般 → the cyberspace office, 较大 and above → the
    /// supervision office, per the rules in force).
    #[graphql(complexity = "LIST_WEIGHT + child_complexity")]
    async fn supervision_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command's `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
    ) -> Result<Vec<SupervisionItem>> {
        let actor = require_role(ctx, &[Role::Supervisor], "supervisionQueue")?;
        wait_until_projected(ctx, wait_for_position).await?;
        let state = state(ctx)?;
        let levels = state
            .handler
            .rules()
            .supervision
            .levels_supervised_by(&actor.unit);
        let now = state.clock().now();
        let items = q::supervision_queue(
            state.pool(),
            &levels,
            now,
            now + chrono::Duration::hours(24),
        )
        .await
        .map_err(from_projection)?;
        Ok(items.into_iter().map(SupervisionItem::from).collect())
    }

    /// Every registered unit.
    async fn units(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command's `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
    ) -> Result<Vec<Unit>> {
        actor(ctx)?;
        wait_until_projected(ctx, wait_for_position).await?;
        let units = q::units(state(ctx)?.pool())
            .await
            .map_err(from_projection)?;
        Ok(units.into_iter().map(Unit::from).collect())
    }

    /// Rumour referrals with their outcomes; filter by outcome to see, for example, every
    /// referral the police judged "not a rumour" (docs/domain/trust.md).
    #[graphql(complexity = "LIST_WEIGHT + child_complexity")]
    async fn rumour_referrals(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only referrals with this outcome, e.g. NOT_A_RUMOUR.")] outcome: Option<
            enums::ReferralOutcome,
        >,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command's `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
    ) -> Result<Vec<Referral>> {
        require_role(
            ctx,
            &[Role::Inspector, Role::Dispatcher, Role::Evaluator],
            "rumourReferrals",
        )?;
        wait_until_projected(ctx, wait_for_position).await?;
        let referrals = q::referrals(state(ctx)?.pool(), None, outcome.map(Into::into))
            .await
            .map_err(from_projection)?;
        Ok(referrals.into_iter().map(Referral::from).collect())
    }
}

/// How far the log and the read models are.
#[derive(async_graphql::SimpleObject)]
pub struct LogPosition {
    /// Position of the last event in the log.
    pub head: Position,
    /// Position every read model has applied.
    pub read_models: Position,
    /// The read models being rebuilt from the log because their version changed (empty
    /// when none is): until each reaches its `head`, what it answers covers only part of
    /// the log.
    pub rebuilding: Vec<ReadModelRebuild>,
}

/// A read model (projection) being rebuilt from the log, and how far it is.
#[derive(async_graphql::SimpleObject)]
pub struct ReadModelRebuild {
    /// The projection: `case_board` or `timeline`.
    pub projection: String,
    /// The version its tables were built by.
    pub from_version: i64,
    /// The version this service builds.
    pub to_version: i64,
    /// The log position it has reached.
    pub reached: Position,
    /// The head of the log when the rebuild began; the rebuild is done there.
    pub head: Position,
}

/// The dashboard figures the request selects (each costs an aggregation over the
/// period's cases, so the others are not computed).
fn dashboard_parts_asked(ctx: &Context<'_>) -> Vec<q::DashboardPart> {
    use q::DashboardPart as P;
    let look_ahead = ctx.look_ahead();
    [
        ("totalCases", P::TotalCases),
        ("openCases", P::OpenCases),
        ("dueWithin24h", P::DueWithin24h),
        ("overdue", P::Overdue),
        ("byStatus", P::ByStatus),
        ("byLevel", P::ByLevel),
        ("byLeadUnit", P::ByLeadUnit),
        ("byPlatform", P::ByPlatform),
        ("byCategory", P::ByCategory),
        ("byProblemClass", P::ByProblemClass),
        ("flagsPerDay", P::FlagsPerDay),
    ]
    .into_iter()
    .filter(|(field, _)| look_ahead.field(field).exists())
    .map(|(_, part)| part)
    .collect()
}
