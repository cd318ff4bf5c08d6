#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# statsctl ps: a live C++ producer, a live Python producer and an exited producer
# (statsctl inc with a job, opted out of process metrics), each with its job, user,
# command and series; statsctl inc without a job leaves no record; a SIGKILLed
# producer turns to exited; the JSON validates against the schema.
. "$(dirname "$0")/lib.sh"
[ -n "$PY" ] || fail "no python3 with jsonschema (apt-get install python3-jsonschema)"
[ -n "${PYTHONPATH:-}" ] || fail "PYTHONPATH must name the built Python extension"
S=$(seg ps)
D=$(mktemp -d "/tmp/$PREFIX.XXXXXX")
trap 'exec 3>&- 4>&- 2>/dev/null; cleanup; rm -rf "$D"' EXIT
sc() { "$STATSCTL" --segment "$S" "$@"; }
ME=$(id -un)

# wait_for FILE TEXT: until FILE holds TEXT (bounded: 30 s of 0.05 s polls).
wait_for() {
  n=0
  until grep -q "$2" "$1" 2>/dev/null; do
    n=$((n + 1)); [ $n -le 600 ] || fail "$1 never said '$2': $(cat "$1" 2>/dev/null)"
    sleep 0.05
  done
}

sc create --max-metrics 64 --max-slots 4096 >/dev/null || fail "create"
[ "$(sc ps --json | jq '.producers | length')" = 0 ] || fail "a new segment has producers"
# statsctl records once and exits: without a job it leaves no producer record.
env -u SHMSTATS_JOB "$STATSCTL" --segment "$S" inc adhoc_total || fail "inc without a job"
[ "$(sc ps --json | jq '.producer_table.used')" = 0 ] || fail "statsctl inc without a job left a record"

# A live C++ producer (job set through the API), kept alive by an open fifo.
mkfifo "$D/cpp.in" "$D/py.in"
"$PRODUCER" hold "$S" cpp-worker < "$D/cpp.in" > "$D/cpp.out" &
CPP=$!; PIDS="$PIDS $CPP"
exec 3> "$D/cpp.in"
# A live Python producer (job from SHMSTATS_JOB).
SHMSTATS_SEGMENT=$S SHMSTATS_JOB=py-worker /usr/bin/python3 -c '
import sys
from shmstats import Counter, Gauge
Counter("py_requests", "Requests").inc()
Gauge("py_queue", "Queue").set(3)
print("ready", flush=True)
sys.stdin.read()' < "$D/py.in" > "$D/py.out" &
PYPID=$!; PIDS="$PIDS $PYPID"
exec 4> "$D/py.in"
# An exited producer (statsctl inc with a job) that opted out of process metrics.
SHMSTATS_JOB=nightly SHMSTATS_PROCESS_METRICS=0 sc inc cron_runs_total || fail "inc"
wait_for "$D/cpp.out" ready
wait_for "$D/py.out" ready

sc ps --json > "$D/ps.json" || fail "ps --json"
"$PY" "$(dirname "$0")/validate_json.py" "$(dirname "$0")/../../docs/statsctl.schema.json" \
  "$D/ps.json" || fail "schema validation"
pick() { jq -c --argjson pid "$1" '.producers[] | select(.pid == $pid)
  | {state, user, command, job, series, process_metrics}' "$D/ps.json"; }
[ "$(pick "$CPP")" = "{\"state\":\"live\",\"user\":\"$ME\",\"command\":\"statsctl_test_p\",\"job\":\"cpp-worker\",\"series\":1,\"process_metrics\":true}" ] ||
  fail "C++ producer: $(pick "$CPP")"
[ "$(pick "$PYPID")" = "{\"state\":\"live\",\"user\":\"$ME\",\"command\":\"python3\",\"job\":\"py-worker\",\"series\":2,\"process_metrics\":true}" ] ||
  fail "Python producer: $(pick "$PYPID")"
exited=$(jq -c '[.producers[] | select(.command == "statsctl")
  | {state, job, series, process_metrics}]' "$D/ps.json")
[ "$exited" = '[{"state":"exited","job":"nightly","series":1,"process_metrics":false}]' ] ||
  fail "exited producer: $exited"
[ "$(jq '[.producers[].state] == ["live", "live", "exited"]' "$D/ps.json")" = true ] ||
  fail "live producers are not listed first: $(cat "$D/ps.json")"
jq -e '.producer_table | .used == 3 and .refused == 0 and .max == 256' "$D/ps.json" >/dev/null ||
  fail "producer table: $(jq -c .producer_table "$D/ps.json")"
jq -e '.producers[] | select(.attached_unix_ns > 0 and .start_ticks > 0)' "$D/ps.json" >/dev/null ||
  fail "attach time or start time missing"

# The table: one row per producer.
sc ps > "$D/ps.txt" || fail "ps"
grep -q "^$CPP .*cpp-worker *live" "$D/ps.txt" || fail "table: $(cat "$D/ps.txt")"
[ "$(sc ps --live | tail -n +2 | wc -l)" = 2 ] || fail "ps --live: $(sc ps --live)"

# SIGKILLed: exited at once (its owner lock went with it), its series still its own.
kill -9 "$CPP"; wait "$CPP" 2>/dev/null
[ "$(sc ps --json | jq -c --argjson pid "$CPP" '.producers[] | select(.pid == $pid) | [.state, .series]')" = '["exited",1]' ] ||
  fail "killed producer: $(sc ps --json)"
exec 4>&-
wait "$PYPID" || fail "python producer failed: $(cat "$D/py.out")"
[ "$(sc ps --live --json | jq '.producers | length')" = 0 ] || fail "no producer should be live"
echo PASS
