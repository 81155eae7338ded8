-- What a command id was first used for: a SHA-256 over the actor, the command's kind,
-- its stream and its arguments. A retry with the same id must match it; rows written
-- before this column existed have none and are matched on their stream alone.
ALTER TABLE commands ADD COLUMN fingerprint TEXT;
