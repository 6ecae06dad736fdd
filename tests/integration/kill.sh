#!/usr/bin/env bash
# kill.sh — a run killed with SIGKILL halfway, then a new run: every application ends produced or held, nothing is
# lost, no card number is reused, interrupted cards are spoiled and the stock still balances
source "$(dirname "$0")/lib.sh"
require_postgres
new_db

cl gen applications 200 --seed 99 >/dev/null
# the binary itself, not the cl function: $! must be the process that gets SIGKILL
"$CARDLINE" -q --data-dir "$WORK" --db "$DB" run --lines 4 --card-ms 15 --lease-seconds 3 &
pid=$!
# halfway, and at a moment a card is inside a machine
n=0
for _ in $(seq 1 600); do
    n=$(sql "SELECT count(*) FROM application WHERE status = 'produced'")
    [ "$n" -ge 70 ] && [ "$(sql "SELECT count(*) FROM card WHERE status IN ('allocated', 'printing', 'encoding', 'ejecting')")" -gt 0 ] && break
    kill -0 $pid 2>/dev/null || fail "run ended early"
    sleep 0.1
done
[ "$n" -ge 70 ] || fail "only $n cards produced after a minute; the kill would not be halfway"
kill -9 $pid
status=0
wait $pid 2>/dev/null || status=$?
expect_eq "exit status of the killed run (SIGKILL)" "$status" "137"
in_flight=$(sql "SELECT count(*) FROM application WHERE status = 'in_production'")
in_machine=$(sql "SELECT count(*) FROM card WHERE status IN ('allocated', 'printing', 'encoding', 'ejecting')")
echo "killed after $n cards with $in_flight application(s) in production, $in_machine card(s) in a physical step"
# the point of the test: the kill caught work in flight (the dead run's rows say so; nothing moves them now)
[ "$in_machine" -gt 0 ] || fail "no card was inside a machine when the run was killed"
[ "$in_flight" -ge "$in_machine" ] || fail "$in_machine card(s) in a physical step but only $in_flight application(s) in production"

cl run --lines 4 --until-empty --lease-seconds 3
expect_eq "left unfinished" "$(sql "SELECT count(*) FROM application WHERE status NOT IN ('produced', 'held')")" "0"
expect_eq "applications" "$(sql "SELECT count(*) FROM application")" "200"
expect_eq "produced" "$(sql "SELECT count(*) FROM application WHERE status = 'produced'")" "200"
expect_eq "cards left in a physical step" "$(sql "SELECT count(*) FROM card WHERE status IN ('allocated','printing','encoding','ejecting')")" "0"
expect_eq "applications with two good cards" "$(sql "SELECT count(*) FROM (SELECT application_id FROM card WHERE status = 'good' GROUP BY 1 HAVING count(*) > 1) x")" "0"
expect_eq "stock balances" "$(sql "SELECT (SELECT count(*) FROM stock_move WHERE kind = 'fed') - (SELECT count(*) FROM stock_move WHERE kind = 'unfed') - (SELECT count(*) FROM card WHERE status IN ('good', 'spoiled') AND application_id IS NOT NULL)")" "0"
interrupted=$(sql "SELECT count(*) FROM card WHERE spoil_reason LIKE 'interrupted%'")
echo "ok: $interrupted card(s) recorded spoiled as interrupted"
[ "$interrupted" -eq "$in_machine" ] || fail "$in_machine cards were in a physical step but $interrupted were spoiled as interrupted"
# card numbers come from a sequence; spoiled ones keep theirs, none reappears
expect_eq "card numbers unique" "$(sql "SELECT count(*) - count(DISTINCT card_number) FROM card")" "0"
