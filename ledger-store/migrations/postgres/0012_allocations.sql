-- One row per allocation of the fund's income to the units (SPEC §6), written with its entry in
-- the same transaction. The parameters as asked (`from_asked`, `amount_asked_fen`: NULL when the
-- default was taken) are the idempotency record of the entry id; the result is kept so that the
-- same allocation asked again answers its first result. Append-only, like the entries.
CREATE TABLE allocations (
    entry_id         TEXT PRIMARY KEY REFERENCES entries (entry_id),
    source           TEXT NOT NULL CHECK (source IN ('income:interest', 'income:common')),
    alloc_date       TEXT NOT NULL,
    method           TEXT NOT NULL CHECK (method IN ('balance-days', 'area', 'closing-balance')),
    from_asked       TEXT,
    to_resolved      TEXT,
    amount_asked_fen BIGINT,
    withhold_rate    TEXT NOT NULL,
    scope            TEXT NOT NULL,
    period_from      TEXT,
    period_to        TEXT,
    amount_fen       BIGINT NOT NULL CHECK (amount_fen > 0),
    withheld_fen     BIGINT NOT NULL CHECK (withheld_fen >= 0),
    allocated_fen    BIGINT NOT NULL CHECK (allocated_fen > 0 AND allocated_fen + withheld_fen = amount_fen),
    units_credited   BIGINT NOT NULL,
    weights_total    TEXT NOT NULL,
    -- Every unit of weight above 0, one line each: unit_id, weight, share in fen, tab-separated.
    shares           TEXT NOT NULL,
    actor            TEXT NOT NULL,
    role             TEXT NOT NULL,
    recorded_on      TEXT NOT NULL
);
CREATE INDEX allocations_by_source ON allocations (source, period_to);

CREATE TRIGGER allocations_append_only BEFORE UPDATE OR DELETE ON allocations
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_posted();
CREATE TRIGGER allocations_no_truncate BEFORE TRUNCATE ON allocations
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_posted();
