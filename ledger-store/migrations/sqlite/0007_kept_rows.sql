-- A drawdown's beneficiary rows lose their foreign keys (see the PostgreSQL script for why:
-- the checks cost every filing two lookups per unit and never caught anything). SQLite cannot
-- drop a constraint, so the table is rebuilt, and WITHOUT ROWID: the key is the row, one
-- B-tree insert per unit instead of two.
CREATE TABLE drawdown_units_unchecked (
    drawdown_id TEXT NOT NULL,
    unit_id     TEXT NOT NULL,
    PRIMARY KEY (drawdown_id, unit_id)
) WITHOUT ROWID;
INSERT INTO drawdown_units_unchecked (drawdown_id, unit_id) SELECT drawdown_id, unit_id FROM drawdown_units;
DROP TABLE drawdown_units;
ALTER TABLE drawdown_units_unchecked RENAME TO drawdown_units;

CREATE TRIGGER units_kept BEFORE DELETE ON units
BEGIN SELECT RAISE(ABORT, 'kept: units are never deleted (drawdowns refer to them)'); END;
CREATE TRIGGER units_not_renumbered BEFORE UPDATE OF unit_id ON units
BEGIN SELECT RAISE(ABORT, 'kept: units are never renumbered (drawdowns refer to them)'); END;
CREATE TRIGGER drawdowns_kept BEFORE DELETE ON drawdowns
BEGIN SELECT RAISE(ABORT, 'kept: drawdowns are never deleted'); END;
CREATE TRIGGER drawdowns_not_renumbered BEFORE UPDATE OF drawdown_id ON drawdowns
BEGIN SELECT RAISE(ABORT, 'kept: drawdowns are never renumbered'); END;
CREATE TRIGGER drawdown_units_no_update BEFORE UPDATE ON drawdown_units
BEGIN SELECT RAISE(ABORT, 'kept: beneficiary rows are never changed'); END;
CREATE TRIGGER drawdown_units_no_delete BEFORE DELETE ON drawdown_units
BEGIN SELECT RAISE(ABORT, 'kept: beneficiary rows are never deleted'); END;
