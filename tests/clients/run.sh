#!/usr/bin/env bash
# Runs clients.test.mjs (InfluxDB's official JavaScript clients against
# `cityts serve`) in a scratch copy of this folder: `npm ci` installs the
# versions pinned in package-lock.json from the npm registry, then
# `node --test` runs the test. Exits 77 (skipped) when node or npm is
# missing or the registry cannot be reached, so a machine without them
# skips rather than fails. Usage: run.sh PATH/TO/cityts
set -u
CITYTS=$1
HERE=$(cd "$(dirname "$0")" && pwd)
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "SKIP: node and npm are needed (scripts/setup.sh does not install them: the machine image has them)"
  exit 77
fi
W="${CTS_TEST_TMPDIR:-/tmp}/clients-npm"
mkdir -p "$W"
cp "$HERE/package.json" "$HERE/package-lock.json" "$HERE/clients.test.mjs" "$W/"
cd "$W" || exit 1
if ! timeout 300 npm ci --no-audit --no-fund --loglevel=error > npm.log 2>&1; then
  cat npm.log
  echo "SKIP: npm ci failed (is the npm registry reachable?)"
  exit 77
fi
CITYTS=$CITYTS node --test clients.test.mjs
