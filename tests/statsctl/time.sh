#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# statsctl time: runs the command with its streams untouched, exits with its status
# (128+N for a signal), and records duration, runs, failures and last success exactly.
. "$(dirname "$0")/lib.sh"
S=$(seg time)
sc() { "$STATSCTL" --segment "$S" "$@"; }
value() { sc get "$1" --json | jq -r '.metrics[0].value'; }
hist_count() { sc get "$1" --json | jq -r '.metrics[0].histogram.count'; }
TMP=$(mktemp -d)
trap 'cleanup; rm -rf "$TMP"' EXIT

sc create --max-metrics 64 --max-slots 8192 >/dev/null || fail "create"

# Success: stdin and stdout pass through byte for byte (binary, no trailing newline).
head -c 100000 /dev/urandom >"$TMP/in"
sc time job --label host=a -- cat <"$TMP/in" >"$TMP/out" || fail "cat exited non-zero"
cmp -s "$TMP/in" "$TMP/out" || fail "stdout differs from what the command wrote"
before=$(date +%s)
sc time job --label host=a -- true || fail "true exited non-zero"
after=$(date +%s)
last=$(value 'job_last_success_timestamp_seconds{host="a"}')
awk -v l="$last" -v b="$before" -v a="$after" 'BEGIN { exit !(l >= b && l <= a + 1) }' ||
  fail "last success $last not within [$before, $after]"

# Failures by exit status: statsctl exits with the command's status.
sc time job --label host=a -- sh -c 'echo to-stderr >&2; exit 3' 2>"$TMP/err"
rc=$?
[ "$rc" = 3 ] || fail "exit 3 became $rc"
[ "$(cat "$TMP/err")" = to-stderr ] || fail "stderr not passed through: $(cat "$TMP/err")"
sc time job --label host=a -- sh -c 'exit 3'
[ $? = 3 ] || fail "second exit 3"

# A command ended by SIGTERM: 128+15, counted by signal.
sc time job --label host=a -- sh -c 'kill -TERM $$'
rc=$?
[ "$rc" = 143 ] || fail "SIGTERMed command gave $rc, expected 143"

# A command that cannot start: status 6, counted as exec, no duration observed.
err=$(sc time job --label host=a -- /nonexistent/command 2>&1)
rc=$?
[ "$rc" = 6 ] || fail "missing command gave $rc, expected 6"
echo "$err" | grep -q "^statsctl: cannot run '/nonexistent/command'" || fail "exec error: $err"

[ "$(value 'job_runs_total{host="a"}')" = 6 ] || fail "runs_total is $(value 'job_runs_total{host="a"}')"
[ "$(hist_count 'job_duration_seconds{host="a"}')" = 5 ] || fail "duration count"
[ "$(value 'job_failures_total{host="a",reason="exit_3"}')" = 2 ] || fail "exit_3 failures"
[ "$(value 'job_failures_total{host="a",reason="signal_TERM"}')" = 1 ] || fail "signal failures"
[ "$(value 'job_failures_total{host="a",reason="exec"}')" = 1 ] || fail "exec failures"
# The gauge kept the last success, not the later failures' time.
[ "$(value 'job_last_success_timestamp_seconds{host="a"}')" = "$last" ] || fail "gauge moved"
# The duration's sum is the wall-clock time: a 0.2 s command takes at least 0.2 s.
sc time slow -- sleep 0.2 || fail "sleep"
sum=$(sc get slow_duration_seconds --json | jq -r '.metrics[0].histogram.sum')
awk -v s="$sum" 'BEGIN { exit !(s >= 0.2) }' || fail "duration $sum shorter than the command"

# Bad input runs nothing and records nothing.
expect 2 'no command to run' sc time nothing
expect 2 "--label 'oops' is not NAME=VALUE" sc time nothing --label oops -- touch "$TMP/ran"
[ ! -e "$TMP/ran" ] || fail "a refused command line ran the command"
sc get 'nothing_runs_total' >/dev/null 2>&1 && fail "a refused command line registered series"
echo PASS
