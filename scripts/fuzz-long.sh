#!/usr/bin/env bash
# fuzz-long.sh: run every libFuzzer target for hours, and report crashes.
#
#   scripts/fuzz-long.sh [HOURS] [BUILD_DIR]
#
# HOURS (default 1, fractions allowed) is how long EACH target runs.
# BUILD_DIR (default build/fuzz, the `fuzz` preset) is configured and its
# fuzz targets built first. Targets run in parallel, at most one per core
# (FUZZ_JOBS overrides), so with more targets than cores the wall time is
# ceil(targets / cores) x HOURS.
#
# Each target keeps its growing corpus in WORK/<name>/corpus (WORK is
# FUZZ_WORK, default BUILD_DIR/fuzz-long), starting from the committed seeds
# in tests/fuzz/corpus/<name>/ (read only), with its dictionary; crash,
# timeout and out-of-memory inputs go to WORK/<name>/artifacts/ and the log
# to WORK/<name>/log. Reruns continue from the work corpus.
#
# At the end it prints, per target: executions, CPU seconds, corpus size,
# and artifacts found. Exit status 1 when any target left an artifact.
# A crash input found: reproduce with `BUILD_DIR/tests/fuzz/fuzz_<name> FILE`,
# fix, and keep FILE under tests/fuzz/corpus/<name>/ named after the
# behaviour (see tests/fuzz/CMakeLists.txt).
set -euo pipefail

hours="${1:-1}"
build="${2:-build/fuzz}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
work="${FUZZ_WORK:-$build/fuzz-long}"
jobs="${FUZZ_JOBS:-$(nproc)}"
seconds="$(awk -v h="$hours" 'BEGIN { s = int(h * 3600); if (s < 1) s = 1; print s }')"

if [ ! -f "$build/build.ninja" ]; then
    CC=clang cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Asan -DCTS_FUZZ=ON >/dev/null
fi
names=()
for src in tests/fuzz/fuzz_*.c; do
    name="$(basename "$src" .c)"
    name="${name#fuzz_}"
    names+=("$name")
done
targets=()
for n in "${names[@]}"; do targets+=("fuzz_$n"); done
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

run_one() {
    local name="$1" dir="$work/$1"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    local dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
    local start end
    start="$(date +%s)"
    # -close_fd_mask=2: the targets' own stderr (WAL torn-tail notes) is
    # noise; libFuzzer and the sanitizers still report on a kept descriptor.
    "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -close_fd_mask=2 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "${dict[@]}" \
        "$dir/corpus" "tests/fuzz/corpus/$name" >"$dir/log" 2>&1 || true
    end="$(date +%s)"
    echo "$((end - start))" >"$dir/wall"
}

echo "fuzz-long: ${#names[@]} targets x ${seconds}s, $jobs at a time, work in $work"
running=0
for n in "${names[@]}"; do
    run_one "$n" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

found=0
printf '%-12s %12s %10s %10s %10s\n' target execs wall_s corpus artifacts
for n in "${names[@]}"; do
    dir="$work/$n"
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | grep -o '[0-9]*$' || echo '?')"
    arts="$(find "$dir/artifacts" -type f | wc -l)"
    corpus="$(find "$dir/corpus" -type f | wc -l)"
    printf '%-12s %12s %10s %10s %10s\n' "$n" "${execs:-?}" "$(cat "$dir/wall" 2>/dev/null || echo '?')" \
        "$corpus" "$arts"
    if [ "$arts" -gt 0 ]; then
        found=1
        find "$dir/artifacts" -type f | sed 's/^/  artifact: /'
        grep -m1 -E 'ERROR: |check failed' "$dir/log" | sed 's/^/  first error: /' || true
    fi
done
exit "$found"
