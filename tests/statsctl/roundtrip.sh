#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# inc/set/add/observe then list/get/reset read back exactly what was recorded.
. "$(dirname "$0")/lib.sh"
S=$(seg rt)
sc() { "$STATSCTL" --segment "$S" "$@"; }
jqv() { sc get "$1" --json | jq -r "$2"; }

sc create --max-metrics 64 --max-slots 8192 >/dev/null || fail "create"
sc inc jobs_total || fail "inc"
sc inc jobs_total 41 --help-text "Jobs done" || fail "inc 41"
[ "$(jqv jobs_total '.metrics[0].value')" = 42 ] || fail "counter is not 42"
[ "$(jqv jobs_total '.metrics[0].help')" = "" ] || fail "help of a later registration won"

sc inc 'calls_total{tool="file_read",zone="a"}' 3 || fail "inc with labels"
sc inc 'calls_total{zone="a",tool="file_read"}' 2 || fail "inc with labels reordered"
[ "$(jqv 'calls_total{tool="file_read"}' '.metrics[0].value')" = 5 ] || fail "labelled counter"

# Counters are exact above 2^53: check the raw JSON text, not a double.
sc inc big_total 18446744073709551615 || fail "inc max"
sc get big_total --json | grep -q '"value": 18446744073709551615' || fail "u64 not exact in JSON"
sc list big_total | grep -Eq '^big_total +counter +18446744073709551615$' || fail "u64 in table"

sc set temp_celsius --unit celsius -- -12.25 || fail "set negative"
sc add temp_celsius 2 || fail "add"
sc add temp_celsius -- -0.5 || fail "add negative"
[ "$(jqv temp_celsius '.metrics[0].value')" = -10.75 ] || fail "gauge is not -10.75"

sc observe size_bytes 300 --buckets 100,500,1000 || fail "observe explicit"
sc observe size_bytes 50 || fail "observe into existing explicit histogram without options"
sc observe size_bytes 5000 || fail "observe +Inf"
[ "$(jqv size_bytes '[.metrics[0].histogram.buckets[] | .count] | join(",")')" = "1,2,2,3" ] ||
  fail "cumulative buckets"
[ "$(jqv size_bytes '.metrics[0].histogram.buckets[-1].le')" = "+Inf" ] || fail "+Inf bucket"
[ "$(jqv size_bytes '.metrics[0].histogram.sum')" = 5350 ] || fail "histogram sum"

sc observe lat_seconds 0.25 --min 0.001 --max 10 --schema 4 || fail "observe exponential"
sc observe lat_seconds 0.75 || fail "observe into existing exponential histogram"
[ "$(jqv lat_seconds '.metrics[0].histogram.count')" = 2 ] || fail "exponential count"
sc get lat_seconds | grep -q '^  count 2  sum 1.000  mean 0.5000$' || fail "get text of a histogram"

# list: aligned table with every metric; a pattern narrows it.
sc list > "/tmp/$PREFIX.list" || fail "list"
grep -Eq '^NAME +LABELS +TYPE +VALUE$' "/tmp/$PREFIX.list" || fail "list header"
grep -Eq '^size_bytes +histogram +count=3  sum=5350  p50=' "/tmp/$PREFIX.list" || fail "list histogram"
[ "$(sc list 'calls_*' | wc -l)" = 2 ] || fail "list glob"
[ "$(sc list '{tool=~"file_.*"}' --json | jq '.metrics | length')" = 1 ] || fail "regex matcher"
rm -f "/tmp/$PREFIX.list"

# reset prints the old values and zeroes the slots.
[ "$(sc reset jobs_total --json | jq '.metrics[0].value')" = 42 ] || fail "reset shows old value"
[ "$(jqv jobs_total '.metrics[0].value')" = 0 ] || fail "reset did not zero"
sc inc jobs_total 7
sc reset --all | grep -Eq '^jobs_total +counter +7$' || fail "reset --all table"
[ "$(jqv size_bytes '.metrics[0].histogram.count')" = 0 ] || fail "reset --all histogram"

sc check | grep -q '^ok: ' || fail "check of a good segment"
sc remove || fail "remove"
[ ! -e "/dev/shm/$S" ] || fail "segment still exists"
echo PASS
