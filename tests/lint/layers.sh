#!/usr/bin/env bash
# layers.sh — producer/'s one-way path, checked on the source: SQL only in store/ (and its migrations); front ends
# (cli/, web/) above the domain parts (line/, intake/, schedule/, dispatch/, account/), the store below them,
# base/ under everything. A file that breaks a rule is named with the line that breaks it.
set -uo pipefail
src=${1:?usage: layers.sh SOURCE_DIR}/producer
cd "$src" || exit 1
bad=0
complain() { echo "layers: $*" >&2; bad=1; }

# 1. SQL statements and libpq calls that run them live in store/ only.
sql='"[[:space:]]*(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|WITH [a-z_]+ AS|BEGIN|COMMIT|ROLLBACK|LISTEN|NOTIFY|LOCK TABLE|SET LOCAL|CREATE|ALTER|DROP)\b'
calls='\b(db_exec|db_command|PQexec|PQexecParams|PQprepare|PQexecPrepared|PQsendQuery)[[:space:]]*\('
while IFS= read -r hit; do complain "SQL outside store/: $hit"; done < <(
    grep -nE "$sql|$calls" --include='*.c' --include='*.h' -r . | grep -v '^\./store/')

# 2. Who may include whom (headers by path under producer/).
allowed() { # part -> the parts whose headers it may include
    case $1 in
    base) echo "base" ;;
    store) echo "base store" ;;
    line | intake | schedule | dispatch | account) echo "base store line intake schedule dispatch account" ;;
    cli | web) echo "base store line intake schedule dispatch account cli web" ;;
    *) echo "" ;;
    esac
}
for part in base store line intake schedule dispatch account cli web; do
    [ -d "$part" ] || { complain "part $part/ is missing"; continue; }
    ok=" $(allowed "$part") "
    while IFS=: read -r file lineno used; do
        case "$ok" in *" $used "*) ;; *) complain "$file:$lineno: $part/ must not include $used/ (one-way path)" ;; esac
    done < <(grep -nE '^#include "(base|store|line|intake|schedule|dispatch|account|cli|web)/' "$part"/*.[ch] |
        sed -E 's|^([^:]+):([0-9]+):#include "([a-z]+)/.*|\1:\2:\3|')
done

# 3. Nothing but the umbrella header, the CMake file and the translations (po/: data, no code) sits loose in
# producer/.
for f in *; do
    case $f in CMakeLists.txt | producer.h | po | base | store | line | intake | schedule | dispatch | account | cli | web) ;;
    *) complain "producer/$f belongs in one of the parts" ;;
    esac
done

[ "$bad" -eq 0 ] && echo "layers: producer/ keeps its one-way path"
exit "$bad"
