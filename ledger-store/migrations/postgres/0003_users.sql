-- API users: a bearer token is shown once and stored only as its SHA-256.
CREATE TABLE users (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('clerk', 'street_office', 'property_company', 'auditor', 'admin')),
    scope      TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE
);
