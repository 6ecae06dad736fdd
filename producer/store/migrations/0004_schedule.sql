-- 0004: calendars 2020-2025, the latest completion that still meets the outlet's delivery run, deadline-first queue
-- order, temporary cards first, the regulation's replacement rule as a constraint, cancellation and hold accounting

-- Official schedules from the State Council's notices (only days that differ from the Monday-Friday rule).
INSERT INTO calendar_year (year, source) VALUES
    (2020, 'State Council notice of 2019-11-21, Spring Festival extended by notice of 2020-01-27'),
    (2021, 'State Council notice of 2020-11-25'),
    (2022, 'State Council notice of 2021-10-25'),
    (2023, 'State Council notice of 2022-12-08'),
    (2024, 'State Council notice of 2023-10-25'),
    (2025, 'State Council notice of 2024-11-12');
INSERT INTO calendar_day (day, working, note)
SELECT d::date, false, note FROM (VALUES
    ('2020-01-01', '2020-01-01', 'New Year'),
    ('2020-01-24', '2020-02-02', 'Spring Festival (extended by State Council notice of 2020-01-27)'),
    ('2020-04-04', '2020-04-06', 'Qingming'),
    ('2020-05-01', '2020-05-05', 'Labour Day'),
    ('2020-06-25', '2020-06-27', 'Dragon Boat Festival'),
    ('2020-10-01', '2020-10-08', 'National Day and Mid-Autumn Festival'),
    ('2021-01-01', '2021-01-03', 'New Year'),
    ('2021-02-11', '2021-02-17', 'Spring Festival'),
    ('2021-04-03', '2021-04-05', 'Qingming'),
    ('2021-05-01', '2021-05-05', 'Labour Day'),
    ('2021-06-12', '2021-06-14', 'Dragon Boat Festival'),
    ('2021-09-19', '2021-09-21', 'Mid-Autumn Festival'),
    ('2021-10-01', '2021-10-07', 'National Day'),
    ('2022-01-01', '2022-01-03', 'New Year'),
    ('2022-01-31', '2022-02-06', 'Spring Festival'),
    ('2022-04-03', '2022-04-05', 'Qingming'),
    ('2022-04-30', '2022-05-04', 'Labour Day'),
    ('2022-06-03', '2022-06-05', 'Dragon Boat Festival'),
    ('2022-09-10', '2022-09-12', 'Mid-Autumn Festival'),
    ('2022-10-01', '2022-10-07', 'National Day'),
    ('2022-12-31', '2022-12-31', 'New Year 2023'),
    ('2023-01-01', '2023-01-02', 'New Year'),
    ('2023-01-21', '2023-01-27', 'Spring Festival'),
    ('2023-04-05', '2023-04-05', 'Qingming'),
    ('2023-04-29', '2023-05-03', 'Labour Day'),
    ('2023-06-22', '2023-06-24', 'Dragon Boat Festival'),
    ('2023-09-29', '2023-10-06', 'Mid-Autumn Festival and National Day'),
    ('2023-12-30', '2023-12-31', 'New Year 2024 (weekend)'),
    ('2024-01-01', '2024-01-01', 'New Year'),
    ('2024-02-10', '2024-02-17', 'Spring Festival'),
    ('2024-04-04', '2024-04-06', 'Qingming'),
    ('2024-05-01', '2024-05-05', 'Labour Day'),
    ('2024-06-10', '2024-06-10', 'Dragon Boat Festival'),
    ('2024-09-15', '2024-09-17', 'Mid-Autumn Festival'),
    ('2024-10-01', '2024-10-07', 'National Day'),
    ('2025-01-01', '2025-01-01', 'New Year'),
    ('2025-01-28', '2025-02-04', 'Spring Festival'),
    ('2025-04-04', '2025-04-06', 'Qingming'),
    ('2025-05-01', '2025-05-05', 'Labour Day'),
    ('2025-05-31', '2025-06-02', 'Dragon Boat Festival'),
    ('2025-10-01', '2025-10-08', 'National Day and Mid-Autumn Festival')
) AS h (first, last, note), generate_series(first::date, last::date, interval '1 day') AS d;
INSERT INTO calendar_day (day, working, note) VALUES
    ('2020-01-19', true, 'makeup working day'),
    ('2020-04-26', true, 'makeup working day'),
    ('2020-05-09', true, 'makeup working day'),
    ('2020-06-28', true, 'makeup working day'),
    ('2020-09-27', true, 'makeup working day'),
    ('2020-10-10', true, 'makeup working day'),
    ('2021-02-07', true, 'makeup working day'),
    ('2021-02-20', true, 'makeup working day'),
    ('2021-04-25', true, 'makeup working day'),
    ('2021-05-08', true, 'makeup working day'),
    ('2021-09-18', true, 'makeup working day'),
    ('2021-09-26', true, 'makeup working day'),
    ('2021-10-09', true, 'makeup working day'),
    ('2022-01-29', true, 'makeup working day'),
    ('2022-01-30', true, 'makeup working day'),
    ('2022-04-02', true, 'makeup working day'),
    ('2022-04-24', true, 'makeup working day'),
    ('2022-05-07', true, 'makeup working day'),
    ('2022-10-08', true, 'makeup working day'),
    ('2022-10-09', true, 'makeup working day'),
    ('2023-01-28', true, 'makeup working day'),
    ('2023-01-29', true, 'makeup working day'),
    ('2023-04-23', true, 'makeup working day'),
    ('2023-05-06', true, 'makeup working day'),
    ('2023-06-25', true, 'makeup working day'),
    ('2023-10-07', true, 'makeup working day'),
    ('2023-10-08', true, 'makeup working day'),
    ('2024-02-04', true, 'makeup working day'),
    ('2024-02-18', true, 'makeup working day'),
    ('2024-04-07', true, 'makeup working day'),
    ('2024-04-28', true, 'makeup working day'),
    ('2024-05-11', true, 'makeup working day'),
    ('2024-09-14', true, 'makeup working day'),
    ('2024-09-29', true, 'makeup working day'),
    ('2024-10-12', true, 'makeup working day'),
    ('2025-01-26', true, 'makeup working day'),
    ('2025-02-08', true, 'makeup working day'),
    ('2025-04-27', true, 'makeup working day'),
    ('2025-09-28', true, 'makeup working day'),
    ('2025-10-11', true, 'makeup working day');

-- Delivery runs leave at this time (Beijing time) on the outlet's delivery weekdays; a card must be finished by
-- then to travel with the run.
INSERT INTO setting (key, value) VALUES ('delivery_cutoff', '07:00'), ('temporary_validity_days', '90');

ALTER TABLE application
    ADD COLUMN latest_completion timestamptz,
    ADD COLUMN held_for_applicant boolean NOT NULL DEFAULT false,
    ADD COLUMN cancel_reason text;
ALTER TABLE card ADD COLUMN blacklisted_at timestamptz;

-- The latest moment production may finish so that a delivery run still brings the card to the outlet by the
-- deadline: walk back from the deadline to the last departure (a working day that is one of the outlet's delivery
-- weekdays) whose arrival, transit working days later, is not after the deadline.
CREATE FUNCTION latest_completion(p_outlet text, p_deadline date) RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    o outlet%ROWTYPE;
    d date := p_deadline;
    arrival date;
BEGIN
    IF p_deadline IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO o FROM outlet WHERE code = p_outlet;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    FOR i IN 0..62 LOOP
        IF extract(isodow FROM d)::smallint = ANY (o.delivery_weekdays) AND working_day(d) THEN
            arrival := add_working_days(d, o.transit_days);
            IF arrival <= p_deadline THEN
                RETURN (d + (SELECT value FROM setting WHERE key = 'delivery_cutoff')::time)
                       AT TIME ZONE (SELECT value FROM setting WHERE key = 'bureau_timezone');
            END IF;
        END IF;
        d := d - 1;
    END LOOP;
    RAISE EXCEPTION 'outlet % has no delivery run within nine weeks of %', p_outlet, p_deadline
        USING ERRCODE = 'data_exception';
END $$;

CREATE OR REPLACE FUNCTION application_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.kind = 'temporary' THEN
        NEW.priority := 0; -- issued at the counter while the applicant waits
    END IF;
    BEGIN
        NEW.deadline := add_working_days(bureau_date(NEW.accepted_at),
                                         (SELECT value::integer FROM setting WHERE key = 'deadline_working_days')
                                         + NEW.held_working_days);
        NEW.latest_completion := latest_completion(NEW.outlet_code, NEW.deadline);
        NEW.deadline_problem := NULL;
    EXCEPTION WHEN data_exception THEN
        NEW.deadline_problem := SQLERRM;
        IF NEW.deadline_problem LIKE 'outlet %' THEN
            NEW.latest_completion := NULL;
        ELSE
            NEW.deadline := NULL;
            NEW.latest_completion := NULL;
        END IF;
    END;
    RETURN NEW;
END $$;
DROP TRIGGER application_deadline ON application;
CREATE TRIGGER application_deadline BEFORE INSERT OR UPDATE OF accepted_at, held_working_days, outlet_code
    ON application FOR EACH ROW EXECUTE FUNCTION application_deadline();
-- when an outlet's delivery runs change, its open applications get new latest completions
CREATE FUNCTION outlet_runs_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE application SET outlet_code = outlet_code
    WHERE outlet_code = NEW.code AND status IN ('pending', 'in_production', 'held');
    RETURN NULL;
END $$;
CREATE TRIGGER outlet_runs_changed AFTER INSERT OR UPDATE OF delivery_weekdays, transit_days ON outlet
    FOR EACH ROW EXECUTE FUNCTION outlet_runs_changed();

UPDATE application SET outlet_code = outlet_code;

DROP INDEX application_queue;
CREATE INDEX application_queue ON application (priority, latest_completion, id) WHERE status = 'pending';

-- Replacement only after the old card's formal loss report, whoever writes the card row.
CREATE FUNCTION card_rules() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    a application%ROWTYPE;
    old_status text;
BEGIN
    IF NEW.application_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT * INTO a FROM application WHERE id = NEW.application_id;
    IF a.kind = 'replacement' THEN
        SELECT status INTO old_status FROM card WHERE card_number = a.replaced_card_number;
        IF old_status IS DISTINCT FROM 'lost' THEN
            RAISE EXCEPTION 'replacement card for application % needs card % formally reported lost (it is %)',
                a.id, a.replaced_card_number, coalesce(old_status, 'unknown') USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER card_rules BEFORE INSERT ON card FOR EACH ROW EXECUTE FUNCTION card_rules();

-- A temporary card (临时卡) is issued at the counter and returned later; it does not stand in the way of the
-- person's real card.
ALTER TABLE card ADD COLUMN temporary boolean NOT NULL DEFAULT false;
DROP INDEX card_one_in_pipeline;
CREATE UNIQUE INDEX card_one_in_pipeline ON card (person_key, temporary)
    WHERE status IN ('allocated', 'printing', 'encoding', 'ejecting', 'good');
DROP INDEX card_one_issued;
CREATE UNIQUE INDEX card_one_issued ON card (person_key, temporary) WHERE status = 'issued';

-- The at-risk forecast: production capacity assumptions when a line has no recent history.
INSERT INTO setting (key, value) VALUES
    ('nominal_cards_per_hour_per_line', '120'),
    ('production_hours_per_day', '8');

-- The next n working days from d (d itself is index 0 when it is a working day); stops quietly at the end of the
-- known calendar, so that callers see NULL for days no official schedule covers.
CREATE FUNCTION working_days_from(d date, n integer) RETURNS TABLE (idx integer, day date) LANGUAGE plpgsql STABLE
AS $$
DECLARE
    cur date := d;
    i integer := 0;
BEGIN
    WHILE i < n LOOP
        BEGIN
            IF working_day(cur) THEN
                idx := i;
                day := cur;
                RETURN NEXT;
                i := i + 1;
            END IF;
        EXCEPTION WHEN data_exception THEN
            RETURN;
        END;
        cur := cur + 1;
    END LOOP;
END $$;
