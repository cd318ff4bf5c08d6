#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every bad input statsctl must refuse: its exit status, a one-line message saying what was
# wrong and what to do, and a segment left exactly as it was.
. "$(dirname "$0")/lib.sh"
S=$(seg bad)
sc() { "$STATSCTL" --segment "$S" "$@"; }

sc create --max-metrics 4 --max-slots 64 >/dev/null || fail "create"
sc inc errors_total 3 || fail "inc"
sc set queue_depth 2 || fail "set"
sc observe lat_seconds 0.5 --buckets 0.1,1 || fail "observe"
sc inc spare_total || fail "the fourth metric fits"
before=$(state "$S")
used=$(sc info --json | jq '.info.slots_used')

# unknown metric (1)
expect 1 "no metric matches 'nope'.*statsctl list" sc get nope
expect 1 "no metric matches.*nothing was reset" sc reset 'nope_*'
# malformed selector (2)
expect 2 "malformed selector 'a\{b=\}': expected a quoted value" sc get 'a{b=}'
expect 2 "malformed selector.*unterminated" sc list 'x{a="1}'
expect 2 "invalid regular expression" sc list '{a=~"("}'
# invalid metric or label name (2)
expect 2 "invalid metric name '9lives'.*not starting with a digit" sc inc 9lives
expect 2 "invalid metric name 'my-metric'" sc set my-metric 1
expect 2 "label '__x' is reserved" sc inc 'ok_total{__x="1"}'
expect 2 "malformed selector.*label name cannot start with a digit" sc inc 'ok_total{9a="1"}'
expect 2 "label 'le' is reserved" sc observe 'h_seconds{le="1"}' 1
expect 2 "does not name one series.*globs" sc inc 'ok_*'
expect 2 "does not name one series.*only =" sc inc 'ok_total{a!="1"}'
# negative counter increment (2)
expect 2 "negative counter increment '-1'.*statsctl add" sc inc errors_total -1
# NaN or infinite values (2)
for v in nan NaN inf -inf +Inf 1e999; do
  expect 2 "value '[^']+' is (not finite|out of range).*finite number" sc set queue_depth -- "$v"
done
expect 2 "value 'nan' is not finite" sc observe lat_seconds nan
expect 2 "bucket bound 'inf' is not finite" sc observe new_seconds 1 --buckets 1,inf
expect 2 "delta 'inf' is not finite" sc add queue_depth inf
# values that do not parse (2)
expect 2 "value '1,5' is not a number" sc set queue_depth 1,5
expect 2 "value '' is not a number" sc set queue_depth ''
expect 2 "value '12abc' is not a number" sc observe lat_seconds 12abc
expect 2 "increment '1.5' is not a whole number" sc inc errors_total 1.5
expect 2 "increment '99999999999999999999' is above 2\^64-1" sc inc errors_total 99999999999999999999
expect 2 "--buckets must increase strictly" sc observe new_seconds 1 --buckets 1,0.5
expect 2 "reset needs either SELECTOR" sc reset
# wrong type for the command (5)
expect 5 "errors_total is already registered as a counter, not a histogram: observe records into histograms" \
  sc observe errors_total 1
expect 5 "already registered as a counter, not a gauge" sc set errors_total 1
expect 5 "already registered as a gauge, not a counter" sc inc queue_depth
expect 5 "other|bucket" sc observe lat_seconds 1 --buckets 0.5,1
# segment full (4): registration is refused and counted; nothing else changes.
before_full=$(state "$S")
expect 4 "is full.*existing metrics keep working.*statsctl create --max-metrics" sc inc fifth_total
[ "$(state "$S")" = "$before_full" ] || fail "a refused registration changed the metrics"
[ "$(sc info --json | jq '.info.registrations_refused')" = 1 ] || fail "refusal not counted"
# segment missing (3)
expect 3 "segment /dev/shm/$PREFIX-missing does not exist: create it" \
  "$STATSCTL" --segment "$PREFIX-missing" list
expect 3 "does not exist" "$STATSCTL" --segment "$PREFIX-missing" reset --all
[ ! -e "/dev/shm/$PREFIX-missing" ] || fail "reset created a missing segment"
expect 2 "invalid segment name 'a/b'" "$STATSCTL" --segment a/b list
# permission denied (3), as an unprivileged user against root's 0640 segment
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && nobody "$STATSCTL" --version >/dev/null 2>&1; then
  expect 3 "permission denied.*check its owner and mode" nobody "$STATSCTL" --segment "$S" list
  expect 3 "permission denied" nobody "$STATSCTL" --segment "$S" inc errors_total
  chmod 0644 "/dev/shm/$S"
  nobody "$STATSCTL" --segment "$S" list >/dev/null || fail "nobody cannot read a 0644 segment"
  expect 3 "permission denied" nobody "$STATSCTL" --segment "$S" reset --all
  chmod 0640 "/dev/shm/$S"
else
  echo "SKIP permission checks: needs root, setpriv, and a statsctl that uid 65534 can run"
fi
# An empty value or bucket list, and signed non-finite values without "--" (2)
expect 2 "increment '' is not a whole number" sc inc errors_total ''
expect 2 "--buckets is empty: give ascending bounds" sc observe new_seconds 1 --buckets ''
for v in -inf -Inf -infinity -nan; do
  expect 2 "value '$v' is not finite: give a finite number" sc set queue_depth "$v"
  expect 2 "delta '$v' is not finite" sc add queue_depth "$v"
done
expect 2 "value '-inf' is not finite" sc observe lat_seconds -inf
expect 2 "value '-inf' is not finite" sc set queue_depth -inf --unit x
# nothing above changed the metrics
[ "$(state "$S")" = "$before" ] || fail "segment changed: $(state "$S")"

# incompatible segment version (3): set the format version field (offset 8) to a
# newer version, then to the older version 3.
I=$(seg incompatible)
"$STATSCTL" --segment "$I" create --max-metrics 4 --max-slots 64 >/dev/null
printf '\005' | dd of="/dev/shm/$I" bs=1 seek=8 conv=notrunc 2>/dev/null
expect 3 "format version 5; this build reads version 4: upgrade the reader, or remove and re-create" \
  "$STATSCTL" --segment "$I" list
expect 3 "format version 5" "$STATSCTL" --segment "$I" inc x_total
expect 3 "format version 5" "$STATSCTL" --segment "$I" check
printf '\003' | dd of="/dev/shm/$I" bs=1 seek=8 conv=notrunc 2>/dev/null
expect 3 "format version 3; this build reads version 4: remove it \(statsctl remove $I\) and restart its producers" \
  "$STATSCTL" --segment "$I" list
# not a shmstats segment at all (3)
G=$(seg garbage)
head -c 8192 /dev/urandom > "/dev/shm/$G"
expect 3 "is not a shmstats segment" "$STATSCTL" --segment "$G" list
# usage errors from the command line parser (2)
expect 2 "not expected: --no-such-option: see statsctl --help" sc list --no-such-option
expect 2 "not expected: bogus: see statsctl --help" sc bogus
expect 2 "no command given: see statsctl --help" "$STATSCTL"
expect 2 "--format: xml not in \{prometheus,openmetrics,json\}" sc export --format xml
expect 2 "--interval: give seconds between 0.001 and 86400" sc watch --interval 0
[ "$(state "$S")" = "$before" ] || fail "segment changed"
[ "$(sc info --json | jq '.info.slots_used')" = "$used" ] || fail "slots were allocated"
echo PASS
