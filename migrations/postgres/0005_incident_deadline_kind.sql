-- A missed deadline's kind on the unit's incident (see sqlite/0006): the assessment
-- deducts for the kinds its rule set names. The case_board projection (v3) rebuilds to
-- fill it.
ALTER TABLE rm_unit_incidents ADD COLUMN deadline_kind TEXT COLLATE "C";
