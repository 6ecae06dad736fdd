#!/usr/bin/env bash
# browser.sh — the dashboard in a real browser (Debian's chromium, playwright-core): a studio uploads a photo and
# downloads its receipt; another studio cannot see it; dispatch scans a label and the shipment shows received; an
# operator sees an at-risk application. Screenshots: $BROWSER_DIR/artifacts/*.png
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
for a in "clerk dispatch" "op operator"; do
    set -- $a
    echo "password-of-$1" | cl account add "$1" --role "$2" --password-stdin >/dev/null
done
echo "password-of-studio-a" | cl account add studio-a --role studio --studio SA --password-stdin >/dev/null
echo "password-of-studio-b" | cl account add studio-b --role studio --studio SB --password-stdin >/dev/null
cl gen photo "$WORK/portrait.jpg" --seed 5 >/dev/null

"$CARDLINE" -q --data-dir "$WORK" --db "$DB" serve --listen 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q "^listening on" "$WORK/serve.out" && break
    kill -0 $server 2>/dev/null || fail "serve died: $(cat "$WORK/serve.err")"
    sleep 0.1
done
url=$(sed -n 's/^listening on \(http:[^ ]*\)\/$/\1/p' "$WORK/serve.out")

BROWSER_DIR="$BROWSER_DIR" URL=$url SHIPMENT=$ship RISKY=$risky PHOTO="$WORK/portrait.jpg" \
    CHROMIUM="$chromium" ARTIFACTS="$BROWSER_DIR/artifacts" PROFILE_ROOT="$WORK" \
    node "$here/dashboard.mjs"
expect_eq "shipment received in the database" "$(sql "SELECT status FROM shipment WHERE id = '$ship'")" "received"
expect_eq "receipt issued to studio SA only" "$(sql "SELECT string_agg(studio || ':' || verdict, ',') FROM photo_receipt")" "SA:pass"
expect_eq "the stopgap table is not written" "$(sql "SELECT count(*) FROM photo_check")" "0"
echo "browser: all checks passed; screenshots in $BROWSER_DIR/artifacts"
