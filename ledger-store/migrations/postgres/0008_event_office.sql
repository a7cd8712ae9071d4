-- The history names both the person who acted (`actor`) and the office or company they acted
-- for (`office`; empty for the city's own clerks, auditors and admins).
ALTER TABLE drawdown_events ADD COLUMN office TEXT NOT NULL DEFAULT '';
