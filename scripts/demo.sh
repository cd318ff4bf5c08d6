#!/usr/bin/env bash
# The README's main-job command: install what is missing, build, start shmstatsd on a
# demo segment, run the example producer, then show `statsctl list` and /metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh

export SHMSTATS_SEGMENT=${SHMSTATS_SEGMENT:-shmstats-demo}
state=$(mktemp -d /tmp/shmstats-demo.XXXXXX)
port=${SHMSTATS_DEMO_PORT:-9477}

build/daemon/shmstatsd --segment "$SHMSTATS_SEGMENT" --state-dir "$state" \
  --listen "127.0.0.1:$port" --interval 2s >"$state/shmstatsd.log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT

build/examples/producer --segment "$SHMSTATS_SEGMENT" --seconds 5
echo
echo "\$ statsctl list"
build/tools/statsctl list
echo
echo "Prometheus endpoint: http://127.0.0.1:$port/metrics (first lines):"
curl -fsS "http://127.0.0.1:$port/metrics" | head -n 12 || echo "(shmstatsd is not answering; see $state/shmstatsd.log)"
echo
echo "History and stats.json are in $state; the daemon stops when this script exits."
