#!/usr/bin/env bash
# dispatch.sh — a shipment's whole way: pack (sealing by size), seal at the cut-off, label (decoded as a scanner
# reads it), manifest, send, receive by scan, collect by holder and agent, activation, return after 12 months, loss
# in transit with the cards produced again; and the database refusing every move off the chain of custody
source "$(dirname "$0")/../integration/lib.sh"
require_postgres
new_db
: "${PACK:?PACK must point at the pack test driver}"

cl gen applications 40 --seed 11 >/dev/null
cl run --lines 2 --until-empty
produced=$(sql "SELECT count(*) FROM card WHERE status = 'good'")
[ "$produced" -gt 20 ] || fail "only $produced good cards"
expect_eq "every good card's packing recorded" \
    "$(sql "SELECT count(*) FROM card c WHERE status = 'good' AND NOT EXISTS (SELECT 1 FROM event e WHERE e.card_number = c.card_number AND e.kind = 'packed')")" "0"

# --- producer_dispatch_pack: cards join the outlet's open shipment, which is sealed when it reaches the size ---
# an outlet whose open shipment production has started filling (the first card must join it, not open another)
outlet=$(sql "SELECT outlet_code FROM shipment s WHERE status = 'open' AND EXISTS (SELECT 1 FROM shipment_item i WHERE i.shipment_id = s.id) ORDER BY outlet_code LIMIT 1")
[ -n "$outlet" ] || fail "production left no outlet with an open shipment"
# the open shipment fills up with the second test card
in_open=$(sql "SELECT count(*) FROM shipment s JOIN shipment_item i ON i.shipment_id = s.id WHERE s.outlet_code = '$outlet' AND s.status = 'open'")
sql "UPDATE setting SET value = '$((in_open + 2))' WHERE key = 'shipment_max_cards'"
app=$(sql "SELECT min(id) FROM application")
args=()
for i in 1 2 3 4; do
    sql "INSERT INTO card (card_number, application_id, person_key, status) VALUES ('Z0000000$i', $app, 'pack-test-$i', 'good')"
    sql "UPDATE application SET outlet_code = '$outlet' WHERE id = $app" >/dev/null
    args+=("Z0000000$i" "$outlet")
done
old_open=$(sql "SELECT id FROM shipment WHERE outlet_code = '$outlet' AND status = 'open'")
[ -n "$old_open" ] || fail "$outlet has no open shipment"
"$PACK" "$DB" "${args[@]}" >"$WORK/pack.out" || fail "pack: $(cat "$WORK/pack.out")"
cat "$WORK/pack.out"
expect_eq "cards packed" "$(wc -l <"$WORK/pack.out")" "4"
first=$(awk 'NR == 1 {print $2}' "$WORK/pack.out")
expect_eq "second card in the same shipment" "$(awk 'NR == 2 {print $2}' "$WORK/pack.out")" "$first"
expect_eq "first card joined the open shipment" "$first" "$old_open"
expect_eq "full shipment sealed by size" "$(sql "SELECT status || '/' || seal_reason FROM shipment WHERE id = '$first'")" "sealed/full"
last=$(awk 'NR == 4 {print $2}' "$WORK/pack.out")
[ "$last" != "$first" ] || fail "the card after the full shipment went into it"
expect_eq "next card opened a new shipment" "$(sql "SELECT status FROM shipment WHERE id = '$last'")" "open"
if "$PACK" "$DB" Z00000001 "$outlet" 2>/dev/null; then fail "a card was packed twice"; fi
echo "ok: a card cannot be packed twice"
sql "INSERT INTO card (card_number, application_id, person_key, status) VALUES ('Z00000009', $app, 'pack-test-9', 'allocated')"
if "$PACK" "$DB" Z00000009 "$outlet" 2>/dev/null; then fail "a card that is not good was packed"; fi
echo "ok: only good cards are packed"

# --- seal at the delivery run's cut-off ---
# The bureau's next working day (today on the business clock, or the first after it) inside the official calendars
# cardline ships. That day $outlet has a delivery run and no other outlet has one, whatever the date: the cut-off
# seals exactly $outlet's open shipment and leaves the others open for the blocks below.
today=$(sql "SELECT bureau_date(clock_now())")
day=$(sql "SELECT d::date FROM generate_series(date '$today', date '$today' + 40, interval '1 day') d
           WHERE CASE WHEN extract(year FROM d)::integer IN (SELECT year FROM calendar_year) THEN working_day(d::date) END
           ORDER BY d LIMIT 1")
[ -n "$day" ] || fail "no working day in the official calendars from $today on"
sql "UPDATE outlet SET delivery_weekdays = CASE WHEN code = '$outlet' THEN '{1,2,3,4,5,6,7}'::smallint[]
     ELSE array(SELECT w FROM generate_series(1, 7) w WHERE w <> extract(isodow FROM date '$day'))::smallint[] END"
expect_eq "delivery runs on $day" "$(sql "SELECT string_agg(code, ',') FROM outlet WHERE shipment_cutoff(code, '$day') IS NOT NULL")" "$outlet"
open_before=$(sql "SELECT count(*) FROM shipment WHERE status = 'open'")
out=$(cl dispatch seal-due --at "$day 06:59+08")
expect_eq "nothing sealed before the cut-off" "$out" "sealed 0 shipment(s) at their delivery cut-off"
out=$(cl dispatch seal-due --at "$day 07:05+08")
expect_eq "sealed after the cut-off" "$out" "sealed 1 shipment(s) at their delivery cut-off"
expect_eq "the open shipment of $outlet sealed at the cut-off" "$(sql "SELECT status || '/' || seal_reason || '/' || to_char(sealed_at AT TIME ZONE (SELECT value FROM setting WHERE key = 'bureau_timezone'), 'YYYY-MM-DD HH24:MI') FROM shipment WHERE id = '$last'")" "sealed/cut-off/$day 07:05"
expect_eq "the other outlets' shipments still open" "$(sql "SELECT count(*) FROM shipment WHERE status = 'open'")" "$((open_before - 1))"
sql "UPDATE setting SET value = '200' WHERE key = 'shipment_max_cards'"

# --- label and manifest ---
# three cards: one collected by its holder, one by an agent, one left uncollected and returned
ship=$(sql "SELECT s.id FROM shipment s WHERE s.status = 'open' AND (SELECT count(*) FROM shipment_item i JOIN card c USING (card_number) WHERE i.shipment_id = s.id AND c.application_id <> $app) >= 3 ORDER BY s.id LIMIT 1")
[ -n "$ship" ] || fail "no open shipment with three cards"
ship_outlet=$(sql "SELECT outlet_code FROM shipment WHERE id = '$ship'")
if cl dispatch send "$ship" 2>"$WORK/err"; then fail "an open shipment was dispatched"; fi
grep -q "only a sealed shipment" "$WORK/err" || fail "unexpected: $(cat "$WORK/err")"
cl dispatch seal "$ship"
if cl dispatch seal "$ship" 2>/dev/null; then fail "sealed twice"; fi
cl dispatch label "$ship" "$WORK/label.png"
cl dispatch label "$ship" "$WORK/label.pdf"
cl dispatch manifest "$ship" "$WORK/manifest.pdf"
cl dispatch manifest "$ship" "$WORK/manifest.csv"
head -c 4 "$WORK/label.pdf" | grep -q "%PDF" || fail "label.pdf is not a PDF"
head -c 4 "$WORK/manifest.pdf" | grep -q "%PDF" || fail "manifest.pdf is not a PDF"
if need_tool zbarimg zbar-tools; then
    zbarimg -q "$WORK/label.png" 2>/dev/null | sort >"$WORK/scanned"
    expect_eq "GS1-128 on the label" "$(grep CODE-128 "$WORK/scanned")" "CODE-128:00$ship"
    expect_eq "QR on the label" "$(grep QR-Code "$WORK/scanned")" "QR-Code:$ship"
fi
cards=$(sql "SELECT count(*) FROM shipment_item WHERE shipment_id = '$ship'")
expect_eq "manifest CSV rows" "$(($(wc -l <"$WORK/manifest.csv") - 1))" "$cards"
if need_tool pdftotext poppler-utils; then
    pdftotext "$WORK/manifest.pdf" "$WORK/manifest.txt"
    for c in $(sql "SELECT card_number FROM shipment_item WHERE shipment_id = '$ship'"); do
        grep -q "$c" "$WORK/manifest.txt" || fail "card $c missing from the manifest PDF"
    done
    grep -q "Received at the outlet by" "$WORK/manifest.txt" || fail "no signature lines on the manifest"
    echo "ok: manifest PDF lists all $cards cards with signature lines"
    # the papers in the reader's language: Chinese when the environment names none, English on request (LANGUAGE=en,
    # as everywhere in these tests); dates as each writes them
    (unset LANGUAGE LC_ALL LC_MESSAGES && export LANG=C.UTF-8 && cl dispatch manifest "$ship" "$WORK/manifest-zh.pdf" &&
        cl dispatch label "$ship" "$WORK/label-zh.pdf")
    pdftotext "$WORK/manifest-zh.pdf" "$WORK/manifest-zh.txt"
    pdftotext "$WORK/label-zh.pdf" "$WORK/label-zh.txt"
    grep -q "社会保障卡发货清单" "$WORK/manifest-zh.txt" && grep -q "网点签收人" "$WORK/manifest-zh.txt" &&
        grep -Eq "封装于 [0-9]{4}年[0-9]{2}月[0-9]{2}日 [0-9]{2}:[0-9]{2}" "$WORK/manifest-zh.txt" &&
        ! grep -q "Received at the outlet by" "$WORK/manifest-zh.txt" ||
        fail "the manifest is not in Chinese by default: $(head -c 400 "$WORK/manifest-zh.txt")"
    grep -q "发货标签" "$WORK/label-zh.txt" && grep -q "到达网点后扫描本标签登记签收" "$WORK/label-zh.txt" ||
        fail "the label is not in Chinese by default: $(head -c 300 "$WORK/label-zh.txt")"
    grep -q "Shipment manifest" "$WORK/manifest.txt" && grep -Eq "Sealed [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}" "$WORK/manifest.txt" &&
        ! grep -q "网点签收人" "$WORK/manifest.txt" || fail "the manifest is not in English with LANGUAGE=en: $(head -c 400 "$WORK/manifest.txt")"
    echo "ok: the manifest and the label in Chinese by default (2026年12月05日 dates), in English with LANGUAGE=en"
fi
# holder data is masked on every paper
for doc in $(sql "SELECT a.doc_number FROM shipment_item i JOIN card c USING (card_number) JOIN application a ON a.id = c.application_id WHERE i.shipment_id = '$ship'"); do
    if grep -q "$doc" "$WORK/manifest.csv" ${WORK}/manifest.txt 2>/dev/null; then fail "document number in clear on the manifest"; fi
done
echo "ok: holder data masked on the manifest"

# --- dispatch list / show: the read models dispatch staff look at ---
cl dispatch list --json >"$WORK/list.json"
python3 - "$WORK/list.json" "$ship" "$cards" "$ship_outlet" "$(sql "SELECT count(*) FROM shipment")" <<'PY'
import json, sys
rows, ship, cards, outlet, total = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
assert len(rows) == total, ("rows", len(rows), total)
mine = [r for r in rows if r["id"] == ship]
assert len(mine) == 1 and (mine[0]["status"], mine[0]["cards"], mine[0]["outlet"], mine[0]["seal_reason"]) == ("sealed", cards, outlet, "manual"), mine
rank = [{"open": 0, "sealed": 1, "dispatched": 2}.get(r["status"], 3) for r in rows]
assert rank == sorted(rank), ("open, then sealed, then dispatched", rank)
print("ok: dispatch list --json: %d shipments, %s sealed with %d card(s)" % (total, ship, cards))
PY
cl dispatch list --status sealed --outlet "$ship_outlet" >"$WORK/list.txt"
expect_eq "dispatch list --status sealed --outlet: one line per shipment" "$(wc -l <"$WORK/list.txt")" \
    "$(sql "SELECT count(*) FROM shipment WHERE status = 'sealed' AND outlet_code = '$ship_outlet'")"
expect_eq "dispatch list filters by status and outlet" "$(awk '{print $2 "/" $3}' "$WORK/list.txt" | sort -u)" "$ship_outlet/sealed"
grep -Eq "^$ship  $ship_outlet +sealed +$cards card\(s\)  sealed [0-9]{4}-[0-9]{2}-[0-9]{2} " "$WORK/list.txt" \
    || fail "dispatch list does not show $ship with $cards card(s): $(cat "$WORK/list.txt")"
cl dispatch show "$ship" >"$WORK/show.txt"
expect_eq "dispatch show: the shipment" "$(head -1 "$WORK/show.txt")" \
    "shipment $ship for $ship_outlet $(sql "SELECT name FROM outlet WHERE code = '$ship_outlet'"): sealed, $cards card(s)"
expect_eq "dispatch show: its cards" "$(tail -n +2 "$WORK/show.txt" | awk '{print $1 "/" $2}' | sort | paste -sd ' ')" \
    "$(sql "SELECT string_agg(card_number || '/good', ' ' ORDER BY card_number) FROM shipment_item WHERE shipment_id = '$ship'")"
expect_eq "dispatch show: holder and ssn masked on every card" "$(tail -n +2 "$WORK/show.txt" | awk '$4 ~ /\*/ && $5 ~ /\*/' | wc -l)" "$cards"
for v in $(sql "SELECT a.ssn FROM shipment_item i JOIN card c USING (card_number) JOIN application a ON a.id = c.application_id WHERE i.shipment_id = '$ship'"); do
    if grep -q "$v" "$WORK/show.txt"; then fail "dispatch show prints a social security number in clear"; fi
done
cl dispatch show "$ship" --json >"$WORK/show.json"
python3 - "$WORK/show.json" "$ship" "$cards" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["id"] == sys.argv[2] and s["status"] == "sealed" and s["cards"] == int(sys.argv[3]) == len(s["items"]), s
assert all("*" in i["holder"] and "*" in i["ssn"] and i["status"] == "good" for i in s["items"]), s["items"]
print("ok: dispatch show --json: %d card(s), masked" % len(s["items"]))
PY
if cl dispatch show 069012340000099999 2>"$WORK/err"; then fail "dispatch show of an unknown shipment succeeded"; fi
expect_eq "dispatch show of an unknown shipment" "$(cat "$WORK/err")" "cardline dispatch show: no shipment 069012340000099999"

# --- send and receive by scanning ---
cl dispatch send "$ship"
expect_eq "cards in transit" "$(sql "SELECT count(*) FROM shipment_item i JOIN card c USING (card_number) WHERE i.shipment_id = '$ship' AND c.status = 'in_transit'")" "$cards"

# --- dispatch overdue: the shipment 40 days on the road, one of its cards past its application's deadline ---
late=$(sql "SELECT c.card_number FROM shipment_item i JOIN card c USING (card_number) WHERE i.shipment_id = '$ship' AND c.application_id <> $app ORDER BY 1 LIMIT 1")
late_app=$(sql "SELECT application_id FROM card WHERE card_number = '$late'")
late_deadline=$(sql "SELECT coalesce(deadline::text, 'NULL') FROM application WHERE id = $late_app")
[ "$late_deadline" = NULL ] || late_deadline="'$late_deadline'"
sql "UPDATE shipment SET sealed_at = clock_now() - interval '40 days', dispatched_at = clock_now() - interval '40 days' WHERE id = '$ship'"
sql "UPDATE application SET deadline = bureau_date(clock_now()) - 1 WHERE id = $late_app"
cl dispatch overdue --json >"$WORK/overdue.json"
python3 - "$WORK/overdue.json" "$ship" "$late" "$(sql "SELECT (bureau_date(clock_now()) - 1)::text")" \
    "$(sql "SELECT count(*) FROM card c JOIN application a ON a.id = c.application_id WHERE c.status IN ('good', 'in_transit') AND a.deadline < bureau_date(clock_now())")" \
    "$(sql "SELECT a.name FROM card c JOIN application a ON a.id = c.application_id WHERE c.card_number = '$late'")" <<'PY'
import json, sys
o, ship, late, deadline, nlate, name = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
s = [x for x in o["shipments"] if x["id"] == ship]
assert len(s) == 1 and s[0]["status"] == "dispatched", o["shipments"]
assert all(x["status"] == "dispatched" for x in o["shipments"]), o["shipments"]
assert len(o["late_cards"]) == nlate, (len(o["late_cards"]), nlate)
c = [x for x in o["late_cards"] if x["card_number"] == late]
assert len(c) == 1 and (c[0]["status"], c[0]["deadline"]) == ("in_transit", deadline), o["late_cards"]
assert "*" in c[0]["holder"] and name not in json.dumps(o, ensure_ascii=False), c
print("ok: dispatch overdue --json: %s overdue, %s late (deadline %s), holder masked" % (ship, late, deadline))
PY
cl dispatch overdue >"$WORK/overdue.txt"
sed -n '/^Shipments past/,/^Cards not/p' "$WORK/overdue.txt" | grep -Eq "^$ship  $ship_outlet +dispatched +$cards card\(s\)" \
    || fail "dispatch overdue does not list $ship: $(cat "$WORK/overdue.txt")"
sed -n '/^Cards not/,$p' "$WORK/overdue.txt" | grep -Eq "^  $late  in_transit .*\* +$(sql "SELECT (bureau_date(clock_now()) - 1)::text")$" \
    || fail "dispatch overdue does not list the late card $late: $(cat "$WORK/overdue.txt")"
echo "ok: dispatch overdue lists $ship and $late"
sql "UPDATE application SET deadline = $late_deadline WHERE id = $late_app"
other=$(sql "SELECT code FROM outlet WHERE code <> '$ship_outlet' LIMIT 1")
if printf '00%s\n' "$ship" | cl dispatch receive --outlet "$other" 2>"$WORK/err"; then fail "received at the wrong outlet"; fi
grep -q "is for outlet $ship_outlet" "$WORK/err" || fail "unexpected: $(cat "$WORK/err")"
# a scanner: AIM prefix and AI 00, then a mistyped label; the good one is received, the bad one reported
printf ']C100%s\n12345\n' "$ship" | cl dispatch receive --outlet "$ship_outlet" >"$WORK/recv" 2>"$WORK/err" && fail "a bad scan went unnoticed"
expect_eq "scanned label received" "$(cat "$WORK/recv")" "received $ship"
grep -q "not a shipment label" "$WORK/err" || fail "bad scan not explained: $(cat "$WORK/err")"
expect_eq "cards at the outlet" "$(sql "SELECT count(*) FROM shipment_item i JOIN card c USING (card_number) WHERE i.shipment_id = '$ship' AND c.status = 'at_outlet'")" "$cards"
if cl dispatch receive "$ship" 2>/dev/null; then fail "received twice"; fi

# --- collection, activation ---
# (not the application the pack test above hung its test cards on: tracking shows an application's newest card)
read -r card1 doc1 < <(sql "SELECT c.card_number, a.doc_number FROM shipment_item i JOIN card c USING (card_number) JOIN application a ON a.id = c.application_id WHERE i.shipment_id = '$ship' AND a.id <> $app ORDER BY 1 LIMIT 1" | tr '|' ' ')
read -r card2 doc2 < <(sql "SELECT c.card_number, a.doc_number FROM shipment_item i JOIN card c USING (card_number) JOIN application a ON a.id = c.application_id WHERE i.shipment_id = '$ship' AND a.id <> $app ORDER BY 1 OFFSET 1 LIMIT 1" | tr '|' ' ')
if cl dispatch collect "$card1" --holder-doc 110101199001010000 2>"$WORK/err"; then fail "handed out against the wrong document"; fi
grep -q "does not match the holder" "$WORK/err" || fail "unexpected: $(cat "$WORK/err")"
expect_eq "refused card still at the outlet" "$(sql "SELECT status FROM card WHERE card_number = '$card1'")" "at_outlet"
cl dispatch collect "$card1" --holder-doc "$doc1"
expect_eq "holder's card issued and activated" "$(sql "SELECT status || '/' || (activated_at IS NOT NULL) FROM card WHERE card_number = '$card1'")" "issued/true"
if cl dispatch collect "$card2" --holder-doc "$doc2" --agent-name 李四 2>/dev/null; then fail "agent without a document accepted"; fi
cl dispatch collect "$card2" --holder-doc "$doc2" --agent-name 李四 --agent-doc-type resident_id --agent-doc 440101199001011233 --poa-ref WT-2026-001 --skip-activation "holder activates at the bank"
expect_eq "agent recorded masked" "$(sql "SELECT collected_by || ' ' || agent_name || ' ' || agent_doc_masked FROM collection WHERE card_number = '$card2'")" "agent 李* 4401**********1233"
expect_eq "agent's document nowhere in clear" "$(sql "SELECT count(*) FROM event WHERE detail LIKE '%440101199001011233%'")" "0"
expect_eq "not yet activated" "$(sql "SELECT activated_at IS NULL FROM card WHERE card_number = '$card2'")" "t"
cl dispatch activate "$card2"
if cl dispatch activate "$card2" 2>/dev/null; then fail "activated twice"; fi
for k in packed sealed dispatched received collected activated; do
    n=$(sql "SELECT count(*) FROM event WHERE kind = '$k' AND (card_number = '$card2' OR (card_number IS NULL AND shipment_id = '$ship'))")
    [ "$n" -ge 1 ] || fail "no '$k' event in the custody chain of $card2"
done
echo "ok: custody chain packed -> sealed -> dispatched -> received -> collected -> activated"
cl dispatch track "$(sql "SELECT a.upstream_id FROM card c JOIN application a ON a.id = c.application_id WHERE card_number = '$card2'")" --json >"$WORK/track.json"
python3 - "$WORK/track.json" "$doc2" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
assert t["card_status"] == "issued", t
assert "*" in t["holder"] and "*" in t["document"] and sys.argv[2] not in json.dumps(t), t
kinds = [e["kind"] for e in t["events"]]
for k in ("produced", "packed", "sealed", "dispatched", "received", "collected", "activated"):
    assert k in kinds, (k, kinds)
print("ok: tracking shows the whole way, masked")
PY

# --- return of uncollected cards after 12 months ---
card3=$(sql "SELECT c.card_number FROM shipment_item i JOIN card c USING (card_number) WHERE i.shipment_id = '$ship' AND c.status = 'at_outlet' AND c.application_id <> $app ORDER BY 1 LIMIT 1")
[ -n "$card3" ] || fail "no uncollected card left in $ship"
if cl dispatch return "$card3" 2>"$WORK/err"; then fail "returned before 12 months"; fi
grep -q "only after 12 months" "$WORK/err" || fail "unexpected: $(cat "$WORK/err")"
sql "UPDATE shipment SET received_at = clock_now() - interval '13 months', dispatched_at = clock_now() - interval '13 months', sealed_at = clock_now() - interval '13 months' WHERE id = '$ship'"
cl dispatch uncollected --due | grep -q "$card3.*DUE FOR RETURN" || fail "$card3 not listed as due"
cl dispatch return --due | grep -q "card $card3 returned" || fail "return --due did not return $card3"
expect_eq "uncollected card back" "$(sql "SELECT status FROM card WHERE card_number = '$card3'")" "uncollected"
expect_eq "returned event" "$(sql "SELECT count(*) FROM event WHERE kind = 'returned' AND card_number = '$card3'")" "1"

# --- lost in transit: blacklisted, produced again first ---
ship2=$(sql "SELECT s.id FROM shipment s WHERE s.status = 'open' AND EXISTS (SELECT 1 FROM shipment_item i JOIN card c USING (card_number) WHERE i.shipment_id = s.id AND c.card_number NOT LIKE 'Z%') ORDER BY s.id LIMIT 1")
[ -n "$ship2" ] || fail "no open shipment with a real card left to lose"
cl dispatch seal "$ship2" >/dev/null
cl dispatch send "$ship2" >/dev/null
lost=$(sql "SELECT count(*) FROM shipment_item WHERE shipment_id = '$ship2'")
cl dispatch lost "$ship2" --reason "van broke down; parcel missing"
expect_eq "lost shipment" "$(sql "SELECT status FROM shipment WHERE id = '$ship2'")" "lost"
expect_eq "cards blacklisted" "$(sql "SELECT count(*) FROM shipment_item i JOIN card c USING (card_number) WHERE i.shipment_id = '$ship2' AND c.status = 'lost_in_transit' AND c.blacklisted_at IS NOT NULL")" "$lost"
real=$(sql "SELECT count(*) FROM shipment_item i JOIN card c USING (card_number) WHERE i.shipment_id = '$ship2' AND c.card_number NOT LIKE 'Z%'")
expect_eq "applications back at the front of the queue" "$(sql "SELECT count(*) FROM application a WHERE status = 'pending' AND priority = 0 AND id IN (SELECT c.application_id FROM shipment_item i JOIN card c USING (card_number) WHERE i.shipment_id = '$ship2' AND c.card_number NOT LIKE 'Z%')")" "$real"
cl run --lines 1 --until-empty
expect_eq "new cards made for the lost ones" "$(sql "SELECT count(*) FROM application a WHERE status = 'produced' AND id IN (SELECT c.application_id FROM shipment_item i JOIN card c USING (card_number) WHERE i.shipment_id = '$ship2' AND c.card_number NOT LIKE 'Z%') AND EXISTS (SELECT 1 FROM card n WHERE n.application_id = a.id AND n.status = 'good')")" "$real"
expect_eq "people with two cards on the way" "$(sql "SELECT count(*) FROM (SELECT person_key FROM card WHERE status IN ('allocated','printing','encoding','ejecting','good','in_transit','at_outlet') GROUP BY person_key, temporary HAVING count(*) > 1) x")" "0"

# --- the database holds the chain of custody, whoever writes ---
refuse() {
    local what=$1 stmt=$2
    if sql "$stmt" 2>"$WORK/err"; then fail "database accepted: $what"; fi
    echo "ok: refused: $what ($(head -1 "$WORK/err" | sed 's/^ERROR: *//'))"
}
refuse "editing an event" "UPDATE event SET actor = 'x' WHERE id = (SELECT max(id) FROM event)"
refuse "deleting an event" "DELETE FROM event WHERE id = (SELECT max(id) FROM event)"
refuse "truncating events" "TRUNCATE event"
refuse "a good card issued without travelling" "UPDATE card SET status = 'issued' WHERE card_number = (SELECT card_number FROM card WHERE status = 'good' AND NOT temporary LIMIT 1)"
refuse "an issued card sent back into transit" "UPDATE card SET status = 'in_transit' WHERE card_number = '$card1'"
open=$(sql "SELECT min(id) FROM shipment WHERE status = 'open'")
[ -n "$open" ] || fail "no open shipment left for the custody checks"
refuse "an open shipment received unsent" "UPDATE shipment SET status = 'received', received_at = clock_now(), sealed_at = clock_now(), dispatched_at = clock_now() WHERE id = '$open'"
refuse "a card added to a dispatched shipment" "INSERT INTO shipment_item (card_number, shipment_id) SELECT card_number, '$ship2' FROM card WHERE status = 'good' LIMIT 1"
refuse "a card taken out of a shipment" "DELETE FROM shipment_item WHERE shipment_id = '$ship'"
refuse "rewriting a collection" "UPDATE collection SET agent_doc_masked = '***' WHERE card_number = '$card2'"
refuse "an agent's document stored in clear" "INSERT INTO collection (card_number, collected_by, agent_name, agent_doc_type, agent_doc_masked, actor) VALUES ('$card1', 'agent', 'x', 'passport', 'E12345678', 't')"
refuse "activating twice" "UPDATE card SET activated_at = clock_now() WHERE card_number = '$card2'"

# --- shipment export: one CSV per outlet, RFC 4180 quoting (an upstream id with a comma, quotes and a line
# break comes back whole), holder data masked; and the manifest CSV through the same writer ---
sql "UPDATE application SET upstream_id = 'UP,\"odd\"' || chr(10) || 'id-$app' WHERE id = $app"
rm -rf "$WORK/export"
out=$(cl shipment export "$WORK/export")
outlets=$(sql "SELECT count(DISTINCT s.outlet_code) FROM shipment s JOIN shipment_item i ON i.shipment_id = s.id")
expect_eq "shipment export says what it wrote" "$out" "wrote $outlets file(s) to $WORK/export"
expect_eq "shipment export: one file per outlet with cards" "$(cd "$WORK/export" && LC_ALL=C ls | paste -sd ' ')" \
    "$(sql "SELECT string_agg(o || '.csv', ' ' ORDER BY o COLLATE \"C\") FROM (SELECT DISTINCT s.outlet_code o FROM shipment s JOIN shipment_item i ON i.shipment_id = s.id) x")"
psql "$DB" -XAtq -F $'\x1f' -R $'\x1e' -c "SELECT s.outlet_code, s.id, s.status, i.card_number, a.upstream_id, a.ssn, a.name FROM shipment s JOIN shipment_item i ON i.shipment_id = s.id JOIN card c ON c.card_number = i.card_number JOIN application a ON a.id = c.application_id" >"$WORK/export.db"
cl dispatch manifest "$first" "$WORK/manifest-first.csv" >/dev/null
python3 - "$WORK/export" "$WORK/export.db" "$WORK/manifest-first.csv" "$app" <<'PY'
import csv, os, sys
d, dbfile, manifest, app = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
db = [r.split("\x1f") for r in open(dbfile, encoding="utf-8").read().rstrip("\x1e\n").split("\x1e")]
want = sorted((r[0], r[1], r[2], r[3], r[4]) for r in db)
got = []
for f in sorted(os.listdir(d)):
    with open(os.path.join(d, f), newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, strict=True))
    assert rows[0] == ["shipment", "status", "card_number", "application", "holder", "ssn", "packed_at"], rows[0]
    for r in rows[1:]:
        assert len(r) == 7, r
        assert "*" in r[5] and len(r[6]) == 16, r
        got.append((f[:-4], r[0], r[1], r[2], r[3]))
assert sorted(got) == want, (len(got), len(want), set(got) ^ set(want))
odd = 'UP,"odd"\nid-' + app
assert sum(1 for g in got if g[4] == odd) == sum(1 for w in want if w[4] == odd) > 0, "odd upstream id not read back whole"
clear = {r[5] for r in db} | {r[6] for r in db if len(r[6]) > 1}
text = "".join(open(os.path.join(d, f), encoding="utf-8").read() for f in os.listdir(d))
assert not any(v in text for v in clear), "holder data in clear in the export"
with open(manifest, newline="", encoding="utf-8") as fh:
    rows = list(csv.reader(fh, strict=True))
assert rows[0] == ["shipment", "outlet", "card_number", "application", "holder", "ssn", "status"], rows[0]
assert any(r[3] == odd for r in rows[1:]), rows
print("ok: shipment export: %d card(s) in %d file(s) as in the database, quoting read back whole, masked; manifest CSV too" % (len(got), len(os.listdir(d))))
PY
echo "dispatch: all checks passed"
