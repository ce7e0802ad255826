#!/usr/bin/env bash
# The main job for a new user: installs dependencies, builds cityts in
# Release, and runs `cityts demo`: a week of sensor data from six cities,
# generated, ingested with a progress bar, then inspected and verified.
# Arguments are passed to `cityts demo` (e.g. --data DIR to keep the data).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
exec build/release/cli/cityts demo "$@"
