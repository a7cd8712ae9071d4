-- Workflow records become append-only and hash-chained; the registry becomes history (SPEC §10).
--
-- A drawdown's row keeps only what was filed; its state, revised estimate and final cost are
-- carried by its events (each event records the drawdown as it stands after it, so the state is
-- the latest event's), and a vote changed is a new vote row (the latest counts).
ALTER TABLE drawdown_events ADD COLUMN state TEXT;
ALTER TABLE drawdown_events ADD COLUMN estimate_fen BIGINT;
ALTER TABLE drawdown_events ADD COLUMN final_cost_fen BIGINT;
INSERT INTO drawdown_events (drawdown_id, seq, action, actor, role, office, at, reason)
    SELECT d.drawdown_id, 1, 'migrated', 'migration 0010', 'admin', '', d.submitted_on, 'carried over'
    FROM drawdowns d WHERE NOT EXISTS (SELECT 1 FROM drawdown_events e WHERE e.drawdown_id = d.drawdown_id);
UPDATE drawdown_events SET
    state = (SELECT d.state FROM drawdowns d WHERE d.drawdown_id = drawdown_events.drawdown_id),
    estimate_fen = (SELECT d.estimate_fen FROM drawdowns d WHERE d.drawdown_id = drawdown_events.drawdown_id),
    final_cost_fen = (SELECT d.final_cost_fen FROM drawdowns d WHERE d.drawdown_id = drawdown_events.drawdown_id)
    WHERE seq = (SELECT MAX(e.seq) FROM drawdown_events e WHERE e.drawdown_id = drawdown_events.drawdown_id);
ALTER TABLE drawdowns DROP COLUMN state;
ALTER TABLE drawdowns DROP COLUMN final_cost_fen;

CREATE TABLE drawdown_ballots (
    drawdown_id TEXT NOT NULL,
    unit_id     TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    vote        TEXT NOT NULL CHECK (vote IN ('yes', 'no', 'abstain')),
    PRIMARY KEY (drawdown_id, unit_id, seq)
) WITHOUT ROWID;
INSERT INTO drawdown_ballots (drawdown_id, unit_id, seq, vote) SELECT drawdown_id, unit_id, 1, vote FROM drawdown_votes;
DROP TABLE drawdown_votes;
ALTER TABLE drawdown_ballots RENAME TO drawdown_votes;

-- The registry's changes: dated versions, each with who, when and why. A unit's owner and an
-- estate's street office and company are the registration's until a version says otherwise.
CREATE TABLE unit_versions (
    unit_id        TEXT NOT NULL REFERENCES units (unit_id),
    seq            BIGINT NOT NULL,
    effective_from TEXT NOT NULL,
    owner          TEXT NOT NULL,
    actor          TEXT NOT NULL,
    role           TEXT NOT NULL,
    recorded_on    TEXT NOT NULL,
    reason         TEXT NOT NULL,
    PRIMARY KEY (unit_id, seq)
);
CREATE TABLE estate_versions (
    estate_id        TEXT NOT NULL REFERENCES estates (estate_id),
    seq              BIGINT NOT NULL,
    effective_from   TEXT NOT NULL,
    street_office    TEXT NOT NULL,
    property_company TEXT NOT NULL,
    actor            TEXT NOT NULL,
    role             TEXT NOT NULL,
    recorded_on      TEXT NOT NULL,
    reason           TEXT NOT NULL,
    PRIMARY KEY (estate_id, seq)
);
-- A unit refunded (房屋灭失) is closed from `closed_on` and takes no more postings.
CREATE TABLE unit_closures (
    unit_id     TEXT PRIMARY KEY REFERENCES units (unit_id),
    closed_on   TEXT NOT NULL,
    entry_id    TEXT,
    actor       TEXT NOT NULL,
    role        TEXT NOT NULL,
    recorded_on TEXT NOT NULL,
    reason      TEXT NOT NULL
);

-- One chain over every workflow record and registry version: `kind` and `record_key` name the
-- row, content_hash its canonical content, chain_hash = SHA-256(previous chain_hash || content_hash).
CREATE TABLE records (
    seq          INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    record_key   TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    chain_hash   BLOB NOT NULL,
    UNIQUE (kind, record_key)
);
-- Rows written before this migration are chained by the first program that opens the database
-- (SQL cannot hash them); this marks that it is still to be done.
CREATE TABLE records_unsealed (pending BOOLEAN NOT NULL);
INSERT INTO records_unsealed (pending) SELECT TRUE WHERE EXISTS (SELECT 1 FROM drawdowns);

CREATE TRIGGER drawdowns_no_update BEFORE UPDATE ON drawdowns
BEGIN SELECT RAISE(ABORT, 'append-only: a filed drawdown cannot be changed'); END;
CREATE TRIGGER drawdown_events_no_update BEFORE UPDATE ON drawdown_events
BEGIN SELECT RAISE(ABORT, 'append-only: drawdown events cannot be changed'); END;
CREATE TRIGGER drawdown_events_no_delete BEFORE DELETE ON drawdown_events
BEGIN SELECT RAISE(ABORT, 'append-only: drawdown events cannot be deleted'); END;
CREATE TRIGGER drawdown_votes_no_update BEFORE UPDATE ON drawdown_votes
BEGIN SELECT RAISE(ABORT, 'append-only: votes cannot be changed (a new vote row supersedes)'); END;
CREATE TRIGGER drawdown_votes_no_delete BEFORE DELETE ON drawdown_votes
BEGIN SELECT RAISE(ABORT, 'append-only: votes cannot be deleted'); END;
CREATE TRIGGER drawdown_payments_no_update BEFORE UPDATE ON drawdown_payments
BEGIN SELECT RAISE(ABORT, 'append-only: payments cannot be changed'); END;
CREATE TRIGGER drawdown_payments_no_delete BEFORE DELETE ON drawdown_payments
BEGIN SELECT RAISE(ABORT, 'append-only: payments cannot be deleted'); END;
CREATE TRIGGER records_no_update BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'append-only: the records chain cannot be changed'); END;
CREATE TRIGGER records_no_delete BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'append-only: the records chain cannot be changed'); END;
CREATE TRIGGER unit_versions_no_update BEFORE UPDATE ON unit_versions
BEGIN SELECT RAISE(ABORT, 'history: registry versions cannot be changed'); END;
CREATE TRIGGER unit_versions_no_delete BEFORE DELETE ON unit_versions
BEGIN SELECT RAISE(ABORT, 'history: registry versions cannot be deleted'); END;
CREATE TRIGGER estate_versions_no_update BEFORE UPDATE ON estate_versions
BEGIN SELECT RAISE(ABORT, 'history: registry versions cannot be changed'); END;
CREATE TRIGGER estate_versions_no_delete BEFORE DELETE ON estate_versions
BEGIN SELECT RAISE(ABORT, 'history: registry versions cannot be deleted'); END;
CREATE TRIGGER unit_closures_no_update BEFORE UPDATE ON unit_closures
BEGIN SELECT RAISE(ABORT, 'history: a closed unit stays closed'); END;
CREATE TRIGGER unit_closures_no_delete BEFORE DELETE ON unit_closures
BEGIN SELECT RAISE(ABORT, 'history: a closed unit stays closed'); END;

-- The registration itself is the first version: never overwritten (changes are versions).
CREATE TRIGGER estates_no_update BEFORE UPDATE ON estates
BEGIN SELECT RAISE(ABORT, 'kept: an estate is never overwritten; mfund estate move records a change'); END;
CREATE TRIGGER estates_no_delete BEFORE DELETE ON estates
BEGIN SELECT RAISE(ABORT, 'kept: estates are never deleted'); END;
CREATE TRIGGER buildings_no_update BEFORE UPDATE ON buildings
BEGIN SELECT RAISE(ABORT, 'kept: a building is never overwritten'); END;
CREATE TRIGGER buildings_no_delete BEFORE DELETE ON buildings
BEGIN SELECT RAISE(ABORT, 'kept: buildings are never deleted'); END;
CREATE TRIGGER units_no_update BEFORE UPDATE ON units
BEGIN SELECT RAISE(ABORT, 'kept: a unit is never overwritten; mfund estate transfer records a new owner'); END;
