#!/usr/bin/env bash
# bench_queue.sh — runs bench-queue in a fresh database of the integration cluster
source "$(dirname "$0")/../integration/lib.sh"
require_postgres
new_db
"$BENCH_QUEUE" "$DB" "${BENCH_QUEUE_BIG:-1000000}"
