-- A drawdown's beneficiary rows lose their foreign keys. Filing a building's drawdown wrote its
-- 88 rows with two key checks each, and on PostgreSQL every check also locks the unit's row:
-- 1.8 ms of the single writer's 4.7 ms per apply → approve → advance cycle (server-side
-- statement times, benches/load.sh's city). The rows come from `INSERT … SELECT` over `units`,
-- or from a list checked against the estate, for a drawdown filed in the same transaction, so
-- the keys never caught anything there; what they also promised, that a referenced unit or
-- drawdown never disappears, the triggers below keep without costing an insert anything.
ALTER TABLE drawdown_units DROP CONSTRAINT drawdown_units_drawdown_id_fkey;
ALTER TABLE drawdown_units DROP CONSTRAINT drawdown_units_unit_id_fkey;

CREATE FUNCTION refuse_delete_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'kept: rows of % are never deleted or renumbered (drawdowns refer to them)', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER units_kept BEFORE DELETE OR UPDATE OF unit_id ON units
    FOR EACH ROW EXECUTE FUNCTION refuse_delete_kept();
CREATE TRIGGER units_no_truncate BEFORE TRUNCATE ON units
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete_kept();
CREATE TRIGGER drawdowns_kept BEFORE DELETE OR UPDATE OF drawdown_id ON drawdowns
    FOR EACH ROW EXECUTE FUNCTION refuse_delete_kept();
CREATE TRIGGER drawdowns_no_truncate BEFORE TRUNCATE ON drawdowns
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete_kept();
CREATE TRIGGER drawdown_units_kept BEFORE UPDATE OR DELETE ON drawdown_units
    FOR EACH ROW EXECUTE FUNCTION refuse_delete_kept();
CREATE TRIGGER drawdown_units_no_truncate BEFORE TRUNCATE ON drawdown_units
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete_kept();

-- Accounts refused UPDATE and DELETE from the start, but not TRUNCATE (entries and postings do).
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_posted();
