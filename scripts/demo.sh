#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's first command: install what is missing, build only the three programs
# the demo runs, install them and the man pages into /usr/local (stripped), start
# shmstatsd with its defaults (segment "shmstats", SQLite history in
# /var/lib/shmstats), run the example producer, then show `statsctl list`, /metrics
# and the history. A short --interval makes history appear within the demo; the
# daemon's default is 60s. Temporary files are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }

step "Installing the Debian packages that are missing (scripts/setup.sh; a few minutes the first time)"
scripts/setup.sh

# `man statsctl` after the demo needs man-db, which minimal Debian images lack.
if ! command -v man >/dev/null; then
  echo "setup: installing man-db (for man statsctl)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends man-db >/dev/null
fi

step "Building shmstatsd, statsctl and the example producer into build/demo (Release)"
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DSHMSTATS_BUILD_BENCH=OFF >/dev/null
# cmake prints one line per file, so a long build is never silent.
cmake --build build/demo -j"$(nproc)" --target shmstatsd statsctl shmstats_producer shmstats_shared \
  shmstats_static

step "Installing into /usr/local (programs stripped, man pages, library)"
cmake --install build/demo --strip | grep -E 'bin/|man/' || true
mandb -q 2>/dev/null || true
hash -r

tmp=$(mktemp -d /tmp/shmstats-demo.XXXXXX)
port=${SHMSTATS_DEMO_PORT:-9477}
daemon=""
stop_daemon() {
  if [ -n "$daemon" ]; then
    kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
    daemon=""
  fi
}
finish() {
  stop_daemon
  rm -rf "$tmp"
}
trap finish EXIT

step "Starting shmstatsd on 127.0.0.1:$port, then the producer records for 6 seconds"
shmstatsd --listen "127.0.0.1:$port" --interval 2s >"$tmp/shmstatsd.log" 2>&1 &
daemon=$!
build/demo/examples/producer --seconds 6
echo
echo "\$ statsctl list"
statsctl list
echo
echo "Prometheus endpoint: http://127.0.0.1:$port/metrics (first lines):"
# Read the whole answer first: `curl | head` fails under pipefail when head stops
# reading early, which is not the daemon's fault.
if metrics=$(curl -fsS "http://127.0.0.1:$port/metrics" 2>"$tmp/curl.err"); then
  head -n 12 <<<"$metrics"
else
  echo "(shmstatsd is not answering: $(cat "$tmp/curl.err"); its log:)"
  tail -n 20 "$tmp/shmstatsd.log"
fi
echo "Dashboard: http://127.0.0.1:$port/ (while shmstatsd runs)"
stop_daemon # SIGTERM: a final snapshot, then the history is complete
echo
echo "\$ statsctl history 'tool_calls_total' --from -5m --step 1m"
statsctl history 'tool_calls_total' --from -5m --step 1m || echo "(no history yet)"
echo
echo "Installed: statsctl and shmstatsd in /usr/local (man statsctl, man shmstatsd)."
echo "The segment stays in /dev/shm/shmstats (statsctl list), the history in"
echo "/var/lib/shmstats/history.db (statsctl history); statsctl remove deletes the segment."
