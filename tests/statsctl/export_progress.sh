#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `statsctl history export` shows its progress on stderr when stderr is a terminal
# (a pseudo-terminal made by script(1)), one line redrawn in place and erased at the
# end, and prints nothing on stderr when it is not. The export's stdout is a pipe
# whose reader waits 1 s before reading, so the export is held for longer than the
# 200 ms after which progress is first shown.
# usage: export_progress.sh STATSCTL DASHBOARD_SEED
STATSCTL=$1 SEED=$2
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || fail "script (util-linux) is not installed"
D=$(mktemp -d "/tmp/$PREFIX.XXXXXX")
trap 'cleanup; rm -rf "$D"' EXIT
"$SEED" "$D/history.db" 2000 || fail "seeding the history"
export_cmd="'$STATSCTL' history export --db '$D/history.db' --from -3d --format csv"

# stderr a terminal: progress, then erased.
script -qec "$export_cmd | (sleep 1; cat > '$D/tty.csv')" "$D/tty.log" </dev/null >/dev/null ||
  fail "export under script failed: $(cat "$D/tty.log")"
rows=$(wc -l < "$D/tty.csv")
[ "$rows" -gt 5000 ] || fail "only $rows rows exported"
grep -aEq "statsctl: exporting: [0-9]+ lines, [0-9.]+ [kMG]?B" "$D/tty.log" ||
  fail "no progress line on the terminal: $(cat -v "$D/tty.log")"
# The last progress line is followed by the sequence that erases it.
last=$(grep -ao "statsctl: exporting: [^$(printf '\r')]*$(printf '\r')[^s]*" "$D/tty.log" | tail -1)
[ "$(printf '%s' "$last" | tail -c 4 | od -An -c | tr -d ' ')" = '\r033[K' ] ||
  fail "the progress line was not erased at the end: $(cat -v "$D/tty.log")"

# stderr not a terminal: not a byte on it, and the same rows.
sh -c "$export_cmd 2>'$D/err'" | (sleep 1; cat > "$D/plain.csv") || fail "export failed"
[ ! -s "$D/err" ] || fail "stderr is not a terminal, yet: $(cat -v "$D/err")"
cmp -s "$D/tty.csv" "$D/plain.csv" || fail "the exports differ with and without a terminal"
echo "PASS: progress on a terminal ($rows rows), nothing otherwise"
