-- Read models on PostgreSQL: the same tables as migrations/sqlite/0002, with BIGINT for
-- every integer (flags stay 0/1 integers so that one set of queries serves both
-- backends) and the "C" collation on text, so ordering is bytewise as on SQLite.

-- Read models. Written only by the projections in `projections/`, each table owned by
-- one projection; every table can be emptied and rebuilt from the log.
-- Times are microseconds since the Unix epoch (UTC); days are Asia/Shanghai dates.

CREATE TABLE projection_checkpoints (
    name      TEXT COLLATE "C"    PRIMARY KEY,
    position  BIGINT NOT NULL
);

-- Projection `case_board` ---------------------------------------------------------

CREATE TABLE rm_units (
    unit_id        TEXT COLLATE "C"    PRIMARY KEY,
    name           TEXT COLLATE "C"    NOT NULL,
    kind           TEXT COLLATE "C"    NOT NULL,
    parent_id      TEXT COLLATE "C",
    jurisdiction   TEXT COLLATE "C",
    active         BIGINT NOT NULL,
    registered_at  BIGINT NOT NULL
);

CREATE TABLE rm_cases (
    case_id            TEXT COLLATE "C"    PRIMARY KEY,
    flagged_position   BIGINT NOT NULL UNIQUE,
    status             TEXT COLLATE "C"    NOT NULL,
    level              TEXT COLLATE "C",
    problem_class      TEXT COLLATE "C",
    jurisdiction_unit  TEXT COLLATE "C",
    title              TEXT COLLATE "C"    NOT NULL,
    platform           TEXT COLLATE "C"    NOT NULL,
    first_url          TEXT COLLATE "C"    NOT NULL,
    flagged_at         BIGINT NOT NULL,
    flagged_day        TEXT COLLATE "C"    NOT NULL,
    flagged_by         TEXT COLLATE "C"    NOT NULL,
    note               TEXT COLLATE "C",
    lead_unit          TEXT COLLATE "C",
    post_count         BIGINT NOT NULL,
    heat_total         BIGINT NOT NULL,
    mass_incident      BIGINT NOT NULL,
    reopen_count       BIGINT NOT NULL,
    closed_at          BIGINT,
    outcome            TEXT COLLATE "C",
    last_event_at      BIGINT NOT NULL,
    last_position      BIGINT NOT NULL,
    search_text        TEXT COLLATE "C"    NOT NULL
);
CREATE INDEX rm_cases_by_status ON rm_cases (status, flagged_position);
CREATE INDEX rm_cases_by_level ON rm_cases (level, flagged_position);
CREATE INDEX rm_cases_by_flagged_at ON rm_cases (flagged_at);

CREATE TABLE rm_case_categories (
    case_id   TEXT COLLATE "C" NOT NULL,
    category  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (case_id, category)
);

CREATE TABLE rm_posts (
    url                TEXT COLLATE "C"    PRIMARY KEY,
    case_id            TEXT COLLATE "C"    NOT NULL,
    platform           TEXT COLLATE "C"    NOT NULL,
    title              TEXT COLLATE "C"    NOT NULL,
    excerpt            TEXT COLLATE "C"    NOT NULL,
    posted_at          BIGINT,
    author             TEXT COLLATE "C",
    views              BIGINT NOT NULL,
    reposts            BIGINT NOT NULL,
    comments           BIGINT NOT NULL,
    likes              BIGINT NOT NULL,
    attached_at        BIGINT NOT NULL,
    attached_position  BIGINT NOT NULL,
    heat_recorded_at   BIGINT NOT NULL
);
CREATE INDEX rm_posts_by_case ON rm_posts (case_id, attached_position);

CREATE TABLE rm_assignments (
    assignment_id               TEXT COLLATE "C"    PRIMARY KEY,
    case_id                     TEXT COLLATE "C"    NOT NULL,
    unit_id                     TEXT COLLATE "C"    NOT NULL,
    role                        TEXT COLLATE "C"    NOT NULL,
    status                      TEXT COLLATE "C"    NOT NULL,
    instruction                 TEXT COLLATE "C",
    assigned_at                 BIGINT NOT NULL,
    assigned_position           BIGINT NOT NULL,
    deadline_at                 BIGINT NOT NULL,
    deadline_rule               TEXT COLLATE "C"    NOT NULL,
    accepted_at                 BIGINT,
    returned_reason             TEXT COLLATE "C",
    finding                     TEXT COLLATE "C",
    finding_summary             TEXT COLLATE "C",
    pending_reply_id            TEXT COLLATE "C",
    first_approved_reply_at     BIGINT,
    deadline_at_first_approval  BIGINT,
    rectification_due_date      TEXT COLLATE "C",
    rectification_due_at        BIGINT,
    rectification_measures      TEXT COLLATE "C",
    rectification_completed_at  BIGINT,
    rectification_result        TEXT COLLATE "C",
    completed_at                BIGINT,
    completion_summary          TEXT COLLATE "C",
    withdrawn_at                BIGINT,
    return_accepted_at          BIGINT,
    missed_deadlines            BIGINT NOT NULL,
    rejected_returns            BIGINT NOT NULL,
    last_position               BIGINT NOT NULL
);
CREATE INDEX rm_assignments_by_unit ON rm_assignments (unit_id, assigned_at);
CREATE INDEX rm_assignments_by_case ON rm_assignments (case_id, assigned_position);
CREATE INDEX rm_assignments_open ON rm_assignments (status, deadline_at);

CREATE TABLE rm_replies (
    reply_id       TEXT COLLATE "C"    PRIMARY KEY,
    case_id        TEXT COLLATE "C"    NOT NULL,
    assignment_id  TEXT COLLATE "C"    NOT NULL,
    unit_id        TEXT COLLATE "C"    NOT NULL,
    content        TEXT COLLATE "C"    NOT NULL,
    status         TEXT COLLATE "C"    NOT NULL,
    submitted_at   BIGINT NOT NULL,
    submitted_by   TEXT COLLATE "C"    NOT NULL,
    decided_at     BIGINT,
    decided_by     TEXT COLLATE "C",
    decision_note  TEXT COLLATE "C",
    position       BIGINT NOT NULL
);
CREATE INDEX rm_replies_by_assignment ON rm_replies (assignment_id, position);

CREATE TABLE rm_deadlines (
    case_id         TEXT COLLATE "C"    NOT NULL,
    deadline_id     TEXT COLLATE "C"    NOT NULL,
    kind            TEXT COLLATE "C"    NOT NULL,
    unit_id         TEXT COLLATE "C",
    assignment_id   TEXT COLLATE "C",
    due_at          BIGINT NOT NULL,
    rule            TEXT COLLATE "C"    NOT NULL,
    settled         BIGINT NOT NULL,
    approaching_at  BIGINT,
    missed_at       BIGINT,
    PRIMARY KEY (case_id, deadline_id)
);
CREATE INDEX rm_deadlines_open ON rm_deadlines (settled, due_at);

-- Things that count against a unit: missed deadlines, rejected returns, urgings.
CREATE TABLE rm_unit_incidents (
    position       BIGINT PRIMARY KEY,
    unit_id        TEXT COLLATE "C"    NOT NULL,
    case_id        TEXT COLLATE "C"    NOT NULL,
    assignment_id  TEXT COLLATE "C",
    kind           TEXT COLLATE "C"    NOT NULL,
    recorded_at    BIGINT NOT NULL
);
CREATE INDEX rm_unit_incidents_by_unit ON rm_unit_incidents (unit_id, recorded_at);

CREATE TABLE rm_referrals (
    referral_id     TEXT COLLATE "C"    PRIMARY KEY,
    case_id         TEXT COLLATE "C"    NOT NULL,
    police_unit     TEXT COLLATE "C"    NOT NULL,
    legal_basis     TEXT COLLATE "C"    NOT NULL,
    evidence        TEXT COLLATE "C"    NOT NULL,
    proposed_by     TEXT COLLATE "C"    NOT NULL,
    proposed_at     BIGINT NOT NULL,
    approved_by     TEXT COLLATE "C",
    approved_at     BIGINT,
    outcome         TEXT COLLATE "C",
    outcome_action  TEXT COLLATE "C",
    outcome_at      BIGINT,
    rebutted_at     BIGINT,
    position        BIGINT NOT NULL
);

CREATE TABLE rm_memos (
    memo_id        TEXT COLLATE "C"    PRIMARY KEY,
    case_id        TEXT COLLATE "C"    NOT NULL,
    summary        TEXT COLLATE "C"    NOT NULL,
    sent_at        BIGINT NOT NULL,
    sent_by        TEXT COLLATE "C"    NOT NULL,
    instruction    TEXT COLLATE "C",
    instructed_by  TEXT COLLATE "C",
    instructed_at  BIGINT,
    deadline_at    BIGINT,
    position       BIGINT NOT NULL
);

CREATE TABLE rm_responses (
    position      BIGINT PRIMARY KEY,
    case_id       TEXT COLLATE "C"    NOT NULL,
    kind          TEXT COLLATE "C"    NOT NULL,
    channel       TEXT COLLATE "C"    NOT NULL,
    content       TEXT COLLATE "C"    NOT NULL,
    url           TEXT COLLATE "C",
    published_at  BIGINT NOT NULL,
    actor_name    TEXT COLLATE "C"    NOT NULL
);

CREATE TABLE rm_follow_ups (
    position     BIGINT PRIMARY KEY,
    case_id      TEXT COLLATE "C"    NOT NULL,
    observation  TEXT COLLATE "C"    NOT NULL,
    sentiment    TEXT COLLATE "C"    NOT NULL,
    recorded_at  BIGINT NOT NULL,
    actor_name   TEXT COLLATE "C"    NOT NULL
);

CREATE TABLE rm_assessment_entries (
    position       BIGINT PRIMARY KEY,
    entry_id       TEXT COLLATE "C"    NOT NULL UNIQUE,
    unit_id        TEXT COLLATE "C"    NOT NULL,
    year           BIGINT NOT NULL,
    entry_kind     TEXT COLLATE "C"    NOT NULL,
    penalty_kind   TEXT COLLATE "C",
    points         BIGINT NOT NULL,
    reason         TEXT COLLATE "C"    NOT NULL,
    person         TEXT COLLATE "C",
    case_ids       TEXT COLLATE "C"    NOT NULL,
    period_from    TEXT COLLATE "C"    NOT NULL,
    period_to      TEXT COLLATE "C"    NOT NULL,
    recorded_at    BIGINT NOT NULL,
    recorded_by    TEXT COLLATE "C"    NOT NULL,
    revoked_at     BIGINT,
    revoke_reason  TEXT COLLATE "C"
);
CREATE INDEX rm_assessment_entries_by_unit ON rm_assessment_entries (unit_id, year);

CREATE TABLE rm_accountability (
    position           BIGINT PRIMARY KEY,
    accountability_id  TEXT COLLATE "C"    NOT NULL,
    unit_id            TEXT COLLATE "C"    NOT NULL,
    year               BIGINT NOT NULL,
    step               TEXT COLLATE "C"    NOT NULL,
    person             TEXT COLLATE "C"    NOT NULL,
    case_ids           TEXT COLLATE "C"    NOT NULL,
    text               TEXT COLLATE "C"    NOT NULL,
    recorded_at        BIGINT NOT NULL,
    recorded_by        TEXT COLLATE "C"    NOT NULL
);

-- Projection `timeline` -----------------------------------------------------------

CREATE TABLE rm_timeline (
    position         BIGINT PRIMARY KEY,
    event_id         TEXT COLLATE "C"    NOT NULL,
    stream_id        TEXT COLLATE "C"    NOT NULL,
    case_id          TEXT COLLATE "C",
    event_type       TEXT COLLATE "C"    NOT NULL,
    recorded_at      BIGINT NOT NULL,
    actor_id         TEXT COLLATE "C"    NOT NULL,
    actor_name       TEXT COLLATE "C"    NOT NULL,
    actor_role       TEXT COLLATE "C"    NOT NULL,
    actor_unit       TEXT COLLATE "C"    NOT NULL,
    actor_unit_name  TEXT COLLATE "C"    NOT NULL,
    summary_zh       TEXT COLLATE "C"    NOT NULL,
    data             TEXT COLLATE "C"    NOT NULL
);
CREATE INDEX rm_timeline_by_case ON rm_timeline (case_id, position);
CREATE INDEX rm_timeline_by_actor ON rm_timeline (actor_id, recorded_at);

-- Unit names as the timeline saw them when each event happened.
CREATE TABLE rm_timeline_unit_names (
    unit_id  TEXT COLLATE "C" PRIMARY KEY,
    name     TEXT COLLATE "C" NOT NULL
);

-- (Folded in from the SQLite migration 0003.) Assessment facts need the event behind each deduction and addition, and projections
-- need a version so a projection whose code changed is rebuilt when the service starts.

ALTER TABLE projection_checkpoints ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- The event that recorded each unit incident (deadline missed, return rejected, urged,
-- major case led, mass incident led).
ALTER TABLE rm_unit_incidents ADD COLUMN event_id TEXT COLLATE "C";
CREATE INDEX rm_unit_incidents_by_case ON rm_unit_incidents (case_id, unit_id, kind);

-- The events that applied and revoked each penalty or commendation.
ALTER TABLE rm_assessment_entries ADD COLUMN event_id TEXT COLLATE "C";
ALTER TABLE rm_assessment_entries ADD COLUMN revoke_event_id TEXT COLLATE "C";
