#!/usr/bin/env bash
# po.sh — the translations and the source agree: every message marked _() or N_() in producer/ has a translation
# in each language's catalog (producer/po/<language>/*.po, merged as the build merges them; none fuzzy, none empty, formats matching), and no translation is of a message the
# source no longer has. Usage: po.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: po.sh SOURCE_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$src"
find producer -name '*.c' | sort >"$work/files"
xgettext --from-code=UTF-8 --language=C -k_ -kN_ --add-comments=TRANSLATORS --no-location \
    -f "$work/files" -o "$work/cardline.pot"
[ -s "$work/cardline.pot" ] || { echo "po.sh: no marked message found in producer/" >&2; exit 1; }
status=0
for dir in producer/po/*/; do
    lang=$(basename "$dir")
    po="$work/$lang.po"
    # the parts merged as the build does; a message translated in two parts is an error (one home each)
    if ! msgcat --use-first -o "$po" "$dir"*.po; then
        echo "po.sh: $lang: the parts in $dir do not merge" >&2
        status=1
        continue
    fi
    dups=$(msgcat --more-than=1 "$dir"*.po | grep -c '^msgid "[^"]' || true)
    if [ "$dups" -gt 0 ]; then
        echo "po.sh: $lang: $dups message(s) translated in more than one part of $dir:" >&2
        msgcat --more-than=1 "$dir"*.po | grep '^msgid "[^"]' >&2
        status=1
    fi
    # every message of the source is in the translation, and every translation's message is in the source
    if ! msgcmp "$po" "$work/cardline.pot" 2>"$work/missing"; then
        echo "po.sh: $lang lacks messages of the source:" >&2
        cat "$work/missing" >&2
        status=1
    fi
    if ! msgcmp --use-untranslated "$work/cardline.pot" "$po" 2>"$work/stale" >/dev/null; then
        echo "po.sh: $lang translates messages the source no longer has:" >&2
        cat "$work/stale" >&2
        status=1
    fi
    stats=$(msgfmt -c --statistics -o /dev/null "$po" 2>&1) || { echo "po.sh: $lang: $stats" >&2; status=1; }
    if grep -qE "fuzzy|untranslated" <<<"$stats"; then
        echo "po.sh: $lang: $stats" >&2
        status=1
    fi
    echo "$lang: $stats"
done
exit $status
