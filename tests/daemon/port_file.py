# SPDX-License-Identifier: Apache-2.0
"""shmstatsd on ports the kernel chooses: the arguments that ask for them, and the
ports read back from the daemon's --port-file once it has written it (whole, once
listening, before READY=1). Nothing is probed, and no fixed sleep waits for it."""
import os
import time


def listen_any_port(port_file, statsd=False):
    """shmstatsd arguments: HTTP (and statsd UDP) on port 0, reported in port_file."""
    try:
        os.unlink(port_file)  # a previous run's file is never read
    except FileNotFoundError:
        pass
    args = ["--listen", "127.0.0.1:0", "--port-file", port_file]
    return args + (["--statsd", "127.0.0.1:0"] if statsd else [])


def await_ports(port_file, daemon=None, seconds=30):
    """{"http": PORT, "statsd": PORT} once the file is there; raises if the daemon
    exited first or after `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with open(port_file) as f:
                return {k: int(v) for k, v in (line.split() for line in f if line.strip())}
        except FileNotFoundError:
            pass
        if daemon is not None and daemon.poll() is not None:
            raise AssertionError(f"shmstatsd exited ({daemon.returncode}) before listening")
        time.sleep(0.02)  # polling the file: the wait ends when it appears
    raise AssertionError(f"shmstatsd wrote no {port_file} within {seconds} s")
