#!/usr/bin/env bash
# import.sh — CSV intake: a good file imports completely; a file with one bad row imports nothing and names the line
source "$(dirname "$0")/lib.sh"
require_postgres
new_db
cl gen outlets >/dev/null
"$CARDLINE" -q gen photo "$WORK/a.jpg" --seed 11
"$CARDLINE" -q gen photo "$WORK/b.jpg" --seed 12
# the rows below were accepted on fixed days up to 2026-11-20, and an import refuses an acceptance after the
# bureau's now: under an earlier pinned clock the imports alone run on a clock after those days
import_csv() {
    if [ "$(sql "SELECT clock_now() < '2026-12-01 10:00+08'")" = t ]; then
        CARDLINE_NOW=2026-12-01T10:00:00+08:00 CARDLINE_NOW_ANCHOR=$(date +%s) cl import applications "$@"
    else
        cl import applications "$@"
    fi
}

header="upstream_id,kind,doc_type,doc_number,name,sex,ethnicity,birth_date,birth_place,outlet,bank,accepted_at,photo"
cat >"$WORK/good.csv" <<CSV
$header
CSV-1,new,resident_id,11010519491231002X,张三,2,1,1949-12-31,110105,HR0101,中国银行,2026-09-01 10:00+08,a.jpg
CSV-2,new,passport,EA1234567,"SMITH, JOHN",1,97,1980-02-03,440100,BK0201,,2019-12-02 11:00+08,b.jpg
CSV
# SSN for the passport holder is required; add the column
sed -i '1s/$/,ssn/; 2s/$/,/; 3s/$/,USA198002031234567/' "$WORK/good.csv"
out=$(import_csv "$WORK/good.csv")
expect_eq "good file" "$out" "imported 2 application(s)"
expect_eq "quoted comma kept" "$(sql "SELECT name FROM application WHERE upstream_id = 'CSV-2'")" "SMITH, JOHN"
# 2026-09-01 (Tue) + 30 working days, counted by hand from the State Council notice: 3 + 5 + 5 in September to the
# 18th, Sunday 20th (makeup) and 21st-24th, Mid-Autumn 25th-27th off, 28th-30th, National Day 1st-7th off, 8th-9th,
# Saturday 10th (makeup), 12th-16th, Monday 19 October
expect_eq "deadline computed" "$(sql "SELECT coalesce(deadline::text, 'NULL') || '|' || coalesce(deadline_problem, 'NULL') FROM application WHERE upstream_id = 'CSV-1'")" "2026-10-19|NULL"
# no calendar for 2019 ships with cardline: the deadline is a problem shown to operators, never a guess
expect_eq "deadline outside the calendar" "$(sql "SELECT coalesce(deadline::text, 'NULL') || '|' || coalesce(deadline_problem, 'NULL') FROM application WHERE upstream_id = 'CSV-2'")" "NULL|no official working-day calendar for 2019"

# third line (second data row) has a wrong check character: nothing of this file may land
cat >"$WORK/bad.csv" <<CSV
$header
CSV-3,new,resident_id,11010519491231002X,李四,2,1,1949-12-31,110105,HR0101,,2026-11-20 10:00+08,a.jpg
CSV-4,new,resident_id,110105194912310021,王五,2,1,1949-12-31,110105,HR0101,,2026-11-20 10:00+08,a.jpg
CSV-5,new,resident_id,11010519491231002X,赵六,2,1,1949-12-31,110105,HR9999,,2026-11-20 10:00+08,a.jpg
CSV
if import_csv "$WORK/bad.csv" 2>"$WORK/err"; then fail "bad file imported"; fi
cat "$WORK/err"
grep -q "bad.csv:3: .*check character" "$WORK/err" || fail "line 3 not named"
expect_eq "nothing half-imported" "$(sql "SELECT count(*) FROM application")" "2"
# the check digit is masked in the message: personal data stays out of logs
if grep -q "110105194912310021" "$WORK/err"; then fail "document number printed unmasked"; fi

# unknown outlet alone
sed -i '3d' "$WORK/bad.csv"
if import_csv "$WORK/bad.csv" 2>"$WORK/err"; then fail "unknown outlet imported"; fi
grep -q "bad.csv:3: unknown outlet 'HR9999'" "$WORK/err" || fail "unknown outlet not named: $(cat "$WORK/err")"
expect_eq "still nothing half-imported" "$(sql "SELECT count(*) FROM application")" "2"

# a duplicate upstream id is caught inside the transaction, which rolls back
printf '%s\n%s\n' "$header" \
    "CSV-6,new,resident_id,11010519491231002X,甲,2,1,1949-12-31,110105,HR0101,,2026-11-20 10:00+08,a.jpg" \
    >"$WORK/dup.csv"
printf '%s\n' "CSV-1,new,resident_id,11010519491231002X,乙,2,1,1949-12-31,110105,HR0101,,2026-11-20 10:00+08,a.jpg" \
    >>"$WORK/dup.csv"
if import_csv "$WORK/dup.csv" 2>"$WORK/err"; then fail "duplicate imported"; fi
grep -q "dup.csv:3: an application with this upstream_id already exists" "$WORK/err" || fail "$(cat "$WORK/err")"
expect_eq "rolled back" "$(sql "SELECT count(*) FROM application")" "2"

# malformed CSV and a missing column
printf 'upstream_id,kind\n"broken,new\n' >"$WORK/quote.csv"
if import_csv "$WORK/quote.csv" 2>"$WORK/err"; then fail "malformed CSV accepted"; fi
grep -q "required column 'doc_type' is missing" "$WORK/err" || fail "$(cat "$WORK/err")"
echo "ok: malformed files refused with line numbers"
