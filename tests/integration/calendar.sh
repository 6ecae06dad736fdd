#!/usr/bin/env bash
# calendar.sh — the 2026 official calendar and the 30-working-day deadline computed by the database
source "$(dirname "$0")/lib.sh"
require_postgres
new_db

expect_eq "worked example 2026-01-05" "$(sql "SELECT add_working_days('2026-01-05', 30)")" "2026-02-14"
expect_eq "worked example 2026-09-15" "$(sql "SELECT add_working_days('2026-09-15', 30)")" "2026-11-02"
expect_eq "working days in 2026" \
    "$(sql "SELECT count(*) FROM generate_series('2026-01-01'::date, '2026-12-31', '1 day') d WHERE working_day(d::date)")" \
    "248"
expect_eq "makeup Saturday 2026-02-28 works" "$(sql "SELECT working_day('2026-02-28')")" "t"
expect_eq "National Day 2026-10-05 is off" "$(sql "SELECT working_day('2026-10-05')")" "f"

# an unknown year is an error, never a silent Monday-Friday guess (2099: a year no release of cardline knows)
if sql "SELECT add_working_days('2099-12-01', 30)" 2>"$WORK/err"; then
    fail "computing into 2100 without its calendar succeeded"
fi
grep -q "no official working-day calendar for 2099" "$WORK/err" || fail "unclear error: $(cat "$WORK/err")"
echo "ok: unknown year refused"

# the trigger gives every application its deadline, whoever writes the row
"$CARDLINE" -q gen photo "$WORK/p.jpg" --seed 1
psql "$DB" -XAtq -v ON_ERROR_STOP=1 <<SQL
INSERT INTO outlet (code, name, kind, county) VALUES ('HR0101', 'test', 'hrss', 'x');
INSERT INTO photo (sha256, bytes) VALUES (repeat('a', 64), '\x00');
INSERT INTO application (upstream_id, kind, doc_type, doc_number, ssn, name, sex, ethnicity, birth_date, birth_place,
    outlet_code, photo_id, accepted_at)
VALUES ('U1', 'new', 'resident_id', '11010519491231002X', '11010519491231002X', '甲', '2', 1, '1949-12-31', '110105',
        'HR0101', 1, '2026-01-05 10:00+08'),
       ('U2', 'new', 'resident_id', '11010519491231002X', '11010519491231002X', '乙', '2', 1, '1949-12-31', '110105',
        'HR0101', 1, '2099-06-01 10:00+08');
SQL
expect_eq "deadline set by trigger" "$(sql "SELECT deadline FROM application WHERE upstream_id = 'U1'")" "2026-02-14"
expect_eq "deadline unknown past the calendar" \
    "$(sql "SELECT deadline IS NULL AND deadline_problem LIKE '%2099%' FROM application WHERE upstream_id = 'U2'")" "t"
# time held waiting for the applicant extends the deadline
sql "UPDATE application SET held_working_days = 2 WHERE upstream_id = 'U1'"
expect_eq "held days extend the deadline" "$(sql "SELECT deadline FROM application WHERE upstream_id = 'U1'")" \
    "2026-02-25"

# the operator's calendar commands
expect_eq "cli deadline" "$(cl calendar deadline 2026-01-05)" "2026-02-14"
expect_eq "cli deadline --days" "$(cl calendar deadline 2026-09-30 --days 1)" "2026-10-08"
expect_eq "cli workdays" "$(cl calendar workdays 2026-01-05 2026-02-14)" "30"
expect_eq "years 2020-2026 loaded" "$(cl calendar years | cut -c1-4 | tr '\n' ' ')" "2020 2021 2022 2023 2024 2025 2026 "
# every year's total follows from its number of statutory holidays (11 until 2024, 13 from 2025) — 2020 lost
# two more to the extended Spring Festival
for y in 2020:249 2021:250 2022:249 2023:249 2024:251 2025:248; do
    expect_eq "working days in ${y%:*}" "$(sql "SELECT count(*) FROM generate_series('${y%:*}-01-01'::date, '${y%:*}-12-31', '1 day') d WHERE working_day(d::date)")" "${y#*:}"
done
if cl calendar deadline 2099-06-01 2>"$WORK/err"; then fail "deadline into 2099 answered"; fi
grep -q "no official working-day calendar for 2099" "$WORK/err" || fail "$(cat "$WORK/err")"

# a newly published year: bad files are refused whole, a good one gives waiting applications their deadlines
cat >"$WORK/bad2099.csv" <<CSV
year,2099,test schedule
off,2099-01-01,2099-01-03,New Year
work,2099-02-10,,not a weekend
CSV
if cl calendar import "$WORK/bad2099.csv" 2>"$WORK/err"; then fail "weekday makeup accepted"; fi
grep -q "bad2099.csv:3: a makeup working day is a single Saturday or Sunday" "$WORK/err" || fail "$(cat "$WORK/err")"
expect_eq "nothing of the bad file" "$(sql "SELECT count(*) FROM calendar_year WHERE year = 2099")" "0"
cat >"$WORK/2099.csv" <<CSV
# a test schedule shaped like a State Council notice
year,2099,test schedule
off,2099-01-01,2099-01-03,New Year
off,2099-02-16,2099-02-20,Spring Festival
work,2099-02-14,,Spring Festival makeup
CSV
cl calendar import "$WORK/2099.csv"
expect_eq "waiting application got its deadline" "$(sql "SELECT deadline IS NOT NULL AND deadline_problem IS NULL FROM application WHERE upstream_id = 'U2'")" "t"
