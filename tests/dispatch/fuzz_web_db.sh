#!/usr/bin/env bash
# fuzz_web_db.sh — the web fuzz target's replay with a database: its seeds and their mutations reach the handlers,
# signed in, in a fresh database made from the shared cluster's migrated template (a skip locally without
# PostgreSQL, a failure in CI)
source "$(dirname "$0")/../integration/lib.sh"
require_postgres
: "${FUZZ_WEB:?FUZZ_WEB must point at fuzz_web_replay}"
CARDLINE_FUZZ_DB=$(cluster_conninfo) exec "$FUZZ_WEB" "$(dirname "$0")/corpus"
