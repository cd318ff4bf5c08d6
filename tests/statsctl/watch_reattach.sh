#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `statsctl watch`, not on a terminal, prints one block per interval, says when the
# segment is removed, waits, and re-attaches to the re-created segment.
. "$(dirname "$0")/lib.sh"
S=$(seg watch)
D=$(mktemp -d "/tmp/$PREFIX.XXXXXX")
trap 'cleanup; rm -rf "$D"' EXIT
sc() { "$STATSCTL" --segment "$S" "$@"; }
sc create >/dev/null || fail "create"
sc inc before_total 5

# --count bounds a run: exactly N blocks, then exit 0.
"$STATSCTL" --segment "$S" watch --interval 0.01 --count 3 > "$D/three" || fail "watch --count 3"
[ "$(grep -c '^--- segment ' "$D/three")" = 3 ] || fail "watch --count 3 printed $(cat "$D/three")"

# At most 300 blocks of 0.05 s (15 s); stopped as soon as it has re-attached.
timeout 20 "$STATSCTL" --segment "$S" watch --interval 0.05 --count 300 > "$D/out" 2> "$D/err" &
W=$!
PIDS="$W"
wait_for() {  # wait_for FILE REGEX: up to 5 s
  n=0
  until grep -Eq "$2" "$1"; do
    n=$((n + 1)); [ $n -lt 100 ] || fail "timed out waiting for /$2/ in $1: $(cat "$1")"
    sleep 0.05
  done
}
wait_for "$D/out" '^before_total +counter +5 '
sc inc before_total 10
wait_for "$D/out" '^before_total +counter +15 +[0-9.]+$'
sc remove || fail "remove"
wait_for "$D/err" 'removed or re-created; waiting'
sc create >/dev/null || fail "re-create"
sc inc after_total 7
wait_for "$D/err" 're-attached to segment'
wait_for "$D/out" '^after_total +counter +7 '
kill -0 "$W" 2>/dev/null || fail "watch exited early: $(cat "$D/err")"
kill "$W"
wait "$W" 2>/dev/null
PIDS=""
grep -q "$(printf '\033')" "$D/out" && fail "escape sequences when stdout is not a terminal"
grep -Eq "Ctrl-C|$(printf '\033')" "$D/err" && fail "progress or escapes on stderr, which is not a terminal: $(cat "$D/err")"
grep -Eq '^before_total +counter +15 +[1-9][0-9.]*$' "$D/out" || fail "no rate after an increment"
echo PASS
