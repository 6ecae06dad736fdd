#!/bin/bash
# notify.sh — under systemd's Type=notify, `cardline run` and `cardline serve` say READY=1 once started, keep
# the watchdog fed (WATCHDOG=1 at least twice per WATCHDOG_USEC) and say STOPPING=1 on the way out; a stand-in
# for systemd listens on NOTIFY_SOCKET.
source "$(dirname "$0")/../integration/lib.sh"
require_postgres
new_db

cat >"$WORK/notify.py" <<'PY'
# a stand-in for systemd's notification socket: one line per datagram, with the time it came
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2] + ".ready", "w").close()
with open(sys.argv[2], "a") as out:
    while True:
        msg = s.recv(4096).decode()
        out.write("%.2f %s\n" % (time.monotonic(), msg.replace("\n", " ")))
        out.flush()
PY
listen_notify() { # listen_notify NAME: a socket $WORK/NAME.sock recording into $WORK/NAME.log
    rm -f "$WORK/$1.sock" "$WORK/$1.log.ready"
    : >"$WORK/$1.log"
    python3 "$WORK/notify.py" "$WORK/$1.sock" "$WORK/$1.log" &
    listeners="${listeners:-} $!"
    for _ in $(seq 50); do [ -e "$WORK/$1.log.ready" ] && break; sleep 0.1; done
}
trap 'kill ${listeners:-} ${server:-} 2>/dev/null || true' EXIT
count() { grep -c "$2" "$WORK/$1.log" || true; }

# run: 12 cards at 300 ms each on one line, a watchdog of 1 s (so the heartbeat loop turns every 0.5 s)
cl gen applications 12 --seed 3 >/dev/null
listen_notify run
NOTIFY_SOCKET=$WORK/run.sock WATCHDOG_USEC=1000000 cl run --until-empty --card-ms 300
ready=$(count run 'READY=1')
expect_eq "run: READY=1 sent" "$ready" "1"
[ "$(count run 'WATCHDOG=1')" -ge 4 ] || fail "run fed the watchdog $(count run 'WATCHDOG=1') times in ~4 s"
echo "ok: run fed the watchdog $(count run 'WATCHDOG=1') times"
expect_eq "run: STOPPING=1 sent" "$(count run 'STOPPING=1')" "1"
python3 - "$WORK/run.log" <<'PY' || fail "run: READY, WATCHDOG..., STOPPING out of order, or the watchdog starved"
import sys
rows = [l.split(" ", 1) for l in open(sys.argv[1])]
kinds = [m.strip() for _, m in rows]
assert kinds[0] == "READY=1" and kinds[-1].startswith("STOPPING=1"), kinds
times = [float(t) for t, m in rows if m.strip() == "WATCHDOG=1"]
gaps = [b - a for a, b in zip(times, times[1:])]
assert max(gaps) < 1.0, gaps  # never a whole WATCHDOG_USEC without a ping
PY

# serve: READY=1 only once the dashboard answers, WATCHDOG=1 while it does, STOPPING=1 on SIGTERM
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
listen_notify serve
NOTIFY_SOCKET=$WORK/serve.sock WATCHDOG_USEC=1000000 "$CARDLINE" -q --data-dir "$WORK" --db "$DB" serve \
    --listen "127.0.0.1:$port" >"$WORK/serve.out" 2>"$WORK/serve.err" &
server=$!
for _ in $(seq 100); do [ "$(count serve 'READY=1')" = 1 ] && break; sleep 0.1; done
expect_eq "serve: READY=1 sent" "$(count serve 'READY=1')" "1"
python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "http://127.0.0.1:$port/" ||
    fail "READY=1 before the dashboard answers"
sleep 2.2
[ "$(count serve 'WATCHDOG=1')" -ge 3 ] || fail "serve fed the watchdog $(count serve 'WATCHDOG=1') times in 2 s"
echo "ok: serve fed the watchdog $(count serve 'WATCHDOG=1') times in 2 s"
kill -TERM $server
wait $server || fail "serve ended badly: $(cat "$WORK/serve.err")"
server=
sleep 0.2
expect_eq "serve: STOPPING=1 sent" "$(count serve 'STOPPING=1')" "1"

# without NOTIFY_SOCKET nothing is sent and nothing changes (the other tests run so)
expect_eq "nothing sent outside systemd" "$(cat "$WORK"/*.log | grep -vc 'READY\|WATCHDOG\|STOPPING' || true)" "0"
