#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""shmstatsd --statsd end to end: a real statsd client (Debian's python3-statsd)
sends counters, gauges and timers over UDP; raw datagrams carry DogStatsD tags,
several lines, and malformed lines (UDP and the Unix datagram socket). `statsctl
get --json` and /metrics must show exactly what was sent, and the refusals must be
counted per reason in shmstatsd_statsd_lines_total.

usage: statsd_client_test.py SHMSTATSD STATSCTL
"""
import os
import re
import socket
import subprocess
import sys
import tempfile

import statsd  # python3-statsd: a missing client is a failure, not a skip

from daemon_client import check, metrics, sample, statsctl_get, wait_for
from port_file import await_ports, listen_any_port

SHMSTATSD, STATSCTL = sys.argv[1], sys.argv[2]
SEGMENT = f"statsd-e2e-{os.getpid()}"


def get(selector):
    return statsctl_get(STATSCTL, SEGMENT, selector)


def main():
    subprocess.run([STATSCTL, "--segment", SEGMENT, "remove"], capture_output=True)
    with tempfile.TemporaryDirectory() as state:
        sock_path = os.path.join(state, "statsd.sock")
        port_file = os.path.join(state, "ports")
        daemon = subprocess.Popen(
            [SHMSTATSD, "--segment", SEGMENT, "--state-dir", state, "--interval", "1s",
             *listen_any_port(port_file, statsd=True), "--statsd-socket", sock_path],
            stderr=subprocess.PIPE, text=True)
        try:
            ports = await_ports(port_file, daemon)
            http, udp = ports["http"], ports["statsd"]
            check(wait_for(lambda: "shmstatsd_statsd_lines_total" in metrics(http)),
                  "shmstatsd did not come up with statsd metrics")
            client = statsd.StatsClient("127.0.0.1", udp, prefix="app")
            for _ in range(5):
                client.incr("jobs.done")
            client.incr("jobs.done", 10)
            client.gauge("queue-depth", 7)
            client.gauge("queue-depth", 3, delta=True)
            client.gauge("queue-depth", -4, delta=True)
            client.timing("db.query", 250)
            client.timing("db.query", 750)
            with client.pipeline() as pipe:  # several lines in one datagram
                pipe.incr("pipelined")
                pipe.incr("pipelined")
                pipe.incr("pipelined")

            raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            raw.sendto(b"api.calls:2|c|#env:prod,route:/users\n"
                       b"api.calls:3|c|#route:/users,env:prod\n"
                       b"resp.size:512|h|#env:prod\n"
                       b"not a line\nx:abc|c\ny:1|s\nz:1|c|@7\n", ("127.0.0.1", udp))
            unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            unix.sendto(b"via.unix:4|c\nvia.unix:1|c", sock_path)

            want_ok = 5 + 1 + 3 + 2 + 3 + 3 + 2
            ok = 'shmstatsd_statsd_lines_total{result="ok"}'
            check(wait_for(lambda: sample(metrics(http), ok) == want_ok),
                  f"expected {want_ok} lines recorded: {metrics(http)}")
            text = metrics(http)
            for reason, n in [("malformed", 1), ("bad_value", 1), ("unsupported", 1),
                              ("bad_sample_rate", 1)]:
                got = sample(text, f'shmstatsd_statsd_lines_total{{result="{reason}"}}')
                check(got == n, f"{reason}: {got} != {n}")

            check(get("app_jobs_done")[0]["value"] == 15, "counter via statsctl")
            check(get("app_queue_depth")[0]["value"] == 6, "gauge with deltas via statsctl")
            h = get("app_db_query")[0]["histogram"]
            check(h["count"] == 2 and abs(h["sum"] - 1.0) < 1e-9, f"timer in seconds: {h}")
            check(get("app_pipelined")[0]["value"] == 3, "pipelined lines")
            tagged = get('api_calls{env="prod",route="/users"}')
            check(len(tagged) == 1 and tagged[0]["value"] == 5, f"tags as labels: {tagged}")
            check(get("via_unix")[0]["value"] == 5, "unix datagram socket")

            # Counters are exported as <name>_total, and statsctl shows that name too.
            check(sample(text, "app_jobs_done_total") == 15, "counter on /metrics")
            check(get("app_jobs_done")[0]["name"] == "app_jobs_done_total", "counter's name")
            check(sample(text, "app_queue_depth") == 6, "gauge on /metrics")
            check(sample(text, "app_db_query_count") == 2, "timer count on /metrics")
            check(sample(text, 'api_calls_total{env="prod",route="/users"}') == 5,
                  "tags on /metrics")
            check(sample(text, 'resp_size_sum{env="prod"}') == 512, "histogram on /metrics")
            names = {re.match(r"[^{\s]+", line).group(0)
                     for line in text.splitlines() if line and not line.startswith("#")}
            bad = [n for n in names if not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", n)]
            check(not bad, f"invalid names on /metrics: {bad}")

            # A removed segment: the listener notices within a second, creates it
            # again and records there.
            subprocess.run([STATSCTL, "--segment", SEGMENT, "remove"], check=True)

            def recorded_again():
                raw.sendto(b"after.remove:1|c", ("127.0.0.1", udp))
                return get("after_remove")[0]["value"] >= 1

            check(wait_for(recorded_again, 10), "no recording after the segment was re-created")
        finally:
            daemon.terminate()
            _, err = daemon.communicate(timeout=30)
            subprocess.run([STATSCTL, "--segment", SEGMENT, "remove"], capture_output=True)
        check(daemon.returncode == 0, f"shmstatsd exit {daemon.returncode}: {err}")
        check(not os.path.exists(sock_path), "the statsd socket was left behind")
    print("PASS")


if __name__ == "__main__":
    main()
