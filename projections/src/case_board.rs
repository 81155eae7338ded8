//! The `case_board` projection: the tables behind the case list and detail, unit inboxes,
//! the dashboard, scorecards and the assessment entries.

use sqlx::{AnyConnection, Row};
use whistle_domain::calendar::shanghai_date;
use whistle_domain::case::derive_status;
use whistle_domain::{AssignmentRole, AssignmentStatus, DeadlineKind, Event, Vocabulary};
use whistle_store::{RecordedEvent, to_micros};

use crate::ProjectionError;

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
];

pub async fn apply(
    connection: &mut AnyConnection,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), ProjectionError> {
    use Event as E;
    let at = to_micros(recorded.recorded_at);
    let position = recorded.position;
    let event_id = recorded.event_id.to_string();
    let actor_name = recorded.actor.name.as_str();
    let c = &mut *connection;

    // Every case event moves the case's "last activity".
    if let Some(case_id) = event.case_id()
        && !matches!(event, E::PostFlagged { .. })
    {
        sqlx::query(
            "UPDATE rm_cases SET last_event_at = $1, last_position = $2 WHERE case_id = $3",
        )
        .bind(at)
        .bind(position)
        .bind(case_id.to_string())
        .execute(&mut *c)
        .await?;
    }

    match event {
        E::UnitRegistered {
            unit_id,
            name,
            kind,
            parent,
            jurisdiction,
        } => {
            sqlx::query(
                "INSERT INTO rm_units (unit_id, name, kind, parent_id, jurisdiction, active, registered_at) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6)",
            )
            .bind(unit_id.as_str())
            .bind(name.as_str())
            .bind(kind.key())
            .bind(parent.as_ref().map(|p| p.as_str().to_owned()))
            .bind(jurisdiction.as_ref().map(|j| j.as_str().to_owned()))
            .bind(at)
            .execute(&mut *c)
            .await?;
        }
        E::UnitRenamed { unit_id, to, .. } => {
            sqlx::query("UPDATE rm_units SET name = $1 WHERE unit_id = $2")
                .bind(to.as_str())
                .bind(unit_id.as_str())
                .execute(&mut *c)
                .await?;
        }
        E::UnitDeactivated { unit_id, .. } => {
            sqlx::query("UPDATE rm_units SET active = 0 WHERE unit_id = $1")
                .bind(unit_id.as_str())
                .execute(&mut *c)
                .await?;
        }

        E::PostFlagged {
            case_id,
            post,
            note,
            flagged_at,
        } => {
            let search = format!("{} {}", post.title, post.excerpt).to_lowercase();
            sqlx::query(
                "INSERT INTO rm_cases (case_id, flagged_position, status, title, platform, first_url, flagged_at, \
                 flagged_day, flagged_by, note, post_count, heat_total, mass_incident, reopen_count, last_event_at, \
                 last_position, search_text) \
                 VALUES ($1, $2, 'flagged', $3, $4, $5, $6, $7, $8, $9, 1, $10, 0, 0, $6, $2, $11)",
            )
            .bind(case_id.to_string())
            .bind(position)
            .bind(&post.title)
            .bind(post.platform.key())
            .bind(post.url.as_str())
            .bind(to_micros(*flagged_at))
            .bind(shanghai_date(*flagged_at).to_string())
            .bind(actor_name)
            .bind(note.as_ref().map(|n| n.as_str().to_owned()))
            .bind(heat_i64(post.heat.total()))
            .bind(search)
            .execute(&mut *c)
            .await?;
            insert_post(c, &case_id.to_string(), post, at, position).await?;
        }
        E::PostAttached { case_id, post, .. } => {
            insert_post(c, &case_id.to_string(), post, at, position).await?;
            sqlx::query(
                "UPDATE rm_cases SET post_count = post_count + 1, heat_total = heat_total + $1, \
                 search_text = search_text || ' ' || $2 WHERE case_id = $3",
            )
            .bind(heat_i64(post.heat.total()))
            .bind(format!("{} {}", post.title, post.excerpt).to_lowercase())
            .bind(case_id.to_string())
            .execute(&mut *c)
            .await?;
        }
        E::HeatRecorded {
            case_id,
            url,
            heat,
            at: heat_at,
        } => {
            sqlx::query(
                "UPDATE rm_posts SET views = $1, reposts = $2, comments = $3, likes = $4, heat_recorded_at = $5 \
                 WHERE url = $6",
            )
            .bind(heat_i64(heat.views))
            .bind(heat_i64(heat.reposts))
            .bind(heat_i64(heat.comments))
            .bind(heat_i64(heat.likes))
            .bind(to_micros(*heat_at))
            .bind(url.as_str())
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "UPDATE rm_cases SET heat_total = (SELECT COALESCE(SUM(views + reposts + comments + likes), 0) \
                 FROM rm_posts WHERE case_id = $1) WHERE case_id = $1",
            )
            .bind(case_id.to_string())
            .execute(&mut *c)
            .await?;
        }
        E::FollowUpRecorded {
            case_id,
            observation,
            sentiment,
        } => {
            sqlx::query(
                "INSERT INTO rm_follow_ups (position, case_id, observation, sentiment, recorded_at, actor_name) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(position)
            .bind(case_id.to_string())
            .bind(observation.as_str())
            .bind(sentiment.key())
            .bind(at)
            .bind(actor_name)
            .execute(&mut *c)
            .await?;
        }

        E::CaseTriaged {
            case_id,
            level,
            categories,
            problem_class,
            jurisdiction,
        } => {
            let id = case_id.to_string();
            sqlx::query(
                "UPDATE rm_cases SET level = $1, problem_class = $2, jurisdiction_unit = $3, \
                 search_text = search_text || ' ' || $4 WHERE case_id = $5",
            )
            .bind(level.key())
            .bind(problem_class.as_str())
            .bind(jurisdiction.as_ref().map(|j| j.as_str().to_owned()))
            .bind(problem_class.as_str().to_lowercase())
            .bind(&id)
            .execute(&mut *c)
            .await?;
            sqlx::query("DELETE FROM rm_case_categories WHERE case_id = $1")
                .bind(&id)
                .execute(&mut *c)
                .await?;
            for category in categories {
                sqlx::query("INSERT INTO rm_case_categories (case_id, category) VALUES ($1, $2)")
                    .bind(&id)
                    .bind(category.key())
                    .execute(&mut *c)
                    .await?;
            }
            refresh_status(c, &id).await?;
            record_major_lead_once(c, recorded, &id).await?;
        }
        E::CaseLevelChanged { case_id, to, .. } => {
            sqlx::query("UPDATE rm_cases SET level = $1 WHERE case_id = $2")
                .bind(to.key())
                .bind(case_id.to_string())
                .execute(&mut *c)
                .await?;
            record_major_lead_once(c, recorded, &case_id.to_string()).await?;
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
            sqlx::query(
                "INSERT INTO rm_assignments (assignment_id, case_id, unit_id, role, status, instruction, assigned_at, \
                 assigned_position, deadline_at, deadline_rule, missed_deadlines, rejected_returns, last_position) \
                 VALUES ($1, $2, $3, $4, 'awaiting_signature', $5, $6, $7, $8, $9, 0, 0, $7)",
            )
            .bind(assignment_id.to_string())
            .bind(&id)
            .bind(unit_id.as_str())
            .bind(role.key())
            .bind(instruction.as_ref().map(|i| i.as_str().to_owned()))
            .bind(to_micros(*assigned_at))
            .bind(position)
            .bind(to_micros(*deadline))
            .bind(deadline_rule)
            .execute(&mut *c)
            .await?;
            upsert_deadline(
                c,
                &id,
                &whistle_domain::case::deadline_ids::feedback(*assignment_id),
                whistle_domain::DeadlineKind::Feedback.key(),
                Some(unit_id.as_str()),
                Some(&assignment_id.to_string()),
                to_micros(*deadline),
                deadline_rule,
            )
            .await?;
            if *role == AssignmentRole::Lead {
                sqlx::query("UPDATE rm_cases SET lead_unit = $1 WHERE case_id = $2")
                    .bind(unit_id.as_str())
                    .bind(&id)
                    .execute(&mut *c)
                    .await?;
                record_major_lead_once(c, recorded, &id).await?;
            }
            refresh_status(c, &id).await?;
        }
        E::AssignmentAccepted {
            case_id,
            assignment_id,
        } => {
            sqlx::query("UPDATE rm_assignments SET status = 'accepted', accepted_at = $1, last_position = $2 WHERE assignment_id = $3")
                .bind(at)
                .bind(position)
                .bind(assignment_id.to_string())
                .execute(&mut *c)
                .await?;
            refresh_status(c, &case_id.to_string()).await?;
        }
        E::AssignmentReturned {
            case_id,
            assignment_id,
            reason,
        } => {
            sqlx::query("UPDATE rm_assignments SET status = 'returned', returned_reason = $1, last_position = $2 WHERE assignment_id = $3")
                .bind(reason.as_str())
                .bind(position)
                .bind(assignment_id.to_string())
                .execute(&mut *c)
                .await?;
            refresh_status(c, &case_id.to_string()).await?;
        }
        E::ReturnAccepted {
            case_id,
            assignment_id,
            ..
        } => {
            sqlx::query("UPDATE rm_assignments SET status = 'return_accepted', return_accepted_at = $1, last_position = $2 WHERE assignment_id = $3")
                .bind(at)
                .bind(position)
                .bind(assignment_id.to_string())
                .execute(&mut *c)
                .await?;
            end_assignment(c, &case_id.to_string(), &assignment_id.to_string()).await?;
        }
        E::ReturnRejected {
            case_id,
            assignment_id,
            ..
        } => {
            sqlx::query(
                "UPDATE rm_assignments SET status = 'accepted', accepted_at = COALESCE(accepted_at, $1), \
                 rejected_returns = rejected_returns + 1, last_position = $2 WHERE assignment_id = $3",
            )
            .bind(at)
            .bind(position)
            .bind(assignment_id.to_string())
            .execute(&mut *c)
            .await?;
            record_incident(
                c,
                position,
                &event_id,
                &case_id.to_string(),
                Some(&assignment_id.to_string()),
                None,
                "return_rejected",
                None,
                at,
            )
            .await?;
            refresh_status(c, &case_id.to_string()).await?;
        }
        E::AssignmentWithdrawn {
            case_id,
            assignment_id,
            ..
        } => {
            sqlx::query("UPDATE rm_assignments SET status = 'withdrawn', withdrawn_at = $1, last_position = $2 WHERE assignment_id = $3")
                .bind(at)
                .bind(position)
                .bind(assignment_id.to_string())
                .execute(&mut *c)
                .await?;
            end_assignment(c, &case_id.to_string(), &assignment_id.to_string()).await?;
        }
        E::FactsVerified {
            assignment_id,
            finding,
            summary,
            ..
        } => {
            sqlx::query("UPDATE rm_assignments SET finding = $1, finding_summary = $2, last_position = $3 WHERE assignment_id = $4")
                .bind(finding.key())
                .bind(summary.as_str())
                .bind(position)
                .bind(assignment_id.to_string())
                .execute(&mut *c)
                .await?;
        }
        E::ReplySubmitted {
            case_id,
            assignment_id,
            reply_id,
            content,
        } => {
            let unit: String =
                sqlx::query("SELECT unit_id FROM rm_assignments WHERE assignment_id = $1")
                    .bind(assignment_id.to_string())
                    .fetch_one(&mut *c)
                    .await?
                    .try_get(0)?;
            sqlx::query(
                "INSERT INTO rm_replies (reply_id, case_id, assignment_id, unit_id, content, status, submitted_at, \
                 submitted_by, position) VALUES ($1, $2, $3, $4, $5, 'submitted', $6, $7, $8)",
            )
            .bind(reply_id.to_string())
            .bind(case_id.to_string())
            .bind(assignment_id.to_string())
            .bind(unit)
            .bind(content.as_str())
            .bind(at)
            .bind(actor_name)
            .bind(position)
            .execute(&mut *c)
            .await?;
            sqlx::query("UPDATE rm_assignments SET pending_reply_id = $1, last_position = $2 WHERE assignment_id = $3")
                .bind(reply_id.to_string())
                .bind(position)
                .bind(assignment_id.to_string())
                .execute(&mut *c)
                .await?;
        }
        E::ReplyApproved {
            case_id,
            assignment_id,
            reply_id,
            note,
            approved_at,
        } => {
            decide_reply(
                c,
                &reply_id.to_string(),
                "approved",
                at,
                actor_name,
                note.as_ref().map(|n| n.as_str()),
            )
            .await?;
            // The first approved reply is the feedback; its deadline is the one in force now.
            sqlx::query(
                "UPDATE rm_assignments SET pending_reply_id = NULL, last_position = $1, \
                 deadline_at_first_approval = CASE WHEN first_approved_reply_at IS NULL THEN deadline_at ELSE deadline_at_first_approval END, \
                 first_approved_reply_at = COALESCE(first_approved_reply_at, $2) WHERE assignment_id = $3",
            )
            .bind(position)
            .bind(to_micros(*approved_at))
            .bind(assignment_id.to_string())
            .execute(&mut *c)
            .await?;
            settle_deadline(
                c,
                &case_id.to_string(),
                &whistle_domain::case::deadline_ids::feedback(*assignment_id),
            )
            .await?;
            sqlx::query("UPDATE rm_deadlines SET settled = 1 WHERE case_id = $1 AND kind = 'leader_instruction'")
                .bind(case_id.to_string())
                .execute(&mut *c)
                .await?;
        }
        E::ReplySentBack {
            assignment_id,
            reply_id,
            note,
            ..
        } => {
            decide_reply(
                c,
                &reply_id.to_string(),
                "sent_back",
                at,
                actor_name,
                Some(note.as_str()),
            )
            .await?;
            sqlx::query("UPDATE rm_assignments SET pending_reply_id = NULL, last_position = $1 WHERE assignment_id = $2")
                .bind(position)
                .bind(assignment_id.to_string())
                .execute(&mut *c)
                .await?;
        }
        E::ResponsePublished {
            case_id,
            channel,
            content,
            url,
            published_at,
        } => {
            insert_response(
                c,
                position,
                &case_id.to_string(),
                "public_response",
                channel.key(),
                content.as_str(),
                url.as_ref().map(|u| u.as_str()),
                to_micros(*published_at),
                actor_name,
            )
            .await?;
            if *channel == whistle_domain::ResponseChannel::PressConference {
                settle_deadline(
                    c,
                    &case_id.to_string(),
                    whistle_domain::case::deadline_ids::PUBLIC_RESPONSE,
                )
                .await?;
            }
        }
        E::RectificationPromised {
            case_id,
            assignment_id,
            due_date,
            due_at,
            measures,
        } => {
            sqlx::query(
                "UPDATE rm_assignments SET rectification_due_date = $1, rectification_due_at = $2, \
                 rectification_measures = $3, rectification_completed_at = NULL, rectification_result = NULL, \
                 last_position = $4 WHERE assignment_id = $5",
            )
            .bind(due_date.to_string())
            .bind(to_micros(*due_at))
            .bind(measures.as_str())
            .bind(position)
            .bind(assignment_id.to_string())
            .execute(&mut *c)
            .await?;
            let unit: String =
                sqlx::query("SELECT unit_id FROM rm_assignments WHERE assignment_id = $1")
                    .bind(assignment_id.to_string())
                    .fetch_one(&mut *c)
                    .await?
                    .try_get(0)?;
            upsert_deadline(
                c,
                &case_id.to_string(),
                &whistle_domain::case::deadline_ids::rectification(*assignment_id),
                whistle_domain::DeadlineKind::Rectification.key(),
                Some(&unit),
                Some(&assignment_id.to_string()),
                to_micros(*due_at),
                "rectification/promised",
            )
            .await?;
        }
        E::RectificationCompleted {
            case_id,
            assignment_id,
            result,
        } => {
            sqlx::query(
                "UPDATE rm_assignments SET rectification_completed_at = $1, rectification_result = $2, \
                 last_position = $3 WHERE assignment_id = $4",
            )
            .bind(at)
            .bind(result.as_str())
            .bind(position)
            .bind(assignment_id.to_string())
            .execute(&mut *c)
            .await?;
            settle_deadline(
                c,
                &case_id.to_string(),
                &whistle_domain::case::deadline_ids::rectification(*assignment_id),
            )
            .await?;
        }
        E::AssignmentCompleted {
            case_id,
            assignment_id,
            summary,
        } => {
            sqlx::query(
                "UPDATE rm_assignments SET status = 'completed', completed_at = $1, completion_summary = $2, \
                 last_position = $3 WHERE assignment_id = $4",
            )
            .bind(at)
            .bind(summary.as_str())
            .bind(position)
            .bind(assignment_id.to_string())
            .execute(&mut *c)
            .await?;
            settle_deadline(
                c,
                &case_id.to_string(),
                &whistle_domain::case::deadline_ids::feedback(*assignment_id),
            )
            .await?;
            settle_deadline(
                c,
                &case_id.to_string(),
                &whistle_domain::case::deadline_ids::rectification(*assignment_id),
            )
            .await?;
            refresh_status(c, &case_id.to_string()).await?;
        }

        E::MemoSent {
            case_id,
            memo_id,
            summary,
        } => {
            sqlx::query(
                "INSERT INTO rm_memos (memo_id, case_id, summary, sent_at, sent_by, position) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(memo_id.to_string())
            .bind(case_id.to_string())
            .bind(summary.as_str())
            .bind(at)
            .bind(actor_name)
            .bind(position)
            .execute(&mut *c)
            .await?;
        }
        E::LeaderInstructed {
            case_id,
            memo_id,
            instruction,
            deadline,
            deadline_rule,
            ..
        } => {
            sqlx::query(
                "UPDATE rm_memos SET instruction = $1, instructed_by = $2, instructed_at = $3, deadline_at = $4 WHERE memo_id = $5",
            )
            .bind(instruction.as_str())
            .bind(actor_name)
            .bind(at)
            .bind(to_micros(*deadline))
            .bind(memo_id.to_string())
            .execute(&mut *c)
            .await?;
            let lead: Option<String> =
                sqlx::query("SELECT lead_unit FROM rm_cases WHERE case_id = $1")
                    .bind(case_id.to_string())
                    .fetch_one(&mut *c)
                    .await?
                    .try_get(0)?;
            upsert_deadline(
                c,
                &case_id.to_string(),
                &whistle_domain::case::deadline_ids::leader_instruction(*memo_id),
                whistle_domain::DeadlineKind::LeaderInstruction.key(),
                lead.as_deref(),
                None,
                to_micros(*deadline),
                deadline_rule,
            )
            .await?;
        }

        E::DeadlineSet {
            case_id,
            deadline_id,
            kind,
            unit_id,
            due_at,
            deadline_rule,
        } => {
            upsert_deadline(
                c,
                &case_id.to_string(),
                deadline_id,
                kind.key(),
                unit_id.as_ref().map(|u| u.as_str()),
                None,
                to_micros(*due_at),
                deadline_rule,
            )
            .await?;
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
            sqlx::query(
                "UPDATE rm_deadlines SET due_at = $1, rule = $2, \
                 approaching_at = CASE WHEN $1 > $3 THEN NULL ELSE approaching_at END \
                 WHERE case_id = $4 AND deadline_id = $5",
            )
            .bind(to_micros(*due_at))
            .bind(deadline_rule)
            .bind(to_micros(*previous_due_at))
            .bind(case_id.to_string())
            .bind(deadline_id)
            .execute(&mut *c)
            .await?;
            if let Some(assignment_id) = assignment_id {
                sqlx::query("UPDATE rm_assignments SET deadline_at = $1, deadline_rule = $2, last_position = $3 WHERE assignment_id = $4")
                    .bind(to_micros(*due_at))
                    .bind(deadline_rule)
                    .bind(position)
                    .bind(assignment_id.to_string())
                    .execute(&mut *c)
                    .await?;
            }
        }
        E::DeadlineApproaching {
            case_id,
            deadline_id,
            ..
        } => {
            sqlx::query("UPDATE rm_deadlines SET approaching_at = $1 WHERE case_id = $2 AND deadline_id = $3")
                .bind(at)
                .bind(case_id.to_string())
                .bind(deadline_id)
                .execute(&mut *c)
                .await?;
        }
        E::DeadlineMissed {
            case_id,
            deadline_id,
            kind: missed_kind,
            unit_id,
            assignment_id,
            ..
        } => {
            sqlx::query(
                "UPDATE rm_deadlines SET missed_at = $1 WHERE case_id = $2 AND deadline_id = $3",
            )
            .bind(at)
            .bind(case_id.to_string())
            .bind(deadline_id)
            .execute(&mut *c)
            .await?;
            if let Some(assignment_id) = assignment_id {
                sqlx::query("UPDATE rm_assignments SET missed_deadlines = missed_deadlines + 1, last_position = $1 WHERE assignment_id = $2")
                    .bind(position)
                    .bind(assignment_id.to_string())
                    .execute(&mut *c)
                    .await?;
            }
            if let Some(unit_id) = unit_id {
                record_incident(
                    c,
                    position,
                    &event_id,
                    &case_id.to_string(),
                    assignment_id.map(|a| a.to_string()).as_deref(),
                    Some(unit_id.as_str()),
                    "deadline_missed",
                    Some(*missed_kind),
                    at,
                )
                .await?;
            }
        }
        E::SupervisionUrged {
            case_id,
            target_unit,
            ..
        } => {
            sqlx::query(
                "INSERT INTO rm_unit_incidents (position, unit_id, case_id, assignment_id, kind, recorded_at, event_id) \
                 VALUES ($1, $2, $3, (SELECT assignment_id FROM rm_assignments WHERE case_id = $3 AND unit_id = $2 \
                 ORDER BY assigned_position DESC LIMIT 1), 'supervision_urged', $4, $5)",
            )
            .bind(position)
            .bind(target_unit.as_str())
            .bind(case_id.to_string())
            .bind(at)
            .bind(&event_id)
            .execute(&mut *c)
            .await?;
        }

        E::RumourReferralProposed {
            case_id,
            referral_id,
            police_unit,
            legal_basis,
            evidence,
            proposed_by,
        } => {
            sqlx::query(
                "INSERT INTO rm_referrals (referral_id, case_id, police_unit, legal_basis, evidence, proposed_by, \
                 proposed_at, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(referral_id.to_string())
            .bind(case_id.to_string())
            .bind(police_unit.as_str())
            .bind(legal_basis.as_str())
            .bind(evidence.as_str())
            .bind(proposed_by.as_str())
            .bind(at)
            .bind(position)
            .execute(&mut *c)
            .await?;
        }
        E::RumourReferralApproved {
            referral_id,
            approved_by,
            ..
        } => {
            sqlx::query(
                "UPDATE rm_referrals SET approved_by = $1, approved_at = $2 WHERE referral_id = $3",
            )
            .bind(approved_by.as_str())
            .bind(at)
            .bind(referral_id.to_string())
            .execute(&mut *c)
            .await?;
        }
        E::ReferralOutcomeRecorded {
            referral_id,
            outcome,
            action,
            ..
        } => {
            sqlx::query("UPDATE rm_referrals SET outcome = $1, outcome_action = $2, outcome_at = $3 WHERE referral_id = $4")
                .bind(outcome.key())
                .bind(action.as_str())
                .bind(at)
                .bind(referral_id.to_string())
                .execute(&mut *c)
                .await?;
        }
        E::RumourRebutted {
            case_id,
            referral_id,
            channel,
            content,
        } => {
            sqlx::query("UPDATE rm_referrals SET rebutted_at = $1 WHERE referral_id = $2")
                .bind(at)
                .bind(referral_id.to_string())
                .execute(&mut *c)
                .await?;
            insert_response(
                c,
                position,
                &case_id.to_string(),
                "rumour_rebuttal",
                channel.key(),
                content.as_str(),
                None,
                at,
                actor_name,
            )
            .await?;
        }

        E::CaseClosed {
            case_id,
            outcome,
            closed_at,
        } => {
            let id = case_id.to_string();
            sqlx::query("UPDATE rm_cases SET closed_at = $1, outcome = $2 WHERE case_id = $3")
                .bind(to_micros(*closed_at))
                .bind(outcome.as_str())
                .bind(&id)
                .execute(&mut *c)
                .await?;
            sqlx::query("UPDATE rm_deadlines SET settled = 1 WHERE case_id = $1")
                .bind(&id)
                .execute(&mut *c)
                .await?;
            refresh_status(c, &id).await?;
        }
        E::CaseReopened { case_id, .. } => {
            let id = case_id.to_string();
            sqlx::query("UPDATE rm_cases SET closed_at = NULL, reopen_count = reopen_count + 1 WHERE case_id = $1")
                .bind(&id)
                .execute(&mut *c)
                .await?;
            refresh_status(c, &id).await?;
        }
        E::MassIncidentDeclared { case_id, .. } => {
            let id = case_id.to_string();
            sqlx::query("UPDATE rm_cases SET mass_incident = 1 WHERE case_id = $1")
                .bind(&id)
                .execute(&mut *c)
                .await?;
            // The lead unit at the declaration carries the one-vote veto.
            let lead: Option<String> =
                sqlx::query("SELECT lead_unit FROM rm_cases WHERE case_id = $1")
                    .bind(&id)
                    .fetch_one(&mut *c)
                    .await?
                    .try_get(0)?;
            if let Some(lead) = lead {
                record_incident(
                    c,
                    position,
                    &event_id,
                    &id,
                    None,
                    Some(&lead),
                    "mass_incident",
                    None,
                    at,
                )
                .await?;
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
            sqlx::query(
                "INSERT INTO rm_assessment_entries (position, entry_id, unit_id, year, entry_kind, penalty_kind, points, \
                 reason, person, case_ids, period_from, period_to, recorded_at, recorded_by, event_id) \
                 VALUES ($1, $2, $3, $4, 'penalty', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(position)
            .bind(penalty_id.to_string())
            .bind(unit_id.as_str())
            .bind(i64::from(*year))
            .bind(kind.key())
            .bind(i64::from(*points))
            .bind(reason.as_str())
            .bind(person.as_ref().map(|p| p.as_str().to_owned()))
            .bind(serde_json::to_string(case_ids).unwrap_or_default())
            .bind(period.from.to_string())
            .bind(period.to.to_string())
            .bind(at)
            .bind(actor_name)
            .bind(&event_id)
            .execute(&mut *c)
            .await?;
        }
        E::PenaltyRevoked {
            penalty_id, reason, ..
        } => {
            sqlx::query(
                "UPDATE rm_assessment_entries SET revoked_at = $1, revoke_reason = $2, revoke_event_id = $3 \
                 WHERE entry_id = $4",
            )
                .bind(at)
                .bind(reason.as_str())
                .bind(&event_id)
                .bind(penalty_id.to_string())
                .execute(&mut *c)
                .await?;
        }
        E::CommendationAwarded {
            commendation_id,
            unit_id,
            year,
            points,
            reason,
            period,
        } => {
            sqlx::query(
                "INSERT INTO rm_assessment_entries (position, entry_id, unit_id, year, entry_kind, points, reason, \
                 case_ids, period_from, period_to, recorded_at, recorded_by, event_id) \
                 VALUES ($1, $2, $3, $4, 'commendation', $5, $6, '[]', $7, $8, $9, $10, $11)",
            )
            .bind(position)
            .bind(commendation_id.to_string())
            .bind(unit_id.as_str())
            .bind(i64::from(*year))
            .bind(i64::from(*points))
            .bind(reason.as_str())
            .bind(period.from.to_string())
            .bind(period.to.to_string())
            .bind(at)
            .bind(actor_name)
            .bind(&event_id)
            .execute(&mut *c)
            .await?;
        }
        E::AccountabilityReferred {
            accountability_id,
            unit_id,
            year,
            person,
            case_ids,
            reason,
        } => {
            insert_accountability(
                c,
                position,
                &accountability_id.to_string(),
                unit_id.as_str(),
                *year,
                "referred",
                person.as_str(),
                case_ids,
                reason.as_str(),
                at,
                actor_name,
            )
            .await?;
        }
        E::DisciplinaryDecisionRecorded {
            accountability_id,
            unit_id,
            year,
            person,
            case_ids,
            decision,
        } => {
            insert_accountability(
                c,
                position,
                &accountability_id.to_string(),
                unit_id.as_str(),
                *year,
                "decision",
                person.as_str(),
                case_ids,
                decision.as_str(),
                at,
                actor_name,
            )
            .await?;
        }
        // Looks at personal data and erasure proposals are read from the timeline (the
        // access record).
        E::PersonalDataViewed { .. } | E::PersonalDataErasureProposed { .. } => {}
        E::PersonalDataErased { case_id, .. } => {
            sqlx::query(
                "UPDATE rm_posts SET author = $1 WHERE case_id = $2 AND author IS NOT NULL",
            )
            .bind(whistle_store::personal::ERASED)
            .bind(case_id.to_string())
            .execute(&mut *c)
            .await?;
        }
    }
    Ok(())
}

fn heat_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

async fn insert_post(
    c: &mut AnyConnection,
    case_id: &str,
    post: &whistle_domain::events::Post,
    at: i64,
    position: i64,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO rm_posts (url, case_id, platform, title, excerpt, posted_at, author, views, reposts, comments, \
         likes, attached_at, attached_position, heat_recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $12)",
    )
    .bind(post.url.as_str())
    .bind(case_id)
    .bind(post.platform.key())
    .bind(&post.title)
    .bind(&post.excerpt)
    .bind(post.posted_at.map(to_micros))
    .bind(post.author.clone())
    .bind(heat_i64(post.heat.views))
    .bind(heat_i64(post.heat.reposts))
    .bind(heat_i64(post.heat.comments))
    .bind(heat_i64(post.heat.likes))
    .bind(at)
    .bind(position)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Recompute a case's status and lead unit from its assignments, with the same function
/// the domain uses.
async fn refresh_status(c: &mut AnyConnection, case_id: &str) -> Result<(), ProjectionError> {
    let case = sqlx::query(
        "SELECT CASE WHEN closed_at IS NULL THEN 0 ELSE 1 END, CASE WHEN level IS NULL THEN 0 ELSE 1 END \
         FROM rm_cases WHERE case_id = $1",
    )
    .bind(case_id)
    .fetch_one(&mut *c)
    .await?;
    let closed: i64 = case.try_get(0)?;
    let triaged: i64 = case.try_get(1)?;
    let rows = sqlx::query("SELECT status FROM rm_assignments WHERE case_id = $1")
        .bind(case_id)
        .fetch_all(&mut *c)
        .await?;
    let mut statuses = Vec::with_capacity(rows.len());
    for row in rows {
        let key: String = row.try_get(0)?;
        statuses.push(AssignmentStatus::parse_key(&key).map_err(|e| {
            ProjectionError::Unreadable {
                position: 0,
                reason: e.to_string(),
            }
        })?);
    }
    let status = derive_status(closed != 0, triaged != 0, statuses.into_iter());
    sqlx::query("UPDATE rm_cases SET status = $1 WHERE case_id = $2")
        .bind(status.key())
        .bind(case_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// An assignment no longer counts (withdrawn or return accepted): settle its deadlines,
/// drop it as lead, refresh the case status.
async fn end_assignment(
    c: &mut AnyConnection,
    case_id: &str,
    assignment_id: &str,
) -> Result<(), ProjectionError> {
    sqlx::query("UPDATE rm_deadlines SET settled = 1 WHERE case_id = $1 AND assignment_id = $2")
        .bind(case_id)
        .bind(assignment_id)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "UPDATE rm_cases SET lead_unit = (SELECT unit_id FROM rm_assignments WHERE case_id = $1 AND role = 'lead' \
         AND status NOT IN ('withdrawn', 'return_accepted') ORDER BY assigned_position DESC LIMIT 1) WHERE case_id = $1",
    )
    .bind(case_id)
    .execute(&mut *c)
    .await?;
    refresh_status(c, case_id).await
}

#[allow(clippy::too_many_arguments)]
async fn upsert_deadline(
    c: &mut AnyConnection,
    case_id: &str,
    deadline_id: &str,
    kind: &str,
    unit_id: Option<&str>,
    assignment_id: Option<&str>,
    due_at: i64,
    rule: &str,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO rm_deadlines (case_id, deadline_id, kind, unit_id, assignment_id, due_at, rule, settled) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0) \
         ON CONFLICT (case_id, deadline_id) DO UPDATE SET due_at = excluded.due_at, rule = excluded.rule, \
         settled = 0, approaching_at = NULL, missed_at = NULL",
    )
    .bind(case_id)
    .bind(deadline_id)
    .bind(kind)
    .bind(unit_id.map(str::to_owned))
    .bind(assignment_id.map(str::to_owned))
    .bind(due_at)
    .bind(rule)
    .execute(&mut *c)
    .await?;
    Ok(())
}

async fn settle_deadline(
    c: &mut AnyConnection,
    case_id: &str,
    deadline_id: &str,
) -> Result<(), ProjectionError> {
    sqlx::query("UPDATE rm_deadlines SET settled = 1 WHERE case_id = $1 AND deadline_id = $2")
        .bind(case_id)
        .bind(deadline_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn record_incident(
    c: &mut AnyConnection,
    position: i64,
    event_id: &str,
    case_id: &str,
    assignment_id: Option<&str>,
    unit_id: Option<&str>,
    kind: &str,
    deadline_kind: Option<DeadlineKind>,
    at: i64,
) -> Result<(), ProjectionError> {
    // The unit is named, or it is the unit of the assignment.
    let unit = match (unit_id, assignment_id) {
        (Some(unit), _) => unit.to_owned(),
        (None, Some(assignment_id)) => {
            sqlx::query("SELECT unit_id FROM rm_assignments WHERE assignment_id = $1")
                .bind(assignment_id)
                .fetch_one(&mut *c)
                .await?
                .try_get(0)?
        }
        (None, None) => {
            return Err(ProjectionError::Unreadable {
                position,
                reason: format!("a {kind} incident names neither a unit nor an assignment"),
            });
        }
    };
    sqlx::query(
        "INSERT INTO rm_unit_incidents (position, unit_id, case_id, assignment_id, kind, recorded_at, event_id, deadline_kind) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(position)
    .bind(unit)
    .bind(case_id)
    .bind(assignment_id.map(str::to_owned))
    .bind(kind)
    .bind(at)
    .bind(event_id)
    .bind(deadline_kind.map(|k| k.key().to_owned()))
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Record that `unit` leads a 重大/特别重大 case, once per unit and case, at the event
/// that completed the condition.
async fn record_major_lead_once(
    c: &mut AnyConnection,
    recorded: &RecordedEvent,
    case_id: &str,
) -> Result<(), ProjectionError> {
    let row = sqlx::query("SELECT lead_unit, level FROM rm_cases WHERE case_id = $1")
        .bind(case_id)
        .fetch_one(&mut *c)
        .await?;
    let lead: Option<String> = row.try_get(0)?;
    let level: Option<String> = row.try_get(1)?;
    let major = matches!(level.as_deref(), Some("major") | Some("extraordinary"));
    let Some(lead) = lead.filter(|_| major) else {
        return Ok(());
    };
    let seen: i64 = sqlx::query(
        "SELECT COUNT(*) FROM rm_unit_incidents WHERE case_id = $1 AND unit_id = $2 AND kind = 'major_lead'",
    )
    .bind(case_id)
    .bind(&lead)
    .fetch_one(&mut *c)
    .await?
    .try_get(0)?;
    if seen == 0 {
        record_incident(
            c,
            recorded.position,
            &recorded.event_id.to_string(),
            case_id,
            None,
            Some(&lead),
            "major_lead",
            None,
            to_micros(recorded.recorded_at),
        )
        .await?;
    }
    Ok(())
}

async fn decide_reply(
    c: &mut AnyConnection,
    reply_id: &str,
    status: &str,
    at: i64,
    actor_name: &str,
    note: Option<&str>,
) -> Result<(), ProjectionError> {
    sqlx::query("UPDATE rm_replies SET status = $1, decided_at = $2, decided_by = $3, decision_note = $4 WHERE reply_id = $5")
        .bind(status)
        .bind(at)
        .bind(actor_name)
        .bind(note.map(str::to_owned))
        .bind(reply_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_response(
    c: &mut AnyConnection,
    position: i64,
    case_id: &str,
    kind: &str,
    channel: &str,
    content: &str,
    url: Option<&str>,
    published_at: i64,
    actor_name: &str,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO rm_responses (position, case_id, kind, channel, content, url, published_at, actor_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(position)
    .bind(case_id)
    .bind(kind)
    .bind(channel)
    .bind(content)
    .bind(url.map(str::to_owned))
    .bind(published_at)
    .bind(actor_name)
    .execute(&mut *c)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_accountability(
    c: &mut AnyConnection,
    position: i64,
    accountability_id: &str,
    unit_id: &str,
    year: i32,
    step: &str,
    person: &str,
    case_ids: &[whistle_domain::CaseId],
    text: &str,
    at: i64,
    actor_name: &str,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO rm_accountability (position, accountability_id, unit_id, year, step, person, case_ids, text, \
         recorded_at, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(position)
    .bind(accountability_id)
    .bind(unit_id)
    .bind(i64::from(year))
    .bind(step)
    .bind(person)
    .bind(serde_json::to_string(case_ids).unwrap_or_default())
    .bind(text)
    .bind(at)
    .bind(actor_name)
    .execute(&mut *c)
    .await?;
    Ok(())
}
