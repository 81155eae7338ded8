-- Assessment facts need the event behind each deduction and addition, and projections
-- need a version so a projection whose code changed is rebuilt when the service starts.

ALTER TABLE projection_checkpoints ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- The event that recorded each unit incident (deadline missed, return rejected, urged,
-- major case led, mass incident led).
ALTER TABLE rm_unit_incidents ADD COLUMN event_id TEXT;
CREATE INDEX rm_unit_incidents_by_case ON rm_unit_incidents (case_id, unit_id, kind);

-- The events that applied and revoked each penalty or commendation.
ALTER TABLE rm_assessment_entries ADD COLUMN event_id TEXT;
ALTER TABLE rm_assessment_entries ADD COLUMN revoke_event_id TEXT;
