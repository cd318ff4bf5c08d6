#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The built packages installed and purged on a throwaway copy of this Debian system:
# a private mount and network namespace (unshare -mn), an overlay of / whose writes
# go to a temporary directory, and chroot into it. Checks that `dpkg -i` alone makes
# the system user and group (sysusers.d), /var/lib/shmstats (tmpfiles.d), the
# conffiles and the enabled unit; that the unit's ExecStart, run as its User= and
# Group= with its UMask=, answers /healthz and creates the segment; and that
# `dpkg --purge shmstats` removes everything the package and the daemon created
# except the history in /var/lib/shmstats and the shmstats user that owns it
# (Debian does not delete system users; packaging/debian/postrm).
# usage: install_test.sh PACKAGE_DIR     (as root; the host is never changed)
set -euo pipefail
fail() { echo "FAIL: $*"; exit 1; }
packages=${1:?usage: install_test.sh PACKAGE_DIR}

if [[ ${SHMSTATS_INSTALL_TEST_INSIDE:-} != 1 ]]; then
  [[ $(id -u) == 0 ]] || fail "must run as root (unshare, mount, chroot)"
  for tool in unshare chroot mount ip curl setpriv dpkg; do
    command -v $tool >/dev/null || fail "$tool is not installed (scripts/setup.sh installs it)"
  done
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
    fail "the kernel has no overlay file system (needed for a throwaway copy of /)"
  for p in shmstats libshmstats0 libshmstats-dev; do
    compgen -G "$packages/${p}_*.deb" >/dev/null || fail "no $p package in $packages"
  done
  SHMSTATS_INSTALL_TEST_INSIDE=1 exec timeout 240 unshare --mount --net --propagation private \
    "$0" "$(realpath "$packages")" ||
    fail "unshare --mount --net failed (a container without CAP_SYS_ADMIN?)"
fi

# --- Inside the namespaces: nothing below is seen by the host.
daemon=""
throwaway_cleanup_hook() { [[ -z $daemon ]] || kill "$daemon" 2>/dev/null; }
# shellcheck source=throwaway_root.sh
source "$(dirname "$0")/throwaway_root.sh"
throwaway_root shmstats-install
mount -t tmpfs -o mode=0755 tmpfs "$root/run"  # no systemd, no D-Bus running here
mkdir -p "$root/pkgs" && cp "$1"/*.deb "$root/pkgs/"
ip link set lo up
# A host where the package was installed before would not be a fresh install.
in_root dpkg-query -W shmstats >/dev/null 2>&1 && in_root dpkg --purge shmstats libshmstats-dev libshmstats0 >/dev/null
in_root getent passwd shmstats >/dev/null && fail "this system already has a shmstats user"
[[ ! -e $root/var/lib/shmstats ]] || rm -rf "$root/var/lib/shmstats"

# --- Install: the library, the daemon and CLI, the headers; nothing else done by hand.
out=$(in_root sh -c 'dpkg -i /pkgs/libshmstats0_*.deb /pkgs/shmstats_*.deb /pkgs/libshmstats-dev_*.deb' 2>&1) ||
  { echo "$out"; fail "dpkg -i failed"; }
for p in shmstats libshmstats0 libshmstats-dev; do
  [[ $(in_root dpkg-query -W -f '${db:Status-Abbrev}' $p) == "ii " ]] || fail "$p is not installed"
done
passwd=$(in_root getent passwd shmstats) || fail "dpkg -i made no shmstats user"
IFS=: read -r _ _ uid gid _ home shell <<<"$passwd"
((uid < 1000)) || fail "shmstats is not a system user (uid $uid)"
[[ $home == /var/lib/shmstats && $shell == /usr/sbin/nologin ]] ||
  fail "shmstats user: home $home, shell $shell"
[[ $(in_root getent group shmstats | cut -d: -f3) == "$gid" ]] || fail "no shmstats group ($gid)"
# (numeric: names are the chroot's)
[[ $(stat -c '%a %u %g' "$root/var/lib/shmstats") == "750 $uid $gid" ]] ||
  fail "/var/lib/shmstats is $(stat -c '%a %u %g' "$root/var/lib/shmstats"), expected 750 $uid $gid"
conffiles=$(in_root dpkg-query -W -f '${Conffiles}' shmstats)
for f in /etc/shmstats/shmstatsd.conf /etc/cron.d/shmstats-history; do
  [[ -f $root$f ]] || fail "$f is not installed"
  grep -q " $f " <<<"$conffiles" || fail "$f is not a conffile: $conffiles"
done
unit=$root/lib/systemd/system/shmstatsd.service
[[ -f $unit ]] || fail "no unit at /lib/systemd/system/shmstatsd.service"
[[ -L $root/etc/systemd/system/multi-user.target.wants/shmstatsd.service ]] ||
  fail "postinst did not enable shmstatsd.service"
in_root test -x /usr/bin/statsctl || fail "no /usr/bin/statsctl"
in_root test -f /usr/share/dbus-1/system.d/org.shmstats.Stats1.conf ||
  fail "no D-Bus policy in /usr/share/dbus-1/system.d"

# --- Start the service as systemd would (it is not PID 1 here): the unit's
# ExecStart, as its User= and Group=, with its UMask=.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit") group=$(sed -n 's/^Group=//p' "$unit")
umask_=$(sed -n 's/^UMask=//p' "$unit")
[[ -n $exec_start && $user == shmstats && $group == shmstats && -n $umask_ ]] ||
  fail "unit: ExecStart=$exec_start User=$user Group=$group UMask=$umask_"
listen=$(sed -n 's/^listen *= *//p' "$root/etc/shmstats/shmstatsd.conf")
[[ -n $listen ]] || fail "the installed config sets no listen address"
chroot "$root" setpriv --reuid="$user" --regid="$group" --init-groups \
  sh -c "umask $umask_ && exec $exec_start" >"$scratch/daemon.log" 2>&1 &
daemon=$!
health=""
for _ in $(seq 1 100); do  # up to 10 s
  health=$(curl -sf "http://$listen/healthz" 2>/dev/null) && break
  kill -0 "$daemon" 2>/dev/null || fail "shmstatsd exited: $(cat "$scratch/daemon.log")"
  sleep 0.1
done
[[ $health == *'"segment":"attached"'* ]] ||
  fail "/healthz: '$health'; log: $(cat "$scratch/daemon.log")"
[[ $(stat -c '%a %u %g' "$root/dev/shm/shmstats") == "660 $uid $gid" ]] ||
  fail "the segment is $(stat -c '%a %u %g' "$root/dev/shm/shmstats" 2>&1), expected 660 $uid $gid"
# A producer: another user in the shmstats group records into the daemon's segment
# as it is (the shmstats system user's segments are trusted: README, the owner check).
in_root setpriv --reuid=nobody --regid=nogroup --groups="$gid" \
  /usr/bin/statsctl inc install_test_total 3 ||
  fail "a member of the shmstats group cannot record into the daemon's segment"
# (read the whole answer first: `curl | grep -q` fails under pipefail when grep
# stops at the match before curl has written the rest)
metrics=$(curl -sf "http://$listen/metrics") || fail "GET /metrics failed"
grep -q '^install_test_total 3$' <<<"$metrics" ||
  fail "/metrics does not show what statsctl recorded: $(grep install_test <<<"$metrics")"
kill -TERM "$daemon"
wait "$daemon" || fail "shmstatsd did not exit 0 on SIGTERM: $(cat "$scratch/daemon.log")"
daemon=""
[[ -f $root/var/lib/shmstats/history.db ]] || fail "no history.db: $(ls -la "$root/var/lib/shmstats")"
[[ -f $root/var/lib/shmstats/stats.json ]] || fail "no stats.json after SIGTERM"
touch "$root/var/lib/shmstats/history-2026-12-01.csv.gz"  # a nightly export (cron)

# --- Purge: what the package and the daemon made goes; the history stays.
mapfile -t files < <(in_root dpkg -L shmstats | while read -r f; do [[ -d $root$f ]] || echo "$f"; done)
((${#files[@]} > 5)) || fail "dpkg -L shmstats lists ${#files[@]} files"
out=$(in_root dpkg --purge shmstats 2>&1) || { echo "$out"; fail "dpkg --purge shmstats failed"; }
for f in "${files[@]}"; do
  [[ ! -e $root$f && ! -L $root$f ]] || fail "$f is still there after purge"
done
for f in /etc/shmstats /etc/systemd/system/multi-user.target.wants/shmstatsd.service \
  /var/lib/systemd/deb-systemd-helper-enabled/shmstatsd.service \
  /var/lib/shmstats/stats.json /var/lib/shmstats/history.db.lock /dev/shm/shmstats; do
  [[ ! -e $root$f && ! -L $root$f ]] || fail "$f is still there after purge"
done
left=$(cd "$root/var/lib/shmstats" && ls -A | sort | tr '\n' ' ')
[[ $left == "history-2026-12-01.csv.gz history.db "* ]] ||
  fail "/var/lib/shmstats after purge holds '$left', expected the history only"
[[ -z $(ls -A "$root/var/lib/shmstats" | grep -v -e '^history' || true) ]] ||
  fail "/var/lib/shmstats after purge holds more than the history: $left"
in_root getent passwd shmstats >/dev/null ||
  fail "the shmstats user was deleted, but it still owns the kept history"
out=$(in_root dpkg --purge libshmstats-dev libshmstats0 2>&1) || { echo "$out"; fail "purging the libraries failed"; }
in_root test ! -e /usr/include/shmstats || fail "headers left after purging libshmstats-dev"
echo "PASS: installed (user $uid:$gid, /var/lib/shmstats 750, conffiles, unit enabled), served /healthz and created the segment as shmstats, purged leaving only: $left"
