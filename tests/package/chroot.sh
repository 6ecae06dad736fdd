#!/bin/bash
# chroot.sh — the package on a clean Debian 12: mmdebstrap makes a bookworm root from the Debian mirror this
# machine uses, apt installs cardline's .deb into it in the same pass (so its Depends alone, resolved from Debian
# without Recommends, must bring everything it needs), and inside that root, from installed files only and as the
# cardline account the package made: --version, config check, db status (the private PostgreSQL cluster starts),
# a small production run on the simulated devices, db stop. Everything lives in a tmpfs of a private mount and
# PID namespace: the root, the cluster and any process left behind vanish with it, whatever happens.
# The .deb is the one package_deb built (fixture package_debfile; its path is in $PKG_ROOT/deb.path).
set -euo pipefail
: "${CARDLINE_SRC:?}" "${PKG_ROOT:?}"

fail() {
    echo "FAIL [chroot]: $*" >&2
    exit 1
}
skip() {
    [ "${CI:-}" = true ] && fail "$* (CI must run this test)"
    echo "SKIP: $*" >&2
    exit 77
}
# it costs minutes (Debian's packages are downloaded and installed each run): the maintainer may switch it off
# for a pipeline with CARDLINE_SKIP_CHROOT_TEST=1; the test never skips itself in CI otherwise
if [ "${CARDLINE_SKIP_CHROOT_TEST:-}" = 1 ]; then
    echo "SKIP: CARDLINE_SKIP_CHROOT_TEST=1 (the clean Debian 12 root is not tested)" >&2
    exit 77
fi
[ "$(id -u)" = 0 ] || skip "making a root and chrooting into it needs root"
for tool in mmdebstrap unshare chroot dpkg-deb apt-get; do
    command -v $tool >/dev/null || skip "$tool not installed (tools/packages.d/core.txt)"
done
[ -s "$PKG_ROOT/deb.path" ] || fail "no package: package_deb (fixture package_debfile) writes $PKG_ROOT/deb.path"
deb=$(cat "$PKG_ROOT/deb.path")
[ -f "$deb" ] || fail "$deb is gone"
# gen applications cuts its portraits from scikit-image's astronaut (python3-skimage, only Suggested: it pulls
# numpy and scipy); the test brings that one input file instead of the package
portrait=/usr/lib/python3/dist-packages/skimage/data/astronaut.png
[ -f $portrait ] || skip "$portrait missing (python3-skimage, tools/packages.d/photo.txt)"

# the Debian suites this machine installs from (a mirror or a snapshot), nothing else: a clean Debian 12 gets
# its security and stable updates too, and the package's Depends may name versions only they have
mapfile -t mirrors < <(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' |
    awk '$2 ~ /^bookworm(-updates|-security)?$/ { print "deb " $1 " " $2 " main" }' | sort -u)
[ ${#mirrors[@]} -gt 0 ] || skip "no Debian 12 (bookworm) suite in /etc/apt/sources.list* (apt-get update first)"
printf 'mirror: %s\n' "${mirrors[@]}"

work=$PKG_ROOT/chroot
rm -rf "$work"
mkdir -p "$work/mnt"
cp "$deb" "$work/"
cp $portrait "$work/"
version=$(dpkg-deb -f "$deb" Version)

cat >"$work/inside.sh" <<'INSIDE'
set -euo pipefail
mnt=$WORK/mnt
# a tmpfs: dpkg's many small writes and syncs cost nothing, and the root is gone when the namespace ends
mount -t tmpfs -o size=4g,mode=0755 none "$mnt"
root=$mnt/root
t0=$(date +%s)
# PATH without the user's shims: mmdebstrap runs Debian's own python3 and perl
# --variant=apt: Essential packages and apt; no Recommends, no documentation, man pages or translations (but
# cardline's own documentation, whose example configuration the run checks, and its translations); the
# package installs in the same apt run that resolves its Depends
# (apt, outside the root, hands the .deb's path to dpkg inside it: mmdebstrap's hook copies it to the same path
# there and removes it after)
env PATH=/usr/sbin:/usr/bin:/sbin:/bin mmdebstrap --variant=apt --mode=root --format=directory \
    --aptopt='APT::Install-Recommends "false"' --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --essential-hook='printf "%s\n" "path-exclude=/usr/share/man/*" "path-exclude=/usr/share/locale/*" \
        "path-exclude=/usr/share/doc/*" "path-include=/usr/share/doc/cardline/*" \
        "path-include=/usr/share/locale/*/LC_MESSAGES/cardline.mo" "path-exclude=/usr/share/info/*" \
        >"$1/etc/dpkg/dpkg.cfg.d/99-cardline-test"' \
    --include="$WORK/$(basename "$DEB")" \
    bookworm "$root" "${MIRRORS[@]}" >"$WORK/mmdebstrap.log" 2>&1 ||
    { cat "$WORK/mmdebstrap.log"; echo "FAIL: mmdebstrap"; exit 1; }
t1=$(date +%s)
echo "root made and cardline installed by apt in $((t1 - t0)) s"

# what a booted system has: /proc, /dev with a fresh /dev/shm (PostgreSQL's shared memory), a /tmp
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777 none "$root/dev/shm"
mount -t tmpfs -o mode=1777 none "$root/tmp"
mkdir -p "$root/tmp/portraits"
cp "$WORK/astronaut.png" "$root/tmp/portraits/"
chroot "$root" dpkg-query -W -f='${Status} ${Version}\n' cardline
chroot "$root" sh -c 'dpkg -l | grep -c "^ii"' | sed 's/^/installed packages: /'
chroot "$root" stat -c '%n %U:%G %a' /var/lib/cardline /etc/cardline/cardline.env

# as the units run it: the cardline account, the environment of /etc/cardline/cardline.env, nothing else
cat >"$root/tmp/as-cardline.sh" <<'AS'
set -euo pipefail
as() {
    runuser -u cardline -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/nonexistent \
        $(grep -E '^[A-Z_]+=' /etc/cardline/cardline.env) \
        CARDLINE_NOW=2026-06-10T10:00:00+08:00 CARDLINE_PORTRAIT_DIR=/tmp/portraits "$@"
}
as cardline --version
as cardline config check /usr/share/doc/cardline/examples/cardline.json
as cardline -q gen outlets
as cardline -q gen applications 5 --seed 11
as cardline db status
as cardline -q run --until-empty --lines 2
as cardline status --json >/tmp/status.json
echo "faces: $(ls /var/lib/cardline/faces | wc -l)"
as cardline db stop
AS
chroot "$root" bash /tmp/as-cardline.sh
cp "$root/tmp/status.json" "$WORK/status.json"
echo "ran inside the root in $(($(date +%s) - t1)) s"
INSIDE

t0=$(date +%s)
# a PID namespace too: a cluster a failed run leaves behind dies with it
unshare -m -p -f --propagation private env WORK="$work" DEB="$deb" MIRRORS_LIST="$(printf '%s\n' "${mirrors[@]}")" \
    bash -c 'mapfile -t MIRRORS <<<"$MIRRORS_LIST"; . "$WORK/inside.sh"' >"$work/run.out" 2>&1 ||
    fail "$(cat "$work/run.out")"
cat "$work/run.out"
# the CPU time says what the wall time would be on an idle machine (dpkg works on one core)
# (times itself in this shell: in a command substitution it would count the subshell's children only)
times >"$work/times"
cpu=$(tail -n 1 "$work/times" |
    awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
echo "wall: $(($(date +%s) - t0)) s for root, install and run; CPU: $cpu s; load: $(cut -d' ' -f1-3 /proc/loadavg)"

grep -qx "install ok installed $version" "$work/run.out" || fail "cardline not installed by apt"
grep -qx "/var/lib/cardline cardline:cardline 750" "$work/run.out" || fail "data directory not made by the postinst"
grep -qx "cardline ${version%-*}" "$work/run.out" || fail "--version"
grep -q '^database: reachable (private cluster)' "$work/run.out" || fail "db status: not reachable"
grep -q '^schema: .*(current)' "$work/run.out" || fail "db status: schema not current"
produced=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["applications"]["by_status"]["produced"])' \
    "$work/status.json" 2>/dev/null) || fail "status --json: $(cat "$work/status.json")"
[ "$produced" = 5 ] || fail "produced $produced of 5 applications"
grep -qx 'faces: 5' "$work/run.out" || fail "card faces written: $(grep faces: "$work/run.out")"
echo "ok: a clean Debian 12 root with cardline installed by apt; --version, config check, db status," \
    "5 applications produced with their faces, as the cardline account from installed files"
rm -rf "$work"
