#!/usr/bin/env bash
# teardown.sh — stop and delete the shared private cluster
source "$(dirname "$0")/lib.sh"
[ -d "$IT_ROOT/cluster" ] || exit 0
"$CARDLINE" -q --data-dir "$IT_ROOT/cluster" db destroy --yes
