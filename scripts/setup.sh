#!/usr/bin/env bash
# Installs what cityts needs to build and test on Debian 12 (run as root, or
# with sudo available). Installs only what is missing.
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev clang-format
      liblz4-dev liburing-dev libjemalloc-dev libcmocka-dev libbenchmark-dev zlib1g-dev
      libpcre2-dev libedit-dev libmicrohttpd-dev python3 curl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "cityts setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
