#!/usr/bin/env bash
# po.sh — the translations and the source agree: every message marked _() or N_() in producer/ (N_() in the
# device libraries printer/, photo/, encoder/) has a translation
# in each language's catalog (producer/po/<language>/*.po, merged as the build merges them; none fuzzy, none empty, formats matching), and no translation is of a message the
# source no longer has. The dashboard's messages count too: _('...') and N_('...') in producer/web/assets/*.js, and
# {{...}} in its pages (*.html), which the server replaces by their translations. Usage: po.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: po.sh SOURCE_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$src"
find producer -name '*.c' | sort >"$work/files"
xgettext --from-code=UTF-8 --language=C -k_ -kN_ --add-comments=TRANSLATORS --no-location \
    -f "$work/files" -o "$work/cardline.pot"
[ -s "$work/cardline.pot" ] || { echo "po.sh: no marked message found in producer/" >&2; exit 1; }
# the device libraries' messages (error names, photo advice) that producer/ translates where it shows them to a
# person: only what they mark N_() (-k alone drops xgettext's default keywords, so nothing else is collected)
find printer photo encoder -name '*.c' | sort >"$work/libfiles"
xgettext --from-code=UTF-8 --language=C -k -kN_ --no-location -j -f "$work/libfiles" -o "$work/cardline.pot"
# the pages' scripts, as JavaScript; their pages' {{message}} markers, as the C calls they stand for
xgettext --from-code=UTF-8 --language=JavaScript -k_ -kN_ --no-location -j -o "$work/cardline.pot" \
    producer/web/assets/*.js
for page in producer/web/assets/*.html; do
    grep -o '{{[^}]*}}' "$page" | sed -e 's/^{{//' -e 's/}}$//' -e 's/[\\"]/\\&/g' -e 's/.*/_("&");/'
done >"$work/pages.c"
[ -s "$work/pages.c" ] || { echo "po.sh: no {{message}} found in producer/web/assets/*.html" >&2; exit 1; }
xgettext --from-code=UTF-8 --language=C -k_ --no-location -j -o "$work/cardline.pot" "$work/pages.c"
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
