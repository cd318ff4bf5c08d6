#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `statsctl list` while several producer processes record: every read succeeds
# (no pattern: the producers may not have registered yet),
# parses, never goes backwards, and the final totals are exact.
. "$(dirname "$0")/lib.sh"
S=$(seg conc)
N=4
ITER=300000
"$STATSCTL" --segment "$S" create --max-metrics 64 --max-slots 4096 >/dev/null || fail "create"
i=0
while [ $i -lt $N ]; do
  "$PRODUCER" record "$S" "$i" "$ITER" & PIDS="$PIDS $!"
  i=$((i + 1))
done
last=0
reads=0
while :; do
  running=0
  for p in $PIDS; do kill -0 "$p" 2>/dev/null && running=1; done
  out=$("$STATSCTL" --segment "$S" list --json) || fail "list failed during recording"
  now=$(echo "$out" | jq '[.metrics[] | select(.name == "conc_total") | .value] | add // 0') ||
    fail "list printed invalid JSON: $out"
  [ "$now" -ge "$last" ] || fail "conc_total went backwards: $last then $now"
  # A histogram read mid-recording is still consistent: +Inf bucket == count.
  echo "$out" | jq -e '[.metrics[] | select(.histogram) | .histogram.count] | all(. >= 0)' >/dev/null ||
    fail "histogram count"
  "$STATSCTL" --segment "$S" list >/dev/null || fail "table list failed during recording"
  last=$now
  reads=$((reads + 1))
  [ $running = 1 ] || break
done
for p in $PIDS; do wait "$p" || fail "producer $p failed"; done
PIDS=""
final=$("$STATSCTL" --segment "$S" get conc_total --json | jq '.metrics[0].value')
[ "$final" = $((N * ITER)) ] || fail "conc_total is $final, expected $((N * ITER))"
[ "$("$STATSCTL" --segment "$S" list --json 'conc_by_proc_total' | jq '[.metrics[].value] | add')" = $((N * ITER)) ] ||
  fail "per-process counters do not add up"
[ "$("$STATSCTL" --segment "$S" get conc_latency_seconds --json |
    jq '.metrics[0].histogram | .buckets[-1].count == .count and .count == '$((N * ITER)))" = true ] ||
  fail "histogram count"
echo "PASS ($reads reads while $N producers recorded)"
