-- 0012: the bank's data per application (issue 16): the file the bank's data preparation made for the card, as
-- received (its keys and PIN block are encrypted under the bank's transport key, so nothing secret is in clear),
-- one current row per application; a re-import replaces it and the replaced file's digest stays in the audit trail.
-- The account number itself is never stored outside the file: pan_masked (first 6 / last 4) is what people see.

-- required: every card (but a temporary one) carries the bank application and waits, held, for its data; off: no
-- bank application is written. A real bureau's configuration sets it (config apply, run --config); a database
-- nobody configured keeps making cards as before.
INSERT INTO setting (key, value) VALUES ('bank_application', 'off');
ALTER TABLE setting ADD CONSTRAINT setting_bank_application
    CHECK (key <> 'bank_application' OR value IN ('required', 'off'));

CREATE TABLE bank_data (
    application_id bigint PRIMARY KEY REFERENCES application (id),
    bank_name      text NOT NULL,
    aid            text NOT NULL CHECK (aid ~ '^[0-9A-F]{10,32}$'),
    pan_masked     text NOT NULL CHECK (pan_masked ~ '^[0-9]{6}\*{3,9}[0-9]{4}$'),
    has_stripe     boolean NOT NULL,
    file_name      text NOT NULL,
    content        text NOT NULL CHECK (length(content) BETWEEN 1 AND 65536),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    imported_at    timestamptz NOT NULL DEFAULT now(),
    imported_by    text NOT NULL,
    replaced       integer NOT NULL DEFAULT 0  -- how many earlier files this one replaced
);

-- What the chip and the stripe of a card were given: the masked account the card answered with, and the tracks
-- written (0 when none). Dispatch and collection show the account from here, not from a later re-import.
ALTER TABLE card
    ADD COLUMN bank_account_masked text CHECK (bank_account_masked ~ '^[0-9]{6}\*{3,9}[0-9]{4}$'),
    ADD COLUMN bank_name_written   text,
    ADD COLUMN stripe_tracks       smallint NOT NULL DEFAULT 0 CHECK (stripe_tracks BETWEEN 0 AND 3);
