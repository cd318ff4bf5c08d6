#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# statsctl delete and the family limit: a deleted series is gone from list at once
# and comes back from zero when recorded again, in its own room, which goes to
# another key once the segment is full; deleting nothing exits 1; a family past its
# limit records into its overflow series, which info --families counts.
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

# Once fresh room has run out, a deleted series' room goes to another key: no
# process can hold a handle to it (statsctl's commands have exited). Filling the
# segment takes jobs_total{q="a"}'s room (deleted above); then another.
i=0
while sc inc "fill${i}_total" 1 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 200 ] || fail "a segment of 64 series never filled"
done
[ "$(sc info --json | jq '.info.refilled_total')" = 1 ] || fail "refilled_total after the fill"
expect 4 'full' sc inc 'late_total' 3
sc delete 'fill0_total' >/dev/null || fail "delete fill0_total"
sc inc 'late_total' 3 || fail "the deleted room was not given to another key"
[ "$(sc get late_total --json | jq '.metrics[0].value')" = 3 ] || fail "late_total"
[ "$(sc info --json | jq '.info.refilled_total')" = 2 ] || fail "refilled_total"
sc info | grep -q '2 of their rooms given to other series' || fail "info: $(sc info | grep deleted)"
sc check >/dev/null || fail "check"
echo PASS
