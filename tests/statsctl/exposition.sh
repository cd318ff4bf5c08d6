#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `statsctl export` in Prometheus 0.0.4 and OpenMetrics text passes
# `promtool check metrics` and the invariants of check_exposition.py.
. "$(dirname "$0")/lib.sh"
[ -n "$PY" ] || fail "no python3 with prometheus_client (apt-get install python3-prometheus-client)"
PROMTOOL=${PROMTOOL:-promtool}
S=$(seg expo)
D=$(mktemp -d "/tmp/$PREFIX.XXXXXX")
trap 'cleanup; rm -rf "$D"' EXIT
sc() { "$STATSCTL" --segment "$S" "$@"; }

sc create --max-metrics 64 --max-slots 65536 >/dev/null || fail "create"
sc inc 'http_requests_total{code="200",path="/a\"b\\c"}' 18446744073709551615 \
  --help-text "$(printf 'Requests with a \\ backslash and a\nnewline')"
sc inc 'http_requests_total{code="500",path="/"}' 3
sc inc bytes_sent_bytes_total 9 --unit bytes
sc set 'temperature_celsius{room="lab"}' -3.5 --unit celsius
sc set no_help_ratio 1e-300
sc observe 'latency_seconds{op="read"}' 0.3 --unit seconds --min 0.001 --max 10 --schema 2
sc observe 'latency_seconds{op="write"}' 12 --min 0.001 --max 10 --schema 2
sc observe 'offset_meters' -2 --buckets=-1,0,1 --unit meters
sc observe empty_seconds 1 --buckets 1,2 && sc reset empty_seconds >/dev/null
# A family whose samples would collide with a histogram's: left out, not duplicated. (A
# gauge: a counter of that name would be exposed as latency_seconds_count_total.)
sc set latency_seconds_count 1

sc export > "$D/prom.txt" || fail "export prometheus"
sc export --format openmetrics > "$D/om.txt" || fail "export openmetrics"

"$PROMTOOL" check metrics < "$D/prom.txt" || fail "promtool check metrics (prometheus): see above"
# promtool 2.42 reads OpenMetrics as 0.0.4 text: it parses it, and its only lint
# finding may be "no help text" on counters' _total samples (in OpenMetrics the
# HELP line names the family, without _total). Anything else fails.
out=$("$PROMTOOL" check metrics < "$D/om.txt" 2>&1); rc=$?
[ $rc = 0 ] || [ $rc = 3 ] || fail "promtool cannot parse the OpenMetrics text: $out"
echo "$out" | grep -v '^[a-z_:]*_total no help text$' | grep . && fail "promtool (openmetrics): $out"

"$PY" "$(dirname "$0")/check_exposition.py" prometheus "$D/prom.txt" || fail "prometheus invariants"
"$PY" "$(dirname "$0")/check_exposition.py" openmetrics "$D/om.txt" || fail "openmetrics invariants"

grep -qx 'http_requests_total{code="200",path="/a\\"b\\\\c"} 18446744073709551615' "$D/prom.txt" ||
  fail "exact counter or label escaping"
grep -qx '# HELP http_requests_total Requests with a \\\\ backslash and a\\nnewline' "$D/prom.txt" ||
  fail "HELP escaping"
grep -qx 'latency_seconds_bucket{le="+Inf",op="write"} 1' "$D/prom.txt" || fail "+Inf bucket"
[ "$(grep -c '^latency_seconds_count' "$D/prom.txt")" = 2 ] || fail "colliding family exposed"
# OpenMetrics of a counter registered without _total (promtool lints that name).
S2=$(seg nototal)
"$STATSCTL" --segment "$S2" create >/dev/null
"$STATSCTL" --segment "$S2" inc bytes_out 7 --unit bytes --help-text 'No _total suffix'
"$STATSCTL" --segment "$S2" export --format openmetrics > "$D/om2.txt"
"$PY" "$(dirname "$0")/check_exposition.py" openmetrics "$D/om2.txt" || fail "counter without _total"
grep -qx '# TYPE bytes_out counter' "$D/om2.txt" || fail "openmetrics counter family"
grep -qx 'bytes_out_total 7' "$D/om2.txt" || fail "openmetrics counter sample without _total"
# The same name in Prometheus text (prometheus_client's rule), which promtool then passes.
"$STATSCTL" --segment "$S2" export > "$D/prom2.txt"
grep -qx '# TYPE bytes_out_total counter' "$D/prom2.txt" || fail "text counter without _total"
grep -qx 'bytes_out_total 7' "$D/prom2.txt" || fail "text counter sample without _total"
"$PROMTOOL" check metrics < "$D/prom2.txt" || fail "promtool check metrics (counter without _total)"
grep -qx '# UNIT bytes_sent_bytes bytes' "$D/om.txt" || fail "UNIT where the name ends in it"
grep -q '# UNIT bytes_out ' "$D/om.txt" && fail "UNIT where the name does not end in it"
grep -q '^offset_meters_sum' "$D/om.txt" && fail "OpenMetrics _sum with negative buckets"
grep -qx 'offset_meters_sum -2' "$D/prom.txt" || fail "Prometheus _sum with negative buckets"
[ "$(tail -n1 "$D/om.txt")" = "# EOF" ] || fail "no # EOF"
LC_ALL=de_DE.UTF-8 sc export | cmp -s - "$D/prom.txt" || fail "output depends on the locale"
echo PASS
