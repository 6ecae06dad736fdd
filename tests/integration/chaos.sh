#!/usr/bin/env bash
# chaos.sh — controllers SIGKILLed at random moments, their database sessions terminated, PostgreSQL restarted
# mid-run; afterwards every application is produced exactly once or held with a reason, no person has two cards on
# the way, no card number is reused and the stock balances. CHAOS_KILLS sets the number of kills (default 20).
source "$(dirname "$0")/lib.sh"
require_postgres
kills_wanted=${CHAOS_KILLS:-20}
apps=${CHAOS_APPLICATIONS:-$((kills_wanted * 15))}
dir="$IT_ROOT/chaos-$$"
rm -rf "$dir"
cl_() { "$CARDLINE" -q --data-dir "$dir" "$@"; }
declare -A pid
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    cl_ db destroy --yes >/dev/null 2>&1 || true
}
trap cleanup EXIT

cl_ gen applications "$apps" --seed 31337 >/dev/null
for l in A1 A2 B1 B2; do cl_ stock issue --line "$l" $((apps * 2)) >/dev/null; done
DB=$(cl_ db conninfo)

start() { # the binary itself, so that $! is the process to kill
    "$CARDLINE" -q --data-dir "$dir" run --lines 2 --line-prefix "$1" --card-ms 40 --lease-seconds 2 \
        --chip-faults 20 --seed $RANDOM 2>>"$dir/controllers.log" &
    pid[$1]=$!
}
left() { psql "$DB" -XAtq -c "SELECT count(*) FROM application WHERE status IN ('pending', 'in_production')" 2>/dev/null || echo 1; }

RANDOM=42
start A
start B
kills=0 terminations=0 restarts=0 round=0
while [ $kills -lt "$kills_wanted" ]; do
    round=$((round + 1))
    sleep "0.$((2 + RANDOM % 8))"
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
    fi
    victim=$([ $((RANDOM % 2)) -eq 0 ] && echo A || echo B)
    kill -9 "${pid[$victim]}" 2>/dev/null || true
    wait "${pid[$victim]}" 2>/dev/null || true
    kills=$((kills + 1))
    start "$victim"
done
for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
pid=()
echo "$kills kills, $terminations session terminations, $restarts PostgreSQL restart(s); finishing the queue"

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
cl_ stock report >"$dir/stock.txt" || { cat "$dir/stock.txt"; fail "stock does not balance"; }
tail -1 "$dir/stock.txt"
echo "produced $(sql "SELECT count(*) FROM application WHERE status = 'produced'") of $total;" \
     "held $(sql "SELECT count(*) FROM application WHERE status = 'held'");" \
     "interrupted cards $(sql "SELECT count(*) FROM card WHERE spoil_reason LIKE 'interrupted%' OR spoil_reason LIKE 'application withdrawn%'")"
