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
# what an operator reads from the command line, Chinese by default and English on request: an import refused by
# a rule (the file's line, the field and the rule), an unknown outlet, the header of status
in_both() { # WHAT EXPECTED-ZH EXPECTED-EN ARGS... : cardline ARGS's output and errors hold each expected text
    local what=$1 zh=$2 en=$3 out
    shift 3
    out=$(env -u LANG CARDLINE_NOW=2026-06-10T10:00:00+08:00 "$CARDLINE" -q --data-dir "$dir" "$@" 2>&1 || true)
    grep -qF -- "$zh" <<<"$out" || fail "$what: not in Chinese by default (want '$zh'): $out"
    out=$(env LANGUAGE=en CARDLINE_NOW=2026-06-10T10:00:00+08:00 "$CARDLINE" -q --data-dir "$dir" "$@" 2>&1 || true)
    grep -qF -- "$en" <<<"$out" || fail "$what: not in English with LANGUAGE=en (want '$en'): $out"
    checks=$((checks + 1))
}
"$CARDLINE" -q --data-dir "$dir" gen outlets >/dev/null || fail "gen outlets failed"
"$CARDLINE" -q gen photo "$dir/a.jpg" --seed 11 || fail "gen photo failed"
header="upstream_id,kind,doc_type,doc_number,name,sex,ethnicity,birth_date,birth_place,outlet,bank,accepted_at,photo"
printf '%s\n%s\n' "$header" "L-1,new,resident_id,110105194912310021,李四,2,1,1949-12-31,110105,HR0101,,2026-06-09 10:00+08,a.jpg" \
    >"$dir/rule.csv"
in_both "an import refused by the check character" \
    "rule.csv:2: doc_number：证件号码 1101**********0021 校验码不符（按前 17 位应为 X），请核对号码" \
    "rule.csv:2: doc_number: document number 1101**********0021 fails its check character (the first 17 digits give X)" \
    import applications "$dir/rule.csv"
in_both "an import refused as a whole" "rule.csv: 1 行有误；未导入任何数据" "rule.csv: 1 bad row(s); nothing was imported" \
    import applications "$dir/rule.csv"
printf '%s\n%s\n' "$header" "L-2,new,resident_id,11010519491231002X,李四,2,1,1949-12-31,110105,HR9999,,2026-06-09 10:00+08,a.jpg" \
    >"$dir/outlet.csv"
in_both "an unknown outlet" "outlet.csv:2: 未知网点“HR9999”" "outlet.csv:2: unknown outlet 'HR9999'" \
    import applications "$dir/outlet.csv"
in_both "the header of status" "申请：" "Applications:" status
in_both "a number out of range" "cardline：--lines“99”须为 1 至 64 之间的数字" \
    "cardline: --lines '99' must be a number from 1 to 64" run --lines 99
# the device libraries' texts as producer/ shows them: photo/'s advice on a file that is no photo, its frame for a
# check not measured, and a measurement outside a (tight, hand-written) profile's limit with its advice
printf 'not an image' >"$dir/bad.jpg"
in_both "a photo library's advice" "照片既不是 JPEG 也不是 PNG" "photo is neither JPEG nor PNG" photo check "$dir/bad.jpg"
in_both "a photo check not measured" "未测量：文件无法解码" "not measured: the file could not be decoded" \
    photo check --verbose "$dir/bad.jpg"
printf 'name = tight\nversion = 1\nhead_top = 30..40\n' >"$dir/tight.profile"
in_both "a photo measurement out of range" "px 不在 30..40 px 范围内：头顶被裁掉或离上边缘太近" \
    "px is outside 30..40 px: the head is cut off or too close to the top edge" \
    photo check --profile "$dir/tight.profile" "$dir/a.jpg"
head -c 3000 "$dir/a.jpg" >"$dir/cut.jpg"
in_both "a photo message with a value, and the verdict" "cut.jpg：不合格（format.decode）" \
    "cut.jpg: FAIL (format.decode)" photo check "$dir/cut.jpg"
in_both "a photo message with a value" "照片文件不完整或已损坏（3000 字节）" "photo file is truncated or damaged (3000 bytes)" \
    photo check "$dir/cut.jpg"
# the help (producer/cli/help.c, translated in producer/po/zh_CN/help.po): Chinese by default, English with
# LANGUAGE=en, on standard output with exit 0 either way; commands, options and placeholders stay as they are
help_in() { # WHAT FIRST-LINE TEXT ENV... -- ARGS... : cardline ARGS --help's first line, and TEXT in it
    local what=$1 first=$2 text=$3 envs=() out
    shift 3
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    out=$(env "${envs[@]}" "$CARDLINE" "$@" --help 2>"$dir/help.err") || fail "$what: exits $?"
    [ -s "$dir/help.err" ] && fail "$what: writes to standard error: $(head -2 "$dir/help.err")"
    expect_eq "$what: first line" "$(head -1 <<<"$out")" "$first"
    grep -qF -- "$text" <<<"$out" || fail "$what: '$text' missing: $(head -5 <<<"$out")"
    checks=$((checks + 1))
}
help_in "cardline --help by default" "用法：cardline [--data-dir DIR] [--db CONNINFO] [-v|-q] COMMAND [ARGS]" \
    "  card         领卡后卡的管理：挂失、解除挂失、注销、黑名单" -u LANG --
help_in "cardline --help with LANGUAGE=en" "Usage: cardline [--data-dir DIR] [--db CONNINFO] [-v|-q] COMMAND [ARGS]" \
    "  card         a card's life after collection: loss reports" LANGUAGE=en LANG=zh_CN.UTF-8 --
help_in "a subcommand's help by default" "用法：cardline card report-lost CARD_NUMBER [--temporary] [--reason TEXT]" \
    "  --temporary  通过电话、网站或自助终端的挂失（口头挂失）" LANG=zh_CN.UTF-8 -- card report-lost
help_in "a subcommand's help with LANGUAGE=en" "Usage: cardline card report-lost CARD_NUMBER [--temporary] [--reason TEXT]" \
    "  --temporary  a report by phone, web or terminal" LANGUAGE=en -- card report-lost
# a bad usage shows the same usage, translated, on standard error
out=$(env -u LANG "$CARDLINE" card report-lost 2>&1 >/dev/null; echo "rc=$?")
grep -q "^用法：cardline card report-lost " <<<"$out" || fail "a bad usage's usage is not in Chinese: $out"
grep -qx "rc=2" <<<"$out" || fail "a bad usage does not exit 2: $out"
checks=$((checks + 1))
echo "language: $checks checks passed"
