-- Covering indexes for the whole-period aggregations (measured on a 1,000,000-event log
-- of ~130,000 cases, BENCHMARKS.md): the dashboard's counts by status, level, lead unit,
-- platform, problem class and day read this index instead of the wide case rows, and the
-- scorecards read their assignment facts from the second. The first makes the index on
-- flagged_at alone redundant.
CREATE INDEX rm_cases_for_dashboard ON rm_cases
    (flagged_at, status, level, lead_unit, platform, problem_class, flagged_day, case_id);
DROP INDEX rm_cases_by_flagged_at;
CREATE INDEX rm_assignments_for_scorecards ON rm_assignments
    (assigned_at, unit_id, first_approved_reply_at, deadline_at_first_approval, completed_at,
     withdrawn_at, return_accepted_at);
