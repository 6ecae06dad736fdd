#!/bin/bash
# units.sh — `systemd-analyze verify` passes, without a single warning, on every unit cardline installs, in a
# staging root where /usr/bin/cardline is the built binary (systemd need not be PID 1)
set -euo pipefail
: "${CARDLINE:?}" "${CARDLINE_SRC:?}" "${PKG_ROOT:?}"

fail() {
    echo "FAIL [units]: $*" >&2
    exit 1
}
if ! command -v systemd-analyze >/dev/null; then
    [ "${CI:-}" = true ] && fail "systemd-analyze missing in CI (Debian package systemd)"
    echo "SKIP: systemd-analyze not installed" >&2
    exit 77
fi

root=$PKG_ROOT/units
rm -rf "$root"
mkdir -p "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/cardline"
# the targets and sockets the units name (sysinit.target, timers.target, pcscd.socket ...) come from this
# machine's systemd
cp -a /lib/systemd/system/. "$root/lib/systemd/system/"
cp "$CARDLINE" "$root/usr/bin/cardline"
units=(cardline-db.service cardline-serve.service cardline-seal-due.service cardline-seal-due.timer
    cardline-run@.service)
for u in "${units[@]}"; do
    cp "$CARDLINE_SRC/tools/systemd/$u" "$root/lib/systemd/system/$u"
done
echo '{"lines": [{"id": "hall-a-1", "printer": "sim", "encoder": "sim"}]}' >"$root/etc/cardline/hall-a.json"

verify() {
    (cd / && systemd-analyze verify --root="$root" --man=no "$@" 2>&1)
}
# any word from verify is a problem: unknown keys are only warned about
out=$(verify cardline-db.service cardline-serve.service cardline-seal-due.service cardline-seal-due.timer \
    cardline-run@hall-a.service) || fail "verify failed: $out"
[ -z "$out" ] || fail "verify warned: $out"
echo "ok: the 5 units verify cleanly"

# the checks bite: a misspelt key and a missing binary are reported
sed 's/^Type=notify/Tpye=notify/' "$CARDLINE_SRC/tools/systemd/cardline-serve.service" \
    >"$root/lib/systemd/system/cardline-serve.service"
out=$(verify cardline-serve.service) || true
[[ "$out" == *"Unknown key"* ]] || fail "a misspelt key went unnoticed: $out"
cp "$CARDLINE_SRC/tools/systemd/cardline-serve.service" "$root/lib/systemd/system/"
rm "$root/usr/bin/cardline"
if out=$(verify cardline-serve.service); then
    fail "a missing /usr/bin/cardline went unnoticed: $out"
fi
echo "ok: verify reports a misspelt key and a missing binary"

# what each unit promises: notify with a watchdog for the long-running ones, hardening everywhere, device
# access only for the lines
key() { sed -n "s/^$2=//p" "$CARDLINE_SRC/tools/systemd/$1"; }
for u in cardline-run@.service cardline-serve.service; do
    [ "$(key $u Type)" = notify ] || fail "$u is not Type=notify"
    [ -n "$(key $u WatchdogSec)" ] || fail "$u has no WatchdogSec"
    [ "$(key $u Restart)" = on-failure ] || fail "$u does not restart on failure"
done
for u in cardline-run@.service cardline-serve.service cardline-db.service cardline-seal-due.service; do
    [ "$(key $u User)" = cardline ] || fail "$u does not run as cardline"
    for k in ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes ProtectHome=yes DevicePolicy=closed; do
        [ "$(key $u "${k%%=*}")" = "${k#*=}" ] || fail "$u lacks $k"
    done
done
[ "$(key cardline-run@.service DeviceAllow)" = "char-usb_device rw" ] || fail "the lines' device access changed"
for u in cardline-serve.service cardline-db.service cardline-seal-due.service; do
    [ "$(key $u PrivateDevices)" = yes ] || fail "$u may see devices"
    [ -z "$(key $u DeviceAllow)" ] || fail "$u is allowed a device"
done
echo "ok: notify, watchdog, restart, account, hardening and device access as intended"
