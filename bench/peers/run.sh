#!/usr/bin/env bash
# bench/peers/run.sh: cityts against InfluxDB 1.6 and VictoriaMetrics on this
# machine, in one run, with the same data, the same client and the same
# concurrency (docs/benchmarks.md, "Peers (issue 6)", has the method and the
# results).
#
# For each engine in turn (one at a time, so none competes with another for
# the cores): start it on 127.0.0.1 on a free port with its data in a
# temporary directory; POST the `cityts gen` data in 5,000-line batches with
# `cityts-loadgen` (C, keep-alive, CLIENTS connections); values/s; force its
# data to disk (cityts: SIGTERM flushes, then restart; InfluxDB: a cache
# snapshot once writes go cold, which this config makes 5 s, and a full
# compaction after 10 s, waited for; VictoriaMetrics: /internal/force_flush
# and /internal/force_merge, whose background merge is waited for); bytes on disk per value (du of its directory);
# then each query of the suite RUNS times after one warm-up (median and p99);
# InfluxQL for cityts and InfluxDB, MetricsQL equivalents for
# VictoriaMetrics (queries.py says which and how they differ).
#
# Differential correctness: cityts's answer to every query must equal
# InfluxDB's (same series, tags, columns and times; numbers within a relative
# 1e-9). Any difference is printed and the script exits 1.
#
# Usage: bench/peers/run.sh [-s SENSORS] [-d DAYS] [-c CLIENTS] [-r RUNS]
#                           [-b BUILD_DIR] [-o RESULTS.json] [-k]
#   SENSORS per city and measurement (default 20: ~11 million values over
#   7 days), CLIENTS (default 4), RUNS per query (default 10), BUILD_DIR a
#   Release build (default build/release; built if absent), -k keeps the
#   work directory. Needs root or sudo to install the Debian packages
#   `influxdb` and `victoria-metrics` when missing; needs python3.
set -euo pipefail

SENSORS=20 DAYS=7 CLIENTS=4 RUNS=10 KEEP=0 OUT=
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$ROOT/build/release
while getopts "s:d:c:r:b:o:k" opt; do
  case $opt in
    s) SENSORS=$OPTARG ;; d) DAYS=$OPTARG ;; c) CLIENTS=$OPTARG ;; r) RUNS=$OPTARG ;;
    b) BUILD=$(cd "$OPTARG" && pwd) ;; o) OUT=$OPTARG ;; k) KEEP=1 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2 ;;
  esac
done

log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# ---- binaries and peers -------------------------------------------------
if [ ! -x "$BUILD/cli/cityts" ] || [ ! -x "$BUILD/bench/cityts-loadgen" ]; then
  log "building cityts and cityts-loadgen (Release) in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
  ninja -C "$BUILD" cityts cityts-loadgen > /dev/null
fi
CITYTS=$BUILD/cli/cityts LOADGEN=$BUILD/bench/cityts-loadgen
grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$BUILD/CMakeCache.txt" ||
  die "$BUILD is not a Release build"
command -v python3 > /dev/null || die "python3 is needed (apt-get install python3)"

if ! command -v influxd > /dev/null || ! command -v victoria-metrics > /dev/null; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  log "installing the Debian packages influxdb and victoria-metrics"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y influxdb victoria-metrics > /dev/null ||
    { $SUDO apt-get update > /dev/null &&
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y influxdb victoria-metrics > /dev/null; }
fi
INFLUX_VERSION=$(influxd version 2> /dev/null | head -1)
VM_VERSION=$(victoria-metrics -version 2>&1 | head -1)
[ -n "$VM_VERSION" ] || VM_VERSION="VictoriaMetrics $(dpkg-query -W -f='${Version}' victoria-metrics 2> /dev/null)"

# ---- work directory and the processes we start ---------------------------
W=$(mktemp -d "${TMPDIR:-/tmp}/cityts-peers-XXXXXX")
PIDS=()
stop_pid() { # stop_pid PID: TERM, wait up to 60 s, then KILL
  local pid=$1 i
  kill -TERM "$pid" 2> /dev/null || return 0
  for i in $(seq 600); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
}
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [ "$KEEP" = 1 ]; then log "work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() { # wait_http URL: up to 60 s for a 2xx
  local i
  for i in $(seq 600); do
    curl -sf -o /dev/null --max-time 2 "$1" && return 0
    sleep 0.1
  done
  return 1
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
du_bytes() { du -sb --apparent-size "$1" | cut -f1; }  # apparent: what the files hold
du_alloc() { du -sB1 "$1" | cut -f1; }                  # allocated blocks

# ---- the data -----------------------------------------------------------
log "generating: cityts gen --seed 1 --sensors $SENSORS --duration ${DAYS}d"
"$CITYTS" gen --seed 1 --sensors "$SENSORS" --duration "${DAYS}d" --stats --output "$W/data.lp" 2> "$W/gen.txt"
VALUES=$(sed -n 's/.* lines, \([0-9]*\) values.*/\1/p' "$W/gen.txt")
LINES=$(sed -n 's/.*gen: \([0-9]*\) lines.*/\1/p' "$W/gen.txt")
log "data: $LINES lines, $VALUES values, $(du_bytes "$W/data.lp") bytes"
cat "$W/data.lp" > /dev/null # into the page cache for every engine alike

# results are appended as JSON lines: {"engine":..,"what":..,...}
R=$W/results.jsonl
: > "$R"
record() { echo "$1" >> "$R"; }

ingest() { # ingest ENGINE URL_PATH PORT
  log "$1: ingest over HTTP ($CLIENTS clients, 5000-line batches)"
  "$LOADGEN" write "127.0.0.1:$3" "$2" "$W/data.lp" "$CLIENTS" 5000 > "$W/$1.ingest.json" ||
    die "$1: ingest failed: $(cat "$W/$1.ingest.json")"
  record "{\"engine\":\"$1\",\"what\":\"ingest\",\"values\":$VALUES,\"load\":$(cat "$W/$1.ingest.json")}"
}

run_queries() { # run_queries ENGINE PORT DIALECT
  local name path
  python3 "$HERE/queries.py" paths "$3" "$SENSORS" > "$W/$1.paths"
  while IFS=$'\t' read -r name path; do
    "$LOADGEN" get "127.0.0.1:$2" "$path" 1 "$W/$1.$name.warm" > /dev/null ||
      die "$1: query $name failed: $(head -c 600 "$W/$1.$name.warm")"
    "$LOADGEN" get "127.0.0.1:$2" "$path" "$RUNS" "$W/$1.$name.body" > "$W/$1.$name.ms" ||
      die "$1: query $name failed: $(head -c 600 "$W/$1.$name.body")"
    record "{\"engine\":\"$1\",\"what\":\"query\",\"name\":\"$name\",\"times\":$(cat "$W/$1.$name.ms")}"
  done < "$W/$1.paths"
}

# ---- cityts ---------------------------------------------------------------
bench_cityts() {
  local port pid
  port=$(free_port)
  mkdir -p "$W/cityts"
  "$CITYTS" serve --data "$W/cityts" --listen "127.0.0.1:$port" 2> "$W/cityts.log" &
  pid=$!; PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/ping" || die "cityts serve did not start: $(cat "$W/cityts.log")"
  curl -sf -XPOST "http://127.0.0.1:$port/query" --data-urlencode 'q=CREATE DATABASE bench' > /dev/null
  ingest cityts "/write?db=bench&precision=ns" "$port"
  log "cityts: stop (SIGTERM seals, syncs and removes the WAL), du, restart"
  local t0 t1
  t0=$(date +%s.%N); stop_pid "$pid"; t1=$(date +%s.%N)
  record "{\"engine\":\"cityts\",\"what\":\"disk\",\"bytes\":$(du_bytes "$W/cityts"),\"alloc\":$(du_alloc "$W/cityts"),\"flush_s\":$(elapsed "$t0" "$t1")}"
  "$CITYTS" serve --data "$W/cityts" --listen "127.0.0.1:$port" 2>> "$W/cityts.log" &
  pid=$!; PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/ping" || die "cityts serve did not restart"
  run_queries cityts "$port" influxql
  stop_pid "$pid"
}

# ---- InfluxDB 1.6 -----------------------------------------------------------
bench_influx() {
  local port rport pid i
  port=$(free_port); rport=$(free_port)
  mkdir -p "$W/influx"
  # every setting not named keeps the package's default; durability: the
  # WAL is fsynced on every write (wal-fsync-delay 0s, the default)
  cat > "$W/influx.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$rport"
[meta]
  dir = "$W/influx/meta"
[data]
  dir = "$W/influx/data"
  wal-dir = "$W/influx/wal"
  wal-fsync-delay = "0s"
  index-version = "inmem"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "5s"
  compact-full-write-cold-duration = "10s"
[coordinator]
  max-select-point = 0
  max-select-series = 0
  max-select-buckets = 0
[retention]
  enabled = false
[shard-precreation]
  enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$port"
  auth-enabled = false
  log-enabled = false
  max-row-limit = 0
  max-body-size = 0
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
EOF
  influxd run -config "$W/influx.conf" > "$W/influx.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/ping" || die "influxd did not start: $(tail -5 "$W/influx.log")"
  curl -sf -XPOST "http://127.0.0.1:$port/query" --data-urlencode 'q=CREATE DATABASE bench' > /dev/null
  ingest influxdb "/write?db=bench&precision=ns" "$port"
  log "influxdb: waiting for the cache snapshot and full compaction (WAL empty, TSM files stable)"
  local t0 t1 last= now
  t0=$(date +%s.%N)
  # done when the WAL is empty, no compaction output (*.tmp) is being
  # written and the TSM files (names and sizes) have not changed for 20 s
  for i in $(seq 600); do # 300 s at most
    sleep 0.5
    [ $((i % 40)) -eq 0 ] || continue
    now=$(find "$W/influx/data" -name '*.tsm*' -printf '%f %s\n' | sort | md5sum)
    if [ -z "$(find "$W/influx/wal" -name '*.wal' -size +0 -print -quit)" ] &&
      [ -z "$(find "$W/influx/data" -name '*.tmp' -print -quit)" ] && [ "$now" = "$last" ]; then
      break
    fi
    last=$now
  done
  t1=$(date +%s.%N)
  record "{\"engine\":\"influxdb\",\"what\":\"disk\",\"bytes\":$(du_bytes "$W/influx"),\"alloc\":$(du_alloc "$W/influx"),\"tsm_bytes\":$(du_bytes "$W/influx/data"),\"flush_s\":$(elapsed "$t0" "$t1")}"
  run_queries influxdb "$port" influxql
  stop_pid "$pid"
}

# ---- VictoriaMetrics ------------------------------------------------------
bench_vm() {
  local port pid
  port=$(free_port)
  # durability: VictoriaMetrics has no WAL; rows are buffered in memory and
  # reach disk within about a second (its documented behaviour)
  victoria-metrics -storageDataPath "$W/vm" -httpListenAddr "127.0.0.1:$port" \
    -retentionPeriod 100y -search.latencyOffset 0s -search.disableCache \
    -search.maxUniqueTimeseries 10000000 -search.maxSamplesPerQuery 2000000000 \
    -loggerLevel ERROR > "$W/vm.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/health" || die "victoria-metrics did not start: $(tail -5 "$W/vm.log")"
  ingest victoriametrics "/write?db=bench&precision=ns" "$port"
  log "victoriametrics: force_flush, force_merge, du"
  local t0 t1
  t0=$(date +%s.%N)
  curl -sf --max-time 300 "http://127.0.0.1:$port/internal/force_flush" > /dev/null
  curl -sf --max-time 600 "http://127.0.0.1:$port/internal/force_merge" > /dev/null || true
  # the merge runs in the background: wait (bounded) until none is active
  # and the directory's size has held still for 5 s
  local i last= now
  for i in $(seq 300); do
    sleep 1
    # active forced and background merges (absent metrics count as none)
    now=$(curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" |
      awk '/^vm_active_(force_)?merges/ { n += $2 } END { print n + 0 }')
    [ "$now" = 0 ] || continue
    now=$(du_alloc "$W/vm")
    [ $((i % 5)) -eq 0 ] || continue
    [ "$now" = "$last" ] && break
    last=$now
  done
  t1=$(date +%s.%N)
  record "{\"engine\":\"victoriametrics\",\"what\":\"disk\",\"bytes\":$(du_bytes "$W/vm"),\"alloc\":$(du_alloc "$W/vm"),\"flush_s\":$(elapsed "$t0" "$t1")}"
  run_queries victoriametrics "$port" metricsql
  stop_pid "$pid"
}

bench_cityts
bench_influx
bench_vm

# ---- report and the differential check -------------------------------------
python3 "$HERE/report.py" --work "$W" --results "$R" --values "$VALUES" --lines "$LINES" \
  --sensors "$SENSORS" --days "$DAYS" --clients "$CLIENTS" --runs "$RUNS" \
  --influx-version "$INFLUX_VERSION" --vm-version "$VM_VERSION" ${OUT:+--out "$OUT"}
