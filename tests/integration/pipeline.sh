#!/usr/bin/env bash
# pipeline.sh — 200 applications (CARDLINE_PIPELINE_APPS: fewer under the sanitizers) become as many good cards, each in its own outlet's shipment; one person, one card is
# enforced by the database; faults spoil cards that keep their numbers while the applications are retried
source "$(dirname "$0")/lib.sh"
require_postgres
new_db
n=${CARDLINE_PIPELINE_APPS:-200}

cl gen applications "$n" --seed 42 >/dev/null
cl run --lines 4 --until-empty
expect_eq "applications produced" "$(sql "SELECT count(*) FROM application WHERE status = 'produced'")" "$n"
expect_eq "good cards" "$(sql "SELECT count(*) FROM card WHERE status = 'good'")" "$n"
expect_eq "distinct card numbers" "$(sql "SELECT count(DISTINCT card_number) FROM card WHERE application_id IS NOT NULL")" "$n"
expect_eq "cards in the wrong outlet's shipment" "$(sql "
    SELECT count(*) FROM shipment_item i JOIN shipment s ON s.id = i.shipment_id JOIN card c ON c.card_number = i.card_number
    JOIN application a ON a.id = c.application_id WHERE s.outlet_code <> a.outlet_code")" "0"
expect_eq "good cards not in a shipment" "$(sql "
    SELECT count(*) FROM card c WHERE status = 'good' AND NOT EXISTS (SELECT 1 FROM shipment_item i WHERE i.card_number = c.card_number)")" "0"
expect_eq "open shipments per outlet at most one" "$(sql "SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM shipment WHERE status = 'open' GROUP BY outlet_code) x")" "1"
expect_eq "shipment ids carry a GS1 check digit" "$(sql "SELECT count(*) FROM shipment WHERE gs1_check_digit(left(id, 17)) <> right(id, 1)")" "0"
expect_eq "people with two cards on the way" "$(sql "SELECT count(*) FROM (SELECT person_key FROM card WHERE status IN ('allocated','printing','encoding','ejecting','good') GROUP BY person_key HAVING count(*) > 1) x")" "0"
expect_eq "every card has an ATR and chip id" "$(sql "SELECT count(*) FROM card WHERE status = 'good' AND (atr IS NULL OR chip_id IS NULL)")" "0"
expect_eq "faces written" "$(ls "$WORK/faces" | wc -l)" "$n"
expect_eq "stock balances" "$(sql "SELECT (SELECT count(*) FROM stock_move WHERE kind = 'fed') - (SELECT count(*) FROM stock_move WHERE kind = 'unfed') - (SELECT count(*) FROM card WHERE status IN ('good', 'spoiled') AND application_id IS NOT NULL)")" "0"

# one person, one card, held by a constraint and not only by code
person=$(sql "SELECT person_key FROM card WHERE status = 'good' LIMIT 1")
if sql "INSERT INTO card (card_number, person_key, status) VALUES ('Z00000001', '$person', 'allocated')" 2>"$WORK/err"; then
    fail "database accepted a second card on its way to one person"
fi
grep -q "card_one_in_pipeline" "$WORK/err" || fail "unexpected error: $(cat "$WORK/err")"
echo "ok: second card for one person refused by constraint"
if sql "DELETE FROM card WHERE card_number = (SELECT min(card_number) FROM card)" 2>/dev/null; then
    fail "a card row was deleted; card numbers could be reused"
fi
echo "ok: cards are never deleted"

# status --json has the documented shape
cl status --json >"$WORK/status.json"
python3 - "$WORK/status.json" "$n" <<'PY'
import json, sys
s, n = json.load(open(sys.argv[1])), int(sys.argv[2])
assert s["applications"]["by_status"]["produced"] == n, s["applications"]
assert s["cards"]["by_status"]["good"] == n, s["cards"]
assert sum(o["cards"] for o in s["shipments"]) == n, s["shipments"]
print("ok: status --json")
PY

# faults: cards spoil, keep their numbers and reasons, applications are retried until good
new_db
sql "UPDATE setting SET value = '20' WHERE key = 'max_attempts'"
cl gen applications 60 --seed 43 >/dev/null
cl run --lines 3 --until-empty --print-faults 100 --chip-faults 100 --seed 5
expect_eq "produced despite faults" "$(sql "SELECT count(*) FROM application WHERE status = 'produced'")" "60"
spoiled=$(sql "SELECT count(*) FROM card WHERE status = 'spoiled'")
[ "$spoiled" -gt 0 ] || fail "no card spoiled at 20% fault rate"
expect_eq "spoiled cards have reasons" "$(sql "SELECT count(*) FROM card WHERE status = 'spoiled' AND spoil_reason IS NULL")" "0"
expect_eq "spoiled cards not shipped" "$(sql "SELECT count(*) FROM shipment_item i JOIN card c USING (card_number) WHERE c.status <> 'good'")" "0"
echo "ok: $spoiled spoiled card(s), all applications produced"

# defects are held with reasons a person can act on, never dropped
new_db
cl gen applications 30 --seed 44 --defects 6 >/dev/null
cl run --lines 2 --until-empty
expect_eq "held" "$(sql "SELECT count(*) FROM application WHERE status = 'held'")" "6"
expect_eq "produced" "$(sql "SELECT count(*) FROM application WHERE status = 'produced'")" "24"
sql "SELECT held_reason FROM application WHERE status = 'held' ORDER BY 1"
expect_eq "distinct hold reasons" "$(sql "SELECT count(DISTINCT split_part(held_reason, ' ', 1) || position('check' IN held_reason)) >= 5 FROM application WHERE status = 'held'")" "t"
