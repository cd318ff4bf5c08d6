#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every command's --json output parses with jq, carries "version": 1 and validates
# against docs/statsctl.schema.json; jq one-liners of docs/statsctl.md work.
. "$(dirname "$0")/lib.sh"
[ -n "$PY" ] || fail "no python3 with jsonschema (apt-get install python3-jsonschema)"
S=$(seg json)
D=$(mktemp -d "/tmp/$PREFIX.XXXXXX")
trap 'cleanup; rm -rf "$D"' EXIT
sc() { "$STATSCTL" --segment "$S" "$@"; }

sc --json create --max-metrics 32 --max-slots 4096 > "$D/create.json" || fail "create"
sc inc 'errors_total{kind="timeout"}' 18446744073709551615 --help-text 'Errors "by" kind'
sc inc 'errors_total{kind="refused"}' 2
sc set 'ratio{path="C:\\tmp\nx"}' 0.125
sc observe lat_seconds 0.02 --buckets 0.01,0.1
sc observe empty_seconds 1 --buckets 1,2 && sc reset empty_seconds >/dev/null
sc list --json > "$D/list.json" || fail "list"
sc get lat_seconds --json > "$D/get.json" || fail "get"
sc info --json > "$D/info.json" || fail "info"
sc ps --json > "$D/ps.json" || fail "ps"
sc check --json > "$D/check.json" || fail "check"
sc export --format json > "$D/export.json" || fail "export"
sc export --json > "$D/export2.json" || fail "export --json"
sc watch --json --interval 0.05 --count 2 > "$D/watch.json" || fail "watch"
sc reset 'errors_total{kind="refused"}' --json > "$D/reset.json" || fail "reset"
sc info --families --json > "$D/families.json" || fail "info --families"
sc delete 'ratio' --json > "$D/delete.json" || fail "delete"
sc remove --json > "$D/remove.json" || fail "remove"
"$STATSCTL" --segment "$S" remove --force --json > "$D/remove-force.json" || fail "remove -f"

for f in "$D"/*.json; do
  jq -e '.version == 1' "$f" >/dev/null || fail "$f: no version 1 (or not JSON)"
done
"$PY" "$(dirname "$0")/validate_json.py" "$(dirname "$0")/../../docs/statsctl.schema.json" \
  "$D"/*.json || fail "schema validation"

# Exact u64 (jq 1.6 turns big numbers into doubles, so compare with python).
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); v=[m["value"] for m in d["metrics"] if m["labels"].get("kind")=="timeout"]; sys.exit(v!=[2**64-1])' "$D/list.json" ||
  fail "u64 counter not exact"
# Labels and help survive escaping; an empty histogram has null quantiles.
[ "$(jq -r '.metrics[] | select(.name=="ratio") | .labels.path' "$D/list.json")" = "$(printf 'C:\\tmp\nx')" ] ||
  fail "label value escaping"
[ "$(jq -r '.metrics[] | select(.name=="empty_seconds") | .histogram.p50' "$D/list.json")" = null ] ||
  fail "empty histogram p50 is not null"
[ "$(jq '.metrics[0].histogram.buckets[-1].count == .metrics[0].histogram.count' "$D/get.json")" = true ] ||
  fail "+Inf bucket != count"
[ "$(jq '[.metrics[] | select(.rate != null)] | length' < "$(tail -n1 "$D/watch.json" > "$D/w2" && echo "$D/w2")")" -ge 1 ] ||
  fail "watch's second block has no rate"
[ "$(jq '.metrics[0].value' "$D/reset.json")" = 2 ] || fail "reset JSON"
[ "$(jq '.removed' "$D/remove-force.json")" = false ] || fail "remove --force JSON"

# docs/statsctl.md one-liner: alert when an error counter grew between two snapshots.
S2=$(seg alert)
"$STATSCTL" --segment "$S2" create >/dev/null
"$STATSCTL" --segment "$S2" inc backup_errors_total
"$STATSCTL" --segment "$S2" list --json > "$D/before.json"
"$STATSCTL" --segment "$S2" inc backup_errors_total 2
grew=$("$STATSCTL" --segment "$S2" list --json | jq --slurpfile old "$D/before.json" \
  '[.metrics[] | select(.name | endswith("errors_total")) | . as $m
    | ($old[0].metrics[] | select(.name == $m.name and .labels == $m.labels) | .value) as $was
    | select(.value > $was) | {name, grew_by: (.value - $was)}]')
[ "$(echo "$grew" | jq -c '.')" = '[{"name":"backup_errors_total","grew_by":2}]' ] ||
  fail "alert one-liner: $grew"
echo PASS
