#!/usr/bin/env bash
# HTTP ingest benchmark of `cityts serve`: values/s with 1, 2 and 8
# concurrent clients, each POSTing 5,000-line batches of `cityts gen`
# output to /write over one kept-alive connection (a small Python client
# in threads: curl spends more time per request than the server does);
# then query latency p50/p99 of an aggregate query repeated while 2
# clients keep writing.
# The baseline is `cityts ingest` of the same file. Each run starts on an
# empty data directory with the default fsync policy (interval).
#
# Usage: bench/http_ingest.sh [PATH/TO/cityts] (default build/release/cli/cityts)
# Environment: SENSORS (default 40: about 1.9 million lines, 3.1 million
# values), WORK (scratch directory, default a temporary one), CLIENTS
# (default "1 2 8"). Needs curl and python3 (the load client).
# Everything runs on this machine: the clients share its cores with the
# server, so the figures are a floor for a server with a core of its own.
set -euo pipefail
CITYTS=${1:-build/release/cli/cityts}
SENSORS=${SENSORS:-40}
CLIENTS=${CLIENTS:-1 2 8}
W=${WORK:-$(mktemp -d /tmp/http-bench-XXXXXX)}
mkdir -p "$W"
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill -KILL "$SERVER" 2> /dev/null || true; fi
  [ -n "${WORK:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

now() { date +%s.%N; }

"$CITYTS" gen --sensors "$SENSORS" --duration 1d --stats --output "$W/data.lp" 2> "$W/gen.txt"
VALUES=$(sed -n 's/.* lines, \([0-9]*\) values.*/\1/p' "$W/gen.txt")
LINES=$(wc -l < "$W/data.lp")
rm -rf "$W/batches" && mkdir "$W/batches"
split -l 5000 -a 4 "$W/data.lp" "$W/batches/b"
NB=$(ls "$W/batches" | wc -l)
echo "data: $LINES lines, $VALUES values, $NB batches of 5000 lines"

# baseline: cityts ingest from the file, timed by itself (from the first
# read to the last write acknowledged, like the HTTP runs: not the final
# flush at close)
rm -rf "$W/ingest"
"$CITYTS" ingest --data "$W/ingest" --db city --no-progress "$W/data.lp" 2> "$W/ingest.txt"
ISECS=$(sed -n 's/.* in \([0-9.]*\) s (.*/\1/p' "$W/ingest.txt")
BASE=$(echo "$VALUES / $ISECS" | bc -l)
printf 'cityts ingest (file):          %10.0f values/s  (%.2f s)\n' "$BASE" "$ISECS"

start_server() {
  rm -rf "$W/srv"
  "$CITYTS" serve --data "$W/srv" --listen 127.0.0.1:0 --max-connections 64 2> "$W/serve.log" &
  SERVER=$!
  for _ in $(seq 600); do
    grep -q "listening on" "$W/serve.log" && break
    kill -0 "$SERVER" 2> /dev/null || break
    sleep 0.05
  done
  grep -q "listening on" "$W/serve.log" || { cat "$W/serve.log"; echo "server did not start"; exit 1; }
  URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$W/serve.log" | head -1)
  curl -sf -XPOST "$URL/query" --data-urlencode 'q=CREATE DATABASE city' > /dev/null
}
stop_server() {
  kill -TERM "$SERVER"
  wait "$SERVER"
  SERVER=
}

# The load client: Python's standard library, one thread and one kept-alive
# connection per client; batch i goes to client i mod C. Bodies are read
# before the clock starts. `write`: prints seconds and failed requests.
# `latency`: while C writers post every batch, one more connection runs the
# query again and again; prints p50 and p99 in ms and the query count.
cat > "$W/load.py" <<'PY'
import http.client, sys, threading, time, urllib.parse
mode, host, port, nclients = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
query = sys.argv[5] if mode == 'latency' else None
files = sys.argv[6:] if mode == 'latency' else sys.argv[5:]
bodies = [open(f, 'rb').read() for f in files]
failed = []

def writer(k):
    c = http.client.HTTPConnection(host, port)
    for i in range(k, len(bodies), nclients):
        c.request('POST', '/write?db=city', body=bodies[i])
        r = c.getresponse()
        r.read()
        if r.status != 204:
            failed.append(r.status)

ts = [threading.Thread(target=writer, args=(k,)) for k in range(nclients)]
t0 = time.time()
for t in ts:
    t.start()
if mode == 'write':
    for t in ts:
        t.join()
    print('%.3f %d' % (time.time() - t0, len(failed)))
    sys.exit(0)
lat = []
c = http.client.HTTPConnection(host, port)
path = '/query?' + urllib.parse.urlencode({'db': 'city', 'q': query})
while any(t.is_alive() for t in ts):
    q0 = time.time()
    c.request('GET', path)
    r = c.getresponse()
    r.read()
    lat.append((time.time() - q0) * 1000)
for t in ts:
    t.join()
lat.sort()
n = len(lat)
print('%.1f %.1f %d %d' % (lat[(n - 1) // 2], lat[min(n - 1, (n * 99) // 100)], n, len(failed)))
PY

for c in $CLIENTS; do
  start_server
  read -r secs failed < <(python3 "$W/load.py" write 127.0.0.1 "${URL##*:}" "$c" "$W"/batches/b*)
  stop_server
  [ "$failed" = 0 ] || { echo "$failed writes failed"; exit 1; }
  rate=$(echo "$VALUES / $secs" | bc -l)
  printf 'HTTP /write, %d client(s):      %10.0f values/s  (%.2f s, %.0f%% of ingest)\n' \
    "$c" "$rate" "$secs" "$(echo "100 * $rate / $BASE" | bc -l)"
done

# query latency while 2 clients write
Q='SELECT mean(pm25) FROM air WHERE time >= now() - 3650d GROUP BY city'
start_server
curl -s -XPOST "$URL/write?db=city" --data-binary @"$(ls "$W"/batches/b* | head -1)" > /dev/null
read -r p50 p99 n failed < <(python3 "$W/load.py" latency 127.0.0.1 "${URL##*:}" 2 "$Q" "$W"/batches/b*)
stop_server
printf 'query latency during writes:   p50 %s ms, p99 %s ms over %s queries\n  (%s)\n' \
  "$p50" "$p99" "$n" "$Q"
