#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""shmstatsd --statsd at its limits, end to end: DogStatsD 1.3 lines (container id
c:, external data e:, cardinality card:, a timestamp and an unknown single-letter
field) are recorded with their extra fields ignored; sample rates whose inverse
overflows are refused as bad_sample_rate and counted; and 10,000 unique 60 KB names
(each refused by the segment as too long, and remembered as refused by the series
cache) keep the daemon's memory within --statsd-cache-bytes plus SLACK_MB of
allocator slack. No Debian DogStatsD client speaks protocol 1.3 (datadog-go is
2.1), so those lines are sent raw; plain lines come from python3-statsd.

usage: statsd_limits_test.py SHMSTATSD STATSCTL
"""
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import statsd  # python3-statsd: a missing client is a failure, not a skip

from daemon_client import check, metrics, sample, statsctl_get, wait_for
from port_file import await_ports, listen_any_port

SHMSTATSD, STATSCTL = sys.argv[1], sys.argv[2]
SEGMENT = f"statsd-limits-{os.getpid()}"
CACHE_BYTES = 4 << 20
SLACK_MB = 16
NAMES, NAME_BYTES = 10_000, 60_000


def lines(http, result):
    return sample(metrics(http), f'shmstatsd_statsd_lines_total{{result="{result}"}}')


def get(selector):
    return statsctl_get(STATSCTL, SEGMENT, selector)


def memory_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def main():
    subprocess.run([STATSCTL, "--segment", SEGMENT, "remove"], capture_output=True)
    with tempfile.TemporaryDirectory() as state:
        sock_path = os.path.join(state, "statsd.sock")
        port_file = os.path.join(state, "ports")
        daemon = subprocess.Popen(
            [SHMSTATSD, "--segment", SEGMENT, "--state-dir", state, "--interval", "1s",
             *listen_any_port(port_file, statsd=True), "--statsd-socket", sock_path,
             "--statsd-cache-bytes", str(CACHE_BYTES)],
            stderr=open(os.path.join(state, "log"), "w"))
        try:
            ports = await_ports(port_file, daemon)
            http, udp = ports["http"], ports["statsd"]

            # DogStatsD 1.3 (and later) fields, and plain lines from a real client.
            raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            raw.sendto(b"dd.jobs:1|c|c:in-1|e:it-false,cn-web\n"
                       b"dd.jobs:2|c|#env:prod|card:high\n"
                       b"dd.jobs:3|c|e:|c:ci-0123|T1700000000\n"
                       b"dd.jobs:4|c|z:a-field-of-a-later-version\n"
                       b"dd.wait:250|ms|@0.5|card:low|e:it-true\n", ("127.0.0.1", udp))
            client = statsd.StatsClient("127.0.0.1", udp, prefix="py")
            client.incr("jobs", 5)
            # Rates whose inverse overflows: refused, counted, nothing recorded.
            raw.sendto(b"tiny.h:1|h|@1e-19\ntiny.c:1|c|@1e-300\n", ("127.0.0.1", udp))
            check(wait_for(lambda: lines(http, "ok") == 6 and lines(http, "bad_sample_rate") == 2),
                  f"ok {lines(http, 'ok')} (want 6), bad_sample_rate "
                  f"{lines(http, 'bad_sample_rate')} (want 2)")
            check(lines(http, "bad_field") == 0, "a DogStatsD 1.3 field was refused")
            plain = [m for m in get("dd_jobs") if not m["labels"]]
            tagged = get('dd_jobs{env="prod"}')
            check(len(plain) == 1 and plain[0]["value"] == 8, f"dd_jobs: {plain}")
            check(len(tagged) == 1 and tagged[0]["value"] == 2, f"dd_jobs{{env=prod}}: {tagged}")
            wait = get("dd_wait")[0]["histogram"]
            check(wait["count"] == 2 and abs(wait["sum"] - 0.5) < 1e-9, f"dd_wait: {wait}")
            check(get("py_jobs")[0]["value"] == 5, "python3-statsd's counter")
            check(get("tiny_h") == [] and get("tiny_c") == [], "a tiny-rate line was recorded")
            print("DogStatsD 1.3 lines recorded; 2 tiny-rate lines refused as bad_sample_rate")

            # 10,000 unique 60 KB names through the Unix socket (a blocking send: none
            # is lost), each refused by the segment and cached as refused.
            before_kb = memory_kb(daemon.pid, "VmRSS")
            unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            unix.connect(sock_path)
            filler = b"x" * NAME_BYTES
            invalid0 = lines(http, "invalid_name") or 0
            start = time.monotonic()
            for i in range(NAMES):
                unix.send(b"n%05d" % i + filler + b":1|c")
            check(wait_for(lambda: lines(http, "invalid_name") == invalid0 + NAMES, 120),
                  f"invalid_name {lines(http, 'invalid_name')}, want {invalid0 + NAMES}")
            took = time.monotonic() - start
            after_kb = memory_kb(daemon.pid, "VmRSS")
            peak_kb = memory_kb(daemon.pid, "VmHWM")
            growth_mb = (peak_kb - before_kb) / 1024
            print(f"{NAMES} unique {NAME_BYTES // 1000} KB names in {took:.1f} s: RSS "
                  f"{before_kb / 1024:.1f} -> {after_kb / 1024:.1f} MB, peak {peak_kb / 1024:.1f} MB "
                  f"(growth to peak {growth_mb:.1f} MB; budget {CACHE_BYTES >> 20} MB + "
                  f"{SLACK_MB} MB slack)")
            check(growth_mb <= (CACHE_BYTES >> 20) + SLACK_MB,
                  f"the daemon grew {growth_mb:.1f} MB for a {CACHE_BYTES >> 20} MB cache budget")
            with urllib.request.urlopen(f"http://127.0.0.1:{http}/healthz", timeout=10) as r:
                check(r.status == 200, "/healthz after the flood")
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
            subprocess.run([STATSCTL, "--segment", SEGMENT, "remove"], capture_output=True)
        log = open(os.path.join(state, "log")).read()
        check(daemon.returncode == 0, f"shmstatsd exit {daemon.returncode}: {log[-2000:]}")
        check(len(log) < 64 * 1024, f"the log took {len(log)} bytes: names are not cut")
    print("PASS")


if __name__ == "__main__":
    main()
