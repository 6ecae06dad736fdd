#!/usr/bin/env bash
# lifecycle.sh — a card's life after collection, through the CLI: temporary and formal loss reports block it at
# once, a report is withdrawn until a replacement is requested, a temporary report lapses, cancellation (注销)
# blocks the card and cancels the holder's open applications, and the person may then apply again; temporary cards
# (临时卡) only for the insured waiting for a card or replacing a lost one, made on counter lines only, 临时卡 and the
# validity on the face, due back when expired or when the real card is collected, returned at the window; at
# collection activation skipped only with a recorded reason, an agent's document checked and the power of attorney
# recorded
source "$(dirname "$0")/lib.sh"
require_postgres
new_db

# every subcommand has its own usage on stdout, exits 0 and touches nothing (no database, no data directory)
for sub in report-lost withdraw-loss cancel blacklist; do
    "$CARDLINE" -q --data-dir "$WORK/fresh" card "$sub" --help >"$WORK/help.txt" || fail "card $sub --help failed"
    grep -q "^Usage: cardline card $sub" "$WORK/help.txt" || fail "card $sub --help: $(cat "$WORK/help.txt")"
done
[ ! -e "$WORK/fresh" ] || fail "--help created the data directory"
echo "ok: each card subcommand has its own --help"

cl gen outlets >/dev/null
cl gen applications 10 --seed 41 >/dev/null
cl run --lines 1 --until-empty >/dev/null
# every card the whole way to its holder: sealed, sent, received by scan, collected
for ship in $(sql "SELECT id FROM shipment WHERE status = 'open' ORDER BY id"); do
    cl dispatch seal "$ship" >/dev/null
    cl dispatch send "$ship" >/dev/null
    printf '00%s\n' "$ship" |
        cl dispatch receive --outlet "$(sql "SELECT outlet_code FROM shipment WHERE id = '$ship'")" >/dev/null
done
for card in $(sql "SELECT card_number FROM card WHERE status = 'at_outlet' ORDER BY card_number"); do
    cl dispatch collect "$card" --holder-doc "$(sql "SELECT a.doc_number FROM card c JOIN application a
        ON a.id = c.application_id WHERE c.card_number = '$card'")" >/dev/null
done
mapfile -t cards < <(sql "SELECT c.card_number FROM card c JOIN application a ON a.id = c.application_id
                          WHERE c.status = 'issued' AND a.kind = 'new' ORDER BY c.card_number LIMIT 4")
[ "${#cards[@]}" = 4 ] || fail "expected four collected cards, got ${#cards[@]}"
A=${cards[0]} B=${cards[1]} C=${cards[2]} D=${cards[3]}
status() { sql "SELECT status || ' ' || (blacklisted_at IS NOT NULL) FROM card WHERE card_number = '$1'"; }
events() { sql "SELECT string_agg(actor || ':' || kind, ',' ORDER BY id) FROM event WHERE card_number = '$1'
                AND kind IN ('reported_lost_temporary', 'reported_lost', 'loss_withdrawn', 'loss_lapsed', 'card_cancelled')"; }
blacklisted() { cl card blacklist --json | python3 -c "
import json, sys
print(','.join(r['card'] + ':' + r['reason'] for r in json.load(sys.stdin) if r['card'] == '$1'))"; }
# a replacement application for a card's holder, as the upstream platform writes it
replacement() {
    psql "$DB" -XAtq -v ON_ERROR_STOP=1 <<SQL
INSERT INTO application (upstream_id, kind, doc_type, doc_number, ssn, name, sex, ethnicity, birth_date, birth_place,
    nationality, outlet_code, bank_name, photo_id, replaced_card_number, accepted_at)
SELECT '$2', '$3', doc_type, doc_number, ssn, name, sex, ethnicity, birth_date, birth_place, nationality,
       outlet_code, bank_name, photo_id, CASE WHEN '$3' = 'replacement' THEN '$1' END, clock_now()
FROM application a JOIN card c ON c.application_id = a.id WHERE c.card_number = '$1';
SQL
}
# the business clock moved on by $1 days, for one cardline command
later() {
    local days=$1
    shift
    CARDLINE_NOW="$(sql "SELECT to_char(bureau_time(clock_now() + interval '$days days'), 'YYYY-MM-DD HH24:MI:SS')")" \
        CARDLINE_NOW_ANCHOR=$(date +%s) cl "$@"
}

# --- A: a temporary report blocks the card at once; withdrawn, it is unblocked -----------------------------------
cl card report-lost "$A" --temporary --reason "holder phoned the hotline"
expect_eq "temporary report: blocked at once" "$(status "$A")" "lost_temporary true"
expect_eq "on the blacklist" "$(blacklisted "$A")" "$A:temporary loss report"
cl card withdraw-loss "$A"
expect_eq "withdrawn: unblocked" "$(status "$A")" "issued false"
expect_eq "off the blacklist" "$(blacklisted "$A")" ""
if cl card withdraw-loss "$A" 2>"$WORK/err"; then fail "withdrew a loss report that does not exist"; fi
expect_eq "refusal names the problem" "$(cat "$WORK/err")" "cardline: card $A is not reported lost (it is issued)"
# a formal report may be withdrawn too, as long as no replacement was requested
cl card report-lost "$A"
expect_eq "formal report: blocked" "$(status "$A")" "lost true"
cl card withdraw-loss "$A" --reason "found it at home"
expect_eq "formal report withdrawn" "$(status "$A")" "issued false"
expect_eq "audited with actor" "$(events "$A")" \
    "operator:reported_lost_temporary,operator:loss_withdrawn,operator:reported_lost,operator:loss_withdrawn"
expect_eq "audited with reason" "$(sql "SELECT detail FROM event WHERE card_number = '$A' AND kind = 'loss_withdrawn'
    ORDER BY id DESC LIMIT 1")" "found it at home"

# --- B: a temporary report not made formal lapses after temporary_loss_days (15) ---------------------------------
cl card report-lost "$B" --temporary
expect_eq "lapses 15 days after the report" "$(sql "SELECT loss_lapses_at - blacklisted_at FROM card WHERE card_number = '$B'")" "15 days"
if later 14 card report-lost "$B" --temporary 2>"$WORK/err"; then fail "a second temporary report was accepted"; fi
grep -q "card $B is already reported lost (temporary report, lapses .* unless made formal in person)" "$WORK/err" ||
    fail "$(cat "$WORK/err")"
expect_eq "still blocked on day 14" "$(later 14 card blacklist --json | grep -c "\"$B\"")" "1"
expect_eq "not blocked on day 16, even before the lapse is recorded" "$(later 16 card blacklist --json | grep -c "\"$B\"" || true)" "0"
if later 16 card withdraw-loss "$B" 2>"$WORK/err"; then fail "withdrew a lapsed report"; fi
expect_eq "the lapse is recorded first" "$(cat "$WORK/err")" "cardline: card $B is not reported lost (it is issued)"
expect_eq "lapsed: unblocked" "$(status "$B")" "issued false"
expect_eq "lapse audited as the system" "$(events "$B")" "operator:reported_lost_temporary,cardline:loss_lapsed"

# --- C: a replacement needs the formal report; once requested, the report can no longer be withdrawn ------------
cl card report-lost "$C" --temporary
since=$(sql "SELECT blacklisted_at FROM card WHERE card_number = '$C'")
replacement "$C" REPL-C replacement
cl run --lines 1 --until-empty >/dev/null
expect_eq "replacement held on a temporary report" "$(sql "SELECT status || ': ' || held_reason FROM application WHERE upstream_id = 'REPL-C'")" \
    "held: replacement needs a formal loss report for card $C first (card is 'lost_temporary')"
repl=$(sql "SELECT id FROM application WHERE upstream_id = 'REPL-C'")
if cl card withdraw-loss "$C" 2>"$WORK/err"; then fail "withdrew after a replacement was requested"; fi
expect_eq "withdrawal refused" "$(cat "$WORK/err")" \
    "cardline: a replacement for card $C was already requested (application $repl); the loss report can no longer be withdrawn"
# the database itself refuses, whoever writes the card
if sql "UPDATE card SET status = 'issued' WHERE card_number = '$C'" 2>"$WORK/err"; then fail "database unblocked it"; fi
grep -q "the loss report can no longer be withdrawn" "$WORK/err" || fail "$(cat "$WORK/err")"
cl card report-lost "$C"
expect_eq "made formal, blocked since the first report" "$(sql "SELECT status || ' ' || (blacklisted_at = '$since') || ' ' || (loss_lapses_at IS NULL) FROM card WHERE card_number = '$C'")" "lost true true"
cl application release REPL-C >/dev/null
cl run --lines 1 --until-empty >/dev/null
expect_eq "replacement produced" "$(sql "SELECT status FROM application WHERE upstream_id = 'REPL-C'")" "produced"
expect_eq "old card still blocked since the report" "$(sql "SELECT blacklisted_at = '$since' FROM card WHERE card_number = '$C'")" "t"
if cl card report-lost "$C" 2>"$WORK/err"; then fail "reported twice"; fi
expect_eq "second formal report refused" "$(cat "$WORK/err")" "cardline: card $C is already formally reported lost"

# --- D: cancellation (注销): blocked, open applications cancelled, the person may apply again ------------------
replacement "$D" AGAIN-1 new
cl run --lines 1 --until-empty >/dev/null
expect_eq "one person, one card while D is valid" "$(sql "SELECT status FROM application WHERE upstream_id = 'AGAIN-1'")" "held"
if cl card cancel "$D" --reason bored 2>"$WORK/err"; then fail "unknown reason accepted"; else rc=$?; fi
expect_eq "unknown reason is a usage error" "$rc" "2"
expect_eq "nothing changed" "$(status "$D")" "issued false"
cl card cancel "$D" --reason left-scheme >"$WORK/out"
expect_eq "cancel says what it did" "$(cat "$WORK/out")" "card $D cancelled (left-scheme); 1 open application(s) of its holder cancelled"
expect_eq "cancelled and blocked" "$(status "$D")" "cancelled true"
expect_eq "reason recorded" "$(sql "SELECT cancel_reason FROM card WHERE card_number = '$D'")" "left-scheme"
expect_eq "on the blacklist with its reason" "$(blacklisted "$D")" "$D:cancelled: left-scheme"
expect_eq "open application cancelled with the reason" "$(sql "SELECT status || ': ' || cancel_reason FROM application WHERE upstream_id = 'AGAIN-1'")" \
    "cancelled: holder's card $D cancelled: left-scheme"
expect_eq "audited" "$(sql "SELECT string_agg(actor || ':' || kind || ':' || detail, ',' ORDER BY id) FROM event
    WHERE kind IN ('cancelled', 'card_cancelled') AND (card_number = '$D'
          OR application_id = (SELECT id FROM application WHERE upstream_id = 'AGAIN-1'))")" \
    "operator:cancelled:holder's card $D cancelled: left-scheme,operator:card_cancelled:left-scheme"
if cl card cancel "$D" --reason deceased 2>"$WORK/err"; then fail "cancelled twice"; fi
expect_eq "second cancellation refused" "$(cat "$WORK/err")" "cardline: card $D is already cancelled"
if cl card withdraw-loss "$D" 2>"$WORK/err"; then fail "a cancelled card came back"; fi
expect_eq "cancelled is not lost" "$(cat "$WORK/err")" "cardline: card $D is not reported lost (it is cancelled)"
replacement "$D" AGAIN-2 new
cl run --lines 1 --until-empty >/dev/null
expect_eq "the person applies again: accepted and produced" "$(sql "SELECT status FROM application WHERE upstream_id = 'AGAIN-2'")" "produced"
if cl card report-lost Z00000000 --temporary 2>"$WORK/err"; then fail "reported an unknown card"; fi
expect_eq "unknown card" "$(cat "$WORK/err")" "cardline: no card Z00000000"

# --- temporary cards (临时卡): for the insured who wait for a card or replace a lost one; 90 days on face and chip;
# made on counter lines only; due back when expired or when the real card is collected --------------------------
printf '{ "lines": [ {"id": "C1", "printer": "sim", "encoder": "sim", "counter": true} ] }' >"$WORK/counter.json"
# a temporary application for the person of application $1, as the window writes it (psql's refusal on stderr)
temporary() {
    psql "$DB" -XAtq -v ON_ERROR_STOP=1 <<SQL
INSERT INTO application (upstream_id, kind, doc_type, doc_number, ssn, name, sex, ethnicity, birth_date, birth_place,
    nationality, outlet_code, photo_id, accepted_at)
SELECT '$2', 'temporary', doc_type, doc_number, ssn, name, sex, ethnicity, birth_date, birth_place, nationality,
       outlet_code, photo_id, clock_now()
FROM application WHERE upstream_id = '$1';
SQL
}
# the database's clock $1 days on (the test's own pinned clock included)
days_on() { echo "-c cardline.clock_offset=$(($("$CARDLINE" clock --offset) + $1 * 86400))"; }
app_of() { sql "SELECT a.upstream_id FROM card c JOIN application a ON a.id = c.application_id WHERE c.card_number = '$1'"; }
doc_of() { sql "SELECT a.doc_number FROM card c JOIN application a ON a.id = c.application_id WHERE c.card_number = '$1'"; }
temp_card() { sql "SELECT c.card_number FROM card c JOIN application a ON a.id = c.application_id WHERE a.upstream_id = '$1'"; }
events_of() { sql "SELECT string_agg(actor || ':' || kind || ':' || coalesce(detail, ''), ',' ORDER BY id) FROM event
                   WHERE card_number = '$1' AND kind LIKE 'temporary%'"; }

E=$(sql "SELECT card_number FROM card WHERE status = 'issued' AND NOT temporary AND card_number NOT IN ('$A', '$B', '$C', '$D')
         ORDER BY card_number LIMIT 1")
if temporary "$(app_of "$E")" TEMP-E 2>"$WORK/err"; then fail "a temporary card for the holder of a valid card"; fi
grep -q "the person holds valid card $E; a temporary card is only for those waiting for a card or replacing a lost one" "$WORK/err" ||
    fail "$(cat "$WORK/err")"
# somebody the bureau knows nothing of waits for nothing
psql "$DB" -XAtq -v ON_ERROR_STOP=1 -c "INSERT INTO application (upstream_id, kind, doc_type, doc_number, ssn, name, sex,
    ethnicity, birth_date, birth_place, outlet_code, accepted_at) SELECT 'TEMP-X', 'temporary', 'resident_id',
    '440203199901010011', '440203199901010011', name, sex, ethnicity, birth_date, birth_place, outlet_code, clock_now()
    FROM application WHERE upstream_id = '$(app_of "$E")'" 2>"$WORK/err" && fail "a temporary card for someone not waiting"
grep -q "the person is not waiting for a card nor replacing a lost one" "$WORK/err" || fail "$(cat "$WORK/err")"
# a holder who formally reported the card lost may have one
cl card report-lost "$E" >/dev/null
temporary "$(app_of "$E")" TEMP-E
echo "ok: temporary cards refused to a holder of a valid card and to someone not waiting; allowed after a loss"

# four people waiting for their first card
cl gen applications 4 --seed 77 >/dev/null
mapfile -t waiting < <(sql "SELECT upstream_id FROM application WHERE status = 'pending' AND kind = 'new' ORDER BY id")
[ "${#waiting[@]}" -ge 4 ] || fail "expected four waiting applicants, got ${#waiting[@]}"
P=${waiting[0]} Q=${waiting[1]} R=${waiting[2]} S=${waiting[3]}
temporary "$P" TEMP-P1
temporary "$Q" TEMP-Q1
cl run --lines 1 --until-empty >/dev/null
expect_eq "a production line makes no temporary card" \
    "$(sql "SELECT string_agg(upstream_id || ':' || status, ',' ORDER BY upstream_id) FROM application WHERE kind = 'temporary'")" \
    "TEMP-E:pending,TEMP-P1:pending,TEMP-Q1:pending"
expect_eq "the real cards were made meanwhile" "$(sql "SELECT count(*) FROM application WHERE upstream_id IN ('$P', '$Q', '$R', '$S') AND status = 'produced'")" "4"
# `cardline render` of the waiting temporary application: the face the counter line will print
cl render --application TEMP-P1 --png "$WORK/render-TEMP-P1.png" >/dev/null
cl run --config "$WORK/counter.json" --until-empty >/dev/null
TP1=$(temp_card TEMP-P1)
expect_eq "made at the counter, issued on the spot, valid 90 days" \
    "$(sql "SELECT left(card_number, 1) || ' ' || status || ' ' || (expiry_date - issue_date) || ' ' || line_id FROM card WHERE card_number = '$TP1'")" \
    "T issued 90 C1"
expect_eq "the temporary applications are produced" "$(sql "SELECT count(*) FROM application WHERE kind = 'temporary' AND status = 'produced'")" "3"
if temporary "$P" TEMP-P2 2>"$WORK/err"; then fail "a second temporary card while the first is valid"; fi
grep -q "the person already has temporary card $TP1 (valid until $(sql "SELECT expiry_date FROM card WHERE card_number = '$TP1'"))" "$WORK/err" ||
    fail "$(cat "$WORK/err")"

# the face says 临时卡 with its validity (red text in the layout's valid_until box), a regular card's does not
python3 - "$WORK/faces/$TP1.png" "$WORK/faces/$(sql "SELECT c.card_number FROM card c JOIN application a ON a.id = c.application_id WHERE a.upstream_id = '$P'").png" "$WORK/render-TEMP-P1.png" <<'PY'
import struct, sys, zlib
def red_pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(152):  # the rows down to the box's bottom are enough
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line); prev = line
    # the valid_until box of printer/layouts/ssc-front.json: [460, 96, 510, 56]
    return sum(1 for y in range(96, 152) for x in range(460, 970)
               if rows[y][x * bpp] > 150 and rows[y][x * bpp + 1] < 110 and rows[y][x * bpp + 2] < 120)
temp, real = red_pixels(sys.argv[1]), red_pixels(sys.argv[2])
assert temp > 800 and real == 0, (temp, real)
# `cardline render` before production draws the validity line too
assert red_pixels(sys.argv[3]) > 800, ("render of the waiting temporary application", red_pixels(sys.argv[3]))
PY
echo "ok: a temporary card's face carries its red 临时卡 validity line, a regular card's does not"
# and after production `cardline render` draws exactly the face the counter line printed, validity line included
cl render --application TEMP-P1 --png "$WORK/render-$TP1.png" >/dev/null
cmp -s "$WORK/render-$TP1.png" "$WORK/faces/$TP1.png" || fail "render of $TP1 differs from the face the line printed"
echo "ok: cardline render of a temporary card's application draws its 临时卡 validity line, as the line does"

# listed for the window; past its 90 days it is due back, blocked, and no longer stands in the way of a new one
cl card temporary --json >"$WORK/temp.json"
python3 - "$WORK/temp.json" "$TP1" <<'PY'
import json, sys
rows = {r["card"]: r for r in json.load(open(sys.argv[1]))}
r = rows[sys.argv[2]]
assert r["status"] == "issued" and not r["due"] and r["due_reason"] is None and "*" in r["holder"] and "*" in r["doc"], r
PY
expect_eq "none due yet" "$(cl card temporary --due)" "(no temporary card is due back)"
later 91 card temporary --due --json >"$WORK/due.json"
grep -q "\"card\":\"$TP1\"" <(tr -d ' \n' <"$WORK/due.json") || fail "expired card not listed: $(cat "$WORK/due.json")"
grep -q '"due_reason":"expired"' <(tr -d ' \n' <"$WORK/due.json") || fail "$(cat "$WORK/due.json")"
expect_eq "expired: due back and blocked" "$(status "$TP1")" "return_due true"
expect_eq "the expiry is the system's doing" "$(events_of "$TP1")" "cardline:temporary_return_due:expired"
PGOPTIONS=$(days_on 91) temporary "$P" TEMP-P2
later 91 run --config "$WORK/counter.json" --until-empty >/dev/null
TP2=$(temp_card TEMP-P2)
expect_eq "a new temporary card after the expired one" "$(sql "SELECT status || ' ' || (expiry_date - issue_date) FROM card WHERE card_number = '$TP2'")" "issued 90"

# every card to its outlet
for ship in $(sql "SELECT id FROM shipment WHERE status = 'open' ORDER BY id"); do
    cl dispatch seal "$ship" >/dev/null
    cl dispatch send "$ship" >/dev/null
    printf '00%s\n' "$ship" | cl dispatch receive --outlet "$(sql "SELECT outlet_code FROM shipment WHERE id = '$ship'")" >/dev/null
done
card_of() { sql "SELECT c.card_number FROM card c JOIN application a ON a.id = c.application_id WHERE a.upstream_id = '$1' AND NOT c.temporary"; }
doc_app() { sql "SELECT doc_number FROM application WHERE upstream_id = '$1'"; }
CP=$(card_of "$P") CQ=$(card_of "$Q") CR=$(card_of "$R") CS=$(card_of "$S")
expect_eq "the real cards wait at their outlets" "$(sql "SELECT string_agg(status, ',') FROM card WHERE card_number IN ('$CP', '$CQ', '$CR', '$CS')")" \
    "at_outlet,at_outlet,at_outlet,at_outlet"

# --- collection: activation is the rule, skipping it an exception with its reason ----------------------------
if cl dispatch collect "$CS" --holder-doc "$(doc_app "$S")" --no-activate 2>"$WORK/err"; then fail "activation skipped silently"; else rc=$?; fi
expect_eq "skipping without a reason is a usage error" "$rc" "2"
grep -q "not activating it needs the reason" "$WORK/err" || fail "$(cat "$WORK/err")"
expect_eq "nothing happened" "$(sql "SELECT status FROM card WHERE card_number = '$CS'")" "at_outlet"
cl dispatch collect "$CS" --holder-doc "$(doc_app "$S")" --skip-activation "holder activates at the bank" >"$WORK/out"
grep -q "social security function NOT activated (recorded exception)" "$WORK/out" || fail "$(cat "$WORK/out")"
expect_eq "the exception is recorded with its reason" \
    "$(sql "SELECT c.status || ' ' || (c.activated_at IS NULL) || ' ' || k.activation_skipped || ' ' || (SELECT detail FROM event WHERE card_number = '$CS' AND kind = 'activation_skipped') FROM card c JOIN collection k USING (card_number) WHERE card_number = '$CS'")" \
    "issued true holder activates at the bank holder activates at the bank"

# --- agents: the document's check character, and the power of attorney -----------------------------------------
agent=(--agent-name 王五 --agent-doc-type resident_id)
if cl dispatch collect "$CR" --holder-doc "$(doc_app "$R")" "${agent[@]}" --agent-doc 440101199001011234 --poa-ref WT-1 2>"$WORK/err"; then
    fail "an agent's document with a wrong check character"
fi
grep -q "the agent's resident_id: document number 4401\*\*\*\*\*\*\*\*\*\*1234 fails its check character" "$WORK/err" || fail "$(cat "$WORK/err")"
if cl dispatch collect "$CR" --holder-doc "$(doc_app "$R")" "${agent[@]}" --agent-doc 440101199001011233 2>"$WORK/err"; then
    fail "an agent without a power of attorney"
fi
grep -q "an agent needs the holder's power of attorney" "$WORK/err" || fail "$(cat "$WORK/err")"
expect_eq "both refused: still at the outlet" "$(sql "SELECT status FROM card WHERE card_number = '$CR'")" "at_outlet"
printf 'scan of the power of attorney' >"$WORK/poa.pdf"
cl dispatch collect "$CR" --holder-doc "$(doc_app "$R")" "${agent[@]}" --agent-doc 440101199001011233 --poa-scan "$WORK/poa.pdf" >/dev/null
expect_eq "the scan is kept with its digest" "$(sql "SELECT collected_by || ' ' || (poa_scan = convert_to('scan of the power of attorney', 'UTF8')) || ' ' || poa_scan_sha256 FROM collection WHERE card_number = '$CR'")" \
    "agent true $(printf 'scan of the power of attorney' | sha256sum | cut -d' ' -f1)"
expect_eq "the agent's document is nowhere in clear" "$(sql "SELECT count(*) FROM event WHERE detail LIKE '%440101199001011233%'")" "0"

# --- the real card collected: the temporary card comes back, or is flagged for return --------------------------
TQ=$(temp_card TEMP-Q1)
cl dispatch collect "$CQ" --holder-doc "$(doc_app "$Q")" --temporary-returned >"$WORK/out"
grep -q "temporary card $TQ returned and cancelled" "$WORK/out" || fail "$(cat "$WORK/out")"
expect_eq "handed in: returned and blocked" "$(status "$TQ")" "returned true"
expect_eq "audited (it had expired meanwhile)" "$(events_of "$TQ")" "cardline:temporary_return_due:expired,cli:$(id -un):temporary_returned:handed in when card $CQ was collected"
cl dispatch collect "$CP" --holder-doc "$(doc_app "$P")" >"$WORK/out"
grep -q "temporary card $TP2 not handed in: flagged for return and blocked" "$WORK/out" || fail "$(cat "$WORK/out")"
expect_eq "not handed in: due back and blocked" "$(status "$TP2")" "return_due true"
expect_eq "recorded with the collection" "$(sql "SELECT temporary_card || ' ' || temporary_returned FROM collection WHERE card_number = '$CP'")" "$TP2 false"
expect_eq "the window's list: both of P's cards due back" \
    "$(cl card temporary --due --json | python3 -c "import json,sys; print(','.join(r['card'] + ':' + r['due_reason'] for r in json.load(sys.stdin) if r['card'] in sys.argv[1:]))" "$TP1" "$TP2")" \
    "$TP1:expired,$TP2:card collected"
if cl card return-temporary "$CP" 2>"$WORK/err"; then fail "a real card returned at the window"; fi
expect_eq "only temporary cards" "$(cat "$WORK/err")" "cardline: card $CP is not a temporary card; it is not returned at the window"
cl card return-temporary "$TP2"
cl card return-temporary "$TP1" --reason "brought back late"
expect_eq "returned and cancelled" "$(status "$TP1") / $(status "$TP2")" "returned true / returned true"
if cl card return-temporary "$TP1" 2>"$WORK/err"; then fail "returned twice"; fi
expect_eq "returned once" "$(cat "$WORK/err")" "cardline: temporary card $TP1 is not out (it is returned)"
cl card return-temporary "$(temp_card TEMP-E)" >/dev/null
expect_eq "nothing left due" "$(cl card temporary --due)" "(no temporary card is due back)"
expect_eq "audited" "$(events_of "$TP1")" "cardline:temporary_return_due:expired,operator:temporary_returned:brought back late"
# the database keeps the rules whoever writes
if sql "UPDATE card SET status = 'issued' WHERE card_number = '$TP1'" 2>/dev/null; then fail "a returned temporary card came back"; fi
if sql "UPDATE card SET status = 'return_due', return_due_reason = 'expired' WHERE card_number = '$CQ'" 2>/dev/null; then
    fail "a real card flagged as a temporary one"
fi
echo "ok: temporary cards made at the counter only, due back when expired or at collection, returned at the window"

# no personal data in what was recorded or said
for c in "$A" "$B" "$C" "$D"; do
    doc=$(sql "SELECT a.doc_number FROM card c JOIN application a ON a.id = c.application_id WHERE c.card_number = '$c'")
    expect_eq "no document number of $c's holder in the audit trail" "$(sql "SELECT count(*) FROM event WHERE detail LIKE '%$doc%'")" "0"
done
echo "lifecycle: all checks passed"
