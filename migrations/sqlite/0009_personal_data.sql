-- Personal data kept apart from the events that mention it. An event's stored payload
-- holds, in place of each personal value, {"whistle_personal": "<commitment>"}: the
-- SHA-256 (hex) of "whistle/personal/v1", a NUL, the salt, a NUL and the value. The
-- audit leaf covers the payload, so it covers the commitment; erasing a value deletes
-- its row here and every proof stays valid, while the salt keeps an erased value from
-- being guessed back from its commitment. Rows are deleted only by an erasure.
CREATE TABLE personal_data (
    event_id  TEXT NOT NULL,
    pointer   TEXT NOT NULL,   -- where the value sits in the payload (RFC 6901)
    salt      TEXT NOT NULL,   -- 32 hex digits
    value     TEXT NOT NULL,
    PRIMARY KEY (event_id, pointer)
);
