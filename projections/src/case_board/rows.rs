//! The rows of the `case_board` tables as the batched projector holds them in memory,
//! one declaration per table (columns in the order of the table's migrations).

use crate::batch::table_row;

table_row! {
    /// `rm_units`: a unit as registered, renamed or deactivated.
    Unit in "rm_units", key (unit_id): String {
        unit_id: String,
        name: String,
        kind: String,
        parent_id: Option<String>,
        jurisdiction: Option<String>,
        active: i64,
        registered_at: i64,
    }
}

table_row! {
    /// `rm_cases`: a case's row on the board.
    Case in "rm_cases", key (case_id): String, by_case case_id {
        case_id: String,
        flagged_position: i64,
        status: String,
        level: Option<String>,
        problem_class: Option<String>,
        jurisdiction_unit: Option<String>,
        title: String,
        platform: String,
        first_url: String,
        flagged_at: i64,
        flagged_day: String,
        flagged_by: String,
        note: Option<String>,
        lead_unit: Option<String>,
        post_count: i64,
        heat_total: i64,
        mass_incident: i64,
        reopen_count: i64,
        closed_at: Option<i64>,
        outcome: Option<String>,
        last_event_at: i64,
        last_position: i64,
        search_text: String,
    }
}

table_row! {
    /// `rm_case_categories`: one of a case's categories (replaced at each triage).
    Category in "rm_case_categories", key (case_id, category): (String, String) {
        case_id: String,
        category: String,
    }
}

table_row! {
    /// `rm_posts`: a post attached to a case, with its latest heat.
    Post in "rm_posts", key (url): String, by_case case_id {
        url: String,
        case_id: String,
        platform: String,
        title: String,
        excerpt: String,
        posted_at: Option<i64>,
        author: Option<String>,
        views: i64,
        reposts: i64,
        comments: i64,
        likes: i64,
        attached_at: i64,
        attached_position: i64,
        heat_recorded_at: i64,
    }
}

table_row! {
    /// `rm_assignments`: one unit's assignment on a case and how it went.
    Assignment in "rm_assignments", key (assignment_id): String, by_case case_id {
        assignment_id: String,
        case_id: String,
        unit_id: String,
        role: String,
        status: String,
        instruction: Option<String>,
        assigned_at: i64,
        assigned_position: i64,
        deadline_at: i64,
        deadline_rule: String,
        accepted_at: Option<i64>,
        returned_reason: Option<String>,
        finding: Option<String>,
        finding_summary: Option<String>,
        pending_reply_id: Option<String>,
        first_approved_reply_at: Option<i64>,
        deadline_at_first_approval: Option<i64>,
        rectification_due_date: Option<String>,
        rectification_due_at: Option<i64>,
        rectification_measures: Option<String>,
        rectification_completed_at: Option<i64>,
        rectification_result: Option<String>,
        completed_at: Option<i64>,
        completion_summary: Option<String>,
        withdrawn_at: Option<i64>,
        return_accepted_at: Option<i64>,
        missed_deadlines: i64,
        rejected_returns: i64,
        last_position: i64,
        counted_response: Option<i64>,
    }
}

table_row! {
    /// `rm_replies`: a reply submitted on an assignment and the decision on it.
    Reply in "rm_replies", key (reply_id): String, by_case case_id {
        reply_id: String,
        case_id: String,
        assignment_id: String,
        unit_id: String,
        content: String,
        status: String,
        submitted_at: i64,
        submitted_by: String,
        decided_at: Option<i64>,
        decided_by: Option<String>,
        decision_note: Option<String>,
        position: i64,
    }
}

table_row! {
    /// `rm_deadlines`: every deadline of a case and where it stands.
    Deadline in "rm_deadlines", key (case_id, deadline_id): (String, String), by_case case_id {
        case_id: String,
        deadline_id: String,
        kind: String,
        unit_id: Option<String>,
        assignment_id: Option<String>,
        due_at: i64,
        rule: String,
        settled: i64,
        approaching_at: Option<i64>,
        missed_at: Option<i64>,
    }
}

table_row! {
    /// `rm_unit_incidents`: what counts against (or for) a unit in its scorecard, one row
    /// per event that caused it.
    Incident in "rm_unit_incidents", key (position): i64 {
        position: i64,
        unit_id: String,
        case_id: String,
        assignment_id: Option<String>,
        kind: String,
        recorded_at: i64,
        event_id: Option<String>,
        deadline_kind: Option<String>,
    }
}

table_row! {
    /// The part of `rm_unit_incidents` a batch loads: which units already lead a major
    /// case (recorded once per unit and case).
    MajorLead in "rm_unit_incidents", key (case_id, unit_id): (String, String) {
        case_id: String,
        unit_id: String,
    }
}

table_row! {
    /// `rm_referrals`: a rumour referred to the police and what came of it.
    Referral in "rm_referrals", key (referral_id): String, by_case case_id {
        referral_id: String,
        case_id: String,
        police_unit: String,
        legal_basis: String,
        evidence: String,
        proposed_by: String,
        proposed_at: i64,
        approved_by: Option<String>,
        approved_at: Option<i64>,
        outcome: Option<String>,
        outcome_action: Option<String>,
        outcome_at: Option<i64>,
        rebutted_at: Option<i64>,
        position: i64,
    }
}

table_row! {
    /// `rm_memos`: a memo sent to the leaders and their instruction.
    Memo in "rm_memos", key (memo_id): String, by_case case_id {
        memo_id: String,
        case_id: String,
        summary: String,
        sent_at: i64,
        sent_by: String,
        instruction: Option<String>,
        instructed_by: Option<String>,
        instructed_at: Option<i64>,
        deadline_at: Option<i64>,
        position: i64,
    }
}

table_row! {
    /// `rm_responses`: a public response or a rumour's rebuttal.
    Response in "rm_responses", key (position): i64 {
        position: i64,
        case_id: String,
        kind: String,
        channel: String,
        content: String,
        url: Option<String>,
        published_at: i64,
        actor_name: String,
    }
}

table_row! {
    /// `rm_follow_ups`: an observation of how public opinion moved.
    FollowUp in "rm_follow_ups", key (position): i64 {
        position: i64,
        case_id: String,
        observation: String,
        sentiment: String,
        recorded_at: i64,
        actor_name: String,
    }
}

table_row! {
    /// `rm_assessment_entries`: a penalty or commendation in the annual assessment.
    AssessmentEntry in "rm_assessment_entries", key (position): i64 {
        position: i64,
        entry_id: String,
        unit_id: String,
        year: i64,
        entry_kind: String,
        penalty_kind: Option<String>,
        points: i64,
        reason: String,
        person: Option<String>,
        case_ids: String,
        period_from: String,
        period_to: String,
        recorded_at: i64,
        recorded_by: String,
        revoked_at: Option<i64>,
        revoke_reason: Option<String>,
        event_id: Option<String>,
        revoke_event_id: Option<String>,
    }
}

table_row! {
    /// `rm_accountability`: a referral for accountability or a disciplinary decision.
    Accountability in "rm_accountability", key (position): i64 {
        position: i64,
        accountability_id: String,
        unit_id: String,
        year: i64,
        step: String,
        person: String,
        case_ids: String,
        text: String,
        recorded_at: i64,
        recorded_by: String,
    }
}
