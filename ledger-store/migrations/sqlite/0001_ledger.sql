-- The registry and the append-only, hash-chained journal (SQLite).
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
    floors       INTEGER NOT NULL CHECK (floors BETWEEN 1 AND 200),
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
    account_id INTEGER PRIMARY KEY,
    account    TEXT NOT NULL UNIQUE
);

-- seq orders the audit chain; chain_hash = SHA-256(previous chain_hash || content_hash).
CREATE TABLE entries (
    seq          INTEGER PRIMARY KEY,
    entry_id     TEXT NOT NULL UNIQUE,
    entry_date   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    reverses     TEXT REFERENCES entries (entry_id),
    content_hash BLOB NOT NULL,
    chain_hash   BLOB NOT NULL
);

-- No foreign keys on postings: a per-row check tripled PostgreSQL's bulk import time. Postings
-- are written only with their entry, in the same transaction, and `verify` rehashes every
-- entry from its postings and account names, so an orphan or a dangling account shows there.
CREATE TABLE postings (
    entry_seq  INTEGER NOT NULL,
    line_no    INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    debit_fen  INTEGER NOT NULL CHECK (debit_fen >= 0),
    credit_fen INTEGER NOT NULL CHECK (credit_fen >= 0),
    memo       TEXT NOT NULL,
    PRIMARY KEY (entry_seq, line_no),
    CHECK ((debit_fen > 0) <> (credit_fen > 0))
) WITHOUT ROWID;
CREATE INDEX postings_by_account ON postings (account_id);

CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'append-only: posted entries cannot be updated'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'append-only: posted entries cannot be deleted'); END;
CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings
BEGIN SELECT RAISE(ABORT, 'append-only: posted entries cannot be updated'); END;
CREATE TRIGGER postings_no_delete BEFORE DELETE ON postings
BEGIN SELECT RAISE(ABORT, 'append-only: posted entries cannot be deleted'); END;
CREATE TRIGGER accounts_no_update BEFORE UPDATE ON accounts
BEGIN SELECT RAISE(ABORT, 'append-only: accounts of posted entries cannot be changed'); END;
CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts
BEGIN SELECT RAISE(ABORT, 'append-only: accounts of posted entries cannot be deleted'); END;
