-- 0006: dashboard accounts, their roles and sessions; studio-owned photo checks
CREATE TABLE account (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{1,31}$'),
    role          text NOT NULL CHECK (role IN ('operator', 'studio', 'dispatch', 'auditor', 'admin')),
    -- a studio account sees only its own studio's photos and receipts
    studio        text CHECK (studio ~ '^[A-Za-z0-9_-]{1,32}$'),
    -- libsodium crypto_pwhash_str (Argon2id) strings; the secrets themselves are never stored
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    -- API token for scripts: "<token id>.<secret>", the id in clear for the lookup, the whole token hashed
    token_id      text UNIQUE CHECK (token_id ~ '^[0-9a-f]{16}$'),
    token_hash    text CHECK (token_hash LIKE '$argon2id$%'),
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    CHECK ((role = 'studio') = (studio IS NOT NULL)),
    CHECK ((token_id IS NULL) = (token_hash IS NULL))
);
CREATE TRIGGER account_no_delete BEFORE DELETE ON account FOR EACH ROW EXECUTE FUNCTION forbid_delete();

-- Browser sessions: the cookie holds 32 random bytes; only their SHA-256 is stored (a stolen table opens nothing).
CREATE TABLE session (
    id_hash    text PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
    account_id bigint NOT NULL REFERENCES account (id),
    csrf       text NOT NULL CHECK (csrf ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    client     text
);
CREATE INDEX session_account ON session (account_id);
CREATE INDEX session_expiry ON session (expires_at);

INSERT INTO setting (key, value) VALUES
    ('session_hours', '10'),          -- a working day; then sign in again
    ('at_risk_working_days', '3');    -- /metrics and the operator page: deadline this close and not produced

-- Photos checked through the dashboard: which studio sent them and the verdict it was shown.
CREATE TABLE photo_check (
    id         bigserial PRIMARY KEY,
    photo_id   bigint NOT NULL REFERENCES photo (id),
    studio     text NOT NULL CHECK (studio ~ '^[A-Za-z0-9_-]{1,32}$'),
    account_id bigint NOT NULL REFERENCES account (id),
    passed     boolean NOT NULL,
    reason     text NOT NULL,
    receipt_no text UNIQUE,
    file_name  text CHECK (length(file_name) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (passed = (receipt_no IS NOT NULL))
);
CREATE INDEX photo_check_studio ON photo_check (studio, created_at DESC);
CREATE SEQUENCE photo_receipt_seq MINVALUE 1 MAXVALUE 99999999 NO CYCLE;
CREATE TRIGGER photo_check_append_only BEFORE UPDATE OR DELETE ON photo_check
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
