#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Grafana dashboard, structurally (Grafana is not in Debian 12): valid JSON
with a uid and title; panels with unique ids, grid positions inside 24 columns,
known types, Prometheus targets with unique refIds; every $variable defined; every
query valid PromQL (promtool check rules on them, variables substituted); and every
shmstatsd_* series it names served by a live shmstatsd, whose /stats/prometheus
serves what /metrics serves.

usage: dashboard_test.py SHMSTATSD PROMTOOL DASHBOARD
"""
import json
import os
import shutil
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from port_file import await_ports, listen_any_port  # noqa: E402

shmstatsd, promtool, path = sys.argv[1:4]


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


dash = json.load(open(path))
for key in ("uid", "title", "panels", "templating", "schemaVersion"):
    if key not in dash:
        fail(f"no {key}")
variables = {v["name"] for v in dash["templating"]["list"]}
ids, exprs = set(), []
for p in dash["panels"]:
    if p["id"] in ids:
        fail(f"panel id {p['id']} twice")
    ids.add(p["id"])
    g = p["gridPos"]
    if not (g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24 and g["h"] > 0):
        fail(f"panel {p['title']}: grid position {g} outside 24 columns")
    if p["type"] not in ("row", "stat", "timeseries"):
        fail(f"panel {p['title']}: unexpected type {p['type']}")
    if p["type"] == "row":
        continue
    if p["datasource"]["type"] != "prometheus":
        fail(f"panel {p['title']}: not a Prometheus panel")
    refs = [t["refId"] for t in p["targets"]]
    if not refs or len(refs) != len(set(refs)):
        fail(f"panel {p['title']}: no targets or repeated refIds")
    for text in [p["title"]] + [t["expr"] for t in p["targets"]]:
        for var in re.findall(r"\$\{?(\w+)", text):
            if var not in variables and not var.startswith("__"):
                fail(f"panel {p['title']} uses undefined ${var}")
    exprs += [t["expr"] for t in p["targets"]]

# Every query parses: as recording rules for promtool.
subst = {"$__rate_interval": "5m", "${histogram}": "tool_latency_seconds",
         "$histogram": "tool_latency_seconds", "$counter": "tool_calls_total",
         "$instance": "host:9477", "${datasource}": "prometheus"}
work = tempfile.mkdtemp(prefix="shmstats-dash-")
rules = os.path.join(work, "dashboard.rules.yml")
with open(rules, "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        for k, v in subst.items():
            e = e.replace(k, v)
        f.write(f"      - record: dashboard:query{i}\n        expr: {json.dumps(e)}\n")
r = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True)
if r.returncode != 0:
    fail(f"a dashboard query is not valid PromQL: {r.stdout}{r.stderr}")

# The daemon's series it names exist: scrape a live shmstatsd.
segment = f"dash-test-{os.getpid()}"
port_file = os.path.join(work, "ports")
daemon = subprocess.Popen([shmstatsd, "--segment", segment, "--interval", "1s", "--state-dir",
                           work, *listen_any_port(port_file), "--create-segment"],
                          stderr=subprocess.DEVNULL)
try:
    port = await_ports(port_file, daemon)["http"]

    def get(p):
        return urllib.request.urlopen(f"http://127.0.0.1:{port}{p}", timeout=5).read().decode()
    deadline = time.monotonic() + 20
    while True:
        try:
            text = get("/metrics")
            if "shmstatsd_last_tick_timestamp_seconds" in text and "shmstatsd_segment_up 1" in text:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or daemon.poll() is not None:
            fail("shmstatsd did not serve /metrics with a tick")
        time.sleep(0.2)
    served = {line.split("{")[0].split(" ")[0] for line in text.splitlines()
              if line and not line.startswith("#")}
    for name in sorted({n for e in exprs for n in re.findall(r"\bshmstatsd_\w+", e)}):
        if name not in served:
            fail(f"the dashboard queries {name}, which shmstatsd does not serve")
    series = lambda t: sorted(l.rsplit(" ", 1)[0] for l in t.splitlines() if l and l[0] != "#")
    if series(get("/stats/prometheus")) != series(get("/metrics")):
        fail("/stats/prometheus does not serve the series /metrics serves")
    print(f"PASS: {len(dash['panels'])} panels, {len(exprs)} queries valid, "
          f"shmstatsd series present; /stats/prometheus == /metrics")
finally:
    daemon.terminate()
    daemon.wait(timeout=20)
    if os.path.exists(f"/dev/shm/{segment}"):
        os.unlink(f"/dev/shm/{segment}")
    shutil.rmtree(work, ignore_errors=True)
