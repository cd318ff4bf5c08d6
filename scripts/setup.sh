#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
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
  python3-statsd  # a real statsd client sends to shmstatsd --statsd in a test
  python3-pytest  # the Python package's tests
  python3-setuptools python3-wheel python3-pip  # pip installs bindings/python offline
  python3-dev python3-venv  # the Python C extension, and the test that pip installs it into a venv
  libsystemd-dev  # sd_notify (Type=notify, watchdog) and sd-bus (D-Bus API)
  dpkg-dev        # dpkg-shlibdeps, which cpack runs for the .deb
  file            # cpack finds the ELF files to run dpkg-shlibdeps on
  lintian         # the .deb is lint-clean of errors (test)
  systemd         # systemd-analyze verify/security, busctl (tests)
  dbus-daemon     # a private bus for the D-Bus API tests
  libglib2.0-bin  # gdbus monitor sees the D-Bus Tick signal (test)
  libre2-dev  # PromQL (RE2) label regexes in common/selector
  chromium    # the dashboard page tested in headless Chromium
  tmux        # statsctl watch's full-screen view tested in a terminal
  iproute2    # ip brings up loopback in the install/purge test's network namespace
  libpq-dev  # the PostgreSQL history store (libpq)
  postgresql-15  # tests start a real PostgreSQL 15 (initdb, pg_ctl)
  prometheus-cpp-dev  # the peer in bench/recording_bench and bench/registration_bench (bench only)
  valgrind  # bench/callgrind.sh instruction counts
  hyperfine  # bench/scale.sh times statsctl and /metrics as whole processes
  libprotobuf-dev protobuf-compiler  # remote-write's protobuf messages (daemon/remote_write.proto)
  libsnappy-dev  # remote-write bodies are snappy-compressed, as the protocol requires
  golang-go  # the Go module bindings/go (cgo) and its tests (go test, go vet)
  golang-github-prometheus-client-golang-dev  # client_golang, the peer in bench/go (bench only; its Go dependencies come with it)
  libssl-dev  # remote-write over https:// (Boost.Beast's SSL stream over OpenSSL)
  victoria-metrics  # a second real remote-write receiver in the daemon's tests
  apache2-utils  # htpasswd makes the bcrypt hash of the test receiver's basic-auth password
  zlib1g-dev  # gzip on shmstatsd's HTTP responses (Accept-Encoding: gzip)
  nodejs  # the Node.js package bindings/node (its addon, tests and bench/node)
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
# npm (its node-gyp builds the Node.js addon; npm ci installs the pinned
# typescript and prom-client) and the Node.js headers, which node-gyp uses in place
# (nodedir=/usr: it downloads nothing). Debian's nodejs needs npm and libnode-dev for
# them; a Node.js that ships both (NodeSource's) needs nothing more.
if ! command -v npm >/dev/null || [ ! -f /usr/include/node/node_api.h ]; then
  echo "setup: installing npm libnode-dev"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm libnode-dev >/dev/null
fi
# The prometheus package starts a server we do not need; its promtool is what we use.
if command -v systemctl >/dev/null && systemctl is-active -q prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi
echo "setup: all packages present"
