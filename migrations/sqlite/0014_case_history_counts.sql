-- The dashboard as of an instant, added up by day: for each figure and key the
-- dashboard counts (`total`, `open`, each `status`, `level`, `lead_unit`, `platform`,
-- `problem_class`, `category`, and `flagged_day` for the flags per day), how many of the
-- board's history rows under it began (`opened`) and how many ended (`closed`) on each
-- Asia/Shanghai day. The rows that held at an instant are those opened by then less
-- those closed by then: the days before the instant's day come from these sums, its own
-- day from the history rows through the indexes below.
CREATE TABLE rm_case_history_counts (
    figure      TEXT    NOT NULL,
    change_day  TEXT    NOT NULL,
    figure_key  TEXT    NOT NULL,
    opened      INTEGER NOT NULL,
    closed      INTEGER NOT NULL,
    PRIMARY KEY (figure, change_day, figure_key)
);
CREATE INDEX rm_case_versions_by_end ON rm_case_versions (valid_to);
CREATE INDEX rm_case_category_versions_by_end ON rm_case_category_versions (valid_to);
CREATE INDEX rm_case_category_versions_by_start ON rm_case_category_versions (valid_from);
