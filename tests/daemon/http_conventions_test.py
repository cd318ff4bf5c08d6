#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What a Prometheus operator expects of shmstatsd's HTTP, with the real tools:

- /-/healthy is 200 while the daemon serves; /-/ready is 503 before the segment is
  attached and its first tick taken, 200 after (awaited, no fixed sleep);
- a real statsd client's counters are named <name>_total in Prometheus text,
  OpenMetrics, /stats and statsctl alike; promtool check metrics exits 0 on text
  /metrics, and OpenMetrics /metrics reads in prometheus_client's strict parser;
- curl --compressed gets /metrics gzip-compressed (Content-Encoding: gzip) and the
  same text as without; HEAD /metrics gives GET's status and headers and no body.

usage: http_conventions_test.py SHMSTATSD STATSCTL PROMTOOL CURL
"""
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import statsd  # python3-statsd: a missing client is a failure, not a skip
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from port_file import await_ports, listen_any_port

SHMSTATSD, STATSCTL, PROMTOOL, CURL = sys.argv[1:5]
SEGMENT = f"httpconv-{os.getpid()}"
OPENMETRICS = "application/openmetrics-text;version=1.0.0"


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def get(port, path, headers=None):
    """(status, headers, body bytes) of one request, not decompressed."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def wait_for(what, check, seconds=30):
    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            fail("timed out waiting for " + what)
        time.sleep(0.05)


def promtool(text, name, tmp):
    """promtool check metrics' exit status and findings."""
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    with open(path) as f:
        r = subprocess.run([PROMTOOL, "check", "metrics"], stdin=f, capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).split("\n")


def check_openmetrics(om, tmp):
    """OpenMetrics /metrics: prometheus_client's strict OpenMetrics parser reads it
    (counters as families x with samples x_total), and promtool finds nothing but what
    it finds in prometheus_client's own OpenMetrics: promtool 2.42 reads only the text
    format, where a counter's x_total sample is a family of its own without HELP."""
    families = {f.name: f for f in text_string_to_metric_families(om)}
    jobs = families.get("jobs_done")
    if not jobs or jobs.type != "counter" or [s.name for s in jobs.samples] != ["jobs_done_total"]:
        fail(f"OpenMetrics parser: jobs_done is {jobs}")
    rc, findings = promtool(om, "metrics.om", tmp)
    counters = {f"{n}_total no help text" for n, f in families.items() if f.type == "counter"}
    unexpected = [line for line in findings if line and line not in counters]
    if rc not in (0, 3) or unexpected:
        fail(f"promtool check metrics exited {rc} on OpenMetrics: {unexpected}")


def raw_head(port, path):
    """The bytes of the answer to HEAD path (Connection: close, read to EOF)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def start(tmp, statsd_too):
    port_file = os.path.join(tmp, "ports")
    daemon = subprocess.Popen(
        [SHMSTATSD, "--segment", SEGMENT, "--state-dir", tmp, "--interval", "1s",
         *listen_any_port(port_file, statsd=statsd_too)],
        stderr=open(os.path.join(tmp, "log"), "a"))
    return daemon, await_ports(port_file, daemon)


def stop(daemon):
    daemon.terminate()
    if daemon.wait(10) != 0:
        fail(f"shmstatsd exited {daemon.returncode}")


def readiness(tmp):
    """No segment yet: serving (healthy) but not ready; once it exists and a tick has
    run, ready."""
    daemon, ports = start(tmp, statsd_too=False)
    try:
        http = ports["http"]
        status, _, body = get(http, "/-/healthy")
        if status != 200:
            fail(f"/-/healthy before the segment: {status} {body}")
        status, _, body = get(http, "/-/ready")
        if status != 503:
            fail(f"/-/ready before the segment and the first tick: {status} {body}")
        if get(http, "/healthz")[0] != 503:
            fail("/healthz before the segment")
        subprocess.run([STATSCTL, "--segment", SEGMENT, "create"], check=True,
                       stdout=subprocess.DEVNULL)
        wait_for("/-/ready", lambda: get(http, "/-/ready")[0] == 200)
        if get(http, "/-/healthy")[0] != 200:
            fail("/-/healthy after the first tick")
    finally:
        stop(daemon)


def main():
    subprocess.run([STATSCTL, "--segment", SEGMENT, "remove"], capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        readiness(tmp)
        daemon, ports = start(tmp, statsd_too=True)
        try:
            http, udp = ports["http"], ports["statsd"]
            client = statsd.StatsClient("127.0.0.1", udp)
            client.incr("jobs.done", 3)          # statsd counter jobs_done
            client.incr("cache_hits_total", 2)   # already ends in _total
            client.gauge("queue.depth", 7)
            client.timing("job.duration", 12)
            # One name everywhere: jobs_done_total.
            def text_has_counters():
                text = get(http, "/metrics")[2].decode()
                return "jobs_done_total 3" in text and "cache_hits_total 2" in text
            wait_for("the statsd counters in /metrics", text_has_counters)
            status, headers, text = get(http, "/metrics")
            text = text.decode()
            if "# TYPE jobs_done_total counter" not in text or "\njobs_done " in text:
                fail("text /metrics does not name the counter jobs_done_total:\n" + text[:3000])
            rc, findings = promtool(text, "metrics.txt", tmp)
            if rc != 0:
                fail(f"promtool check metrics exited {rc} on text /metrics: {findings}")
            status, headers, om = get(http, "/metrics", {"Accept": OPENMETRICS})
            om = om.decode()
            if (not headers["Content-Type"].startswith("application/openmetrics-text")
                    or "# TYPE jobs_done counter" not in om or "\njobs_done_total 3\n" not in om
                    or "\ncache_hits_total 2\n" not in om):
                fail("OpenMetrics /metrics:\n" + om[:3000])
            check_openmetrics(om, tmp)
            wait_for("jobs_done_total in /stats",
                     lambda: "jobs_done_total" in json.loads(get(http, "/stats")[2])["counters"])
            for selector in ("jobs_done", "jobs_done_total"):
                out = subprocess.run([STATSCTL, "--segment", SEGMENT, "get", selector, "--json"],
                                     capture_output=True, text=True, check=True).stdout
                names = [m["name"] for m in json.loads(out)["metrics"]]
                if names != ["jobs_done_total"]:
                    fail(f"statsctl get {selector}: {names}")
            listed = subprocess.run([STATSCTL, "--segment", SEGMENT, "list", "jobs_*"],
                                    capture_output=True, text=True, check=True).stdout
            if "jobs_done_total" not in listed:
                fail("statsctl list: " + listed)

            # gzip: curl --compressed decompresses to the text sent without it.
            out = subprocess.run([CURL, "-sS", "--compressed", "-D", "-", "-o",
                                  os.path.join(tmp, "body"), f"http://127.0.0.1:{http}/metrics"],
                                 capture_output=True, text=True, check=True).stdout
            head = out.lower()
            if "content-encoding: gzip" not in head or "vary: accept-encoding" not in head:
                fail("curl --compressed: no gzip:\n" + out)
            with open(os.path.join(tmp, "body")) as f:
                body = f.read()
            if not body.startswith("# HELP ") or "jobs_done_total 3" not in body:
                fail("curl --compressed: body " + body[:200])
            _, headers, raw = get(http, "/metrics", {"Accept-Encoding": "gzip"})
            if headers.get("Content-Encoding") != "gzip" or not gzip.decompress(raw).startswith(b"# HELP "):
                fail(f"Accept-Encoding: gzip: {headers}")
            for refused in ("identity", "gzip;q=0", "br"):
                _, headers, raw = get(http, "/metrics", {"Accept-Encoding": refused})
                if headers.get("Content-Encoding") or not raw.startswith(b"# HELP "):
                    fail(f"Accept-Encoding: {refused}: {headers}")

            # HEAD: GET's status and headers, no body. curl -I, and the raw bytes.
            out = subprocess.run([CURL, "-sS", "-I", f"http://127.0.0.1:{http}/metrics"],
                                 capture_output=True, text=True, check=True).stdout
            if not out.startswith("HTTP/1.1 200") or "text/plain; version=0.0.4" not in out:
                fail("curl -I /metrics:\n" + out)
            answer = raw_head(http, "/metrics")
            head, _, rest = answer.partition(b"\r\n\r\n")
            length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")]
            if rest or len(length) != 1 or length[0] < 100:
                fail(f"HEAD /metrics: {answer[:500]!r}")
            for path in ("/-/ready", "/healthz", "/stats", "/"):
                if not raw_head(http, path).startswith(b"HTTP/1.1 200"):
                    fail("HEAD " + path)
            print("PASS")
        finally:
            stop(daemon)
            subprocess.run([STATSCTL, "--segment", SEGMENT, "remove"], capture_output=True)


main()
