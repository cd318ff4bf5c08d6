#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The python3-shmstats .deb (with libshmstats0) installed with dpkg on a throwaway
# copy of this Debian system (a private mount namespace, an overlay of / whose writes
# go to a temporary directory, chroot: the host is never changed), and Debian's
# /usr/bin/python3 records with it, no pip, no PYTHONPATH.
# usage: deb_install.sh PACKAGE_DIR     (as root)
set -euo pipefail
fail() { echo "FAIL: $*"; exit 1; }
packages=${1:?usage: deb_install.sh PACKAGE_DIR}

if [[ ${SHMSTATS_DEB_TEST_INSIDE:-} != 1 ]]; then
  [[ $(id -u) == 0 ]] || fail "must run as root (unshare, mount, chroot)"
  for p in libshmstats0 python3-shmstats; do
    compgen -G "$packages/${p}_*.deb" >/dev/null || fail "no $p package in $packages"
  done
  SHMSTATS_DEB_TEST_INSIDE=1 exec timeout 200 unshare --mount --propagation private \
    "$0" "$(realpath "$packages")" || fail "unshare --mount failed"
fi

# shellcheck source=../service/throwaway_root.sh
source "$(dirname "$0")/../service/throwaway_root.sh"
throwaway_root shmstats-python-deb
mkdir -p "$root/pkgs" && cp "$packages"/libshmstats0_*.deb "$packages"/python3-shmstats_*.deb "$root/pkgs/"
out=$(in_root sh -c 'dpkg -i /pkgs/libshmstats0_*.deb /pkgs/python3-shmstats_*.deb' 2>&1) ||
  { echo "$out"; fail "dpkg -i failed"; }
[[ $(in_root dpkg-query -W -f '${db:Status-Abbrev}' python3-shmstats) == "ii " ]] ||
  fail "python3-shmstats is not installed"
got=$(in_root env -i SHMSTATS_SEGMENT=deb-test /usr/bin/python3 -I -c '
import shmstats
assert shmstats.__file__.startswith("/usr/lib/python3/dist-packages/"), shmstats.__file__
c = shmstats.Counter("deb_installed", "x", ["via"])
for _ in range(10):
    c.labels("deb").inc(0.5)
print(shmstats.read()[0]["value"])
' 2>&1) || fail "python3 could not record: $got"
[[ $got == 5.0 ]] || fail "recorded '$got', not 5.0"
echo "PASS: python3-shmstats installed with dpkg; /usr/bin/python3 recorded $got"
