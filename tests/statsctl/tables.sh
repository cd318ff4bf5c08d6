#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Tables are made for eyes: four significant digits with scaled units, --precision
# and --raw for every digit, histograms as non-empty buckets with a bar chart and
# quantiles, columns aligned in terminal cells (even under LC_ALL=C); --json stays
# exact. Recording commands create a missing segment and say so once. Every
# subcommand's --help lists the options that work there.
. "$(dirname "$0")/lib.sh"
S=$(seg tb)
export LC_ALL=C  # statsctl switches LC_CTYPE to UTF-8 itself
sc() { "$STATSCTL" --segment "$S" "$@"; }

# inc/set/add/observe on a missing segment create it, saying so once.
err=$(sc set 'latency_seconds{city="Zürich"}' 0.0011015230566678272 --unit seconds 2>&1 >/dev/null)
echo "$err" | grep -q "^statsctl: created segment /dev/shm/$S (131072 metrics" || fail "no creation note: $err"
[ -z "$(sc set 'latency_seconds{city="東京"}' 12.5 --unit seconds 2>&1)" ] || fail "second record spoke"
sc set 'latency_seconds{city="x"}' 0.000002 --unit seconds || fail "set"
sc inc requests_total 1234567 || fail "inc"
sc observe payload_bytes 19196966.93657807 --buckets 1000,1e6,1e8 --unit bytes || fail "observe"
for v in 0.002 0.0021 0.0025 0.1 0.1 0.1 0.1 0.1 3; do
  sc observe wait_seconds "$v" --buckets 0.001,0.01,0.1,1,10 --unit seconds || fail "observe $v"
done
sc observe exp_seconds 0.25 --min 0.001 --max 10 --schema 4 --unit seconds || fail "observe exp"

list=$(sc list)
echo "$list" | grep -Eq '^latency_seconds +\{city="Zürich"\} +gauge +1\.102 ms$' || fail "1.102 ms: $list"
echo "$list" | grep -Eq '\{city="x"\} +gauge +2\.000 µs$' || fail "2.000 µs: $list"
echo "$list" | grep -Eq '\{city="東京"\} +gauge +12\.50 s$' || fail "12.50 s: $list"
echo "$list" | grep -Eq '^requests_total +counter +1234567$' || fail "counters stay exact: $list"
echo "$list" | grep -Eq '^payload_bytes +histogram +count=1  sum=19\.20 MB  p50=' || fail "19.20 MB: $list"
# Aligned by display width: TYPE starts in the same terminal column on every row.
echo "$list" | /usr/bin/python3 -c '
import sys, unicodedata
cols = set()
for line in sys.stdin.read().splitlines():
    for word in ("TYPE", "gauge", "counter", "histogram"):
        i = line.find("  " + word)
        if i >= 0:
            prefix = line[:i].rstrip()
            cells = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line[:i + 2])
            cols.add(cells)
            break
sys.exit(0 if len(cols) == 1 else 1)' || fail "TYPE column not aligned by display width: $list"
sc list --raw | grep -Eq '\{city="Zürich"\} +gauge +0\.0011015230566678272 seconds$' || fail "--raw"
sc list --precision 6 | grep -Eq '\{city="Zürich"\} +gauge +1\.10152 ms$' || fail "--precision 6"
[ "$(sc list --json | jq '.metrics[] | select(.labels.city == "Zürich") | .value')" = 0.0011015230566678272 ] ||
  fail "--json not exact"
expect 2 "precision" sc list --precision 0

# get on a histogram: quantiles, then only the non-empty buckets, with bars.
get=$(sc get wait_seconds)
echo "$get" | grep -Eq '^  count 9  sum 3\.507 s  mean 389\.6 ms$' || fail "get summary: $get"
echo "$get" | grep -Eq '^  p50 [0-9.]+ ms  p90 [0-9.]+ (ms|s)  p99 [0-9.]+ s$' || fail "get quantiles: $get"
[ "$(echo "$get" | grep -c '^  ≤ ')" = 3 ] || fail "expected the 3 non-empty buckets: $get"
echo "$get" | grep -Eq '^  ≤ 10\.00 ms +3 +33\.3% +████████████████████████$' || fail "3-count bar: $get"
echo "$get" | grep -Eq '^  ≤ 100\.0 ms +5 +55\.6% +████████████████████████████████████████$' ||
  fail "fullest bucket has no full bar: $get"
echo "$get" | grep -Eq '^  ≤ 10\.00 s +1 +11\.1% +████████$' || fail "1-count bar: $get"
echo "$get" | grep -q '^  (3 empty buckets of 6 not shown' || fail "empty buckets not counted: $get"
# An exponential histogram: one observation, one row, not hundreds.
get=$(sc get exp_seconds)
[ "$(echo "$get" | grep -c '^  ≤ ')" = 1 ] || fail "exponential: expected 1 bucket row: $get"
total=$(sc get exp_seconds --json | jq '.metrics[0].histogram.buckets | length')
[ "$total" -gt 20 ] || fail "--json lost buckets ($total)"
echo "$get" | grep -q "^  ($((total - 1)) empty buckets of $total not shown" || fail "exp empty: $get"

# watch --interval takes seconds or a duration.
[ "$(sc watch --interval 50ms --count 2 | grep -c '^--- segment .* every 0.05s ')" = 2 ] ||
  fail "watch --interval 50ms"
expect 2 "give seconds \\(1.5\\) or a duration" sc watch --interval 1x

# --help of every subcommand lists what works there.
for opt in --segment --json --precision --raw; do
  sc list --help | grep -q -- "$opt" || fail "list --help lacks $opt"
done
for opt in --db --from --to --format --segment --json; do
  sc history export --help | grep -q -- "$opt" || fail "history export --help lacks $opt"
done
sc inc --help | grep -q -- --precision && fail "inc --help lists --precision"
# A --segment after the command wins over $SHMSTATS_SEGMENT.
SHMSTATS_SEGMENT="$PREFIX-none" "$STATSCTL" list --segment "$S" >/dev/null || fail "--segment after list"
echo PASS
