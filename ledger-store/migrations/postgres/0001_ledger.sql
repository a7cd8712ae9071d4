-- The registry and the append-only, hash-chained journal (PostgreSQL).
CREATE TABLE estates (
    estate_id        TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    district         TEXT NOT NULL,
    street_office    TEXT NOT NULL,
    property_company TEXT NOT NULL
);

CREATE TABLE buildings (
    building_id  TEXT PRIMARY KEY,
    estate_id    TEXT NOT NULL REFERENCES estates (estate_id),
    name         TEXT NOT NULL,
    floors       BIGINT NOT NULL CHECK (floors BETWEEN 1 AND 200),
    has_elevator BOOLEAN NOT NULL
);
CREATE INDEX buildings_by_estate ON buildings (estate_id);

CREATE TABLE units (
    unit_id             TEXT PRIMARY KEY,
    building_id         TEXT NOT NULL REFERENCES buildings (building_id),
    floor_area_centi_m2 BIGINT NOT NULL CHECK (floor_area_centi_m2 > 0),
    unit_use            TEXT NOT NULL CHECK (unit_use IN ('residential', 'commercial')),
    owner               TEXT NOT NULL
);
CREATE INDEX units_by_building ON units (building_id);

-- Accounts by number, so that postings and their index hold integers, not text.
CREATE TABLE accounts (
    account_id BIGINT PRIMARY KEY,
    account    TEXT NOT NULL UNIQUE
);

-- seq orders the audit chain; chain_hash = SHA-256(previous chain_hash || content_hash).
CREATE TABLE entries (
    seq          BIGINT PRIMARY KEY,
    entry_id     TEXT NOT NULL UNIQUE,
    entry_date   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    reverses     TEXT REFERENCES entries (entry_id),
    content_hash BYTEA NOT NULL,
    chain_hash   BYTEA NOT NULL
);

-- No foreign keys on postings: a per-row check tripled PostgreSQL's bulk import time. Postings
-- are written only with their entry, in the same transaction, and `verify` rehashes every
-- entry from its postings and account names, so an orphan or a dangling account shows there.
CREATE TABLE postings (
    entry_seq  BIGINT NOT NULL,
    line_no    BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    debit_fen  BIGINT NOT NULL CHECK (debit_fen >= 0),
    credit_fen BIGINT NOT NULL CHECK (credit_fen >= 0),
    memo       TEXT NOT NULL,
    PRIMARY KEY (entry_seq, line_no),
    CHECK ((debit_fen > 0) <> (credit_fen > 0))
);
CREATE INDEX postings_by_account ON postings (account_id);

CREATE FUNCTION refuse_change_to_posted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'append-only: posted entries cannot be changed (% on %)', TG_OP, TG_TABLE_NAME;
END
$$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_posted();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_posted();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_posted();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_posted();
CREATE TRIGGER accounts_append_only BEFORE UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_posted();
