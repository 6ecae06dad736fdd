-- 0002: the official working-day calendar and the 30-working-day deadline computed by the database itself
CREATE TABLE calendar_year (
    year   integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
    source text NOT NULL
);

-- Only days that differ from the Monday–Friday rule: holidays (working = false) and makeup working days (true).
CREATE TABLE calendar_day (
    day     date PRIMARY KEY,
    working boolean NOT NULL,
    note    text NOT NULL
);

INSERT INTO setting (key, value) VALUES ('deadline_working_days', '30'), ('bureau_timezone', 'Asia/Shanghai');

-- Raises when the year's official schedule is unknown: guessing Monday–Friday would silently move deadlines.
CREATE FUNCTION working_day(d date) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
    w boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM calendar_year WHERE year = extract(year FROM d)::integer) THEN
        RAISE EXCEPTION 'no official working-day calendar for %', extract(year FROM d)::integer
            USING ERRCODE = 'data_exception', HINT = 'import the State Council schedule for that year';
    END IF;
    SELECT working INTO w FROM calendar_day WHERE day = d;
    IF FOUND THEN
        RETURN w;
    END IF;
    RETURN extract(isodow FROM d) < 6;
END $$;

-- The date n working days after d (d itself not counted).
CREATE FUNCTION add_working_days(d date, n integer) RETURNS date LANGUAGE plpgsql STABLE AS $$
DECLARE
    cur date := d;
    left_ integer := n;
BEGIN
    IF n < 0 THEN
        RAISE EXCEPTION 'negative working-day count %', n;
    END IF;
    WHILE left_ > 0 LOOP
        cur := cur + 1;
        IF working_day(cur) THEN
            left_ := left_ - 1;
        END IF;
    END LOOP;
    RETURN cur;
END $$;

-- Working days after a (not counted) up to and including b; negative when b is before a.
CREATE FUNCTION working_days_between(a date, b date) RETURNS integer LANGUAGE plpgsql STABLE AS $$
DECLARE
    cur date := least(a, b);
    stop date := greatest(a, b);
    n integer := 0;
BEGIN
    WHILE cur < stop LOOP
        cur := cur + 1;
        IF working_day(cur) THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN CASE WHEN b < a THEN -n ELSE n END;
END $$;

CREATE FUNCTION bureau_date(t timestamptz) RETURNS date LANGUAGE sql STABLE AS $$
    SELECT (t AT TIME ZONE (SELECT value FROM setting WHERE key = 'bureau_timezone'))::date
$$;

-- Every application, whoever writes it (the upstream platform or our importer), gets its deadline here.
CREATE FUNCTION application_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        NEW.deadline := add_working_days(bureau_date(NEW.accepted_at),
                                         (SELECT value::integer FROM setting WHERE key = 'deadline_working_days')
                                         + NEW.held_working_days);
        NEW.deadline_problem := NULL;
    EXCEPTION WHEN data_exception THEN
        NEW.deadline := NULL;
        NEW.deadline_problem := SQLERRM;
    END;
    RETURN NEW;
END $$;
CREATE TRIGGER application_deadline BEFORE INSERT OR UPDATE OF accepted_at, held_working_days ON application
    FOR EACH ROW EXECUTE FUNCTION application_deadline();

-- 2026: State Council notice of 2025-11-04.
INSERT INTO calendar_year (year, source) VALUES (2026, 'State Council notice of 2025-11-04');
INSERT INTO calendar_day (day, working, note)
SELECT d::date, false, note FROM (VALUES
    ('2026-01-01', '2026-01-03', 'New Year'),
    ('2026-02-15', '2026-02-23', 'Spring Festival'),
    ('2026-04-04', '2026-04-06', 'Qingming'),
    ('2026-05-01', '2026-05-05', 'Labour Day'),
    ('2026-06-19', '2026-06-21', 'Dragon Boat Festival'),
    ('2026-09-25', '2026-09-27', 'Mid-Autumn Festival'),
    ('2026-10-01', '2026-10-07', 'National Day')
) AS h (first, last, note), generate_series(first::date, last::date, interval '1 day') AS d;
INSERT INTO calendar_day (day, working, note) VALUES
    ('2026-01-04', true, 'makeup working day (New Year)'),
    ('2026-02-14', true, 'makeup working day (Spring Festival)'),
    ('2026-02-28', true, 'makeup working day (Spring Festival)'),
    ('2026-05-09', true, 'makeup working day (Labour Day)'),
    ('2026-09-20', true, 'makeup working day (National Day)'),
    ('2026-10-10', true, 'makeup working day (National Day)');
