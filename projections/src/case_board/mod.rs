//! The `case_board` projection: the tables behind the case list and detail, unit inboxes,
//! the dashboard, scorecards and the assessment entries.
//!
//! Batched (see [`crate::batch`]): [`apply_batch`] loads every row the batch's cases,
//! units and penalties have, applies the events to them in memory in log order, and
//! writes each table once. Applying events one batch at a time or one event at a time
//! gives the same tables (the rebuild-equals-incremental tests hold it).

pub(crate) mod dashboard_facts;
mod history;
mod rows;
pub(crate) mod unit_facts;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use sqlx::AnyConnection;
use whistle_domain::calendar::shanghai_date;
use whistle_domain::case::{deadline_ids, derive_status};
use whistle_domain::{
    AssessmentEntryKind, AssignmentRole, AssignmentStatus, DeadlineKind, Event, IncidentKind,
    ReplyStatus, Vocabulary,
};
use whistle_store::{RecordedEvent, to_micros};

use crate::ProjectionError;
use crate::batch::{Rows, TableRow, delete_where_in, insert_rows, load_where_in};
use history::{History, Moment};
use rows::{
    Accountability, AssessmentEntry, Assignment, Case, Category, Deadline, FollowUp, Incident,
    MajorLead, Memo, Post, Referral, Reply, Response, Unit,
};

pub const TABLES: &[&str] = &[
    "rm_units",
    "rm_cases",
    "rm_case_categories",
    "rm_posts",
    "rm_assignments",
    "rm_replies",
    "rm_deadlines",
    "rm_unit_incidents",
    "rm_referrals",
    "rm_memos",
    "rm_responses",
    "rm_follow_ups",
    "rm_assessment_entries",
    "rm_accountability",
    "rm_case_versions",
    "rm_case_category_versions",
    "rm_deadline_versions",
    "rm_unit_name_versions",
    unit_facts::FACTS_TABLE,
    unit_facts::REACH_TABLE,
    dashboard_facts::TABLE,
];

/// Apply `events` (in log order, each with its decoded domain event) to the tables.
pub async fn apply_batch(
    connection: &mut AnyConnection,
    events: &[(RecordedEvent, Event)],
) -> Result<(), ProjectionError> {
    let mut board = Board::load(connection, events).await?;
    for (recorded, event) in events {
        board.apply(recorded, event)?;
        board.record_history(recorded, event)?;
    }
    unit_facts::settle_responses(&mut board.assignments);
    // Read before the write replaces the categories it compares with.
    let counts = dashboard_facts::differences(connection, &board.cases, &board.categories).await?;
    board.write(connection).await?;
    dashboard_facts::write(connection, &counts).await?;
    let differences = unit_facts::differences(&board.assignments, &board.incidents);
    unit_facts::write(connection, &differences, events).await?;
    Ok(())
}

/// The rows one batch touches.
#[derive(Default)]
struct Board {
    units: Rows<Unit>,
    cases: Rows<Case>,
    posts: Rows<Post>,
    assignments: Rows<Assignment>,
    replies: Rows<Reply>,
    deadlines: Rows<Deadline>,
    referrals: Rows<Referral>,
    memos: Rows<Memo>,
    assessment_entries: Rows<AssessmentEntry>,
    /// Units already recorded as leading a major case, per case.
    major_leads: HashSet<(String, String)>,
    /// Cases whose categories a triage replaced, with the new ones (sorted).
    categories: BTreeMap<String, Vec<String>>,
    incidents: Vec<Incident>,
    responses: Vec<Response>,
    follow_ups: Vec<FollowUp>,
    accountability: Vec<Accountability>,
    /// The history rows of the batch's cases and units.
    history: History,
}

/// What one event is: where it is in the log, when, by whom.
struct At<'a> {
    position: i64,
    at: i64,
    event_id: String,
    actor_name: &'a str,
}

fn refused(position: i64, reason: impl Into<String>) -> ProjectionError {
    ProjectionError::Unreadable {
        position,
        reason: reason.into(),
    }
}

fn heat_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Board {
    /// Read every row the batch's events may read or change.
    async fn load(
        c: &mut AnyConnection,
        events: &[(RecordedEvent, Event)],
    ) -> Result<Self, ProjectionError> {
        let mut cases = BTreeSet::new();
        let mut units = BTreeSet::new();
        let mut urls = BTreeSet::new();
        let mut entries = BTreeSet::new();
        // Replies, referrals and memos are loaded only for a batch that has their events.
        let (mut replies, mut referrals, mut memos) = (false, false, false);
        for (_, event) in events {
            use Event as E;
            match event {
                E::ReplySubmitted { .. } | E::ReplyApproved { .. } | E::ReplySentBack { .. } => {
                    replies = true;
                }
                E::RumourReferralProposed { .. }
                | E::RumourReferralApproved { .. }
                | E::ReferralOutcomeRecorded { .. }
                | E::RumourRebutted { .. } => referrals = true,
                E::MemoSent { .. } | E::LeaderInstructed { .. } => memos = true,
                _ => {}
            }
            if let Some(case_id) = event.case_id() {
                cases.insert(case_id.to_string());
            }
            match event {
                Event::UnitRenamed { unit_id, .. } | Event::UnitDeactivated { unit_id, .. } => {
                    units.insert(unit_id.to_string());
                }
                Event::HeatRecorded { url, .. } => {
                    urls.insert(url.as_str().to_owned());
                }
                Event::PenaltyRevoked { penalty_id, .. } => {
                    entries.insert(penalty_id.to_string());
                }
                // Not a case event (it is recorded in the personal-data stream), but it
                // changes the case's posts.
                Event::PersonalDataErased { case_id, .. } => {
                    cases.insert(case_id.to_string());
                }
                _ => {}
            }
        }
        let cases: Vec<String> = cases.into_iter().collect();
        let units: Vec<String> = units.into_iter().collect();
        let urls: Vec<String> = urls.into_iter().collect();
        let entries: Vec<String> = entries.into_iter().collect();

        let mut board = Board::default();
        board
            .units
            .add_stored(load_where_in(c, "unit_id", &units, None).await?);
        board
            .cases
            .add_stored(load_where_in(c, "case_id", &cases, None).await?);
        board
            .posts
            .add_stored(load_where_in(c, "case_id", &cases, None).await?);
        board
            .posts
            .add_stored(load_where_in(c, "url", &urls, None).await?);
        board
            .assignments
            .add_stored(load_where_in(c, "case_id", &cases, None).await?);
        let cases_if = |wanted: bool| if wanted { &cases[..] } else { &[][..] };
        board
            .replies
            .add_stored(load_where_in(c, "case_id", cases_if(replies), None).await?);
        board
            .deadlines
            .add_stored(load_where_in(c, "case_id", &cases, None).await?);
        board
            .referrals
            .add_stored(load_where_in(c, "case_id", cases_if(referrals), None).await?);
        board
            .memos
            .add_stored(load_where_in(c, "case_id", cases_if(memos), None).await?);
        board
            .assessment_entries
            .add_stored(load_where_in(c, "entry_id", &entries, None).await?);
        let leads: Vec<MajorLead> = load_where_in(
            c,
            "case_id",
            &cases,
            Some(&format!("kind = '{}'", IncidentKind::MajorLead.key())),
        )
        .await?;
        board.major_leads = leads.into_iter().map(|l| (l.case_id, l.unit_id)).collect();
        board.history = History::load(c, &cases, &units).await?;
        Ok(board)
    }

    /// Write every table once.
    async fn write(&self, c: &mut AnyConnection) -> Result<(), ProjectionError> {
        self.units.write(c).await?;
        self.cases.write(c).await?;
        self.posts.write(c).await?;
        self.assignments.write(c).await?;
        self.replies.write(c).await?;
        self.deadlines.write(c).await?;
        self.referrals.write(c).await?;
        self.memos.write(c).await?;
        self.assessment_entries.write(c).await?;
        insert_rows(c, &self.incidents.iter().collect::<Vec<_>>(), None).await?;
        insert_rows(c, &self.responses.iter().collect::<Vec<_>>(), None).await?;
        insert_rows(c, &self.follow_ups.iter().collect::<Vec<_>>(), None).await?;
        insert_rows(c, &self.accountability.iter().collect::<Vec<_>>(), None).await?;
        self.history.write(c).await?;
        if !self.categories.is_empty() {
            let replaced: Vec<String> = self.categories.keys().cloned().collect();
            delete_where_in(c, Category::TABLE, "case_id", &replaced, None).await?;
            let rows: Vec<Category> = self
                .categories
                .iter()
                .flat_map(|(case_id, categories)| {
                    categories.iter().map(|category| Category {
                        case_id: case_id.clone(),
                        category: category.clone(),
                    })
                })
                .collect();
            insert_rows(c, &rows.iter().collect::<Vec<_>>(), None).await?;
        }
        Ok(())
    }

    /// After an event: open history rows for what it changed of its case (or its unit's
    /// name).
    fn record_history(
        &mut self,
        recorded: &RecordedEvent,
        event: &Event,
    ) -> Result<(), ProjectionError> {
        let at = Moment {
            position: recorded.position,
            recorded_at: to_micros(recorded.recorded_at),
        };
        if let Event::UnitRegistered { unit_id, .. } | Event::UnitRenamed { unit_id, .. } = event
            && let Some(unit) = self.units.get(&unit_id.to_string())
        {
            self.history
                .record_unit_name(at, &unit.unit_id, &unit.name)?;
        }
        let Some(case_id) = event.case_id() else {
            return Ok(());
        };
        let case_id = case_id.to_string();
        let Some(case) = self.cases.get(&case_id) else {
            return Ok(());
        };
        self.history.record_case(at, case)?;
        if let Some(categories) = self.categories.get(&case_id) {
            self.history.record_categories(at, case, categories)?;
        }
        for deadline in self.deadlines.of_case(&case_id) {
            self.history.record_deadline(at, deadline)?;
        }
        Ok(())
    }

    fn case_mut(&mut self, position: i64, case_id: &str) -> Result<&mut Case, ProjectionError> {
        self.cases
            .get_mut(&case_id.to_owned())
            .ok_or_else(|| refused(position, format!("case {case_id} is not on the board")))
    }

    fn case(&self, position: i64, case_id: &str) -> Result<&Case, ProjectionError> {
        self.cases
            .get(&case_id.to_owned())
            .ok_or_else(|| refused(position, format!("case {case_id} is not on the board")))
    }

    /// Change an assignment if it is on the board (an update of no row otherwise).
    fn with_assignment(&mut self, assignment_id: &str, change: impl FnOnce(&mut Assignment)) {
        if let Some(assignment) = self.assignments.get_mut(&assignment_id.to_owned()) {
            change(assignment);
        }
    }

    fn assignment_unit(
        &self,
        position: i64,
        assignment_id: &str,
    ) -> Result<String, ProjectionError> {
        self.assignments
            .get(&assignment_id.to_owned())
            .map(|a| a.unit_id.clone())
            .ok_or_else(|| {
                refused(
                    position,
                    format!("assignment {assignment_id} is not on the board"),
                )
            })
    }

    fn insert_new<R: TableRow>(
        rows: &mut Rows<R>,
        position: i64,
        row: R,
        what: &str,
    ) -> Result<(), ProjectionError> {
        if rows.insert(row) {
            Ok(())
        } else {
            Err(refused(position, format!("{what} is recorded twice")))
        }
    }

    fn apply(&mut self, recorded: &RecordedEvent, event: &Event) -> Result<(), ProjectionError> {
        use Event as E;
        let here = At {
            position: recorded.position,
            at: to_micros(recorded.recorded_at),
            event_id: recorded.event_id.to_string(),
            actor_name: recorded.actor.name.as_str(),
        };
        let position = here.position;
        let at = here.at;

        // Every case event moves the case's "last activity".
        if let Some(case_id) = event.case_id()
            && !matches!(event, E::PostFlagged { .. })
            && let Some(case) = self.cases.get_mut(&case_id.to_string())
        {
            case.last_event_at = at;
            case.last_position = position;
        }

        match event {
            E::UnitRegistered {
                unit_id,
                name,
                kind,
                parent,
                jurisdiction,
            } => {
                let unit = Unit {
                    unit_id: unit_id.to_string(),
                    name: name.as_str().to_owned(),
                    kind: kind.key().to_owned(),
                    parent_id: parent.as_ref().map(|p| p.as_str().to_owned()),
                    jurisdiction: jurisdiction.as_ref().map(|j| j.as_str().to_owned()),
                    active: 1,
                    registered_at: at,
                };
                Self::insert_new(&mut self.units, position, unit, "a unit")?;
            }
            E::UnitRenamed { unit_id, to, .. } => {
                if let Some(unit) = self.units.get_mut(&unit_id.to_string()) {
                    unit.name = to.as_str().to_owned();
                }
            }
            E::UnitDeactivated { unit_id, .. } => {
                if let Some(unit) = self.units.get_mut(&unit_id.to_string()) {
                    unit.active = 0;
                }
            }

            E::PostFlagged {
                case_id,
                post,
                note,
                flagged_at,
            } => {
                let case = Case {
                    case_id: case_id.to_string(),
                    flagged_position: position,
                    status: "flagged".to_owned(),
                    level: None,
                    problem_class: None,
                    jurisdiction_unit: None,
                    title: post.title.clone(),
                    platform: post.platform.key().to_owned(),
                    first_url: post.url.as_str().to_owned(),
                    flagged_at: to_micros(*flagged_at),
                    flagged_day: shanghai_date(*flagged_at).to_string(),
                    flagged_by: here.actor_name.to_owned(),
                    note: note.as_ref().map(|n| n.as_str().to_owned()),
                    lead_unit: None,
                    post_count: 1,
                    heat_total: heat_i64(post.heat.total()),
                    mass_incident: 0,
                    reopen_count: 0,
                    closed_at: None,
                    outcome: None,
                    last_event_at: to_micros(*flagged_at),
                    last_position: position,
                    search_text: format!("{} {}", post.title, post.excerpt).to_lowercase(),
                };
                Self::insert_new(&mut self.cases, position, case, "a case")?;
                self.insert_post(&case_id.to_string(), post, &here)?;
            }
            E::PostAttached { case_id, post, .. } => {
                let id = case_id.to_string();
                self.insert_post(&id, post, &here)?;
                if let Some(case) = self.cases.get_mut(&id) {
                    case.post_count += 1;
                    case.heat_total = case
                        .heat_total
                        .checked_add(heat_i64(post.heat.total()))
                        .ok_or_else(|| refused(position, "a case's heat overflows"))?;
                    case.search_text.push(' ');
                    case.search_text
                        .push_str(&format!("{} {}", post.title, post.excerpt).to_lowercase());
                }
            }
            E::HeatRecorded {
                case_id,
                url,
                heat,
                at: heat_at,
            } => {
                if let Some(post) = self.posts.get_mut(&url.as_str().to_owned()) {
                    post.views = heat_i64(heat.views);
                    post.reposts = heat_i64(heat.reposts);
                    post.comments = heat_i64(heat.comments);
                    post.likes = heat_i64(heat.likes);
                    post.heat_recorded_at = to_micros(*heat_at);
                }
                let id = case_id.to_string();
                let mut total: i64 = 0;
                for post in self.posts.of_case(&id) {
                    total = [post.views, post.reposts, post.comments, post.likes]
                        .into_iter()
                        .try_fold(total, i64::checked_add)
                        .ok_or_else(|| refused(position, "a case's heat overflows"))?;
                }
                if let Some(case) = self.cases.get_mut(&id) {
                    case.heat_total = total;
                }
            }
            E::FollowUpRecorded {
                case_id,
                observation,
                sentiment,
            } => {
                self.follow_ups.push(FollowUp {
                    position,
                    case_id: case_id.to_string(),
                    observation: observation.as_str().to_owned(),
                    sentiment: sentiment.key().to_owned(),
                    recorded_at: at,
                    actor_name: here.actor_name.to_owned(),
                });
            }

            E::CaseTriaged {
                case_id,
                level,
                categories,
                problem_class,
                jurisdiction,
            } => {
                let id = case_id.to_string();
                if let Some(case) = self.cases.get_mut(&id) {
                    case.level = Some(level.key().to_owned());
                    case.problem_class = Some(problem_class.as_str().to_owned());
                    case.jurisdiction_unit = jurisdiction.as_ref().map(|j| j.as_str().to_owned());
                    case.search_text.push(' ');
                    case.search_text
                        .push_str(&problem_class.as_str().to_lowercase());
                }
                let mut keys: Vec<String> = Vec::with_capacity(categories.len());
                for category in categories {
                    let key = category.key().to_owned();
                    if keys.contains(&key) {
                        return Err(refused(position, format!("category {key} is named twice")));
                    }
                    keys.push(key);
                }
                // Sorted: the table has no order, and the history compares sets.
                keys.sort_unstable();
                self.categories.insert(id.clone(), keys);
                self.refresh_status(position, &id)?;
                self.record_major_lead_once(&here, &id)?;
            }
            E::CaseLevelChanged { case_id, to, .. } => {
                let id = case_id.to_string();
                if let Some(case) = self.cases.get_mut(&id) {
                    case.level = Some(to.key().to_owned());
                }
                self.record_major_lead_once(&here, &id)?;
            }

            E::CaseAssigned {
                case_id,
                assignment_id,
                unit_id,
                role,
                assigned_at,
                deadline,
                deadline_rule,
                instruction,
            } => {
                let id = case_id.to_string();
                let assignment = Assignment {
                    assignment_id: assignment_id.to_string(),
                    case_id: id.clone(),
                    unit_id: unit_id.to_string(),
                    role: role.key().to_owned(),
                    status: AssignmentStatus::AwaitingSignature.key().to_owned(),
                    instruction: instruction.as_ref().map(|i| i.as_str().to_owned()),
                    assigned_at: to_micros(*assigned_at),
                    assigned_position: position,
                    deadline_at: to_micros(*deadline),
                    deadline_rule: deadline_rule.clone(),
                    accepted_at: None,
                    returned_reason: None,
                    finding: None,
                    finding_summary: None,
                    pending_reply_id: None,
                    first_approved_reply_at: None,
                    deadline_at_first_approval: None,
                    rectification_due_date: None,
                    rectification_due_at: None,
                    rectification_measures: None,
                    rectification_completed_at: None,
                    rectification_result: None,
                    completed_at: None,
                    completion_summary: None,
                    withdrawn_at: None,
                    return_accepted_at: None,
                    missed_deadlines: 0,
                    rejected_returns: 0,
                    last_position: position,
                    counted_response: None,
                };
                Self::insert_new(&mut self.assignments, position, assignment, "an assignment")?;
                self.upsert_deadline(Deadline {
                    case_id: id.clone(),
                    deadline_id: deadline_ids::feedback(*assignment_id),
                    kind: DeadlineKind::Feedback.key().to_owned(),
                    unit_id: Some(unit_id.to_string()),
                    assignment_id: Some(assignment_id.to_string()),
                    due_at: to_micros(*deadline),
                    rule: deadline_rule.clone(),
                    settled: 0,
                    approaching_at: None,
                    missed_at: None,
                });
                if *role == AssignmentRole::Lead {
                    if let Some(case) = self.cases.get_mut(&id) {
                        case.lead_unit = Some(unit_id.to_string());
                    }
                    self.record_major_lead_once(&here, &id)?;
                }
                self.refresh_status(position, &id)?;
            }
            E::AssignmentAccepted {
                case_id,
                assignment_id,
            } => {
                self.with_assignment(&assignment_id.to_string(), |a| {
                    a.status = AssignmentStatus::Accepted.key().to_owned();
                    a.accepted_at = Some(at);
                    a.last_position = position;
                });
                self.refresh_status(position, &case_id.to_string())?;
            }
            E::AssignmentReturned {
                case_id,
                assignment_id,
                reason,
            } => {
                self.with_assignment(&assignment_id.to_string(), |a| {
                    a.status = AssignmentStatus::Returned.key().to_owned();
                    a.returned_reason = Some(reason.as_str().to_owned());
                    a.last_position = position;
                });
                self.refresh_status(position, &case_id.to_string())?;
            }
            E::ReturnAccepted {
                case_id,
                assignment_id,
                ..
            } => {
                self.with_assignment(&assignment_id.to_string(), |a| {
                    a.status = AssignmentStatus::ReturnAccepted.key().to_owned();
                    a.return_accepted_at = Some(at);
                    a.last_position = position;
                });
                self.end_assignment(position, &case_id.to_string(), &assignment_id.to_string())?;
            }
            E::ReturnRejected {
                case_id,
                assignment_id,
                ..
            } => {
                self.with_assignment(&assignment_id.to_string(), |a| {
                    a.status = AssignmentStatus::Accepted.key().to_owned();
                    a.accepted_at = a.accepted_at.or(Some(at));
                    a.rejected_returns += 1;
                    a.last_position = position;
                });
                self.record_incident(
                    &here,
                    &case_id.to_string(),
                    Some(&assignment_id.to_string()),
                    None,
                    IncidentKind::ReturnRejected,
                    None,
                )?;
                self.refresh_status(position, &case_id.to_string())?;
            }
            E::AssignmentWithdrawn {
                case_id,
                assignment_id,
                ..
            } => {
                self.with_assignment(&assignment_id.to_string(), |a| {
                    a.status = AssignmentStatus::Withdrawn.key().to_owned();
                    a.withdrawn_at = Some(at);
                    a.last_position = position;
                });
                self.end_assignment(position, &case_id.to_string(), &assignment_id.to_string())?;
            }
            E::FactsVerified {
                assignment_id,
                finding,
                summary,
                ..
            } => {
                self.with_assignment(&assignment_id.to_string(), |a| {
                    a.finding = Some(finding.key().to_owned());
                    a.finding_summary = Some(summary.as_str().to_owned());
                    a.last_position = position;
                });
            }
            E::ReplySubmitted {
                case_id,
                assignment_id,
                reply_id,
                content,
            } => {
                let assignment = assignment_id.to_string();
                let unit_id = self.assignment_unit(position, &assignment)?;
                let reply = Reply {
                    reply_id: reply_id.to_string(),
                    case_id: case_id.to_string(),
                    assignment_id: assignment.clone(),
                    unit_id,
                    content: content.as_str().to_owned(),
                    status: ReplyStatus::Submitted.key().to_owned(),
                    submitted_at: at,
                    submitted_by: here.actor_name.to_owned(),
                    decided_at: None,
                    decided_by: None,
                    decision_note: None,
                    position,
                };
                Self::insert_new(&mut self.replies, position, reply, "a reply")?;
                self.with_assignment(&assignment, |a| {
                    a.pending_reply_id = Some(reply_id.to_string());
                    a.last_position = position;
                });
            }
            E::ReplyApproved {
                case_id,
                assignment_id,
                reply_id,
                note,
                approved_at,
            } => {
                self.decide_reply(
                    &reply_id.to_string(),
                    ReplyStatus::Approved,
                    &here,
                    note.as_ref().map(|n| n.as_str()),
                );
                // The first approved reply is the feedback; its deadline is the one in
                // force now.
                self.with_assignment(&assignment_id.to_string(), |a| {
                    a.pending_reply_id = None;
                    a.last_position = position;
                    if a.first_approved_reply_at.is_none() {
                        a.deadline_at_first_approval = Some(a.deadline_at);
                        a.first_approved_reply_at = Some(to_micros(*approved_at));
                    }
                });
                let id = case_id.to_string();
                self.settle_deadline(&id, &deadline_ids::feedback(*assignment_id));
                self.deadlines.update_case(
                    &id,
                    |d| d.kind == DeadlineKind::LeaderInstruction.key(),
                    |d| d.settled = 1,
                );
            }
            E::ReplySentBack {
                assignment_id,
                reply_id,
                note,
                ..
            } => {
                self.decide_reply(
                    &reply_id.to_string(),
                    ReplyStatus::SentBack,
                    &here,
                    Some(note.as_str()),
                );
                self.with_assignment(&assignment_id.to_string(), |a| {
                    a.pending_reply_id = None;
                    a.last_position = position;
                });
            }
            E::ResponsePublished {
                case_id,
                channel,
                content,
                url,
                published_at,
            } => {
                self.responses.push(Response {
                    position,
                    case_id: case_id.to_string(),
                    kind: "public_response".to_owned(),
                    channel: channel.key().to_owned(),
                    content: content.as_str().to_owned(),
                    url: url.as_ref().map(|u| u.as_str().to_owned()),
                    published_at: to_micros(*published_at),
                    actor_name: here.actor_name.to_owned(),
                });
                if *channel == whistle_domain::ResponseChannel::PressConference {
                    self.settle_deadline(&case_id.to_string(), deadline_ids::PUBLIC_RESPONSE);
                }
            }
            E::RectificationPromised {
                case_id,
                assignment_id,
                due_date,
                due_at,
                measures,
            } => {
                let assignment = assignment_id.to_string();
                self.with_assignment(&assignment, |a| {
                    a.rectification_due_date = Some(due_date.to_string());
                    a.rectification_due_at = Some(to_micros(*due_at));
                    a.rectification_measures = Some(measures.as_str().to_owned());
                    a.rectification_completed_at = None;
                    a.rectification_result = None;
                    a.last_position = position;
                });
                let unit_id = self.assignment_unit(position, &assignment)?;
                self.upsert_deadline(Deadline {
                    case_id: case_id.to_string(),
                    deadline_id: deadline_ids::rectification(*assignment_id),
                    kind: DeadlineKind::Rectification.key().to_owned(),
                    unit_id: Some(unit_id),
                    assignment_id: Some(assignment),
                    due_at: to_micros(*due_at),
                    rule: "rectification/promised".to_owned(),
                    settled: 0,
                    approaching_at: None,
                    missed_at: None,
                });
            }
            E::RectificationCompleted {
                case_id,
                assignment_id,
                result,
            } => {
                self.with_assignment(&assignment_id.to_string(), |a| {
                    a.rectification_completed_at = Some(at);
                    a.rectification_result = Some(result.as_str().to_owned());
                    a.last_position = position;
                });
                self.settle_deadline(
                    &case_id.to_string(),
                    &deadline_ids::rectification(*assignment_id),
                );
            }
            E::AssignmentCompleted {
                case_id,
                assignment_id,
                summary,
            } => {
                self.with_assignment(&assignment_id.to_string(), |a| {
                    a.status = AssignmentStatus::Completed.key().to_owned();
                    a.completed_at = Some(at);
                    a.completion_summary = Some(summary.as_str().to_owned());
                    a.last_position = position;
                });
                let id = case_id.to_string();
                self.settle_deadline(&id, &deadline_ids::feedback(*assignment_id));
                self.settle_deadline(&id, &deadline_ids::rectification(*assignment_id));
                self.refresh_status(position, &id)?;
            }

            E::MemoSent {
                case_id,
                memo_id,
                summary,
            } => {
                let memo = Memo {
                    memo_id: memo_id.to_string(),
                    case_id: case_id.to_string(),
                    summary: summary.as_str().to_owned(),
                    sent_at: at,
                    sent_by: here.actor_name.to_owned(),
                    instruction: None,
                    instructed_by: None,
                    instructed_at: None,
                    deadline_at: None,
                    position,
                };
                Self::insert_new(&mut self.memos, position, memo, "a memo")?;
            }
            E::LeaderInstructed {
                case_id,
                memo_id,
                instruction,
                deadline,
                deadline_rule,
                ..
            } => {
                if let Some(memo) = self.memos.get_mut(&memo_id.to_string()) {
                    memo.instruction = Some(instruction.as_str().to_owned());
                    memo.instructed_by = Some(here.actor_name.to_owned());
                    memo.instructed_at = Some(at);
                    memo.deadline_at = Some(to_micros(*deadline));
                }
                let id = case_id.to_string();
                let lead = self.case(position, &id)?.lead_unit.clone();
                self.upsert_deadline(Deadline {
                    case_id: id,
                    deadline_id: deadline_ids::leader_instruction(*memo_id),
                    kind: DeadlineKind::LeaderInstruction.key().to_owned(),
                    unit_id: lead,
                    assignment_id: None,
                    due_at: to_micros(*deadline),
                    rule: deadline_rule.clone(),
                    settled: 0,
                    approaching_at: None,
                    missed_at: None,
                });
            }

            E::DeadlineSet {
                case_id,
                deadline_id,
                kind,
                unit_id,
                due_at,
                deadline_rule,
            } => {
                self.upsert_deadline(Deadline {
                    case_id: case_id.to_string(),
                    deadline_id: deadline_id.clone(),
                    kind: kind.key().to_owned(),
                    unit_id: unit_id.as_ref().map(|u| u.to_string()),
                    assignment_id: None,
                    due_at: to_micros(*due_at),
                    rule: deadline_rule.clone(),
                    settled: 0,
                    approaching_at: None,
                    missed_at: None,
                });
            }
            E::DeadlineRescheduled {
                case_id,
                deadline_id,
                assignment_id,
                due_at,
                deadline_rule,
                previous_due_at,
                ..
            } => {
                let due = to_micros(*due_at);
                if let Some(d) = self
                    .deadlines
                    .get_mut(&(case_id.to_string(), deadline_id.clone()))
                {
                    d.due_at = due;
                    d.rule = deadline_rule.clone();
                    // A deadline moved later is no longer approaching.
                    if due > to_micros(*previous_due_at) {
                        d.approaching_at = None;
                    }
                }
                if let Some(assignment_id) = assignment_id {
                    self.with_assignment(&assignment_id.to_string(), |a| {
                        a.deadline_at = due;
                        a.deadline_rule = deadline_rule.clone();
                        a.last_position = position;
                    });
                }
            }
            E::DeadlineApproaching {
                case_id,
                deadline_id,
                ..
            } => {
                if let Some(d) = self
                    .deadlines
                    .get_mut(&(case_id.to_string(), deadline_id.clone()))
                {
                    d.approaching_at = Some(at);
                }
            }
            E::DeadlineMissed {
                case_id,
                deadline_id,
                kind: missed_kind,
                unit_id,
                assignment_id,
                ..
            } => {
                let id = case_id.to_string();
                if let Some(d) = self.deadlines.get_mut(&(id.clone(), deadline_id.clone())) {
                    d.missed_at = Some(at);
                }
                if let Some(assignment_id) = assignment_id {
                    self.with_assignment(&assignment_id.to_string(), |a| {
                        a.missed_deadlines += 1;
                        a.last_position = position;
                    });
                }
                if let Some(unit_id) = unit_id {
                    self.record_incident(
                        &here,
                        &id,
                        assignment_id.map(|a| a.to_string()).as_deref(),
                        Some(unit_id.as_str()),
                        IncidentKind::DeadlineMissed,
                        Some(*missed_kind),
                    )?;
                }
            }
            E::SupervisionUrged {
                case_id,
                target_unit,
                ..
            } => {
                let id = case_id.to_string();
                // The unit's latest assignment on the case, if it has one.
                let assignment_id = self
                    .assignments
                    .of_case(&id)
                    .filter(|a| a.unit_id == target_unit.as_str())
                    .max_by_key(|a| a.assigned_position)
                    .map(|a| a.assignment_id.clone());
                self.incidents.push(Incident {
                    position,
                    unit_id: target_unit.to_string(),
                    case_id: id,
                    assignment_id,
                    kind: IncidentKind::SupervisionUrged.key().to_owned(),
                    recorded_at: at,
                    event_id: Some(here.event_id.clone()),
                    deadline_kind: None,
                });
            }

            E::RumourReferralProposed {
                case_id,
                referral_id,
                police_unit,
                legal_basis,
                evidence,
                proposed_by,
            } => {
                let referral = Referral {
                    referral_id: referral_id.to_string(),
                    case_id: case_id.to_string(),
                    police_unit: police_unit.to_string(),
                    legal_basis: legal_basis.as_str().to_owned(),
                    evidence: evidence.as_str().to_owned(),
                    proposed_by: proposed_by.as_str().to_owned(),
                    proposed_at: at,
                    approved_by: None,
                    approved_at: None,
                    outcome: None,
                    outcome_action: None,
                    outcome_at: None,
                    rebutted_at: None,
                    position,
                };
                Self::insert_new(&mut self.referrals, position, referral, "a referral")?;
            }
            E::RumourReferralApproved {
                referral_id,
                approved_by,
                ..
            } => {
                if let Some(r) = self.referrals.get_mut(&referral_id.to_string()) {
                    r.approved_by = Some(approved_by.as_str().to_owned());
                    r.approved_at = Some(at);
                }
            }
            E::ReferralOutcomeRecorded {
                referral_id,
                outcome,
                action,
                ..
            } => {
                if let Some(r) = self.referrals.get_mut(&referral_id.to_string()) {
                    r.outcome = Some(outcome.key().to_owned());
                    r.outcome_action = Some(action.as_str().to_owned());
                    r.outcome_at = Some(at);
                }
            }
            E::RumourRebutted {
                case_id,
                referral_id,
                channel,
                content,
            } => {
                if let Some(r) = self.referrals.get_mut(&referral_id.to_string()) {
                    r.rebutted_at = Some(at);
                }
                self.responses.push(Response {
                    position,
                    case_id: case_id.to_string(),
                    kind: "rumour_rebuttal".to_owned(),
                    channel: channel.key().to_owned(),
                    content: content.as_str().to_owned(),
                    url: None,
                    published_at: at,
                    actor_name: here.actor_name.to_owned(),
                });
            }

            E::CaseClosed {
                case_id,
                outcome,
                closed_at,
            } => {
                let id = case_id.to_string();
                if let Some(case) = self.cases.get_mut(&id) {
                    case.closed_at = Some(to_micros(*closed_at));
                    case.outcome = Some(outcome.as_str().to_owned());
                }
                self.deadlines.update_case(&id, |_| true, |d| d.settled = 1);
                self.refresh_status(position, &id)?;
            }
            E::CaseReopened { case_id, .. } => {
                let id = case_id.to_string();
                if let Some(case) = self.cases.get_mut(&id) {
                    case.closed_at = None;
                    case.reopen_count += 1;
                }
                self.refresh_status(position, &id)?;
            }
            E::MassIncidentDeclared { case_id, .. } => {
                let id = case_id.to_string();
                let case = self.case_mut(position, &id)?;
                case.mass_incident = 1;
                // The lead unit at the declaration carries the one-vote veto.
                if let Some(lead) = case.lead_unit.clone() {
                    self.record_incident(
                        &here,
                        &id,
                        None,
                        Some(&lead),
                        IncidentKind::MassIncident,
                        None,
                    )?;
                }
            }

            E::PenaltyApplied {
                penalty_id,
                unit_id,
                year,
                person,
                kind,
                points,
                reason,
                case_ids,
                period,
            } => {
                let entry = AssessmentEntry {
                    position,
                    entry_id: penalty_id.to_string(),
                    unit_id: unit_id.to_string(),
                    year: i64::from(*year),
                    entry_kind: AssessmentEntryKind::Penalty.key().to_owned(),
                    penalty_kind: Some(kind.key().to_owned()),
                    points: i64::from(*points),
                    reason: reason.as_str().to_owned(),
                    person: person.as_ref().map(|p| p.as_str().to_owned()),
                    case_ids: serde_json::to_string(case_ids).unwrap_or_default(),
                    period_from: period.from.to_string(),
                    period_to: period.to.to_string(),
                    recorded_at: at,
                    recorded_by: here.actor_name.to_owned(),
                    revoked_at: None,
                    revoke_reason: None,
                    event_id: Some(here.event_id.clone()),
                    revoke_event_id: None,
                };
                Self::insert_new(&mut self.assessment_entries, position, entry, "a penalty")?;
            }
            E::PenaltyRevoked {
                penalty_id, reason, ..
            } => {
                let entry_id = penalty_id.to_string();
                for key in self
                    .assessment_entries
                    .keys_where(|e| e.entry_id == entry_id)
                {
                    if let Some(entry) = self.assessment_entries.get_mut(&key) {
                        entry.revoked_at = Some(at);
                        entry.revoke_reason = Some(reason.as_str().to_owned());
                        entry.revoke_event_id = Some(here.event_id.clone());
                    }
                }
            }
            E::CommendationAwarded {
                commendation_id,
                unit_id,
                year,
                points,
                reason,
                period,
            } => {
                let entry = AssessmentEntry {
                    position,
                    entry_id: commendation_id.to_string(),
                    unit_id: unit_id.to_string(),
                    year: i64::from(*year),
                    entry_kind: AssessmentEntryKind::Commendation.key().to_owned(),
                    penalty_kind: None,
                    points: i64::from(*points),
                    reason: reason.as_str().to_owned(),
                    person: None,
                    case_ids: "[]".to_owned(),
                    period_from: period.from.to_string(),
                    period_to: period.to.to_string(),
                    recorded_at: at,
                    recorded_by: here.actor_name.to_owned(),
                    revoked_at: None,
                    revoke_reason: None,
                    event_id: Some(here.event_id.clone()),
                    revoke_event_id: None,
                };
                Self::insert_new(
                    &mut self.assessment_entries,
                    position,
                    entry,
                    "a commendation",
                )?;
            }
            E::AccountabilityReferred {
                accountability_id,
                unit_id,
                year,
                person,
                case_ids,
                reason,
            } => {
                self.accountability.push(Accountability {
                    position,
                    accountability_id: accountability_id.to_string(),
                    unit_id: unit_id.to_string(),
                    year: i64::from(*year),
                    step: "referred".to_owned(),
                    person: person.as_str().to_owned(),
                    case_ids: serde_json::to_string(case_ids).unwrap_or_default(),
                    text: reason.as_str().to_owned(),
                    recorded_at: at,
                    recorded_by: here.actor_name.to_owned(),
                });
            }
            E::DisciplinaryDecisionRecorded {
                accountability_id,
                unit_id,
                year,
                person,
                case_ids,
                decision,
            } => {
                self.accountability.push(Accountability {
                    position,
                    accountability_id: accountability_id.to_string(),
                    unit_id: unit_id.to_string(),
                    year: i64::from(*year),
                    step: "decision".to_owned(),
                    person: person.as_str().to_owned(),
                    case_ids: serde_json::to_string(case_ids).unwrap_or_default(),
                    text: decision.as_str().to_owned(),
                    recorded_at: at,
                    recorded_by: here.actor_name.to_owned(),
                });
            }
            // Looks at personal data and erasure proposals are read from the timeline
            // (the access record).
            E::PersonalDataViewed { .. } | E::PersonalDataErasureProposed { .. } => {}
            E::PersonalDataErased { case_id, .. } => {
                self.posts.update_case(
                    &case_id.to_string(),
                    |p| p.author.is_some(),
                    |p| p.author = Some(whistle_store::personal::ERASED.to_owned()),
                );
            }
        }
        Ok(())
    }

    fn insert_post(
        &mut self,
        case_id: &str,
        post: &whistle_domain::events::Post,
        here: &At<'_>,
    ) -> Result<(), ProjectionError> {
        let row = Post {
            url: post.url.as_str().to_owned(),
            case_id: case_id.to_owned(),
            platform: post.platform.key().to_owned(),
            title: post.title.clone(),
            excerpt: post.excerpt.clone(),
            posted_at: post.posted_at.map(to_micros),
            author: post.author.clone(),
            views: heat_i64(post.heat.views),
            reposts: heat_i64(post.heat.reposts),
            comments: heat_i64(post.heat.comments),
            likes: heat_i64(post.heat.likes),
            attached_at: here.at,
            attached_position: here.position,
            heat_recorded_at: here.at,
        };
        Self::insert_new(&mut self.posts, here.position, row, "a post's address")
    }

    /// Recompute a case's status from its assignments, with the same function the domain
    /// uses.
    fn refresh_status(&mut self, position: i64, case_id: &str) -> Result<(), ProjectionError> {
        let case = self.case(position, case_id)?;
        let closed = case.closed_at.is_some();
        let triaged = case.level.is_some();
        let mut statuses = Vec::new();
        for assignment in self.assignments.of_case(case_id) {
            statuses.push(
                AssignmentStatus::parse_key(&assignment.status)
                    .map_err(|e| refused(position, e.to_string()))?,
            );
        }
        let status = derive_status(closed, triaged, statuses.into_iter());
        self.case_mut(position, case_id)?.status = status.key().to_owned();
        Ok(())
    }

    /// An assignment no longer counts (withdrawn or return accepted): settle its
    /// deadlines, drop it as lead, refresh the case status.
    fn end_assignment(
        &mut self,
        position: i64,
        case_id: &str,
        assignment_id: &str,
    ) -> Result<(), ProjectionError> {
        self.deadlines.update_case(
            case_id,
            |d| d.assignment_id.as_deref() == Some(assignment_id),
            |d| d.settled = 1,
        );
        let ended = [
            AssignmentStatus::Withdrawn.key(),
            AssignmentStatus::ReturnAccepted.key(),
        ];
        let lead = self
            .assignments
            .of_case(case_id)
            .filter(|a| a.role == AssignmentRole::Lead.key() && !ended.contains(&a.status.as_str()))
            .max_by_key(|a| a.assigned_position)
            .map(|a| a.unit_id.clone());
        if let Some(case) = self.cases.get_mut(&case_id.to_owned()) {
            case.lead_unit = lead;
        }
        self.refresh_status(position, case_id)
    }

    /// Set a deadline: a new one, or one set again (due time and rule replaced, pending
    /// again; its kind, unit and assignment kept).
    fn upsert_deadline(&mut self, deadline: Deadline) {
        match self.deadlines.get_mut(&deadline.key()) {
            Some(held) => {
                held.due_at = deadline.due_at;
                held.rule = deadline.rule;
                held.settled = 0;
                held.approaching_at = None;
                held.missed_at = None;
            }
            None => {
                self.deadlines.insert(deadline);
            }
        }
    }

    fn settle_deadline(&mut self, case_id: &str, deadline_id: &str) {
        if let Some(d) = self
            .deadlines
            .get_mut(&(case_id.to_owned(), deadline_id.to_owned()))
        {
            d.settled = 1;
        }
    }

    /// Count something against (or for) a unit: the unit named, or the assignment's.
    fn record_incident(
        &mut self,
        here: &At<'_>,
        case_id: &str,
        assignment_id: Option<&str>,
        unit_id: Option<&str>,
        kind: IncidentKind,
        deadline_kind: Option<DeadlineKind>,
    ) -> Result<(), ProjectionError> {
        let unit = match (unit_id, assignment_id) {
            (Some(unit), _) => unit.to_owned(),
            (None, Some(assignment_id)) => self.assignment_unit(here.position, assignment_id)?,
            (None, None) => {
                return Err(refused(
                    here.position,
                    format!(
                        "a {} incident names neither a unit nor an assignment",
                        kind.key()
                    ),
                ));
            }
        };
        self.incidents.push(Incident {
            position: here.position,
            unit_id: unit,
            case_id: case_id.to_owned(),
            assignment_id: assignment_id.map(str::to_owned),
            kind: kind.key().to_owned(),
            recorded_at: here.at,
            event_id: Some(here.event_id.clone()),
            deadline_kind: deadline_kind.map(|k| k.key().to_owned()),
        });
        Ok(())
    }

    /// Record that the lead unit leads a 重大/特别重大 case, once per unit and case, at
    /// the event that completed the condition.
    fn record_major_lead_once(
        &mut self,
        here: &At<'_>,
        case_id: &str,
    ) -> Result<(), ProjectionError> {
        let case = self.case(here.position, case_id)?;
        let major = matches!(case.level.as_deref(), Some("major") | Some("extraordinary"));
        let Some(lead) = case.lead_unit.clone().filter(|_| major) else {
            return Ok(());
        };
        if self.major_leads.insert((case_id.to_owned(), lead.clone())) {
            self.record_incident(
                here,
                case_id,
                None,
                Some(&lead),
                IncidentKind::MajorLead,
                None,
            )?;
        }
        Ok(())
    }

    fn decide_reply(
        &mut self,
        reply_id: &str,
        status: ReplyStatus,
        here: &At<'_>,
        note: Option<&str>,
    ) {
        if let Some(reply) = self.replies.get_mut(&reply_id.to_owned()) {
            reply.status = status.key().to_owned();
            reply.decided_at = Some(here.at);
            reply.decided_by = Some(here.actor_name.to_owned());
            reply.decision_note = note.map(str::to_owned);
        }
    }
}
