#!/usr/bin/env bash
# help.sh — every command and subcommand answers --help and -h with its own usage on standard output, exit 0 and
# no side effect; README.md shows only commands, subcommands and options that --help knows; every option a parser
# in producer/cli/ takes is in its command's help; the man pages made from --help render without warnings. All of
# that in English (LANGUAGE=en); the Chinese help (the default) keeps each text's synopsis, commands and options.
#   help.sh CARDLINE SOURCE_DIR [MAN_DIR]
# The commands are read from `cardline --help`, the subcommands from each command's --help ("Commands:"); the
# list below only cross-checks that none went missing.
set -uo pipefail
bin=${1:?usage: help.sh CARDLINE SOURCE_DIR [MAN_DIR]}
src=${2:?usage: help.sh CARDLINE SOURCE_DIR [MAN_DIR]}
man_dir=${3:-}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
[ -x "$bin" ] || { echo "help: $bin is not an executable" >&2; exit 1; }
expected="run status summary risk import gen outlet application card calendar stock config shipment dispatch serve
account photo chip render devices clock db"
declare -A expected_subs=(
    [db]="start stop status migrate conninfo destroy backup restore" [import]="applications"
    [gen]="applications outlets photo" [outlet]="list add" [application]="list show cancel release"
    [card]="report-lost withdraw-loss cancel temporary return-temporary blacklist" [calendar]="import deadline workdays years"
    [stock]="issue return sample report" [config]="check apply" [shipment]="export"
    [dispatch]="list show seal seal-due label manifest send receive collect activate return lost overdue uncollected
                track"
    [account]="add list disable password token" [photo]="check verify receipt profile"
    [chip]="read personalize readers unlock-pin")
bad=0
complain() { echo "help: $*" >&2; bad=1; }
command -v python3 >/dev/null || { echo "help: python3 is needed" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/cwd" "$work/out"
fresh=$work/fresh-data-dir
# every place cardline could make a data directory or find a database, pointed at paths that must stay absent
export CARDLINE_DATA_DIR=$work/env-data-dir XDG_DATA_HOME=$work/xdg HOME=$work/home PGHOST=$work/no-pg
unset CARDLINE_NOW CARDLINE_NOW_ANCHOR
# the English texts, which README.md and the parsers are checked against; the Chinese ones (the default) must
# keep their structure (check_zh below)
unset LC_ALL LC_MESSAGES
export LANGUAGE=en

# ask NAME ARGS...: runs cardline ARGS in an empty directory; output in $work/out/NAME.{out,err}, status in $rc
ask() {
    local name=$1
    shift
    (cd "$work/cwd" && "$bin" --data-dir "$fresh" "$@" >"$work/out/$name.out" 2>"$work/out/$name.err")
    rc=$?
}
# commands_of FILE: the names under "Commands:" in a help text
commands_of() {
    awk '/^Commands:$/ { on = 1; next } on && /^  [a-z]/ { print $1; next } on && !/^ / { on = 0 }' "$1"
}
# check_help NAME "USAGE PREFIX" ARGS...: --help and -h both answer with that usage, on stdout, exit 0
check_help() {
    local name=$1 prefix=$2 flag
    shift 2
    for flag in --help -h; do
        ask "$name$flag" "$@" "$flag"
        [ "$rc" = 0 ] || complain "'cardline $* $flag' exits $rc: $(head -3 "$work/out/$name$flag.err")"
        [ -s "$work/out/$name$flag.out" ] || complain "'cardline $* $flag' prints nothing on standard output"
        [ -s "$work/out/$name$flag.err" ] && complain "'cardline $* $flag' writes to standard error"
        head -1 "$work/out/$name$flag.out" | grep -q "^$prefix\( \|$\)" ||
            complain "'cardline $* $flag' does not start with '$prefix': $(head -1 "$work/out/$name$flag.out")"
    done
    cmp -s "$work/out/$name--help.out" "$work/out/$name-h.out" || complain "'cardline $*': -h and --help differ"
    cp "$work/out/$name--help.out" "$work/out/$name.help"
    check_zh "$name" "$@"
}
# check_zh NAME ARGS...: the same help in Chinese (the default language) into $work/out/NAME.zh, on stdout with
# exit 0; help_readme.py compares it with the English one
check_zh() {
    local name=$1 zh_file=$work/out/$1.zh
    shift
    (cd "$work/cwd" && env -u LANGUAGE LANG=zh_CN.UTF-8 "$bin" --data-dir "$fresh" "$@" --help \
        >"$zh_file" 2>"$zh_file.err") ||
        complain "'cardline $* --help' in Chinese fails: $(head -3 "$zh_file.err")"
    [ -s "$zh_file.err" ] && complain "'cardline $* --help' in Chinese writes to standard error"
}

check_help top "Usage: cardline"
ask plain
[ "$rc" = 2 ] || complain "cardline without a command exits $rc, want 2"
commands=$(commands_of "$work/out/top.help")
for c in $expected; do
    grep -qx "$c" <<<"$commands" || complain "'cardline --help' does not list the command '$c'"
done
pairs=0
for c in $commands; do
    check_help "$c" "Usage: cardline $c" "$c"
    subs=$(commands_of "$work/out/$c.help")
    for s in ${expected_subs[$c]:-}; do
        grep -qx -- "$s" <<<"$subs" || complain "'cardline $c --help' does not list the subcommand '$s'"
    done
    # what the help lists, and what it should list: each must answer with its own usage
    for s in $(printf '%s\n' $subs ${expected_subs[$c]:-} | sort -u); do
        check_help "$c.$s" "Usage: cardline $c $s" "$c" "$s"
        # its own usage, not the command's: the sub's help is not the group's text again
        cmp -s "$work/out/$c.help" "$work/out/$c.$s.help" && complain "'cardline $c $s --help' prints the group's help"
        # also with arguments around it, as an operator types it half-way through a command
        ask "$c.$s.late" "$c" "$s" ARG --help
        cmp -s "$work/out/$c.$s.help" "$work/out/$c.$s.late.out" ||
            complain "'cardline $c $s ARG --help' does not print the usage of '$c $s' (exit $rc)"
        pairs=$((pairs + 1))
    done
done
# no side effect: no data directory, no database, nothing written where the commands ran
for d in "$fresh" "$work/env-data-dir" "$work/xdg" "$work/home" "$work/no-pg"; do
    [ -e "$d" ] && complain "--help created $d: $(find "$d" | head -5 | tr '\n' ' ')"
done
[ -z "$(ls -A "$work/cwd")" ] || complain "--help wrote into the working directory: $(ls -A "$work/cwd")"
echo "help: walked $(wc -w <<<"$commands") commands and $pairs subcommands with --help and -h"

# README.md against --help, the parsers' options against --help, the Chinese help against the English one
# (tests/lint/help_readme.py says how)
python3 "$(dirname "$0")/help_readme.py" "$src" "$work/out" || bad=1

# the man pages made from the same texts
if [ -n "$man_dir" ]; then
    for page in cardline $(sed 's/^/cardline-/' <<<"$commands"); do
        f=$man_dir/man1/$page.1
        [ -s "$f" ] || { complain "no man page $f"; continue; }
        warnings=$(LC_ALL=C.UTF-8 groff -k -man -Tutf8 -ww -z "$f" 2>&1)
        [ -z "$warnings" ] || complain "$page.1: groff warns: $warnings"
        text=$(MANWIDTH=100 MANPAGER=cat PAGER=cat man -l "$f" 2>&1) || complain "man -l $f failed: $text"
        name=${page#cardline-}
        [ "$page" = cardline ] && continue
        # every subcommand of the command has its section in the page
        for s in $(commands_of "$work/out/$name.help"); do
            grep -q "cardline $name $s" <<<"$text" || complain "$page.1 does not describe 'cardline $name $s'"
        done
    done
    echo "help: man pages in $man_dir render without warnings and describe every subcommand"
fi

[ "$bad" -eq 0 ] && echo "help: --help, README.md, the parsers and the man pages agree"
exit "$bad"
