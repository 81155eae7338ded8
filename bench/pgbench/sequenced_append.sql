-- No global lock: a sequence numbers rows at insert, not at commit (unsafe for tailing readers).
BEGIN;
INSERT INTO sequenced_events (stream_id, payload) VALUES ('case-' || :client_id, repeat('x', 300));
COMMIT;
