#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# statsctl delete and the family limit: a deleted series is gone from list at once
# and comes back from zero when recorded again, in its own room; deleting nothing
# exits 1; a family past its limit records into its overflow series, which
# info --families counts.
. "$(dirname "$0")/lib.sh"
S=$(seg del)
sc() { "$STATSCTL" --segment "$S" "$@"; }

sc create --max-metrics 64 --max-slots 4096 --family-limit 2 >/dev/null || fail "create"
sc inc 'jobs_total{q="a"}' 5
sc inc 'jobs_total{q="b"}' 2
sc inc 'jobs_total{q="c"}' 1     # past the limit: the overflow series
sc inc 'jobs_total{q="d"}' 4     # and again
[ "$(sc get 'jobs_total{otel_metric_overflow="true"}' --json | jq '.metrics[0].value')" = 5 ] ||
  fail "overflow series"
fam=$(sc info --families --json | jq -c '.families[] | select(.name=="jobs_total") | [.series, .limit, .overflowed]')
[ "$fam" = "[3,2,2]" ] || fail "info --families: $fam"
sc info --families | grep -q 'jobs_total' || fail "info --families table"

out=$(sc delete 'jobs_total{q="a"}') || fail "delete exited $?"
echo "$out" | grep -q '5' || fail "delete does not print the value it had: $out"
sc list --json | jq -e '[.metrics[] | select(.labels.q=="a")] | length == 0' >/dev/null ||
  fail "deleted series still listed"
[ "$(sc info --json | jq '.info.series_deleted')" = 1 ] || fail "info series_deleted"
expect 1 'no series matches' sc delete 'jobs_total{q="a"}'
expect 1 'no series matches' sc delete 'nothing_total'
sc delete 2>/dev/null; [ $? = 2 ] || fail "delete without SELECTOR is not a usage error"

# Its room went back to the family: a new label set gets a series of its own.
sc inc 'jobs_total{q="e"}' 7
[ "$(sc get 'jobs_total{q="e"}' --json | jq '.metrics[0].value')" = 7 ] || fail "room not given back"
# Deleted again and recorded again: back from zero, no new descriptor.
free=$(sc info --json | jq '.info.metrics_free')
sc delete 'jobs_total{q="e"}' >/dev/null || fail "delete e"
sc inc 'jobs_total{q="e"}' 1
[ "$(sc get 'jobs_total{q="e"}' --json | jq '.metrics[0].value')" = 1 ] || fail "not from zero"
[ "$(sc info --json | jq '.info.metrics_free')" = "$free" ] ||
  fail "a revived series took a new descriptor"
[ "$(sc info --json | jq '.info.revived_total')" = 1 ] || fail "revived_total"
sc check >/dev/null || fail "check"
echo PASS
