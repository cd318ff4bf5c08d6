#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The script one-liners of docs/statsctl.md, run exactly as written there (and the man page has
# the same text): the cron alert on its first run (no last.json), with a new series
# and with the segment missing; the health check on a present, a missing series and
# a missing segment. And `get --json` always prints a document.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
S=$(seg ol)
D=$(mktemp -d "/tmp/$PREFIX.XXXXXX")
trap 'cleanup; rm -rf "$D"' EXIT
PATH="$(dirname "$STATSCTL"):$PATH"
export SHMSTATS_SEGMENT="$S" PATH
cd "$D" || fail "cd"

# The lines of docs/statsctl.md's sh block from the one starting with $1 to the one
# matching $2 (both included), comments dropped.
readme_block() { sed -n "/^$1/,/$2/p" "$ROOT/docs/statsctl.md" | grep -v '^#'; }
alert=$(readme_block '# Alert (from cron)' '^mv now.json last.json$')
health=$(readme_block '# Fail a health check' '>\/dev\/null$')
[ "$(echo "$alert" | wc -l)" -ge 4 ] || fail "alert one-liner not found in docs/statsctl.md: $alert"
[ -n "$health" ] || fail "health check not found in docs/statsctl.md"
# The man page shows the same text (groff escapes undone).
man_text=$(sed 's/\\-/-/g; s/\\(aq/'"'"'/g; s/\\e/\\/g' "$ROOT/man/statsctl.1")
for block in "$alert" "$health"; do
  echo "$man_text" | grep -qF -- "$(echo "$block" | head -n1)" || fail "man page lacks: $block"
  echo "$block" | while IFS= read -r line; do
    echo "$man_text" | grep -qxF -- "$line" || fail "man page lacks the line: $line"
  done || exit 1
done

run_alert() { sh -c "$alert" 2>/dev/null; }

statsctl create >/dev/null || fail "create"
statsctl inc disk_errors_total 2
# First run: no last.json; an existing counter is new, counted from 0.
[ ! -e last.json ] || fail "last.json exists before the first run"
[ "$(run_alert)" = 'disk_errors_total{} grew by 2' ] || fail "first run printed '$(run_alert)'"
[ -z "$(run_alert)" ] || fail "second run without change printed something"
statsctl inc disk_errors_total 3
statsctl inc 'net_errors_total{if="eth0"}'
out=$(run_alert)
[ "$out" = "$(printf '%s\n' 'disk_errors_total{} grew by 3' 'net_errors_total{"if":"eth0"} grew by 1')" ] ||
  fail "growth and a new series: '$out'"
# A reset counter that grew again, by less than before: the growth since the reset.
statsctl reset disk_errors_total >/dev/null
statsctl inc disk_errors_total
[ "$(run_alert)" = 'disk_errors_total{} grew by 1' ] || fail "after a reset: '$(run_alert)'"
[ -z "$(run_alert)" ] || fail "run after the reset without change printed something"
# The segment gone: nothing to report and no error; then it comes back from zero.
statsctl remove
[ -z "$(run_alert)" ] || fail "alert with the segment missing printed something"
[ "$(jq -c .metrics last.json)" = "[]" ] || fail "last.json after a missing segment: $(cat last.json)"
statsctl create >/dev/null
statsctl inc disk_errors_total
[ "$(run_alert)" = 'disk_errors_total{} grew by 1' ] || fail "after re-creation: '$(run_alert)'"

# The health check: healthy only when the series exists and is below the limit.
run_health() { sh -c "$health" 2>/dev/null; echo $?; }
statsctl inc 'backup_errors_total{job="db"}' 2
[ "$(run_health)" = 0 ] || fail "health check of 2 < 3 failed"
statsctl inc 'backup_errors_total{job="db"}'
[ "$(run_health)" = 1 ] || fail "health check of 3 passed"
statsctl remove
[ "$(run_health)" = 1 ] || fail "health check with the segment missing passed"
statsctl create >/dev/null
statsctl inc 'backup_errors_total{job="web"}'
[ "$(run_health)" = 1 ] || fail "health check with the series missing passed"

# get: a document in every case, and the status says why it is empty.
doc=$(statsctl get 'nothing_here' --json 2>/dev/null); rc=$?
[ "$rc" = 1 ] || fail "get of nothing exited $rc"
[ "$(echo "$doc" | jq -c '[.version, .metrics]')" = '[1,[]]' ] || fail "get of nothing printed: $doc"
doc=$(statsctl --segment "$PREFIX-missing" get x --json 2>/dev/null); rc=$?
[ "$rc" = 3 ] || fail "get on a missing segment exited $rc"
[ "$(echo "$doc" | jq -c .metrics)" = '[]' ] || fail "get on a missing segment printed: $doc"
expect 3 "does not exist" statsctl --segment "$PREFIX-missing" get x --json
echo PASS
