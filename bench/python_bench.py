#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Python recording cost: Counter.inc, Gauge.set/inc/dec and Histogram.observe on a
labelled child, through shmstats (the C extension) beside prometheus_client
single-process and in its multiprocess mode (PROMETHEUS_MULTIPROC_DIR), and the floor:
an empty Python method called the same way, all in one run. Each variant runs in its
own interpreter (prometheus_client picks its mode at import). Prints ns per call (best
of 20 slices) and the ratios shmstats / floor and shmstats / prometheus_client; never
asserts.

usage: PYTHONPATH=build/python /usr/bin/python3 bench/python_bench.py [CALLS]
"""
import os
import subprocess
import sys
import tempfile

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
OPS = ["Counter.inc", "Gauge.set", "Gauge.inc", "Gauge.dec", "Histogram.observe"]

CODE = r"""
import sys, time
n = {n}
variant = {variant!r}
if variant == "floor":
    class Empty:
        def m(self, amount=1):
            pass
    e = Empty()
    calls = [(e.m, 1), (e.m, 2.5), (e.m, 1), (e.m, 1), (e.m, 0.3)]
else:
    if variant == "shmstats":
        from shmstats import Counter, Gauge, Histogram
    else:
        from prometheus_client import Counter, Gauge, Histogram
    c = Counter("bench_py", "x", ["k"]).labels("a")
    g = Gauge("bench_py_gauge", "x", ["k"]).labels("a")
    h = Histogram("bench_py_seconds", "x", ["k"]).labels("a")
    calls = [(c.inc, 1), (g.set, 2.5), (g.inc, 1), (g.dec, 1), (h.observe, 0.3)]
def best(f, arg, slices=20):
    out = []
    for _ in range(slices):
        t = time.perf_counter()
        for _ in range(n // slices):
            f(arg)
        out.append((time.perf_counter() - t) / (n // slices) * 1e9)
    return min(out)
best(*calls[0])  # warm up
print(" ".join(str(best(f, arg)) for f, arg in calls))
"""


def run(variant, env_extra):
    env = dict(os.environ, **env_extra)
    code = CODE.format(n=N, variant=variant)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{variant}: {out.stderr}")
    return [float(x) for x in out.stdout.split()]


def main():
    segment = f"python-bench-{os.getpid()}"
    with tempfile.TemporaryDirectory() as mp_dir:
        rows = {
            "floor: empty Python method": run("floor", {}),
            "shmstats": run("shmstats", {"SHMSTATS_SEGMENT": segment}),
            "prometheus_client": run("prometheus_client", {}),
            "prometheus_client multiprocess": run("prometheus_client",
                                                  {"PROMETHEUS_MULTIPROC_DIR": mp_dir}),
        }
    subprocess.run(["rm", "-f", f"/dev/shm/{segment}"], check=False)
    print(f"python_bench: {N} calls per operation and variant, best of 20 slices, ns per call "
          f"({sys.executable} {sys.version.split()[0]})")
    print(f"{'variant':44}" + "".join(f"{op:>19}" for op in OPS))
    for name, row in rows.items():
        print(f"{name:44}" + "".join(f"{v:19.1f}" for v in row))
    ours, floor = rows["shmstats"], rows["floor: empty Python method"]
    print(f"{'shmstats / floor (<= 2.5)':44}" +
          "".join(f"{o / f:18.2f}x" for o, f in zip(ours, floor)))
    for name in ("prometheus_client", "prometheus_client multiprocess"):
        print(f"{'shmstats / ' + name:44}" +
              "".join(f"{o / p:18.2f}x" for o, p in zip(ours, rows[name])))


if __name__ == "__main__":
    main()
