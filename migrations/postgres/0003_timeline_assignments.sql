-- The audit trail by assignment: each timeline row names the assignment an event is
-- about and that assignment's unit, so inspectors can list everything that happened to
-- a unit's assignments. Written by the `timeline` projection (version 3 rebuilds it).

ALTER TABLE rm_timeline ADD COLUMN assignment_id TEXT COLLATE "C";
ALTER TABLE rm_timeline ADD COLUMN assignment_unit TEXT COLLATE "C";
CREATE INDEX rm_timeline_by_assignment_unit ON rm_timeline (assignment_unit, position);

-- Which unit each assignment was made to, as the timeline saw it.
CREATE TABLE rm_timeline_assignments (
    assignment_id  TEXT COLLATE "C" PRIMARY KEY,
    unit_id        TEXT COLLATE "C" NOT NULL
);
