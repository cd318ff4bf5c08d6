#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Instructions and simulated branch mispredictions per recording operation,
# counted by callgrind over a fixed loop of recording_loop. Unlike wall time, these
# counts do not depend on what else the machine is doing.
# usage: bench/callgrind.sh [BUILD_DIR [ITERATIONS]]   (defaults: build 1000000)
# Needs valgrind. Only the Loop* functions are counted (--toggle-collect), callees
# included; the loop itself adds 3 instructions per iteration (add, cmp, jne).
set -euo pipefail
build=${1:-build}
n=${2:-1000000}
loop="$build/bench/recording_loop"
[[ -x "$loop" ]] || { echo "callgrind.sh: $loop not built" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 2; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
printf '%-16s %12s %14s\n' operation "instr/op" "mispredict/op"
for op in floor per_cpu_floor counter striped_counter gauge_set gauge_add explicit exponential \
  striped_exponential timer steady_timer \
  prom_counter prom_gauge_set prom_gauge_add prom_explicit prom_exponential; do
  valgrind --tool=callgrind --branch-sim=yes --callgrind-out-file="$out" \
    --toggle-collect='*Loop*' "$loop" "$op" "$n" >/dev/null 2>&1
  # PROGRAM TOTALS columns: Ir Bc Bcm Bi Bim (each followed by a percentage).
  callgrind_annotate "$out" | awk -v op="$op" -v n="$n" '
    /PROGRAM TOTALS/ {
      gsub(",", "");
      printf "%-16s %12.2f %14.3f\n", op, $1 / n, ($5 == "." ? 0 : $5) / n
    }'
done
