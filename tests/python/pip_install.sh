#!/bin/sh
# pip installs bindings/python from the repository with no network and no compiler
# needed, and the installed package records into a segment.
# usage: pip_install.sh PYTHON3 SOURCE LIBSHMSTATS WORKDIR
set -eu
py=$1 src=$2 lib=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
cp -r "$src" "$work/src"  # pip builds in the source tree: keep the repository clean
"$py" -m pip install --no-build-isolation --no-index --no-deps --target "$work/site" \
  "$work/src" >"$work/pip.log" 2>&1 || { cat "$work/pip.log"; echo "FAIL: pip install"; exit 1; }
seg="pip-install-$$"
out=$(cd "$work" && PYTHONPATH="$work/site" SHMSTATS_LIBRARY="$lib" SHMSTATS_SEGMENT="$seg" "$py" -c '
import shmstats, os
assert os.path.dirname(shmstats.__file__).startswith(os.environ["PYTHONPATH"]), shmstats.__file__
c = shmstats.Counter("pip_installed", "x")
c.inc(3)
print([m["value"] for m in shmstats.read() if m["name"] == "pip_installed_total"][0])
shmstats._native.segment_remove(os.environ["SHMSTATS_SEGMENT"].encode())
')
[ "$out" = 3 ] || { echo "FAIL: the installed package recorded '$out', not 3"; exit 1; }
rm -rf "$work"
echo PASS
