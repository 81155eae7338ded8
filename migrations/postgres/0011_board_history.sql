-- The case board's history: what the dashboard counts (a case's status, level, lead unit,
-- problem class and categories; its deadlines' due times and whether they are settled;
-- units' names), one row per state, stamped with the time it held. A row holds from
-- `valid_from` (the recorded time of the event that set it, at log position
-- `valid_from_position`) until `valid_to` (the recorded time of the event that replaced
-- it; NULL while it still holds). `dashboard(asOf:)` reads the rows that held at an
-- instant instead of replaying the log.
CREATE TABLE rm_case_versions (
    case_id              TEXT COLLATE "C" NOT NULL,
    valid_from_position  BIGINT NOT NULL,
    valid_from           BIGINT NOT NULL,
    valid_to             BIGINT,
    status               TEXT COLLATE "C" NOT NULL,
    level                TEXT COLLATE "C",
    problem_class        TEXT COLLATE "C",
    lead_unit            TEXT COLLATE "C",
    platform             TEXT COLLATE "C" NOT NULL,
    flagged_at           BIGINT NOT NULL,
    flagged_day          TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (case_id, valid_from_position)
);
CREATE INDEX rm_case_versions_by_validity ON rm_case_versions (valid_from, valid_to);

CREATE TABLE rm_case_category_versions (
    case_id              TEXT COLLATE "C" NOT NULL,
    category             TEXT COLLATE "C" NOT NULL,
    valid_from_position  BIGINT NOT NULL,
    valid_from           BIGINT NOT NULL,
    valid_to             BIGINT,
    flagged_at           BIGINT NOT NULL,
    PRIMARY KEY (case_id, category, valid_from_position)
);

CREATE TABLE rm_deadline_versions (
    case_id              TEXT COLLATE "C" NOT NULL,
    deadline_id          TEXT COLLATE "C" NOT NULL,
    valid_from_position  BIGINT NOT NULL,
    valid_from           BIGINT NOT NULL,
    valid_to             BIGINT,
    due_at               BIGINT NOT NULL,
    settled              BIGINT NOT NULL,
    PRIMARY KEY (case_id, deadline_id, valid_from_position)
);

CREATE TABLE rm_unit_name_versions (
    unit_id              TEXT COLLATE "C" NOT NULL,
    valid_from_position  BIGINT NOT NULL,
    valid_from           BIGINT NOT NULL,
    valid_to             BIGINT,
    name                 TEXT NOT NULL,
    PRIMARY KEY (unit_id, valid_from_position)
);
