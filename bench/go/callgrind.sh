#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Instructions per recording call, counted by callgrind over a fixed loop of each
# benchmark variant of bench_test.go (only the variant's loop and its callees:
# --toggle-collect). Unlike time, these counts do not depend on what else the
# machine is doing. Go's preemption signals crash callgrind, hence
# GODEBUG=asyncpreemptoff=1 (the loop's code is the same).
#   bench/go/callgrind.sh BUILD_DIR [ITERATIONS]   (default 1000000)
set -eu
build=$(cd "$1" && pwd)
n=${2:-1000000}
. "$(dirname "$0")/env.sh"
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${GO:-go}" test -c -o "$tmp/bench.bin" "$pkg"
printf '%-28s %-22s %10s\n' benchmark variant "instr/op"
for bench in CounterIncChild HistogramObserve; do
  for variant in shmstats shmstats_exponential client_golang floor; do
    [ "$bench/$variant" = CounterIncChild/shmstats_exponential ] && continue
    # -benchtime Nx runs the loop once with 1, then with N iterations.
    GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$tmp/out" \
      --toggle-collect="*Benchmark$bench.func*" "$tmp/bench.bin" -test.run='^$' \
      -test.bench="^Benchmark$bench\$/^$variant\$" -test.benchtime="${n}x" -rounds=1 \
      >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/log" |
      awk -v b="$bench" -v v="$variant" -v n="$n" '{ printf "%-28s %-22s %10.2f\n", b, v, $1 / (n + 1) }'
  done
done
