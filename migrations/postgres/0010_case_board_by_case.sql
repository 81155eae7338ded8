-- The batched case_board projector loads every row of the cases a batch touches with one
-- `WHERE case_id IN (…)` per table; these three tables had no index on case_id, so each
-- load scanned them whole.
CREATE INDEX rm_replies_by_case ON rm_replies (case_id);
CREATE INDEX rm_referrals_by_case ON rm_referrals (case_id);
CREATE INDEX rm_memos_by_case ON rm_memos (case_id);
