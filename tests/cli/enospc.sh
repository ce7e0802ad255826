#!/usr/bin/env bash
# A real full disk (issue 7, part 5): `cityts serve` on a 10 MiB tmpfs,
# written to until the file system is full. The server must answer 507
# (insufficient storage) or 503 rather than die, keep answering /ping and
# queries, lose nothing it acknowledged, and recover cleanly once space is
# back: restarted on the grown file system, every acknowledged point is
# there and writes succeed again. Needs root (mount); skipped (77) without.
# Usage: enospc.sh PATH/TO/cityts
set -u
CITYTS=$1
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root to mount a tmpfs"; exit 77; }
T=$(mktemp -d "${CTS_TEST_TMPDIR:-/tmp}/enospc-XXXXXX")
M="$T/fs"
mkdir -p "$M"
mount -t tmpfs -o size=10m tmpfs "$M" 2> /dev/null || { rmdir "$M"; rm -rf "$T"; echo "skipped: mount refused"; exit 77; }
PID=""
cleanup() {
  [ -n "$PID" ] && kill -KILL "$PID" 2> /dev/null && wait "$PID" 2> /dev/null
  umount "$M" 2> /dev/null
  rm -rf "$T"
}
trap cleanup EXIT
fails=0 passes=0
check() {
  local name=$1; shift
  if "$@"; then passes=$((passes + 1)); else echo "FAIL: $name"; fails=$((fails + 1)); fi
}
start() {
  "$CITYTS" serve --data "$M/data" --listen 127.0.0.1:0 --fsync always 2> "$T/serve.log" &
  PID=$!
  URL=""
  for _ in $(seq 200); do
    URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$T/serve.log" | head -1)
    [ -n "$URL" ] && break
    sleep 0.05
  done
}
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
count() {
  curl -s -G "$URL/query" -H 'Accept: application/csv' --data-urlencode db=full \
    --data-urlencode 'q=SELECT count(v) FROM disk' | awk -F, 'NR == 2 { print $4; f = 1 } END { if (!f) print 0 }'
}

start
check "server started" test -n "$URL"
curl -s -o /dev/null -XPOST "$URL/query" --data-urlencode "q=CREATE DATABASE full"
acked=0 next=0 last=""
for i in $(seq 2000); do
  awk -v n="$next" 'BEGIN { for (k = 0; k < 2000; k++) printf "disk,s=s%d v=%d.5,pad=\"%s%d\" %d\n", k % 97, n + k, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", n + k, n + k + 1 }' > "$T/batch"
  last=$(code -XPOST "$URL/write?db=full&precision=s" --data-binary @"$T/batch")
  [ "$last" = 204 ] || break
  acked=$((acked + 2000))
  next=$((next + 2000))
done
echo "disk full after $acked acknowledged points: HTTP $last: $(cat "$T/body")"
check "a full disk is 507 or 503, not a crash (got $last)" test "$last" = 507 -o "$last" = 503
check "the server is still up" test "$(code "$URL/ping")" = 204
check "it still answers queries" test "$(count)" -ge "$acked"
again=$(code -XPOST "$URL/write?db=full&precision=s" --data-binary 'disk v=1 1')
check "later writes are refused cleanly too (got $again)" test "$again" = 507 -o "$again" = 503
kill -TERM "$PID"
wait "$PID"
PID=""
mount -o remount,size=64m "$M"
start
check "restarted once space is back" test -n "$URL"
n=$(count)
check "every acknowledged point is there ($n >= $acked)" test "$n" -ge "$acked"
check "writes succeed again" test "$(code -XPOST "$URL/write?db=full&precision=s" --data-binary 'disk v=2 9999999')" = 204
kill -TERM "$PID"
wait "$PID"
PID=""
"$CITYTS" verify --data "$M/data" --db full > "$T/verify" 2>&1
check "verify passes ($(tail -1 "$T/verify"))" test $? -eq 0
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
