#!/usr/bin/env bash
# lifecycle.sh — a card's life after collection, through the CLI: temporary and formal loss reports block it at
# once, a report is withdrawn until a replacement is requested, a temporary report lapses, cancellation (注销)
# blocks the card and cancels the holder's open applications, and the person may then apply again
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

# no personal data in what was recorded or said
for c in "$A" "$B" "$C" "$D"; do
    doc=$(sql "SELECT a.doc_number FROM card c JOIN application a ON a.id = c.application_id WHERE c.card_number = '$c'")
    expect_eq "no document number of $c's holder in the audit trail" "$(sql "SELECT count(*) FROM event WHERE detail LIKE '%$doc%'")" "0"
done
echo "lifecycle: all checks passed"
