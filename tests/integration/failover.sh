#!/usr/bin/env bash
# failover.sh — a primary and a synchronous streaming standby (PostgreSQL's own replication), two controllers on a
# multi-host conninfo (one as key=value, one as a postgresql:// URI); the primary is killed mid-production and the
# standby promoted. The controllers carry on by themselves to the end: nothing acknowledged before the kill is
# lost, every application is produced exactly once among good cards, no card number twice, every good card in
# exactly one shipment, the stock balances.
export CARDLINE_NOW=${CARDLINE_NOW:-2026-06-10T10:00:00+08:00}
source "$(dirname "$0")/lib.sh"
require_postgres
bindir=${CARDLINE_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
for tool in initdb pg_ctl pg_basebackup; do
    if [ ! -x "$bindir/$tool" ]; then
        [ "${CI:-}" = "true" ] && fail "$bindir/$tool missing in CI (Debian package postgresql)"
        echo "SKIP: $bindir/$tool not installed" >&2
        exit 77
    fi
done

# the clusters live in a short path of their own, which the server account can reach (PostgreSQL refuses root)
top=$(mktemp -d /tmp/cardline-failover.XXXXXX)
WORK="$IT_ROOT/work/failover-$$"
rm -rf "$WORK"
mkdir -p "$WORK"
if [ "$(id -u)" -eq 0 ]; then
    account=${CARDLINE_PG_ACCOUNT:-cardline}
    id "$account" >/dev/null 2>&1 ||
        useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$account"
    chown "$account:" "$top"
    as_pg() { (cd "$top" && runuser -u "$account" -- "$@"); }
else
    as_pg() { (cd "$top" && "$@"); }
fi
chmod 700 "$top"
declare -A pid
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for c in primary standby; do
        [ -f "$top/$c/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$top/$c" -m immediate stop >/dev/null 2>&1
    done
    rm -rf "$top"
}
trap cleanup EXIT

free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [ "$p" != "${1:-}" ]; then
            echo "$p"
            return
        fi
    done
    fail "no free TCP port"
}
p1=$(free_port)
p2=$(free_port "$p1")
password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
printf '%s\n' "$password" >"$top/pw"
[ "$(id -u)" -ne 0 ] || chown "$account:" "$top/pw"

# the primary: replication on, commits wait for standby1
as_pg "$bindir/initdb" -D "$top/primary" -U cardline --pwfile="$top/pw" -E UTF8 --locale=C.UTF-8 \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 >"$WORK/initdb.log" 2>&1 ||
    fail "initdb failed: $(tail -5 "$WORK/initdb.log")"
cat >>"$top/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $p1
unix_socket_directories = '$top'
wal_level = replica
max_wal_senders = 4
wal_keep_size = '128MB'
synchronous_standby_names = 'standby1'
synchronous_commit = on
max_connections = 80
log_error_verbosity = terse
log_min_error_statement = panic
EOF
as_pg "$bindir/pg_ctl" -D "$top/primary" -l "$top/primary.log" -w -t 60 start >/dev/null ||
    fail "the primary did not start: $(tail -5 "$top/primary.log")"
admin() { psql "host=127.0.0.1 port=$1 user=cardline password=$password dbname=postgres" -XAtq -v ON_ERROR_STOP=1 -c "$2"; }

# the standby: a base backup of the primary, streaming as standby1; once promoted it has no standby of its own,
# so it must not wait for one
as_pg env PGPASSWORD="$password" "$bindir/pg_basebackup" -d "host=127.0.0.1 port=$p1 user=cardline" \
    -D "$top/standby" -R -X stream --checkpoint=fast >"$WORK/basebackup.log" 2>&1 ||
    fail "pg_basebackup failed: $(tail -5 "$WORK/basebackup.log")"
cat >>"$top/standby/postgresql.conf" <<EOF
port = $p2
synchronous_standby_names = ''
EOF
cat >>"$top/standby/postgresql.auto.conf" <<EOF
primary_conninfo = 'host=127.0.0.1 port=$p1 user=cardline password=$password application_name=standby1'
EOF
as_pg "$bindir/pg_ctl" -D "$top/standby" -l "$top/standby.log" -w -t 60 start >/dev/null ||
    fail "the standby did not start: $(tail -5 "$top/standby.log")"
state=""
for _ in $(seq 200); do
    state=$(admin "$p1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'" || true)
    [ "$state" = sync ] && break
    sleep 0.1
done
expect_eq "standby1 streams synchronously" "$state" "sync"
expect_eq "standby is in recovery" "$(admin "$p2" "SELECT pg_is_in_recovery()")" "t"
admin "$p1" "CREATE DATABASE cardline" >/dev/null

# one centre, two ways of naming the same pair of servers: whichever is writable is the one used
DB="host=127.0.0.1,127.0.0.1 port=$p1,$p2 user=cardline password=$password dbname=cardline target_session_attrs=read-write connect_timeout=3"
uri="postgresql://cardline:$password@127.0.0.1:$p1,127.0.0.1:$p2/cardline?target_session_attrs=read-write&connect_timeout=3"
export DB WORK
cl db migrate >/dev/null || fail "migration over the multi-host conninfo failed"
cl gen applications 300 --seed 23 >/dev/null
for l in A1 A2 B1 B2; do cl stock issue --line "$l" --new-line 1000 >/dev/null; done

start() { # the binary itself: $! is the controller
    "$CARDLINE" --data-dir "$WORK" --db "$2" run --lines 2 --line-prefix "$1" --card-ms 30 --lease-seconds 5 \
        --until-empty 2>"$WORK/$1.log" &
    pid[$1]=$!
}
start A "$DB"
start B "$uri"
produced() { sql "SELECT count(*) FROM application WHERE status = 'produced'"; }
for _ in $(seq 600); do
    [ "$(produced)" -ge 100 ] && break
    for c in A B; do kill -0 "${pid[$c]}" 2>/dev/null || fail "controller $c ended early: $(tail -5 "$WORK/$c.log")"; done
    sleep 0.1
done
# what the primary has made visible is acknowledged, and with synchronous commit it is on the standby too
sql "SELECT id FROM application WHERE status = 'produced'" | LC_ALL=C sort >"$WORK/acknowledged"
good_before=$(sql "SELECT count(*) FROM card WHERE status = 'good'")
as_pg "$bindir/pg_ctl" -D "$top/primary" -m immediate stop >/dev/null || fail "cannot kill the primary"
echo "primary killed after $(wc -l <"$WORK/acknowledged") acknowledged applications ($good_before good cards)"
sleep 1
for c in A B; do kill -0 "${pid[$c]}" 2>/dev/null || fail "controller $c gave up when the primary died: $(tail -5 "$WORK/$c.log")"; done
as_pg "$bindir/pg_ctl" -D "$top/standby" -w -t 60 promote >/dev/null || fail "promotion failed"
expect_eq "the standby is the primary now" "$(admin "$p2" "SELECT pg_is_in_recovery()")" "f"
declare -A at_promotion
for c in A B; do
    at_promotion[$c]=$(sql "SELECT count(*) FROM card WHERE status = 'good' AND line_id LIKE '$c%'")
done

# the controllers finish the queue on their own; neither is restarted
for c in A B; do
    status=0
    timeout_at=$((SECONDS + 90))
    while kill -0 "${pid[$c]}" 2>/dev/null; do
        [ $SECONDS -lt $timeout_at ] || fail "controller $c did not finish within 90 s: $(tail -5 "$WORK/$c.log")"
        sleep 0.2
    done
    wait "${pid[$c]}" || status=$?
    unset "pid[$c]"
    [ "$status" -eq 0 ] || fail "controller $c ended with status $status: $(tail -10 "$WORK/$c.log")"
    grep -q "connection back" "$WORK/$c.log" || fail "controller $c never reconnected: $(tail -10 "$WORK/$c.log")"
    after=$(sql "SELECT count(*) FROM card WHERE status = 'good' AND line_id LIKE '$c%'")
    [ "$after" -gt "${at_promotion[$c]}" ] ||
        fail "controller $c produced nothing on the new primary (${at_promotion[$c]} good cards before, $after after)"
    echo "ok: controller $c resumed by itself (${at_promotion[$c]} good cards at the promotion, $after at the end)"
done
if grep -l "Sanitizer\|runtime error:" "$WORK"/A.log "$WORK"/B.log; then fail "sanitizer reports in the controllers' logs"; fi

# nothing lost: every application the old primary had acknowledged as produced still is, on the new one
sql "SELECT id FROM application WHERE status = 'produced'" | LC_ALL=C sort >"$WORK/final"
expect_eq "acknowledged applications missing after the failover" \
    "$(LC_ALL=C comm -23 "$WORK/acknowledged" "$WORK/final" | wc -l)" "0"
expect_eq "applications" "$(sql "SELECT count(*) FROM application")" "300"
expect_eq "applications neither produced nor held" \
    "$(sql "SELECT count(*) FROM application WHERE status NOT IN ('produced', 'held')")" "0"
expect_eq "produced applications without exactly one good card" "$(sql "
    SELECT count(*) FROM application a WHERE a.status = 'produced'
      AND (SELECT count(*) FROM card c WHERE c.application_id = a.id AND c.status = 'good') <> 1")" "0"
expect_eq "good cards of applications not produced" "$(sql "
    SELECT count(*) FROM card c JOIN application a ON a.id = c.application_id
    WHERE c.status = 'good' AND a.status <> 'produced'")" "0"
expect_eq "card numbers used twice" "$(sql "SELECT count(*) - count(DISTINCT card_number) FROM card")" "0"
expect_eq "cards left in a physical step" \
    "$(sql "SELECT count(*) FROM card WHERE status IN ('allocated', 'printing', 'encoding', 'ejecting')")" "0"
expect_eq "good cards not in exactly one shipment" "$(sql "
    SELECT count(*) FROM card c WHERE c.status = 'good'
      AND (SELECT count(*) FROM shipment_item i WHERE i.card_number = c.card_number) <> 1")" "0"
expect_eq "cards shipped that are not good" \
    "$(sql "SELECT count(*) FROM shipment_item i JOIN card c USING (card_number) WHERE c.status <> 'good'")" "0"
cl stock report >"$WORK/stock.txt" || { cat "$WORK/stock.txt"; fail "stock does not balance after the failover"; }
# a backup goes through the same multi-host conninfo to the new primary; the password reaches pg_dump only through
# its environment (cardline passes --no-password and never puts the password on a command line)
cl db backup "$WORK/backup" >/dev/null || fail "backup over the multi-host conninfo failed"
expect_eq "backup of the new primary: cards" "$(sed -n 's/^cards=//p' "$WORK/backup/manifest")" \
    "$(sql "SELECT count(*) FROM card")"
tail -1 "$WORK/stock.txt"
echo "ok: $(produced) produced, $(sql "SELECT count(*) FROM card WHERE status = 'spoiled'") spoiled" \
     "($(sql "SELECT count(*) FROM card WHERE spoil_reason LIKE 'interrupted%'") interrupted) across the failover"
