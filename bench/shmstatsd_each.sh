#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shmstatsd_bench with every benchmark at every size in a fresh process
# (--benchmark_filter='^NAME/N(/|$)'), RUNS times, interleaved round by round.
# One process for all of them measures the order, not the operation: in a fresh
# process glibc's malloc gives a render's buffers back to the kernel after each
# iteration (large blocks are unmapped, the heap's top is trimmed), so every
# iteration faults them in again (~1,570 minor faults per 10k render, the
# counter "faults"); after a 100k benchmark its raised dynamic mmap and trim
# thresholds keep them in the heap (0 faults) and the same render costs about half
# the CPU. The daemon trims after every render, so the fresh process is its case.
# Prints per benchmark the median and range of CPU and real time over the runs,
# its median CPU over BM_ReadFloor's at the same size (the floor: Segment::Read),
# its minor page faults per iteration, the growth from the first size to the last
# (of the medians, and run by run), and BM_Tick's bytes per sample.
# usage: bench/shmstatsd_each.sh [BUILD_DIR [RUNS [SIZES...]]]  (build 3 10000 100000)
set -euo pipefail
build=${1:-build}
runs=${2:-3}
shift $(($# < 2 ? $# : 2))
sizes=("$@")
((${#sizes[@]})) || sizes=(10000 100000)
bin="$build/bench/shmstatsd_bench"
[[ -x $bin ]] || { echo "shmstatsd_each.sh: $bin is not built" >&2; exit 2; }
command -v python3 >/dev/null || { echo "shmstatsd_each.sh: python3 is not installed" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for ((run = 1; run <= runs; run++)); do
  for name in BM_ReadFloor BM_Tick BM_StatsJson BM_ScrapeRender; do
    for n in "${sizes[@]}"; do
      "$bin" --benchmark_filter="^$name/$n(/|\$)" --benchmark_out="$out/$name-$n-$run.json" \
        --benchmark_out_format=json >/dev/null
    done
  done
done

python3 - "$out" "$runs" "${sizes[@]}" <<'EOF'
import glob, json, statistics, sys
out, runs, sizes = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
cpu, real = {}, {}
faults, per_run, bps = {}, {}, []
for path in sorted(glob.glob(out + "/*.json")):
    run = path.rsplit("-", 1)[1].split(".")[0]
    text = open(path).read()
    if not text.strip():  # no benchmark of that name and size
        continue
    for b in json.loads(text)["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        k = "/".join(b["name"].split("/")[:2])  # BM_Tick/10000/min_time:3.000 -> BM_Tick/10000
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
        cpu.setdefault(k, []).append(b["cpu_time"] * scale)
        real.setdefault(k, []).append(b["real_time"] * scale)
        faults.setdefault(k, []).append(b.get("faults", float("nan")))
        per_run[(k, run)] = b["cpu_time"] * scale
        if "bytes_per_sample" in b and k.endswith("/" + sizes[0]):
            bps.append(b["bytes_per_sample"])
med = {k: statistics.median(v) for k, v in cpu.items()}
print("%-24s %5s %22s %22s %9s %8s" % ("benchmark", "runs", "CPU ms median [range]",
                                       "real ms median [range]", "x floor", "faults"))
for name in ["BM_ReadFloor", "BM_Tick", "BM_StatsJson", "BM_ScrapeRender"]:
    for n in sizes:
        k = "%s/%s" % (name, n)
        if k not in cpu:
            print("%-24s missing" % k)
            continue
        c, r = cpu[k], real[k]
        floor = med.get("BM_ReadFloor/%s" % n)
        print("%-24s %5d %8.2f [%.2f-%.2f] %8.2f [%.2f-%.2f] %8.2fx %8.0f" % (
            k, len(c), med[k], min(c), max(c), statistics.median(r), min(r), max(r),
            med[k] / floor if floor else float("nan"), statistics.median(faults[k])))
if len(sizes) >= 2:
    small, big = sizes[0], sizes[-1]
    for name in ["BM_ReadFloor", "BM_Tick", "BM_StatsJson", "BM_ScrapeRender"]:
        a, b = med.get("%s/%s" % (name, big)), med.get("%s/%s" % (name, small))
        r = [per_run[(name + "/" + big, i)] / per_run[(name + "/" + small, i)]
             for i in map(str, range(1, runs + 1))
             if (name + "/" + big, i) in per_run and (name + "/" + small, i) in per_run]
        if a and b and r:
            print("%s/%s / %s/%s (CPU): %.2fx of the medians, %.2f-%.2fx run by run" % (
                name, big, name, small, a / b, min(r), max(r)))
if bps:
    print("BM_Tick/%s bytes per Prometheus-equivalent sample: %.2f-%.2f" % (sizes[0], min(bps), max(bps)))
EOF
