#!/usr/bin/env bash
# language.sh — cardline speaks Simplified Chinese unless the environment names another language (LANGUAGE,
# LC_ALL, LC_MESSAGES, LANG; English then), with the catalog compiled from producer/po; the PostgreSQL programs it
# starts keep their own language
source "$(dirname "$0")/lib.sh"
require_postgres
unset LANGUAGE LC_ALL LC_MESSAGES
checks=0
says() { # WHAT EXPECTED ENV... : the first line cardline writes for an unknown command, in that environment
    local what=$1 expected=$2 got
    shift 2
    got=$(env "$@" "$CARDLINE" no-such-command 2>&1 >/dev/null | head -1 || true)
    expect_eq "$what" "$got" "$expected"
    checks=$((checks + 1))
}
zh="cardline：未知命令“no-such-command”"
en="cardline: unknown command 'no-such-command'"
says "no language named (LANG unset)" "$zh" -u LANG
says "LANG=C" "$zh" LANG=C
says "LANG=C.UTF-8" "$zh" LANG=C.UTF-8
says "LANG=zh_CN.UTF-8" "$zh" LANG=zh_CN.UTF-8
says "LANG=en_US.UTF-8" "$en" LANG=en_US.UTF-8
says "LANGUAGE=en over LANG=zh_CN.UTF-8" "$en" LANGUAGE=en LANG=zh_CN.UTF-8
says "LC_ALL=en_GB.UTF-8 over LANG=zh_CN.UTF-8" "$en" LC_ALL=en_GB.UTF-8 LANG=zh_CN.UTF-8
says "LANGUAGE=zh_CN:en over LC_ALL=en_US.UTF-8" "$zh" LANGUAGE=zh_CN:en LC_ALL=en_US.UTF-8
says "LANGUAGE's first language cardline has (fr has no catalog: English)" "$en" LANGUAGE=fr:zh_CN

# PostgreSQL's programs started by a Chinese-speaking cardline (initdb, pg_ctl: they ship zh_CN catalogs) write
# their logs in their own language, not the one cardline set for itself
dir="$IT_ROOT/language-$$"
trap '"$CARDLINE" -q --data-dir "$dir" db destroy --yes >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
env -u LANG "$CARDLINE" -q --data-dir "$dir" db start >/dev/null || fail "db start failed"
# as root the cluster lives under /var/lib/cardline/clusters, linked from the data directory
server_log=$(find -L "$dir" -name server.log | head -1)
[ -n "$server_log" ] || fail "no server.log under $dir"
# the server's own words for being up; translated, they would show as Chinese (or as '?' in its C.UTF-8 log)
grep -q "database system is ready to accept connections" "$server_log" ||
    fail "PostgreSQL's log is not in its own language: cardline's language leaked into its children: $(tail -2 "$server_log")"
checks=$((checks + 1))

# the C library's own words inside a Chinese message (strerror) come out readable, never as '?' for each
# character the C locale cannot show
printf '{ "lines": [ {"id": "L1", "printer": "sim", "encoder": "sim"} ], "key_service": "soft:%s" }\n' \
    "$dir/no-such.key" >"$dir/keys.json"
out=$(env -u LANG "$CARDLINE" -q --data-dir "$dir" config check "$dir/keys.json" 2>&1 || true)
grep -q "no-such.key" <<<"$out" || fail "the missing key file is not named: $out"
if grep -q '??' <<<"$out"; then
    fail "a message in Chinese shows '?' for characters: $out"
fi
checks=$((checks + 1))
echo "language: $checks checks passed"
