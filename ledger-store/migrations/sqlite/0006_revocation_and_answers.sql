-- A revoked user keeps its row (the name stays taken; past events still name it) but its
-- token no longer signs in.
ALTER TABLE users ADD COLUMN revoked BOOLEAN NOT NULL DEFAULT FALSE;

-- The first answer to each (user, Idempotency-Key): shared by every server on this database
-- and kept across restarts, so a client retrying after a lost response gets it again. `request`
-- (endpoint and content) refuses the same key for another request.
CREATE TABLE idempotency_answers (
    user_name TEXT NOT NULL,
    key       TEXT NOT NULL,
    request   TEXT NOT NULL,
    status    BIGINT NOT NULL,
    body      TEXT NOT NULL,
    -- Seconds since 1970: answers are kept for a retention period, then forgotten.
    kept_at   BIGINT NOT NULL,
    PRIMARY KEY (user_name, key)
);
