#!/usr/bin/env bash
# traps.sh — the operator's traps: blank stock that cannot go negative or reach a phantom line, errors in the
# operator's terms instead of PostgreSQL's, bad arguments refused before the database is touched, --help without
# side effects, --version, the schema version in db status
source "$(dirname "$0")/lib.sh"
require_postgres
new_db
cl gen outlets >/dev/null

# expect_refused WHAT WANT-STATUS PATTERN COMMAND...: the command fails with that status and says PATTERN
expect_refused() {
    local what=$1 want=$2 pattern=$3 rc
    shift 3
    set +e
    "$@" >"$WORK/out" 2>"$WORK/err"
    rc=$?
    set -e
    [ "$rc" = "$want" ] || fail "$what: exit status $rc, want $want ($(cat "$WORK/err"))"
    grep -q -- "$pattern" "$WORK/err" || fail "$what: message '$(cat "$WORK/err")' does not say '$pattern'"
    if grep -Eq "ERROR:|SQLSTATE|violates|invalid input syntax" "$WORK/err"; then
        fail "$what: a raw PostgreSQL error reached the operator: $(cat "$WORK/err")"
    fi
    echo "ok: $what refused"
}

# blank stock: a typo is not a new line, and nothing goes below zero
expect_refused "issue to an unknown line" 1 "not in the stock books" cl stock issue --line L9 10
expect_eq "no phantom line" "$(sql "SELECT count(*) FROM line WHERE id = 'L9'")" "0"
cl stock issue --line L1 30 --new-line >/dev/null
cl stock issue --line L1 5 >/dev/null
expect_refused "return more than on hand" 1 "has 35 blank(s) on hand" cl stock return --line L1 36
expect_refused "sample more than on hand" 1 "has 35 blank(s) on hand" cl stock sample --line L1 100
cl stock return --line L1 35 >/dev/null
expect_eq "on hand after returning everything" \
    "$(cl stock report --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["lines"][0]["on_hand"])')" "0"
expect_refused "return from an empty line" 1 "has 0 blank(s) on hand" cl stock return --line L1 1
# a configured line is in the books before it runs
printf '{ "lines": [ {"id": "C7", "printer": "sim", "encoder": "sim"} ] }' >"$WORK/lines.json"
cl config apply "$WORK/lines.json" >/dev/null
cl stock issue --line C7 3 >/dev/null
echo "ok: a configured line takes blanks without --new-line"

# errors in the operator's terms
expect_refused "outlet of an unknown kind" 2 "is not hrss" cl outlet add HR0777 --name x --kind shop --county y
expect_refused "outlet added twice" 1 "outlet HR0101 already exists" \
    cl outlet add HR0101 --name x --kind hrss --county y
expect_refused "a day that does not exist" 2 "'2026-02-30' is not a date" cl calendar deadline 2026-02-30
expect_refused "workdays with a bad day" 2 "'2026-13-01' is not a date" cl calendar workdays 2026-01-05 2026-13-01
expect_refused "unknown application status" 2 "is not one of pending" cl application list --status finished

# --help has no side effects: no cluster is created for a command's help, and it exits 0
fresh="$WORK/fresh-data-dir"
"$CARDLINE" -q --data-dir "$fresh" card report-lost --help >"$WORK/help.txt" ||
    fail "card report-lost --help failed"
grep -q "Usage: cardline card report-lost" "$WORK/help.txt" || fail "no usage: $(cat "$WORK/help.txt")"
[ ! -e "$fresh/cluster-id" ] && [ ! -e "$fresh/pg" ] || fail "--help created a database in $fresh"
echo "ok: --help starts no database"

# --version, and the schema version in db status
"$CARDLINE" --version | grep -Eq '^cardline [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version: $("$CARDLINE" --version)"
cl db status >"$WORK/status.txt"
grep -Eq "^schema: +[0-9]+ \(current\)" "$WORK/status.txt" || fail "db status: $(cat "$WORK/status.txt")"
echo "ok: version and schema shown"

# an ATR allow-list entry may mask the card's serial number out of the historical bytes; a mask of another
# length is refused with the entry named
cat >"$WORK/atr.json" <<'JSON'
{ "lines": [ {"id": "L1", "printer": "sim", "encoder": "sim"} ],
  "atr_allow": ["3B6D000080318065B0894001F28300009000/FFFFFFFFFFFFFFFFFFFFFFFFFFFF00009000"] }
JSON
cl config check "$WORK/atr.json" >/dev/null || fail "a masked ATR entry was refused"
sed -i 's|/FFFF|/FF|' "$WORK/atr.json"
expect_refused "a mask of another length" 1 "entry 0 must be an ATR" cl config check "$WORK/atr.json"

# the key file: missing, open to others, or not a key — said before any line starts, and again by run
keycfg() { printf '{ "lines": [ {"id": "L1", "printer": "sim", "encoder": "sim"} ], "key_service": "soft:%s" }\n' "$1" >"$WORK/keys.json"; }
keycfg "$WORK/no-such.key"
expect_refused "a missing key file" 1 "key_service: key file $WORK/no-such.key: No such file or directory" \
    cl config check "$WORK/keys.json"
printf '00112233445566778899AABBCCDDEEFF\n' >"$WORK/issuer.key"
chmod 644 "$WORK/issuer.key"
keycfg "$WORK/issuer.key"
expect_refused "a key file others can read" 1 "readable by group or others (mode 0644): chmod 600 it" \
    cl config check "$WORK/keys.json"
expect_refused "run with a key file others can read" 1 "cannot open the key service: key file .*chmod 600 it" \
    cl run --config "$WORK/keys.json" --until-empty
chmod 600 "$WORK/issuer.key"
cl config check "$WORK/keys.json" >/dev/null || fail "a good key file was refused: $(cl config check "$WORK/keys.json" 2>&1)"
printf 'not a key\n' >"$WORK/issuer.key"
expect_refused "a key file without a key" 1 "does not hold a key: 32 hexadecimal digits expected" \
    cl config check "$WORK/keys.json"
grep -q "4NOT\|not a key" "$WORK/err" && fail "the key file's content reached the message"
echo "ok: key file problems are named"

# a period's stock report starts from what the line had on hand then: a line that used blanks it was never
# issued shows its difference in a period too (it used to balance whatever the period held)
cl gen applications 3 --seed 21 >/dev/null
cl run --lines 1 --line-prefix Z --until-empty >/dev/null 2>&1 || fail "production on line Z1 failed"
unbalanced() { # WHAT ARGS...: the report exits 1 and prints the line's DIFFERENCE
    local what=$1 rc=0
    shift
    cl stock report "$@" >"$WORK/out" 2>&1 || rc=$?
    [ "$rc" = 1 ] || fail "$what: exit status $rc, want 1: $(cat "$WORK/out")"
    grep -q "DIFFERENCE on Z1" "$WORK/out" || fail "$what: no DIFFERENCE shown: $(cat "$WORK/out")"
    echo "ok: $what: difference shown"
}
unbalanced "whole life, blanks never issued" --line Z1
unbalanced "a period, blanks never issued" --line Z1 --from 2000-01-01T00:00Z --to 2100-01-01T00:00Z
cl stock issue --line Z1 10 >/dev/null
cl stock report --line Z1 --from 2000-01-01T00:00Z --to 2100-01-01T00:00Z >"$WORK/out" ||
    fail "a period with its issue does not balance: $(cat "$WORK/out")"
cl stock report --line Z1 --from 2100-01-01T00:00Z --to 2100-02-01T00:00Z >"$WORK/out" ||
    fail "a later period does not balance: $(cat "$WORK/out")"
grep -q "Z1 had 7 blank(s) on hand when the period began" "$WORK/out" || fail "opening balance: $(cat "$WORK/out")"
echo "ok: period stock reports carry the opening balance"
