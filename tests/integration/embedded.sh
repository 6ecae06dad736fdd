#!/usr/bin/env bash
# embedded.sh — with no connection configured, cardline creates, starts and stops its own PostgreSQL cluster on a
# unix socket only, run by an unprivileged account when started as root
source "$(dirname "$0")/lib.sh"
require_postgres
dir="$IT_ROOT/embedded-$$"
rm -rf "$dir"
unset PGHOST PGHOSTADDR PGDATABASE PGSERVICE PGPORT
trap '"$CARDLINE" -q --data-dir "$dir" db destroy --yes >/dev/null 2>&1 || true' EXIT

"$CARDLINE" --data-dir "$dir" status >/dev/null || fail "status on a fresh data directory failed"
"$CARDLINE" --data-dir "$dir" db status
conn=$("$CARDLINE" -q --data-dir "$dir" db conninfo)
# every answer goes through a variable: a psql that fails inside an argument would hand an empty string to the
# comparison (and "no TCP listener" expects exactly that)
q() { psql "$conn" -XAtq -v ON_ERROR_STOP=1 -c "$1" || fail "psql failed on: $1"; }
migrated=$(q "SELECT count(*) > 0 FROM schema_migration")
expect_eq "schema migrated on first use" "$migrated" "t"
data_directory=$(q "SHOW data_directory")
pid=$(head -1 "$data_directory/postmaster.pid")
owner=$(stat -c %U "/proc/$pid")
if [ "$(id -u)" -eq 0 ]; then
    [ "$owner" != root ] || fail "server runs as root"
    echo "ok: server runs as $owner"
else
    expect_eq "server runs as the user who started it" "$owner" "$(id -un)"
fi
listen=$(q "SHOW listen_addresses")
expect_eq "no TCP listener" "$listen" ""
sock=$(q "SHOW unix_socket_directories")
expect_eq "socket directory private" "$(stat -c %a "$sock")" "700"
"$CARDLINE" --data-dir "$dir" db stop
if "$CARDLINE" -q --data-dir "$dir" db status >/dev/null; then fail "still reachable after stop"; fi
"$CARDLINE" -q --data-dir "$dir" gen outlets >/dev/null || fail "restart after stop failed"
outlets=$(q "SELECT count(*) FROM outlet")
expect_eq "data survived the restart" "$outlets" "16"

# a new data directory at the same path is a new, empty database (the old one is gone with its directory)
"$CARDLINE" -q --data-dir "$dir" db stop >/dev/null
rm -rf "$dir"
"$CARDLINE" -q --data-dir "$dir" status >/dev/null
conn=$("$CARDLINE" -q --data-dir "$dir" db conninfo)
outlets=$(q "SELECT count(*) FROM outlet")
expect_eq "fresh data directory, fresh database" "$outlets" "0"
# what cardline makes from the data (card faces, photo receipts, shipment exports) is owner-only, and goes with it
cl_dir() { "$CARDLINE" -q --data-dir "$dir" "$@"; }
cl_dir gen outlets >/dev/null
cl_dir gen applications 3 --seed 7 >/dev/null || fail "gen applications failed"
cl_dir run --lines 1 --until-empty >/dev/null 2>&1 || fail "a short production run failed"
cl_dir summary >/dev/null || fail "summary (which exports the shipments) failed"
cl_dir gen photo "$dir/portrait.jpg" --seed 5 || fail "gen photo failed"
cl_dir photo check --receipt --studio S1 --id 11010519491231002X "$dir/portrait.jpg" >/dev/null ||
    fail "a receipt for a passing photo was refused"
for sub in faces receipts shipments; do
    [ -n "$(ls -A "$dir/$sub" 2>/dev/null)" ] || fail "nothing was written to $sub/"
    expect_eq "$sub/ is owner-only" "$(stat -c %a "$dir/$sub")" "700"
done
"$CARDLINE" -q --data-dir "$dir" db destroy --yes >/dev/null
if "$CARDLINE" -q --data-dir "$dir" db status >/dev/null 2>&1; then fail "reachable after destroy"; fi
for sub in faces receipts shipments; do
    [ ! -e "$dir/$sub" ] || fail "db destroy left $sub/ behind: $(ls "$dir/$sub" | head -3)"
done
echo "ok: faces, receipts and exports are owner-only and go with the database"
echo "ok: destroyed"
