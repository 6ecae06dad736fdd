# tests/integration/lib.sh — helpers for integration tests: skip rules, a database per test, assertions
# shellcheck shell=bash
set -euo pipefail

: "${CARDLINE:?CARDLINE must point at the cardline binary}"
: "${IT_ROOT:?IT_ROOT must name the integration test directory}"
TEST_NAME=$(basename "$0" .sh)

# One clock for the whole test: when CARDLINE_NOW pins the bureau's clock, every cardline process and every psql
# session of this test reads the same running clock (SQL's clock_now(), bureau_today()). Business dates in tests
# come from there, never from the shell's date or the machine's time zone.
if [ -n "${CARDLINE_NOW:-}" ]; then
    CARDLINE_NOW_ANCHOR=${CARDLINE_NOW_ANCHOR:-$(date +%s)}
    export CARDLINE_NOW CARDLINE_NOW_ANCHOR
    PGOPTIONS="-c cardline.clock_offset=$("$CARDLINE" clock --offset)"
    export PGOPTIONS
    echo "clock pinned: CARDLINE_NOW=$CARDLINE_NOW"
fi

# The tests read cardline's messages as the source writes them, in English (a language named in the environment);
# language.sh reads them in Chinese, the bureau's default.
export LANGUAGE=en

# Locally a missing PostgreSQL skips (77); in CI it fails.
require_postgres() {
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v psql >/dev/null; then
        if [ "${CI:-}" = "true" ]; then
            echo "FAIL: PostgreSQL server or psql missing in CI" >&2
            exit 1
        fi
        echo "SKIP: PostgreSQL server or psql not installed" >&2
        exit 77
    fi
}

fail() {
    echo "FAIL [$TEST_NAME]: $*" >&2
    exit 1
}

# conninfo of the shared private cluster's maintenance database
cluster_conninfo() {
    "$CARDLINE" -q --data-dir "$IT_ROOT/cluster" db conninfo
}

# A fresh database for this test, copied from the migrated template; sets DB and WORK.
new_db() {
    local name="it_${TEST_NAME}_$$"
    local base
    base=$(cluster_conninfo)
    psql "$base dbname=postgres" -q -v ON_ERROR_STOP=1 \
        -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name TEMPLATE cardline_template" >/dev/null
    DB="$base dbname=$name"
    WORK="$IT_ROOT/work/$name"
    rm -rf "$WORK"
    mkdir -p "$WORK"
    export DB WORK
}

cl() {
    "$CARDLINE" -q --data-dir "$WORK" --db "$DB" "$@"
}

sql() {
    psql "$DB" -XAtq -v ON_ERROR_STOP=1 -c "$1"
}

# start_serve [SERVE OPTIONS...]: `cardline serve` on a free loopback port of the test's database, stopped when the
# script exits; sets server (its pid) and url (http://127.0.0.1:PORT), or fails with the server's own words
start_serve() {
    "$CARDLINE" -q --data-dir "$WORK" --db "$DB" serve --listen 127.0.0.1:0 "$@" >"$WORK/serve.out" 2>"$WORK/serve.err" &
    server=$!
    trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
    for _ in $(seq 100); do
        grep -q "^listening on" "$WORK/serve.out" && break
        kill -0 $server 2>/dev/null || fail "serve died: $(cat "$WORK/serve.err")"
        sleep 0.1
    done
    url=$(sed -n 's/^listening on \(http:[^ ]*\)\/$/\1/p' "$WORK/serve.out")
    [ -n "$url" ] || fail "serve did not say where it listens: $(cat "$WORK/serve.err")"
}

expect_eq() {
    local what=$1 got=$2 want=$3
    [ "$got" = "$want" ] || fail "$what: got '$got', want '$want'"
    echo "ok: $what = $want"
}

# need_tool COMMAND PACKAGE: true when COMMAND is installed; when not, false with a note locally and a failure in
# CI, which must run every check (the package belongs in tools/packages.d)
need_tool() {
    command -v "$1" >/dev/null && return 0
    [ "${CI:-}" = "true" ] && fail "$1 missing in CI (Debian package $2)"
    echo "note: $1 not installed (Debian package $2); skipping the checks that need it" >&2
    return 1
}

# LeakSanitizer matches tests/lsan.supp against the library functions on an allocation's stack; Debian's libraries
# have no frame pointers, so the fast unwinder stops at the first library frame and only whole stacks (slow
# unwinding) tell a library's own cache from an object cardline leaked
if [ -n "${LSAN_OPTIONS:-}" ] && [[ "$LSAN_OPTIONS" != *fast_unwind_on_malloc=* ]]; then
    export LSAN_OPTIONS="$LSAN_OPTIONS:fast_unwind_on_malloc=0"
fi
