#!/usr/bin/env bash
# pcsc-env.sh — run one test command beside its own pcscd (1.9.9, foreground) with the vpcd reader driver.
# The daemon lives in private namespaces: mount (its own /run/pcscd, whose socket path pcscd fixes), network (its
# own 127.0.0.1, so vpcd's ports 35963/35964 never collide with a parallel test) and pid (when the test ends,
# the kernel ends every process it started). Inside, PCSC_LOG names pcscd's log; the readers are
# "Virtual PCD 00 00" (port 35963) and "Virtual PCD 00 01" (port 35964).
# Locally a missing pcscd/vpcd/namespace support skips (77); with CI=true it fails.
set -euo pipefail

skip() {
    if [ "${CI:-}" = "true" ]; then
        echo "FAIL: $* (required in CI)" >&2
        exit 1
    fi
    echo "SKIP: $*" >&2
    exit 77
}

VPCD_DRIVER=${VPCD_DRIVER:-/usr/lib/pcsc/drivers/serial/libifdvpcd.so}

if [ "${PCSC_ENV_INSIDE:-}" != "1" ]; then
    [ "$#" -ge 1 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
    [ "$(id -u)" = 0 ] || skip "private pcscd needs root (namespaces, /run/pcscd)"
    command -v pcscd >/dev/null || [ -x /usr/sbin/pcscd ] || skip "pcscd not installed (apt-get install pcscd)"
    [ -e "$VPCD_DRIVER" ] || skip "vpcd driver not installed (apt-get install vsmartcard-vpcd)"
    command -v unshare >/dev/null || skip "unshare (util-linux) not installed"
    command -v ip >/dev/null || skip "ip (iproute2) not installed"
    # the independent virtual card (tools/ssc-card) runs on python3-virtualsmartcard and python3-cryptography
    case "${VCARD:-}${1:-}${2:-}" in
    *.py*)
        [ -d /usr/lib/python3/site-packages/virtualsmartcard/virtualsmartcard ] ||
            skip "python3-virtualsmartcard not installed (apt-get install python3-virtualsmartcard)"
        /usr/bin/python3 -c 'import cryptography.hazmat.primitives.ciphers.algorithms as a; a.SM4' 2>/dev/null ||
            skip "python3-cryptography with SM4 not installed (apt-get install python3-cryptography)"
        /usr/bin/python3 -c 'import Cryptodome' 2>/dev/null || /usr/bin/python3 -c 'import Crypto' 2>/dev/null ||
            skip "python3-pycryptodome not installed (python3-virtualsmartcard imports it)"
        ;;
    esac
    unshare --mount --net --pid --fork --kill-child --mount-proc true 2>/dev/null ||
        skip "cannot create private namespaces here"
    export PCSC_ENV_INSIDE=1
    # every test has an upper bound; SIGTERM to unshare kills the namespace's first process, hence all of it
    exec timeout -k 5 "${PCSC_ENV_TIMEOUT:-300}" \
        unshare --mount --net --pid --fork --kill-child --mount-proc "$0" "$@"
fi

# --- inside the namespaces ---
ip link set lo up
mkdir -p /run/pcscd
mount -t tmpfs -o mode=0755,size=1m tmpfs /run/pcscd

work=$(mktemp -d /tmp/cardline-pcsc.XXXXXX)
pcscd_pid=
cleanup() {
    if [ -n "$pcscd_pid" ] && kill -0 "$pcscd_pid" 2>/dev/null; then
        kill -TERM "$pcscd_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pcscd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pcscd_pid" 2>/dev/null || true
    fi
    if [ "${PCSC_ENV_KEEP_LOG:-}" = 1 ] || [ "${status:-1}" != 0 ]; then
        echo "--- pcscd log (last 40 lines) ---" >&2
        tail -n 40 "$work/pcscd.log" >&2 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/reader.conf.d"
cat >"$work/reader.conf.d/vpcd" <<CONF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:0x8C7B
LIBPATH      $VPCD_DRIVER
CHANNELID    0x8C7B
CONF

PCSCD=$(command -v pcscd || echo /usr/sbin/pcscd)
"$PCSCD" -f -a -c "$work/reader.conf.d" >"$work/pcscd.log" 2>&1 &
pcscd_pid=$!
for _ in $(seq 1 100); do
    [ -S /run/pcscd/pcscd.comm ] && break
    kill -0 "$pcscd_pid" 2>/dev/null || { echo "pcscd exited at start" >&2; status=1; exit 1; }
    sleep 0.1
done
[ -S /run/pcscd/pcscd.comm ] || { echo "pcscd did not open its socket within 10 s" >&2; status=1; exit 1; }

export PCSC_LOG="$work/pcscd.log"
export PCSC_WORK="$work"
status=0
"$@" || status=$?
exit "$status"
