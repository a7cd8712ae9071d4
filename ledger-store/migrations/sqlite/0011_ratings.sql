-- Service ratings (SPEC §9): checks, tickets, credit scores, the catalogue in force, published
-- years and the clerk's list entries. All append-only: the triggers refuse UPDATE and DELETE.
CREATE TABLE rating_catalogues (
    seq             INTEGER PRIMARY KEY,
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
    seq         INTEGER PRIMARY KEY,
    company     TEXT NOT NULL,
    year        INTEGER NOT NULL,
    list        TEXT NOT NULL CHECK (list IN ('red', 'black')),
    action      TEXT NOT NULL CHECK (action IN ('add', 'remove')),
    reason      TEXT NOT NULL CHECK (reason <> ''),
    entered_by  TEXT NOT NULL,
    entered_on  TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);

CREATE TRIGGER rating_catalogues_no_update BEFORE UPDATE ON rating_catalogues
BEGIN SELECT RAISE(ABORT, 'append-only: rating records are never changed'); END;
CREATE TRIGGER rating_catalogues_no_delete BEFORE DELETE ON rating_catalogues
BEGIN SELECT RAISE(ABORT, 'append-only: rating records are never deleted'); END;
CREATE TRIGGER rating_checks_no_update BEFORE UPDATE ON rating_checks
BEGIN SELECT RAISE(ABORT, 'append-only: rating records are never changed'); END;
CREATE TRIGGER rating_checks_no_delete BEFORE DELETE ON rating_checks
BEGIN SELECT RAISE(ABORT, 'append-only: rating records are never deleted'); END;
CREATE TRIGGER rating_tickets_no_update BEFORE UPDATE ON rating_tickets
BEGIN SELECT RAISE(ABORT, 'append-only: rating records are never changed'); END;
CREATE TRIGGER rating_tickets_no_delete BEFORE DELETE ON rating_tickets
BEGIN SELECT RAISE(ABORT, 'append-only: rating records are never deleted'); END;
CREATE TRIGGER rating_credit_scores_no_update BEFORE UPDATE ON rating_credit_scores
BEGIN SELECT RAISE(ABORT, 'append-only: rating records are never changed'); END;
CREATE TRIGGER rating_credit_scores_no_delete BEFORE DELETE ON rating_credit_scores
BEGIN SELECT RAISE(ABORT, 'append-only: rating records are never deleted'); END;
CREATE TRIGGER rating_years_no_update BEFORE UPDATE ON rating_years
BEGIN SELECT RAISE(ABORT, 'append-only: a published year is never changed'); END;
CREATE TRIGGER rating_years_no_delete BEFORE DELETE ON rating_years
BEGIN SELECT RAISE(ABORT, 'append-only: a published year is never deleted'); END;
CREATE TRIGGER rating_list_entries_no_update BEFORE UPDATE ON rating_list_entries
BEGIN SELECT RAISE(ABORT, 'append-only: rating records are never changed'); END;
CREATE TRIGGER rating_list_entries_no_delete BEFORE DELETE ON rating_list_entries
BEGIN SELECT RAISE(ABORT, 'append-only: rating records are never deleted'); END;
