#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""shmstatsd's D-Bus API on a private bus that applies the shipped policy.

Starts dbus-daemon with a system-bus-like configuration (method calls denied by
default, packaging/org.shmstats.Stats1.conf included), runs shmstatsd --dbus system
on it, calls every method with busctl and checks the replies against statsctl;
checks the properties, the Tick signal (gdbus monitor), D-Bus errors for bad
arguments, and the policy: `nobody` may read but gets AccessDenied for recording
and reset, and may record as a member of the shmstats group (setpriv --groups). A series
recorded through the door and deleted gives its room to another key once the
segment is full.

Then GetHistory over a wide history (600 series, 8 hours at 1 m, seeded before the
start) as `nobody`, who is no member of the shmstats group: over a bound it is
refused at once; within the bounds it is answered off the bus thread while the
bus, its properties and /healthz go on answering; beyond its queue it is refused
with Error.Busy at once; the daemon's memory stays within MEMORY_BOUND_MB, and
SIGTERM during queries exits (the time is printed; asserted under a generous
STOP_BOUND_S only, as a shared machine is no stopwatch).

usage: dbus_test.py SHMSTATSD STATSCTL POLICY_FILE DASHBOARD_SEED
"""
import grp
import json
import select
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from port_file import await_ports, listen_any_port  # noqa: E402

shmstatsd, statsctl, policy, seed = (os.path.abspath(a) for a in sys.argv[1:5])
WIDE, SEEDED_MINUTES = 600, 480
MEMORY_BOUND_MB = 256  # peak resident set of the daemon over the whole test
STOP_BOUND_S = 10  # SIGTERM to exit, with GetHistory calls running (the aim: 2 s)
NAME, PATH, IFACE = "org.shmstats.Stats1", "/org/shmstats/Stats1", "org.shmstats.Stats1"


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


work = tempfile.mkdtemp(prefix="shmstats-dbus-")
os.chmod(work, 0o755)  # nobody must reach the bus socket
segment = f"dbus-test-{os.getpid()}"
config = os.path.join(work, "bus.conf")
with open(config, "w") as f:
    f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path={work}/bus</listen>
  <auth>EXTERNAL</auth>
  <!-- As Debian's system.conf: method calls denied unless a policy allows them. -->
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>{policy}</include>
</busconfig>
""")
token = os.path.join(work, "token")
with open(token, "w") as f:
    f.write("dbus-test-token-0123456789\n")

# The policy names the shmstats group. When this host has none (a build machine),
# the bus runs in a private mount namespace whose /etc/group has one, so that the
# shipped policy resolves it; the host's /etc/group is never changed.
try:
    shmstats_gid = grp.getgrnam("shmstats").gr_gid
    bus_cmd = []
except KeyError:
    used = {g.gr_gid for g in grp.getgrall()}
    shmstats_gid = next(g for g in range(999, 100, -1) if g not in used)
    group_file = os.path.join(work, "group")
    with open("/etc/group") as src, open(group_file, "w") as dst:
        dst.write(src.read() + f"shmstats:x:{shmstats_gid}:\n")
    if not shutil.which("unshare"):
        fail("unshare (util-linux) is needed to give the test bus a shmstats group")
    bus_cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               f'mount --bind "{group_file}" /etc/group && exec "$0" "$@"']
bus = subprocess.Popen([*bus_cmd, "dbus-daemon", "--config-file", config, "--nofork",
                        "--print-address"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
address = bus.stdout.readline().strip()
if not address:
    fail(f"dbus-daemon did not start: {bus.stderr.read()}")
env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
# A wide history, written before the daemon opens it.
subprocess.run([seed, os.path.join(work, "history.db"), str(SEEDED_MINUTES), str(WIDE)],
               check=True)
log = open(os.path.join(work, "shmstatsd.log"), "w")
daemon = subprocess.Popen(
    [shmstatsd, "--segment", segment, "--interval", "1s", "--state-dir", work,
     *listen_any_port(os.path.join(work, "ports")), "--create-segment",
     "--segment-max-metrics", "64", "--dbus", "system",
     "--enable-reset", "--reset-token-file", token],
    env=env, stdout=subprocess.DEVNULL, stderr=log)


def busctl(*args, user=None, groups=None, check=True):
    cmd = ["busctl", f"--address={address}", "--json=short", "--", *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", "--regid=nogroup",
               f"--groups={groups}" if groups else "--clear-groups", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        fail(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


def call(method, signature="", *args, **kw):
    r = busctl("call", NAME, PATH, IFACE, method, *([signature, *map(str, args)] if signature else []),
               **kw)
    return json.loads(r.stdout)["data"] if r.returncode == 0 and r.stdout.strip() else r


def prop(name):
    return json.loads(busctl("get-property", NAME, PATH, IFACE, name).stdout)["data"]


def statsctl_json(*args):
    r = subprocess.run([statsctl, "--segment", segment, *args, "--json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"statsctl {' '.join(args)}: {r.stderr}")
    return json.loads(r.stdout)


def values(metric):
    """A D-Bus metric struct's a{sv} as a plain dict."""
    return {k: v["data"] for k, v in metric[3].items()}


try:
    deadline = time.monotonic() + 30
    while busctl("get-property", NAME, PATH, IFACE, "Segment", check=False).returncode != 0:
        if daemon.poll() is not None or time.monotonic() > deadline:
            fail(f"shmstatsd did not take {NAME}: {open(log.name).read()}")
        time.sleep(0.2)
    if prop("Segment") != segment:
        fail(f"Segment property {prop('Segment')!r}, expected {segment!r}")

    # Recording, checked with statsctl.
    call("Increment", "sa{ss}t", "dbus_jobs_total", 1, "queue", "mail", 5)
    call("Increment", "sa{ss}t", "dbus_jobs_total", 1, "queue", "mail", 2)
    call("SetGauge", "sa{ss}d", "dbus_depth", 0, -2.5)
    call("Observe", "sa{ss}dad", "dbus_latency_seconds", 0, 0.3, 3, 0.1, 0.5, 1)
    got = statsctl_json("get", 'dbus_jobs_total{queue="mail"}')["metrics"][0]
    if got["value"] != 7:
        fail(f"statsctl sees dbus_jobs_total = {got['value']}, expected 7")
    if statsctl_json("get", "dbus_depth")["metrics"][0]["value"] != -2.5:
        fail("statsctl does not see dbus_depth = -2.5")
    h = statsctl_json("get", "dbus_latency_seconds")["metrics"][0]["histogram"]
    if h["count"] != 1 or abs(h["sum"] - 0.3) > 1e-9:
        fail(f"statsctl sees the histogram as {h}")

    # Reading: GetMetrics and GetAllMetrics agree with statsctl list.
    [metrics] = call("GetMetrics", "s", 'dbus_jobs_total{queue="mail"}')
    if len(metrics) != 1 or metrics[0][:3] != ["dbus_jobs_total", {"queue": "mail"}, "counter"] \
            or values(metrics[0]) != {"value": 7}:
        fail(f"GetMetrics replied {metrics}")
    [hist] = call("GetMetrics", "s", "dbus_latency_seconds")[0]
    hv = values(hist)
    if hv["count"] != 1 or hv["bounds"] != [0.1, 0.5, 1] or hv["counts"] != [0, 1, 0, 0] \
            or abs(hv["p50"] - h["p50"]) > 1e-9:
        fail(f"GetMetrics histogram {hv} disagrees with statsctl {h}")
    [everything] = call("GetAllMetrics")
    listed = statsctl_json("list")["metrics"]
    dbus_keys = sorted((m[0], json.dumps(m[1], sort_keys=True)) for m in everything)
    ctl_keys = sorted((m["name"], json.dumps(m["labels"], sort_keys=True)) for m in listed)
    if dbus_keys != ctl_keys:
        fail(f"GetAllMetrics {dbus_keys} != statsctl list {ctl_keys}")

    # A tick: the LastTick property moves, the Tick signal goes out, and the
    # history has the counter; GetHistory agrees with statsctl history.
    # Line-buffered, so that each signal is read as it arrives.
    monitor = subprocess.Popen(["stdbuf", "-oL", "gdbus", "monitor", "--address", address,
                                "--dest", NAME, "--object-path", PATH],
                               stdout=subprocess.PIPE, text=True)
    before = prop("LastTick")
    deadline = time.monotonic() + 20
    seen = ""
    while f"{IFACE}.Tick (uint64" not in seen and time.monotonic() < deadline:
        if select.select([monitor.stdout], [], [], 1)[0]:
            seen += monitor.stdout.readline()
    monitor.terminate()
    monitor.communicate(timeout=10)
    if prop("LastTick") <= before:
        fail("LastTick did not advance within 20 s at --interval 1s")
    if f"{IFACE}.Tick (uint64" not in seen:
        fail(f"no Tick signal seen: {seen}")
    [series] = call("GetHistory", "ssss", "dbus_jobs_total", "-1h", "now", "1m")
    db = os.path.join(work, "history.db")
    ctl = statsctl_json("history", "dbus_jobs_total", "--db", db, "--from", "-1h", "--step", "1m")
    if len(series) != 1 or series[0][0] != "dbus_jobs_total" or series[0][2] != "counter":
        fail(f"GetHistory replied {series}")
    dbus_increase = sum(p["increase"]["data"] for p in series[0][3] if "increase" in p)
    ctl_increase = sum(p.get("increase") or 0 for p in ctl["series"][0]["points"])
    if dbus_increase != ctl_increase:
        fail(f"GetHistory increase {dbus_increase} != statsctl history {ctl_increase}")

    # Bad arguments: D-Bus errors, named (gdbus shows the name) and with messages.
    def error_of(method, *args):
        r = subprocess.run(["gdbus", "call", "--address", address, "--dest", NAME,
                            "--object-path", PATH, "--method", f"{IFACE}.{method}", *args],
                           capture_output=True, text=True, timeout=30)
        if r.returncode == 0:
            fail(f"{method}{args} succeeded: {r.stdout}")
        return r.stderr
    for args, name, words in [
            (("Increment", "'bad name!'", "{}", "uint64 1"),
             "org.freedesktop.DBus.Error.InvalidArgs", "invalid metric name 'bad name!'"),
            (("SetGauge", "'dbus_jobs_total'", "{'queue': 'mail'}", "1.0"),
             "org.shmstats.Stats1.Error.TypeMismatch", "dbus_jobs_total"),
            (("Observe", "'dbus_new_seconds'", "{}", "1.0", "[2.0, 1.0]"),
             "org.freedesktop.DBus.Error.InvalidArgs", "must increase"),
            (("GetMetrics", "'{oops'"), "org.freedesktop.DBus.Error.InvalidArgs", "selector"),
            (("GetMetrics", "'no_such_metric'"), "org.shmstats.Stats1.Error.NoMatch",
             "no metric matches"),
            (("GetHistory", "'dbus_jobs_total'", "'-1h'", "'now'", "'7m'"),
             "org.freedesktop.DBus.Error.InvalidArgs", "7m")]:
        err = error_of(*args)
        if name not in err or words not in err:
            fail(f"{args[0]}{args[1:]}: expected {name} saying {words!r}, got {err.strip()}")

    # The policy: nobody reads, but may neither record nor reset.
    [mine] = call("GetMetrics", "s", "dbus_depth", user="nobody")
    if values(mine[0]) != {"value": -2.5}:
        fail(f"nobody read {mine}")
    for method, sig, args in [("Increment", "sa{ss}t", ["dbus_jobs_total", 0, 1]),
                              ("SetGauge", "sa{ss}d", ["dbus_depth", 0, 1]),
                              ("Reset", "s", ["dbus_jobs_total"])]:
        r = call(method, sig, *args, user="nobody", check=False)
        if r.returncode == 0 or "Access denied" not in r.stderr:
            fail(f"nobody's {method} was not denied: {r.stderr or r}")
    # A member of the shmstats group (nobody, with it as a supplementary group) may
    # record; the counter was 7 (statsctl sees 9 after).
    for method, sig, args in [("Increment", "sa{ss}t", ["dbus_jobs_total", 1, "queue", "mail", 2]),
                              ("SetGauge", "sa{ss}d", ["dbus_depth", 0, -2.5])]:
        r = busctl("call", NAME, PATH, IFACE, method, sig, *map(str, args), user="nobody",
                   groups=shmstats_gid, check=False)
        if r.returncode != 0:
            fail(f"a shmstats group member's {method} was refused: {r.stderr.strip()}")
    if statsctl_json("get", 'dbus_jobs_total{queue="mail"}')["metrics"][0]["value"] != 9:
        fail("statsctl does not see the group member's Increment")
    # ... and the error for others is the bus's AccessDenied (gdbus names it).
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        "gdbus", "call", "--address", address, "--dest", NAME, "--object-path",
                        PATH, "--method", f"{IFACE}.Increment", "dbus_jobs_total", "{}",
                        "uint64 1"], capture_output=True, text=True, timeout=30)
    if r.returncode == 0 or "org.freedesktop.DBus.Error.AccessDenied" not in r.stderr:
        fail(f"nobody's Increment through gdbus: {r.stderr or r.stdout}")

    # Reset (root): the values they had, and statsctl sees zero.
    [reset] = call("Reset", "s", "dbus_jobs_total")
    if [values(m) for m in reset] != [{"value": 9}]:
        fail(f"Reset replied {reset}")
    if statsctl_json("get", "dbus_jobs_total")["metrics"][0]["value"] != 0:
        fail("statsctl does not see the counter reset")
    # The door keeps no handle past a call and says so: once the segment (64 series)
    # is full, a series it recorded and statsctl deleted gives its room to another
    # key while the daemon runs. A call declares for the deletions before it, so
    # the new key is tried after each call until one follows the deletion.
    call("Increment", "sa{ss}t", "dbus_gone_total", 0, 1)
    subprocess.run([statsctl, "--segment", segment, "delete", "dbus_gone_total"], check=True,
                   capture_output=True)
    filled = 0
    while subprocess.run([statsctl, "--segment", segment, "inc", f"dbus_fill{filled}_total"],
                         capture_output=True).returncode == 0:
        filled += 1
        if filled > 200:
            fail("a segment of 64 series never filled")
    deadline = time.monotonic() + 30
    while busctl("call", NAME, PATH, IFACE, "Increment", "sa{ss}t", "dbus_late_total", "0", "4",
                 check=False).returncode != 0:
        if time.monotonic() > deadline:
            fail("the deleted series' room never went to another key through the door")
    if statsctl_json("get", "dbus_late_total")["metrics"][0]["value"] != 4:
        fail("statsctl does not see dbus_late_total = 4")
    if statsctl_json("info")["info"]["refilled_total"] != 1:
        fail(f"info refilled_total: {statsctl_json('info')['info']}")

    # GetHistory over the wide history as nobody (no shmstats member).
    http = await_ports(os.path.join(work, "ports"), daemon)["http"]

    def healthz():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http}/healthz", timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def timed_error(*args):  # gdbus, which names the error
        start = time.monotonic()
        r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            "gdbus", "call", "--address", address, "--dest", NAME,
                            "--object-path", PATH, "--method", f"{IFACE}.GetHistory",
                            *(f"'{a}'" for a in args)], capture_output=True, text=True,
                           timeout=30)
        return time.monotonic() - start, r
    for args, words in [(("dash_wide_total", "-7d", "now", "1m"), "more than 500"),
                        (('dash_wide_total{i=~"1.."}', "-7d", "now", "1m"), "points")]:
        took, r = timed_error(*args)
        if r.returncode == 0 or "InvalidArgs" not in r.stderr or words not in r.stderr:
            fail(f"GetHistory{args} as nobody: expected InvalidArgs saying {words!r}, got "
                 f"{r.stderr.strip() or r.stdout}")
        print(f"GetHistory{args} refused in {took * 1000:.0f} ms: {r.stderr.strip()}")
    # Within the bounds (100 series x 121 steps): answered, 12 calls at once; those
    # beyond the 2 threads and 4 waiting places may be refused with Error.Busy, and
    # on a loaded machine one may run past its 5 s budget (Error.Busy too).
    bounded = ['dash_wide_total{i=~"1.."}', "-2h", "now", "1m"]
    cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "busctl",
           f"--address={address}", "--json=short", "--", "call", NAME, PATH, IFACE,
           "GetHistory", "ssss", *bounded]
    start = time.monotonic()
    calls = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(12)]
    # Meanwhile the bus and HTTP answer.
    during = [(prop("Segment") == segment, healthz()) for _ in range(3)]
    outcomes = {"ok": 0, "busy": 0, "budget": 0}
    for c in calls:
        out, err = c.communicate(timeout=60)
        if c.returncode == 0:
            [series] = json.loads(out)["data"]
            if len(series) != 100:
                fail(f"bounded GetHistory returned {len(series)} series, not 100")
            outcomes["ok"] += 1
        elif "busy" in err:
            outcomes["busy"] += 1
        elif "past its 5000 ms budget" in err:
            outcomes["budget"] += 1
        else:
            fail(f"bounded GetHistory failed: {err.strip()}")
    took = time.monotonic() - start
    if outcomes["ok"] == 0:
        fail(f"no bounded GetHistory was answered: {outcomes}")
    if not all(ok and status == 200 for ok, status in during):
        fail(f"the bus or /healthz did not answer during the queries: {during}")
    if prop("Segment") != segment or healthz() != 200:
        fail("the bus connection or /healthz is gone after the queries")
    with open(f"/proc/{daemon.pid}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    peak_mb = int(status["VmHWM"].split()[0]) / 1024
    print(f"12 bounded GetHistory calls at once: {outcomes} in {took:.1f} s; "
          f"daemon peak RSS {peak_mb:.0f} MB (bound {MEMORY_BOUND_MB} MB)")
    if peak_mb > MEMORY_BOUND_MB:
        fail(f"daemon peak RSS {peak_mb:.0f} MB over the bound {MEMORY_BOUND_MB} MB")

    # SIGTERM while GetHistory calls run: the daemon exits promptly, exit status 0.
    calls = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(6)]
    term = time.monotonic()
    daemon.terminate()
    try:
        code = daemon.wait(timeout=STOP_BOUND_S)
    except subprocess.TimeoutExpired:
        fail(f"shmstatsd still running {STOP_BOUND_S} s after SIGTERM during GetHistory")
    stop_s = time.monotonic() - term
    for c in calls:
        c.wait(timeout=60)
    print(f"SIGTERM during GetHistory calls: exit {code} after {stop_s * 1000:.0f} ms")
    if code != 0:
        fail(f"shmstatsd exited {code} after SIGTERM: {open(log.name).read()}")
    print("PASS: every method, the properties, the Tick signal, errors and the policy; "
          "GetHistory bounded")
finally:
    for p in (daemon, bus):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    subprocess.run([statsctl, "--segment", segment, "remove"], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
