-- The timeline of one stream (a case's record of looks at its personal data), in order.
CREATE INDEX rm_timeline_by_stream ON rm_timeline (stream_id, position);
