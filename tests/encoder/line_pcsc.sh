#!/usr/bin/env bash
# line_pcsc.sh — a production line whose configuration names a PC/SC reader personalises through real pcscd + vpcd
# and the independent virtual card (tools/ssc-card) (key from a soft key file made for this run, ATR allow-list from the configuration); the
# last card reads back with `cardline chip read`. Runs inside pcsc-env.sh with the PostgreSQL fixture.
source "$(dirname "$0")/../integration/lib.sh"
require_postgres
: "${VCARD:?VCARD must point at the virtual card (tools/ssc-card/ssc_card.py)}"
new_db

reader="Virtual PCD 00 00"
umask 077
key="$WORK/issuer.key"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$key"
echo >>"$key"
# the bureau's region (a setting): the virtual card is made for it, and its ATR (T8 T9) and identifier carry it
region=$(sql "SELECT value FROM setting WHERE key = 'region_code'")
cat >"$WORK/cardline.json" <<JSON
{ "lines": [ {"id": "P1", "printer": "sim", "encoder": "pcsc:$reader"} ],
  "key_service": "soft:$key",
  "atr_allow": ["3B6D000000814A44468660${region:0:4}0000002A"] }
JSON

"$VCARD" --key-file "$key" --seed 21 --serial 0000002A --lifetime 240 --region "$region" &
vcard=$!
trap 'kill $vcard 2>/dev/null || true; wait $vcard 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    cl chip readers | grep -q "^$reader .*3B6D" && break
    sleep 0.1
done

cl gen applications 5 --seed 9 >/dev/null
cl run --config "$WORK/cardline.json" --until-empty
expect_eq "good cards" "$(sql "SELECT count(*) FROM card WHERE status = 'good'")" "5"
expect_eq "cards encoded through the reader" "$(sql "SELECT count(*) FROM card WHERE status = 'good' AND encoder = 'pcsc:$reader' AND chip_id LIKE '${region}%'")" "5"
last=$(sql "SELECT card_number FROM card WHERE status = 'good' ORDER BY finished_at DESC LIMIT 1")
cl chip read --reader "$reader" --key-service "soft:$key" --json >"$WORK/read.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["card_number"]==sys.argv[2], d' "$WORK/read.json" "$last"
echo "ok: the line personalised through PC/SC; the last card ($last) reads back"

# a card not on the allow-list is spoiled with the cause, never counted good
kill "$vcard"; wait "$vcard" 2>/dev/null || true
"$VCARD" --key-file "$key" --seed 22 --lifetime 240 --atr 3B6500002063CBA000 &
vcard=$!
for _ in $(seq 1 100); do
    cl chip readers | grep -q "^$reader .*3B65" && break
    sleep 0.1
done
cl gen applications 1 --seed 10 >/dev/null
cl run --config "$WORK/cardline.json" --until-empty || true
expect_eq "spoiled for the ATR" "$(sql "SELECT count(*) FROM card WHERE status = 'spoiled' AND spoil_reason LIKE '%not on the allow-list%'")" "3"
expect_eq "good cards unchanged" "$(sql "SELECT count(*) FROM card WHERE status = 'good'")" "5"
