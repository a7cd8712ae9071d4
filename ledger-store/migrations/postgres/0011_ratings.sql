-- Service ratings (SPEC §9): checks, tickets, credit scores, the catalogue in force, published
-- years and the clerk's list entries. All append-only: the triggers refuse UPDATE, DELETE and TRUNCATE.
CREATE TABLE rating_catalogues (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    indicators_json TEXT NOT NULL,
    recorded_by     TEXT NOT NULL,
    recorded_at     BIGINT NOT NULL
);

-- A month's check of an estate is one row per indicator; scores in tenths of a point.
CREATE TABLE rating_checks (
    check_id     TEXT NOT NULL,
    indicator_id TEXT NOT NULL,
    estate_id    TEXT NOT NULL REFERENCES estates (estate_id),
    month        TEXT NOT NULL,
    score_tenths BIGINT NOT NULL CHECK (score_tenths >= 0),
    inspector    TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    PRIMARY KEY (check_id, indicator_id)
);
CREATE UNIQUE INDEX rating_checks_once_a_month ON rating_checks (estate_id, month, indicator_id);

CREATE TABLE rating_tickets (
    ticket_id    TEXT PRIMARY KEY,
    estate_id    TEXT NOT NULL REFERENCES estates (estate_id),
    kind         TEXT NOT NULL CHECK (kind IN ('repair', 'complaint')),
    opened_at    TEXT NOT NULL,
    responded_at TEXT,
    closed_at    TEXT,
    recorded_at  BIGINT NOT NULL
);
CREATE INDEX rating_tickets_by_opening ON rating_tickets (opened_at);

-- Credit scores in hundredths.
CREATE TABLE rating_credit_scores (
    company     TEXT NOT NULL,
    year        INTEGER NOT NULL,
    score_centi BIGINT NOT NULL CHECK (score_centi BETWEEN 0 AND 10000),
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (company, year)
);

-- A published year: once, with the rules it used and its whole result.
CREATE TABLE rating_years (
    year         INTEGER PRIMARY KEY,
    published_on TEXT NOT NULL,
    published_by TEXT NOT NULL,
    rules_toml   TEXT NOT NULL,
    rules_json   TEXT NOT NULL,
    result_json  TEXT NOT NULL,
    recorded_at  BIGINT NOT NULL
);

-- A clerk's addition to or removal from a list; a removal is a new row, never a deletion.
CREATE TABLE rating_list_entries (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company     TEXT NOT NULL,
    year        INTEGER NOT NULL,
    list        TEXT NOT NULL CHECK (list IN ('red', 'black')),
    action      TEXT NOT NULL CHECK (action IN ('add', 'remove')),
    reason      TEXT NOT NULL CHECK (reason <> ''),
    entered_by  TEXT NOT NULL,
    entered_on  TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);

CREATE FUNCTION refuse_change_to_ratings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'append-only: rows of % are never changed or deleted', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER rating_catalogues_append_only BEFORE UPDATE OR DELETE ON rating_catalogues
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_ratings();
CREATE TRIGGER rating_catalogues_no_truncate BEFORE TRUNCATE ON rating_catalogues
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_ratings();
CREATE TRIGGER rating_checks_append_only BEFORE UPDATE OR DELETE ON rating_checks
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_ratings();
CREATE TRIGGER rating_checks_no_truncate BEFORE TRUNCATE ON rating_checks
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_ratings();
CREATE TRIGGER rating_tickets_append_only BEFORE UPDATE OR DELETE ON rating_tickets
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_ratings();
CREATE TRIGGER rating_tickets_no_truncate BEFORE TRUNCATE ON rating_tickets
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_ratings();
CREATE TRIGGER rating_credit_scores_append_only BEFORE UPDATE OR DELETE ON rating_credit_scores
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_ratings();
CREATE TRIGGER rating_credit_scores_no_truncate BEFORE TRUNCATE ON rating_credit_scores
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_ratings();
CREATE TRIGGER rating_years_append_only BEFORE UPDATE OR DELETE ON rating_years
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_ratings();
CREATE TRIGGER rating_years_no_truncate BEFORE TRUNCATE ON rating_years
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_ratings();
CREATE TRIGGER rating_list_entries_append_only BEFORE UPDATE OR DELETE ON rating_list_entries
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_ratings();
CREATE TRIGGER rating_list_entries_no_truncate BEFORE TRUNCATE ON rating_list_entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_ratings();
