#!/usr/bin/env bash
# browser.sh — the dashboard in a real browser (Debian's chromium, playwright-core): a studio uploads a photo and
# downloads its receipt; another studio cannot see it; dispatch scans a label and the shipment shows received; an
# operator sees an at-risk application, releases a held application, cancels another and reports a card lost, records
# a temporary loss report, withdraws it, cancels (注销) a card and takes a temporary card back at the window; an
# admin adds and disables an account, signs out, and opens the tracking page; an auditor reads the counts and the
# audit trail; the public tracks an application. Screenshots: $BROWSER_DIR/artifacts/*.png
source "$(dirname "$0")/../integration/lib.sh"
require_postgres
here=$(cd "$(dirname "$0")" && pwd)
: "${BROWSER_DIR:?BROWSER_DIR must name the build directory for node_modules and artifacts}"
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ "${CI:-}" = "true" ]; then
        echo "FAIL: chromium, node or npm missing in CI (Debian packages chromium, nodejs)" >&2
        exit 1
    fi
    echo "SKIP: chromium, node or npm not installed" >&2
    exit 77
fi

# playwright-core from the lock file, into the build directory; never a browser download
mkdir -p "$BROWSER_DIR/artifacts"
if ! cmp -s "$here/package-lock.json" "$BROWSER_DIR/package-lock.json" || [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
    cp "$here/package.json" "$here/package-lock.json" "$BROWSER_DIR/"
    (cd "$BROWSER_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) ||
        fail "npm ci failed"
fi

new_db
# applications accepted on a working day whose 30-working-day deadline is one to five working days away, so that
# they are at risk today (on the bureau's clock, whatever day that is); where no such day lies in known calendars
# (the last days of a year whose successor is not published), one whose deadline has just been missed
accepted=$(sql "SELECT d FROM (SELECT s::date AS d FROM generate_series(bureau_today() - 90, bureau_today() - 1,
                                                                       interval '1 day') AS s) AS c
                WHERE extract(year FROM d)::integer IN (SELECT year FROM calendar_year)
                  AND extract(year FROM d + 60)::integer IN (SELECT year FROM calendar_year)
                  AND working_day(d)
                ORDER BY add_working_days(d, 30) BETWEEN bureau_today() + 1 AND bureau_today() + 7 DESC,
                         add_working_days(d, 30) < bureau_today() DESC, add_working_days(d, 30), d DESC
                LIMIT 1")
[ -n "$accepted" ] || fail "no day in the last 90 with a known deadline: is this year's calendar loaded?"
echo "at-risk applications accepted on $accepted (today $(sql "SELECT bureau_today()"))"
cl gen applications 4 --seed 31 --accepted-from "$accepted" --accepted-to "$accepted" >/dev/null
risky=$(sql "SELECT upstream_id FROM application ORDER BY deadline, id LIMIT 1")
sql "UPDATE application SET priority = 9 WHERE upstream_id = '$risky'" >/dev/null
cl gen applications 20 --seed 32 >/dev/null
sql "UPDATE application SET status = 'held', held_reason = 'browser test: kept out of production', held_since = clock_now() WHERE upstream_id = '$risky'" >/dev/null
cl run --lines 2 --until-empty
ship=$(sql "SELECT s.id FROM shipment s WHERE status = 'open' ORDER BY (SELECT count(*) FROM shipment_item i WHERE i.shipment_id = s.id) DESC, id LIMIT 1")
cl dispatch seal "$ship" >/dev/null
cl dispatch send "$ship" >/dev/null
# a card in its holder's hands, for the operator to report lost, and a pending application to cancel
ship2=$(sql "SELECT id FROM shipment WHERE status = 'open' ORDER BY id LIMIT 1")
cl dispatch seal "$ship2" >/dev/null
cl dispatch send "$ship2" >/dev/null
printf '00%s\n' "$ship2" | cl dispatch receive --outlet "$(sql "SELECT outlet_code FROM shipment WHERE id = '$ship2'")" >/dev/null
lostcard=$(sql "SELECT card_number FROM shipment_item WHERE shipment_id = '$ship2' ORDER BY card_number LIMIT 1")
cl dispatch collect "$lostcard" --holder-doc "$(sql "SELECT a.doc_number FROM card c JOIN application a ON a.id = c.application_id WHERE c.card_number = '$lostcard'")" >/dev/null
# a second holder for the temporary loss report, its withdrawal and the cancellation
lifecard=$(sql "SELECT card_number FROM shipment_item WHERE shipment_id = '$ship2' ORDER BY card_number OFFSET 1 LIMIT 1")
cl dispatch collect "$lifecard" --holder-doc "$(sql "SELECT a.doc_number FROM card c JOIN application a ON a.id = c.application_id WHERE c.card_number = '$lifecard'")" >/dev/null
# a temporary card made at a counter line for a holder whose card is on its way, for the window to take back
psql "$DB" -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO application (upstream_id, kind, doc_type, doc_number, ssn, name, sex, ethnicity, birth_date, birth_place,
    nationality, outlet_code, photo_id, accepted_at)
SELECT 'TEMP-B', 'temporary', a.doc_type, a.doc_number, a.ssn, a.name, a.sex, a.ethnicity, a.birth_date, a.birth_place,
       a.nationality, a.outlet_code, a.photo_id, clock_now()
FROM shipment_item i JOIN card c USING (card_number) JOIN application a ON a.id = c.application_id
WHERE i.shipment_id = '$ship' AND NOT EXISTS (SELECT 1 FROM card x WHERE x.person_key = a.ssn AND x.status = 'issued')
ORDER BY c.card_number LIMIT 1;
SQL
printf '{ "lines": [ {"id": "C1", "printer": "sim", "encoder": "sim", "counter": true} ] }' >"$WORK/counter.json"
cl run --config "$WORK/counter.json" --until-empty --no-faces >/dev/null
tempcard=$(sql "SELECT c.card_number FROM card c JOIN application a ON a.id = c.application_id WHERE a.upstream_id = 'TEMP-B'")
[ -n "$tempcard" ] || fail "no temporary card made at the counter line"
cl gen applications 1 --seed 33 >/dev/null
cancel=$(sql "SELECT upstream_id FROM application WHERE status = 'pending' ORDER BY id DESC LIMIT 1")
[ -n "$cancel" ] || fail "no pending application to cancel"
track=$(sql "SELECT upstream_id FROM application WHERE status = 'produced' ORDER BY id LIMIT 1")
trackdoc=$(sql "SELECT doc_number FROM application WHERE upstream_id = '$track'")
for a in "clerk dispatch" "op operator" "boss admin" "aud auditor"; do
    set -- $a
    echo "password-of-$1" | cl account add "$1" --role "$2" --password-stdin >/dev/null
done
echo "password-of-studio-a" | cl account add studio-a --role studio --studio SA --password-stdin >/dev/null
echo "password-of-studio-b" | cl account add studio-b --role studio --studio SB --password-stdin >/dev/null
cl gen photo "$WORK/portrait.jpg" --seed 5 >/dev/null

start_serve

BROWSER_DIR="$BROWSER_DIR" URL=$url SHIPMENT=$ship RISKY=$risky PHOTO="$WORK/portrait.jpg" \
    CHROMIUM="$chromium" ARTIFACTS="$BROWSER_DIR/artifacts" PROFILE_ROOT="$WORK" \
    LOSTCARD=$lostcard CANCEL=$cancel TRACK=$track TRACKDOC=$trackdoc DB="$DB" LIFECARD=$lifecard TEMPCARD=$tempcard \
    node "$here/dashboard.mjs"
# the studio's receipt in the reader's language: scenario 1 downloaded it in English, scenario 10 in Chinese
if need_tool pdftotext poppler-utils; then
    # pdftotext breaks small print's words apart ("Dig ital"): the text is compared without its blanks
    pdftotext "$BROWSER_DIR/artifacts/receipt.pdf" - | tr -d ' \n' >"$WORK/receipt-en.txt"
    pdftotext "$BROWSER_DIR/artifacts/receipt-zh.pdf" - | tr -d ' \n' >"$WORK/receipt-zh.txt"
    grep -q "Digitalphotoqualityreceipt" "$WORK/receipt-en.txt" && grep -q "Validuntil" "$WORK/receipt-en.txt" &&
        grep -Eq "[0-9]{4}-[0-9]{2}-[0-9]{2}" "$WORK/receipt-en.txt" && ! grep -q "回执" "$WORK/receipt-en.txt" ||
        fail "the receipt an English browser downloads is not English: $(head -c 300 "$WORK/receipt-en.txt")"
    grep -q "数字相片质量检测回执" "$WORK/receipt-zh.txt" && grep -q "有效期至" "$WORK/receipt-zh.txt" &&
        grep -Eq "[0-9]{4}年[0-9]{2}月[0-9]{2}日" "$WORK/receipt-zh.txt" && ! grep -q "Validuntil" "$WORK/receipt-zh.txt" ||
        fail "the receipt a Chinese browser downloads is not Chinese: $(head -c 300 "$WORK/receipt-zh.txt")"
    echo "ok: the receipt PDF in English (2026-12-05) and in Chinese (2026年12月05日), as the browser asks"
fi
expect_eq "the held application released from the dashboard" "$(sql "SELECT status || ' ' || (held_reason IS NULL) FROM application WHERE upstream_id = '$risky'")" "pending true"
expect_eq "the application cancelled from the dashboard" "$(sql "SELECT status || ': ' || cancel_reason FROM application WHERE upstream_id = '$cancel'")" "cancelled: browser test: applicant withdrew"
expect_eq "the card reported lost from the dashboard" "$(sql "SELECT status FROM card WHERE card_number = '$lostcard'")" "lost"
expect_eq "the operator's changes audited as the operator" "$(sql "SELECT string_agg(kind, ',' ORDER BY id) FROM event WHERE actor = 'web:op'")" \
    "released,cancelled,reported_lost,reported_lost_temporary,loss_withdrawn,card_cancelled,temporary_returned"
expect_eq "the account added and disabled from the admin page" "$(sql "SELECT role || ' ' || (disabled_at IS NOT NULL) FROM account WHERE name = 'newop'")" "operator true"
expect_eq "shipment received in the database" "$(sql "SELECT status FROM shipment WHERE id = '$ship'")" "received"
expect_eq "receipt issued to studio SA only" "$(sql "SELECT string_agg(studio || ':' || verdict, ',') FROM photo_receipt")" "SA:pass"
expect_eq "the stopgap table is not written" "$(sql "SELECT count(*) FROM photo_check")" "0"
echo "browser: all checks passed; screenshots in $BROWSER_DIR/artifacts"
expect_eq "the temporary loss report withdrawn, then the card cancelled from the dashboard" \
    "$(sql "SELECT status || ' ' || cancel_reason || ' ' || (SELECT string_agg(actor || ':' || kind, ',' ORDER BY id) FROM event
            WHERE card_number = '$lifecard' AND kind IN ('reported_lost_temporary', 'loss_withdrawn', 'card_cancelled'))
            FROM card WHERE card_number = '$lifecard'")" \
    "cancelled left-scheme web:op:reported_lost_temporary,web:op:loss_withdrawn,web:op:card_cancelled"
expect_eq "the temporary card returned from the dashboard" "$(sql "SELECT status || ' ' || (blacklisted_at IS NOT NULL) FROM card WHERE card_number = '$tempcard'")" "returned true"
