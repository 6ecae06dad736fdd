#!/usr/bin/env bash
# http.sh — `cardline serve` against a real database: roles on every endpoint, sessions and CSRF, the dispatch
# and studio flows through the API, and hostile requests (malformed JSON, huge bodies, forged or missing tokens,
# SQL-looking strings, path tricks) that must get a 4xx, change nothing and not hurt the server
source "$(dirname "$0")/../integration/lib.sh"
require_postgres
new_db

cl gen applications 30 --seed 21 >/dev/null
cl run --lines 2 --until-empty
for a in "clerk dispatch" "op operator" "aud auditor" "boss admin"; do
    set -- $a
    echo "password-of-$1" | cl account add "$1" --role "$2" --password-stdin >/dev/null
done
echo "password-of-studio-a" | cl account add studio-a --role studio --studio SA --password-stdin >/dev/null
echo "password-of-studio-b" | cl account add studio-b --role studio --studio SB --password-stdin >/dev/null
echo "password-of-victim" | cl account add victim --role operator --password-stdin >/dev/null
if echo "short" | cl account add weak --role operator --password-stdin 2>/dev/null; then fail "a 5-character password was accepted"; fi
if cl account add x --role studio 2>/dev/null </dev/null; then fail "studio account without --studio accepted"; fi
expect_eq "passwords stored as Argon2id only" "$(sql "SELECT count(*) FROM account WHERE password_hash NOT LIKE '\$argon2id\$%' OR password_hash LIKE '%password-of%'")" "0"
token=$(cl account token aud)
cl gen photo "$WORK/good.jpg" --seed 3 >/dev/null
python3 - "$WORK/gray.png" <<'PY'
import struct, sys, zlib
w, h = 358, 441
raw = b"".join(b"\x00" + bytes([128]) * w for _ in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                               + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY

start_serve --threads 4
echo "serving at $url"

# the whole database, table by table: every row of every table hashed (a table added later is covered too), but
# attempt_failure, where refused sign-ins and tracking look-ups are counted on purpose
state_sql=$(sql "SELECT string_agg(format('SELECT %L AS t, md5(coalesce(string_agg(x::text, '','' ORDER BY x::text), '''')) AS h FROM %I x',
                                          c.relname, c.relname), ' UNION ALL ' ORDER BY c.relname)
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'
                   AND c.relname <> 'attempt_failure'")
[ "$(sql "SELECT count(*) FROM ($state_sql) s")" -ge 15 ] || fail "the database state covers only: $state_sql"

URL=$url TOKEN=$token DBC="$DB" WORK="$WORK" STATE_SQL="$state_sql" python3 - <<'PY'
import http.client, json, os, re, subprocess, sys, time, urllib.parse

url = urllib.parse.urlparse(os.environ["URL"])
HOST, PORT = url.hostname, url.port

def req(method, path, body=None, headers=None, raw=False):
    h = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    # a busy server answers a sign-in 503 with Retry-After (its password hashes are bounded): try again then,
    # as the dashboard does
    for _ in range(20):
        c = http.client.HTTPConnection(HOST, PORT, timeout=30)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        hdrs = dict((k.lower(), v) for k, v in r.getheaders())
        if r.status != 503 or "retry-after" not in hdrs or path != "/api/v1/login":
            break
        time.sleep(int(hdrs["retry-after"]))
    return r.status, hdrs, data

def js(data):
    try:
        return json.loads(data)
    except Exception:
        return None

class Session:
    def __init__(self, name, password):
        s, h, d = req("POST", "/api/v1/login", {"name": name, "password": password})
        assert s == 200, (name, s, d)
        cookie = h["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie
        self.cookie = cookie.split(";")[0]
        self.me = js(d)
    def get(self, path):
        return req("GET", path, headers={"Cookie": self.cookie})
    def post(self, path, body=None, csrf=True, headers=None):
        h = {"Cookie": self.cookie}
        if csrf:
            h["X-CSRF-Token"] = self.me["csrf"]
        h.update(headers or {})
        return req("POST", path, {} if body is None else body, h)

def check(what, cond, detail=""):
    if not cond:
        print("FAIL:", what, detail)
        sys.exit(1)
    print("ok:", what)

def state():
    """Every table's rows, hashed table by table: {table: md5}."""
    out = subprocess.run(["psql", os.environ["DBC"], "-XAtq", "-v", "ON_ERROR_STOP=1", "-F", " ", "-c",
                          "SELECT t, h FROM (%s) s ORDER BY t" % os.environ["STATE_SQL"]],
                         check=True, capture_output=True, text=True).stdout
    return dict(line.split(" ") for line in out.splitlines())

# security headers everywhere, static pages served
s, h, d = req("GET", "/login.html")
check("login page", s == 200 and b"<form" in d)
for k, v in (("content-security-policy", "frame-ancestors 'none'"), ("x-content-type-options", "nosniff"),
             ("x-frame-options", "DENY")):
    check("header " + k, v in h.get(k, ""), h)

# sign-in: wrong password, then rate limit
s, h, d = req("POST", "/api/v1/login", {"name": "clerk", "password": "wrong-password"})
check("wrong password is 401", s == 401)
s, h, d = req("POST", "/api/v1/login", {"name": "nobody", "password": "wrong-password"})
check("unknown name answers the same", s == 401 and js(d)["error"] == "wrong name or password")
s, h, d = req("POST", "/api/v1/login", "name=clerk", {"Content-Type": "application/x-www-form-urlencoded"})
check("form-encoded login refused (JSON only)", s == 415)
s, h, d = req("POST", "/api/v1/login", {"name": "clerk", "password": "password-of-clerk"}, {"Origin": "http://evil.example"})
check("cross-site sign-in refused", s == 403)

for i in range(5):
    s, h, d = req("POST", "/api/v1/login", {"name": "victim", "password": "guess-%d-xxxxx" % i})
    check("guess %d refused" % i, s == 401)
s, h, d = req("POST", "/api/v1/login", {"name": "victim", "password": "password-of-victim"})
check("sign-in rate limit: 429 with Retry-After after 5 failures", s == 429 and int(h["retry-after"]) > 0, (s, h))

clerk = Session("clerk", "password-of-clerk")
op = Session("op", "password-of-op")
aud = Session("aud", "password-of-aud")
boss = Session("boss", "password-of-boss")
sa = Session("studio-a", "password-of-studio-a")
sb = Session("studio-b", "password-of-studio-b")
check("role pages", clerk.me["home"] == "/dispatch.html" and sa.me["home"] == "/studio.html" and "csrf" in sa.me)
# from here on nobody signs in: every request below is refused or only reads, and the database must not change
before = state()

# roles, on every endpoint
matrix = [
    ("GET", "/api/v1/status", {"op": 200, "clerk": 200, "aud": 200, "boss": 200, "sa": 403, None: 401}),
    ("GET", "/api/v1/lines", {"op": 200, "clerk": 403, "aud": 200, "sa": 403, None: 401}),
    ("GET", "/api/v1/at-risk", {"op": 200, "clerk": 403, "sa": 403}),
    ("GET", "/api/v1/shipments", {"clerk": 200, "op": 200, "sa": 403, None: 401}),
    ("GET", "/api/v1/uncollected", {"clerk": 200, "op": 403, "sa": 403}),
    ("GET", "/api/v1/events", {"aud": 200, "boss": 200, "op": 403, "clerk": 403, "sa": 403}),
    ("GET", "/api/v1/accounts", {"boss": 200, "aud": 403, "op": 403, "sa": 403}),
    ("GET", "/api/v1/receipts", {"sa": 200, "aud": 200, "op": 200, "clerk": 200, None: 401}),
    ("POST", "/api/v1/receive", {"op": 403, "aud": 403, "sa": 403, None: 401}),
    ("POST", "/api/v1/photos", {"op": 403, "clerk": 403, "aud": 403, None: 401}),
    ("POST", "/api/v1/accounts", {"op": 403, "clerk": 403, "aud": 403, "sa": 403}),
]
who = {"op": op, "clerk": clerk, "aud": aud, "boss": boss, "sa": sa}
for method, path, expect in matrix:
    for name, status in expect.items():
        if name is None:
            s, h, d = req(method, path, {} if method == "POST" else None)
        elif method == "GET":
            s, h, d = who[name].get(path)
        else:
            s, h, d = who[name].post(path, {})
        check("%s %s as %s -> %d" % (method, path, name, status), s == status, (s, d[:200]))

# tokens: bearer works for scripts; forged ones do not
tok = os.environ["TOKEN"]
s, h, d = req("GET", "/api/v1/events", headers={"Authorization": "Bearer " + tok})
check("API token works", s == 200)
forged = tok[:-1] + ("0" if tok[-1] != "0" else "1")
for bad in (forged, "x", "", tok[:16] + "." + "0" * 64, "0" * 200):
    s, h, d = req("GET", "/api/v1/events", headers={"Authorization": "Bearer " + bad})
    check("forged token refused", s == 401, s)
for bad in ("cardline_session=" + "0" * 64, "cardline_session=../../etc", "cardline_session=" + "a" * 5000):
    s, h, d = req("GET", "/api/v1/status", headers={"Cookie": bad})
    check("forged session cookie refused", s in (401, 400, 431), s)

# CSRF: a browser session must send its token for changes
s, h, d = clerk.post("/api/v1/receive", {"label": "069012340000000016"}, csrf=False)
check("POST without CSRF token refused", s == 403, d)
s, h, d = clerk.post("/api/v1/receive", {"label": "069012340000000016"}, csrf=False, headers={"X-CSRF-Token": "0" * 64})
check("POST with a wrong CSRF token refused", s == 403, d)
s, h, d = clerk.post("/api/v1/receive", {"label": "069012340000000016"}, headers={"Origin": "http://evil.example"})
check("POST from another origin refused", s == 403, d)

# hostile bodies and paths: 4xx, nothing changed (the database is compared with the state taken above)
hostile = [
    ("POST", "/api/v1/receive", b"{\"label\": ", "application/json", 400),
    ("POST", "/api/v1/receive", b"[1,2,3]", "application/json", 400),
    ("POST", "/api/v1/receive", b"{\"label\": 123}", "application/json", 400),
    ("POST", "/api/v1/receive", b"{\"label\": \"x\"} trailing", "application/json", 400),
    ("POST", "/api/v1/receive", b"{\"a\":" * 50 + b"1" + b"}" * 50, "application/json", 400),
    ("POST", "/api/v1/receive", b"{\"label\": \"\\u0000\"}", "application/json", 400),
    ("POST", "/api/v1/receive", b"{\"label\": \"' OR 1=1; DROP TABLE card; --\"}", "application/json", 400),
    ("POST", "/api/v1/receive", b"{\"label\": \"069012340000000016'; DELETE FROM event; --\"}", "application/json", 400),
    ("POST", "/api/v1/receive", b"label=1", "text/plain", 415),
    ("POST", "/api/v1/receive", b"{\"label\":\"" + b"9" * 70000 + b"\"}", "application/json", 413),
    ("POST", "/api/v1/cards/A00000001%27%20OR%201=1/collect", b"{\"holder_doc\":\"x\"}", "application/json", 404),
    ("POST", "/api/v1/cards/A00000001/collect", b"{\"holder_doc\":\"' OR ''='\"}", "application/json", 409),
    ("POST", "/api/v1/cards/A00000001/collect", b"{}", "application/json", 400),
    ("POST", "/api/v1/lost", b"{\"id\":\"1; DROP TABLE shipment\"}", "application/json", 400),
    ("POST", "/api/v1/shipments/069012340000000016;DROP/seal", b"{}", "application/json", 404),
]
for method, path, body, ctype, status in hostile:
    s, h, d = clerk.post(path, body, headers={"Content-Type": ctype}) if method == "POST" else clerk.get(path)
    check("hostile %s %s -> %d" % (path[:40], body[:30], status), s == status, (s, d[:200]))
import socket
def huge(path, declared, send):
    # the server answers a declared length past its limit before reading the body
    k = socket.create_connection((HOST, PORT), timeout=30)
    k.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nX-CSRF-Token: %s\r\nContent-Type: image/jpeg\r\n"
               "Content-Length: %d\r\n\r\n" % (path, sa.cookie, sa.me["csrf"], declared)).encode())
    try:
        k.sendall(b"\xff" * send)
    except OSError:
        pass
    data = k.recv(4096)
    k.close()
    return data
check("5 MiB upload refused with 413", huge("/api/v1/photos", 5 * 1024 * 1024, 100000).startswith(b"HTTP/1.1 413"))
check("a body of 1 TB declared is refused", huge("/api/v1/photos", 1 << 40, 10).startswith(b"HTTP/1.1 413"))
for path in ("/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/api/v1/shipments/..%2f..%2fetc%2fpasswd/label.png",
             "/login.html/../../etc/passwd", "/..%5c..%5cwindows", "/api/v1/track?application=../../etc/passwd&last4=abcd",
             "/web/../CMakeLists.txt", "/%00", "/api/v1/events?before=1%20OR%201=1"):
    s, h, d = clerk.get(path)
    # "/%00" is cut at the NUL by the HTTP library and becomes "/", the redirect to the sign-in page
    check("path trick %s -> 4xx" % path, (400 <= s < 500 or (path == "/%00" and s == 302)) and b"root:" not in d,
          (s, d[:100]))
s, h, d = req("GET", "/api/v1/track?application=" + urllib.parse.quote("x' OR '1'='1") + "&document=4401061234")
check("SQL-looking tracking number is just not found", s == 404)
after = state()
check("the refused and hostile requests changed nothing in the database (%d tables)" % len(after),
      after == before, "changed: %s" % sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t)))
PY
kill -0 $server || fail "the server died"

URL=$url DBC="$DB" WORK="$WORK" CARDLINE="$CARDLINE" python3 - <<'PY'
import http.client, json, os, re, subprocess, sys, time, urllib.parse
url = urllib.parse.urlparse(os.environ["URL"])
def sql(q):
    return subprocess.run(["psql", os.environ["DBC"], "-XAtq", "-c", q], check=True, capture_output=True, text=True).stdout.strip()
def req(method, path, body=None, headers=None):
    h = dict(headers or {})
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode(); h.setdefault("Content-Type", "application/json")
    for _ in range(20):  # a busy server's 503 + Retry-After on sign-in: try again then
        c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse(); d = r.read(); c.close()
        hdrs = dict((k.lower(), v) for k, v in r.getheaders())
        if r.status != 503 or "retry-after" not in hdrs or path != "/api/v1/login":
            break
        time.sleep(int(hdrs["retry-after"]))
    return r.status, hdrs, d
def login(n, p):
    s, h, d = req("POST", "/api/v1/login", {"name": n, "password": p}); assert s == 200, d
    return {"Cookie": h["set-cookie"].split(";")[0], "X-CSRF-Token": json.loads(d)["csrf"]}
def check(what, cond, detail=""):
    if not cond:
        print("FAIL:", what, detail); sys.exit(1)
    print("ok:", what)

clerk = login("clerk", "password-of-clerk")
ship = sql("SELECT s.id FROM shipment s WHERE status = 'open' ORDER BY id LIMIT 1")
s, h, d = req("POST", "/api/v1/shipments/%s/seal" % ship, {}, clerk); check("seal via API", s == 200, d)
s, h, d = req("GET", "/api/v1/shipments/%s/label.png" % ship, None, clerk)
check("label PNG", s == 200 and d[:4] == b"\x89PNG" and h["content-type"] == "image/png")
s, h, d = req("GET", "/api/v1/shipments/%s/manifest.pdf" % ship, None, clerk)
check("manifest PDF", s == 200 and d[:4] == b"%PDF" and "attachment" in h["content-disposition"])
s, h, d = req("GET", "/api/v1/shipments/%s/manifest.csv" % ship, None, clerk)
check("manifest CSV masked", s == 200 and b"**" in d)
s, h, d = req("POST", "/api/v1/shipments/%s/send" % ship, {}, clerk); check("send via API", s == 200, d)
s, h, d = req("POST", "/api/v1/receive", {"label": "]C100" + ship}, clerk)
check("receive by scanned label", s == 200 and json.loads(d)["shipment"] == ship, d)
s, h, d = req("POST", "/api/v1/receive", {"label": ship}, clerk)
check("receiving twice is a 409", s == 409, d)
card, doc = sql("SELECT c.card_number || '|' || a.doc_number FROM shipment_item i JOIN card c USING (card_number) JOIN application a ON a.id = c.application_id WHERE i.shipment_id = '%s' LIMIT 1" % ship).split("|")
s, h, d = req("POST", "/api/v1/cards/%s/collect" % card, {"holder_doc": "X" + doc[1:]}, clerk)
check("collection with the wrong document refused", s == 422, d)
s, h, d = req("POST", "/api/v1/cards/%s/collect" % card, {"holder_doc": doc, "activate": True}, clerk)
check("collection by the holder", s == 200, d)
check("issued and activated", sql("SELECT status || (activated_at IS NOT NULL) FROM card WHERE card_number = '%s'" % card) == "issuedtrue")
check("the actor is the account", sql("SELECT actor FROM event WHERE card_number = '%s' AND kind = 'collected'" % card) == "web:clerk")

# studios: upload with the applicant's document number, the full check's report as the verdict, a receipt for
# a passing photo only; one studio never sees another's
sa, sb = login("studio-a", "password-of-studio-a"), login("studio-b", "password-of-studio-b")
good = open(os.path.join(os.environ["WORK"], "good.jpg"), "rb").read()
gray = open(os.path.join(os.environ["WORK"], "gray.png"), "rb").read()
receipts_before = int(sql("SELECT count(*) FROM photo_receipt"))
s, h, d = req("POST", "/api/v1/photos", good, dict(sa, **{"Content-Type": "image/jpeg", "X-File-Name": "good.jpg"}))
check("an upload without the document number is refused", s == 400 and b"X-Document-Number" in d, d)
s, h, d = req("POST", "/api/v1/photos", good, dict(sa, **{"Content-Type": "image/jpeg", "X-Document-Number": "1234"}))
check("a 4-character document number is refused", s == 400, d)
s, h, d = req("POST", "/api/v1/photos", good, dict(sa, **{"Content-Type": "image/jpeg", "X-Document-Number": "1" * 33}))
check("a 33-character document number is refused", s == 400, d)
check("refused uploads issue no receipt", int(sql("SELECT count(*) FROM photo_receipt")) == receipts_before)
DOC = "11010519491231002X"
s, h, d = req("POST", "/api/v1/photos", good, dict(sa, **{"Content-Type": "image/jpeg", "X-File-Name": "good.jpg", "X-Document-Number": DOC}))
r = json.loads(d)
ids = [k["id"] for k in r.get("checks", [])]
check("studio A's good photo passes with a receipt", s == 201 and r["verdict"] in ("pass", "warn") and re.match(r"^P[0-9]{16}[0-9X]$", r["receipt_no"] or ""), d)
check("the verdict is the full check report", r["profile"] == "ssc" and len(ids) == len(set(ids)) >= 20 and "face.width" in ids and r["sha256"] and "face" in r, d)
check("the receipt is stored for studio A and the document number", sql("SELECT studio || '|' || doc_number || '|' || verdict FROM photo_receipt WHERE number = '%s'" % r["receipt_no"]) == "SA|%s|%s" % (DOC, r["verdict"]))
check("the full document number does not leave in the answer", DOC not in d.decode())
s, h, d = req("POST", "/api/v1/photos?doc_type=passport", gray, dict(sb, **{"Content-Type": "image/png", "X-Document-Number": "E12345678"}))
r2 = json.loads(d)
failed = [k["id"] for k in r2.get("checks", []) if k["status"] == "fail"]
check("studio B's grey photo fails with the failing check ids and no receipt", s == 200 and r2["verdict"] == "fail" and failed and r2["receipt_no"] is None, d)
check("no receipt for the failing photo", int(sql("SELECT count(*) FROM photo_receipt")) == receipts_before + 1 and sql("SELECT count(*) FROM photo_receipt WHERE studio = 'SB'") == "0")
check("the stopgap table is no longer written", sql("SELECT count(*) FROM photo_check") == "0")
s, h, d = req("GET", "/api/v1/receipts/" + r["receipt_no"], None, sa)
check("studio A downloads its receipt (PDF)", s == 200 and d[:4] == b"%PDF" and h["content-type"] == "application/pdf" and r["receipt_no"] in h.get("content-disposition", ""), s)
s, h, d = req("GET", "/api/v1/receipts/%s?format=png" % r["receipt_no"], None, sa)
check("studio A downloads its receipt (PNG)", s == 200 and d[:4] == b"\x89PNG" and h["content-type"] == "image/png", s)
s, h, d = req("GET", "/api/v1/receipts/%s?format=json" % r["receipt_no"], None, sa)
j = json.loads(d)
check("the receipt's fields, document number masked", s == 200 and j["studio"] == "SA" and j["receipt_no"] == r["receipt_no"] and DOC not in d.decode() and j["doc_number"].endswith(DOC[-4:]), d)
for fmt in ("", "?format=png", "?format=json"):
    s, h, d = req("GET", "/api/v1/receipts/" + r["receipt_no"] + fmt, None, sb)
    check("studio B cannot get studio A's receipt " + fmt, s in (403, 404) and b"%PDF" not in d and b"PNG" not in d[:8] and b"SA" not in d, (s, d[:80]))
s, h, d = req("GET", "/api/v1/receipts/P202601010000000", None, sa)
check("a malformed receipt number is not found", s == 404, s)
bad = r["receipt_no"][:-1] + ("0" if r["receipt_no"][-1] != "0" else "1")
s, h, d = req("GET", "/api/v1/receipts/" + bad, None, sa)
check("a receipt number with a wrong check character is not found", s == 404, s)
s, h, d = req("GET", "/api/v1/receipts/%s?format=doc" % r["receipt_no"], None, sa)
check("an unknown format is refused", s == 400, s)
s, h, d = req("GET", "/api/v1/receipts", None, sb)
check("studio B's list holds none of studio A's receipts", s == 200 and json.loads(d) == [], d)
s, h, d = req("GET", "/api/v1/receipts", None, sa)
check("studio A's list holds its receipt", s == 200 and [x["receipt_no"] for x in json.loads(d)] == [r["receipt_no"]], d)
s, h, d = req("GET", "/api/v1/receipts/%s?format=json" % r["receipt_no"], None, clerk)
check("an outlet looks the receipt up", s == 200 and json.loads(d)["receipt_no"] == r["receipt_no"], d)
s, h, d = req("GET", "/api/v1/receipts/" + r["receipt_no"], None, login("aud", "password-of-aud"))
check("an auditor downloads any studio's receipt", s == 200 and d[:4] == b"%PDF", s)

# tracking: the public needs the whole document number
app = sql("SELECT a.upstream_id FROM card c JOIN application a ON a.id = c.application_id WHERE card_number = '%s'" % card)
s, h, d = req("GET", "/api/v1/track?application=" + urllib.parse.quote(app))
check("public tracking without document ending refused", s == 400)
s, h, d = req("GET", "/api/v1/track?application=%s&last4=%s" % (urllib.parse.quote(app), doc[-4:]))
check("public tracking with only the document's end refused", s == 400)
s, h, d = req("GET", "/api/v1/track?application=%s&document=%s" % (urllib.parse.quote(app), doc[:-4] + ("0000" if doc[-4:] != "0000" else "1111")))
check("public tracking with a wrong document is not found", s == 404)
s, h, d = req("GET", "/api/v1/track?application=%s&document=%s" % (urllib.parse.quote(app), doc))
t = json.loads(d)
check("public tracking", s == 200 and t["card_status"] == "issued" and doc not in d.decode(), d)

# overdue, card activate and return, seal-due: through the server, each checked against the database
def cli(*args):
    return subprocess.run([os.environ["CARDLINE"], "-q", "--data-dir", os.environ["WORK"], "--db", os.environ["DBC"]] + list(args),
                          check=True, capture_output=True, text=True).stdout
op = login("op", "password-of-op")
ship2 = sql("SELECT s.id FROM shipment s WHERE status = 'open' AND (SELECT count(*) FROM shipment_item i WHERE i.shipment_id = s.id) >= 2 ORDER BY (SELECT count(*) FROM shipment_item i WHERE i.shipment_id = s.id) DESC, id LIMIT 1")
check("an open shipment with two cards or more", ship2 != "")
cards2 = sql("SELECT string_agg(card_number, ' ' ORDER BY card_number) FROM shipment_item WHERE shipment_id = '%s'" % ship2).split()
for action in ("seal", "send"):
    s, h, d = req("POST", "/api/v1/shipments/%s/%s" % (ship2, action), {}, clerk); check("%s %s" % (action, ship2), s == 200, d)
late_card = cards2[0]
late_app = sql("SELECT application_id FROM card WHERE card_number = '%s'" % late_card)
late_deadline = sql("SELECT coalesce(deadline::text, 'NULL') FROM application WHERE id = %s" % late_app)
sql("UPDATE shipment SET sealed_at = clock_now() - interval '40 days', dispatched_at = clock_now() - interval '40 days' WHERE id = '%s'" % ship2)
sql("UPDATE application SET deadline = bureau_date(clock_now()) - 1 WHERE id = %s" % late_app)
s, h, d = req("GET", "/api/v1/overdue", None, clerk)
o = json.loads(d)
yesterday = sql("SELECT (bureau_date(clock_now()) - 1)::text")
ov = [x for x in o["shipments"] if x["id"] == ship2]
check("overdue: %s 40 days on the road" % ship2, s == 200 and len(ov) == 1 and ov[0]["status"] == "dispatched" and ov[0]["cards"] == len(cards2), d[:300])
lc = [x for x in o["late_cards"] if x["card_number"] == late_card]
name = sql("SELECT name FROM application WHERE id = %s" % late_app)
check("overdue: card %s past its deadline, holder masked" % late_card,
      len(lc) == 1 and lc[0]["status"] == "in_transit" and lc[0]["deadline"] == yesterday and "*" in lc[0]["holder"] and name not in d.decode(), lc)
check("overdue: as many late cards as the database holds",
      len(o["late_cards"]) == int(sql("SELECT count(*) FROM card c JOIN application a ON a.id = c.application_id WHERE c.status IN ('good', 'in_transit') AND a.deadline < bureau_date(clock_now())")), len(o["late_cards"]))
check("overdue: the web and `cardline dispatch overdue --json` give the same answer", json.loads(cli("dispatch", "overdue", "--json")) == o)
s, h, d = req("GET", "/api/v1/overdue", None, op); check("overdue for an operator", s == 200 and json.loads(d) == o, s)
s, h, d = req("GET", "/api/v1/overdue", None, sa); check("overdue refused to a studio", s == 403, s)
sql("UPDATE application SET deadline = %s WHERE id = %s" % ("NULL" if late_deadline == "NULL" else "'%s'" % late_deadline, late_app))
s, h, d = req("POST", "/api/v1/receive", {"label": ship2}, clerk); check("receive " + ship2, s == 200, d)

act_card, act_doc = sql("SELECT c.card_number || '|' || a.doc_number FROM card c JOIN application a ON a.id = c.application_id WHERE c.card_number = '%s'" % cards2[0]).split("|")
s, h, d = req("POST", "/api/v1/cards/%s/collect" % act_card, {"holder_doc": act_doc, "activate": False, "skip_activation_reason": "holder in a hurry"}, clerk)
check("collection without activation", s == 200 and sql("SELECT status || '/' || (activated_at IS NULL) FROM card WHERE card_number = '%s'" % act_card) == "issued/true", d)
s, h, d = req("POST", "/api/v1/cards/%s/activate" % act_card, {}, op); check("activation refused to an operator", s == 403, s)
s, h, d = req("POST", "/api/v1/cards/%s/activate" % act_card, {}, clerk)
check("card activated", s == 200 and json.loads(d) == {"ok": True, "card": act_card}
      and sql("SELECT (activated_at IS NOT NULL) || '/' || (SELECT actor FROM event WHERE card_number = '%s' AND kind = 'activated')" % act_card + " FROM card WHERE card_number = '%s'" % act_card) == "true/web:clerk", d)
s, h, d = req("POST", "/api/v1/cards/%s/activate" % act_card, {}, clerk)
check("activating twice is a 409", s == 409 and "already activated" in json.loads(d)["error"], d)
s, h, d = req("POST", "/api/v1/cards/Z99999999/activate", {}, clerk)
check("activating an unknown card is a 404", s == 404 and json.loads(d)["error"] == "no card Z99999999", d)

ret_card = cards2[1]
s, h, d = req("POST", "/api/v1/cards/%s/return" % ret_card, {}, clerk)
check("return before 12 months refused", s == 409 and "only after 12 months" in json.loads(d)["error"]
      and sql("SELECT status FROM card WHERE card_number = '%s'" % ret_card) == "at_outlet", d)
sql("UPDATE shipment SET received_at = clock_now() - interval '13 months', dispatched_at = clock_now() - interval '13 months', sealed_at = clock_now() - interval '13 months' WHERE id = '%s'" % ship2)
s, h, d = req("POST", "/api/v1/cards/%s/return" % ret_card, {}, op); check("return refused to an operator", s == 403, s)
s, h, d = req("POST", "/api/v1/cards/%s/return" % ret_card, {}, clerk)
check("uncollected card returned", s == 200 and json.loads(d) == {"ok": True, "card": ret_card}
      and sql("SELECT status || '/' || (SELECT actor FROM event WHERE card_number = '%s' AND kind = 'returned')" % ret_card + " FROM card WHERE card_number = '%s'" % ret_card) == "uncollected/web:clerk", d)
# the custody trigger lets a card stay where it is, so a second return is a no-op that records nothing
s, h, d = req("POST", "/api/v1/cards/%s/return" % ret_card, {}, clerk)
check("returning twice changes nothing", s == 200 and sql("SELECT count(*) FROM event WHERE card_number = '%s' AND kind = 'returned'" % ret_card) == "1"
      and sql("SELECT status FROM card WHERE card_number = '%s'" % ret_card) == "uncollected", d)
s, h, d = req("POST", "/api/v1/cards/%s/return" % act_card, {}, clerk)
check("an issued card cannot be returned", s == 409 and "cannot go from issued to uncollected" in json.loads(d)["error"], d)

# seal-due: today a working day with a delivery run for one outlet only and the cut-off at midnight, so that
# exactly that outlet's open shipment is sealed now, whatever the date the test runs on
due = sql("SELECT s.id || '|' || s.outlet_code FROM shipment s WHERE status = 'open' AND EXISTS (SELECT 1 FROM shipment_item i WHERE i.shipment_id = s.id) ORDER BY id LIMIT 1")
check("an open shipment left for seal-due", due != "")
due_ship, due_outlet = due.split("|")
sql("INSERT INTO calendar_year (year, source) SELECT extract(year FROM bureau_date(clock_now()))::integer, 'http test' ON CONFLICT DO NOTHING")
sql("INSERT INTO calendar_day (day, working, note) VALUES (bureau_date(clock_now()), true, 'http test') ON CONFLICT (day) DO UPDATE SET working = true")
sql("UPDATE setting SET value = '00:00' WHERE key = 'delivery_cutoff'")
sql("UPDATE outlet SET delivery_weekdays = CASE WHEN code = '%s' THEN '{1,2,3,4,5,6,7}'::smallint[] ELSE array(SELECT w FROM generate_series(1, 7) w WHERE w <> extract(isodow FROM bureau_date(clock_now())))::smallint[] END" % due_outlet)
open_before = int(sql("SELECT count(*) FROM shipment WHERE status = 'open'"))
s, h, d = req("POST", "/api/v1/seal-due", {}, op); check("seal-due refused to an operator", s == 403, s)
s, h, d = req("POST", "/api/v1/seal-due", {}, clerk)
check("seal-due seals the one shipment past its cut-off", s == 200 and json.loads(d) == {"sealed": 1}
      and sql("SELECT status || '/' || seal_reason FROM shipment WHERE id = '%s'" % due_ship) == "sealed/cut-off"
      and int(sql("SELECT count(*) FROM shipment WHERE status = 'open'")) == open_before - 1, d)
s, h, d = req("POST", "/api/v1/seal-due", {}, clerk); check("seal-due again seals nothing", s == 200 and json.loads(d) == {"sealed": 0}, d)

s, h, d = req("GET", "/metrics")
text = d.decode()
for m in ("cardline_queue_depth{status=\"pending\"}", "cardline_at_risk ", "cardline_spoil_rate ",
          "cardline_line_cards_per_hour{line=\"L1\"}", "cardline_line_state{line=\"L1\",state=\"stopped\"} 1"):
    check("metrics has " + m, m in text, text[:300])

s, h, d = req("POST", "/api/v1/logout", {}, clerk)
s, h, d = req("GET", "/api/v1/status", None, clerk)
check("the session ends at sign-out", s == 401)
PY
kill -0 $server || fail "the server died"
kill -TERM $server
wait $server || fail "serve did not stop cleanly on SIGTERM (status $?)"
trap - EXIT
echo "http: all checks passed"
