#!/usr/bin/env bash
# backup.sh — a backup taken while two lines produce restores into a new database whose books balance (the snapshot
# is consistent: the manifest's counts, stock, cards and shipments agree), and production runs on there to the end;
# restore refuses a backup of a newer schema, an unfinished backup and a database in use (unless --replace); the
# private cluster backs up and restores too; --help has no side effect
export CARDLINE_NOW=${CARDLINE_NOW:-2026-06-10T10:00:00+08:00}
source "$(dirname "$0")/lib.sh"
require_postgres
new_db
base=$(cluster_conninfo)
restored_name="it_backup_r_$$"
restored_db="$base dbname=$restored_name"
psql "$base dbname=postgres" -q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $restored_name" >/dev/null
manifest() { sed -n "s/^$2=//p" "$1/manifest"; }
# the restored database's own data directory: its faces do not mix with the original's
clr() { "$CARDLINE" -q --data-dir "$WORK/restored" --db "$restored_db" "$@"; }
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    psql "$base dbname=postgres" -q -c "DROP DATABASE IF EXISTS $restored_name WITH (FORCE)" >/dev/null 2>&1 || true
    [ -z "${embedded:-}" ] || "$CARDLINE" -q --data-dir "$embedded" db destroy --yes >/dev/null 2>&1 || true
    [ -z "${embedded2:-}" ] || "$CARDLINE" -q --data-dir "$embedded2" db destroy --yes >/dev/null 2>&1 || true
    rm -rf "${embedded:-/nonexistent}" "${embedded2:-/nonexistent}"
}
trap cleanup EXIT

# --help: the subcommand's own usage, exit 0, nothing created, no database touched
for sub in backup restore; do
    out=$("$CARDLINE" --data-dir "$WORK/help-data" --db "host=/nonexistent dbname=x" db $sub "$WORK/help-$sub" --help) ||
        fail "db $sub --help failed"
    [[ "$out" == "Usage: cardline db $sub"* ]] || fail "db $sub --help is not its own usage: $(head -1 <<<"$out")"
    [ ! -e "$WORK/help-data" ] && [ ! -e "$WORK/help-$sub" ] || fail "db $sub --help created something"
    echo "ok: db $sub --help"
done

cl gen applications 300 --seed 17 >/dev/null
for l in B1 B2; do cl stock issue --line "$l" --new-line 1000 >/dev/null; done
"$CARDLINE" -q --data-dir "$WORK" --db "$DB" run --lines 2 --line-prefix B --card-ms 50 --lease-seconds 3 \
    2>"$WORK/run.log" &
run=$!
pids+=("$run")
for _ in $(seq 600); do
    [ "$(sql "SELECT count(*) FROM application WHERE status = 'produced'")" -ge 60 ] && break
    kill -0 $run 2>/dev/null || fail "the run ended early: $(tail -5 "$WORK/run.log")"
    sleep 0.1
done

# the backup, mid-production: a busy directory is refused, a new one is made owner-only
mkdir -p "$WORK/busy" && touch "$WORK/busy/something"
if cl db backup "$WORK/busy" 2>"$WORK/err"; then fail "a backup was written into a non-empty directory"; fi
grep -q "not empty" "$WORK/err" || fail "unexpected refusal: $(cat "$WORK/err")"
echo "ok: a non-empty backup directory is refused"
cl db backup "$WORK/backup" --jobs 2 >"$WORK/backup.out" || fail "backup failed"
cat "$WORK/backup.out"
kill -0 $run 2>/dev/null || fail "the run was over before the backup finished: the backup was not mid-production"
produced_after=$(sql "SELECT count(*) FROM application WHERE status = 'produced'")
expect_eq "backup directory owner-only" "$(stat -c %a "$WORK/backup")" "700"
expect_eq "manifest owner-only" "$(stat -c %a "$WORK/backup/manifest")" "600"
[ ! -e "$WORK/backup/.manifest.tmp" ] || fail "a temporary manifest was left behind"
expect_eq "manifest names the database" "$(manifest "$WORK/backup" database)" "it_backup_$$"
expect_eq "manifest's schema version" "$(manifest "$WORK/backup" schema_version)" \
    "$(sql "SELECT max(version) FROM schema_migration")"
expect_eq "manifest's cardline version" "$(manifest "$WORK/backup" cardline_version)" \
    "$("$CARDLINE" --version | sed 's/^cardline //')"
expect_eq "manifest's time is the bureau clock's day" "$(manifest "$WORK/backup" taken_at | cut -c1-10)" \
    "$(cl clock --date)"
expect_eq "manifest's applications" "$(manifest "$WORK/backup" applications)" "300"
# stop the lines as an operator does (the card in hand is finished)
kill -TERM $run
wait $run || fail "the run did not stop cleanly after SIGTERM: $(tail -5 "$WORK/run.log")"
pids=()
produced_final=$(sql "SELECT count(*) FROM application WHERE status = 'produced'")
echo "stopped with $produced_final produced ($produced_after when the backup had finished)"

# restore into a new database
clr db restore "$WORK/backup" >"$WORK/restore.out" ||
    fail "restore failed"
cat "$WORK/restore.out"
DB=$restored_db
cards_at_backup=$(manifest "$WORK/backup" cards)
expect_eq "restored applications = manifest" "$(sql "SELECT count(*) FROM application")" "300"
expect_eq "restored cards = manifest" "$(sql "SELECT count(*) FROM card")" "$cards_at_backup"
expect_eq "restored shipments = manifest" "$(sql "SELECT count(*) FROM shipment")" "$(manifest "$WORK/backup" shipments)"
expect_eq "restored stock moves = manifest" "$(sql "SELECT count(*) FROM stock_move")" "$(manifest "$WORK/backup" stock_moves)"
produced_snap=$(sql "SELECT count(*) FROM application WHERE status = 'produced'")
# mid-production: some produced, not all; fewer than the original ended with
[ "$produced_snap" -ge 60 ] && [ "$produced_snap" -lt 300 ] && [ "$produced_snap" -le "$produced_final" ] ||
    fail "the snapshot has $produced_snap produced: not mid-production (original ended with $produced_final)"
echo "ok: the snapshot holds $produced_snap produced of 300, $cards_at_backup cards"
# the books of one instant: stock (with the cards inside the machines counted as used), cards and shipments agree
clr stock report >"$WORK/stock-snapshot.txt" || { cat "$WORK/stock-snapshot.txt"; fail "the snapshot's stock does not balance"; }
invariants() {
    expect_eq "$1: good cards of applications not produced" "$(sql "
        SELECT count(*) FROM card c JOIN application a ON a.id = c.application_id
        WHERE c.status = 'good' AND a.status <> 'produced'")" "0"
    expect_eq "$1: produced applications without exactly one good card" "$(sql "
        SELECT count(*) FROM application a WHERE a.status = 'produced'
          AND (SELECT count(*) FROM card c WHERE c.application_id = a.id AND c.status = 'good') <> 1")" "0"
    expect_eq "$1: cards in two shipments" "$(sql "
        SELECT count(*) FROM (SELECT card_number FROM shipment_item GROUP BY 1 HAVING count(*) > 1) x")" "0"
    expect_eq "$1: good cards not in a shipment" "$(sql "
        SELECT count(*) FROM card c WHERE c.status = 'good'
          AND NOT EXISTS (SELECT 1 FROM shipment_item i WHERE i.card_number = c.card_number)")" "0"
    expect_eq "$1: card numbers used twice" "$(sql "SELECT count(*) - count(DISTINCT card_number) FROM card")" "0"
}
invariants "snapshot"
echo "ok: the snapshot balances"

# production runs on in the restored database to the end; card numbers continue from the restored sequence
for l in R1 R2; do clr stock issue --line "$l" --new-line 1000 >/dev/null; done
clr run --lines 2 --line-prefix R --until-empty --lease-seconds 3 2>"$WORK/run-restored.log" ||
    fail "the run on the restored database failed: $(tail -5 "$WORK/run-restored.log")"
expect_eq "restored: applications neither produced nor held" \
    "$(sql "SELECT count(*) FROM application WHERE status NOT IN ('produced', 'held')")" "0"
expect_eq "restored: cards left in a physical step" \
    "$(sql "SELECT count(*) FROM card WHERE status IN ('allocated', 'printing', 'encoding', 'ejecting')")" "0"
invariants "restored and finished"
clr stock report >"$WORK/stock-final.txt" || { cat "$WORK/stock-final.txt"; fail "stock does not balance after the run"; }
tail -1 "$WORK/stock-final.txt"
echo "ok: $(sql "SELECT count(*) FROM application WHERE status = 'produced'") produced in the restored database"

# refusals: a database in use, a newer schema, an unfinished backup
if clr db restore "$WORK/backup" 2>"$WORK/err"; then
    fail "a backup was restored over a database in use"
fi
grep -q "is not empty" "$WORK/err" || fail "unexpected refusal: $(cat "$WORK/err")"
[ "$(sql "SELECT count(*) FROM card")" -gt "$cards_at_backup" ] || fail "the refused restore changed the database"
echo "ok: restore into a non-empty database is refused"
cp -a "$WORK/backup" "$WORK/newer"
sed -i 's/^schema_version=.*/schema_version=9999/' "$WORK/newer/manifest"
psql "$base dbname=postgres" -q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS it_backup_n_$$" >/dev/null
if "$CARDLINE" -q --data-dir "$WORK/n" --db "$base dbname=it_backup_n_$$" db restore "$WORK/newer" 2>"$WORK/err"; then
    fail "a backup of a newer schema was restored"
fi
grep -q "newer than this cardline" "$WORK/err" || fail "unexpected refusal: $(cat "$WORK/err")"
expect_eq "the refused restore created no database" \
    "$(sql "SELECT count(*) FROM pg_database WHERE datname = 'it_backup_n_$$'")" "0"
echo "ok: a backup of a newer schema is refused"
cp -a "$WORK/backup" "$WORK/unfinished"
rm "$WORK/unfinished/manifest"
if "$CARDLINE" -q --data-dir "$WORK/n" --db "$base dbname=it_backup_n_$$" db restore "$WORK/unfinished" 2>"$WORK/err"; then
    fail "a backup without a manifest was restored"
fi
grep -q "no manifest" "$WORK/err" || fail "unexpected refusal: $(cat "$WORK/err")"
echo "ok: a backup without a manifest is refused"
# --replace drops the database in use and puts the backup in its place
clr db restore "$WORK/backup" --replace >/dev/null ||
    fail "restore --replace failed"
expect_eq "after --replace: cards = manifest" "$(sql "SELECT count(*) FROM card")" "$cards_at_backup"
expect_eq "after --replace: produced = the snapshot's" \
    "$(sql "SELECT count(*) FROM application WHERE status = 'produced'")" "$produced_snap"
echo "ok: --replace restores over a database in use"

# the private cluster: back up, restore into another data directory's new cluster
embedded="$IT_ROOT/backup-embedded-$$"
embedded2="$IT_ROOT/backup-embedded2-$$"
rm -rf "$embedded" "$embedded2"
(
    unset PGHOST PGHOSTADDR PGDATABASE PGSERVICE PGPORT
    "$CARDLINE" -q --data-dir "$embedded" gen applications 20 --seed 5 >/dev/null || fail "gen on the private cluster"
    "$CARDLINE" -q --data-dir "$embedded" stock issue --line L1 --new-line 100 >/dev/null || fail "stock issue"
    "$CARDLINE" -q --data-dir "$embedded" run --lines 1 --until-empty >/dev/null 2>&1 || fail "run on the private cluster"
    "$CARDLINE" -q --data-dir "$embedded" db backup "$embedded/backup" >/dev/null || fail "backup of the private cluster"
    "$CARDLINE" -q --data-dir "$embedded2" db restore "$embedded/backup" >/dev/null ||
        fail "restore into a new private cluster"
    conn=$("$CARDLINE" -q --data-dir "$embedded2" db conninfo)
    expect_eq "private cluster: cards restored = manifest" \
        "$(psql "$conn" -XAtq -c "SELECT count(*) FROM card")" "$(manifest "$embedded/backup" cards)"
    expect_eq "private cluster: good cards restored" \
        "$(psql "$conn" -XAtq -c "SELECT count(*) FROM card WHERE status = 'good'")" "20"
    "$CARDLINE" -q --data-dir "$embedded2" stock report >/dev/null || fail "private cluster: stock does not balance"
)
echo "ok: the private cluster backs up and restores into a new one"
