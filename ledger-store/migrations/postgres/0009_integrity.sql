-- Integrity (issue 11): the fund's special accounts as configured facts, the record of imports
-- that brought workflow entries, postings that belong to an entry.

-- The fund's special accounts (专户). Position 1 is the account payments leave from; a posting
-- to a `bank:` account not listed here is refused by import, so a typo cannot become a second
-- bank account. Added by `mfund init --bank`, by the first import of a ledger without one, or by
-- `mfund bank add`; never changed or removed.
CREATE TABLE fund_bank_accounts (
    position BIGINT PRIMARY KEY CHECK (position > 0),
    account  TEXT NOT NULL UNIQUE CHECK (account LIKE 'bank:_%'),
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    how      TEXT NOT NULL CHECK (how IN ('init', 'first_import', 'added', 'carried_over'))
);
-- A ledger kept by an earlier mfund: the bank account imported first (the lowest number) is
-- the fund's; any other is left unconfigured (`mfund bank add` configures it).
INSERT INTO fund_bank_accounts (position, account, added_by, added_at, how)
    SELECT 1, account, 'mfund 0009', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'carried_over'
    FROM accounts WHERE account LIKE 'bank:_%' ORDER BY account_id LIMIT 1;
CREATE TRIGGER fund_bank_accounts_append_only BEFORE UPDATE OR DELETE ON fund_bank_accounts
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_posted();
CREATE TRIGGER fund_bank_accounts_no_truncate BEFORE TRUNCATE ON fund_bank_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_posted();

-- Imports admitted to bring entries only a workflow may post (drawdown, allocation, refund, a
-- payment touching a unit): an admin's migration, or the opening import of an empty ledger.
CREATE TABLE import_records (
    import_no      BIGINT PRIMARY KEY,
    admission      TEXT NOT NULL CHECK (admission IN ('opening', 'migration')),
    actor          TEXT NOT NULL,
    role           TEXT NOT NULL,
    at             TEXT NOT NULL,
    journal_sha256 TEXT NOT NULL,
    entries        BIGINT NOT NULL,
    first_seq      BIGINT,
    last_seq       BIGINT
);
CREATE TRIGGER import_records_append_only BEFORE UPDATE OR DELETE ON import_records
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_posted();
CREATE TRIGGER import_records_no_truncate BEFORE TRUNCATE ON import_records
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_posted();

-- A posting belongs to a posted entry. A foreign key checks (and locks) the entry row once per
-- posting, which tripled a bulk import; and an import COPYs its postings before its entries.
-- So each statement that adds postings notes the range of entry numbers it used (one row, from
-- its transition table), and at commit one anti-join over that range finds any posting whose
-- entry does not exist.
CREATE TABLE postings_to_check (
    first_seq BIGINT NOT NULL,
    last_seq  BIGINT NOT NULL
);

CREATE FUNCTION note_new_postings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO postings_to_check (first_seq, last_seq)
        SELECT MIN(entry_seq), MAX(entry_seq) FROM added HAVING COUNT(*) > 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER postings_noted AFTER INSERT ON postings REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION note_new_postings();

CREATE FUNCTION check_postings_have_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    orphan BIGINT;
BEGIN
    SELECT p.entry_seq INTO orphan FROM postings p
        WHERE p.entry_seq BETWEEN NEW.first_seq AND NEW.last_seq
          AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.seq = p.entry_seq)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a posting must belong to a posted entry: entry number % does not exist', orphan;
    END IF;
    DELETE FROM postings_to_check WHERE first_seq = NEW.first_seq AND last_seq = NEW.last_seq;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER postings_have_entries AFTER INSERT ON postings_to_check
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_postings_have_entries();
-- (Running totals cannot wrap here: PostgreSQL refuses a BIGINT sum past its range.)
