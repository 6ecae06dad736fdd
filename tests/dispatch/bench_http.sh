#!/usr/bin/env bash
# bench_http.sh — requests per second of the status API (session check + four queries) and, in the same run and
# with the same client, of a static file; prints both and their ratio. Loopback only, bounded in time and count.
source "$(dirname "$0")/../integration/lib.sh"
require_postgres
new_db
cl gen applications 200 --seed 41 >/dev/null
cl run --lines 4 --until-empty
echo "password-of-bench" | cl account add bench --role operator --password-stdin >/dev/null
start_serve --threads 4
URL=$url SECONDS_EACH=${BENCH_SECONDS:-5} CLIENTS=${BENCH_CLIENTS:-4} python3 - <<'PY'
import http.client, json, os, threading, time, urllib.parse
u = urllib.parse.urlparse(os.environ["URL"])
secs, clients = float(os.environ["SECONDS_EACH"]), int(os.environ["CLIENTS"])
c = http.client.HTTPConnection(u.hostname, u.port)
c.request("POST", "/api/v1/login", json.dumps({"name": "bench", "password": "password-of-bench"}),
          {"Content-Type": "application/json"})
r = c.getresponse(); r.read()
cookie = r.getheader("Set-Cookie").split(";")[0]

def run(path):
    counts, errors = [0] * clients, [0] * clients
    stop = time.monotonic() + secs
    def worker(i):
        k = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        while time.monotonic() < stop and counts[i] < 2_000_000:
            k.request("GET", path, headers={"Cookie": cookie})
            resp = k.getresponse(); resp.read()
            if resp.status == 200: counts[i] += 1
            else: errors[i] += 1
        k.close()
    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in ts: t.start()
    for t in ts: t.join()
    dt = time.monotonic() - t0
    assert sum(errors) == 0, (path, errors)
    return sum(counts) / dt

api = run("/api/v1/status")
static = run("/app.css")
print("bench-http: %d clients x %.0f s each, keep-alive, loopback" % (clients, secs))
print("bench-http: status API  %8.0f requests/s" % api)
print("bench-http: static file %8.0f requests/s" % static)
print("bench-http: ratio status/static = %.2f" % (api / static))
PY
