-- Whistle's design: the head row's lock is held to commit, so positions follow commit order.
BEGIN;
UPDATE ordered_head SET position = position + 1 WHERE id = 1;
INSERT INTO ordered_events (position, stream_id, payload)
    SELECT position, 'case-' || :client_id, repeat('x', 300) FROM ordered_head WHERE id = 1;
COMMIT;
