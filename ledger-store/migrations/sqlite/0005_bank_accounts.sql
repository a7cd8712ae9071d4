-- Payments leave from the ledger's one `bank:` account; this partial index finds it without
-- scanning every unit account (2 million in a city).
CREATE INDEX accounts_bank ON accounts (account_id) WHERE account LIKE 'bank:%';
