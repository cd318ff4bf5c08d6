#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# pip installs bindings/python from the repository into a fresh venv, offline
# (--no-build-isolation: Debian's setuptools; the extension compiled against this
# build's headers and libshmstats), and the installed package records into a segment
# that statsctl-free reading (shmstats.read) sees.
# usage: pip_install.sh PYTHON3 SOURCE INCLUDE_DIR LIBRARY_DIR WORKDIR
set -eu
py=$1 src=$2 inc=$3 libdir=$4 work=$5
rm -rf "$work" && mkdir -p "$work"
cp -r "$src" "$work/src"  # pip builds in the source tree: keep the repository clean
rm -rf "$work/src/build" "$work/src/tests"
"$py" -m venv --system-site-packages "$work/venv" >"$work/venv.log" 2>&1 ||
  { cat "$work/venv.log"; echo "FAIL: python3 -m venv"; exit 1; }
SHMSTATS_INCLUDE_DIR="$inc" SHMSTATS_LIBRARY_DIR="$libdir" \
  "$work/venv/bin/pip" install --no-build-isolation --no-index --no-deps "$work/src" \
  >"$work/pip.log" 2>&1 || { cat "$work/pip.log"; echo "FAIL: pip install"; exit 1; }
seg="pip-install-$$"
out=$(cd "$work" && SHMSTATS_SEGMENT="$seg" VENV="$work/venv" "$work/venv/bin/python" -c '
import os, shmstats
assert shmstats.__file__.startswith(os.environ["VENV"]), shmstats.__file__
c = shmstats.Counter("pip_installed", "x")
for _ in range(10):
    c.inc(0.1)
print([m["value"] for m in shmstats.read() if m["name"] == "pip_installed_total"][0])
shmstats.remove_segment()
' 2>&1) || true
[ "$out" = 0.9999999999999999 ] || { echo "FAIL: the installed package recorded '$out'"; exit 1; }
rm -rf "$work"
echo PASS
