#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# statsctl's start-up, whole process, in one hyperfine -N run beside its floors:
#   /bin/true                       exec and exit: the floor of any program
#   map_floor SEG                   exec, open and map the segment, read a word
#   statsctl --version              statsctl's own start (dynamic loading, static init)
#   statsctl inc SEG counter        what a shell loop pays per recorded event
# Prints hyperfine's table, then each mean with its standard deviation and its ratio
# to /bin/true and to map_floor, measured in the same run, and the CPU time (user +
# system) per run with its ratio to /bin/true's: on a loaded machine the wall time of
# a process that needs a few ms of CPU is mostly waiting for a CPU, the CPU time is not. And the libraries
# statsctl loads (libpq must not be among them: it is loaded only for a PostgreSQL
# history).
# usage: bench/startup.sh [BUILD_DIR [RUNS]]  (defaults: build 500)
set -euo pipefail
build=${1:-build}
runs=${2:-500}
for tool in hyperfine python3 ldd; do
  command -v "$tool" >/dev/null || { echo "startup.sh: $tool is not installed" >&2; exit 2; }
done
statsctl="$build/tools/statsctl"
floor="$build/bench/map_floor"
for p in "$statsctl" "$floor"; do
  [[ -x "$p" ]] || { echo "startup.sh: $p is not built" >&2; exit 2; }
done
seg="startup-$$"
work=$(mktemp -d)
cleanup() { "$statsctl" --segment "$seg" remove >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
"$statsctl" --segment "$seg" create >/dev/null
"$statsctl" --segment "$seg" inc startup_events_total >/dev/null  # registered: runs only record

echo "statsctl loads $(ldd "$statsctl" | wc -l) libraries, $(ldd "$statsctl" | grep -c libpq || true) of them libpq"
hyperfine -N --warmup 50 --runs "$runs" --export-json "$work/h.json" \
  -n true /bin/true \
  -n map_floor "$floor $seg" \
  -n version "$statsctl --version" \
  -n inc "$statsctl --segment $seg inc startup_events_total"
python3 - "$work/h.json" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
t, f = res["true"]["mean"], res["map_floor"]["mean"]
print(f"{'command':<22}{'mean ms':>9}{'sd ms':>8}{'median':>8}{'x true':>8}{'x floor':>9}"
      f"{'cpu ms':>8}{'x true':>8}")
tc = res["true"]["user"] + res["true"]["system"]
for name, label in [("true", "/bin/true"), ("map_floor", "map_floor"),
                    ("version", "statsctl --version"), ("inc", "statsctl inc")]:
    r = res[name]
    print(f"{label:<22}{r['mean']*1e3:9.3f}{r['stddev']*1e3:8.3f}{r['median']*1e3:8.3f}"
          f"{r['mean']/t:8.2f}{r['mean']/f:9.2f}{(r['user'] + r['system'])*1e3:8.3f}"
          f"{(r['user'] + r['system'])/tc:8.2f}")
# The target: under 3 ms, and at most 2x /bin/true plus the time to map the segment
# (map_floor - true), i.e. at most true + map_floor; judged on the median wall time
# (the mean carries the waits of a loaded machine) and on the CPU time.
cpu = lambda n: res[n]["user"] + res[n]["system"]
for name, label in [("version", "statsctl --version"), ("inc", "statsctl inc")]:
    wall = res[name]["median"] / (res["true"]["median"] + res["map_floor"]["median"])
    cpus = cpu(name) / (cpu("true") + cpu("map_floor"))
    ok = res[name]["median"] < 3e-3 and wall <= 1 and cpus <= 1
    print(f"target {label}: median {res[name]['median']*1e3:.3f} ms (< 3 ms), "
          f"{wall:.2f}x and CPU {cpus:.2f}x of true + map_floor (<= 1): "
          f"{'met' if ok else 'MISSED'}")
PY
