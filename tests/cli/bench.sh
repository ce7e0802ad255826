#!/usr/bin/env bash
# End-to-end test of `cityts bench`: `--scale small --json` runs every step
# (generate, CLI ingest, storage figures, the query suite, HTTP ingest through
# a `cityts serve` child) and prints one JSON object with every field, each
# plausible (values match the generator, rates and latencies positive, a
# bytes-per-value figure per measurement); bad usage exits 2; --keep and
# --data leave the files where asked. Usage: bench.sh PATH/TO/cityts
# Needs python3 (to read the JSON); skips (exit 77) without it.
set -u
CITYTS=$1
command -v python3 > /dev/null || { echo "python3 missing: skipped"; exit 77; }
T=$(mktemp -d "${CTS_TEST_TMPDIR:-/tmp}/bench-XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0 passes=0

check() { # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passes=$((passes + 1)); else echo "FAIL: $name"; fails=$((fails + 1)); fi
}

# the small scale must finish in under 60 s on the project's machine (a
# Release build); a sanitizer build is allowed three times that
limit=60
ldd "$CITYTS" 2> /dev/null | grep -q 'libasan' && limit=180
start=$(date +%s)
TMPDIR=$T timeout 300 "$CITYTS" bench --scale small --json --runs 3 > "$T/out.json" 2> "$T/err"
check "bench --scale small --json exits 0" test $? -eq 0
check "it took less than $limit s" test $(($(date +%s) - start)) -lt $limit
check "temporary directory removed" test -z "$(ls "$T" | grep cityts-bench)"
python3 - "$T/out.json" > "$T/py" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
def need(obj, path, keys):
    for k in keys:
        if k not in obj:
            bad.append(path + k)
need(r, '', ['scale', 'seed', 'sensors', 'days', 'clients', 'batch_lines', 'runs', 'data',
             'ingest_cli', 'ingest_http', 'storage', 'memory', 'queries'])
need(r['data'], 'data.', ['lines', 'values', 'bytes', 'gen_seconds'])
need(r['ingest_cli'], 'ingest_cli.', ['seconds', 'values_per_s', 'close_seconds'])
need(r['ingest_http'], 'ingest_http.', ['seconds', 'values_per_s', 'batches', 'failed', 'stop_seconds'])
st = r['storage']
need(st, 'storage.', ['values', 'sealed_bytes', 'bytes_per_value', 'disk_bytes',
                      'disk_bytes_per_value', 'wal_bytes', 'wal_bytes_per_value', 'measurements'])
need(r['memory'], 'memory.', ['peak_rss_cli_bytes', 'peak_rss_serve_bytes'])
if bad:
    print('missing fields:', bad); sys.exit(1)
v = r['data']['values']
assert r['scale'] == 'small' and 900000 < v < 1300000, v
assert st['values'] == v, (st['values'], v)
assert r['ingest_http']['failed'] == 0 and r['ingest_http']['batches'] == (r['data']['lines'] + 4999) // 5000
for k in ('ingest_cli', 'ingest_http'):
    assert r[k]['values_per_s'] > 0 and r[k]['seconds'] > 0, k
assert 0.1 < st['bytes_per_value'] < 16 and st['disk_bytes'] >= st['sealed_bytes']
assert st['wal_bytes_per_value'] > 0
ms = {m['name']: m for m in st['measurements']}
assert sorted(ms) == ['air', 'energy', 'lamp', 'mobility', 'traffic', 'weather'], sorted(ms)
assert sum(m['values'] for m in ms.values()) == v
for m in ms.values():
    assert set(m) >= {'name', 'values', 'bytes', 'bytes_per_value'} and m['bytes_per_value'] > 0
assert r['memory']['peak_rss_cli_bytes'] > 1e6 and r['memory']['peak_rss_serve_bytes'] > 1e6
names = [q['name'] for q in r['queries']]
assert names == ['full_range_stats', 'hourly_week_one_city', 'last_point_every_series',
                 'raw_hour_one_sensor', 'field_predicate_scan', 'mean_stddev_15m_by_city'], names
for q in r['queries']:
    assert set(q) >= {'query', 'p50_ms', 'p99_ms', 'response_bytes'}, q
    assert 0 < q['p50_ms'] <= q['p99_ms'], q
    assert q['response_bytes'] > 40, q  # every query of the suite has rows at this scale
print('ok')
PY
check "JSON has every field, plausible ($(tail -1 "$T/py"))" test "$(tail -1 "$T/py")" = ok
[ "$(tail -1 "$T/py")" = ok ] || cat "$T/py" "$T/err"

# the table, --data and --keep
"$CITYTS" bench --scale tiny --runs 2 --data "$T/work" --keep > "$T/out.txt" 2> "$T/err"
check "tiny table exits 0" test $? -eq 0
check "table names every section" bash -c "grep -q 'values/s' '$T/out.txt' && grep -q 'bytes/value' '$T/out.txt' && grep -q p99 '$T/out.txt' && grep -q 'peak resident' '$T/out.txt'"
check "--keep keeps the data" test -s "$T/work/data.lp" -a -d "$T/work/cli/bench" -a -d "$T/work/http/bench"
"$CITYTS" bench --scale tiny --runs 1 --data "$T/work" > /dev/null 2>&1
check "a second run into the same DIR succeeds" test $? -eq 0
check "without --keep DIR is emptied but kept" test -d "$T/work" -a ! -e "$T/work/data.lp" -a ! -e "$T/work/cli"

# bad usage
"$CITYTS" bench --scale huge > /dev/null 2> "$T/err"
check "bad scale exits 2" test $? -eq 2
check "bad scale named" grep -q "huge" "$T/err"
"$CITYTS" bench --clients 0 > /dev/null 2>&1
check "bad client count exits 2" test $? -eq 2
"$CITYTS" bench extra > /dev/null 2>&1
check "stray argument exits 2" test $? -eq 2
"$CITYTS" bench --data /proc/version/x > /dev/null 2> "$T/err"
check "unusable DIR exits 1" test $? -eq 1

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
