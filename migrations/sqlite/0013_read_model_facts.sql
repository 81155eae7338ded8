-- Scorecards' figures kept per unit and Asia/Shanghai day, as the record stands (every
-- outcome recorded so far counts): the assignments made to the unit that day that are
-- counted (neither withdrawn nor returned with the return accepted) and how they went,
-- and the incidents recorded against it that day. The projector keeps each row as the
-- sum of what its assignments and incidents contribute now (a row whose sum is nothing
-- is deleted), so a year's scorecards add up at most 366 rows a unit instead of reading
-- every assignment. `rm_board_reach` holds the latest recorded time of any event the
-- board has applied: a scorecard as of that instant or later is read from these rows,
-- an earlier one from the assignments themselves.
CREATE TABLE rm_unit_day_facts (
    unit_id         TEXT    NOT NULL,
    shanghai_day    TEXT    NOT NULL,
    counted         INTEGER NOT NULL,
    with_feedback   INTEGER NOT NULL,
    on_time         INTEGER NOT NULL,
    completed       INTEGER NOT NULL,
    response_total  INTEGER NOT NULL,
    overdue         INTEGER NOT NULL,
    buck_passing    INTEGER NOT NULL,
    urgings         INTEGER NOT NULL,
    PRIMARY KEY (unit_id, shanghai_day)
);
CREATE INDEX rm_unit_day_facts_by_day ON rm_unit_day_facts (shanghai_day, unit_id);

CREATE TABLE rm_board_reach (
    reach               INTEGER PRIMARY KEY,
    latest_recorded_at  INTEGER NOT NULL
);

-- A counted assignment's first-response time (its first approved reply less its
-- assignment, in microseconds; NULL when not counted or not answered), indexed by unit
-- so a scorecard's median is found by walking one unit's responses in order.
ALTER TABLE rm_assignments ADD COLUMN counted_response INTEGER;
CREATE INDEX rm_assignments_by_unit_response ON rm_assignments (unit_id, counted_response, assigned_at);

-- The dashboard's counts per Asia/Shanghai flagging day: the cases flagged that day
-- that show one key of one figure now (`total` and `open` with the empty key, each
-- `status`, `level`, `lead_unit`, `platform`, `problem_class` and `category`). Kept by
-- the projector as sums like the scorecards' facts, so the live dashboard over all
-- cases or whole days of them adds these rows up instead of grouping every case.
CREATE TABLE rm_case_day_counts (
    figure       TEXT    NOT NULL,
    flagged_day  TEXT    NOT NULL,
    figure_key   TEXT    NOT NULL,
    cases        INTEGER NOT NULL,
    PRIMARY KEY (figure, flagged_day, figure_key)
);
