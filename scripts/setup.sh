#!/usr/bin/env bash
# Installs (as root, on Debian 12) every package shmstats needs to build, test and
# benchmark, skipping what is already installed. Safe to run again.
set -euo pipefail

PACKAGES=(
  # build
  g++ cmake make pkg-config
  # libraries (see README "Dependencies")
  libboost-dev libcli11-dev nlohmann-json3-dev libfmt-dev libsqlite3-dev libcpp-httplib-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  prometheus jq mandoc curl python3 python3-jsonschema python3-prometheus-client procps
  prometheus-cpp-dev  # issue 9: the peer of bench/registration_bench (linked in bench only)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The prometheus package starts a server we do not need; its promtool is what we use.
if command -v systemctl >/dev/null && systemctl is-active -q prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi
echo "setup: all packages present"
