#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds the Release and the
# ASan+UBSan configurations and runs ctest in both, then builds the
# libFuzzer targets with clang and runs each for a bounded time (20 s).
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)
for preset in release asan; do
  echo "== $preset: configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== $preset: ctest"
  ctest --preset "$preset" -j "$jobs"
done
echo "== fuzz: libFuzzer targets (clang, ASan+UBSan), bounded runs"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs" --target fuzz_lineproto fuzz_query fuzz_block fuzz_wal fuzz_catalog
ctest --preset fuzz
