-- Drawdowns: applications, their beneficiary units, every transition, votes and payments.
-- The same text serves both engines.
CREATE TABLE drawdowns (
    drawdown_id    TEXT PRIMARY KEY,
    estate_id      TEXT NOT NULL REFERENCES estates (estate_id),
    scope          TEXT NOT NULL,
    category       TEXT NOT NULL,
    route          TEXT NOT NULL CHECK (route IN ('green_channel', 'normal')),
    estimate_fen   BIGINT NOT NULL CHECK (estimate_fen > 0),
    contractor     TEXT NOT NULL,
    description    TEXT NOT NULL,
    applicant      TEXT NOT NULL,
    submitted_on   TEXT NOT NULL,
    state          TEXT NOT NULL,
    final_cost_fen BIGINT
);
CREATE INDEX drawdowns_by_estate ON drawdowns (estate_id);

CREATE TABLE drawdown_units (
    drawdown_id TEXT NOT NULL REFERENCES drawdowns (drawdown_id),
    unit_id     TEXT NOT NULL REFERENCES units (unit_id),
    PRIMARY KEY (drawdown_id, unit_id)
);

CREATE TABLE drawdown_events (
    drawdown_id TEXT NOT NULL REFERENCES drawdowns (drawdown_id),
    seq         BIGINT NOT NULL,
    action      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    role        TEXT NOT NULL,
    at          TEXT NOT NULL,
    reason      TEXT NOT NULL,
    PRIMARY KEY (drawdown_id, seq)
);

CREATE TABLE drawdown_votes (
    drawdown_id TEXT NOT NULL REFERENCES drawdowns (drawdown_id),
    unit_id     TEXT NOT NULL,
    vote        TEXT NOT NULL CHECK (vote IN ('yes', 'no', 'abstain')),
    PRIMARY KEY (drawdown_id, unit_id)
);

-- One payment per tranche, enforced here and not only in code: two concurrent requests for
-- the same tranche cannot both post.
CREATE TABLE drawdown_payments (
    drawdown_id TEXT NOT NULL REFERENCES drawdowns (drawdown_id),
    tranche     TEXT NOT NULL CHECK (tranche IN ('advance', 'final')),
    entry_id    TEXT NOT NULL UNIQUE REFERENCES entries (entry_id),
    amount_fen  BIGINT NOT NULL CHECK (amount_fen > 0),
    PRIMARY KEY (drawdown_id, tranche)
);
