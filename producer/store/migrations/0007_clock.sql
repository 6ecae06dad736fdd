-- One business clock. Everything cardline records or compares with "now" reads clock_now(): the real time,
-- moved by the session's cardline.clock_offset (seconds) when CARDLINE_NOW pins the clock for a test or a
-- rehearsal. Without the setting it is exactly now(), the transaction's start.
CREATE FUNCTION clock_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT now() + make_interval(secs => coalesce(
        nullif(current_setting('cardline.clock_offset', true), '')::double precision, 0))
$$;

-- The bureau's wall-clock time and date, in its configured time zone (setting bureau_timezone).
CREATE FUNCTION bureau_time(t timestamptz) RETURNS timestamp LANGUAGE sql STABLE AS $$
    SELECT t AT TIME ZONE (SELECT value FROM setting WHERE key = 'bureau_timezone')
$$;
CREATE FUNCTION bureau_today() RETURNS date LANGUAGE sql STABLE AS $$
    SELECT bureau_date(clock_now())
$$;

-- Every column that defaulted to the real now() takes the business clock instead.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT n.nspname, t.relname, a.attname
             FROM pg_attrdef d
             JOIN pg_class t ON t.oid = d.adrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
             WHERE pg_get_expr(d.adbin, d.adrelid) = 'now()' AND t.relname <> 'schema_migration'
    LOOP
        EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN %I SET DEFAULT clock_now()', c.nspname, c.relname,
                       c.attname);
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION card_custody_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
        IF received IS NULL OR received + make_interval(months => months) > clock_now() THEN
            RAISE EXCEPTION 'card % has been at its outlet since %; it goes back only after % months uncollected',
                NEW.card_number, to_char(received, 'YYYY-MM-DD'), months USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF NEW.status = 'issued' THEN
        NEW.collected_at := coalesce(NEW.collected_at, clock_now());
    END IF;
    RETURN NEW;
END $$;
