#!/usr/bin/env bash
# concurrent.sh — two controllers on one database at once never produce the same application twice
source "$(dirname "$0")/lib.sh"
require_postgres
new_db

cl gen applications 200 --seed 77 >/dev/null
cl run --lines 2 --line-prefix A --until-empty --card-ms 3 --seed 1 &
a=$!
cl run --lines 2 --line-prefix B --until-empty --card-ms 3 --seed 2 &
b=$!
wait $a || fail "controller A failed"
wait $b || fail "controller B failed"

expect_eq "produced" "$(sql "SELECT count(*) FROM application WHERE status = 'produced'")" "200"
expect_eq "applications with more than one good card" \
    "$(sql "SELECT count(*) FROM (SELECT application_id FROM card WHERE status = 'good' GROUP BY application_id HAVING count(*) > 1) x")" "0"
expect_eq "applications produced twice (events)" \
    "$(sql "SELECT count(*) FROM (SELECT application_id FROM event WHERE kind = 'produced' GROUP BY application_id HAVING count(*) > 1) x")" "0"
na=$(sql "SELECT count(*) FROM card WHERE status = 'good' AND line_id LIKE 'A%'")
nb=$(sql "SELECT count(*) FROM card WHERE status = 'good' AND line_id LIKE 'B%'")
echo "controller A made $na cards, B made $nb"
[ "$na" -gt 0 ] && [ "$nb" -gt 0 ] || fail "the controllers did not run side by side"
