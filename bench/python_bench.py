#!/usr/bin/python3
"""Python recording cost: Counter.inc() and Histogram.observe() through the
shmstats package beside prometheus_client's, single-process and in its multiprocess
mode (PROMETHEUS_MULTIPROC_DIR: one mmap file per process and type), in one run.
Each variant runs in its own interpreter (multiprocess mode is chosen at import).
Printed with ratios, never asserted.

usage: SHMSTATS_LIBRARY=build/libshm/libshmstats.so python3 bench/python_bench.py [N]
"""
import os
import subprocess
import sys
import tempfile

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
HERE = os.path.dirname(os.path.abspath(__file__))

CODE = r"""
import os, sys, time
sys.path.insert(0, {bindings!r})
n = {n}
if {variant!r} == "shmstats":
    from shmstats import Counter, Histogram
else:
    from prometheus_client import Counter, Histogram
c = Counter("bench_py", "x", ["k"]).labels("a")
h = Histogram("bench_py_seconds", "x", ["k"]).labels("a")
inc, observe = c.inc, h.observe
def best(f, arg):
    out = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n // 5):
            f(arg)
        out.append((time.perf_counter() - t) / (n // 5) * 1e9)
    return min(out)
best(inc, 1)
print(best(inc, 1), best(observe, 0.3))
"""


def run(variant, env_extra):
    env = dict(os.environ, **env_extra)
    code = CODE.format(bindings=os.path.join(HERE, "..", "bindings", "python"), n=N,
                       variant=variant)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{variant}: {out.stderr}")
    return [float(x) for x in out.stdout.split()]


def main():
    segment = f"python-bench-{os.getpid()}"
    with tempfile.TemporaryDirectory() as mp_dir:
        rows = {
            "shmstats": run("shmstats", {"SHMSTATS_SEGMENT": segment}),
            "prometheus_client": run("prometheus_client", {}),
            "prometheus_client multiprocess": run("prometheus_client",
                                                  {"PROMETHEUS_MULTIPROC_DIR": mp_dir}),
        }
    subprocess.run(["rm", "-f", f"/dev/shm/{segment}"])
    print(f"python_bench: {N} calls per variant, best of 5 slices, ns per call")
    print(f"{'variant':34} {'Counter.inc':>12} {'Histogram.observe':>18}")
    for name, (inc, obs) in rows.items():
        print(f"{name:34} {inc:12.0f} {obs:18.0f}")
    s_inc, s_obs = rows["shmstats"]
    for name in ("prometheus_client", "prometheus_client multiprocess"):
        inc, obs = rows[name]
        print(f"ratio {name} / shmstats: inc {inc / s_inc:.2f}x, observe {obs / s_obs:.2f}x "
              f"({'cheaper' if s_inc < inc and s_obs < obs else 'NOT cheaper'})")


if __name__ == "__main__":
    main()
