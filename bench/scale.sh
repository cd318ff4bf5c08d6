#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Whole-process costs at 10,000 and 100,000 series: for each
# size, a segment created with room for exactly N counters (statsctl create
# --max-metrics N --max-slots 8N+64: the smallest segment that holds them, so the
# memory ratio below is the strictest) filled with N two-label counters
# (bench/populate), then
#   statsctl list --json and statsctl export     hyperfine, whole process (wall, and
#                                                user + system CPU)
#   shmstatsd tick                               mean of shmstatsd_tick_duration_seconds
#                                                over the ticks after the first two (1 s
#                                                interval), and the daemon's CPU time over
#                                                TICKS whole ticks (ticks are counted on
#                                                /healthz: no /metrics render beside them)
#   GET /metrics                                 hyperfine over curl
#   shmstatsd's resident memory                  VmRSS and VmHWM after the ticks
#   the segment's resident size and its size     st_blocks x 512 and st_size of /dev/shm/<name>
# and the 100k/10k ratio of each (target: at most 12x). In-process figures for the
# tick, stats.json and the /metrics render are in shmstatsd_bench.
# usage: bench/scale.sh [BUILD_DIR [TICKS [SMALL BIG]]]  (defaults: build 5 10000 100000)
set -euo pipefail
build=${1:-build}
ticks=${2:-5}
small=${3:-10000}
big=${4:-100000}
for tool in hyperfine curl python3; do
  command -v "$tool" >/dev/null || { echo "scale.sh: $tool is not installed" >&2; exit 2; }
done
for p in bench/populate tools/statsctl daemon/shmstatsd; do
  [[ -x "$build/$p" ]] || { echo "scale.sh: $build/$p is not built" >&2; exit 2; }
done
statsctl="$build/tools/statsctl"
work=$(mktemp -d)
pid=""
seg=""
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [[ -n "$seg" ]] && "$statsctl" --segment "$seg" remove >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# The HTTP port shmstatsd got (--listen 127.0.0.1:0), once its --port-file is written.
await_port() {  # PORT_FILE: at most 30 s
  for _ in $(seq 300); do
    [[ -s $1 ]] && { awk '$1 == "http" { print $2 }' "$1"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1  # polls the file
  done
  echo "scale.sh: shmstatsd wrote no $1" >&2
  exit 1
}
mean_ms() { python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["mean"]*1e3))' "$1"; }
# The process's CPU (user + system, hyperfine's means): what load does not inflate.
cpu_ms() { python3 -c 'import json,sys; r = json.load(open(sys.argv[1]))["results"][0]; print("%.1f" % ((r["user"] + r["system"]) * 1e3))' "$1"; }
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

declare -A r
for n in "$small" "$big"; do
  seg="scale-$n-$$"
  "$statsctl" --segment "$seg" create --max-metrics "$n" --max-slots $((8 * n + 64)) >/dev/null
  "$build/bench/populate" "$seg" "$n"
  hyperfine -N --warmup 1 --runs 5 --export-json "$work/list.json" \
    "$statsctl --segment $seg list --json" >/dev/null
  hyperfine -N --warmup 1 --runs 5 --export-json "$work/export.json" \
    "$statsctl --segment $seg export" >/dev/null
  r[list,$n]=$(mean_ms "$work/list.json")
  r[export,$n]=$(mean_ms "$work/export.json")
  r[listcpu,$n]=$(cpu_ms "$work/list.json")
  r[exportcpu,$n]=$(cpu_ms "$work/export.json")

  mkdir -p "$work/state-$n"
  "$build/daemon/shmstatsd" --segment "$seg" --interval 1s --state-dir "$work/state-$n" \
    --listen 127.0.0.1:0 --port-file "$work/state-$n/ports" >"$work/daemon-$n.log" 2>&1 &
  pid=$!
  port=$(await_port "$work/state-$n/ports") && [[ -n $port ]] || exit 1
  # The first tick creates the database: the mean is over the `ticks` after it.
  # Ticks are counted on /healthz (last_tick_unix_ms), which costs the daemon
  # nothing: polling /metrics would render every series ten times a second beside
  # the tick being measured. /metrics is read once before and once after.
  last_tick() { curl -s "http://127.0.0.1:$port/healthz" | python3 -c \
    'import json,sys; print(json.load(sys.stdin).get("last_tick_unix_ms", 0))' 2>/dev/null || echo 0; }
  wait_ticks() {  # N: until N more ticks completed, at most 120 s
    local seen=0 last now
    last=$(last_tick)
    for _ in $(seq 1200); do
      now=$(last_tick)
      if [[ $now != "$last" && $now != 0 ]]; then seen=$((seen + 1)); last=$now; fi
      ((seen >= $1)) && return 0
      sleep 0.1
    done
    echo "scale.sh: shmstatsd did not tick $1 times:" >&2
    cat "$work/daemon-$n.log" >&2
    exit 1
  }
  cpu_s() { awk '{ print ($14 + $15) / 100 }' "/proc/$pid/stat"; }  # utime + stime
  wait_ticks 2
  sum0=$(metric shmstatsd_tick_duration_seconds_sum)
  count0=$(metric shmstatsd_tick_duration_seconds_count)
  # CPU over whole ticks only: from just after one to just after the last (a scrape
  # of /metrics at 100k costs about a third of a tick and stays outside).
  wait_ticks 1
  cpu0=$(cpu_s)
  wait_ticks "$ticks"
  cpu=$(cpu_s)
  sum=$(metric shmstatsd_tick_duration_seconds_sum)
  count=$(metric shmstatsd_tick_duration_seconds_count)
  r[tickcpu,$n]=$(python3 -c "print('%.1f' % (($cpu - $cpu0) / $ticks * 1e3))")
  r[tick,$n]=$(python3 -c "print('%.1f' % (($sum - $sum0) / ($count - $count0) * 1e3))")
  hyperfine -N --warmup 1 --runs 5 --export-json "$work/metrics.json" \
    "curl -s -o /dev/null http://127.0.0.1:$port/metrics" >/dev/null
  r[metrics,$n]=$(mean_ms "$work/metrics.json")
  r[rss,$n]=$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
  r[hwm,$n]=$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
  r[seg,$n]=$(python3 -c "import os,sys; print('%.2f' % (os.stat(sys.argv[1]).st_blocks * 512 / 2**20))" "/dev/shm/$seg")
  r[segsize,$n]=$(python3 -c "import os,sys; print('%.2f' % (os.stat(sys.argv[1]).st_size / 2**20))" "/dev/shm/$seg")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  "$statsctl" --segment "$seg" remove >/dev/null; seg=""
done

row() {  # what unit key
  printf '%-34s %12s %12s %8s\n' "$1" "${r[$3,$small]} $2" "${r[$3,$big]} $2" \
    "$(python3 -c "a, b = ${r[$3,$big]}, ${r[$3,$small]}; print('%.2fx' % (a / b) if b else '-')")"
}
printf '%-34s %12s %12s %8s\n' "series" "$small" "$big" "ratio"
row "statsctl list --json" ms list
row "statsctl list --json (CPU)" ms listcpu
row "statsctl export" ms export
row "statsctl export (CPU)" ms exportcpu
row "shmstatsd tick (mean, wall)" ms tick
row "shmstatsd CPU per tick" ms tickcpu
row "GET /metrics (curl)" ms metrics
row "shmstatsd VmRSS" MiB rss
row "shmstatsd VmHWM (peak)" MiB hwm
row "segment resident" MiB seg
row "segment size" MiB segsize
echo "targets: each cost at $big series at most 12x its $small figure; shmstatsd's peak" \
  "resident memory at most 2x the segment's size:" \
  "$(python3 -c "print('%.2fx' % (${r[hwm,$big]} / ${r[segsize,$big]}))") of its size," \
  "$(python3 -c "print('%.2fx' % (${r[hwm,$big]} / ${r[seg,$big]}))") of its resident pages at $big"
