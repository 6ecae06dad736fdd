-- 0005: dispatch and tracking: card statuses after production, shipment life cycle, collection, and a chain of
-- custody that the database writes itself on every change, so that no code path can skip or forge the order
INSERT INTO setting (key, value) VALUES
    ('shipment_max_cards', '200'),         -- a shipment is sealed when it holds this many cards
    ('uncollected_return_months', '12');   -- cards not collected this long after outlet receipt go back

-- After production a card travels: good (packed, at the bureau) -> in_transit -> at_outlet -> issued (collected),
-- or at_outlet -> uncollected (returned to the bureau), or in_transit -> lost_in_transit.
ALTER TABLE card DROP CONSTRAINT card_status_check;
ALTER TABLE card ADD CONSTRAINT card_status_check
    CHECK (status IN ('allocated', 'printing', 'encoding', 'ejecting', 'good', 'spoiled', 'unused', 'issued', 'lost',
                      'voided', 'returned', 'in_transit', 'at_outlet', 'uncollected', 'lost_in_transit'));
ALTER TABLE card ADD COLUMN collected_at timestamptz, ADD COLUMN activated_at timestamptz;

-- A card on its way to its holder still counts: nobody gets a second card while the first is on the road.
DROP INDEX card_one_in_pipeline;
CREATE UNIQUE INDEX card_one_in_pipeline ON card (person_key, temporary)
    WHERE status IN ('allocated', 'printing', 'encoding', 'ejecting', 'good', 'in_transit', 'at_outlet');
CREATE INDEX card_dispatch_status ON card (status) WHERE status IN ('in_transit', 'at_outlet');

ALTER TABLE shipment DROP CONSTRAINT shipment_status_check;
ALTER TABLE shipment ADD CONSTRAINT shipment_status_check
    CHECK (status IN ('open', 'sealed', 'dispatched', 'received', 'lost'));
ALTER TABLE shipment
    ADD COLUMN seal_reason   text CHECK (seal_reason IN ('full', 'cut-off', 'manual')),
    ADD COLUMN dispatched_at timestamptz,
    ADD COLUMN received_at   timestamptz,
    ADD COLUMN received_by   text,
    ADD COLUMN lost_at       timestamptz,
    ADD CONSTRAINT shipment_times CHECK (
        (status = 'open' OR sealed_at IS NOT NULL) AND
        ((status IN ('dispatched', 'received', 'lost')) = (dispatched_at IS NOT NULL)) AND
        ((status = 'received') = (received_at IS NOT NULL)) AND
        ((status = 'lost') = (lost_at IS NOT NULL)));
CREATE INDEX shipment_status ON shipment (status, outlet_code);

-- Who handed the card out, to whom. The agent's document is stored masked only.
CREATE TABLE collection (
    card_number      char(9) PRIMARY KEY REFERENCES card (card_number),
    collected_by     text NOT NULL CHECK (collected_by IN ('holder', 'agent')),
    agent_name       text CHECK (length(agent_name) <= 60),
    agent_doc_type   text,
    agent_doc_masked text CHECK (agent_doc_masked ~ '\*'),
    actor            text NOT NULL,
    at               timestamptz NOT NULL DEFAULT now(),
    CHECK ((collected_by = 'agent') = (agent_doc_masked IS NOT NULL AND agent_name IS NOT NULL
                                       AND agent_doc_type IS NOT NULL))
);
CREATE TRIGGER collection_append_only BEFORE UPDATE OR DELETE ON collection
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER event_no_truncate BEFORE TRUNCATE ON event FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- Custody events name a card or a shipment.
ALTER TABLE event ADD CONSTRAINT event_custody_subject CHECK (
    kind NOT IN ('packed', 'sealed', 'dispatched', 'received', 'collected', 'activated', 'returned',
                 'lost_in_transit') OR card_number IS NOT NULL OR shipment_id IS NOT NULL);
CREATE INDEX event_shipment ON event (shipment_id);

-- The actor and a detail for the events the triggers write: SET LOCAL cardline.actor / cardline.detail
-- (set_config(..., true)) in the transaction; without them the database user is the actor.
CREATE FUNCTION custody_actor() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('cardline.actor', true), ''), session_user::text)
$$;
CREATE FUNCTION custody_detail() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('cardline.detail', true), '')
$$;

-- Only the moves of the custody chain are allowed once a card has left production.
CREATE FUNCTION card_custody_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    received timestamptz;
    months integer;
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF NEW.status = 'in_transit' AND OLD.status <> 'good'
       OR NEW.status = 'at_outlet' AND OLD.status <> 'in_transit'
       OR NEW.status = 'lost_in_transit' AND OLD.status <> 'in_transit'
       OR NEW.status = 'uncollected' AND OLD.status <> 'at_outlet'
       OR OLD.status = 'in_transit' AND NEW.status NOT IN ('at_outlet', 'lost_in_transit')
       OR OLD.status = 'at_outlet' AND NEW.status NOT IN ('issued', 'uncollected')
       OR OLD.status IN ('lost_in_transit', 'uncollected') AND NEW.status <> 'voided'
       OR NEW.status = 'issued' AND OLD.status <> 'at_outlet'
          AND NOT (OLD.status IN ('good', 'ejecting') AND NEW.temporary) THEN
        RAISE EXCEPTION 'card % cannot go from % to %', NEW.card_number, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status = 'uncollected' THEN
        SELECT s.received_at INTO received FROM shipment_item i JOIN shipment s ON s.id = i.shipment_id
        WHERE i.card_number = NEW.card_number;
        months := (SELECT value::integer FROM setting WHERE key = 'uncollected_return_months');
        IF received IS NULL OR received + make_interval(months => months) > now() THEN
            RAISE EXCEPTION 'card % has been at its outlet since %; it goes back only after % months uncollected',
                NEW.card_number, to_char(received, 'YYYY-MM-DD'), months USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF NEW.status = 'issued' THEN
        NEW.collected_at := coalesce(NEW.collected_at, now());
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER card_custody_guard BEFORE UPDATE OF status ON card FOR EACH ROW EXECUTE FUNCTION card_custody_guard();

CREATE FUNCTION card_custody_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text;
    ship char(18) := (SELECT shipment_id FROM shipment_item WHERE card_number = NEW.card_number);
BEGIN
    kind := CASE
        WHEN NEW.status = OLD.status THEN NULL
        WHEN NEW.status = 'in_transit' THEN 'dispatched'
        WHEN NEW.status = 'at_outlet' THEN 'received'
        WHEN NEW.status = 'issued' AND OLD.status = 'at_outlet' THEN 'collected'
        WHEN NEW.status = 'uncollected' THEN 'returned'
        WHEN NEW.status = 'lost_in_transit' THEN 'lost_in_transit'
        WHEN NEW.status = 'voided' THEN 'voided'
    END;
    IF kind IS NOT NULL THEN
        INSERT INTO event (actor, kind, application_id, card_number, shipment_id, detail)
        VALUES (custody_actor(), kind, NEW.application_id, NEW.card_number, ship, custody_detail());
    END IF;
    IF NEW.activated_at IS NOT NULL AND OLD.activated_at IS NULL THEN
        INSERT INTO event (actor, kind, application_id, card_number, shipment_id, detail)
        VALUES (custody_actor(), 'activated', NEW.application_id, NEW.card_number, ship,
                'social security function');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER card_custody_event AFTER UPDATE OF status, activated_at ON card
    FOR EACH ROW EXECUTE FUNCTION card_custody_event();
-- activation is a one-way switch
CREATE FUNCTION card_activation_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.activated_at IS NOT NULL AND NEW.activated_at IS DISTINCT FROM OLD.activated_at
       OR NEW.activated_at IS NOT NULL AND OLD.activated_at IS NULL AND NEW.status <> 'issued' THEN
        RAISE EXCEPTION 'card %: the social security function is activated once, at collection', NEW.card_number
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER card_activation_guard BEFORE UPDATE OF activated_at ON card
    FOR EACH ROW EXECUTE FUNCTION card_activation_guard();

-- Cards join only an open shipment of their own outlet, and only when good; the database records the packing.
CREATE FUNCTION shipment_item_pack() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s record;
    c record;
BEGIN
    SELECT status, outlet_code INTO s FROM shipment WHERE id = NEW.shipment_id;
    SELECT card.status, a.outlet_code, card.application_id INTO c
    FROM card LEFT JOIN application a ON a.id = card.application_id WHERE card.card_number = NEW.card_number;
    IF s.status IS DISTINCT FROM 'open' THEN
        RAISE EXCEPTION 'shipment % is %, not open; cards join open shipments only', NEW.shipment_id, s.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF c.status IS DISTINCT FROM 'good' OR c.outlet_code IS DISTINCT FROM s.outlet_code THEN
        RAISE EXCEPTION 'card % (%) does not belong in shipment % for outlet %', NEW.card_number, c.status,
            NEW.shipment_id, s.outlet_code USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO event (actor, kind, application_id, card_number, shipment_id, detail)
    VALUES (custody_actor(), 'packed', c.application_id, NEW.card_number, NEW.shipment_id, NULL);
    RETURN NEW;
END $$;
CREATE TRIGGER shipment_item_pack BEFORE INSERT ON shipment_item FOR EACH ROW EXECUTE FUNCTION shipment_item_pack();
CREATE TRIGGER shipment_item_fixed BEFORE UPDATE OR DELETE ON shipment_item
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE FUNCTION shipment_custody() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text;
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF NOT (OLD.status = 'open' AND NEW.status = 'sealed' OR OLD.status = 'sealed' AND NEW.status = 'dispatched'
            OR OLD.status = 'dispatched' AND NEW.status IN ('received', 'lost')) THEN
        RAISE EXCEPTION 'shipment % cannot go from % to %', NEW.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    kind := CASE NEW.status WHEN 'sealed' THEN 'sealed' WHEN 'dispatched' THEN 'dispatched'
                            WHEN 'received' THEN 'received' ELSE 'lost_in_transit' END;
    INSERT INTO event (actor, kind, shipment_id, detail)
    VALUES (custody_actor(), kind, NEW.id,
            coalesce(custody_detail(), CASE WHEN NEW.status = 'sealed' THEN NEW.seal_reason END));
    RETURN NEW;
END $$;
CREATE TRIGGER shipment_custody BEFORE UPDATE OF status ON shipment FOR EACH ROW EXECUTE FUNCTION shipment_custody();
CREATE TRIGGER shipment_no_delete BEFORE DELETE ON shipment FOR EACH ROW EXECUTE FUNCTION forbid_delete();

-- When the delivery run for an outlet leaves on day d (its open shipment is sealed then), or NULL when no run
-- leaves that day. Raises for a day outside the official calendar rather than guess.
CREATE FUNCTION shipment_cutoff(outlet text, d date) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT (d + (SELECT value FROM setting WHERE key = 'delivery_cutoff')::time)
           AT TIME ZONE (SELECT value FROM setting WHERE key = 'bureau_timezone')
    FROM outlet o
    WHERE o.code = outlet AND extract(isodow FROM d)::smallint = ANY (o.delivery_weekdays) AND working_day(d)
$$;
