#!/usr/bin/env bash
# The main job for a new user: installs dependencies, builds cityts in
# Release, and runs it on built-in city data. Until `cityts demo` exists,
# that is the column-codec benchmark on generated sensor data, which prints
# bytes per value for each dataset.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
exec build/release/bench/cityts-bench --benchmark_filter='codec/' "$@"
