-- Failed sign-ins and failed public tracking look-ups, kept in the database so that the limits hold whatever an
-- attacker sends (no table to fill, no entry to evict) and across several server processes. One row per failure;
-- the writers prune rows older than the longest window, and a blocked address or subject adds no rows, so the
-- table stays small.
CREATE TABLE attempt_failure (
    id      bigserial PRIMARY KEY,
    kind    text NOT NULL CHECK (kind IN ('login', 'track')),
    subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 64), -- account name or application number
    address text NOT NULL CHECK (length(address) BETWEEN 1 AND 64), -- the client's address
    at      timestamptz NOT NULL DEFAULT clock_now()
);
CREATE INDEX attempt_failure_by_address ON attempt_failure (kind, address, at);
CREATE INDEX attempt_failure_by_subject ON attempt_failure (kind, subject, at);
CREATE INDEX attempt_failure_by_age ON attempt_failure (at);
