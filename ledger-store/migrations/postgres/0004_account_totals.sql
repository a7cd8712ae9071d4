-- Running totals per account, kept in the same transaction that posts, so that a current
-- balance is one row to read instead of a sum over every posting the account ever had.
-- Derived data: `verify` proves the postings; these follow from them.
CREATE TABLE account_totals (
    account_id BIGINT PRIMARY KEY,
    debit_fen  BIGINT NOT NULL,
    credit_fen BIGINT NOT NULL
);
INSERT INTO account_totals (account_id, debit_fen, credit_fen)
    SELECT account_id, SUM(debit_fen), SUM(credit_fen) FROM postings GROUP BY account_id;
