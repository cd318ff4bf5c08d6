#!/usr/bin/env bash
# The README's main-job command: install what is missing, build, start shmstatsd with
# its defaults (segment "shmstats", SQLite history in /var/lib/shmstats), run the
# example producer, then show `statsctl list`, the /metrics URL and the history.
# A short --interval makes history appear within the demo; the daemon's default is 60s.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh

port=${SHMSTATS_DEMO_PORT:-9477}
log=$(mktemp /tmp/shmstatsd-demo.XXXXXX.log)
build/daemon/shmstatsd --listen "127.0.0.1:$port" --interval 2s >"$log" 2>&1 &
daemon=$!
stop_daemon() { kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true; }
trap stop_daemon EXIT

echo "shmstatsd is running (log: $log); the producer records for 6 seconds..."
build/examples/producer --seconds 6
echo
echo "\$ statsctl list"
build/tools/statsctl list
echo
echo "Prometheus endpoint: http://127.0.0.1:$port/metrics (first lines):"
curl -fsS "http://127.0.0.1:$port/metrics" | head -n 12 ||
  echo "(shmstatsd is not answering; see $log)"
stop_daemon # SIGTERM: a final snapshot, then the history is complete
echo
echo "\$ statsctl history 'tool_calls_total' --from -5m --step 1m"
build/tools/statsctl history 'tool_calls_total' --from -5m --step 1m ||
  echo "(no history yet; see $log)"
echo
echo "The segment stays in /dev/shm/shmstats (statsctl list), the history in"
echo "/var/lib/shmstats/history.db (statsctl history); statsctl remove deletes the segment."
