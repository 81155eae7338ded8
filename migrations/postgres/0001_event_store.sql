-- The event store on PostgreSQL: an append-only global log of every event, in one
-- gapless order that is also the commit order. Times are microseconds since the Unix
-- epoch, UTC. Payloads are JSON text, kept byte for byte as written.
--
-- Text columns use the "C" collation so that ordering and comparisons are bytewise,
-- exactly as on SQLite, whatever the server's default locale.

CREATE TABLE events (
    position        BIGINT  PRIMARY KEY,                   -- global order: 1, 2, 3, ... with no gaps
    event_id        TEXT COLLATE "C" NOT NULL UNIQUE,      -- UUIDv7
    stream_id       TEXT COLLATE "C" NOT NULL,
    stream_version  BIGINT  NOT NULL,                      -- 1, 2, 3, ... within the stream
    event_type      TEXT COLLATE "C" NOT NULL,
    schema_version  BIGINT  NOT NULL,
    payload         TEXT COLLATE "C" NOT NULL,
    recorded_at     BIGINT  NOT NULL,
    actor_id        TEXT COLLATE "C" NOT NULL,
    actor_name      TEXT COLLATE "C" NOT NULL,
    actor_role      TEXT COLLATE "C" NOT NULL,
    actor_unit      TEXT COLLATE "C" NOT NULL,
    command_id      TEXT COLLATE "C" NOT NULL,
    correlation_id  TEXT COLLATE "C" NOT NULL,
    causation_id    TEXT COLLATE "C",
    UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_by_actor ON events (actor_id, recorded_at);
CREATE INDEX events_by_command ON events (command_id);

-- The head of the log. Every append starts by updating this row: the row lock it takes
-- is held until commit, so appends are numbered in commit order and a reader tailing
-- `position > last_seen` can never pass a lower position that commits later.
CREATE TABLE log_head (
    id        BIGINT PRIMARY KEY CHECK (id = 1),
    position  BIGINT NOT NULL
);
INSERT INTO log_head (id, position) VALUES (1, 0);

-- Command ids already handled: a retried command returns its first result.
CREATE TABLE commands (
    command_id      TEXT COLLATE "C" PRIMARY KEY,
    stream_id       TEXT COLLATE "C" NOT NULL,
    first_position  BIGINT NOT NULL,
    last_position   BIGINT NOT NULL,
    stream_version  BIGINT NOT NULL,
    recorded_at     BIGINT NOT NULL
);

-- Keys that may belong to one stream only (e.g. a post URL opens one case).
CREATE TABLE unique_claims (
    namespace  TEXT COLLATE "C" NOT NULL,
    claim_key  TEXT COLLATE "C" NOT NULL,
    stream_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (namespace, claim_key)
);

-- The log is append-only: no UPDATE, DELETE or TRUNCATE of events.
CREATE FUNCTION whistle_events_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: corrections are new events'
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER events_are_never_updated BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION whistle_events_are_append_only();
CREATE TRIGGER events_are_never_deleted BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION whistle_events_are_append_only();
CREATE TRIGGER events_are_never_truncated BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION whistle_events_are_append_only();
