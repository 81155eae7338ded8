-- The case board's history: what the dashboard counts (a case's status, level, lead unit,
-- problem class and categories; its deadlines' due times and whether they are settled;
-- units' names), one row per state, stamped with the time it held. A row holds from
-- `valid_from` (the recorded time of the event that set it, at log position
-- `valid_from_position`) until `valid_to` (the recorded time of the event that replaced
-- it; NULL while it still holds). `dashboard(asOf:)` reads the rows that held at an
-- instant instead of replaying the log.
CREATE TABLE rm_case_versions (
    case_id              TEXT NOT NULL,
    valid_from_position  INTEGER NOT NULL,
    valid_from           INTEGER NOT NULL,
    valid_to             INTEGER,
    status               TEXT NOT NULL,
    level                TEXT,
    problem_class        TEXT,
    lead_unit            TEXT,
    platform             TEXT NOT NULL,
    flagged_at           INTEGER NOT NULL,
    flagged_day          TEXT NOT NULL,
    PRIMARY KEY (case_id, valid_from_position)
);
CREATE INDEX rm_case_versions_by_validity ON rm_case_versions (valid_from, valid_to);

CREATE TABLE rm_case_category_versions (
    case_id              TEXT NOT NULL,
    category             TEXT NOT NULL,
    valid_from_position  INTEGER NOT NULL,
    valid_from           INTEGER NOT NULL,
    valid_to             INTEGER,
    flagged_at           INTEGER NOT NULL,
    PRIMARY KEY (case_id, category, valid_from_position)
);

CREATE TABLE rm_deadline_versions (
    case_id              TEXT NOT NULL,
    deadline_id          TEXT NOT NULL,
    valid_from_position  INTEGER NOT NULL,
    valid_from           INTEGER NOT NULL,
    valid_to             INTEGER,
    due_at               INTEGER NOT NULL,
    settled              INTEGER NOT NULL,
    PRIMARY KEY (case_id, deadline_id, valid_from_position)
);

CREATE TABLE rm_unit_name_versions (
    unit_id              TEXT NOT NULL,
    valid_from_position  INTEGER NOT NULL,
    valid_from           INTEGER NOT NULL,
    valid_to             INTEGER,
    name                 TEXT NOT NULL,
    PRIMARY KEY (unit_id, valid_from_position)
);
