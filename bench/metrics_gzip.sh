#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# What gzip costs a scrape of /metrics at N series (bench/populate's counters): the
# body's bytes with and without Accept-Encoding: gzip, and shmstatsd's CPU time
# (utime + stime from /proc) per scrape, ROUNDS rounds of 10 scrapes each way,
# alternating, so a loaded machine's noise shows as spread.
# usage: bench/metrics_gzip.sh [BUILD_DIR [N [ROUNDS]]]   (defaults: build 100000 3)
set -eu
build=${1:-build}
n=${2:-100000}
rounds=${3:-3}
seg=metrics-gzip-$$
dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  "$build/tools/statsctl" --segment "$seg" remove 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
"$build/tools/statsctl" --segment "$seg" create --max-metrics "$n" --max-slots $((8 * n + 64)) >/dev/null
"$build/bench/populate" "$seg" "$n"
# A long interval: no tick runs beside the scrapes being measured.
"$build/daemon/shmstatsd" --segment "$seg" --state-dir "$dir" --interval 1h --stats-json none \
  --listen 127.0.0.1:0 --port-file "$dir/ports" 2>"$dir/log" &
pid=$!
i=0
until [ -s "$dir/ports" ]; do
  i=$((i + 1))
  [ $i -lt 300 ] || { cat "$dir/log"; exit 1; }
  sleep 0.1 # the port file appears once it listens
done
url="http://127.0.0.1:$(awk '$1 == "http" { print $2 }' "$dir/ports")/metrics"
cpu_ms() { awk '{ print ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"' }' "/proc/$pid/stat"; }
echo "bytes plain: $(curl -s "$url" | wc -c)  gzip: $(curl -s -H 'Accept-Encoding: gzip' "$url" | wc -c)"
r=0
while [ $r -lt "$rounds" ]; do
  for enc in identity gzip; do
    a=$(cpu_ms)
    for _ in 1 2 3 4 5 6 7 8 9 10; do curl -s -o /dev/null -H "Accept-Encoding: $enc" "$url"; done
    b=$(cpu_ms)
    echo "$enc: $(((${b%.*} - ${a%.*}) / 10)) ms of shmstatsd CPU per scrape"
  done
  r=$((r + 1))
done
