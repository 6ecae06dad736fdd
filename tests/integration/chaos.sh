#!/usr/bin/env bash
# chaos.sh — controllers SIGKILLed at random moments, their database sessions terminated, PostgreSQL restarted
# mid-run; afterwards every application is produced exactly once or held with a reason, no person has two cards on
# the way, no card number is reused and the stock balances. CHAOS_KILLS sets the number of kills (default 20, at
# least 10: the restart comes at round 8, a session termination every 5 rounds). A controller that ends in any way
# other than by the test's SIGKILL fails the test, and so does a run in which the chaos did not hit anything.
source "$(dirname "$0")/lib.sh"
require_postgres
kills_wanted=${CHAOS_KILLS:-20}
[ "$kills_wanted" -ge 10 ] || fail "CHAOS_KILLS=$kills_wanted: at least 10 kills are needed to restart PostgreSQL and terminate sessions"
apps=${CHAOS_APPLICATIONS:-$((kills_wanted * 15))}
dir="$IT_ROOT/chaos-$$"
rm -rf "$dir"
cl_() { "$CARDLINE" -q --data-dir "$dir" "$@"; }
declare -A pid log
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    cl_ db destroy --yes >/dev/null 2>&1 || true
}
trap cleanup EXIT

cl_ gen applications "$apps" --seed 31337 >/dev/null
for l in A1 A2 B1 B2; do cl_ stock issue --line "$l" --new-line $((apps * 2)) >/dev/null; done
DB=$(cl_ db conninfo)
mkdir -p "$dir/logs"

started=0
start() { # the binary itself, so that $! is the process to kill; each start logs to a file of its own
    started=$((started + 1))
    log[$1]="$dir/logs/$started-$1.log"
    "$CARDLINE" -q --data-dir "$dir" run --lines 2 --line-prefix "$1" --card-ms 40 --lease-seconds 2 \
        --chip-faults 20 --seed $RANDOM 2>"${log[$1]}" &
    pid[$1]=$!
}
# reap C: wait for controller C, which must have ended by the test's SIGKILL (status 128 + 9) and nothing else
reap() {
    local status=0
    wait "${pid[$1]}" 2>/dev/null || status=$?
    if [ "$status" -ne 137 ]; then
        echo "--- ${log[$1]}" >&2
        tail -n 40 "${log[$1]}" >&2
        fail "controller $1 (pid ${pid[$1]}) ended by itself with status $status, not by the test's SIGKILL"
    fi
    unset "pid[$1]"
}
# any controller that is gone although nobody killed it fails the test now, with its log
check_alive() {
    local c
    for c in "${!pid[@]}"; do
        kill -0 "${pid[$c]}" 2>/dev/null || reap "$c"
    done
}
left() { psql "$DB" -XAtq -c "SELECT count(*) FROM application WHERE status IN ('pending', 'in_production')" 2>/dev/null || echo 1; }
# cards of controller C's lines in a physical step, one per line; empty when the database cannot be asked
in_step() {
    psql "$DB" -XAtq -v ON_ERROR_STOP=1 -c "SELECT card_number FROM card WHERE line_id IN ('${1}1', '${1}2')
        AND status IN ('allocated', 'printing', 'encoding', 'ejecting')" 2>/dev/null || true
}

RANDOM=42
start A
start B
kills=0 terminated=0 terminations=0 restarts=0 round=0 hits=0
: >"$dir/hit-cards"
while [ $kills -lt "$kills_wanted" ]; do
    round=$((round + 1))
    sleep "0.$((2 + RANDOM % 8))"
    check_alive
    if [ "$(left)" = 0 ]; then
        # keep the lines busy until enough kills happened
        cl_ gen applications 50 --seed $((round + 1000)) >/dev/null
    fi
    if [ $round -eq 8 ]; then
        echo "round $round: restarting PostgreSQL under the running controllers"
        cl_ db stop >/dev/null
        sleep 0.5
        cl_ db start >/dev/null
        restarts=$((restarts + 1))
    elif [ $((round % 5)) -eq 0 ]; then
        n=$(psql "$DB" -XAtq -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                                  WHERE application_name = 'cardline' AND pid <> pg_backend_pid()" 2>/dev/null || echo 0)
        echo "round $round: terminated $n database session(s)"
        terminations=$((terminations + 1))
        terminated=$((terminated + n))
    fi
    victim=$([ $((RANDOM % 2)) -eq 0 ] && echo A || echo B)
    kill -9 "${pid[$victim]}" 2>/dev/null || true
    reap "$victim"
    kills=$((kills + 1))
    # the dead controller's cards still in a physical step were inside its machines when it died
    cards=$(in_step "$victim")
    if [ -n "$cards" ]; then
        hits=$((hits + 1))
        echo "$cards" >>"$dir/hit-cards"
    fi
    start "$victim"
done
check_alive
for c in "${!pid[@]}"; do
    kill -9 "${pid[$c]}" 2>/dev/null || true
    reap "$c"
done
echo "$kills kills ($hits with a card inside a machine), $terminated database session(s) terminated in" \
     "$terminations round(s), $restarts PostgreSQL restart(s); finishing the queue"
# the chaos must have happened, or the checks below prove nothing
expect_eq "controllers SIGKILLed" "$kills" "$kills_wanted"
expect_eq "PostgreSQL restarts" "$restarts" "1"
[ "$terminated" -gt 0 ] || fail "no database session was terminated"
[ "$hits" -gt 0 ] || fail "no kill caught a card inside a machine"
if grep -l "Sanitizer\|runtime error:" "$dir"/logs/*.log; then fail "sanitizer reports in the controllers' logs"; fi

cl_ run --lines 2 --line-prefix A --until-empty --lease-seconds 2
sql() { psql "$DB" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
total=$(sql "SELECT count(*) FROM application")
expect_eq "applications neither produced nor held" "$(sql "SELECT count(*) FROM application WHERE status NOT IN ('produced', 'held')")" "0"
expect_eq "held without a reason" "$(sql "SELECT count(*) FROM application WHERE status = 'held' AND held_reason IS NULL")" "0"
expect_eq "produced applications without exactly one good card" "$(sql "
    SELECT count(*) FROM application a WHERE a.status = 'produced'
      AND (SELECT count(*) FROM card c WHERE c.application_id = a.id AND c.status = 'good') <> 1")" "0"
expect_eq "good cards of applications not produced" "$(sql "
    SELECT count(*) FROM card c JOIN application a ON a.id = c.application_id WHERE c.status = 'good' AND a.status <> 'produced'")" "0"
expect_eq "people with two cards on the way" "$(sql "SELECT count(*) FROM (SELECT person_key FROM card WHERE status IN ('allocated','printing','encoding','ejecting','good') GROUP BY person_key, temporary HAVING count(*) > 1) x")" "0"
expect_eq "card numbers reused" "$(sql "SELECT count(*) - count(DISTINCT card_number) FROM card")" "0"
expect_eq "cards left in a physical step" "$(sql "SELECT count(*) FROM card WHERE status IN ('allocated','printing','encoding','ejecting')")" "0"
# every card a SIGKILL left inside a machine is spoiled as interrupted, none came out good
hit=$(sort -u "$dir/hit-cards" | grep -c .)
expect_eq "cards caught inside a machine by a kill and recorded spoiled as interrupted" "$(sql "
    SELECT count(*) FROM card WHERE status = 'spoiled' AND spoil_reason LIKE 'interrupted%'
      AND card_number = ANY (string_to_array('$(sort -u "$dir/hit-cards" | paste -sd, -)', ','))")" "$hit"
cl_ stock report >"$dir/stock.txt" || { cat "$dir/stock.txt"; fail "stock does not balance"; }
tail -1 "$dir/stock.txt"
echo "produced $(sql "SELECT count(*) FROM application WHERE status = 'produced'") of $total;" \
     "held $(sql "SELECT count(*) FROM application WHERE status = 'held'");" \
     "interrupted cards $(sql "SELECT count(*) FROM card WHERE spoil_reason LIKE 'interrupted%' OR spoil_reason LIKE 'application withdrawn%'")"
