#!/usr/bin/env bash
# chip_cli.sh — `cardline chip personalize` at a counter through real pcscd + vpcd and the independent virtual card
# (tools/ssc-card), then `cardline chip read` shows exactly the application's data (masked by default), and
# `cardline chip unlock-pin` unblocks a locked PIN after checking the holder's document. Runs inside pcsc-env.sh, with the
# integration tests' PostgreSQL fixture.
source "$(dirname "$0")/../integration/lib.sh"
require_postgres
: "${VCARD:?VCARD must point at the virtual card (tools/ssc-card/ssc_card.py)}"
new_db

reader="Virtual PCD 00 00"
# the bureau's region (a setting): the virtual card is made for it, and its ATR (T8 T9) and identifier carry it
region=$(sql "SELECT value FROM setting WHERE key = 'region_code'")
# the independent card's ATR: 13 historical bytes, the last four the card serial
atr_prefix="3B6D000000814A44468660${region:0:4}"
atr_allow="${atr_prefix}00000000/FFFFFFFFFFFFFFFFFFFFFFFFFF00000000"
umask 077
key="$WORK/issuer.key"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$key"   # a test key made for this run only
echo >>"$key"

# accepted on fixed days inside the official calendars, so that nothing here depends on the day the test runs
cl gen applications 4 --seed 5 --defects 1 --accepted-from 2025-12-01 --accepted-to 2025-12-05 >/dev/null
cl run --lines 1 --until-empty >/dev/null
# and one more, generated after the run: an application the line has not reached, so it has no card
cl gen applications 1 --seed 6 --accepted-from 2025-12-08 --accepted-to 2025-12-08 >/dev/null
noapp=$(sql "SELECT max(id) FROM application")
expect_eq "cards of the application not yet produced" "$(sql "SELECT count(*) FROM card WHERE application_id = $noapp")" "0"
app=$(sql "SELECT application_id FROM card WHERE status = 'good' ORDER BY card_number LIMIT 1")
card=$(sql "SELECT card_number FROM card WHERE application_id = $app AND status = 'good'")
[ -n "$card" ] || fail "no good card to work on"

"$VCARD" --key-file "$key" --seed 11 --lifetime 120 --region "$region" &
vcard=$!
trap 'kill $vcard 2>/dev/null || true; wait $vcard 2>/dev/null || true' EXIT
# the reader shows the card once pcscd has polled it (bounded)
for _ in $(seq 1 100); do
    cl chip readers | grep -q "^$reader .*3B6D" && break
    sleep 0.1
done
cl chip readers | grep -q "^$reader .*$atr_prefix" || fail "card not in $reader"
echo "ok: chip readers lists the card"

# a personalisation without a key service is refused as bad usage
set +e
cl chip personalize --reader "$reader" --application "$app" >/dev/null 2>"$WORK/err"
rc=$?
set -e
expect_eq "no key service: exit status" "$rc" "2"

# a card type outside the allow-list is refused before anything is written
set +e
cl chip personalize --reader "$reader" --application "$app" --key-service "soft:$key" \
    --atr-allow "3B6500002063CBA000" 2>"$WORK/err"
rc=$?
set -e
expect_eq "wrong ATR: exit status" "$rc" "1"
grep -q "not on the allow-list" "$WORK/err" || fail "wrong ATR cause: $(cat "$WORK/err")"

cl chip personalize --reader "$reader" --application "$app" --key-service "soft:$key" \
    --atr-allow "$atr_allow" >"$WORK/out"
grep -q "card $card personalised and read back" "$WORK/out" || fail "personalize: $(cat "$WORK/out")"
expect_eq "events" "$(sql "SELECT count(*) FROM event WHERE kind = 'chip_personalized' AND card_number = '$card'")" "1"
expect_eq "chip id recorded" "$(sql "SELECT count(*) FROM card WHERE card_number = '$card' AND atr LIKE '${atr_prefix}%' AND chip_id LIKE '${region}D156000005%'")" "1"

# read back unmasked: byte-for-byte the application's data
cl chip read --reader "$reader" --key-service "soft:$key" --json --unmasked >"$WORK/read.json"
python3 - "$WORK/read.json" "$(sql "SELECT json_build_object('ssn', ssn, 'name', name, 'sex', sex, 'ethnicity', lpad(ethnicity::text, 2, '0'), 'birth_place', birth_place, 'birth_date', birth_date::text) FROM application WHERE id = $app")" "$card" "$region" <<'PY'
import json, sys
got = json.load(open(sys.argv[1]))
want = json.loads(sys.argv[2])
card, region = sys.argv[3], sys.argv[4]
assert got["card_number"] == card, (got["card_number"], card)
for k in ("ssn", "name", "sex", "ethnicity", "birth_place", "birth_date"):
    assert got[k] == want[k], (k, got[k], want[k])
assert got["masked"] is False
assert got["card_id"].startswith(region) and got["card_type"] == "3" and got["spec_version"] == "3.00"
print("ok: chip read --unmasked matches the application")
PY

# masked by default: the number and name do not appear
cl chip read --reader "$reader" --key-service "soft:$key" >"$WORK/read.txt"
ssn=$(sql "SELECT ssn FROM application WHERE id = $app")
name=$(sql "SELECT name FROM application WHERE id = $app")
grep -q "card number   $card" "$WORK/read.txt" || fail "card number missing: $(cat "$WORK/read.txt")"
if grep -q -- "$ssn" "$WORK/read.txt" || grep -q -- "$name" "$WORK/read.txt"; then
    fail "chip read printed personal data unmasked"
fi
grep -q "SSN           ${ssn:0:4}\*\*\*\*\*\*\*\*\*\*${ssn:14:4}" "$WORK/read.txt" || fail "SSN not masked as expected"
echo "ok: chip read masks the holder by default"

# a 3.00 card shows the holder's data only under the read key RKSSSE: without a key service the read stops
set +e
cl chip read --reader "$reader" >"$WORK/read.txt" 2>"$WORK/err"
rc=$?
set -e
expect_eq "chip read without a key service: exit status" "$rc" "1"
grep -q "RKSSSE" "$WORK/err" || fail "chip read without keys: $(cat "$WORK/err")"

# unlock-pin at a window: another holder's document is refused before the card is changed; the holder's own
# unblocks (PUK + 84 24 00 00), and --new-pin-stdin replaces the PIN (84 24 00 01), which then verifies
other="11010519491231002X"
set +e
cl chip unlock-pin --reader "$reader" --document "$other" --key-service "soft:$key" --atr-allow "$atr_allow" \
    2>"$WORK/err"
rc=$?
set -e
expect_eq "unlock-pin, another holder: exit status" "$rc" "1"
grep -q "not the holder's" "$WORK/err" || fail "unlock-pin cause: $(cat "$WORK/err")"
cl chip unlock-pin --reader "$reader" --document "$ssn" --key-service "soft:$key" --atr-allow "$atr_allow" \
    >"$WORK/out"
grep -q "PIN unblocked" "$WORK/out" || fail "unlock-pin: $(cat "$WORK/out")"
grep -q -- "$ssn" "$WORK/out" && fail "unlock-pin printed the document number unmasked"
echo 2468 | cl chip unlock-pin --reader "$reader" --document "$ssn" --key-service "soft:$key" --new-pin-stdin \
    >"$WORK/out"
grep -q "PIN reset to the new PIN" "$WORK/out" || fail "unlock-pin --new-pin-stdin: $(cat "$WORK/out")"
echo "ok: chip unlock-pin checks the document, unblocks and resets the PIN"

# the counter allocates nothing: an application without a card is refused, and still has none afterwards
set +e
cl chip personalize --reader "$reader" --application "$noapp" --key-service "soft:$key" 2>"$WORK/err"
rc=$?
set -e
expect_eq "no card number: exit status" "$rc" "1"
grep -q "allocates nothing" "$WORK/err" || fail "cause: $(cat "$WORK/err")"
expect_eq "cards of the refused application" "$(sql "SELECT count(*) FROM card WHERE application_id = $noapp")" "0"
echo "chip CLI ok"
