#!/usr/bin/env bash
# bank.sh — the bank's data for each card (issue 16), end to end on one database: files made by the bank's data
# preparation (tools/bank-dataprep) imported and matched to their applications, bad files refused with the file,
# line and field named and never the account number; a line run of a few hundred cards whose chips get the bank
# application over SCP02 (simulated cards, some with other keys: spoiled and retried) and, on an emulated Evolis,
# the magnetic stripe; an application without bank data (and one whose stored data no longer parses) held, then
# released by importing its file and produced.
source "$(dirname "$0")/lib.sh"
require_postgres
new_db
n=${CARDLINE_BANK_APPS:-200}
dataprep=$(dirname "$0")/../../tools/bank-dataprep
checks=0
ok() {
    echo "ok: $*"
    checks=$((checks + 1))
}
# refused NAME FILE PATTERN: importing FILE fails, names it and matches PATTERN
refused() {
    local name=$1 file=$2 pattern=$3 out
    if out=$(cl bank import "$file" 2>&1); then
        fail "$name: the import accepted it: $out"
    fi
    grep -q -- "$(basename "$file")" <<<"$out" || fail "$name: the refusal does not name the file: $out"
    grep -q -- "$pattern" <<<"$out" || fail "$name: the refusal does not say '$pattern': $out"
    grep -q "imported 0, refused 1" <<<"$out" || fail "$name: no summary line: $out"
    ok "$name refused: $(sed -n 1p <<<"$out")"
}

# the issuer's root key: the soft key service's and the bank's data preparation's
printf '%s\n' 404142434445464748494A4B4C4D4E4F >"$WORK/issuer.key"
chmod 600 "$WORK/issuer.key"
cl gen applications "$n" --seed 1616 >/dev/null
sql "UPDATE setting SET value = '20' WHERE key = 'max_attempts'"

# --- the list the bank works from, and its files ---------------------------------------------------------------
cl bank pending --csv >"$WORK/pending.csv"
expect_eq "bank pending: header" "$(head -1 "$WORK/pending.csv")" "upstream_id,bank,name"
expect_eq "bank pending: every application" "$(($(wc -l <"$WORK/pending.csv") - 1))" "$n"
checks=$((checks + 2))
missing=$(sed -n 2p "$WORK/pending.csv" | cut -d, -f1)  # the bank has not sent this one yet
unusable=$(sed -n 3p "$WORK/pending.csv" | cut -d, -f1) # its stored file is damaged before the run
{ head -1 "$WORK/pending.csv"; tail -n +3 "$WORK/pending.csv"; } |
    python3 "$dataprep" --key-file "$WORK/issuer.key" --out "$WORK/bank" --stripe >/dev/null
{ head -1 "$WORK/pending.csv"; sed -n 2p "$WORK/pending.csv"; } |
    python3 "$dataprep" --key-file "$WORK/issuer.key" --out "$WORK/late" --stripe >/dev/null
{ head -1 "$WORK/pending.csv"; sed -n 4p "$WORK/pending.csv"; } |
    python3 "$dataprep" --key-file "$WORK/issuer.key" --out "$WORK/bad" --corrupt "$(sed -n 4p "$WORK/pending.csv" | cut -d, -f1)" >/dev/null
# the account numbers in clear, to prove no message ever shows one
sed -n 's/^PAN=//p' "$WORK"/bank/*.bank "$WORK"/late/*.bank >"$WORK/pans"

out=$(cl bank import "$WORK/bank" 2>&1) || fail "import of the bank's directory failed: $(tail -3 <<<"$out")"
expect_eq "import summary" "$(tail -1 <<<"$out")" "imported $((n - 1)), refused 0"
expect_eq "bank data rows" "$(sql "SELECT count(*) FROM bank_data")" "$((n - 1))"
expect_eq "stored as received" "$(sql "SELECT count(*) FROM bank_data WHERE sha256 <> encode(sha256(convert_to(content, 'UTF8')), 'hex')")" "0"
expect_eq "import events" "$(sql "SELECT count(*) FROM event WHERE kind = 'bank_data_imported'")" "$((n - 1))"
checks=$((checks + 4))
expect_eq "bank pending after the import" "$(cl bank pending --csv | tail -n +2 | cut -d, -f1)" "$missing"
checks=$((checks + 1))

# --- files refused --------------------------------------------------------------------------------------------
files=("$WORK"/bank/*.bank)
good=${files[0]}
printf 'hello\n' >"$WORK/malformed.bank"
refused "a file that is no bank data" "$WORK/malformed.bank" "line 1"
refused "a corrupted file" "$WORK/bad/$(ls "$WORK/bad")" "line [0-9]* (DGI0102)"
sed 's/^APPLICATION=.*/APPLICATION=NO-SUCH-APP/' "$good" >"$WORK/unknown.bank"
refused "a file for an unknown application" "$WORK/unknown.bank" "APPLICATION: no application NO-SUCH-APP"
sed 's/^BANK=.*/BANK=中国人民银行/' "$good" >"$WORK/otherbank.bank"
refused "a file from another bank" "$WORK/otherbank.bank" "BANK: the file is from '中国人民银行'"
# a new file for the same application replaces the old one, recorded with both digests
out=$(cl bank import "$good" 2>&1) || fail "re-import failed: $out"
expect_eq "re-import replaces" "$(sql "SELECT replaced FROM bank_data b JOIN application a ON a.id = b.application_id WHERE a.upstream_id = '$(basename "$good" .bank)'")" "1"
expect_eq "re-import recorded" "$(sql "SELECT count(*) FROM event WHERE kind = 'bank_data_replaced' AND detail ~ 'replaces sha256 [0-9a-f]{64}'")" "1"
checks=$((checks + 2))
# the setting takes required or off, nothing else
printf '{ "lines": [ {"id": "L1", "printer": "sim", "encoder": "sim"} ], "bank_application": "maybe" }\n' >"$WORK/bad.json"
if cl config check "$WORK/bad.json" >"$WORK/out" 2>&1; then fail "config check accepted bank_application maybe"; fi
grep -q "bank_application: 'maybe' is not required or off" "$WORK/out" || fail "config check: $(cat "$WORK/out")"
ok "bank_application takes required or off"

# --- the line: a few hundred cards with the bank's application and, on the Evolis, the stripe ------------------
# the stored file of one application is damaged (a disk, a hand): the line holds it rather than spend a card
sql "UPDATE bank_data SET content = replace(content, 'DGI9104=', 'DGI9104=ZZ') FROM application a
     WHERE a.id = bank_data.application_id AND a.upstream_id = '$unusable'"
# an application that names no bank (an upstream error): no bank can send its file
nobank=$(sed -n 5p "$WORK/pending.csv" | cut -d, -f1)
sql "DELETE FROM bank_data USING application a WHERE a.id = bank_data.application_id AND a.upstream_id = '$nobank';
     UPDATE application SET bank_name = NULL WHERE upstream_id = '$nobank'"
cat >"$WORK/cardline.json" <<EOF
{ "lines": [ {"id": "L1", "printer": "sim", "encoder": "sim"}, {"id": "L2", "printer": "emu:evolis", "encoder": "sim"} ],
  "key_service": "soft:$WORK/issuer.key", "bank_application": "required" }
EOF
# with every log line (-v), to prove none shows an account number
"$CARDLINE" -v --data-dir "$WORK" --db "$DB" run --config "$WORK/cardline.json" --until-empty --no-faces \
    --scp02-faults 60 --seed 3 >"$WORK/run.log" 2>&1 ||
    fail "run failed: $(tail -5 "$WORK/run.log")"
expect_eq "setting from the configuration" "$(sql "SELECT value FROM setting WHERE key = 'bank_application'")" "required"
expect_eq "produced" "$(sql "SELECT count(*) FROM application WHERE status = 'produced'")" "$((n - 3))"
expect_eq "held for missing bank data" "$(sql "SELECT held_reason FROM application WHERE upstream_id = '$missing'")" \
    "bank data missing: import the bank's file for this application (cardline bank import)"
reason=$(sql "SELECT held_reason FROM application WHERE upstream_id = '$unusable'")
grep -q "^bank data unusable: line [0-9]* (DGI9104): .*cardline bank import" <<<"$reason" ||
    fail "the damaged file's hold: $reason"
ok "held for unusable bank data: $reason"
expect_eq "held for want of a bank" "$(sql "SELECT held_reason FROM application WHERE upstream_id = '$nobank'")" \
    "bank data missing: the application names no cooperating bank; the upstream platform must correct it"
checks=$((checks + 1))
expect_eq "no card spent on a held application" "$(sql "SELECT count(*) FROM card c JOIN application a ON a.id = c.application_id WHERE a.upstream_id IN ('$missing', '$unusable', '$nobank')")" "0"
checks=$((checks + 4))
scp02=$(sql "SELECT count(*) FROM card WHERE status = 'spoiled' AND spoil_reason LIKE 'bank application: the card''s cryptogram is wrong%'")
[ "$scp02" -gt 0 ] || fail "no card spoiled by a failed SCP02 cryptogram at 6%"
expect_eq "each of them marked for destruction by hand (the holder's data is on it)" "$(sql "SELECT count(*) FROM card WHERE status = 'spoiled' AND spoil_reason LIKE 'bank application:%; NOT blocked: the holder''s data is on it, destroy it by hand'")" "$scp02"
checks=$((checks + 1))
expect_eq "their applications produced on a new card" "$(sql "SELECT count(*) FROM card c JOIN application a ON a.id = c.application_id WHERE c.status = 'spoiled' AND a.status <> 'produced'")" "0"
ok "$scp02 card(s) failed the SCP02 cryptogram, spoiled and replaced"
expect_eq "good cards carry the bank's masked account" "$(sql "SELECT count(*) FROM card c JOIN bank_data b USING (application_id) WHERE c.status = 'good' AND c.bank_account_masked = b.pan_masked AND c.bank_name_written = b.bank_name")" "$((n - 3))"
expect_eq "bank application events" "$(sql "SELECT count(*) FROM event WHERE kind = 'bank_personalised' AND application_id IS NOT NULL")" "$((n - 3))"
l2=$(sql "SELECT count(*) FROM card WHERE status = 'good' AND line_id = 'L2'")
[ "$l2" -gt 0 ] || fail "the Evolis line made no card"
expect_eq "stripes written on the Evolis" "$(sql "SELECT count(*) FROM card WHERE status = 'good' AND line_id = 'L2' AND stripe_tracks = 2")" "$l2"
expect_eq "stripes verified (events)" "$(sql "SELECT count(*) FROM event e JOIN card c USING (card_number) WHERE e.kind = 'stripe_written' AND c.status = 'good'")" "$l2"
expect_eq "no stripe claimed by the simulated printer" "$(sql "SELECT count(*) FROM card WHERE line_id = 'L1' AND stripe_tracks <> 0")" "0"
checks=$((checks + 6))
if grep -F -f "$WORK/pans" "$WORK/run.log" "$WORK/out" >/dev/null; then fail "an account number in clear in the output"; fi
sql "SELECT coalesce(detail, '') FROM event" >"$WORK/events"
if grep -F -f "$WORK/pans" "$WORK/events" >/dev/null; then fail "an account number in clear in the audit trail"; fi
ok "no account number in clear in the logs and the audit trail"

# the bank's data needs the issuer's key service: a run with a key made for the run is refused, not left to spoil
if cl run --until-empty >"$WORK/nokeys.log" 2>&1; then fail "a run without a key service started with bank_application required"; fi
grep -q "the bank application is required (setting bank_application) but no key service is configured" "$WORK/nokeys.log" ||
    fail "run without a key service: $(tail -2 "$WORK/nokeys.log")"
ok "no run without the issuer's key service while the bank application is required"

# --- the bank's late file releases the held applications; they are produced ----------------------------------
out=$(cl -v bank import "$WORK/late" "$WORK/bank/$unusable.bank" 2>&1) || fail "late import failed: $out"
grep -q "application $missing, account [0-9]\{6\}\*\+[0-9]\{4\}; released to the queue" <<<"$out" || fail "late import: $out"
expect_eq "released" "$(sql "SELECT string_agg(status, ',') FROM application WHERE upstream_id IN ('$missing', '$unusable')")" "pending,pending"
checks=$((checks + 1))
cl run --config "$WORK/cardline.json" --until-empty --no-faces >"$WORK/run2.log" 2>&1 || fail "second run failed: $(tail -3 "$WORK/run2.log")"
expect_eq "produced at last" "$(sql "SELECT count(*) FROM application WHERE status = 'produced'")" "$((n - 1))"
ok "the late file released and produced its application"
# a produced application's data can no longer change
refused "a file for a produced application" "$WORK/late/$missing.bank" "is produced"

# --- the masked account where cards are shipped and collected ---------------------------------------------------
ship=$(sql "SELECT i.shipment_id FROM shipment_item i JOIN card c USING (card_number) WHERE c.status = 'good' LIMIT 1")
cl dispatch show "$ship" --json >"$WORK/ship.json"
python3 - "$WORK/ship.json" <<'PY' || fail "dispatch show --json lacks the masked bank account"
import json, re, sys
s = json.load(open(sys.argv[1]))
items = s["items"]
assert items and all(re.fullmatch(r"\d{6}\*+\d{4}", i["bank_account"]) and i["bank"] for i in items), items[:2]
PY
ok "dispatch show --json: each card's bank and masked account"
cl dispatch show "$ship" >"$WORK/show.txt"
tail -n +2 "$WORK/show.txt" | grep -c '  [0-9]\{6\}\*\+[0-9]\{4\} ' >"$WORK/n" || true
expect_eq "dispatch show: the masked account on every card" "$(cat "$WORK/n")" "$(sql "SELECT count(*) FROM shipment_item WHERE shipment_id = '$ship'")"
checks=$((checks + 1))
# collection: the social security function is activated at the window, the bank's by the bank
cl dispatch seal "$ship" >/dev/null
cl dispatch send "$ship" >/dev/null
outlet=$(sql "SELECT outlet_code FROM shipment WHERE id = '$ship'")
printf '00%s\n' "$ship" | cl dispatch receive --outlet "$outlet" >/dev/null
read -r card doc < <(sql "SELECT c.card_number || ' ' || a.doc_number FROM card c JOIN application a ON a.id = c.application_id
    JOIN shipment_item i USING (card_number) WHERE i.shipment_id = '$ship' ORDER BY 1 LIMIT 1")
out=$(cl dispatch collect "$card" --holder-doc "$doc" 2>&1) || fail "collect failed: $out"
want=$(sql "SELECT bank_account_masked || ' (' || bank_name_written || ')' FROM card WHERE card_number = '$card'")
grep -qF "bank account $want: its financial function is activated by the bank" <<<"$out" || fail "collect: $out"
ok "collection shows the masked account; the bank activates its own function"
echo "bank: $checks checks passed"
