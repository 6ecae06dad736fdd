# tests/integration/lib.sh — helpers for integration tests: skip rules, a database per test, assertions
# shellcheck shell=bash
set -euo pipefail

: "${CARDLINE:?CARDLINE must point at the cardline binary}"
: "${IT_ROOT:?IT_ROOT must name the integration test directory}"
TEST_NAME=$(basename "$0" .sh)

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

expect_eq() {
    local what=$1 got=$2 want=$3
    [ "$got" = "$want" ] || fail "$what: got '$got', want '$want'"
    echo "ok: $what = $want"
}
