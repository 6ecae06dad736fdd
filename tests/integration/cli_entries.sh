#!/usr/bin/env bash
# cli_entries.sh — the CLI entries no other test ran: outlet list, application list/show, photo profile, account
# list/disable/password, devices, render; each check asserts what the entry prints, not only its exit status.
#
# CLI_ENTRIES_BREAK=N turns check N's expectation into a wrong one, so the test must fail there (exit 1);
# CLI_ENTRIES_BREAK=all does it to every check, carries on, and exits 0 only when every one of them failed: proof
# that no check passes whatever the entry prints.
source "$(dirname "$0")/lib.sh"
require_postgres
command -v python3 >/dev/null || { echo "SKIP: python3 not installed" >&2; exit 77; }

checks=0 survived=0
# check WHAT GOT WANT: expect_eq, numbered; the check CLI_ENTRIES_BREAK names (or all) wants something else
check() {
    local want=$3
    checks=$((checks + 1))
    if [ "${CLI_ENTRIES_BREAK:-0}" = all ]; then
        if [ "$2" = "$want (broken on purpose)" ]; then
            echo "NOT FAILED on purpose: #$checks $1" >&2
            survived=$((survived + 1))
        else
            echo "failed on purpose: #$checks $1"
        fi
        return 0
    fi
    [ "${CLI_ENTRIES_BREAK:-0}" = "$checks" ] && want="$want (broken on purpose)"
    expect_eq "#$checks $1" "$2" "$want"
}
# check_rc WHAT WANT_STATUS COMMAND...: the exit status of COMMAND (output in $out, standard error in $err)
check_rc() {
    local what=$1 want=$2 rc=0
    shift 2
    "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    out=$(cat "$WORK/out")
    err=$(cat "$WORK/err")
    check "$what: exit status" "$rc" "$want"
}
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

new_db
cl gen outlets >/dev/null

# --- outlet list: a header and one row per outlet, the delivery weekdays as the operator typed them
check_rc "outlet list" 0 cl outlet list
check "outlet list header" "$(head -1 <<<"$out" | tr -s ' ')" "code kind county weekdays transit name"
check "outlet list rows" "$(($(wc -l <<<"$out") - 1))" "$(sql "SELECT count(*) FROM outlet")"
check "outlet list HR0104" "$(grep '^HR0104 ' <<<"$out" | tr -s ' ')" "HR0104 hrss 乐昌市 3 2 乐昌市政务服务中心社保窗口"
check "outlet list BK0201 weekdays" "$(awk '$1 == "BK0201" {print $4}' <<<"$out")" "1,2,3,4,5"

# --- application list / show: masked holders, the deadline, the note of a cancelled one
cl gen applications 5 --seed 4711 >/dev/null
first=$(sql "SELECT upstream_id FROM application ORDER BY priority, latest_completion NULLS LAST, id LIMIT 1")
first_id=$(sql "SELECT id FROM application WHERE upstream_id = '$first'")
name=$(sql "SELECT name FROM application WHERE upstream_id = '$first'")
doc=$(sql "SELECT doc_number FROM application WHERE upstream_id = '$first'")
check_rc "application list" 0 cl application list --status pending
check "application list header" "$(head -1 <<<"$out" | tr -s ' ')" "id upstream kind status outlet deadline holder note"
check "application list rows" "$(($(wc -l <<<"$out") - 1))" "5"
check "application list is in claim order" "$(sed -n 2p <<<"$out" | awk '{print $1, $2, $4}')" \
    "$first_id $first pending"
check "application list masks names" "$(grep -cF "$name" <<<"$out" || true)" "0"
check "application list shows no document number" "$(grep -cF "${doc:4:10}" <<<"$out" || true)" "0"
check "application list masked name" "$(sed -n 2p <<<"$out" | awk '{print $7}')" \
    "$(python3 -c "import sys; n=sys.argv[1]; print(n[0] + '*' * (len(n) - 1))" "$name")"
check "application list deadline" "$(sed -n 2p <<<"$out" | awk '{print $6}')" \
    "$(sql "SELECT coalesce(deadline::text, '-') FROM application WHERE upstream_id = '$first'")"
check_rc "application list --limit" 0 cl application list --limit 2
check "application list --limit rows" "$(($(wc -l <<<"$out") - 1))" "2"
check_rc "application list --status held (none)" 0 cl application list --status held
check "application list of none is the header only" "$(wc -l <<<"$out")" "1"

check_rc "application show" 0 cl application show "$first"
check "application show first line" "$(head -1 <<<"$out" | tr -s ' ')" "application $first_id (upstream $first)"
check "application show status" "$(awk '$1 == "status" {print $2}' <<<"$out")" "pending"
check "application show masks the document" "$(grep -cF "$doc" <<<"$out" || true)" "0"
check "application show masked document" "$(awk '$1 == "holder" {print $NF}' <<<"$out")" \
    "${doc:0:4}$(printf '%*s' $((${#doc} - 8)) '' | tr ' ' '*')${doc: -4}"
check "application show outlet" "$(awk '$1 == "outlet" {print $2}' <<<"$out")" \
    "$(sql "SELECT outlet_code FROM application WHERE upstream_id = '$first'")"
check "application show cards" "$(awk '$1 == "cards" {print $2}' <<<"$out")" "none"
check_rc "application show by number" 0 cl application show "$first_id"
check "application show by number names it" "$(head -1 <<<"$out" | tr -s ' ')" "application $first_id (upstream $first)"
cl application cancel "$first" --reason "applicant withdrew" >/dev/null
check_rc "application show cancelled" 0 cl application show "$first"
check "application show says why it was cancelled" "$(grep '^cancelled because' <<<"$out" | tr -s ' ')" \
    "cancelled because applicant withdrew"
check_rc "application show unknown" 1 cl application show NO-SUCH-APP
check "application show unknown says so" "$err" "cardline: no application 'NO-SUCH-APP'"

# --- photo profile: a built-in profile in the file format, which reads back as the same profile
check_rc "photo profile ssc" 0 cl photo profile ssc
check "photo profile names itself" "$(grep '^name = ' <<<"$out")" "name = ssc"
check "photo profile limits" "$(grep '^face_width ' <<<"$out" | tr -s ' ')" "face_width = 179..255"
printf '%s\n' "$out" >"$WORK/ssc.profile"
check_rc "photo profile FILE" 0 cl photo profile "$WORK/ssc.profile"
check "photo profile round trip" "$out" "$(cat "$WORK/ssc.profile")"
check_rc "photo profile unknown" 2 cl photo profile no-such-profile
check "photo profile unknown says so" "$(grep -c "unknown profile 'no-such-profile'" <<<"$err")" "1"

# --- account list / disable / password
echo "first-password-1" | cl account add op1 --role operator --password-stdin >/dev/null
echo "studio-password-1" | cl account add lens --role studio --studio SA --password-stdin >/dev/null
cl account token op1 >/dev/null
check_rc "account list" 0 cl account list
check "account list op1" "$(grep '^op1 ' <<<"$out" | tr -s ' ')" "op1 operator - active, has API token"
check "account list studio" "$(grep '^lens ' <<<"$out" | tr -s ' ')" "lens studio SA active"
check "account list rows" "$(wc -l <<<"$out")" "2"
check "account list --json" "$(cl account list --json | json_get '[(a["name"], a["role"], a.get("studio")) for a in d]')" \
    "[('lens', 'studio', 'SA'), ('op1', 'operator', None)]"

hash_before=$(sql "SELECT password_hash FROM account WHERE name = 'op1'")
sql "INSERT INTO session (id_hash, account_id, csrf, expires_at) SELECT repeat('a', 64), id, repeat('b', 64),
     clock_now() + interval '1 hour' FROM account WHERE name = 'op1'" >/dev/null
check_rc "account password" 0 cl account password op1 --password-stdin <<<"second-password-2"
check "account password says so" "$out" "new password for op1"
check "account password changed the hash" "$(sql "SELECT password_hash <> '$hash_before' FROM account WHERE name = 'op1'")" "t"
hash_second=$(sql "SELECT password_hash FROM account WHERE name = 'op1'")
check "account password ended the sessions" "$(sql "SELECT count(*) FROM session s JOIN account a ON a.id = s.account_id WHERE a.name = 'op1'")" "0"
check_rc "account password generated" 0 cl account password lens
check "account password shows a new one once" "$(sed -E 's/[A-Za-z0-9]{16}$/PASSWORD/' <<<"$out")" \
    "new password for lens; password (shown once): PASSWORD"
check_rc "account password too short" 2 cl account password op1 --password-stdin <<<"short"
check "account password too short changes nothing" "$(sql "SELECT password_hash = '$hash_second' FROM account WHERE name = 'op1'")" "t"
check_rc "account password unknown" 1 cl account password nobody --password-stdin <<<"third-password-3"
check "account password unknown says so" "$err" "cardline account password: no account nobody"

check_rc "account disable" 0 cl account disable op1
check "account disable says so" "$out" "disabled op1; its sessions and token no longer work"
check "account disable: listed disabled, token gone" "$(cl account list | grep '^op1 ' | tr -s ' ')" "op1 operator - disabled"
check "account disable revoked the token" "$(sql "SELECT token_id IS NULL AND disabled_at IS NOT NULL FROM account WHERE name = 'op1'")" "t"
check_rc "account disable unknown" 1 cl account disable nobody
check "account disable unknown says so" "$err" "cardline account disable: no account nobody"

# --- devices: with no card printer attached (CI and this machine have none) it says "none" and exits 0; when USB
# cannot be listed at all it says why and exits 1. PC/SC readers: listed, "none", or why they cannot be.
rc=0
cl devices >"$WORK/out" 2>"$WORK/err" || rc=$?
out=$(cat "$WORK/out")
if grep -q "cannot list USB devices" <<<"$out"; then
    check "devices: USB not listable exits 1" "$rc" "1"
else
    check "devices: exit status" "$rc" "0"
    check "devices: no printer attached says so" "$(sed -n '1,2p' <<<"$out" | tr -s ' ')" "Printers (USB):
 none"
    check "devices --json: no printers" "$(cl devices --json | json_get '(d["printers"], d["printers_error"])')" "([], None)"
fi
check "devices: readers section" "$(grep -c '^PC/SC readers:$' <<<"$out")" "1"
# the text says what the JSON says: why readers cannot be listed, "none", or the first reader's name
readers=$(cl devices --json | json_get '"  cannot list readers: " + d["readers_error"] if d["readers_error"] else "  " + d["readers"][0]["name"] if d["readers"] else "  none"')
check "devices: readers as in the JSON" "$(sed -n '/^PC\/SC readers:$/{n;p}' <<<"$out" | sed 's/ (card present)$//')" "$readers"

# render: the face as the printer gets it, by application number or by upstream id (the same bytes); after
# production it is the face the simulated printer received, card number included
cl gen applications 2 --seed 11 >/dev/null
app=$(sql "SELECT id FROM application WHERE status = 'pending' ORDER BY id LIMIT 1")
upstream=$(sql "SELECT upstream_id FROM application WHERE id = $app")
check_rc "render by number" 0 cl render --application "$app" --png "$WORK/by-id.png"
check_rc "render by upstream id" 0 cl render --application "$upstream" --png "$WORK/by-upstream.png"
check "render: number and upstream id draw the same face" \
    "$(cmp -s "$WORK/by-id.png" "$WORK/by-upstream.png" && echo same || echo differ)" "same"
check "render: a PNG of the card's size" "$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(d[:8]==b"\x89PNG\r\n\x1a\n", struct.unpack(">II", d[16:24]))' "$WORK/by-id.png")" "True (1016, 648)"
check_rc "render an unknown application" 1 cl render --application no-such-app --png "$WORK/none.png"
check "render an unknown application: the message" "$err" "cardline render: no application no-such-app"
cl run --lines 1 --until-empty >/dev/null 2>&1 || fail "a short production run failed"
card=$(sql "SELECT card_number FROM card WHERE application_id = $app AND status = 'good'")
check_rc "render after production" 0 cl render --application "$upstream" --png "$WORK/produced.png"
check "render after production: the printed face" \
    "$(cmp -s "$WORK/produced.png" "$WORK/faces/$card.png" && echo same || echo differ)" "same"

if [ "${CLI_ENTRIES_BREAK:-0}" = all ]; then
    [ "$survived" = 0 ] || fail "$survived of $checks checks did not fail when broken on purpose"
    echo "cli_entries: all $checks checks failed when broken on purpose"
    exit 0
fi
echo "cli_entries: $checks checks passed"
