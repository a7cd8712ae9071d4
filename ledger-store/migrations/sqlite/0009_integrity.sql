-- Integrity (issue 11): the fund's special accounts as configured facts, the record of imports
-- that brought workflow entries, postings that belong to an entry, running totals that stay
-- exact integers.

-- The fund's special accounts (专户). Position 1 is the account payments leave from; a posting
-- to a `bank:` account not listed here is refused by import, so a typo cannot become a second
-- bank account. Added by `mfund init --bank`, by the first import of a ledger without one, or by
-- `mfund bank add`; never changed or removed.
CREATE TABLE fund_bank_accounts (
    position INTEGER PRIMARY KEY CHECK (position > 0),
    account  TEXT NOT NULL UNIQUE CHECK (account LIKE 'bank:_%'),
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    how      TEXT NOT NULL CHECK (how IN ('init', 'first_import', 'added', 'carried_over'))
);
-- A ledger kept by an earlier mfund: the bank account imported first (the lowest number) is
-- the fund's; any other is left unconfigured (`mfund bank add` configures it).
INSERT INTO fund_bank_accounts (position, account, added_by, added_at, how)
    SELECT 1, account, 'mfund 0009', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 'carried_over'
    FROM accounts WHERE account LIKE 'bank:_%' ORDER BY account_id LIMIT 1;
CREATE TRIGGER fund_bank_accounts_no_update BEFORE UPDATE ON fund_bank_accounts
BEGIN SELECT RAISE(ABORT, 'append-only: configured bank accounts cannot be changed'); END;
CREATE TRIGGER fund_bank_accounts_no_delete BEFORE DELETE ON fund_bank_accounts
BEGIN SELECT RAISE(ABORT, 'append-only: configured bank accounts cannot be removed'); END;

-- Imports admitted to bring entries only a workflow may post (drawdown, allocation, refund, a
-- payment touching a unit): an admin's migration, or the opening import of an empty ledger.
CREATE TABLE import_records (
    import_no      INTEGER PRIMARY KEY,
    admission      TEXT NOT NULL CHECK (admission IN ('opening', 'migration')),
    actor          TEXT NOT NULL,
    role           TEXT NOT NULL,
    at             TEXT NOT NULL,
    journal_sha256 TEXT NOT NULL,
    entries        BIGINT NOT NULL,
    first_seq      BIGINT,
    last_seq       BIGINT
);
CREATE TRIGGER import_records_no_update BEFORE UPDATE ON import_records
BEGIN SELECT RAISE(ABORT, 'append-only: import records cannot be changed'); END;
CREATE TRIGGER import_records_no_delete BEFORE DELETE ON import_records
BEGIN SELECT RAISE(ABORT, 'append-only: import records cannot be deleted'); END;

-- A posting belongs to a posted entry: one lookup of the entry's rowid per posting (the
-- entries of a write are inserted before their postings).
CREATE TRIGGER postings_need_an_entry BEFORE INSERT ON postings
WHEN NOT EXISTS (SELECT 1 FROM entries WHERE seq = NEW.entry_seq)
BEGIN SELECT RAISE(ABORT, 'a posting must belong to a posted entry'); END;

-- SQLite turns an integer sum past i64 into a float; a running total must never be one.
CREATE TRIGGER account_totals_exact_on_insert BEFORE INSERT ON account_totals
WHEN typeof(NEW.debit_fen) <> 'integer' OR typeof(NEW.credit_fen) <> 'integer'
BEGIN SELECT RAISE(ABORT, 'overflow: a running total would exceed the range of i64 fen'); END;
CREATE TRIGGER account_totals_exact_on_update BEFORE UPDATE ON account_totals
WHEN typeof(NEW.debit_fen) <> 'integer' OR typeof(NEW.credit_fen) <> 'integer'
BEGIN SELECT RAISE(ABORT, 'overflow: a running total would exceed the range of i64 fen'); END;
