#!/bin/sh
# `statsctl watch` on a real terminal (tmux): a full-screen view redrawn in place
# (one title line on the screen, not one per refresh), sorted by rate with the
# fastest series first, long series clipped to the window with "…", keys s (sort
# by name) and q (quit, the terminal restored).
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
wait_screen() {  # wait_screen REGEX: up to 10 s
  n=0
  until screen | grep -Eq -- "$1"; do
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
tmux -L "$T" send-keys q
wait_screen '^watch-ended$'
screen | grep -q 'SERIES' && fail "the view stayed on the screen after q (alternate screen not left)"

# Waiting for a segment that does not exist yet: a line on stderr counts the
# seconds; it goes when the segment appears and the view is drawn.
L=$(seg later)
tmux -L "$T" new-session -d -s later -x 100 -y 20 \
  "LANG=C.UTF-8 '$STATSCTL' --segment '$L' watch --interval 0.2; sleep 30"
TARGET=later
wait_screen "^statsctl: waiting for /dev/shm/$L: [0-9]+ s \\(Ctrl-C to stop\\)$"
"$STATSCTL" --segment "$L" inc later_total 3 2>/dev/null  # creates it
wait_screen '^later_total +counter +3( |$)'
screen | grep -q 'waiting for' && fail "the waiting line stayed: $(screen)"
tmux -L "$T" send-keys -t later q
echo PASS
