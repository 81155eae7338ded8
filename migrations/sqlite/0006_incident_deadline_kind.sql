-- A missed deadline's kind (feedback, rectification, leader instruction, public
-- response) on the unit's incident, so the assessment deducts for the kinds its rule set
-- names (`[assessment] missed_deadline_kinds`, feedback only by default) while the
-- scorecard's overdue count keeps counting every missed deadline of the unit's
-- assignments. The case_board projection (v3) rebuilds to fill it.
ALTER TABLE rm_unit_incidents ADD COLUMN deadline_kind TEXT;
