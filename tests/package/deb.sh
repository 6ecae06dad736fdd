#!/bin/bash
# deb.sh — tools/package makes cardline_<version>-<revision>_amd64.deb with its dependencies and conffile, Debian
# policy's copyright (DEP-5) and changelog.Debian.gz, man pages gzip -9n, and lintian finds no error in it (each
# accepted warning overridden with its reason); it installs on this machine with dpkg -i, its units verify in
# place, and cardline runs from installed paths only (the source and build trees hidden): --version, db status, a
# small production run with card faces, man pages. The package is purged at the end and the machine left as it
# was. The .deb stays for package_chroot ($PKG_ROOT/deb.path).
set -euo pipefail
: "${CARDLINE_SRC:?}" "${PKG_ROOT:?}"

fail() {
    echo "FAIL [deb]: $*" >&2
    exit 1
}
skip() {
    [ "${CI:-}" = true ] && fail "$* (CI must run this test)"
    echo "SKIP: $*" >&2
    exit 77
}
[ "$(id -u)" = 0 ] || skip "installing a package needs root"
for tool in cpack dpkg-shlibdeps dpkg-deb unshare runuser systemd-analyze lintian man; do
    command -v $tool >/dev/null || skip "$tool not installed (tools/packages.d/core.txt)"
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || skip "PostgreSQL server not installed"
if dpkg -s cardline >/dev/null 2>&1; then
    fail "a cardline package is installed already; this test would replace and remove it"
fi

# --- the package ----------------------------------------------------------------------------------------------
mkdir -p "$PKG_ROOT"
rm -f "$PKG_ROOT/deb.path" "$PKG_ROOT"/out/cardline_*.deb
deb=$("$CARDLINE_SRC/tools/package" "$PKG_ROOT/build" "$PKG_ROOT/out" | tail -n 1)
version=$(sed -n 's/^project(cardline VERSION \([0-9.]*\).*/\1/p' "$CARDLINE_SRC/CMakeLists.txt")
[ "$(basename "$deb")" = "cardline_${version}-1_amd64.deb" ] || fail "package named $(basename "$deb")"
[ "$(dpkg-deb -f "$deb" Version)" = "${version}-1" ] || fail "Version: $(dpkg-deb -f "$deb" Version)"
echo "ok: built $(basename "$deb")"

# lintian (Debian's own checks of a package): no error at all; a warning only where an override in
# tools/systemd/debian/lintian-overrides says why it does not apply
lint=0
lintian --fail-on error,warning --tag-display-limit 0 --display-info "$deb" \
    >"$PKG_ROOT/lintian.out" 2>&1 || lint=$?
sed 's/^/  lintian: /' "$PKG_ROOT/lintian.out"
if grep -q '^E: ' "$PKG_ROOT/lintian.out"; then fail "lintian errors: $(grep '^E: ' "$PKG_ROOT/lintian.out")"; fi
if grep -q '^W: ' "$PKG_ROOT/lintian.out"; then
    fail "lintian warnings without an override: $(grep '^W: ' "$PKG_ROOT/lintian.out")"
fi
[ $lint = 0 ] || fail "lintian failed (exit $lint)"
echo "ok: lintian reports no error and no warning that is not overridden with a reason"

depends=$(dpkg-deb -f "$deb" Depends)
for d in postgresql opencv-data fonts-noto-cjk libpq5 libsystemd0 libjson-c5 libcairo2 libusb-1.0-0 \
    libpcsclite1 libmicrohttpd12; do
    [[ ", $depends" == *", $d"* ]] || fail "Depends lacks $d: $depends"
done
echo "ok: Depends names the libraries (dpkg-shlibdeps) and postgresql, opencv-data, fonts-noto-cjk"

files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/cardline ./usr/share/cardline/layouts/ssc-front.json ./etc/cardline/cardline.env \
    ./lib/systemd/system/cardline-run@.service ./lib/systemd/system/cardline-serve.service \
    ./lib/systemd/system/cardline-db.service ./lib/systemd/system/cardline-seal-due.service \
    ./lib/systemd/system/cardline-seal-due.timer ./usr/lib/sysusers.d/cardline.conf \
    ./usr/lib/tmpfiles.d/cardline.conf ./usr/share/doc/cardline/examples/cardline.json \
    ./lib/udev/rules.d/60-cardline.rules ./usr/share/doc/cardline/copyright \
    ./usr/share/doc/cardline/changelog.Debian.gz ./usr/share/lintian/overrides/cardline; do
    grep -qxF "$f" <<<"$files" || fail "the package lacks $f"
done
if grep -E '\.py$|vcard|usbprinter|/test' <<<"$files"; then
    fail "development files in the package"
fi
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)
[ "$conffiles" = /etc/cardline/cardline.env ] || fail "conffiles: $conffiles"
echo "ok: binary, layout, units, account, tmpfiles, udev rule, example and conffile; no development files"

man_pages=yes
if ! grep -q '^./usr/share/man/man1/cardline-dispatch\.1\.gz$' <<<"$files"; then
    [ "${CI:-}" = true ] && fail "the package has no man pages"
    echo "note: the package has no man pages yet (no cardline_man target); man checks skipped locally" >&2
    man_pages=no
fi

# Debian policy's documentation: a machine-readable copyright (DEP-5) and the changelog, both as policy wants
# them; gzip -9n (no name, no time stamp, best compression) for the changelog and every man page
docs=$(mktemp -d)
dpkg-deb -x "$deb" "$docs"
head -n 1 "$docs/usr/share/doc/cardline/copyright" | grep -qx \
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' || fail "copyright is not DEP-5"
for field in '^Files: \*$' '^Copyright: ' '^License: '; do
    grep -q "$field" "$docs/usr/share/doc/cardline/copyright" || fail "copyright lacks $field"
done
zcat "$docs/usr/share/doc/cardline/changelog.Debian.gz" | head -n 1 | grep -q "^cardline (${version}-1) " ||
    fail "changelog.Debian.gz does not start with ${version}-1"
gzipped=0
for gz in "$docs"/usr/share/doc/cardline/changelog.Debian.gz "$docs"/usr/share/man/man1/*.gz; do
    [ -f "$gz" ] || continue
    # gzip's header: FLG byte 3 has no FNAME bit (0x08), MTIME bytes 4-7 are zero, XFL byte 8 is 2 (-9)
    header=$(od -An -tu1 -N9 "$gz" | tr -s ' ')
    [ "$header" = " 31 139 8 0 0 0 0 0 2" ] || fail "$(basename "$gz") not gzip -9n: header$header"
    gzipped=$((gzipped + 1))
done
rm -rf "$docs"
[ $man_pages = no ] || [ $gzipped -gt 2 ] || fail "only $gzipped gzipped files"
echo "ok: DEP-5 copyright, changelog.Debian.gz ${version}-1, $gzipped files gzip -9n"

# --- install, and leave the machine as it was -------------------------------------------------------------------
had_account=no
getent passwd cardline >/dev/null && had_account=yes
had_etc=no
[ -e /etc/cardline ] && had_etc=yes
varlib_mode=
[ -d /var/lib/cardline ] && varlib_mode=$(stat -c '%a %U:%G' /var/lib/cardline)
data=$(mktemp -d /tmp/cardline-pkg.XXXXXX)
cleanup() {
    # a private cluster left running by a failed run must not hold the data directory
    if [ -x /usr/bin/cardline ]; then
        runuser -u cardline -- /usr/bin/cardline -q --data-dir "$data" db stop >/dev/null 2>&1 || true
    fi
    dpkg --purge cardline >/dev/null 2>&1 || true
    rm -rf "$data"
    [ $had_etc = yes ] || rmdir /etc/cardline 2>/dev/null || true
    if [ -n "$varlib_mode" ]; then
        chmod "${varlib_mode%% *}" /var/lib/cardline
        chown "${varlib_mode#* }" /var/lib/cardline
    else
        rmdir /var/lib/cardline 2>/dev/null || true
    fi
    [ $had_account = yes ] || userdel cardline 2>/dev/null || true
}
trap cleanup EXIT

dpkg -i "$deb" >"$PKG_ROOT/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$PKG_ROOT/dpkg.log")"
getent passwd cardline >/dev/null || fail "no cardline account after installing"
[ "$(stat -c '%U:%G %a' /var/lib/cardline)" = "cardline:cardline 750" ] || fail "/var/lib/cardline: $(stat -c '%U:%G %a' /var/lib/cardline)"
[ "$(stat -c '%U:%G %a' /etc/cardline/cardline.env)" = "root:cardline 640" ] || fail "cardline.env permissions"
echo "ok: dpkg -i installed it; account, data directory and /etc/cardline are there"

out=$(cd / && systemd-analyze verify --man=no cardline-db.service cardline-serve.service cardline-seal-due.timer \
    cardline-seal-due.service cardline-run@hall-a.service 2>&1) || fail "installed units: $out"
[ -z "$out" ] || fail "installed units warn: $out"
echo "ok: the installed units verify"

# --- run from installed paths only --------------------------------------------------------------------------
chown cardline:cardline "$data"
cp /usr/share/doc/cardline/examples/cardline.json "$data/example.json"
cat >"$data/run.sh" <<'RUN'
set -euo pipefail
# nothing of the source or build trees can be read from here on
for d in $HIDE; do
    mount -t tmpfs -o ro,mode=0755 none "$d"
    [ -z "$(ls -A "$d")" ] || { echo "FAIL: $d still visible"; exit 1; }
done
as() {
    runuser -u cardline -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/nonexistent CARDLINE_DATA_DIR="$DATA" \
        CARDLINE_NOW="$NOW" "$@"
}
as cardline --version
as cardline config check "$DATA/example.json"
as cardline -q gen outlets
as cardline -q gen applications 5 --seed 11
as cardline db status
as cardline -q run --until-empty --lines 2
as cardline status --json >"$DATA/status.json"
ls "$DATA/faces" | wc -l >"$DATA/faces.count"
if [ "$MAN" = yes ]; then
    man -w cardline-dispatch
    man -w cardline
    # rendered as a person reads it (the gzipped page through man's own pipeline)
    MANPAGER=cat MANWIDTH=100 man cardline-dispatch 2>/dev/null | grep -m1 -o '^NAME' | sed 's/^/man page: /'
    MANPAGER=cat MANWIDTH=100 man cardline-dispatch 2>/dev/null | grep -m1 -o 'cardline dispatch seal-due' |
        sed 's/^/man page: /'
fi
as cardline db stop
RUN
# the source tree and the build tree (the one holding this test's package build)
# the build tree first: when it lies inside the source tree, the source's tmpfs would hide its mount point
hide="$(dirname "$PKG_ROOT") $CARDLINE_SRC"
unshare -m --propagation private env DATA="$data" NOW="2026-06-10T10:00:00+08:00" MAN=$man_pages HIDE="$hide" \
    bash "$data/run.sh" >"$PKG_ROOT/run.out" 2>"$PKG_ROOT/run.err" ||
    fail "running from installed paths: $(cat "$PKG_ROOT/run.out" "$PKG_ROOT/run.err")"
cat "$PKG_ROOT/run.out"
grep -qx "cardline $version" "$PKG_ROOT/run.out" || fail "--version"
grep -q '^database: reachable (private cluster)' "$PKG_ROOT/run.out" || fail "db status: not reachable"
grep -q '^schema: .*(current)' "$PKG_ROOT/run.out" || fail "db status: schema not current"
produced=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["applications"]["by_status"]["produced"])' \
    "$data/status.json" 2>/dev/null) || fail "status --json: $(cat "$data/status.json")"
[ "$produced" = 5 ] || fail "produced $produced of 5 applications"
[ "$(cat "$data/faces.count")" = 5 ] || fail "card faces written: $(cat "$data/faces.count")"
if [ $man_pages = yes ]; then
    grep -qx '/usr/share/man/man1/cardline-dispatch.1.gz' "$PKG_ROOT/run.out" || fail "man -w cardline-dispatch"
    grep -qx 'man page: NAME' "$PKG_ROOT/run.out" || fail "man cardline-dispatch shows no page"
    grep -qx 'man page: cardline dispatch seal-due' "$PKG_ROOT/run.out" || fail "man cardline-dispatch lacks seal-due"
fi
echo "ok: --version, db status, 5 applications produced with their faces, from installed paths with the source and build trees hidden"

# --- and gone again ---------------------------------------------------------------------------------------------
runuser -u cardline -- /usr/bin/cardline -q --data-dir "$data" db stop >/dev/null 2>&1 || true
dpkg --purge cardline >"$PKG_ROOT/dpkg.log" 2>&1 || fail "dpkg --purge: $(cat "$PKG_ROOT/dpkg.log")"
for f in /usr/bin/cardline /lib/systemd/system/cardline-serve.service /etc/cardline/cardline.env; do
    [ ! -e $f ] || fail "$f left after purging"
done
echo "ok: purged"
echo "$deb" >"$PKG_ROOT/deb.path"
