-- 0003: photo quality receipts (《数字相片质量检测回执》): one row per receipt, bound to the photo's SHA-256
-- Receipt serials; the number printed is 'P' || issue date (bureau time) || 8-digit serial || check character.
CREATE SEQUENCE photo_receipt_serial_seq MINVALUE 1 MAXVALUE 99999999 NO CYCLE;

CREATE TABLE photo_receipt (
    number          char(18) PRIMARY KEY CHECK (number ~ '^P[0-9]{16}[0-9X]$'),
    sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    file_size       integer NOT NULL CHECK (file_size BETWEEN 1 AND 4194304),
    profile         text NOT NULL CHECK (length(profile) BETWEEN 1 AND 31),
    profile_version integer NOT NULL CHECK (profile_version >= 1),
    studio          text NOT NULL CHECK (studio ~ '^[A-Za-z0-9_-]{1,32}$'),
    doc_number      text NOT NULL CHECK (length(doc_number) BETWEEN 5 AND 32),
    verdict         text NOT NULL CHECK (verdict IN ('pass', 'warn')),
    warnings        text NOT NULL DEFAULT '',
    -- the full check report (every check's value, limit and status) as the studio saw it
    report          jsonb NOT NULL,
    issued_at       timestamptz NOT NULL DEFAULT now(),
    valid_until     date NOT NULL,
    revoked_at      timestamptz,
    revoked_reason  text,
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX photo_receipt_sha256 ON photo_receipt (sha256);
CREATE INDEX photo_receipt_doc ON photo_receipt (doc_number);
-- A receipt is evidence: it can be revoked, never deleted.
CREATE TRIGGER photo_receipt_no_delete BEFORE DELETE ON photo_receipt FOR EACH ROW EXECUTE FUNCTION forbid_delete();

-- A photo submitted with its receipt; the line accepts such a photo without re-checking when the receipt is valid
-- for exactly these bytes.
ALTER TABLE photo ADD COLUMN receipt_number char(18) REFERENCES photo_receipt (number);

INSERT INTO setting (key, value) VALUES
    ('photo_receipt_valid_days', '180');  -- how long a studio's receipt is accepted after it was issued
