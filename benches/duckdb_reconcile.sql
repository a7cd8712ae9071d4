-- The reconciliation of SPEC §3 in DuckDB SQL: the yardstick of benches/city.sh.
--
-- Run with the city's folder as the working directory (the files are read by relative path):
--     cd CITY && duckdb < .../benches/duckdb_reconcile.sql
-- It reads estates.csv, buildings.csv, units.csv, journal.csv, unit_balances.csv and
-- statement.csv, computes every list and roll-up that `mfund reconcile` reports, and writes
-- them to duckdb_report.json (one JSON object, keys and amount strings as in mfund's report).
--
-- Amounts are DECIMAL(18,2) throughout (sums widen to DECIMAL(38,2)); never DOUBLE.
--
-- Exact: entries, accounts, unit balances, roll-ups, health, book and statement totals, and
-- step 1 of the statement matching (by ref). APPROXIMATE: step 2 of the matching (by amount and
-- date), which SPEC defines as a greedy one-to-one pass; see the `matched_by_amount` table.

-- Registry -----------------------------------------------------------------------------------

CREATE TEMP TABLE estates AS
SELECT estate_id
FROM read_csv('estates.csv', header = true, all_varchar = true, quote = '"', escape = '"');

CREATE TEMP TABLE buildings AS
SELECT building_id, estate_id
FROM read_csv('buildings.csv', header = true, all_varchar = true, quote = '"', escape = '"');

CREATE TEMP TABLE units AS
SELECT u.unit_id, u.building_id, b.estate_id
FROM read_csv('units.csv', header = true, all_varchar = true, quote = '"', escape = '"') u
JOIN buildings b USING (building_id);

-- Journal: one row per posting; an optional 8th column `reverses` is ignored (null_padding lets
-- 7-field rows sit under an 8-column header). --------------------------------------------------

CREATE TEMP TABLE postings AS
SELECT entry_id,
       CAST(date AS DATE)             AS date,
       kind,
       account,
       CAST(debit AS DECIMAL(18, 2))  AS debit,
       CAST(credit AS DECIMAL(18, 2)) AS credit
FROM read_csv('journal.csv', header = true, all_varchar = true, null_padding = true,
              quote = '"', escape = '"');

-- Each distinct account classified once against the chart and the registry.
CREATE TEMP TABLE accounts AS
WITH split AS (
    SELECT account,
           CASE WHEN contains(account, ':') THEN split_part(account, ':', 1) END AS prefix,
           CASE WHEN contains(account, ':') THEN substr(account, strpos(account, ':') + 1) END AS id
    FROM (SELECT DISTINCT account FROM postings)
)
SELECT s.account,
       CASE
           WHEN s.account IN ('income:interest', 'income:common', 'suspense') THEN 'other'
           WHEN s.prefix = 'unit' AND u.unit_id IS NOT NULL THEN 'unit'
           WHEN s.prefix IN ('unit', 'bank', 'payable')
                AND NOT regexp_full_match(s.id, '[A-Za-z0-9._:-]{1,64}') THEN 'invalid'
           WHEN s.prefix = 'unit' THEN 'invalid'
           WHEN s.prefix = 'bank' THEN 'bank'
           WHEN s.prefix = 'payable' THEN 'other'
           ELSE 'invalid'
       END AS class,
       CASE
           WHEN s.account IN ('income:interest', 'income:common', 'suspense') THEN NULL
           WHEN s.prefix = 'unit' AND u.unit_id IS NOT NULL THEN NULL
           WHEN s.prefix IN ('unit', 'bank', 'payable')
                AND NOT regexp_full_match(s.id, '[A-Za-z0-9._:-]{1,64}')
               THEN 'invalid identifier in account'
           WHEN s.prefix = 'unit' THEN 'unit not in the registry'
           WHEN s.prefix IN ('bank', 'payable') THEN NULL
           ELSE 'account not in the chart of accounts'
       END AS reason,
       u.unit_id
FROM split s
LEFT JOIN units u ON s.prefix = 'unit' AND u.unit_id = s.id;

CREATE TEMP TABLE classified AS
SELECT p.*, a.class, a.reason, a.unit_id
FROM postings p JOIN accounts a USING (account);

-- 1. Entries ---------------------------------------------------------------------------------

CREATE TEMP TABLE entries AS
SELECT entry_id,
       min(date)                        AS date,
       min(kind)                        AS kind,
       coalesce(sum(debit), 0)          AS debit,
       coalesce(sum(credit), 0)         AS credit,
       bool_or(class = 'invalid')       AS has_invalid
FROM classified
GROUP BY entry_id;

CREATE TEMP TABLE unbalanced_entries AS
SELECT entry_id, debit, credit FROM entries WHERE debit <> credit;

CREATE TEMP TABLE invalid_postings AS
SELECT entry_id, account, reason FROM classified WHERE class = 'invalid';

-- Postings of the entries that take part in everything that follows.
CREATE TEMP TABLE valid_postings AS
SELECT c.*
FROM classified c
JOIN entries e USING (entry_id)
WHERE e.debit = e.credit AND NOT e.has_invalid;

-- 2. Units against the bank ------------------------------------------------------------------

CREATE TEMP TABLE bank_balances AS
SELECT unit_id, CAST(balance AS DECIMAL(18, 2)) AS balance
FROM read_csv('unit_balances.csv', header = true, all_varchar = true, quote = '"', escape = '"');

CREATE TEMP TABLE unit_ledger AS
SELECT unit_id, sum(coalesce(credit, 0) - coalesce(debit, 0)) AS balance
FROM valid_postings
WHERE class = 'unit'
GROUP BY unit_id;

CREATE TEMP TABLE unit_recon AS
SELECT u.unit_id, u.building_id, u.estate_id,
       CAST(coalesce(l.balance, 0) AS DECIMAL(18, 2)) AS ledger,
       b.balance                                      AS bank,
       b.unit_id IS NOT NULL                          AS in_bank
FROM units u
LEFT JOIN unit_ledger l USING (unit_id)
LEFT JOIN bank_balances b USING (unit_id);

CREATE TEMP TABLE unit_mismatches AS
SELECT unit_id, building_id, estate_id, ledger, bank, ledger - bank AS difference
FROM unit_recon WHERE in_bank AND ledger <> bank;

CREATE TEMP TABLE units_missing_in_bank AS
SELECT unit_id, ledger FROM unit_recon WHERE NOT in_bank;

CREATE TEMP TABLE units_unknown_to_registry AS
SELECT b.unit_id, b.balance AS bank
FROM bank_balances b ANTI JOIN units u USING (unit_id);

-- 3. Roll-ups --------------------------------------------------------------------------------

CREATE TEMP TABLE building_rollup AS
SELECT b.building_id, b.estate_id,
       count(r.unit_id)                                  AS units,
       coalesce(sum(r.ledger), 0)                        AS ledger,
       coalesce(sum(r.bank), 0)                          AS bank,
       count(*) FILTER (WHERE NOT r.in_bank OR r.ledger <> r.bank) AS mismatched_units
FROM buildings b
LEFT JOIN unit_recon r USING (building_id)
GROUP BY b.building_id, b.estate_id;

CREATE TEMP TABLE estate_rollup AS
SELECT e.estate_id,
       coalesce(sum(b.units), 0)            AS units,
       coalesce(sum(b.ledger), 0)           AS ledger,
       coalesce(sum(b.bank), 0)             AS bank,
       coalesce(sum(b.mismatched_units), 0) AS mismatched_units
FROM estates e
LEFT JOIN building_rollup b USING (estate_id)
GROUP BY e.estate_id;

-- 5. Health ----------------------------------------------------------------------------------

-- A unit's credit in each deposit entry; the first deposit is the earliest by (date, entry_id).
CREATE TEMP TABLE first_deposit AS
SELECT unit_id, arg_min(amount, (date, entry_id)) AS first_deposit
FROM (
    SELECT unit_id, entry_id, date, sum(credit) AS amount
    FROM valid_postings
    WHERE class = 'unit' AND kind = 'deposit' AND credit IS NOT NULL
    GROUP BY unit_id, entry_id, date
)
GROUP BY unit_id;

CREATE TEMP TABLE overdrawn_units AS
SELECT unit_id, ledger AS balance FROM unit_recon WHERE ledger < 0;

CREATE TEMP TABLE topup_required AS
SELECT r.unit_id, r.ledger AS balance, f.first_deposit
FROM unit_recon r JOIN first_deposit f USING (unit_id)
WHERE r.ledger * 10 < f.first_deposit * 3;

-- 4. Bank statement --------------------------------------------------------------------------

-- Ledger side: bank postings of valid entries, + debit (money in), − credit (money out).
CREATE TEMP TABLE bank_postings AS
SELECT row_number() OVER () AS pid, entry_id, date,
       CAST(coalesce(debit, 0) - coalesce(credit, 0) AS DECIMAL(18, 2)) AS amount
FROM valid_postings
WHERE class = 'bank';

CREATE TEMP TABLE statement AS
SELECT txn_id, CAST(date AS DATE) AS date, CAST(amount AS DECIMAL(18, 2)) AS amount,
       nullif(ref, '') AS ref
FROM read_csv('statement.csv', header = true, all_varchar = true, quote = '"', escape = '"');

-- Step 1, exact: within one (entry_id, amount), the k-th posting takes the k-th line with that
-- ref and amount by txn_id. Postings of one entry and amount are interchangeable and no other
-- posting wants those lines, so this equals SPEC's greedy pass.
CREATE TEMP TABLE matched_by_ref AS
WITH p AS (
    SELECT pid, entry_id, amount,
           row_number() OVER (PARTITION BY entry_id, amount ORDER BY pid) AS k
    FROM bank_postings
), l AS (
    SELECT txn_id, ref, amount,
           row_number() OVER (PARTITION BY ref, amount ORDER BY txn_id) AS k
    FROM statement
    WHERE ref IS NOT NULL
)
SELECT p.pid, l.txn_id
FROM p JOIN l ON l.ref = p.entry_id AND l.amount = p.amount AND l.k = p.k;

-- Step 2, APPROXIMATE. SPEC: in (date, entry_id) order, each remaining posting takes the free
-- line of the same amount with the closest date at most 3 days away (ties: smaller txn_id), a
-- sequential greedy pass that set-based SQL cannot express exactly. Here instead: (a) pair the
-- remaining postings and lines of the same amount and the same date by rank (entry_id / txn_id),
-- then (b) pair what is still left per amount by rank in (date, id) order and keep the pairs at
-- most 3 days apart. This agrees with the greedy pass when each amount's postings and lines
-- interleave in the same order, as they do in generated cities; it can differ when one amount
-- has surplus items inside the window.
CREATE TEMP TABLE matched_by_amount AS
WITH p AS (
    SELECT * FROM bank_postings ANTI JOIN matched_by_ref USING (pid)
), l AS (
    SELECT * FROM statement ANTI JOIN matched_by_ref USING (txn_id)
), same_day AS (
    SELECT p.pid, l.txn_id
    FROM (SELECT pid, date, amount,
                 row_number() OVER (PARTITION BY amount, date ORDER BY entry_id, pid) AS k FROM p) p
    JOIN (SELECT txn_id, date, amount,
                 row_number() OVER (PARTITION BY amount, date ORDER BY txn_id) AS k FROM l) l
      ON l.amount = p.amount AND l.date = p.date AND l.k = p.k
), near AS (
    SELECT p.pid, l.txn_id
    FROM (SELECT pid, date, amount,
                 row_number() OVER (PARTITION BY amount ORDER BY date, entry_id, pid) AS k
          FROM p ANTI JOIN same_day USING (pid)) p
    JOIN (SELECT txn_id, date, amount,
                 row_number() OVER (PARTITION BY amount ORDER BY date, txn_id) AS k
          FROM l ANTI JOIN same_day USING (txn_id)) l
      ON l.amount = p.amount AND l.k = p.k AND abs(l.date - p.date) <= 3
)
SELECT * FROM same_day UNION ALL SELECT * FROM near;

CREATE TEMP TABLE matches AS
SELECT * FROM matched_by_ref UNION ALL SELECT * FROM matched_by_amount;

CREATE TEMP TABLE unmatched_ledger AS
SELECT entry_id, date, amount FROM bank_postings ANTI JOIN matches USING (pid);

CREATE TEMP TABLE unmatched_statement AS
SELECT txn_id, date, amount FROM statement ANTI JOIN matches USING (txn_id);

-- Report ---------------------------------------------------------------------------------------

-- Amounts as mfund writes them: strings with exactly two decimals.
CREATE MACRO yuan(x) AS CAST(CAST(x AS DECIMAL(18, 2)) AS VARCHAR);

CREATE TEMP TABLE totals AS
SELECT
    (SELECT sum(ledger) FROM unit_recon)                                   AS unit_ledger_total,
    (SELECT coalesce(sum(bank), 0) FROM unit_recon)                        AS unit_bank_total,
    (SELECT coalesce(sum(amount), 0) FROM bank_postings)                   AS book_total,
    (SELECT coalesce(sum(credit), 0) - coalesce(sum(debit), 0)
       FROM valid_postings WHERE class = 'other')                          AS others_total,
    (SELECT coalesce(sum(amount), 0) FROM statement)                       AS statement_total,
    (SELECT count(*) FROM unbalanced_entries)
      + (SELECT count(*) FROM invalid_postings)
      + (SELECT count(*) FROM unit_mismatches)
      + (SELECT count(*) FROM units_missing_in_bank)
      + (SELECT count(*) FROM units_unknown_to_registry)
      + (SELECT count(*) FROM unmatched_ledger)
      + (SELECT count(*) FROM unmatched_statement)                         AS discrepancies;

COPY (
    SELECT
        {
            'units': (SELECT count(*) FROM units),
            'buildings': (SELECT count(*) FROM buildings),
            'estates': (SELECT count(*) FROM estates),
            'entries': (SELECT count(*) FROM entries),
            'postings': (SELECT count(*) FROM postings),
            'unit_ledger_total': yuan(t.unit_ledger_total),
            'unit_bank_total': yuan(t.unit_bank_total),
            'book_bank_balance': yuan(t.book_total),
            'control_difference': yuan(t.book_total - (t.others_total + t.unit_ledger_total)),
            'discrepancies': t.discrepancies
        } AS summary,
        (SELECT coalesce(list({'entry_id': entry_id, 'debit': yuan(debit), 'credit': yuan(credit)}
                              ORDER BY entry_id), [])
           FROM unbalanced_entries) AS unbalanced_entries,
        (SELECT coalesce(list({'entry_id': entry_id, 'account': account, 'reason': reason}
                              ORDER BY entry_id, account, reason), [])
           FROM invalid_postings) AS invalid_postings,
        (SELECT coalesce(list({'unit_id': unit_id, 'building_id': building_id, 'estate_id': estate_id,
                               'ledger': yuan(ledger), 'bank': yuan(bank), 'difference': yuan(difference)}
                              ORDER BY unit_id), [])
           FROM unit_mismatches) AS unit_mismatches,
        (SELECT coalesce(list({'unit_id': unit_id, 'ledger': yuan(ledger)} ORDER BY unit_id), [])
           FROM units_missing_in_bank) AS units_missing_in_bank,
        (SELECT coalesce(list({'unit_id': unit_id, 'bank': yuan(bank)} ORDER BY unit_id), [])
           FROM units_unknown_to_registry) AS units_unknown_to_registry,
        (SELECT coalesce(list({'unit_id': unit_id, 'balance': yuan(balance)} ORDER BY unit_id), [])
           FROM overdrawn_units) AS overdrawn_units,
        (SELECT coalesce(list({'unit_id': unit_id, 'balance': yuan(balance),
                               'first_deposit': yuan(first_deposit)} ORDER BY unit_id), [])
           FROM topup_required) AS topup_required,
        (SELECT coalesce(list({'building_id': building_id, 'estate_id': estate_id, 'units': units,
                               'ledger': yuan(ledger), 'bank': yuan(bank),
                               'mismatched_units': mismatched_units} ORDER BY building_id), [])
           FROM building_rollup) AS buildings,
        (SELECT coalesce(list({'estate_id': estate_id, 'units': units, 'ledger': yuan(ledger),
                               'bank': yuan(bank), 'mismatched_units': mismatched_units}
                              ORDER BY estate_id), [])
           FROM estate_rollup) AS estates,
        {
            'matched': (SELECT count(*) FROM matches),
            'unmatched_ledger': (SELECT coalesce(list({'entry_id': entry_id, 'date': CAST(date AS VARCHAR),
                                                       'amount': yuan(amount)}
                                                      ORDER BY entry_id, date, amount), [])
                                   FROM unmatched_ledger),
            'unmatched_statement': (SELECT coalesce(list({'txn_id': txn_id, 'date': CAST(date AS VARCHAR),
                                                          'amount': yuan(amount)} ORDER BY txn_id), [])
                                      FROM unmatched_statement),
            'book_total': yuan(t.book_total),
            'statement_total': yuan(t.statement_total),
            'difference': yuan(t.book_total - t.statement_total)
        } AS bank_reconciliation
    FROM totals t
) TO 'duckdb_report.json' (FORMAT json);
