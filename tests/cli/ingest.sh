#!/usr/bin/env bash
# End-to-end tests of `cityts ingest`, `inspect`, `verify` and `demo`, as a
# user runs them: exit statuses, messages, gzip and standard input, bad
# lines (default and --strict), no progress bar when stderr is not a
# terminal. Usage: ingest.sh PATH/TO/cityts
set -u
CITYTS=$1
T=$(mktemp -d "${CTS_TEST_TMPDIR:-/tmp}/cli-XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0 passes=0

check() { # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passes=$((passes + 1)); else echo "FAIL: $name"; fails=$((fails + 1)); fi
}
count_points() { # count_points DB: sealed + unsealed points per inspect
  "$CITYTS" inspect --data "$T" --db "$1" | sed -n 's/.*sealed points \([0-9]*\) .*unsealed points \([0-9]*\),.*/\1 \2/p' |
    awk '{print $1 + $2}'
}

cat > "$T/good.lp" <<'LP'
# a comment, then a blank line

air,city=lisbon,sensor=a1 pm25=12.5,pm10=20.1 1764547200000000000
air,city=lisbon,sensor=a1 pm25=13.5,pm10=21.1 1764547260000000000
traffic,city=milan,sensor=t1 count=17i,avg_speed=31.5 1764547200000000000
LP
printf 'air,city=lisbon,sensor=a1 pm25=14.5 1764547320000000000\r\n' >> "$T/good.lp"

"$CITYTS" ingest --data "$T" --db good "$T/good.lp" 2> "$T/err"
check "good file exits 0" test $? -eq 0
check "summary printed" grep -q "4 points, 7 values" "$T/err"
check "no progress bar off a terminal" bash -c "! grep -q '%' '$T/err'"
check "points stored" test "$(count_points good)" -eq 7
"$CITYTS" verify --data "$T" --db good > "$T/out"
check "verify passes" test $? -eq 0

# the same data again: the same series, no new ones (the points replace
# themselves; inspect counts stored copies, so it is not the check here)
"$CITYTS" ingest --data "$T" --db good "$T/good.lp" 2> "$T/err"
check "re-ingest creates no series" grep -q "0 new series" "$T/err"
check "re-ingest verifies" bash -c "'$CITYTS' verify --data '$T' --db good > /dev/null"

# gzip, recognised by its magic bytes, and standard input
gzip -c "$T/good.lp" > "$T/good.lp.gz"
"$CITYTS" ingest --data "$T" --db gz "$T/good.lp.gz" 2> /dev/null
check "gzip input" test "$(count_points gz)" -eq 7
"$CITYTS" ingest --data "$T" --db stdin - < "$T/good.lp" 2> /dev/null
check "stdin with -" test "$(count_points stdin)" -eq 7
gzip -c "$T/good.lp" | "$CITYTS" ingest --data "$T" --db stdin2 2> /dev/null
check "gzip on stdin, no file argument" test "$(count_points stdin2)" -eq 7

# bad lines: skipped and reported with file, line and column; exit 1
cat > "$T/bad.lp" <<'LP'
air,city=lisbon,sensor=a1 pm25=1.5 1764547200000000000
air,city=lisbon,sensor=a1 pm25=abc 1764547260000000000
air,city=lisbon,sensor=a1 pm25=2.5 1764547320000000000
air,city=lisbon pm25="str" 1764547380000000000
LP
"$CITYTS" ingest --data "$T" --db bad "$T/bad.lp" 2> "$T/err"
check "bad lines exit 1" test $? -eq 1
check "bad line named" grep -q "bad.lp:2:.*unable to parse 'air,city=lisbon,sensor=a1 pm25=abc 1764547260000000000'" "$T/err"
check "type conflict named" grep -q 'bad.lp:4: field type conflict: "pm25" on measurement "air" is float, got string' "$T/err"
check "good lines kept" test "$(count_points bad)" -eq 2

# --strict: stop at the first bad line, nothing of its batch written
"$CITYTS" ingest --data "$T" --db strict --strict "$T/bad.lp" 2> "$T/err"
check "strict exits 1" test $? -eq 1
check "strict says it stopped" grep -q "stopped at the first bad line" "$T/err"
check "strict wrote nothing of the batch" test "$("$CITYTS" inspect --data "$T" --db strict | sed -n 's/^series \([0-9]*\),.*/\1/p')" -eq 0

# usage errors: exit 2 with a message naming the problem
"$CITYTS" ingest --data "$T" --db 'bad/name' "$T/good.lp" 2> "$T/err"
check "invalid db name exits 2" test $? -eq 2
check "invalid db name explained" grep -q "invalid database name 'bad/name'" "$T/err"
"$CITYTS" ingest --data "$T" --db x --precision parsec "$T/good.lp" 2> "$T/err"
check "bad precision exits 2" test $? -eq 2
check "bad precision named" grep -q -- "--precision: expected" "$T/err"
"$CITYTS" ingest --data "$T" --db x "$T/missing.lp" 2> "$T/err"
check "missing file exits 1" test $? -eq 1
check "missing file named" grep -q "missing.lp" "$T/err"
"$CITYTS" verify --data "$T" --db nosuch 2> "$T/err"
check "verify of a missing db exits 1" test $? -eq 1

# precision: seconds scaled to ns
echo "air,city=x,sensor=s v=1 1764547200" > "$T/s.lp"
"$CITYTS" ingest --data "$T" --db prec --precision s "$T/s.lp" 2> /dev/null
check "precision s" bash -c "'$CITYTS' inspect --data '$T' --db prec | grep -q '2025-12-01T00:00:00Z'"

# corruption: flip a byte inside a block; verify must name the file
seg=$(ls "$T"/good/p/*/segment | head -1)
printf '\xff' | dd of="$seg" bs=1 seek=120 conv=notrunc status=none
"$CITYTS" verify --data "$T" --db good > "$T/out" 2>&1
check "verify detects a flipped byte" test $? -eq 1
check "verify names the segment" grep -q "segment: block at offset" "$T/out"

# CSV with a header-driven mapping
cat > "$T/a.csv" <<'CSV'
time,city,sensor,pm25,status
2025-12-01T00:00:00Z,lisbon,a1,12.5,ok
2025-12-01T00:01:00Z,lisbon,a1,abc,ok
2025-12-01T00:02:00.5+01:00,milan,m1,13.5,"fault, minor"
CSV
"$CITYTS" ingest --data "$T" --db csv --format csv --measurement air --tags city,sensor \
  --fields pm25:float,status:string "$T/a.csv" 2> "$T/err"
check "csv with a bad row exits 1" test $? -eq 1
check "csv bad row named" grep -q "a.csv: row 3, column 4 (pm25): invalid float 'abc'" "$T/err"
check "csv good rows kept" test "$(count_points csv)" -eq 4
"$CITYTS" ingest --data "$T" --db csv2 --format csv --measurement air --tags city \
  --fields pm25:float "$T/a.csv" 2> "$T/err"
check "csv unmapped column exits 1" test $? -eq 1
check "csv unmapped column named" grep -q "column 3 'sensor' is not mapped" "$T/err"
"$CITYTS" ingest --data "$T" --db csv3 --format csv --measurement air --fields pm25:flaot "$T/a.csv" 2> "$T/err"
check "csv bad mapping exits 2" test $? -eq 2
check "csv bad mapping explained" grep -q "unknown type 'flaot'" "$T/err"
"$CITYTS" ingest --data "$T" --db csv4 --tags city "$T/a.csv" 2> "$T/err"
check "mapping without --format csv exits 2" test $? -eq 2

# the demo runs end to end, twice in the same place
"$CITYTS" demo --data "$T/demo" --sensors 1 --no-progress > "$T/demo1" 2>&1
check "demo exits 0" test $? -eq 0
"$CITYTS" demo --data "$T/demo" --sensors 1 --no-progress > "$T/demo2" 2>&1
check "demo twice exits 0" test $? -eq 0
check "demo verified" grep -q "0 errors" "$T/demo2"

echo "$passes passed, $fails failed"
test "$fails" -eq 0
