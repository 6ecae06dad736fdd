#!/usr/bin/env bash
# setup.sh — start the private cluster the integration tests share and migrate the template database
source "$(dirname "$0")/lib.sh"
require_postgres
mkdir -p "$IT_ROOT"
"$CARDLINE" --data-dir "$IT_ROOT/cluster" db start
base=$(cluster_conninfo)
psql "$base dbname=postgres" -q -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS cardline_template" -c "CREATE DATABASE cardline_template" >/dev/null
"$CARDLINE" --data-dir "$IT_ROOT/cluster" --db "$base dbname=cardline_template" db migrate
# a second run changes nothing: migrations are idempotent
out=$("$CARDLINE" --data-dir "$IT_ROOT/cluster" --db "$base dbname=cardline_template" db migrate)
[ "$out" = "0 migration(s) applied; schema is current" ] || { echo "migrate not idempotent: $out" >&2; exit 1; }
echo "cluster ready"
