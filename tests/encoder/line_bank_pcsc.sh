#!/usr/bin/env bash
# line_bank_pcsc.sh — the production line personalises both chip applications (social security and the bank's
# UnionPay) through real pcscd + vpcd on the independent two-application card tools/ssc-card/pboc_card.py, fed
# blank after blank (--blanks), from bank files made by tools/bank-dataprep with the soft key file the card's SCP02
# keys are diversified from and imported with `cardline bank import`; a blank of another key set is spoiled on its
# cryptogram and the application made on the next blank; blanks that all fail hold the application after
# max_attempts; an application without bank data is held and spends no card. Runs inside pcsc-env.sh with the
# PostgreSQL fixture; PBOC_CARD names pboc_card.py.
source "$(dirname "$0")/../integration/lib.sh"
require_postgres
: "${PBOC_CARD:?PBOC_CARD must point at the two-application virtual card (tools/ssc-card/pboc_card.py)}"
new_db
dataprep=$(dirname "$0")/../../tools/bank-dataprep

reader="Virtual PCD 00 00"
umask 077
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/issuer.key"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/other.key" # a key set that is not the bureau's
region=$(sql "SELECT value FROM setting WHERE key = 'region_code'")
# every blank of the stack has its own serial (ATR T10..T13): the allow-list masks it
cat >"$WORK/cardline.json" <<JSON
{ "lines": [ {"id": "B1", "printer": "emu:evolis", "encoder": "pcsc:$reader"} ],
  "key_service": "soft:$WORK/issuer.key", "bank_application": "required",
  "atr_allow": ["3B6D000000814A44468660${region:0:4}00000000/FFFFFFFFFFFFFFFFFFFFFFFFFF00000000"] }
JSON

vcard=
stop_card() {
    [ -n "$vcard" ] || return 0
    kill "$vcard" 2>/dev/null || true
    wait "$vcard" 2>/dev/null || true
    vcard=
}
trap stop_card EXIT
# start_card LOG [OPTION...]: a stack of blanks in the reader, its log (stderr) in LOG
start_card() {
    local log=$1
    shift
    stop_card
    for _ in $(seq 1 50); do cl chip readers | grep -q "^$reader .*3B6D" || break; sleep 0.1; done
    "$PBOC_CARD" --blanks --key-file "$WORK/issuer.key" --region "$region" --lifetime 120 "$@" 2>"$log" &
    vcard=$!
    for _ in $(seq 1 100); do
        cl chip readers | grep -q "^$reader .*3B6D" && return 0
        sleep 0.1
    done
    fail "the virtual card did not appear in $reader: $(cat "$log")"
}

# --- the bank's files for all applications but one ----------------------------------------------------------
cl gen applications 6 --seed 1617 >/dev/null
cl bank pending --csv >"$WORK/pending.csv"
missing=$(sed -n 2p "$WORK/pending.csv" | cut -d, -f1) # the bank has not sent this one
{ head -1 "$WORK/pending.csv"; tail -n +3 "$WORK/pending.csv"; } |
    python3 "$dataprep" --key-file "$WORK/issuer.key" --out "$WORK/bank" --stripe >/dev/null
out=$(cl bank import "$WORK/bank" 2>&1) || fail "bank import: $out"
expect_eq "bank files imported" "$(tail -1 <<<"$out")" "imported 5, refused 0"

# --- the line: blank 2 of the stack carries another bank key set --------------------------------------------
start_card "$WORK/card.log" --seed 21 --serial 00000100 --bank-kmc-file "$WORK/other.key" --bank-kmc-blanks 2
cl run --config "$WORK/cardline.json" --until-empty --no-faces >"$WORK/run.log" 2>&1 ||
    fail "run failed: $(tail -5 "$WORK/run.log")"
expect_eq "applications produced" "$(sql "SELECT count(*) FROM application WHERE status = 'produced'")" "5"
expect_eq "good cards, encoded through the reader" "$(sql "SELECT count(*) FROM card WHERE status = 'good' AND encoder = 'pcsc:$reader' AND chip_id LIKE '${region}%'")" "5"
expect_eq "a fresh blank (chip) per card" "$(sql "SELECT count(DISTINCT chip_id) FROM card WHERE status = 'good'")" "5"
expect_eq "held without bank data" "$(sql "SELECT status || ': ' || held_reason FROM application WHERE upstream_id = '$missing'")" \
    "held: bank data missing: import the bank's file for this application (cardline bank import)"
expect_eq "no card spent on it" "$(sql "SELECT count(*) FROM card c JOIN application a ON a.id = c.application_id WHERE a.upstream_id = '$missing'")" "0"
# -1320 with the encoder's cause (the line's words, then the encoder's)
expect_eq "the foreign blank spoiled on its cryptogram" "$(sql "SELECT count(*) FROM card WHERE status = 'spoiled' AND spoil_reason LIKE 'bank application: the card''s cryptogram is wrong: the card''s SCP02 cryptogram does not match the key service''s keys%'")" "1"
expect_eq "no card spoiled otherwise" "$(sql "SELECT count(*) FROM card WHERE status <> 'good'")" "1"
expect_eq "its application made on the next blank" "$(sql "SELECT a.status FROM card c JOIN application a ON a.id = c.application_id WHERE c.status = 'spoiled'")" "produced"

# per application: what the card records is what the bank's file says (masked account, bank), and the stripe
for f in "$WORK"/bank/*.bank; do
    id=$(sed -n 's/^APPLICATION=//p' "$f")
    pan=$(sed -n 's/^PAN=//p' "$f")
    bank=$(sed -n 's/^BANK=//p' "$f")
    stars=$(printf '%*s' $((${#pan} - 10)) '' | tr ' ' '*')
    masked="${pan:0:6}${stars}${pan: -4}"
    expect_eq "card of $id: account, bank, stripe tracks" "$(sql "SELECT c.bank_account_masked || ' ' || c.bank_name_written || ' ' || c.stripe_tracks FROM card c JOIN application a ON a.id = c.application_id WHERE a.upstream_id = '$id' AND c.status = 'good'")" \
        "$masked $bank 2"
    expect_eq "bank_personalised event of $id" "$(sql "SELECT e.detail FROM event e JOIN application a ON a.id = e.application_id WHERE a.upstream_id = '$id' AND e.kind = 'bank_personalised'")" \
        "bank application: account $masked, $bank"
    echo "$masked" >>"$WORK/masked"
done

# the card's side: an SCP02 channel and a complete STORE DATA on each good blank, none on the foreign one
expect_eq "SCP02 channels the card opened" "$(grep -c '^pboc-card: blank [0-9]*: SCP02 channel open' "$WORK/card.log")" "5"
grep -q '^pboc-card: blank 2: SCP02' "$WORK/card.log" && fail "the foreign blank opened a channel: $(cat "$WORK/card.log")"
sed -n 's/^pboc-card: blank [0-9]*: personalised by STORE DATA blocks 00-[0-9A-F]*, DGIs 0101,0102,8000,8010,9000,9010,9102,9104, account //p' \
    "$WORK/card.log" | sort >"$WORK/card-accounts"
expect_eq "accounts the card was personalised with" "$(cat "$WORK/card-accounts")" "$(sort "$WORK/masked")"
if grep -F -f <(sed -n 's/^PAN=//p' "$WORK"/bank/*.bank) "$WORK/run.log" "$WORK/card.log" >/dev/null; then
    fail "an account number in clear in the line's or the card's output"
fi
echo "ok: no account number in clear in the line's and the card's output"

# --- every blank of another key set: the application is held after max_attempts -----------------------------
sql "UPDATE setting SET value = '2' WHERE key = 'max_attempts'"
cl gen applications 1 --seed 1618 >/dev/null
late=$(cl bank pending --csv | tail -n +2 | cut -d, -f1 | grep -vx "$missing")
[ -n "$late" ] || fail "no new pending application"
{ head -1 "$WORK/pending.csv"; cl bank pending --csv | grep "^$late,"; } |
    python3 "$dataprep" --key-file "$WORK/issuer.key" --out "$WORK/bank2" >/dev/null
cl bank import "$WORK/bank2" >/dev/null 2>&1 || fail "bank import of $late"
start_card "$WORK/card2.log" --seed 31 --serial 00000200 --bank-kmc-file "$WORK/other.key"
cl run --config "$WORK/cardline.json" --until-empty --no-faces >"$WORK/run2.log" 2>&1 || true
expect_eq "spoiled on the cryptogram" "$(sql "SELECT count(*) FROM card c JOIN application a ON a.id = c.application_id WHERE a.upstream_id = '$late' AND c.status = 'spoiled' AND c.spoil_reason LIKE 'bank application: the card''s cryptogram is wrong: %'")" "2"
expect_eq "the second attempt on a new blank" "$(grep -c '^pboc-card: blank [0-9]* fed' "$WORK/card2.log" || true)" "1"
want="production failed 2 times; last: bank application: the card's cryptogram is wrong: "
expect_eq "held after max_attempts" "$(sql "SELECT status || ': ' || left(held_reason, ${#want}) FROM application WHERE upstream_id = '$late'")" \
    "held: $want"
expect_eq "no channel opened on them" "$(grep -c 'SCP02 channel open' "$WORK/card2.log" || true)" "0"
expect_eq "still held without bank data" "$(sql "SELECT status FROM application WHERE upstream_id = '$missing'")" "held"
