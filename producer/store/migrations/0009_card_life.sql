-- 0009: the card's life after collection: a loss report (temporary or formal) blocks the card at once and may be
-- withdrawn until a replacement is requested; a temporary report lapses unless made formal; cancellation (注销)
-- ends a card for good and no longer counts against "one person, one card"

-- The measures name no period for a temporary report; cardline keeps it 15 days (a setting, so the bureau decides).
INSERT INTO setting (key, value) VALUES ('temporary_loss_days', '15');

-- lost_temporary: reported by phone, web or terminal (口头挂失), blocked, not yet formal; lost: formal report (书面挂失)
-- in person; cancelled: 注销 — leaving the scheme, emigration, death or disappearance.
ALTER TABLE card DROP CONSTRAINT card_status_check;
ALTER TABLE card ADD CONSTRAINT card_status_check
    CHECK (status IN ('allocated', 'printing', 'encoding', 'ejecting', 'good', 'spoiled', 'unused', 'issued', 'lost',
                      'voided', 'returned', 'in_transit', 'at_outlet', 'uncollected', 'lost_in_transit',
                      'lost_temporary', 'cancelled'));
ALTER TABLE card
    ADD COLUMN loss_lapses_at timestamptz,
    ADD COLUMN cancelled_at   timestamptz,
    ADD COLUMN cancel_reason  text CHECK (cancel_reason IN ('left-scheme', 'emigrated', 'deceased', 'disappeared'));

-- Cards reported lost before this migration were blocked only once their replacement was produced: block them now.
UPDATE card SET blacklisted_at = coalesce(blacklisted_at, clock_now()) WHERE status = 'lost';

ALTER TABLE card
    ADD CONSTRAINT card_loss_lapse CHECK ((status = 'lost_temporary') = (loss_lapses_at IS NOT NULL)),
    ADD CONSTRAINT card_cancelled CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL AND cancel_reason IS NOT NULL)),
    -- every function of a card stops with a loss report or a cancellation: its chip is on the blacklist
    ADD CONSTRAINT card_blocked CHECK (status NOT IN ('lost_temporary', 'lost', 'cancelled') OR blacklisted_at IS NOT NULL);

-- The moves of a card after collection, whoever writes the row, and what each move does to the blacklist.
CREATE FUNCTION card_life() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    repl bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND (
           NEW.status = 'lost_temporary' AND OLD.status <> 'issued'
        OR NEW.status = 'lost' AND OLD.status NOT IN ('issued', 'lost_temporary')
        OR NEW.status = 'cancelled' AND OLD.status NOT IN ('issued', 'lost_temporary', 'lost')
        OR OLD.status IN ('lost_temporary', 'lost') AND NEW.status NOT IN ('issued', 'lost', 'cancelled')
        OR OLD.status = 'cancelled') THEN
        RAISE EXCEPTION 'card % cannot go from % to %', NEW.card_number, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status IN ('lost_temporary', 'lost') AND NEW.status = 'issued' THEN
        -- the measures: a loss report is withdrawn only before a replacement is requested
        SELECT id INTO repl FROM application
        WHERE kind = 'replacement' AND replaced_card_number = NEW.card_number AND status <> 'cancelled'
        ORDER BY id LIMIT 1;
        IF repl IS NOT NULL THEN
            RAISE EXCEPTION 'a replacement for card % was already requested (application %); the loss report can no longer be withdrawn',
                NEW.card_number, repl USING ERRCODE = 'check_violation';
        END IF;
        NEW.blacklisted_at := NULL;
        NEW.loss_lapses_at := NULL;
    ELSIF NEW.status = 'lost_temporary' THEN
        NEW.blacklisted_at := coalesce(NEW.blacklisted_at, clock_now());
        NEW.loss_lapses_at := NEW.blacklisted_at
            + make_interval(days => (SELECT value::integer FROM setting WHERE key = 'temporary_loss_days'));
    ELSIF NEW.status = 'lost' THEN
        -- made formal: the card stays blocked since the first report, and no longer lapses
        NEW.blacklisted_at := coalesce(NEW.blacklisted_at, clock_now());
        NEW.loss_lapses_at := NULL;
    ELSIF NEW.status = 'cancelled' THEN
        NEW.blacklisted_at := coalesce(NEW.blacklisted_at, clock_now());
        NEW.loss_lapses_at := NULL;
        NEW.cancelled_at := clock_now();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER card_life BEFORE INSERT OR UPDATE OF status ON card FOR EACH ROW EXECUTE FUNCTION card_life();

-- The custody guard allows a card back to 'issued' only from its outlet; a withdrawn or lapsed loss report is the
-- other way back, and card_life above rules it. A WHEN clause, so that a later version of the guard keeps this.
DROP TRIGGER card_custody_guard ON card;
CREATE TRIGGER card_custody_guard BEFORE UPDATE OF status ON card FOR EACH ROW
    WHEN (NOT (OLD.status IN ('lost_temporary', 'lost') AND NEW.status = 'issued'))
    EXECUTE FUNCTION card_custody_guard();

-- What the chips' blacklist must hold at this moment (an export keys it on the chip's serial, chip_id): a temporary
-- report past its period no longer blocks, even before anything has recorded its lapse.
CREATE VIEW card_blacklist AS
SELECT card_number, chip_id, status, blacklisted_at AS since, loss_lapses_at AS until,
       CASE status WHEN 'lost_temporary' THEN 'temporary loss report'
                   WHEN 'lost' THEN 'formal loss report'
                   WHEN 'cancelled' THEN 'cancelled: ' || cancel_reason
                   WHEN 'lost_in_transit' THEN 'lost in transit'
                   ELSE status END AS reason
FROM card
WHERE blacklisted_at IS NOT NULL AND NOT (status = 'lost_temporary' AND loss_lapses_at <= clock_now());
