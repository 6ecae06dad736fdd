-- 0001: the core data model: outlets, photos, applications, cards, lines, stock, shipments, events
CREATE TABLE outlet (
    code              text PRIMARY KEY CHECK (code ~ '^[A-Z0-9]{3,16}$'),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind              text NOT NULL CHECK (kind IN ('hrss', 'bank')),
    county            text NOT NULL,
    -- ISO weekdays (1 = Monday) on which the delivery run leaves for this outlet
    delivery_weekdays smallint[] NOT NULL DEFAULT '{1,2,3,4,5}'
                      CHECK (delivery_weekdays <@ '{1,2,3,4,5,6,7}'::smallint[] AND cardinality(delivery_weekdays) > 0),
    transit_days      smallint NOT NULL DEFAULT 1 CHECK (transit_days BETWEEN 0 AND 10),
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE photo (
    id         bigserial PRIMARY KEY,
    sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    bytes      bytea NOT NULL CHECK (octet_length(bytes) BETWEEN 1 AND 4194304),
    studio     text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX photo_sha256 ON photo (sha256);

CREATE TABLE application (
    id                   bigserial PRIMARY KEY,
    upstream_id          text NOT NULL UNIQUE CHECK (length(upstream_id) BETWEEN 1 AND 64),
    kind                 text NOT NULL CHECK (kind IN ('new', 'replacement', 'exchange', 'temporary')),
    doc_type             text NOT NULL CHECK (doc_type IN ('resident_id', 'household_register', 'passport',
                                                           'hk_macau_permit', 'taiwan_permit', 'foreign_permanent')),
    doc_number           text NOT NULL CHECK (length(doc_number) BETWEEN 5 AND 32),
    ssn                  text NOT NULL CHECK (ssn ~ '^[0-9A-Z]{18}$'),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    sex                  char(1) NOT NULL CHECK (sex IN ('1', '2')),
    ethnicity            smallint NOT NULL CHECK (ethnicity BETWEEN 1 AND 98),
    birth_date           date NOT NULL,
    birth_place          char(6) NOT NULL CHECK (birth_place ~ '^[0-9]{6}$'),
    nationality          char(3) NOT NULL DEFAULT 'CHN' CHECK (nationality ~ '^[A-Z]{3}$'),
    outlet_code          text NOT NULL,
    bank_name            text,
    photo_id             bigint REFERENCES photo (id),
    replaced_card_number text,
    accepted_at          timestamptz NOT NULL,
    priority             smallint NOT NULL DEFAULT 5 CHECK (priority BETWEEN 0 AND 9),
    status               text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'in_production', 'produced', 'held', 'cancelled')),
    deadline             date,
    deadline_problem     text,
    held_reason          text,
    held_since           timestamptz,
    held_working_days    integer NOT NULL DEFAULT 0,
    attempts             integer NOT NULL DEFAULT 0,
    locked_by            text,
    lease_until          timestamptz,
    step                 text,
    produced_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'held') = (held_reason IS NOT NULL)),
    CHECK ((status = 'in_production') = (locked_by IS NOT NULL AND lease_until IS NOT NULL))
);
-- the claim query walks this index in the order the line takes work
CREATE INDEX application_queue ON application (priority, deadline, id) WHERE status = 'pending';
CREATE INDEX application_leases ON application (lease_until) WHERE status = 'in_production';
CREATE INDEX application_person ON application (doc_type, doc_number);

CREATE TABLE line (
    id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    controller   text,
    printer      text,
    encoder      text,
    state        text NOT NULL DEFAULT 'stopped' CHECK (state IN ('running', 'paused', 'stopped')),
    state_reason text,
    heartbeat_at timestamptz,
    cards_good   bigint NOT NULL DEFAULT 0,
    cards_spoiled bigint NOT NULL DEFAULT 0
);

-- Card numbers come from this sequence and nothing else; a sequence never hands a value out twice.
CREATE SEQUENCE card_number_seq MINVALUE 1 MAXVALUE 99999999 NO CYCLE;

CREATE TABLE card (
    card_number    char(9) PRIMARY KEY CHECK (card_number ~ '^[A-Z][0-9]{8}$'),
    application_id bigint REFERENCES application (id),
    -- the person: one identity regardless of which document the application used
    person_key     text NOT NULL,
    -- unused: the number was allocated but the blank never left the hopper (numbers are never reused)
    status         text NOT NULL CHECK (status IN ('allocated', 'printing', 'encoding', 'ejecting', 'good',
                                                   'spoiled', 'unused', 'issued', 'lost', 'voided', 'returned')),
    line_id        text REFERENCES line (id),
    printer        text,
    encoder        text,
    atr            text,
    chip_id        text,
    issue_date     date,
    expiry_date    date,
    spoil_reason   text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    CHECK ((status = 'spoiled') = (spoil_reason IS NOT NULL))
);
-- One person, one card: at most one card on its way to the person (in production or finished and not yet
-- collected) and at most one card in the person's hands. An exchange keeps the old card valid until the new one is
-- collected, so the two sets are constrained separately.
CREATE UNIQUE INDEX card_one_in_pipeline ON card (person_key)
    WHERE status IN ('allocated', 'printing', 'encoding', 'ejecting', 'good');
CREATE UNIQUE INDEX card_one_issued ON card (person_key) WHERE status = 'issued';
CREATE INDEX card_application ON card (application_id);

-- A card number is never reused: cards are never deleted.
CREATE FUNCTION forbid_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER card_no_delete BEFORE DELETE ON card FOR EACH ROW EXECUTE FUNCTION forbid_delete();

CREATE TABLE stock_move (
    id          bigserial PRIMARY KEY,
    line_id     text NOT NULL REFERENCES line (id),
    -- fed: a blank left the hopper for this card; unfed: the feed recorded for it did not happen
    kind        text NOT NULL CHECK (kind IN ('issued', 'fed', 'unfed', 'returned', 'sample')),
    quantity    integer NOT NULL CHECK (quantity > 0),
    card_number char(9) REFERENCES card (card_number),
    at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind IN ('fed', 'unfed')) = (card_number IS NOT NULL))
);

CREATE SEQUENCE shipment_serial_seq MINVALUE 1 MAXVALUE 999999999 NO CYCLE;

-- SSCC-style shipment ids: extension digit 0, GS1 company prefix, serial, GS1 mod-10 check digit (18 digits)
CREATE FUNCTION gs1_check_digit(digits text) RETURNS char LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT ((10 - sum(substr(reverse(digits), i, 1)::integer * CASE WHEN i % 2 = 1 THEN 3 ELSE 1 END) % 10) % 10)::text
    FROM generate_series(1, length(digits)) AS i
$$;

CREATE FUNCTION next_shipment_id() RETURNS char(18) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    prefix text := (SELECT value FROM setting WHERE key = 'gs1_company_prefix');
    body text;
BEGIN
    body := '0' || prefix || lpad(nextval('shipment_serial_seq')::text, 16 - length(prefix), '0');
    RETURN body || gs1_check_digit(body);
END $$;

CREATE TABLE shipment (
    id          char(18) PRIMARY KEY CHECK (id ~ '^[0-9]{18}$'),
    outlet_code text NOT NULL REFERENCES outlet (code),
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'sealed', 'dispatched', 'received')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    sealed_at   timestamptz
);
CREATE UNIQUE INDEX shipment_one_open ON shipment (outlet_code) WHERE status = 'open';

CREATE TABLE shipment_item (
    card_number char(9) PRIMARY KEY REFERENCES card (card_number),
    shipment_id char(18) NOT NULL REFERENCES shipment (id),
    added_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shipment_item_shipment ON shipment_item (shipment_id);

CREATE TABLE event (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    actor          text NOT NULL,
    kind           text NOT NULL,
    application_id bigint,
    card_number    char(9),
    shipment_id    char(18),
    detail         text
);
CREATE INDEX event_application ON event (application_id);
CREATE INDEX event_card ON event (card_number);

-- The audit trail is append-only.
CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE setting (
    key   text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO setting (key, value) VALUES
    ('card_number_prefix', 'A'),
    ('region_code', '440100'),
    ('card_validity_years', '10'),
    ('max_attempts', '3'),
    ('gs1_company_prefix', '6901234');
