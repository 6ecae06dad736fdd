#!/usr/bin/env bash
# bench_line.sh — 64 simulated lines with fixed card times on one controller: line utilisation and controller CPU
# per card (printed by cardline run at the end); faces are not written as PNGs, as with real printers
source "$(dirname "$0")/../integration/lib.sh"
require_postgres
new_db
cards=${BENCH_LINE_CARDS:-640}
cl gen applications "$cards" --seed 1 >/dev/null
"$CARDLINE" --data-dir "$WORK" --db "$DB" run --lines 64 --until-empty --no-faces --card-ms "${BENCH_LINE_CARD_MS:-1000}" \
    2>&1 | grep -E "stopped|utilisation"
