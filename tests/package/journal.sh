#!/bin/bash
# journal.sh — under systemd (JOURNAL_STREAM names stderr) cardline's log lines reach the journal as structured
# entries with PRIORITY, CARDLINE_COMPONENT and SYSLOG_IDENTIFIER, with no personal data; anywhere else (a
# JOURNAL_STREAM that is not stderr, or none) they stay plain stderr lines. A stand-in journald listens on
# /run/systemd/journal/socket in a private mount namespace.
source "$(dirname "$0")/../integration/lib.sh"
require_postgres
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
    [ "${CI:-}" = true ] && fail "needs root and unshare in CI"
    echo "SKIP: needs root and unshare (a private /run for the stand-in journald)" >&2
    exit 77
fi
new_db

cat >"$WORK/journald.py" <<'PY'
# a stand-in journald: records each datagram of the native protocol as one JSON object per line
import json, socket, struct, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
open(sys.argv[2] + ".ready", "w").close()
with open(sys.argv[2], "a") as out:
    while True:
        data = sock.recv(1 << 20)
        fields, i = {}, 0
        while i < len(data):
            nl = data.index(b"\n", i)
            line = data[i:nl]
            if b"=" in line:
                k, v = line.split(b"=", 1)
                i = nl + 1
            else:  # KEY\n<le64 length><value>\n: values with newlines
                k = line
                (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
                v = data[nl + 9:nl + 9 + n]
                i = nl + 9 + n + 1
            fields[k.decode()] = v.decode("utf-8", "replace")
        out.write(json.dumps(fields, ensure_ascii=False) + "\n")
        out.flush()
PY

cat >"$WORK/inside.sh" <<'SH'
set -euo pipefail
mount -t tmpfs none /run
mkdir -p /run/systemd/journal
python3 "$WORK/journald.py" /run/systemd/journal/socket "$WORK/journal.jsonl" &
jd=$!
for _ in $(seq 50); do [ -e "$WORK/journal.jsonl.ready" ] && break; sleep 0.1; done
# as systemd does it: stderr is the journal stream, and JOURNAL_STREAM says which one
journal() {
    local err=$1
    shift
    : >"$err"
    JOURNAL_STREAM=$(stat -c '%d:%i' "$err") "$CARDLINE" -v --data-dir "$WORK" --db "$DB" "$@" 2>>"$err"
}
journal "$WORK/gen.err" gen applications 6 --seed 5 --defects 1 >/dev/null
journal "$WORK/run.err" run --until-empty
# an error: a database that is not there
JOURNAL_STREAM=$(: >"$WORK/bad.err"; stat -c '%d:%i' "$WORK/bad.err") \
    "$CARDLINE" --data-dir "$WORK" --db "host=$WORK/nowhere dbname=none connect_timeout=2" status 2>>"$WORK/bad.err" || true
# a JOURNAL_STREAM that is some other stream: plain lines on stderr, nothing sent
JOURNAL_STREAM=1:1 "$CARDLINE" --data-dir "$WORK" --db "host=$WORK/elsewhere dbname=none connect_timeout=2" \
    status 2>"$WORK/plain.err" || true
kill $jd
SH
: >"$WORK/journal.jsonl"
unshare -m --propagation private env WORK="$WORK" DB="$DB" CARDLINE="$CARDLINE" bash "$WORK/inside.sh" ||
    fail "the run under the stand-in journald failed"

python3 - "$WORK" <<'PY' || fail "journal entries"
import json, re, sys
work = sys.argv[1]
entries = [json.loads(l) for l in open(work + "/journal.jsonl")]
assert entries, "nothing reached the journal"
for e in entries:
    for k in ("MESSAGE", "PRIORITY", "CARDLINE_COMPONENT", "SYSLOG_IDENTIFIER"):
        assert k in e, "entry without %s: %r" % (k, e)
    assert e["SYSLOG_IDENTIFIER"] == "cardline", e
    assert e["MESSAGE"].startswith(e["CARDLINE_COMPONENT"] + ": "), e
prios = {e["PRIORITY"] for e in entries}
for p in ("3", "4", "6"):  # err (no database), warning (the held application), info
    assert p in prios, "no entry of priority %s (have %s)" % (p, sorted(prios))
comps = {e["CARDLINE_COMPONENT"] for e in entries}
assert "run" in comps, comps
line = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} (error|warn |info |debug) ")
for name in ("gen", "run", "bad"):
    for l in open("%s/%s.err" % (work, name)):
        assert not line.match(l), "a log line went to stderr as well: " + l
assert not any("elsewhere" in e["MESSAGE"] for e in entries), "sent to the journal though stderr is not it"
plain = [l for l in open(work + "/plain.err").read().splitlines() if "elsewhere" in l]
assert plain and all(line.match(l) for l in plain), "not today's stderr format: %r" % plain[:3]
assert not any(k.startswith("CODE_") for e in entries for k in e), "log.c's own location on the entries"
print("ok: %d journal entries, priorities %s, components %s" % (len(entries), sorted(prios), sorted(comps)))
PY
echo "ok: plain stderr lines (today's format) when JOURNAL_STREAM is not stderr"

# personal data: no document number or name of the batch appears in any entry
sql "SELECT doc_number || E'\n' || name FROM application" >"$WORK/personal.txt"
[ "$(wc -l <"$WORK/personal.txt")" -ge 12 ] || fail "expected 6 applications' personal data"
if grep -F -f "$WORK/personal.txt" "$WORK/journal.jsonl"; then
    fail "personal data reached the journal"
fi
echo "ok: no document number or name in the journal"
