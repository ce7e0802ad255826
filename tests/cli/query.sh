#!/usr/bin/env bash
# End-to-end tests of `cityts query` and `cityts shell`, as a user runs
# them: each output format, epochs, a parse error (exit 2, InfluxDB's
# message and a caret), a statement error (exit 1, in the format and on
# stderr), statements from a file and stdin, usage errors, and the shell
# fed from stdin (USE, FORMAT, EPOCH, TIMING, multi-line statements, exit
# status). Usage: query.sh PATH/TO/cityts
set -u
CITYTS=$1
T=$(mktemp -d "${CTS_TEST_TMPDIR:-/tmp}/cliq-XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0 passes=0

check() { # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passes=$((passes + 1)); else echo "FAIL: $name"; fails=$((fails + 1)); fi
}
same() { # same NAME FILE EXPECTED-TEXT
  if [ "$(cat "$2")" = "$3" ]; then passes=$((passes + 1)); else
    echo "FAIL: $1"; echo "--- got:"; cat "$2"; echo "--- want:"; printf '%s\n' "$3"; fails=$((fails + 1)); fi
}
q() { "$CITYTS" query --data "$T/data" "$@"; }

# 2026-11-02T00:00:00Z and a minute later
cat > "$T/city.lp" <<'LP'
air,city=lisbon,sensor=a1 pm25=12.5,pm10=20 1793577600000000000
air,city=lisbon,sensor=a1 pm25=13.5,pm10=21 1793577660000000000
air,city=milan,sensor=m1 pm25=30.5,pm10=40 1793577600000000000
traffic,city=milan,sensor=t1 count=17i,note="jam <&> \"x\"" 1793577600000000000
LP
mkdir -p "$T/data"
"$CITYTS" ingest --data "$T/data" --db city "$T/city.lp" 2> "$T/err"
check "ingest exits 0" test $? -eq 0

# table (the default), several statements
q --db city 'SHOW DATABASES; SELECT pm25 FROM air WHERE city = '"'lisbon'" > "$T/out" 2> "$T/err"
check "table exits 0" test $? -eq 0
same "table output" "$T/out" "name: databases
name
----
city

name: air
time                 pm25
----                 ----
2026-11-02T00:00:00Z 12.5
2026-11-02T00:01:00Z 13.5"
check "nothing on stderr" test ! -s "$T/err"

# JSON, exactly as InfluxDB 1.x's /query writes it, HTML-escaped strings
q --db city --format json 'SELECT max(pm25) FROM air GROUP BY city; SELECT note FROM traffic' > "$T/out"
check "json exits 0" test $? -eq 0
same "json output" "$T/out" '{"results":[{"statement_id":0,"series":[{"name":"air","tags":{"city":"lisbon"},"columns":["time","max"],"values":[["2026-11-02T00:01:00Z",13.5]]},{"name":"air","tags":{"city":"milan"},"columns":["time","max"],"values":[["2026-11-02T00:00:00Z",30.5]]}]},{"statement_id":1,"series":[{"name":"traffic","columns":["time","note"],"values":[["2026-11-02T00:00:00Z","jam \u003c\u0026\u003e \"x\""]]}]}]}'

q --db city --format json --pretty --epoch s 'SELECT pm25 FROM air WHERE city = '"'milan'" > "$T/out"
same "pretty json, epoch s" "$T/out" '{
    "results": [
        {
            "statement_id": 0,
            "series": [
                {
                    "name": "air",
                    "columns": [
                        "time",
                        "pm25"
                    ],
                    "values": [
                        [
                            1793577600,
                            30.5
                        ]
                    ]
                }
            ]
        }
    ]
}'

# CSV: name,tags,time,... with times in ns unless --epoch
q --db city --format csv 'SELECT pm25 FROM air GROUP BY city' > "$T/out"
check "csv exits 0" test $? -eq 0
same "csv output" "$T/out" "name,tags,time,pm25
air,city=lisbon,1793577600000000000,12.5
air,city=lisbon,1793577660000000000,13.5
air,city=milan,1793577600000000000,30.5"
q --db city --format csv --epoch ms 'SELECT count FROM traffic' > "$T/out"
same "csv epoch ms" "$T/out" "name,tags,time,count
traffic,,1793577600000,17"

# every epoch unit
for e in ns u ms s m h rfc3339; do
  q --db city --format json --epoch $e 'SELECT count FROM traffic' > "$T/out.$e"
  check "epoch $e exits 0" test $? -eq 0
done
check "epoch ns" grep -q '\[\[1793577600000000000,17\]\]' "$T/out.ns"
check "epoch u" grep -q '\[\[1793577600000000,17\]\]' "$T/out.u"
check "epoch m" grep -q '\[\[29892960,17\]\]' "$T/out.m"
check "epoch h" grep -q '\[\[498216,17\]\]' "$T/out.h"
check "epoch rfc3339" grep -q '"2026-11-02T00:00:00Z",17' "$T/out.rfc3339"

# a chart for a time series
q --db city --chart --chart-width 30 --chart-height 6 'SELECT pm25 FROM air WHERE city = '"'lisbon'" > "$T/out"
check "chart exits 0" test $? -eq 0
check "chart title" grep -q '^air: pm25$' "$T/out"
check "chart y axis" grep -q '^13.5 ┤' "$T/out"
check "chart x axis" grep -q '2026-11-02T00:00:00Z.*2026-11-02T00:01:00Z' "$T/out"
check "chart dots" env LC_ALL=C grep -q $'\xe2[\xa0-\xa3]' "$T/out"

# a parse error: exit 2, InfluxDB's message and a caret on stderr
q --db city 'SELECT pm25 FROM air WHERE' > "$T/out" 2> "$T/err"
check "parse error exits 2" test $? -eq 2
check "parse error message" grep -q '^error parsing query: .* at line 1, char 28$' "$T/err"
check "parse error caret" grep -qx ' \{26\}^' "$T/err"
check "parse error: nothing on stdout" test ! -s "$T/out"
q --format json 'SELECT pm25
FROM air WHERE' > "$T/out" 2> "$T/err"
check "parse error in json exits 2" test $? -eq 2
check "parse error in json document" grep -q '^{"error":"error parsing query: .* at line 2, char 16"}$' "$T/out"
check "parse error on line 2 quoted" grep -qx 'FROM air WHERE' "$T/err"

# a statement error: exit 1, in the format on stdout and on stderr; later
# statements do not run
q --db nope 'SELECT pm25 FROM air; SHOW DATABASES' > "$T/out" 2> "$T/err"
check "statement error exits 1" test $? -eq 1
same "statement error in table" "$T/out" "ERR: database not found: nope"
check "statement error on stderr" grep -qx "ERR: database not found: nope" "$T/err"
q --db nope --format json 'SELECT pm25 FROM air' > "$T/out" 2> /dev/null
check "statement error in json exits 1" test $? -eq 1
same "statement error in json" "$T/out" '{"results":[{"statement_id":0,"error":"database not found: nope"}]}'
q --db nope --format csv 'SELECT pm25 FROM air' > "$T/out" 2> /dev/null
check "statement error in csv exits 1" test $? -eq 1
same "statement error in csv" "$T/out" "ERR: database not found: nope"

# the statement from a file, from stdin, from several arguments
printf 'SHOW MEASUREMENTS' > "$T/stmt.q"
q --db city --format csv --file "$T/stmt.q" > "$T/out"
same "--file" "$T/out" "name,tags,name
measurements,,air
measurements,,traffic"
q --db city --format csv - < "$T/stmt.q" > "$T/out"
same "stdin" "$T/out" "name,tags,name
measurements,,air
measurements,,traffic"
q --db city --format csv SHOW MEASUREMENTS > "$T/out"
same "arguments joined" "$T/out" "name,tags,name
measurements,,air
measurements,,traffic"

# usage errors: exit 2
for args in "--bogus" "--format xml SHOW DATABASES" "--epoch d SHOW DATABASES" "--timeout x SHOW DATABASES" \
    "--memory-limit 0 SHOW DATABASES" "--db bad/name SHOW DATABASES" "" "--file $T/stmt.q SHOW DATABASES"; do
  # shellcheck disable=SC2086
  q $args > /dev/null 2> "$T/err"
  check "usage error exits 2: $args" test $? -eq 2
done
"$CITYTS" query 'SHOW DATABASES' > /dev/null 2>&1
check "missing --data exits 2" test $? -eq 2
"$CITYTS" query --data "$T/absent" 'SHOW DATABASES' > /dev/null 2> "$T/err"
check "absent data directory exits 1" test $? -eq 1
check "absent data directory named" grep -q "data directory not found" "$T/err"
check "absent data directory not created" test ! -e "$T/absent"
for args in "--timeout 30 --memory-limit 64m" "--timeout 2.5 --memory-limit 1048576" "--timeout 90s --memory-limit 1g"; do
  # shellcheck disable=SC2086
  q $args 'SHOW DATABASES' > /dev/null
  check "accepted: $args" test $? -eq 0
done
"$CITYTS" help | grep -q "^  query " && "$CITYTS" help | grep -q "^  shell "
check "help lists query and shell" test $? -eq 0
"$CITYTS" help query | grep -q -- "--memory-limit"
check "help query" test $? -eq 0
"$CITYTS" help shell | grep -q "TIMING on|off"
check "help shell" test $? -eq 0

# the shell fed from stdin: no prompts; USE, FORMAT, EPOCH, TIMING,
# multi-line statements (a trailing backslash, an open parenthesis), an
# empty line, exit status
cat > "$T/shell.in" <<'IN'
SHOW DATABASES
use city;
FORMAT csv
EPOCH s
TIMING on
SELECT pm25 \
  FROM air \
  WHERE city = 'milan'
TIMING off
SELECT count(pm25) FROM air WHERE (city = 'lisbon'
  OR city = 'milan')

format json
SELECT count(
pm25) FROM air WHERE city = 'nowhere'
EXIT
SHOW DATABASES
IN
"$CITYTS" shell --data "$T/data" < "$T/shell.in" > "$T/out" 2> "$T/err"
check "shell exits 0" test $? -eq 0
same "shell output" "$T/out" 'name: databases
name
----
city
name,tags,time,pm25
air,,1793577600,30.5
name,tags,time,count
air,,0,3
{"results":[{"statement_id":0}]}'
check "shell timing" grep -qE '^\([0-9]+\.[0-9] ms\)$' "$T/err"
check "shell timing once" test "$(grep -c 'ms)' "$T/err")" -eq 1
check "no prompt without a terminal" bash -c "! grep -q 'cityts>' '$T/out' '$T/err'"

printf 'SELECT pm25 FROM air\nUSE nope\nSHOW DATABASES\n' | "$CITYTS" shell --data "$T/data" > "$T/out" 2> "$T/err"
check "shell failure exits 1" test $? -eq 1
check "shell: no database" grep -q "database name required" "$T/out"
check "shell: USE unknown" grep -qx "ERR: database not found: nope" "$T/err"
check "shell goes on after errors" grep -q "^city$" "$T/out"

printf 'FORMAT xml\nEPOCH\nSHOW DATABASES\n' | "$CITYTS" shell --data "$T/data" > "$T/out" 2> "$T/err"
check "shell bad setting exits 1" test $? -eq 1
check "shell bad FORMAT explained" grep -qx "ERR: usage: FORMAT table|csv|json" "$T/err"
check "shell bare EPOCH explained" grep -qx "ERR: usage: EPOCH ns|u|ms|s|m|h|rfc3339" "$T/err"
check "shell goes on after a bad setting" grep -q "^city$" "$T/out"

printf 'SELECT FROM\n' | "$CITYTS" shell --data "$T/data" --db city > "$T/out" 2> "$T/err"
check "shell parse error exits 1" test $? -eq 1
check "shell parse error reported" grep -q "^error parsing query: " "$T/err"
printf "SELECT * FROM air WHERE city = 'x" | "$CITYTS" shell --data "$T/data" --db city > /dev/null 2> "$T/err"
check "shell: unfinished at EOF reported" test $? -eq 1
printf 'QUIT\n' | "$CITYTS" shell --data "$T/data" --db city --format json --epoch ms > /dev/null 2>&1
check "shell QUIT exits 0" test $? -eq 0
"$CITYTS" shell --data "$T/data" --db bad/name < /dev/null > /dev/null 2>&1
check "shell bad --db exits 2" test $? -eq 2
"$CITYTS" shell --data "$T/data" extra < /dev/null > /dev/null 2>&1
check "shell stray argument exits 2" test $? -eq 2

echo "$passes passed, $fails failed"
test "$fails" -eq 0
