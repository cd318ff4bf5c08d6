#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `statsctl watch` on a real terminal (tmux): a full-screen view redrawn in place
# (one title line on the screen, not one per refresh), sorted by rate with the
# fastest series first, long series clipped to the window with "…", keys s (sort
# by name) and q (quit, the terminal restored); segment trouble (truncated, removed,
# re-attached) in a status line on the bottom row, never over the view; waiting for a
# segment counted in seconds, on stderr when stdout is not a terminal.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || fail "tmux is not installed (scripts/setup.sh installs it)"
S=$(seg wt)
T="$PREFIX"  # tmux server socket name
INC=""
STOP="/tmp/$PREFIX.stop"
stop_inc() { [ -z "$INC" ] || { touch "$STOP"; wait "$INC" 2>/dev/null; rm -f "$STOP"; }; }
trap 'stop_inc; tmux -L "$T" kill-server 2>/dev/null; cleanup' EXIT
sc() { "$STATSCTL" --segment "$S" "$@"; }
sc create >/dev/null || fail "create"
sc inc a_slow_total 1
sc inc z_fast_total 1
sc set "b_gauge{long=\"$(printf 'x%.0s' $(seq 1 150))\"}" 3
tmux -L "$T" new-session -d -s main -x 100 -y 20 \
  "LANG=C.UTF-8 '$STATSCTL' --segment '$S' watch --interval 0.2; echo watch-ended; sleep 30"
# z_fast grows 100 times faster than a_slow during the test (bounded: 400 rounds),
# until the file $STOP exists (then no statsctl runs after the segment is removed).
(for _ in $(seq 1 400); do
  [ -e "$STOP" ] && break
  sc inc z_fast_total 100; sc inc a_slow_total 1; sleep 0.05
done) &
INC=$!
TARGET=main
screen() { tmux -L "$T" capture-pane -p -t "$TARGET"; }
rows() { if [ -n "${1:-}" ]; then screen | sed -n "${1}p"; else screen; fi; }
wait_screen() {  # wait_screen REGEX [ROW]: up to 10 s, on the whole screen or row ROW
  n=0
  until rows "${2:-}" | grep -Eq -- "$1"; do
    n=$((n + 1)); [ $n -lt 100 ] || fail "timed out waiting for /$1/ on the screen: $(screen)"
    sleep 0.1
  done
}
wait_screen '^SERIES +TYPE +VALUE +P50 +P99 +RATE/S$'
wait_screen '^z_fast_total +counter +[0-9]+ +[0-9.]+$'
# Sorted by rate: z_fast_total above a_slow_total, both above the gauge (no rate).
order=$(screen | grep -oE '^(a_slow_total|z_fast_total|b_gauge)' | tr '\n' ' ')
[ "$order" = "z_fast_total a_slow_total b_gauge " ] || fail "not sorted by rate: $order; $(screen)"
[ "$(screen | grep -c '^--- segment ')" = 1 ] || fail "not redrawn in place: $(screen)"
screen | grep -q '^b_gauge{long="xxx.*…  gauge' || fail "long series not clipped with …: $(screen)"
# No line wider than the window; TYPE starts in the same cell on every row.
screen | /usr/bin/python3 -c '
import sys
lines = sys.stdin.read().splitlines()
if any(len(l) > 100 for l in lines): sys.exit("a line is wider than the window")
cols = {l.index("  " + l.split()[1]) for l in lines if l.split()[1:2] and l.split()[1] in ("TYPE", "counter", "gauge")}
if len(cols) != 1: sys.exit("TYPE column moves: %s" % cols)' || fail "layout: $(screen)"
tmux -L "$T" send-keys s
wait_screen ' by name '
order=$(screen | grep -oE '^(a_slow_total|z_fast_total|b_gauge)' | tr '\n' ' ')
[ "$order" = "a_slow_total b_gauge z_fast_total " ] || fail "s did not sort by name: $order"
# Segment trouble goes to the status line, the bottom row (20), never over the
# table: the view stays in place above it, and the status counts the seconds.
stop_inc
INC=""
view_intact() {  # the title, the header and the rows still where they were; one status line
  screen | sed -n 1p | grep -q '^--- segment ' || fail "$1: title overwritten: $(screen)"
  screen | sed -n 2p | grep -Eq '^SERIES +TYPE' || fail "$1: header overwritten: $(screen)"
  [ "$(screen | grep -c 'statsctl:')" = 1 ] || fail "$1: messages over the view: $(screen)"
}
truncate -s 4096 "/dev/shm/$S"
wait_screen "^statsctl: segment /dev/shm/$S is corrupt: .*: [0-9]+ s \\(Ctrl-C to stop\\)$" 20
view_intact truncated
"$STATSCTL" --segment "$S" remove >/dev/null 2>&1 || rm -f "/dev/shm/$S"
# (clipped to the window's 100 columns, the count kept)
wait_screen "^statsctl: segment /dev/shm/$S does not exist; wait.*: [0-9]+ s \\(Ctrl-C to stop\\)$" 20
view_intact removed
sc create >/dev/null || fail "re-create"
sc inc back_total 4
wait_screen '^back_total +counter +4( |$)'
wait_screen "^statsctl: re-attached to segment /dev/shm/$S$" 20
view_intact re-attached
tmux -L "$T" send-keys q
wait_screen '^watch-ended$'
screen | grep -q 'SERIES' && fail "the view stayed on the screen after q (alternate screen not left)"

# Waiting for a segment that does not exist yet: the status line counts the
# seconds; it goes when the segment appears and the view is drawn.
L=$(seg later)
tmux -L "$T" new-session -d -s later -x 140 -y 20 \
  "LANG=C.UTF-8 '$STATSCTL' --segment '$L' watch --interval 0.2; sleep 30"
TARGET=later
wait_screen "^statsctl: segment /dev/shm/$L does not exist; waiting for it: [0-9]+ s \\(Ctrl-C to stop\\)$"
[ "$(screen | grep -c .)" = 1 ] || fail "more than the status line while waiting: $(screen)"
"$STATSCTL" --segment "$L" inc later_total 3 2>/dev/null  # creates it
wait_screen '^later_total +counter +3( |$)'
screen | grep -q 'waiting for' && fail "the waiting line stayed: $(screen)"
tmux -L "$T" send-keys -t later q

# Not full screen (stdout not a terminal) but stderr is: the message is a plain
# line, then a line counting the seconds, erased when the segment is there.
P=$(seg plain)
tmux -L "$T" new-session -d -s plain -x 100 -y 20 \
  "LANG=C.UTF-8 '$STATSCTL' --segment '$P' watch --json --interval 0.2 >/dev/null; sleep 30"
TARGET=plain
wait_screen "^statsctl: segment /dev/shm/$P does not exist; waiting for it$"
wait_screen "^statsctl: waiting for /dev/shm/$P: [0-9]+ s \\(Ctrl-C to stop\\)$"
"$STATSCTL" --segment "$P" inc plain_total 1 2>/dev/null
wait_screen "^statsctl: re-attached to segment /dev/shm/$P$"
screen | grep -q 'Ctrl-C' && fail "the waiting line stayed: $(screen)"
echo PASS
