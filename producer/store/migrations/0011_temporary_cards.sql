-- 0011: temporary cards (临时卡) by the measures — only for the insured who wait for a card or replace a lost one,
-- valid temporary_validity_days (90), returned and cancelled when the real card is collected (or flagged for
-- return), an expired one no longer blocks a new one — and collection: activation skipped only as a recorded
-- exception, an agent's power of attorney recorded

-- return_due: a temporary card that must come back to the window (expired, or the real card was collected without
-- it); it no longer works. returned: handed in (a temporary card, or the old card of an exchange).
ALTER TABLE card DROP CONSTRAINT card_status_check;
ALTER TABLE card ADD CONSTRAINT card_status_check
    CHECK (status IN ('allocated', 'printing', 'encoding', 'ejecting', 'good', 'spoiled', 'unused', 'issued', 'lost',
                      'voided', 'returned', 'in_transit', 'at_outlet', 'uncollected', 'lost_in_transit',
                      'lost_temporary', 'cancelled', 'return_due'));
ALTER TABLE card
    ADD COLUMN return_due_reason text CHECK (return_due_reason IN ('expired', 'card collected')),
    ADD COLUMN returned_at timestamptz,
    ADD CONSTRAINT card_return_due CHECK (status <> 'return_due' OR temporary AND return_due_reason IS NOT NULL
                                                                   AND blacklisted_at IS NOT NULL);
CREATE INDEX card_temporary_open ON card (person_key) WHERE temporary AND status IN ('issued', 'return_due');

-- The moves of a temporary card after issue, whoever writes the row: issued -> return_due -> returned, or issued ->
-- returned; each stops the card (blacklist) and is audited. A real card never goes to return_due.
CREATE FUNCTION card_temporary_life() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF NEW.status = 'return_due' AND NOT (NEW.temporary AND OLD.status = 'issued')
       OR NEW.temporary AND NEW.status = 'returned' AND OLD.status NOT IN ('issued', 'return_due')
       OR NEW.temporary AND OLD.status = 'return_due' AND NEW.status <> 'returned'
       OR NEW.temporary AND OLD.status = 'returned' THEN
        RAISE EXCEPTION 'card % cannot go from % to %', NEW.card_number, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.temporary AND NEW.status IN ('return_due', 'returned') THEN
        NEW.blacklisted_at := coalesce(NEW.blacklisted_at, clock_now());
        IF NEW.status = 'returned' THEN
            NEW.returned_at := clock_now();
        END IF;
        INSERT INTO event (actor, kind, application_id, card_number, detail)
        VALUES (custody_actor(), CASE NEW.status WHEN 'returned' THEN 'temporary_returned'
                                                 ELSE 'temporary_return_due' END,
                NEW.application_id, NEW.card_number,
                CASE NEW.status WHEN 'return_due' THEN NEW.return_due_reason
                                ELSE coalesce(custody_detail(), 'handed in at the window') END);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER card_temporary_life BEFORE UPDATE OF status ON card FOR EACH ROW
    EXECUTE FUNCTION card_temporary_life();

-- Temporary cards past their validity are due back and stop blocking a new one; person NULL = everyone's. Returns
-- how many were flagged. Called where it matters (a new temporary application, the window's list), so that no
-- background job has to run on the day.
CREATE FUNCTION temporary_cards_expire(person text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    UPDATE card SET status = 'return_due', return_due_reason = 'expired'
    WHERE temporary AND status = 'issued' AND expiry_date < bureau_today()
      AND (person IS NULL OR person_key = person);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- The measures: a temporary card for the insured waiting for a card (an open application, or a card on its way) or
-- replacing a lost one — never for the holder of a valid card, and one at a time.
CREATE FUNCTION application_temporary_rules() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    PERFORM temporary_cards_expire(NEW.ssn);
    SELECT card_number INTO c FROM card
    WHERE person_key = NEW.ssn AND NOT temporary AND status = 'issued' ORDER BY card_number LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the person holds valid card %; a temporary card is only for those waiting for a card or replacing a lost one',
            c.card_number USING ERRCODE = 'check_violation';
    END IF;
    SELECT card_number, expiry_date INTO c FROM card
    WHERE person_key = NEW.ssn AND temporary AND status NOT IN ('spoiled', 'unused', 'voided', 'returned',
                                                                'return_due', 'cancelled', 'lost', 'lost_temporary')
    ORDER BY card_number LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the person already has temporary card % (valid until %)', c.card_number,
            coalesce(to_char(c.expiry_date, 'YYYY-MM-DD'), 'its issue + 90 days') USING ERRCODE = 'check_violation';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM application
                   WHERE ssn = NEW.ssn AND kind IN ('new', 'replacement', 'exchange')
                     AND status IN ('pending', 'in_production', 'held'))
       AND NOT EXISTS (SELECT 1 FROM card
                       WHERE person_key = NEW.ssn AND NOT temporary
                         AND status IN ('allocated', 'printing', 'encoding', 'ejecting', 'good', 'in_transit',
                                        'at_outlet', 'lost', 'lost_temporary')) THEN
        RAISE EXCEPTION 'the person is not waiting for a card nor replacing a lost one; a temporary card is only for them'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER application_temporary_rules BEFORE INSERT ON application FOR EACH ROW
    WHEN (NEW.kind = 'temporary') EXECUTE FUNCTION application_temporary_rules();

-- Collection: the social security function is activated there; not doing so is an exception with its reason.
-- An agent brings a power of attorney: its reference number, or a scan kept here (bounded, as a studio photo).
ALTER TABLE collection
    ADD COLUMN activation_skipped text CHECK (length(activation_skipped) BETWEEN 1 AND 500),
    ADD COLUMN poa_reference text CHECK (length(poa_reference) BETWEEN 1 AND 64),
    ADD COLUMN poa_scan bytea CHECK (length(poa_scan) BETWEEN 1 AND 5242880),
    ADD COLUMN poa_scan_sha256 text,
    ADD COLUMN temporary_card char(9),
    ADD COLUMN temporary_returned boolean;
-- Every new agent collection names the power of attorney; rows written before this migration had neither, and the
-- table is append-only, so NOT VALID leaves them be.
ALTER TABLE collection ADD CONSTRAINT collection_poa
    CHECK (collected_by = 'holder' OR poa_reference IS NOT NULL OR poa_scan IS NOT NULL) NOT VALID;
