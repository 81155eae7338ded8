-- The event store: an append-only global log of every event, in one gapless order.
-- Times are microseconds since the Unix epoch, UTC. Payloads and metadata are JSON text.

CREATE TABLE events (
    position        INTEGER PRIMARY KEY,          -- global order: 1, 2, 3, ... with no gaps
    event_id        TEXT    NOT NULL UNIQUE,      -- UUIDv7
    stream_id       TEXT    NOT NULL,             -- case-<uuid>, unit-<code>, assessment-<code>-<year>
    stream_version  INTEGER NOT NULL,             -- 1, 2, 3, ... within the stream
    event_type      TEXT    NOT NULL,             -- e.g. CaseAssigned
    schema_version  INTEGER NOT NULL,
    payload         TEXT    NOT NULL,
    recorded_at     INTEGER NOT NULL,
    actor_id        TEXT    NOT NULL,
    actor_name      TEXT    NOT NULL,
    actor_role      TEXT    NOT NULL,
    actor_unit      TEXT    NOT NULL,
    command_id      TEXT    NOT NULL,
    correlation_id  TEXT    NOT NULL,
    causation_id    TEXT,
    UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_by_actor ON events (actor_id, recorded_at);
CREATE INDEX events_by_command ON events (command_id);

-- The head of the log. Every append starts by updating this row, which takes SQLite's
-- write lock before anything is read, so appends never race on the next position.
CREATE TABLE log_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    position  INTEGER NOT NULL
);
INSERT INTO log_head (id, position) VALUES (1, 0);

-- Command ids already handled: a retried command returns its first result.
CREATE TABLE commands (
    command_id      TEXT    PRIMARY KEY,
    stream_id       TEXT    NOT NULL,
    first_position  INTEGER NOT NULL,
    last_position   INTEGER NOT NULL,
    stream_version  INTEGER NOT NULL,
    recorded_at     INTEGER NOT NULL
);

-- Keys that may belong to one stream only (e.g. a post URL opens one case).
CREATE TABLE unique_claims (
    namespace  TEXT NOT NULL,
    claim_key  TEXT NOT NULL,
    stream_id  TEXT NOT NULL,
    PRIMARY KEY (namespace, claim_key)
);

-- The log is append-only.
CREATE TRIGGER events_are_never_updated BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: corrections are new events');
END;

CREATE TRIGGER events_are_never_deleted BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: corrections are new events');
END;
