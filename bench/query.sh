#!/usr/bin/env bash
# The query language's benchmark suite (issue 8) on a dataset of about 150
# million values: builds the Release configuration, generates the dataset
# once (cityts gen | cityts ingest, kept in DIR), then runs
# `cityts-bench --benchmark_filter=^query/` on it.
#
# Usage: bench/query.sh [DIR] [extra cityts-bench flags...]
#   DIR defaults to /tmp/cityts-query-bench (about 400 MB on disk).
#   Environment: SENSORS (default 280: 10,080 series), DAYS (default 7),
#   CTS_BENCH_QUERY_THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/tmp/cityts-query-bench}
[ $# -gt 0 ] && shift
SENSORS=${SENSORS:-280}
DAYS=${DAYS:-7}
cmake --preset release > /dev/null
cmake --build --preset release --target cityts cityts-bench > /dev/null
CITYTS=build/release/cli/cityts
if [ ! -d "$DIR/bench" ]; then
  echo "generating $SENSORS sensors x 6 cities x 6 measurements over ${DAYS}d into $DIR/bench"
  "$CITYTS" gen --sensors "$SENSORS" --duration "${DAYS}d" --seed 7 |
    "$CITYTS" ingest --data "$DIR" --db bench --fsync never --no-progress -
fi
CTS_BENCH_QUERY_DATA=$DIR exec build/release/bench/cityts-bench --benchmark_filter='^query/' \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true "$@"
