-- The audit tree's tiles (C2SP tlog-tiles layout): level 0 holds leaf hashes, 256 per
-- tile; each full tile's root is a hash of the level above. A cache derived from the
-- events table so that proofs read O(log n) hashes; never evidence: every proof made
-- from it is checked against the proven row and the signed root. Rebuilt on demand.
CREATE TABLE audit_tiles (
    level   INTEGER NOT NULL,
    idx     BIGINT  NOT NULL,
    hashes  BYTEA   NOT NULL,   -- 32 bytes per hash, up to 256 hashes
    PRIMARY KEY (level, idx)
);
