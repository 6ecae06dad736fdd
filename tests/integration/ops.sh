#!/usr/bin/env bash
# ops.sh — the operator's day: latest completion from delivery runs, risk forecast, holds released, cancellation,
# formal loss report and replacement (old card blacklisted), temporary cards first, stock that balances, config file
source "$(dirname "$0")/lib.sh"
require_postgres
new_db
cl gen outlets >/dev/null

# latest completion: HR0104 has one run a week (Wednesday, 2 working days on the road); a deadline on Monday
# 2026-12-14 needs the run of Wednesday 2026-12-09 (arrives Friday 12-11), cut-off 07:00 Beijing time
expect_eq "latest completion" "$(sql "SELECT to_char(bureau_time(latest_completion('HR0104', '2026-12-14')), 'YYYY-MM-DD HH24:MI')")" "2026-12-09 07:00"
# a bank outlet served every weekday with one day in transit: the day before
expect_eq "latest completion daily" "$(sql "SELECT to_char(bureau_time(latest_completion('BK0201', '2026-12-14')), 'YYYY-MM-DD HH24:MI')")" "2026-12-11 07:00"

# a queue too large for the nominal capacity: the forecast names the applications that will be late, and why.
# It looks ahead from the bureau's today; where the deadlines fall in a year whose official calendar is not yet
# loaded (late in a year), it must say that the deadlines are unknown and why, never guess.
today=$(sql "SELECT bureau_today()")
cl gen applications 40 --seed 5 --accepted-from "$(sql "SELECT bureau_today() - 12")" \
    --accepted-to "$(sql "SELECT bureau_today() - 1")" >/dev/null
sql "UPDATE setting SET value = '1' WHERE key = 'nominal_cards_per_hour_per_line'"
sql "UPDATE setting SET value = '1' WHERE key = 'production_hours_per_day'"
sql "INSERT INTO line (id) VALUES ('L1')"
cl risk --limit 5 >"$WORK/risk.txt"
cat "$WORK/risk.txt"
unknown=$(sql "SELECT count(*) FROM application WHERE deadline IS NULL")
risk_json() { cl risk --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
if [ "$unknown" = 0 ]; then
    echo "today $today: every deadline known, forecasting lateness"
    late=$(risk_json at_risk)
    [ "$late" -gt 0 ] || fail "no application predicted late at one card a day"
    grep -Eq "(must|had to) be done by .* for the run to" "$WORK/risk.txt" || fail "risk report does not say why"
    sql "UPDATE setting SET value = '1000' WHERE key = 'nominal_cards_per_hour_per_line'"
    expect_eq "nothing late at full capacity" "$(risk_json at_risk)" "0"
else
    echo "today $today: $unknown deadline(s) fall in a year without an official calendar"
    expect_eq "forecast counts the unknown deadlines" "$(risk_json deadline_unknown)" "$unknown"
    grep -q "deadline unknown: no official working-day calendar for" "$WORK/risk.txt" ||
        fail "risk report does not say why the deadline is unknown"
    sql "UPDATE setting SET value = '1000' WHERE key = 'nominal_cards_per_hour_per_line'"
fi

# stock: issue blanks, produce, balance; then a tampered book shows the DIFFERENCE loudly
cl stock issue --line L1 100 >/dev/null
cl run --lines 1 --until-empty --chip-faults 100 --seed 3
cl stock report >"$WORK/stock.txt" || { cat "$WORK/stock.txt"; fail "stock did not balance"; }
grep -q "stock balances" "$WORK/stock.txt" || fail "no balance line"
cl stock sample --line L1 2 >/dev/null
cl stock return --line L1 5 >/dev/null
cl stock report --json | python3 -c '
import json, sys
r = json.load(sys.stdin)["lines"][0]
assert r["issued"] - r["used"] - r["returned"] - r["samples"] == r["on_hand"], r
assert r["used"] == r["good"] + r["spoiled"] + r["in_machine"], r
print("ok: stock report json", r)'
card=$(sql "SELECT min(card_number) FROM card WHERE status = 'good'")
sql "INSERT INTO stock_move (line_id, kind, quantity, card_number) VALUES ('L1', 'unfed', 1, '$card')"
if cl stock report >"$WORK/stock.txt"; then fail "tampered stock balanced"; fi
grep -q "DIFFERENCE" "$WORK/stock.txt" || fail "difference not shown"
echo "ok: difference shown"

# held applications are released after the fix and produced
new_db
cl gen applications 12 --seed 6 --defects 2 >/dev/null
cl run --lines 1 --until-empty
held=$(sql "SELECT id FROM application WHERE status = 'held' AND held_reason LIKE 'unknown pickup outlet%'")
[ -n "$held" ] || fail "expected an application held for its outlet"
cl outlet add HR0999 --name "新设窗口" --kind hrss --county 浈江区 --weekdays 1,2,3,4,5 --transit 1
# held for two weeks: the working days in between (counted here from the calendar, day by day) stop the clock
sql "UPDATE application SET held_since = clock_now() - interval '14 days' WHERE id = $held"
held_days=$(sql "SELECT count(*) FROM generate_series(bureau_today() - 13, bureau_today(), interval '1 day') d
                 WHERE working_day(d::date)")
[ "$held_days" -gt 0 ] || fail "no working day in the last two weeks"
cl application release "$held"
cl run --lines 1 --until-empty
expect_eq "released and produced" "$(sql "SELECT status FROM application WHERE id = $held")" "produced"
expect_eq "held working days" "$(sql "SELECT held_working_days FROM application WHERE id = $held")" "$held_days"

# cancel a pending application: it is never produced
cl gen applications 2 --seed 8 >/dev/null
victim=$(sql "SELECT max(id) FROM application")
cl application cancel "$victim" --reason "applicant withdrew"
cl run --lines 1 --until-empty
expect_eq "cancelled stays cancelled" "$(sql "SELECT status FROM application WHERE id = $victim")" "cancelled"
expect_eq "no card for it" "$(sql "SELECT count(*) FROM card WHERE application_id = $victim")" "0"

# formal loss report, then a replacement: produced, and the lost card blacklisted
# the card goes the whole way to its holder first: sealed, sent, received at the outlet by scan, collected
old=$(sql "SELECT card_number FROM card WHERE status = 'good' LIMIT 1")
ship=$(sql "SELECT shipment_id FROM shipment_item WHERE card_number = '$old'")
cl dispatch seal "$ship" >/dev/null
cl dispatch send "$ship" >/dev/null
printf '00%s\n' "$ship" | cl dispatch receive --outlet "$(sql "SELECT outlet_code FROM shipment WHERE id = '$ship'")" >/dev/null
cl dispatch collect "$old" --holder-doc "$(sql "SELECT a.doc_number FROM card c JOIN application a ON a.id = c.application_id WHERE c.card_number = '$old'")" >/dev/null
expect_eq "card in the holder's hands" "$(sql "SELECT status FROM card WHERE card_number = '$old'")" "issued"
psql "$DB" -XAtq -v ON_ERROR_STOP=1 <<SQL
INSERT INTO application (upstream_id, kind, doc_type, doc_number, ssn, name, sex, ethnicity, birth_date, birth_place,
    nationality, outlet_code, bank_name, photo_id, replaced_card_number, accepted_at)
SELECT 'REPL-1', 'replacement', doc_type, doc_number, ssn, name, sex, ethnicity, birth_date, birth_place, nationality,
       outlet_code, bank_name, photo_id, '$old', clock_now()
FROM application a JOIN card c ON c.application_id = a.id WHERE c.card_number = '$old';
SQL
cl run --lines 1 --until-empty
expect_eq "replacement held before the loss report" "$(sql "SELECT status FROM application WHERE upstream_id = 'REPL-1'")" "held"
# the database itself refuses a replacement card while the old one is not reported lost
if sql "INSERT INTO card (card_number, application_id, person_key, status) SELECT 'Z00000010', id, 'x', 'allocated' FROM application WHERE upstream_id = 'REPL-1'" 2>"$WORK/err"; then
    fail "database accepted a replacement card before the loss report"
fi
grep -q "formally reported lost" "$WORK/err" || fail "$(cat "$WORK/err")"
cl card report-lost "$old"
expect_eq "blocked at the report, before any replacement" "$(sql "SELECT status || ' ' || (blacklisted_at IS NOT NULL) FROM card WHERE card_number = '$old'")" "lost true"
cl application release REPL-1
cl run --lines 1 --until-empty
expect_eq "replacement produced" "$(sql "SELECT status FROM application WHERE upstream_id = 'REPL-1'")" "produced"
expect_eq "old card blacklisted" "$(sql "SELECT status = 'lost' AND blacklisted_at IS NOT NULL FROM card WHERE card_number = '$old'")" "t"

# temporary cards come first, are valid 90 days and are issued at the counter, not shipped
cl gen applications 5 --seed 9 >/dev/null
psql "$DB" -XAtq -v ON_ERROR_STOP=1 <<SQL
INSERT INTO application (upstream_id, kind, doc_type, doc_number, ssn, name, sex, ethnicity, birth_date, birth_place,
    outlet_code, photo_id, accepted_at)
SELECT 'TEMP-1', 'temporary', doc_type, doc_number, ssn, name, sex, ethnicity, birth_date, birth_place, outlet_code,
       photo_id, clock_now() FROM application WHERE upstream_id = 'REPL-1';
SQL
# only a counter line makes temporary cards
printf '{ "lines": [ {"id": "C1", "printer": "sim", "encoder": "sim", "counter": true} ] }' >"$WORK/counter.json"
cl run --config "$WORK/counter.json" --until-empty --max-cards 1
expect_eq "temporary produced first" "$(sql "SELECT status FROM application WHERE upstream_id = 'TEMP-1'")" "produced"
expect_eq "temporary card" "$(sql "SELECT c.status || ' ' || (c.expiry_date - c.issue_date) || ' ' || left(c.card_number, 1) || ' ' || (SELECT count(*) FROM shipment_item i WHERE i.card_number = c.card_number) FROM card c JOIN application a ON a.id = c.application_id WHERE a.upstream_id = 'TEMP-1'")" "issued 90 T 0"

# the configuration file: errors name the line and field; outlets are applied
cat >"$WORK/bad.json" <<JSON
{ "lines": [ {"id": "L1", "printer": "sim", "encoder": "sim"},
             {"id": "L2", "printer": "lpt1", "encoder": "sim"} ] }
JSON
if cl config check "$WORK/bad.json" 2>"$WORK/err"; then fail "bad printer accepted"; fi
grep -q "bad.json:2: lines\[1\]: printer 'lpt1' is not one of" "$WORK/err" || fail "$(cat "$WORK/err")"
printf '{\n  "lines": [ {"id": "L1", "printer": "sim",\n              "encodr": "sim"} ]\n}\n' >"$WORK/key.json"
if cl config check "$WORK/key.json" 2>"$WORK/err"; then fail "a misspelt key accepted"; fi
grep -q "key.json:3: lines\[0\]: unknown key 'encodr'" "$WORK/err" || fail "$(cat "$WORK/err")"
echo "ok: content errors name the file, line and field"
printf '{ "lines": [ {"id": "L1", "printer": "sim", "encoder": "sim", } ] }' >"$WORK/syntax.json"
if cl config check "$WORK/syntax.json" 2>"$WORK/err"; then fail "bad JSON accepted"; fi
grep -q "syntax.json:1: not valid JSON" "$WORK/err" || fail "$(cat "$WORK/err")"
cat >"$WORK/good.json" <<JSON
{
  "lines": [ {"id": "L1", "printer": "sim", "encoder": "sim"} ],
  "outlets": [ {"code": "HR0111", "name": "韶关市武江区西联镇社保服务站", "kind": "hrss", "county": "武江区",
                "delivery_weekdays": [2, 4], "transit_days": 1} ]
}
JSON
cl config apply "$WORK/good.json"
expect_eq "outlet from config" "$(sql "SELECT delivery_weekdays FROM outlet WHERE code = 'HR0111'")" "{2,4}"
