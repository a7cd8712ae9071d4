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
UPDATE drawdown_events ev SET state = d.state, estimate_fen = d.estimate_fen, final_cost_fen = d.final_cost_fen
    FROM drawdowns d
    WHERE d.drawdown_id = ev.drawdown_id
      AND ev.seq = (SELECT MAX(e.seq) FROM drawdown_events e WHERE e.drawdown_id = ev.drawdown_id);
ALTER TABLE drawdowns DROP COLUMN state;
ALTER TABLE drawdowns DROP COLUMN final_cost_fen;

ALTER TABLE drawdown_votes ADD COLUMN seq BIGINT NOT NULL DEFAULT 1;
ALTER TABLE drawdown_votes ALTER COLUMN seq DROP DEFAULT;
ALTER TABLE drawdown_votes DROP CONSTRAINT drawdown_votes_pkey;
ALTER TABLE drawdown_votes DROP CONSTRAINT drawdown_votes_drawdown_id_fkey;
ALTER TABLE drawdown_votes ADD PRIMARY KEY (drawdown_id, unit_id, seq);

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
    seq          BIGINT PRIMARY KEY,
    kind         TEXT NOT NULL,
    record_key   TEXT NOT NULL,
    content_hash BYTEA NOT NULL,
    chain_hash   BYTEA NOT NULL,
    UNIQUE (kind, record_key)
);
-- Rows written before this migration are chained by the first program that opens the database;
-- this marks that it is still to be done.
CREATE TABLE records_unsealed (pending BOOLEAN NOT NULL);
INSERT INTO records_unsealed (pending) SELECT TRUE WHERE EXISTS (SELECT 1 FROM drawdowns);

CREATE FUNCTION refuse_change_to_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'append-only: rows of % are never changed or deleted (% refused)', TG_TABLE_NAME, TG_OP;
END
$$;
CREATE FUNCTION refuse_overwrite_of_registry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'kept: the registry is history; rows of % are never overwritten or deleted (% refused; mfund estate transfer or move records a change)', TG_TABLE_NAME, TG_OP;
END
$$;
CREATE TRIGGER drawdowns_no_update BEFORE UPDATE ON drawdowns
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER drawdown_events_append_only BEFORE UPDATE OR DELETE ON drawdown_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER drawdown_events_no_truncate BEFORE TRUNCATE ON drawdown_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER drawdown_votes_append_only BEFORE UPDATE OR DELETE ON drawdown_votes
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER drawdown_votes_no_truncate BEFORE TRUNCATE ON drawdown_votes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER drawdown_payments_append_only BEFORE UPDATE OR DELETE ON drawdown_payments
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER drawdown_payments_no_truncate BEFORE TRUNCATE ON drawdown_payments
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON records
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER unit_versions_append_only BEFORE UPDATE OR DELETE ON unit_versions
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER unit_versions_no_truncate BEFORE TRUNCATE ON unit_versions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER estate_versions_append_only BEFORE UPDATE OR DELETE ON estate_versions
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER estate_versions_no_truncate BEFORE TRUNCATE ON estate_versions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER unit_closures_append_only BEFORE UPDATE OR DELETE ON unit_closures
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_record();
CREATE TRIGGER unit_closures_no_truncate BEFORE TRUNCATE ON unit_closures
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_record();

-- The registration itself is the first version: never overwritten (changes are versions).
CREATE TRIGGER estates_no_overwrite BEFORE UPDATE OR DELETE ON estates
    FOR EACH ROW EXECUTE FUNCTION refuse_overwrite_of_registry();
CREATE TRIGGER estates_no_truncate BEFORE TRUNCATE ON estates
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_overwrite_of_registry();
CREATE TRIGGER buildings_no_overwrite BEFORE UPDATE OR DELETE ON buildings
    FOR EACH ROW EXECUTE FUNCTION refuse_overwrite_of_registry();
CREATE TRIGGER buildings_no_truncate BEFORE TRUNCATE ON buildings
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_overwrite_of_registry();
CREATE TRIGGER units_no_overwrite BEFORE UPDATE ON units
    FOR EACH ROW EXECUTE FUNCTION refuse_overwrite_of_registry();
