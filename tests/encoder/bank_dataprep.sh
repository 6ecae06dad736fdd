#!/usr/bin/env bash
# bank_dataprep.sh — tools/bank-dataprep and the encoder agree: the files it writes parse with
# encoder_bank_data_parse and personalise the simulated card with the soft key service of the same key file
# (test_bank_sim DIR), a --corrupt file is refused, reruns write the same files, bad input is refused.
# Usage: bank_dataprep.sh TOOL TEST_BANK_SIM
set -euo pipefail
tool=$1
test_bank_sim=$2
if ! python3 -c 'import cryptography' 2>/dev/null; then
    echo "python3-cryptography is missing (tools/packages.d/encoder.txt)" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
# the root test_bank_sim's key service and simulated card use
echo "00112233 44556677 8899AABB CCDDEEFF" >"$work/issuer.key"
fail() { echo "FAIL: $*" >&2; exit 1; }

cat >"$work/apps.csv" <<'CSV'
upstream_id,kind,name,name_pinyin,bank,outlet
SQ0000002A-00001,new,张三,Zhang San,中国建设银行,GZ01
SQ0000002A-00002,new,李四,,中国工商银行,GZ01
SQ0000002A-00003,new,Wang Wu,,韶关农村商业银行,SG01
SQ0000002A-00004,new,赵六,ZHAO LIU,,GZ01
SQ0000002A-00005,new,钱七,QIAN QI,中国建设银行,GZ01
CSV
"$tool" --key-file "$work/issuer.key" --out "$work/a" --stripe --corrupt SQ0000002A-00005 \
    <"$work/apps.csv" >"$work/out.txt"
grep -q "4 file(s) written" "$work/out.txt" || fail "$(cat "$work/out.txt")"
grep -q "1 application(s) without a bank skipped" "$work/out.txt" || fail "no bank, no file"
[ ! -e "$work/a/SQ0000002A-00004.bank" ] || fail "a file for an application without a bank"
f1="$work/a/SQ0000002A-00001.bank"
grep -qx "APPLICATION=SQ0000002A-00001" "$f1" || fail "APPLICATION line"
grep -qx "BANK=中国建设银行" "$f1" || fail "BANK line"
grep -q "^STRIPE_TRACK1=B[0-9]\{19\}^ZHANG/SAN^" "$f1" || fail "track 1: $(grep STRIPE_TRACK1 "$f1")"
grep -q "^STRIPE_TRACK1=B[0-9]\{19\}^ /^" "$work/a/SQ0000002A-00002.bank" || fail "track 1 without a Latin name"
grep -q "^STRIPE_TRACK1=B[0-9]\{19\}^WANG/WU^" "$work/a/SQ0000002A-00003.bank" || fail "track 1 from a Latin name"
[ "$(stat -c %a "$f1")" = 600 ] || fail "mode $(stat -c %a "$f1")"
# the same bank, the same IIN; another bank, another
iin() { sed -n 's/^PAN=\(......\).*/\1/p' "$work/a/$1.bank"; }
[ "$(iin SQ0000002A-00001)" = "$(iin SQ0000002A-00005)" ] || fail "one bank, two IINs"
[ "$(iin SQ0000002A-00001)" != "$(iin SQ0000002A-00002)" ] || fail "two banks, one IIN"
# a rerun writes the same files
"$tool" --key-file "$work/issuer.key" --out "$work/b" --stripe --corrupt SQ0000002A-00005 <"$work/apps.csv" >/dev/null
diff -r "$work/a" "$work/b" >/dev/null || fail "a rerun wrote other files"
# the encoder parses and personalises every file; the corrupt one is refused
"$test_bank_sim" "$work/a" >"$work/sim.txt" 2>&1 || { cat "$work/sim.txt"; fail "test_bank_sim on the tool's files"; }
grep -q "3 files personalised, 1 refused as meant" "$work/sim.txt" || { cat "$work/sim.txt"; fail "counts"; }
grep -q "SQ0000002A-00005.bank: refused as it should be: line [0-9]* (DGI0102): tag 5A differs from PAN" \
    "$work/sim.txt" || { cat "$work/sim.txt"; fail "the corrupt file's cause"; }
# without --stripe: no tracks; another transport key label
"$tool" --key-file "$work/issuer.key" --out "$work/c" --transport-key BANKTK2 <"$work/apps.csv" >/dev/null
! grep -q STRIPE_TRACK "$work/c/SQ0000002A-00001.bank" || fail "tracks without --stripe"
grep -qx "TRANSPORT_KEY=BANKTK2" "$work/c/SQ0000002A-00001.bank" || fail "transport key label"
"$test_bank_sim" "$work/c" >/dev/null 2>&1 || fail "personalising with transport key BANKTK2"
# refusals: usage 2, input 1, each with a message
expect_fail() {
    local want=$1 code=$2
    shift 2
    set +e
    "$@" >"$work/err.txt" 2>&1
    local rc=$?
    set -e
    [ "$rc" = "$code" ] || fail "exit $rc, want $code: $*"
    grep -q -- "$want" "$work/err.txt" || fail "want '$want': $(cat "$work/err.txt")"
}
expect_fail "required" 2 "$tool" --out "$work/d"
printf 'upstream_id,name\nX1,A\n' >"$work/nobank.csv"
expect_fail "line 1: the header needs upstream_id, bank" 1 sh -c "\"$tool\" --key-file \"$work/issuer.key\" --out \"$work/d\" <\"$work/nobank.csv\""
printf 'upstream_id,bank,name\nX/1,中国银行,A\n' >"$work/badid.csv"
expect_fail "line 2 (upstream_id)" 1 sh -c "\"$tool\" --key-file \"$work/issuer.key\" --out \"$work/d\" <\"$work/badid.csv\""
printf 'upstream_id,bank,name\nX1,中国 银行,A\n' >"$work/badbank.csv"
expect_fail "line 2 (bank)" 1 sh -c "\"$tool\" --key-file \"$work/issuer.key\" --out \"$work/d\" <\"$work/badbank.csv\""
expect_fail "no application with a bank has upstream id NOPE" 1 sh -c "\"$tool\" --key-file \"$work/issuer.key\" --out \"$work/d\" --corrupt NOPE <\"$work/apps.csv\""
chmod 644 "$work/issuer.key"
expect_fail "readable by group or others" 1 sh -c "\"$tool\" --key-file \"$work/issuer.key\" --out \"$work/d\" <\"$work/apps.csv\""
"$tool" --help | grep -q "^usage: tools/bank-dataprep --key-file KEYFILE --out DIR" || fail "--help"
echo "bank_dataprep: ok"
