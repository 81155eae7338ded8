-- Read models. Written only by the projections in `projections/`, each table owned by
-- one projection; every table can be emptied and rebuilt from the log.
-- Times are microseconds since the Unix epoch (UTC); days are Asia/Shanghai dates.

CREATE TABLE projection_checkpoints (
    name      TEXT    PRIMARY KEY,
    position  INTEGER NOT NULL
);

-- Projection `case_board` ---------------------------------------------------------

CREATE TABLE rm_units (
    unit_id        TEXT    PRIMARY KEY,
    name           TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    parent_id      TEXT,
    jurisdiction   TEXT,
    active         INTEGER NOT NULL,
    registered_at  INTEGER NOT NULL
);

CREATE TABLE rm_cases (
    case_id            TEXT    PRIMARY KEY,
    flagged_position   INTEGER NOT NULL UNIQUE,
    status             TEXT    NOT NULL,
    level              TEXT,
    problem_class      TEXT,
    jurisdiction_unit  TEXT,
    title              TEXT    NOT NULL,
    platform           TEXT    NOT NULL,
    first_url          TEXT    NOT NULL,
    flagged_at         INTEGER NOT NULL,
    flagged_day        TEXT    NOT NULL,
    flagged_by         TEXT    NOT NULL,
    note               TEXT,
    lead_unit          TEXT,
    post_count         INTEGER NOT NULL,
    heat_total         INTEGER NOT NULL,
    mass_incident      INTEGER NOT NULL,
    reopen_count       INTEGER NOT NULL,
    closed_at          INTEGER,
    outcome            TEXT,
    last_event_at      INTEGER NOT NULL,
    last_position      INTEGER NOT NULL,
    search_text        TEXT    NOT NULL
);
CREATE INDEX rm_cases_by_status ON rm_cases (status, flagged_position);
CREATE INDEX rm_cases_by_level ON rm_cases (level, flagged_position);
CREATE INDEX rm_cases_by_flagged_at ON rm_cases (flagged_at);

CREATE TABLE rm_case_categories (
    case_id   TEXT NOT NULL,
    category  TEXT NOT NULL,
    PRIMARY KEY (case_id, category)
);

CREATE TABLE rm_posts (
    url                TEXT    PRIMARY KEY,
    case_id            TEXT    NOT NULL,
    platform           TEXT    NOT NULL,
    title              TEXT    NOT NULL,
    excerpt            TEXT    NOT NULL,
    posted_at          INTEGER,
    author             TEXT,
    views              INTEGER NOT NULL,
    reposts            INTEGER NOT NULL,
    comments           INTEGER NOT NULL,
    likes              INTEGER NOT NULL,
    attached_at        INTEGER NOT NULL,
    attached_position  INTEGER NOT NULL,
    heat_recorded_at   INTEGER NOT NULL
);
CREATE INDEX rm_posts_by_case ON rm_posts (case_id, attached_position);

CREATE TABLE rm_assignments (
    assignment_id               TEXT    PRIMARY KEY,
    case_id                     TEXT    NOT NULL,
    unit_id                     TEXT    NOT NULL,
    role                        TEXT    NOT NULL,
    status                      TEXT    NOT NULL,
    instruction                 TEXT,
    assigned_at                 INTEGER NOT NULL,
    assigned_position           INTEGER NOT NULL,
    deadline_at                 INTEGER NOT NULL,
    deadline_rule               TEXT    NOT NULL,
    accepted_at                 INTEGER,
    returned_reason             TEXT,
    finding                     TEXT,
    finding_summary             TEXT,
    pending_reply_id            TEXT,
    first_approved_reply_at     INTEGER,
    deadline_at_first_approval  INTEGER,
    rectification_due_date      TEXT,
    rectification_due_at        INTEGER,
    rectification_measures      TEXT,
    rectification_completed_at  INTEGER,
    rectification_result        TEXT,
    completed_at                INTEGER,
    completion_summary          TEXT,
    withdrawn_at                INTEGER,
    return_accepted_at          INTEGER,
    missed_deadlines            INTEGER NOT NULL,
    rejected_returns            INTEGER NOT NULL,
    last_position               INTEGER NOT NULL
);
CREATE INDEX rm_assignments_by_unit ON rm_assignments (unit_id, assigned_at);
CREATE INDEX rm_assignments_by_case ON rm_assignments (case_id, assigned_position);
CREATE INDEX rm_assignments_open ON rm_assignments (status, deadline_at);

CREATE TABLE rm_replies (
    reply_id       TEXT    PRIMARY KEY,
    case_id        TEXT    NOT NULL,
    assignment_id  TEXT    NOT NULL,
    unit_id        TEXT    NOT NULL,
    content        TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    submitted_at   INTEGER NOT NULL,
    submitted_by   TEXT    NOT NULL,
    decided_at     INTEGER,
    decided_by     TEXT,
    decision_note  TEXT,
    position       INTEGER NOT NULL
);
CREATE INDEX rm_replies_by_assignment ON rm_replies (assignment_id, position);

CREATE TABLE rm_deadlines (
    case_id         TEXT    NOT NULL,
    deadline_id     TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    unit_id         TEXT,
    assignment_id   TEXT,
    due_at          INTEGER NOT NULL,
    rule            TEXT    NOT NULL,
    settled         INTEGER NOT NULL,
    approaching_at  INTEGER,
    missed_at       INTEGER,
    PRIMARY KEY (case_id, deadline_id)
);
CREATE INDEX rm_deadlines_open ON rm_deadlines (settled, due_at);

-- Things that count against a unit: missed deadlines, rejected returns, urgings.
CREATE TABLE rm_unit_incidents (
    position       INTEGER PRIMARY KEY,
    unit_id        TEXT    NOT NULL,
    case_id        TEXT    NOT NULL,
    assignment_id  TEXT,
    kind           TEXT    NOT NULL,
    recorded_at    INTEGER NOT NULL
);
CREATE INDEX rm_unit_incidents_by_unit ON rm_unit_incidents (unit_id, recorded_at);

CREATE TABLE rm_referrals (
    referral_id     TEXT    PRIMARY KEY,
    case_id         TEXT    NOT NULL,
    police_unit     TEXT    NOT NULL,
    legal_basis     TEXT    NOT NULL,
    evidence        TEXT    NOT NULL,
    proposed_by     TEXT    NOT NULL,
    proposed_at     INTEGER NOT NULL,
    approved_by     TEXT,
    approved_at     INTEGER,
    outcome         TEXT,
    outcome_action  TEXT,
    outcome_at      INTEGER,
    rebutted_at     INTEGER,
    position        INTEGER NOT NULL
);

CREATE TABLE rm_memos (
    memo_id        TEXT    PRIMARY KEY,
    case_id        TEXT    NOT NULL,
    summary        TEXT    NOT NULL,
    sent_at        INTEGER NOT NULL,
    sent_by        TEXT    NOT NULL,
    instruction    TEXT,
    instructed_by  TEXT,
    instructed_at  INTEGER,
    deadline_at    INTEGER,
    position       INTEGER NOT NULL
);

CREATE TABLE rm_responses (
    position      INTEGER PRIMARY KEY,
    case_id       TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    content       TEXT    NOT NULL,
    url           TEXT,
    published_at  INTEGER NOT NULL,
    actor_name    TEXT    NOT NULL
);

CREATE TABLE rm_follow_ups (
    position     INTEGER PRIMARY KEY,
    case_id      TEXT    NOT NULL,
    observation  TEXT    NOT NULL,
    sentiment    TEXT    NOT NULL,
    recorded_at  INTEGER NOT NULL,
    actor_name   TEXT    NOT NULL
);

CREATE TABLE rm_assessment_entries (
    position       INTEGER PRIMARY KEY,
    entry_id       TEXT    NOT NULL UNIQUE,
    unit_id        TEXT    NOT NULL,
    year           INTEGER NOT NULL,
    entry_kind     TEXT    NOT NULL,
    penalty_kind   TEXT,
    points         INTEGER NOT NULL,
    reason         TEXT    NOT NULL,
    person         TEXT,
    case_ids       TEXT    NOT NULL,
    period_from    TEXT    NOT NULL,
    period_to      TEXT    NOT NULL,
    recorded_at    INTEGER NOT NULL,
    recorded_by    TEXT    NOT NULL,
    revoked_at     INTEGER,
    revoke_reason  TEXT
);
CREATE INDEX rm_assessment_entries_by_unit ON rm_assessment_entries (unit_id, year);

CREATE TABLE rm_accountability (
    position           INTEGER PRIMARY KEY,
    accountability_id  TEXT    NOT NULL,
    unit_id            TEXT    NOT NULL,
    year               INTEGER NOT NULL,
    step               TEXT    NOT NULL,
    person             TEXT    NOT NULL,
    case_ids           TEXT    NOT NULL,
    text               TEXT    NOT NULL,
    recorded_at        INTEGER NOT NULL,
    recorded_by        TEXT    NOT NULL
);

-- Projection `timeline` -----------------------------------------------------------

CREATE TABLE rm_timeline (
    position         INTEGER PRIMARY KEY,
    event_id         TEXT    NOT NULL,
    stream_id        TEXT    NOT NULL,
    case_id          TEXT,
    event_type       TEXT    NOT NULL,
    recorded_at      INTEGER NOT NULL,
    actor_id         TEXT    NOT NULL,
    actor_name       TEXT    NOT NULL,
    actor_role       TEXT    NOT NULL,
    actor_unit       TEXT    NOT NULL,
    actor_unit_name  TEXT    NOT NULL,
    summary_zh       TEXT    NOT NULL,
    data             TEXT    NOT NULL
);
CREATE INDEX rm_timeline_by_case ON rm_timeline (case_id, position);
CREATE INDEX rm_timeline_by_actor ON rm_timeline (actor_id, recorded_at);

-- Unit names as the timeline saw them when each event happened.
CREATE TABLE rm_timeline_unit_names (
    unit_id  TEXT PRIMARY KEY,
    name     TEXT NOT NULL
);
