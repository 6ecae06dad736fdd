#!/usr/bin/env bash
# security.sh — issue 15, security and privacy: sign-in limits that no request can reset and that hold across
# server processes, public tracking that is no document-number oracle, no personal data in any log (cardline's
# own and the private PostgreSQL's), password hashing that cannot starve the server, and forwarded client
# addresses believed from the configured proxy only; operators' changes from the dashboard only with their role,
# the session's CSRF token and our own origin; and point 6: a new password revokes the API token, sessions per
# account are capped, the Origin's scheme counts, a foreign Host is refused (DNS rebinding), duplicate JSON keys
# and ambiguous body framing get 400, a trickled request head is cut off, a database restart costs no sign-in,
# request data cannot forge debug log lines, hold reasons carry no birth date. A realistic flow with hostile
# input on its own private cluster, then every log it wrote is searched for the applicants' document numbers,
# names and birth dates.
source "$(dirname "$0")/../integration/lib.sh"
require_postgres

dir="$IT_ROOT/security-$$"
rm -rf "$dir"
mkdir -p "$dir/logs"
n=0
# every cardline command at debug level, its stdout and stderr kept as logs to search at the end
c() {
    n=$((n + 1))
    "$CARDLINE" -v --data-dir "$dir" "$@" 2>>"$dir/logs/$n-$1.err" | tee -a "$dir/logs/$n-$1.out"
}
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    "$CARDLINE" -q --data-dir "$dir" db destroy --yes >/dev/null 2>&1 || true
}
trap cleanup EXIT

c gen applications 40 --seed 1517 >/dev/null
c run --lines 2 --until-empty >/dev/null
DB=$(c db conninfo)
sql() { psql "$DB" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
[ "$(sql "SELECT count(*) FROM card WHERE person_key IS NOT NULL")" -ge 30 ] || fail "the line made too few cards"

# hostile input 1: the same people applying again (one person, one card: the line holds them)
sql "INSERT INTO application (upstream_id, kind, doc_type, doc_number, ssn, name, sex, ethnicity, birth_date,
         birth_place, nationality, outlet_code, bank_name, accepted_at, deadline)
     SELECT upstream_id || '-AGAIN', kind, doc_type, doc_number, ssn, name, sex, ethnicity, birth_date, birth_place,
            nationality, outlet_code, bank_name, accepted_at, deadline
     FROM application WHERE status = 'produced' AND kind = 'new' ORDER BY id LIMIT 3" >/dev/null
# hostile input 1b: a birth date that disagrees with the document number: the hold reason must say so without
# the dates (it is logged and shown beside the masked holder)
sql "INSERT INTO application (upstream_id, kind, doc_type, doc_number, ssn, name, sex, ethnicity, birth_date,
         birth_place, nationality, outlet_code, bank_name, accepted_at, deadline)
     SELECT upstream_id || '-BIRTH', kind, doc_type, doc_number, ssn, name, sex, ethnicity, birth_date + 1,
            birth_place, nationality, outlet_code, bank_name, accepted_at, deadline
     FROM application WHERE status = 'produced' AND kind = 'new' AND doc_type = 'resident_id'
       AND upstream_id NOT IN (SELECT left(upstream_id, -6) FROM application WHERE upstream_id LIKE '%-AGAIN')
     ORDER BY id LIMIT 1" >/dev/null
c run --lines 2 --until-empty >/dev/null
# hostile input 2: what a race between two lines ends in, a second card for a person: the unique index refuses it
# with a DETAIL naming the key, a document number, that must not reach the server log
if sql "UPDATE card SET person_key = (SELECT b.person_key FROM card b WHERE b.card_number <> card.card_number
            AND b.temporary = card.temporary AND b.status = card.status ORDER BY b.card_number LIMIT 1)
        WHERE card_number = (SELECT min(card_number) FROM card WHERE status IN ('good', 'in_transit', 'at_outlet'))" \
    2>"$dir/duplicate.txt"; then
    fail "a second card for one person was accepted"
fi
grep -q "duplicate key" "$dir/duplicate.txt" || fail "no duplicate-key refusal: $(cat "$dir/duplicate.txt")"
# what must not appear in any log: the applicants' document numbers, names and birth dates
sql "SELECT doc_number FROM application UNION SELECT name FROM application
     UNION SELECT to_char(birth_date, 'YYYY-MM-DD') FROM application" >"$dir/pii.txt"
[ "$(wc -l <"$dir/pii.txt")" -ge 100 ] || fail "too few applicant details to search for"
for a in "victim-b operator" "victim-p operator" "clerk dispatch" "busy operator" "tokened operator" \
    "many operator" "origin-op operator"; do
    set -- $a
    echo "password-of-$1" | c account add "$1" --role "$2" --password-stdin >/dev/null
done

# two server processes on the same database: B as on a bare host, A behind a TLS proxy on 127.0.0.1
start() { # name, extra options
    local name=$1
    shift
    "$CARDLINE" -v --data-dir "$dir" serve --listen 127.0.0.1:0 --threads 4 "$@" \
        >"$dir/logs/serve-$name.out" 2>"$dir/logs/serve-$name.err" &
    # start runs in $(...): the parent learns the server's id from this file (a variable would stay here)
    echo $! >"$dir/serve-$name.pid"
    pids+=($!)
    for _ in $(seq 100); do
        grep -q "^listening on" "$dir/logs/serve-$name.out" && break
        kill -0 "${pids[-1]}" 2>/dev/null || return 1
        sleep 0.1
    done
    sed -n 's/^listening on \(http:[^ ]*\)\/$/\1/p' "$dir/logs/serve-$name.out"
}
url_b=$(start b) || fail "serve B did not start: $(cat "$dir/logs/serve-b.err")"
proxy_ok=1
if ! url_a=$(start a --trusted-proxy 127.0.0.1) || [ -z "$url_a" ]; then
    echo "FAIL: serve --trusted-proxy 127.0.0.1 did not start: $(tail -3 "$dir/logs/serve-a.err")" >&2
    proxy_ok=0 # carry on without it, so that every other check still reports
    url_a=$(start a2) || fail "serve A did not start"
fi
for name in b a a2; do
    if [ -f "$dir/serve-$name.pid" ]; then pids+=("$(cat "$dir/serve-$name.pid")"); fi
done
[ -n "$url_a" ] && [ -n "$url_b" ] || fail "the servers did not say where they listen"
echo "B (no proxy) at $url_b, A (behind a proxy on 127.0.0.1) at $url_a"

py=0
URL_A=$url_a URL_B=$url_b DBC="$DB" PROXY_OK=$proxy_ok DIR="$dir" python3 - <<'PY' || py=$?
import http.client, json, os, statistics, subprocess, threading, time, urllib.parse

def hp(u):
    u = urllib.parse.urlparse(u)
    return u.hostname, u.port
A, B = hp(os.environ["URL_A"]), hp(os.environ["URL_B"])
failures = []

def check(what, ok, detail=""):
    print(("ok:   " if ok else "FAIL: ") + what + ("" if ok else "  " + str(detail)[:300]), flush=True)
    if not ok:
        failures.append(what)

def req(server, method, path, body=None, via=None, headers=None):
    c = http.client.HTTPConnection(server[0], server[1], timeout=30)
    h = dict(headers or {})
    if via:
        h["X-Forwarded-For"] = via
    if body is not None:
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

def login(server, name, password, via=None, headers=None):
    return req(server, "POST", "/api/v1/login", {"name": name, "password": password}, via, headers)

def sql(q):
    return subprocess.run(["psql", os.environ["DBC"], "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", q],
                          capture_output=True, text=True).stdout.strip()

apps = [l.split("|") for l in sql("SELECT upstream_id, doc_number, name, birth_date FROM application "
                                  "WHERE upstream_id NOT LIKE '%-AGAIN' ORDER BY id").splitlines()]

# --- 4. password hashing cannot starve the server (first, while this address has no failures) ------------------
results, page_times, stop = [], [], threading.Event()
def signer(i):
    for _ in range(3):
        s, h, d = login(B, "busy", "password-of-busy")
        results.append((s, h.get("retry-after")))
def pages():
    while not stop.is_set():
        t0 = time.monotonic()
        s, h, d = req(B, "GET", "/login.html")
        s2, h2, d2 = req(B, "GET", "/api/v1/track?application=x")
        page_times.append((time.monotonic() - t0) / 2)
        time.sleep(0.02)
t = threading.Thread(target=pages)
t.start()
signers = [threading.Thread(target=signer, args=(i,)) for i in range(16)]
for x in signers:
    x.start()
for x in signers:
    x.join(60)
stop.set()
t.join(30)
statuses = sorted(set(s for s, _ in results))
check("16 concurrent sign-ins: each signed in or was told to retry (%s)" % statuses,
      set(statuses) <= {200, 503} and 200 in statuses and all(ra for s, ra in results if s == 503))
worst = max(page_times) if page_times else 99
check("pages stay fast meanwhile (%d pages, median %.0f ms, worst %.0f ms)" %
      (len(page_times), statistics.median(page_times) * 1e3 if page_times else -1, worst * 1e3),
      len(page_times) >= 3 and statistics.median(page_times) < 0.25 and worst < 1.0)
s, h, d = login(B, "busy", "password-of-busy")
check("afterwards a sign-in works at once", s == 200, s)

# --- 1. the sign-in limit cannot be reset, holds across processes, and its table stays bounded --------------
for i in range(5):
    s, h, d = login(B, "victim-b", "guess-%d-xxxxxxx" % i)
    check("B: wrong password %d is 401" % i, s == 401, s)
s, h, d = login(B, "victim-b", "password-of-victim-b")
check("B: 429 with Retry-After after 5 failures", s == 429 and int(h.get("retry-after", "0")) > 0, (s, h))
# The old limiter was 256 slots probed from an FNV-1a hash of "name:<account>"; names chosen to probe the same
# slots filled them and evicted the locked account. Any limiter must shrug them off.
def fnv(key):
    x = 2166136261
    for b in key.encode():
        x = ((x ^ b) * 16777619) & 0xffffffff
    return x
target, chosen, k = fnv("name:victim-b") % 256, [], 0
while len(chosen) < 9:
    k += 1
    if fnv("name:evict%d" % k) % 256 == target:
        chosen.append("evict%d" % k)
for name in chosen:
    login(B, name, "wrong-password-xx")
s, h, d = login(B, "victim-b", "password-of-victim-b")
check("B: failures with chosen account names do not reset a locked account", s == 429, (s, d))
# the same limit in another server process on the same database (A takes the forwarded 127.0.0.1 from its proxy)
s, h, d = login(A, "victim-b", "password-of-victim-b", via="127.0.0.1")
check("A: the account locked in B is locked here too", s == 429, (s, d))
# per address, whatever the account names: 20 failures then 429 (14 so far)
seen = None
for i in range(10):
    s, h, d = login(B, "nobody-%d" % i, "wrong-password-xx")
    if s == 429:
        seen = 15 + i
        break
check("B: at most 20 failed sign-ins per address, any names", seen is not None and seen <= 21, seen)
rows = int(sql("SELECT count(*) FROM attempt_failure WHERE kind = 'login' AND address = '127.0.0.1'") or 99)
check("failures from one address are bounded by its limit", rows <= 20, rows)
sql("INSERT INTO attempt_failure (kind, subject, address, at) VALUES ('login', 'stale', '192.0.2.200', "
    "clock_now() - interval '1 hour')")
login(A, "nobody", "wrong-password-xx", via="192.0.2.201")
check("failures older than the window are pruned",
      sql("SELECT count(*) FROM attempt_failure WHERE subject = 'stale'") == "0")

# --- 5. the client address from the configured proxy only ------------------------------------------------------
check("serve --trusted-proxy is accepted", os.environ["PROXY_OK"] == "1")
for i in range(5):
    login(A, "victim-p", "guess-%d-xxxxxxx" % i, via="203.0.113.5")
s, h, d = login(A, "victim-p", "password-of-victim-p", via="203.0.113.5")
check("A: the guessing address is locked out of the account", s == 429, (s, d))
s, h, d = login(A, "victim-p", "password-of-victim-p", via="203.0.113.6")
check("A: the account's rightful sign-in from another address behind the proxy works", s == 200, (s, d))
for i in range(21):
    s, h, d = login(A, "nobody-p%d" % i, "wrong-password-xx", via="203.0.113.9")
check("A: one forwarded address is limited by itself", s == 429, s)
s, h, d = login(A, "clerk", "password-of-clerk", via="203.0.113.10")
check("A: the other clients behind the proxy are not locked out with it", s == 200, (s, d))
s, h, d = login(B, "clerk", "password-of-clerk", via="203.0.113.11")
check("B: X-Forwarded-For from a client that is not the proxy is ignored (its address stays locked)", s == 429,
      (s, d))
s, h, d = login(B, "clerk", "password-of-clerk", headers={"Forwarded": "for=203.0.113.12"})
check("B: Forwarded from a client that is not the proxy is ignored", s == 429, (s, d))

# --- 2. public tracking --------------------------------------------------------------------------------------
app, doc = apps[0][0], apps[0][1]
q = lambda a, extra: "/api/v1/track?application=%s&%s" % (urllib.parse.quote(a), extra)
s, h, d = req(A, "GET", q(app, "last4=" + doc[-4:]), via="198.51.100.1")
check("the last 4 characters of the document are not enough", s in (400, 404), (s, d))
s, h, d = req(A, "GET", q(app, "document=" + urllib.parse.quote(doc)), via="198.51.100.1")
check("the whole document number tracks the application", s == 200 and doc not in d.decode(), (s, d))
# an existing application with a wrong document and a missing one: same status, same body, similar time
t_exist, t_missing, bodies = [], [], set()
for i in range(8):
    for a, where in ((apps[1][0], t_exist), ("SQ" + "9" * 12, t_missing)):
        t0 = time.monotonic()
        s, h, d = req(A, "GET", q(a, "document=440000000000000000"), via="198.51.100.%d" % (10 + i))
        where.append(time.monotonic() - t0)
        bodies.add((s, d))
check("an existing and a missing application are answered alike", len(bodies) == 1 and
      list(bodies)[0][0] == 404, bodies)
me, mm = statistics.median(t_exist), statistics.median(t_missing)
check("... in similar time (median %.1f ms vs %.1f ms)" % (me * 1e3, mm * 1e3),
      abs(me - mm) < max(0.02, 0.5 * max(me, mm)))
# per address: a guesser walking the sequential application numbers is stopped
stopped = None
for i in range(15):
    s, h, d = req(A, "GET", q(apps[2 + i][0], "document=440000000000000000"), via="198.51.100.50")
    if s == 429:
        stopped = i + 1
        break
check("tracking guesses from one address get 429 (after %s)" % stopped, stopped is not None and stopped <= 11)
s, h, d = req(B, "GET", q(apps[20][0], "last4=0000"), None)
for i in range(15):
    s, h, d = req(B, "GET", q(apps[20 + i][0], "document=440000000000000000"))
    if s == 429:
        break
check("B: tracking guesses from a bare address get 429", s == 429 and int(h.get("retry-after", "0")) > 0, s)
# per application: guesses from many addresses
target = apps[30]
for i in range(25):
    s, h, d = req(A, "GET", q(target[0], "document=44%016d" % i), via="198.51.100.%d" % (100 + i))
    if s == 429:
        break
check("guesses at one application from many addresses get 429", s == 429, s)

# --- 6. operators' changes from the dashboard: role, CSRF token and origin, like every other change ------------
held = sql("SELECT upstream_id FROM application WHERE status = 'held' ORDER BY id").splitlines()
check("the line held the repeated applications", len(held) >= 2, held)
s, h, d = login(A, "busy", "password-of-busy", via="192.0.2.90")
check("an operator signs in", s == 200, (s, d))
cookie = {"Cookie": h.get("set-cookie", "").split(";")[0]}
token = json.loads(d).get("csrf", "")
release = "/api/v1/applications/%s/release" % held[0]
s, h, d = req(A, "POST", release, {}, via="192.0.2.90", headers=cookie)
check("release without the CSRF token is refused", s == 403, (s, d))
s, h, d = req(A, "POST", release, {}, via="192.0.2.90",
              headers=dict(cookie, **{"X-CSRF-Token": token, "Origin": "http://evil.example"}))
check("release from another site is refused", s == 403, (s, d))
check("... and changed nothing", sql("SELECT status FROM application WHERE upstream_id = '%s'" % held[0]) == "held")
s, h, d = login(A, "clerk", "password-of-clerk", via="192.0.2.91")
clerk = {"Cookie": h.get("set-cookie", "").split(";")[0], "X-CSRF-Token": json.loads(d).get("csrf", "")}
s, h, d = req(A, "POST", release, {}, via="192.0.2.91", headers=clerk)
check("dispatch may not release an application", s == 403, (s, d))
s, h, d = req(A, "POST", release, {}, via="192.0.2.90", headers=dict(cookie, **{"X-CSRF-Token": token}))
check("the operator releases it with the token", s == 200 and
      sql("SELECT status FROM application WHERE upstream_id = '%s'" % held[0]) == "pending", (s, d))
# a reason may carry what an operator should not have typed: it goes to the audit trail, never to a log
s, h, d = req(A, "POST", "/api/v1/applications/%s/cancel" % held[1], {"reason": "duplicate of " + apps[0][2] + " " + apps[0][1]},
              via="192.0.2.90", headers=dict(cookie, **{"X-CSRF-Token": token}))
check("the operator cancels one", s == 200 and
      sql("SELECT status FROM application WHERE upstream_id = '%s'" % held[1]) == "cancelled", (s, d))
s, h, d = req(A, "POST", "/api/v1/cards/Z00000000/report-lost", {"reason": apps[0][1]}, via="192.0.2.90",
              headers=dict(cookie, **{"X-CSRF-Token": token}))
check("a card in no holder's hands cannot be reported lost", s == 404 and apps[0][1] not in d.decode(), (s, d))

# --- issue 15 point 6: tokens and sessions, origin scheme, Host, body framing, slow heads, a database restart,
# --- request data in the log, birth dates in hold reasons -----------------------------------------------------
import select, socket
CL, DIR = os.environ["CARDLINE"], os.environ["DIR"]

def cli(*args, stdin=None):
    return subprocess.run([CL, "-q", "--data-dir", DIR] + list(args), input=stdin, capture_output=True,
                          text=True).stdout.strip()

def raw(server, data, timeout=5):
    """bytes sent as they are; the answer up to the server's close (or timeout); its status"""
    s = socket.create_connection(server, timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    try:
        return int(out.split(b" ", 2)[1]), out
    except (IndexError, ValueError):
        return None, out

# a head that trickles in, one byte a second, from the start (it runs while the rest is checked)
trickle = {}
def trickler():
    s = socket.create_connection(B, timeout=30)
    s.sendall(b"GET /login.html HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 25:
            s.send(b"a")
            r, _, _ = select.select([s], [], [], 1.0)
            if r and s.recv(4096) == b"":
                break
    except OSError:
        pass
    trickle["closed_after"] = time.monotonic() - t0
    s.close()
slow = threading.Thread(target=trickler)
slow.start()

hostB = "127.0.0.1:%d" % B[1]
hostA = "127.0.0.1:%d" % A[1]

def cookie_of(h, d):
    return {"Cookie": h.get("set-cookie", "").split(";")[0], "X-CSRF-Token": json.loads(d).get("csrf", "")}

# a new password revokes the API token and ends the sessions
tok = cli("account", "token", "tokened")
bearer = {"Authorization": "Bearer " + tok}
s, h, d = req(B, "GET", "/api/v1/session", headers=bearer)
check("an API token works", s == 200, (s, d))
s, h, d = login(A, "tokened", "password-of-tokened", via="192.0.2.120")
tokened = cookie_of(h, d)
check("its account signs in too", s == 200, (s, d))
out = cli("account", "password", "tokened", "--password-stdin", stdin="another-password-of-tokened\n")
s, h, d = req(B, "GET", "/api/v1/session", headers=bearer)
check("after `account password` the old API token gets 401", s == 401, (s, d, out))
s, h, d = req(B, "GET", "/api/v1/session", headers={"Cookie": tokened["Cookie"]})
check("... and the old session too", s == 401, (s, d))

# database restart under the pools: a token and a session still work, never "sign in first"
bearer = {"Authorization": "Bearer " + cli("account", "token", "tokened")}
s, h, d = login(A, "tokened", "another-password-of-tokened", via="192.0.2.120")
tokened = cookie_of(h, d)
s2, h2, d2 = req(B, "GET", "/api/v1/session", headers=bearer)
check("a new token and the new password work", s == 200 and s2 == 200, (s, d, s2, d2))
for what, hdr in (("token", bearer), ("session", tokened)):
    sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    time.sleep(0.3)
    s, h, d = req(B, "GET", "/api/v1/session", headers=hdr)
    check("after the database dropped every connection, the %s still works on a fresh one" % what,
          s == 200, (s, d))
# the pooled connections of A are gone too: no request there may be told to sign in for it
sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()")
time.sleep(0.3)
seen = set()
for i in range(6):
    s, h, d = req(A, "GET", "/api/v1/session", via="192.0.2.121", headers=bearer)
    seen.add(s)
check("A after the restart: the token works on every request (%s)" % sorted(seen), seen == {200})

# sessions per account are capped: the 11th sign-in ends the oldest
cookies = []
for i in range(11):
    s, h, d = login(A, "many", "password-of-many", via="192.0.2.130")
    cookies.append(cookie_of(h, d) if s == 200 else {})
live = int(sql("SELECT count(*) FROM session s JOIN account a ON a.id = s.account_id WHERE a.name = 'many'")
           or 99)
check("an account keeps at most 10 sessions (%d)" % live, live == 10)
s1, h, d = req(B, "GET", "/api/v1/session", headers={"Cookie": cookies[0].get("Cookie", "")})
s2, h, d = req(B, "GET", "/api/v1/session", headers={"Cookie": cookies[-1].get("Cookie", "")})
check("the oldest session ended (%s), the newest works (%s)" % (s1, s2), s1 == 401 and s2 == 200)

# the Origin must name our scheme too
s, h, d = login(B, "origin-op", "password-of-origin-op", headers={"Origin": "https://" + hostB})
check("B: a sign-in from https:// when B is http:// is refused as cross-site", s == 403, (s, d))
s, h, d = login(A, "origin-op", "password-of-origin-op", via="192.0.2.140")
op = cookie_of(h, d)
s, h, d = req(B, "POST", "/api/v1/logout", {}, headers=dict(op, Origin="https://" + hostB))
s2, h2, d2 = req(B, "GET", "/api/v1/session", headers=op)
check("B: a change with Origin https://host on http://host is refused", s == 403 and s2 == 200, (s, d, s2))
s, h, d = req(A, "POST", "/api/v1/logout", {}, via="192.0.2.140",
              headers=dict(op, Origin="http://" + hostA, **{"X-Forwarded-Proto": "https"}))
check("A: behind the TLS proxy (X-Forwarded-Proto: https), Origin http:// is refused", s == 403, (s, d))
s, h, d = req(A, "POST", "/api/v1/logout", {}, via="192.0.2.140",
              headers=dict(op, Origin="https://" + hostA, **{"X-Forwarded-Proto": "https"}))
check("A: ... and Origin https:// is ours", s == 200, (s, d))

# Host: only our names (DNS rebinding); behind the proxy, the proxy's
for host, want in (("rebind.example:%d" % B[1], 421), ("rebind.example", 421), ("localhost:%d" % B[1], 401),
                   (hostB, 401), ("[::1]:%d" % B[1], 401), ("127.0.0.1.rebind.example", 421)):
    s, h, d = req(B, "GET", "/api/v1/session", headers={"Host": host})
    check("B: Host %s answers %d" % (host, want), s == want, (s, d))
s, h, d = req(B, "GET", "/login.html", headers={"Host": "rebind.example"})
check("B: a page for a foreign Host is refused too", s == 421, s)
s, h, d = req(A, "GET", "/login.html", via="192.0.2.141", headers={"Host": "cards.example.org"})
check("A: the trusted proxy's Host is its own business", s == 200, s)

# duplicate JSON keys
def post_raw_json(server, path, body, headers=None, via=None):
    c = http.client.HTTPConnection(server[0], server[1], timeout=30)
    hd = dict(headers or {}, **{"Content-Type": "application/json"})
    if via:
        hd["X-Forwarded-For"] = via
    c.request("POST", path, body=body.encode(), headers=hd)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data
s, d = post_raw_json(A, "/api/v1/login",
                     '{"name": "nobody-dup", "name": "origin-op", "password": "password-of-origin-op"}',
                     via="192.0.2.142")
check("a body with a duplicate key is refused, naming it", s == 400 and b"'name'" in d, (s, d))
s, d = post_raw_json(A, "/api/v1/login",
                     '{"name": "origin-op", "password": "x", "\\u0070assword": "password-of-origin-op"}',
                     via="192.0.2.142")
check("... also when one spelling is escaped", s == 400 and b"duplicate" in d, (s, d))

# body framing: two lengths, or a length and chunks, are refused (libmicrohttpd 0.9.75 takes the first length,
# or the chunks, and hands the request on)
body = b'{"name":"x","password":"yyyyyyyyyyyy"}'
head = b"POST /api/v1/login HTTP/1.1\r\nHost: " + hostB.encode() + b"\r\nContent-Type: application/json\r\n"
s, out = raw(B, head + b"Content-Length: %d\r\nContent-Length: 5\r\nConnection: close\r\n\r\n" % len(body) + body)
check("two different Content-Length headers get 400", s == 400, out[:200])
s, out = raw(B, head + b"Content-Length: %d, 5\r\nConnection: close\r\n\r\n" % len(body) + body)
check("a Content-Length list gets 400 (libmicrohttpd refuses this one itself)", s == 400, out[:200])
chunked = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
s, out = raw(B, head + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
check("Content-Length with Transfer-Encoding: chunked gets 400", s == 400, out[:200])
s, out = raw(B, head + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\nConnection: close\r\n\r\n" + chunked)
check("... in either order", s == 400, out[:200])
s, out = raw(B, head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
check("one Content-Length is answered as usual", s in (401, 429), out[:200])

# CR and LF of a request never start a line of the debug log
s, h, d = req(B, "GET", "/x%0d%0aFORGED-LOG-LINE%0d%0a")
time.sleep(0.2)
with open(os.path.join(DIR, "logs", "serve-b.err"), "rb") as f:
    log = f.read()
check("the request reached the debug log, escaped", b"FORGED-LOG-LINE" in log and b"\\x0d\\x0a" in log)
check("... and forged no line of its own",
      not any(l.startswith(b"FORGED-LOG-LINE") for l in log.split(b"\n")) and b"\r" not in log)

# birth dates in hold reasons: the field that disagrees, not the dates
s, h, d = login(A, "many", "password-of-many", via="192.0.2.143")
s, h, d = req(A, "GET", "/api/v1/held", via="192.0.2.143", headers=cookie_of(h, d))
held_rows = json.loads(d) if s == 200 else []
held_rows = held_rows if isinstance(held_rows, list) else held_rows.get("held", held_rows.get("applications", []))
text = json.dumps(held_rows)
births = set(sql("SELECT to_char(birth_date, 'YYYY-MM-DD') FROM application").splitlines())
birth_app = sql("SELECT upstream_id FROM application WHERE upstream_id LIKE '%-BIRTH'")
check("the held list names the birth date mismatch", s == 200 and "birth date does not match" in text,
      (s, text[:300]))
check("... and shows no birth date", not [b for b in births if b in text], [b for b in births if b in text][:3])
show = cli("application", "show", birth_app)
check("`application show` says why without the dates", "birth date does not match" in show and
      not [b for b in births if b in show], show)

slow.join(40)
check("a head trickled in a byte a second is cut off near 10 s (%.1f s)" % trickle.get("closed_after", -1),
      8 <= trickle.get("closed_after", 99) <= 14)

# --- hostile sign-in names: what people type may be someone's name or document number --------------------------
for i, (a, docn, name, birth) in enumerate(apps[:4]):
    login(A, name, "wrong-password-xx", via="192.0.2.%d" % (150 + i))
    login(A, docn[:32], "wrong-password-xx", via="192.0.2.%d" % (160 + i))
    req(A, "GET", q(a, "document=" + urllib.parse.quote(docn[:-1] + "0")), via="192.0.2.%d" % (170 + i))

if failures:
    print("FAILED: %d checks: %s" % (len(failures), "; ".join(failures)))
    raise SystemExit(1)
PY

# the servers are not this shell's children (started in $(...)): wait for them to be gone
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do
    for _ in $(seq 100); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then fail "a server did not stop on SIGTERM"; fi
done
pids=()
c db stop >/dev/null

# --- 3. every log the system wrote: cardline's own, and the private PostgreSQL's ---------------------------------
cluster=$(readlink -f "$dir/pg")
[ -d "$cluster" ] || fail "no private cluster directory at $dir/pg"
logs=()
while IFS= read -r -d '' f; do logs+=("$f"); done < <(
    find "$dir" "$cluster" -path "$cluster/data" -prune -o -type f \( -name '*.log' -o -name '*.err' -o -name '*.out' \) -print0
    find "$cluster/data" -type f \( -path '*/log/*' -o -path '*/pg_log/*' -o -name '*.log' \) -print0 2>/dev/null)
[ "${#logs[@]}" -ge 5 ] || fail "too few logs found: ${logs[*]}"
grep -q "duplicate key value violates unique constraint" "$cluster/server.log" ||
    fail "the server log lacks the refused duplicate, so this search would prove nothing"
leaks=0
for f in "${logs[@]}"; do
    if hits=$(grep -aFo -f "$dir/pii.txt" "$f" | sort -u | head -5) && [ -n "$hits" ]; then
        echo "FAIL: personal data in $f:" >&2
        grep -aF -f "$dir/pii.txt" "$f" | head -3 | sed 's/^/    /' >&2
        leaks=1
    fi
done
echo "searched ${#logs[@]} logs for $(wc -l <"$dir/pii.txt") applicant details"
[ "$leaks" = 0 ] || fail "personal data reached a log"
[ "$py" = 0 ] || fail "HTTP checks failed (see above)"
echo "security: all checks passed"
