-- Tables for measuring what the global order costs on PostgreSQL (see README.md here).
DROP TABLE IF EXISTS ordered_events, ordered_head, sequenced_events;
CREATE TABLE ordered_head (id BIGINT PRIMARY KEY, position BIGINT NOT NULL);
INSERT INTO ordered_head VALUES (1, 0);
CREATE TABLE ordered_events (position BIGINT PRIMARY KEY, stream_id TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE sequenced_events (position BIGSERIAL PRIMARY KEY, stream_id TEXT NOT NULL, payload TEXT NOT NULL);
