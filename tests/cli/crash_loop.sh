#!/usr/bin/env bash
# Crash loop: `cityts serve` is killed with SIGKILL while concurrent HTTP
# writers post to it, cycle after cycle. Each writer posts batches of
# consecutive integers (v = 1, 2, 3, ... at time v seconds) and records the
# last value the server acknowledged (204). After each kill the server is
# restarted and, for every writer, the stored values must be exactly
# 1..k (a prefix with no hole) with k >= the last acknowledged value; at
# the end the server is stopped and `cityts verify` must pass.
#
# A process crash loses nothing under any fsync policy (acknowledged
# records are in the kernel's page cache), so the cycles alternate the
# policies: always, interval, never.
#
# Usage: crash_loop.sh PATH/TO/cityts [CYCLES]   (default 5;
#        CTS_CRASH_LOOP_CYCLES overrides; thousands for a long run)
set -u
CITYTS=$1
CYCLES=${CTS_CRASH_LOOP_CYCLES:-${2:-5}}
WRITERS=4
BATCH=50
T=$(mktemp -d "${CTS_TEST_TMPDIR:-/tmp}/crash-XXXXXX")
PID=""
WPIDS=()
cleanup() {
  [ -n "$PID" ] && kill -KILL "$PID" 2> /dev/null
  for p in "${WPIDS[@]}"; do kill -KILL "$p" 2> /dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

start() { # start FSYNC: sets PID and URL
  "$CITYTS" serve --data "$T/data" --listen 127.0.0.1:0 --fsync "$1" 2> "$T/serve.log" &
  PID=$!
  URL=""
  for _ in $(seq 200); do
    URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$T/serve.log" | head -1)
    [ -n "$URL" ] && break
    sleep 0.05
  done
  [ -n "$URL" ] || { fail "server did not start: $(cat "$T/serve.log")"; exit 1; }
}

# writer W: continue from the stored prefix; post until the server dies.
writer() {
  local w=$1 next=$2 code body i
  while :; do
    body=""
    for ((i = next; i < next + BATCH; i++)); do
      body+="crash,writer=w$w v=${i}i ${i}"$'\n'
    done
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -XPOST \
      "$URL/write?db=crash&precision=s" --data-binary "$body") || return 0
    [ "$code" = 204 ] || return 0
    echo $((next + BATCH - 1)) > "$T/acked.$w.tmp" && mv "$T/acked.$w.tmp" "$T/acked.$w"
    next=$((next + BATCH))
  done
}

# stored W: "count max" of writer W's values (CSV: name,tags,time,count,max).
stored() {
  curl -s -G "$URL/query" -H 'Accept: application/csv' --data-urlencode db=crash \
    --data-urlencode "q=SELECT count(v), max(v) FROM crash WHERE writer = 'w$1'" |
    awk -F, 'NR == 2 { print $4, $5; found = 1 } END { if (!found) print 0, 0 }'
}

policies=(always interval never)
start always
curl -s -o /dev/null -XPOST "$URL/query" --data-urlencode "q=CREATE DATABASE crash"
for w in $(seq $WRITERS); do echo 0 > "$T/acked.$w"; done
checked=0
for ((c = 1; c <= CYCLES; c++)); do
  WPIDS=()
  for w in $(seq $WRITERS); do
    read -r n m < <(stored "$w")
    writer "$w" $((m + 1)) &
    WPIDS+=($!)
  done
  sleep "0.$((RANDOM % 8 + 2))"
  kill -KILL "$PID"
  wait "$PID" 2> /dev/null
  for p in "${WPIDS[@]}"; do wait "$p"; done
  start "${policies[c % 3]}"
  for w in $(seq $WRITERS); do
    read -r n m < <(stored "$w")
    a=$(cat "$T/acked.$w")
    checked=$((checked + 1))
    [ "$n" = "$m" ] || fail "cycle $c writer $w: $n values stored but the largest is $m (a hole)"
    [ "$m" -ge "$a" ] || fail "cycle $c writer $w: acknowledged $a, only $m stored"
    [ $((m % BATCH)) -eq 0 ] || fail "cycle $c writer $w: $m is not a whole batch (a torn batch)"
  done
done
kill -TERM "$PID"
wait "$PID"
status=$?
PID=""
[ "$status" -eq 0 ] || fail "graceful stop exited $status"
"$CITYTS" verify --data "$T/data" --db crash > "$T/verify.out" 2>&1 || fail "verify: $(cat "$T/verify.out")"
total=0
for w in $(seq $WRITERS); do total=$((total + $(cat "$T/acked.$w"))); done
echo "crash loop: $CYCLES cycles, $WRITERS writers, $checked prefix checks, $total points acknowledged, $fails failures"
[ "$fails" -eq 0 ]
