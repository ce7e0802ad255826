#!/usr/bin/env bash
# End-to-end tests of `cityts serve` with curl, as a client sees it: every
# endpoint and its errors in InfluxDB 1.x's words and statuses (partial
# writes with the dropped count, missing and unknown databases, 413, 503,
# gzip bodies, precision), authentication (401/403, Basic, Token, u/p),
# the read timeout, a Unix socket, and the graceful stop: SIGTERM while a
# slow upload is in flight, exit 0, every point on disk afterwards.
# Servers listen on 127.0.0.1 port 0 (a free port, read from the log).
# Usage: serve.sh PATH/TO/cityts
set -u
CITYTS=$1
T=$(mktemp -d "${CTS_TEST_TMPDIR:-/tmp}/serve-XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2> /dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
fails=0 passes=0

check() { # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passes=$((passes + 1)); else echo "FAIL: $name"; fails=$((fails + 1)); fi
}
has() { grep -qF -- "$2" "$1"; } # has FILE TEXT
count_points() { # count_points DATA DB: sealed + unsealed points per inspect
  "$CITYTS" inspect --data "$1" --db "$2" |
    sed -n 's/.*sealed points \([0-9]*\) .*unsealed points \([0-9]*\),.*/\1 \2/p' |
    awk '{print $1 + $2}'
}

start() { # start NAME ARGS...: sets PID and URL
  local name=$1; shift
  : > "$T/$name.log"
  "$CITYTS" serve --listen 127.0.0.1:0 "$@" 2> "$T/$name.log" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 600); do # up to 30 s on a loaded machine
    grep -q "listening on http" "$T/$name.log" && break
    kill -0 "$PID" 2> /dev/null || break
    sleep 0.05
  done
  URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$T/$name.log" | head -1)
}
stop() { # stop PID [SIGNAL]: SIGTERM (or SIGNAL), then the exit status in STATUS
  kill -"${2:-TERM}" "$1"
  wait "$1"
  STATUS=$?
}
# req NAME CURL-ARGS...: the status in $T/NAME.code, headers in .h, body in .b
req() {
  local name=$1; shift
  curl -s -o "$T/$name.b" -D "$T/$name.h" -w '%{http_code}' "$@" > "$T/$name.code"
}
code() { cat "$T/$1.code"; }
body() { cat "$T/$1.b"; }

start main --data "$T/data" --max-body-bytes 65536 --max-inflight-bytes 262144
check "server started" test -n "$URL"

# /ping, /health, unknown paths
req ping "$URL/ping"
check "ping 204" test "$(code ping)" = 204
check "ping X-Influxdb-Version" has "$T/ping.h" "X-Influxdb-Version: 1.8.10"
check "ping X-Influxdb-Build" has "$T/ping.h" "X-Influxdb-Build: OSS"
check "ping Request-Id" grep -qE '^Request-Id: [0-9a-f-]{36}' "$T/ping.h"
req pingv "$URL/ping?verbose=true"
check "ping verbose 200" test "$(code pingv)" = 200
check "ping verbose body" test "$(body pingv)" = '{"version":"1.8.10"}'
req rid -H "X-Request-Id: abc-123" "$URL/ping"
check "request id echoed" has "$T/rid.h" "Request-Id: abc-123"
req head -I "$URL/ping"
check "HEAD ping 204" test "$(code head)" = 204
req cors -X OPTIONS -H "Origin: http://grafana.example" "$URL/query"
check "OPTIONS 204" test "$(code cors)" = 204
check "CORS origin" has "$T/cors.h" "Access-Control-Allow-Origin: http://grafana.example"
req health "$URL/health"
check "health 200" test "$(code health)" = 200
check "health body" test "$(body health)" = \
  '{"checks":[],"message":"ready for queries and writes","name":"influxdb","status":"pass","version":"1.8.10"}'
req nf "$URL/nope"
check "unknown path 404" test "$(code nf)" = 404
req m405 -X DELETE "$URL/write"
check "DELETE /write 405" test "$(code m405)" = 405
req getw "$URL/write?db=x"
check "GET /write 405" test "$(code getw)" = 405

# /write before the database exists; then CREATE DATABASE through /query
req nodb -XPOST "$URL/write?db=city" --data-binary 'air pm25=1 1'
check "unknown db 404" test "$(code nodb)" = 404
check "unknown db body" test "$(body nodb)" = '{"error":"database not found: \"city\""}'
check "X-Influxdb-Error mirrors" has "$T/nodb.h" 'X-Influxdb-Error: database not found: "city"'
req dbreq -XPOST "$URL/write" --data-binary 'air pm25=1 1'
check "db required 400" test "$(code dbreq)" = 400
check "db required body" test "$(body dbreq)" = '{"error":"database is required"}'
req trav -XPOST "$URL/write?db=..%2Fetc" --data-binary 'air pm25=1 1'
check "traversal name 404" test "$(code trav)" = 404
check "nothing created outside" test ! -e "$T/etc"
req create -XPOST "$URL/query" --data-urlencode "q=CREATE DATABASE city"
check "CREATE DATABASE 200" test "$(code create)" = 200

# good writes, precision, gzip, v2
printf 'air,city=lisbon,sensor=a1 pm25=12.5,pm10=20.1 1764547200000000000\nair,city=lisbon,sensor=a2 pm25=13.5 1764547200000000000\n' > "$T/good.lp"
req w1 -XPOST "$URL/write?db=city" --data-binary @"$T/good.lp"
check "write 204" test "$(code w1)" = 204
check "write has no body" test ! -s "$T/w1.b"
req wprec -XPOST "$URL/write?db=city&precision=s" --data-binary 'air,city=milan,sensor=m1 pm25=1 1764547260'
check "precision=s 204" test "$(code wprec)" = 204
req wbadprec -XPOST "$URL/write?db=city&precision=fortnight" --data-binary 'air pm25=1 1'
check "bad precision 400" test "$(code wbadprec)" = 400
check "bad precision message" has "$T/wbadprec.b" 'invalid precision \"fortnight\" (use n, u, ms, s, m or h)'
printf 'air,city=warsaw,sensor=w1 pm25=3 1764547200000000000\n' | gzip -c > "$T/gz.lp.gz"
req wgz -XPOST -H "Content-Encoding: gzip" "$URL/write?db=city" --data-binary @"$T/gz.lp.gz"
check "gzip write 204" test "$(code wgz)" = 204
req wbadgz -XPOST -H "Content-Encoding: gzip" "$URL/write?db=city" --data-binary 'not gzip at all'
check "bad gzip 400" test "$(code wbadgz)" = 400
{ printf 'air,city=warsaw,sensor=w2 pm25=3 1764547200000000000\n' | gzip -c
  printf 'air,city=warsaw,sensor=w3 pm25=3 1764547200000000000\n' | gzip -c; } > "$T/two.gz"
req wgz2 -XPOST -H "Content-Encoding: gzip" "$URL/write?db=city" --data-binary @"$T/two.gz"
check "two gzip members 204" test "$(code wgz2)" = 204
req wdefl -XPOST -H "Content-Encoding: br" "$URL/write?db=city" --data-binary 'x'
check "unknown Content-Encoding 415" test "$(code wdefl)" = 415
head -c 20 "$T/gz.lp.gz" > "$T/cut.gz"
req wcutgz -XPOST -H "Content-Encoding: gzip" "$URL/write?db=city" --data-binary @"$T/cut.gz"
check "truncated gzip 400" test "$(code wcutgz)" = 400
req wv2 -XPOST -H "Authorization: Token ignored:when-auth-off" \
  "$URL/api/v2/write?bucket=city/autogen&org=x&precision=ms" --data-binary 'air,city=burgas,sensor=b1 pm25=4 1764547200000'
check "v2 write db/rp 204" test "$(code wv2)" = 204
req wv2b -XPOST "$URL/api/v2/write?bucket=city&precision=ns" --data-binary 'air,city=burgas,sensor=b2 pm25=5 1764547200000000000'
check "v2 write bucket 204" test "$(code wv2b)" = 204
req wv2nb -XPOST "$URL/api/v2/write?org=x" --data-binary 'air pm25=1'
check "v2 without bucket 404" test "$(code wv2nb)" = 404
req wv2p -XPOST "$URL/api/v2/write?bucket=city&precision=h" --data-binary 'air pm25=1'
check "v2 precision h refused" test "$(code wv2p)" = 400

# partial writes: good lines kept, dropped counted
printf 'air,city=london,sensor=l1 pm25=1 1764547200000000000\nair,city=london,sensor=l1 pm25= 1764547260000000000\nbad line\nair,city=london,sensor=l2 pm25=2 1764547200000000000\n' > "$T/partial.lp"
req wpart -XPOST "$URL/write?db=city" --data-binary @"$T/partial.lp"
check "partial write 400" test "$(code wpart)" = 400
check "partial write body" test "$(body wpart)" = \
  "{\"error\":\"partial write: unable to parse 'air,city=london,sensor=l1 pm25= 1764547260000000000': missing field value dropped=2\"}"
req wall -XPOST "$URL/write?db=city" --data-binary 'nothing good here'
check "all bad 400" test "$(code wall)" = 400
check "all bad: the parse error alone" test "$(body wall)" = "{\"error\":\"unable to parse 'nothing good here': invalid field format\"}"
req wconf -XPOST "$URL/write?db=city" --data-binary $'air,city=bordeaux,sensor=x1 pm25="high" 1764547200000000000\nair,city=bordeaux,sensor=x2 pm25=9 1764547200000000000'
check "type conflict 400" test "$(code wconf)" = 400
check "type conflict message" has "$T/wconf.b" 'partial write: field type conflict: '
check "type conflict dropped=1" has "$T/wconf.b" 'dropped=1"}'
req wempty -XPOST "$URL/write?db=city" --data-binary ''
check "empty body 204" test "$(code wempty)" = 204

# limits: 413 by Content-Length, by a chunked body, by a gzip bomb; 503
head -c 70000 /dev/zero | tr '\0' 'x' > "$T/big"
req big -XPOST "$URL/write?db=city" --data-binary @"$T/big"
check "413 by Content-Length" test "$(code big)" = 413
check "413 body" test "$(body big)" = '{"error":"Request Entity Too Large"}'
req bigch -XPOST -H "Transfer-Encoding: chunked" "$URL/write?db=city" --data-binary @"$T/big"
check "413 chunked" test "$(code bigch)" = 413
head -c 1000000 /dev/zero | gzip -c > "$T/bomb.gz"
req bomb -XPOST -H "Content-Encoding: gzip" "$URL/write?db=city" --data-binary @"$T/bomb.gz"
check "413 gzip bomb" test "$(code bomb)" = 413
req w2 -XPOST "$URL/write?db=city" --data-binary 'air,city=paris,sensor=p1 pm25=7 1764547200000000000'
check "server fine after 413s" test "$(code w2)" = 204

# /query: JSON, epoch, several statements, chunked, CSV, POST forms, errors
Q() { curl -s -G "$URL/query" --data-urlencode "q=$1" "${@:2}"; }
check "SELECT JSON" test "$(Q "SELECT pm25 FROM air WHERE sensor = 'a2'" --data-urlencode db=city)" = \
  '{"results":[{"statement_id":0,"series":[{"name":"air","columns":["time","pm25"],"values":[["2025-12-01T00:00:00Z",13.5]]}]}]}'
check "epoch=s" test "$(Q "SELECT pm25 FROM air WHERE sensor = 'a2'" --data-urlencode db=city --data-urlencode epoch=s)" = \
  '{"results":[{"statement_id":0,"series":[{"name":"air","columns":["time","pm25"],"values":[[1764547200,13.5]]}]}]}'
check "two statements" test "$(Q "SELECT count(pm25) FROM air WHERE sensor = 'a2'; SELECT max(pm25) FROM air WHERE sensor = 'a2'" --data-urlencode db=city)" = \
  '{"results":[{"statement_id":0,"series":[{"name":"air","columns":["time","count"],"values":[["1970-01-01T00:00:00Z",1]]}]},{"statement_id":1,"series":[{"name":"air","columns":["time","max"],"values":[["2025-12-01T00:00:00Z",13.5]]}]}]}'
Q "SELECT pm25 FROM air WHERE sensor = 'a2'; SELECT pm25 FROM air WHERE sensor = 'a1'" --data-urlencode db=city --data-urlencode chunked=true > "$T/chunked"
check "chunked: one object per statement" test "$(wc -l < "$T/chunked")" -eq 2
check "chunked: second object" grep -q '^{"results":\[{"statement_id":1,' "$T/chunked"
check "CSV" test "$(Q "SELECT pm25 FROM air WHERE sensor = 'a2'" --data-urlencode db=city -H 'Accept: application/csv')" = \
  "$(printf 'name,tags,time,pm25\nair,,1764547200000000000,13.5')"
req qpost -XPOST "$URL/query?db=city" --data-urlencode "q=SELECT pm25 FROM air WHERE sensor = 'a2'"
check "POST form query 200" test "$(code qpost)" = 200
check "POST form query result" has "$T/qpost.b" '13.5]]'
req qmulti -XPOST "$URL/query" -F db=city -F "q=SELECT pm25 FROM air WHERE sensor = 'a2'"
check "multipart form query" has "$T/qmulti.b" '13.5]]'
req qparse -G "$URL/query" --data-urlencode "q=SELEC pm25 FROM air"
check "parse error 400" test "$(code qparse)" = 400
check "parse error message" has "$T/qparse.b" '{"error":"error parsing query: found SELEC'
req qnoq "$URL/query?db=city"
check "missing q 400" test "$(code qnoq)" = 400
check "missing q message" test "$(body qnoq)" = '{"error":"missing required parameter \"q\""}'
req qget -G "$URL/query" --data-urlencode "q=DROP DATABASE city"
check "DROP on GET: 200" test "$(code qget)" = 200
check "DROP on GET: refused inside the JSON" has "$T/qget.b" '"error":'
req qput -XPUT "$URL/query?q=SHOW+DATABASES"
check "PUT /query 405" test "$(code qput)" = 405
req qdbs -XPOST "$URL/query" --data-urlencode "q=CREATE DATABASE other; SHOW DATABASES"
check "CREATE then SHOW DATABASES" has "$T/qdbs.b" '"values":[["city"],["other"]]'

# many writers and readers at once: every point lands, no request fails
for w in $(seq 0 7); do
  for b in 0 1 2 3 4; do
    for i in $(seq 0 99); do
      echo "conc,writer=w$w,sensor=s$i v=$((b * 100 + i)) $((1764547200 + b * 100 + i))000000000"
    done > "$T/conc-$w-$b.lp"
  done
done
CONC=()
for w in $(seq 0 7); do
  (for b in 0 1 2 3 4; do
    curl -s -o /dev/null -w '%{http_code}\n' -XPOST "$URL/write?db=city" --data-binary @"$T/conc-$w-$b.lp"
  done > "$T/conc-$w.codes") &
  CONC+=($!)
done
for r in 0 1 2 3; do
  (for _ in 1 2 3 4 5; do
    curl -s -o /dev/null -w '%{http_code}\n' -G "$URL/query" --data-urlencode db=city \
      --data-urlencode 'q=SELECT count(v) FROM conc'
  done > "$T/concq-$r.codes") &
  CONC+=($!)
done
wait "${CONC[@]}"
check "concurrent writes all 204" test "$(cat "$T"/conc-?.codes | sort -u)" = 204
check "concurrent reads all 200" test "$(cat "$T"/concq-?.codes | sort -u)" = 200
check "concurrent writes all stored" test "$(Q 'SELECT count(v) FROM conc' --data-urlencode db=city)" = \
  '{"results":[{"statement_id":0,"series":[{"name":"conc","columns":["time","count"],"values":[["1970-01-01T00:00:00Z",4000]]}]}]}'

# metrics
req metrics "$URL/metrics"
check "metrics 200" test "$(code metrics)" = 200
check "metrics points" grep -qE '^cityts_points_written_total [1-9]' "$T/metrics.b"
check "metrics parse errors" grep -qE '^cityts_write_errors_total\{kind="parse"\} 3$' "$T/metrics.b"
check "metrics series" grep -qE '^cityts_series\{db="city"\} [1-9]' "$T/metrics.b"
check "metrics io backend" grep -qE '^cityts_io_backend\{db="city",backend="(io_uring|pwrite)"\} 1' "$T/metrics.b"
check "metrics memory" grep -qE '^cityts_memory_rss_bytes [1-9]' "$T/metrics.b"
check "metrics latency histogram" has "$T/metrics.b" 'cityts_query_duration_seconds_bucket{le="+Inf"}'

# the read timeout: a client that stops mid-request is cut off
stop "$PID"
check "SIGTERM exit 0" test "$STATUS" -eq 0
check "stop logged" has "$T/main.log" "every database flushed"
n=$(count_points "$T/data" city)
check "points persisted ($n)" test "$n" -eq 4013

# graceful stop: an upload in flight when SIGTERM arrives still lands
start drain --data "$T/data" --fsync always
for i in $(seq 0 1999); do
  echo "slow,city=milan,sensor=s$i v=$i 1764547200000000000"
done > "$T/slow.lp"
curl -s -o /dev/null -w '%{http_code}' --limit-rate 40K -XPOST "$URL/write?db=city" \
  --data-binary @"$T/slow.lp" > "$T/slow.code" &
CURL=$!
# SIGTERM once the upload is in flight (the scrape itself is one request)
for _ in $(seq 200); do
  curl -s "$URL/metrics" | grep -qE '^cityts_http_active_requests [2-9]' && break
  sleep 0.05
done
sleep 0.2
stop "$PID"
wait "$CURL"
check "in-flight write answered 204 during stop" test "$(cat "$T/slow.code")" = 204
check "drain exit 0" test "$STATUS" -eq 0
n=$(count_points "$T/data" city)
check "in-flight points persisted ($n)" test "$n" -eq 6013

# throttling, timeouts and the Unix socket on a second server
start lim --data "$T/data" --max-body-bytes 1000000 --max-inflight-bytes 1000 --read-timeout 1 \
  --unix "$T/sock" --max-query-bytes 100 --max-result-bytes 1024
req qlong -G "$URL/query" --data-urlencode "q=SELECT pm25 FROM air WHERE city = '$(head -c 200 /dev/zero | tr '\0' x)'"
check "query text limit 413" test "$(code qlong)" = 413
req qbig -G "$URL/query" --data-urlencode "q=SELECT * FROM slow" --data-urlencode db=city
check "result limit: 200 with an error" test "$(code qbig)" = 200
check "result limit named" has "$T/qbig.b" "max-result-bytes"
req qbusy -G "$URL/query" --data-urlencode "q=SHOW MEASUREMENTS; SHOW MEASUREMENTS; SHOW MEASUREMENTS; SHOW MEASUREMENTS; SHOW MEASUREMENTS" \
  --data-urlencode db=city
check "query response past the in-flight budget: 503" test "$(code qbusy)" = 503
req qstream -G "$URL/query" --data-urlencode "q=SELECT * FROM slow" --data-urlencode db=city \
  --data-urlencode chunked=true
check "chunked streams past the result limit" test "$(code qstream)" = 200
check "chunked streams every row" test "$(grep -o '\],\[' "$T/qstream.b" | wc -l)" -eq 1999
# a client that leaves mid-stream stops its query; the server carries on
QS=$(for _ in $(seq 40); do printf 'SELECT * FROM slow;'; done)
curl -s -o /dev/null --limit-rate 20K --max-time 1 -G "$URL/query" --data-urlencode "q=$QS" \
  --data-urlencode db=city --data-urlencode chunked=true
req afterleave "$URL/ping"
check "server fine after a client left mid-stream" test "$(code afterleave)" = 204
head -c 5000 /dev/zero | tr '\0' '#' > "$T/5k"
req thr -XPOST "$URL/write?db=city" --data-binary @"$T/5k"
check "in-flight budget 503" test "$(code thr)" = 503
check "503 Retry-After" grep -qi '^Retry-After: 1' "$T/thr.h"
exec 3<> /dev/tcp/127.0.0.1/"${URL##*:}"
printf 'POST /write?db=city HTTP/1.1\r\nHost: x\r\n' >&3
t0=$(date +%s)
timeout 10 cat <&3 > /dev/null
exec 3>&-
check "idle connection closed by the read timeout" test $(($(date +%s) - t0)) -le 5
head -c 900 /dev/zero | tr '\0' '#' > "$T/900"
t0=$(date +%s)
curl -s -o /dev/null -w '%{http_code}' --limit-rate 100 -XPOST "$URL/write?db=city" \
  --data-binary @"$T/900" > "$T/trickle.code"
check "trickling body cut off" test "$(cat "$T/trickle.code")" = 000
check "trickling body cut off soon" test $(($(date +%s) - t0)) -le 6
req usock --unix-socket "$T/sock" http://localhost/ping
check "unix socket ping" test "$(code usock)" = 204
stop "$PID"
check "second server exit 0" test "$STATUS" -eq 0
check "unix socket removed" test ! -e "$T/sock"

# authentication
hash() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
{
  echo "# name:sha256(password):privilege"
  echo "admin:$(hash 'adm pw'):admin"
  echo "writer:$(hash wpw):write"
  echo "reader:$(hash rpw):read"
} > "$T/users"
chmod 600 "$T/users"
start auth --data "$T/data" --auth "$T/users"
req a_ping "$URL/ping"
check "auth: ping open" test "$(code a_ping)" = 204
req a_health "$URL/health"
check "auth: health open" test "$(code a_health)" = 200
req a_none -XPOST "$URL/write?db=city" --data-binary 'air pm25=1 1'
check "auth: no credentials 401" test "$(code a_none)" = 401
check "auth: 401 message" test "$(body a_none)" = '{"error":"unable to parse authentication credentials"}'
check "auth: WWW-Authenticate" has "$T/a_none.h" 'WWW-Authenticate: Basic realm="InfluxDB"'
req a_bad -u writer:wrong -XPOST "$URL/write?db=city" --data-binary 'air pm25=1 1'
check "auth: wrong password 401" test "$(code a_bad)" = 401
check "auth: wrong password message" test "$(body a_bad)" = '{"error":"authorization failed"}'
req a_ro -u reader:rpw -XPOST "$URL/write?db=city" --data-binary 'air pm25=1 1'
check "auth: reader cannot write 403" test "$(code a_ro)" = 403
check "auth: 403 message" test "$(body a_ro)" = '{"error":"\"reader\" user is not authorized to write to database \"city\""}'
req a_basic -u writer:wpw -XPOST "$URL/write?db=city" --data-binary 'air,city=x,sensor=y pm25=1 1764547200000000000'
check "auth: Basic write 204" test "$(code a_basic)" = 204
req a_token -H "Authorization: Token writer:wpw" -XPOST "$URL/api/v2/write?bucket=city" --data-binary 'air,city=x,sensor=y pm25=2 1764547200000000000'
check "auth: Token write 204" test "$(code a_token)" = 204
req a_up -XPOST "$URL/write?db=city&u=writer&p=wpw" --data-binary 'air,city=x,sensor=y pm25=3 1764547200000000000'
check "auth: u/p write 204" test "$(code a_up)" = 204
req a_sp -u "admin:adm pw" "$URL/metrics"
check "auth: password with a space" test "$(code a_sp)" = 200
req a_met "$URL/metrics"
check "auth: metrics needs credentials" test "$(code a_met)" = 401
req a_q -u writer:wpw "$URL/query?q=SHOW+DATABASES"
check "auth: writer cannot query 403" test "$(code a_q)" = 403
check "auth: 403 query message" has "$T/a_q.b" '"error":"error authorizing query: writer not authorized to execute statement'
req a_rcreate -u reader:rpw -XPOST "$URL/query" --data-urlencode "q=CREATE DATABASE nope"
check "auth: a reader's CREATE DATABASE is 403" test "$(code a_rcreate)" = 403
check "auth: 403 names the admin privilege" has "$T/a_rcreate.b" 'requires admin privilege'
req a_rshow -u reader:rpw "$URL/query?q=SHOW+DATABASES"
check "auth: a reader's SHOW still 200" test "$(code a_rshow)" = 200
req a_bearer -H "Authorization: Bearer xyz" "$URL/query?q=SHOW+DATABASES"
check "auth: bearer 401" test "$(code a_bearer)" = 401
stop "$PID"
check "auth server exit 0" test "$STATUS" -eq 0
# SHA-256 across its padding boundaries: passwords of 0 to 130 bytes, each
# logging in with the hash sha256sum(1) gives
LENS="0 1 54 55 56 57 63 64 65 119 120 127 128 130"
: > "$T/lenusers"
for n in $LENS; do
  pw=$(head -c "$n" /dev/zero | tr '\0' 'a')
  echo "len$n:$(hash "$pw"):read" >> "$T/lenusers"
done
start lens --data "$T/data" --auth "$T/lenusers"
for n in $LENS; do
  pw=$(head -c "$n" /dev/zero | tr '\0' 'a')
  req "len$n" -u "len$n:$pw" "$URL/query?q=SHOW+DATABASES"
  check "SHA-256 of $n bytes" test "$(code "len$n")" = 200
done
stop "$PID" INT
check "SIGINT stops too, exit 0" test "$STATUS" -eq 0
# every way an auth file can be wrong is refused, naming the line
bad_auth() { # bad_auth NAME LINE EXPECTED-MESSAGE [LINE-NUMBER, default 3]
  printf '# ok\n\n%s\n' "$2" > "$T/bad-$1"
  "$CITYTS" serve --data "$T/data" --listen 127.0.0.1:0 --auth "$T/bad-$1" 2> "$T/bad-$1.log"
  check "auth file $1 exits 1" test $? -eq 1
  check "auth file $1 message" has "$T/bad-$1.log" "bad-$1:${4:-3}: $3"
}
H=$(hash x)
bad_auth hash "admin:nothex:admin" "password hash"
bad_auth shorthash "admin:${H:1}:admin" "password hash"
bad_auth name "ad/min:$H:admin" "user name"
bad_auth noname ":$H:admin" "user name"
bad_auth priv "admin:$H:root" "privilege"
bad_auth fields "admin:$H" "expected NAME:SHA256HEX:PRIVILEGE"
bad_auth twice "$(printf 'a:%s:read\na:%s:write' "$H" "$H")" "user listed twice" 4
printf '# nobody\n' > "$T/nousers"
"$CITYTS" serve --data "$T/data" --listen 127.0.0.1:0 --auth "$T/nousers" 2> "$T/nousers.log"
check "empty auth file refused" has "$T/nousers.log" "no users"
"$CITYTS" serve --data "$T/data" --listen 127.0.0.1:0 --auth "$T/missing" 2> "$T/missing.log"
check "missing auth file refused" has "$T/missing.log" "No such file"

# IPv6 loopback
: > "$T/v6.log"
"$CITYTS" serve --data "$T/data" --listen '[::1]:0' 2> "$T/v6.log" &
V6=$!
PIDS+=("$V6")
for _ in $(seq 600); do
  grep -q "listening on" "$T/v6.log" && break
  kill -0 "$V6" 2> /dev/null || break
  sleep 0.05
done
V6URL=$(grep -o 'http://\[::1\]:[0-9]*' "$T/v6.log" | head -1)
if [ -n "$V6URL" ]; then
  req v6 -g "$V6URL/ping"
  check "IPv6 ping" test "$(code v6)" = 204
fi
stop "$V6"

# usage errors and help
"$CITYTS" help serve > "$T/help.txt"
check "help serve lists the options" has "$T/help.txt" "--max-inflight-bytes N"
"$CITYTS" serve --data "$T/data" --fsync sometimes 2> "$T/usage.log"
check "bad --fsync exits 2" test $? -eq 2
"$CITYTS" serve 2> "$T/usage.log"
check "no --data exits 2" test $? -eq 2
"$CITYTS" serve --data "$T/data" --max-connections 0 2> "$T/usage.log"
check "bad number exits 2" test $? -eq 2
"$CITYTS" serve --data "$T/data" --listen nonsense 2> "$T/usage.log"
check "bad --listen exits 1" test $? -eq 1

echo "$passes passed, $fails failed"
test "$fails" -eq 0
