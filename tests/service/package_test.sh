#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages, built by CPack from the already-built tree, and checked.
# usage: package_test.sh build|contents|lintian|unit BUILD_DIR PACKAGE_DIR EXPECTED_DIR
#   build     cpack -G DEB into PACKAGE_DIR (the other steps read what it made)
#   contents  dpkg-deb --contents/--info of each package against EXPECTED_DIR/<pkg>.files,
#             control fields, conffiles and maintainer scripts
#   lintian   no lintian error on any package
#   unit      the unit as installed (the package unpacked into a scratch root):
#             systemd-analyze verify, and security --offline exposure <= 3.0;
#             its sysusers.d and tmpfiles.d files applied to that root
#   prefix    `cmake --install --prefix DIR` writes nothing outside DIR
set -euo pipefail
shopt -s extglob
step=$1 build=$2 packages=$3 expected=$4
fail() { echo "FAIL: $*"; exit 1; }
deb() { compgen -G "$packages/$1_*.deb" | head -1 || fail "no $1 package in $packages"; }

case $step in
build)
  rm -rf "$packages" && mkdir -p "$packages"
  # From the built tree (scripts/test.sh builds everything first, so cpack's
  # preinstall step finds nothing to build).
  (cd "$build" && cpack -G DEB -B "$packages" >"$packages/cpack.log" 2>&1) ||
    { cat "$packages/cpack.log"; fail "cpack -G DEB failed"; }
  for p in shmstats libshmstats0 libshmstats-dev; do deb $p >/dev/null; done
  echo "PASS: $(cd "$packages" && ls ./*.deb | tr '\n' ' ')"
  ;;
contents)
  for p in shmstats libshmstats0 libshmstats-dev; do
    file=$(deb $p)
    mapfile -t files < <(dpkg-deb --contents "$file" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./||')
    mapfile -t patterns < <(grep -v '^#' "$expected/$p.files")
    for f in "${files[@]}"; do
      ok=0
      for pat in "${patterns[@]}"; do [[ $f == $pat ]] && ok=1 && break; done
      ((ok)) || fail "$p ships $f, which $expected/$p.files does not list"
    done
    for pat in "${patterns[@]}"; do
      ok=0
      for f in "${files[@]}"; do [[ $f == $pat ]] && ok=1 && break; done
      ((ok)) || fail "$p lacks $pat"
    done
    info=$(dpkg-deb --info "$file")
    [[ $(dpkg-deb --field "$file" Package) == "$p" ]] || fail "$file: Package is not $p"
    [[ $(dpkg-deb --field "$file" Architecture) == "$(dpkg --print-architecture)" ]] ||
      fail "$p: wrong Architecture"
    grep -q '^ Maintainer: .* <.*@.*>' <<<"$info" || fail "$p: no Maintainer with an address"
    grep -q '^ Description: ' <<<"$info" || fail "$p: no Description"
  done
  shm=$(deb shmstats)
  depends=$(dpkg-deb --field "$shm" Depends)
  # SQLite, {fmt} and RE2 are linked in (history/, third_party/fmt, common/): no Depends.
  for d in libc6 libsystemd0 adduser init-system-helpers; do
    [[ $depends == *"$d"* ]] || fail "shmstats Depends lacks $d: $depends"
  done
  [[ $(dpkg-deb --field "$(deb libshmstats-dev)" Depends) == *"libshmstats0 (= "* ]] ||
    fail "libshmstats-dev does not depend on its exact libshmstats0"
  dpkg-deb --info "$(deb libshmstats0)" shlibs | grep -q '^libshmstats 0 libshmstats0' ||
    fail "libshmstats0 has no shlibs entry for libshmstats.so.0"
  conffiles=$(dpkg-deb --info "$shm" conffiles | sort)
  [[ $conffiles == $'/etc/cron.d/shmstats-history\n/etc/shmstats/shmstatsd.conf' ]] ||
    fail "shmstats conffiles are not the config and the cron file: $conffiles"
  for script in postinst prerm postrm; do
    dpkg-deb --info "$shm" $script >/dev/null || fail "shmstats has no $script"
  done
  dpkg-deb --info "$shm" postinst | grep -q 'systemd-sysusers shmstats.conf' ||
    fail "postinst does not create the shmstats user"
  dpkg-deb --info "$shm" postinst | grep -q 'deb-systemd-helper enable' ||
    fail "postinst does not enable shmstatsd.service"
  dpkg-deb --info "$shm" postrm | grep -q 'purge' || fail "postrm does nothing on purge"
  # The unit and cron file name the installed programs, not /usr/local.
  root=$(mktemp -d) && trap 'rm -rf "$root"' EXIT
  dpkg-deb -x "$shm" "$root"
  grep -q '^ExecStart=/usr/sbin/shmstatsd ' "$root/lib/systemd/system/shmstatsd.service" ||
    fail "the packaged unit does not start /usr/sbin/shmstatsd"
  grep -q ' /usr/bin/statsctl ' "$root/etc/cron.d/shmstats-history" ||
    fail "the packaged cron file does not run /usr/bin/statsctl"
  ! grep -rh -v '^#' "$root/etc" "$root/lib" | grep -q /usr/local ||
    fail "a packaged file still names /usr/local outside comments"
  echo "PASS: contents, control fields, conffiles and maintainer scripts"
  ;;
lintian)
  out=$(lintian --tag-display-limit 0 "$packages"/*.deb 2>&1) || true
  echo "$out"
  ! grep -q '^E: ' <<<"$out" || fail "lintian reports errors"
  echo "PASS: lintian: $(grep -c '^W: ' <<<"$out" || true) warnings, no errors"
  ;;
unit)
  root=$(mktemp -d) && trap 'rm -rf "$root"' EXIT
  dpkg-deb -x "$(deb shmstats)" "$root"
  unit=$root/lib/systemd/system/shmstatsd.service
  # verify resolves ExecStart's program; point it into the scratch root.
  sed -i "s|^ExecStart=/usr/sbin/|ExecStart=$root/usr/sbin/|" "$unit"
  out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$unit" 2>&1) ||
    { echo "$out"; fail "systemd-analyze verify failed"; }
  [[ -z $out ]] || { echo "$out"; fail "systemd-analyze verify complained"; }
  report=$(systemd-analyze security --offline=true "$unit" 2>&1) ||
    { echo "$report"; fail "systemd-analyze security failed"; }
  exposure=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' <<<"$report")
  [[ -n $exposure ]] || { echo "$report"; fail "no exposure level in the report"; }
  awk -v e="$exposure" 'BEGIN { exit !(e <= 3.0) }' ||
    { echo "$report"; fail "exposure $exposure > 3.0"; }
  grep -q '^Type=notify' "$unit" || fail "the unit is not Type=notify"
  grep -q '^WatchdogSec=' "$unit" || fail "the unit sets no WatchdogSec="
  grep -q '^PrivateDevices=no' "$unit" || fail "PrivateDevices= must stay off (/dev/shm is shared)"
  # The sysusers.d and tmpfiles.d files, applied to the scratch root as postinst
  # applies them to the host: the system user, and its state directory.
  systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/shmstats.conf" >/dev/null 2>&1 ||
    fail "systemd-sysusers rejects shmstats.conf"
  grep -q '^shmstats:x:[0-9]*:[0-9]*:.*:/var/lib/shmstats:/usr/sbin/nologin$' "$root/etc/passwd" ||
    fail "no shmstats system user: $(cat "$root/etc/passwd")"
  systemd-tmpfiles --root="$root" --create "$root/usr/lib/tmpfiles.d/shmstats.conf" ||
    fail "systemd-tmpfiles rejects shmstats.conf"
  uid=$(awk -F: '$1 == "shmstats" {print $3}' "$root/etc/passwd")
  [[ $(stat -c '%a %u' "$root/var/lib/shmstats") == "750 $uid" ]] ||
    fail "/var/lib/shmstats is $(stat -c '%a %u' "$root/var/lib/shmstats"), expected 750 $uid"
  echo "PASS: systemd-analyze verify clean; exposure $exposure <= 3.0; user and state directory"
  ;;
prefix)
  scratch=$(mktemp -d) && trap 'rm -rf "$scratch"' EXIT
  DESTDIR=$scratch/destdir cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
  outside=$(cd "$scratch/destdir" && find . -type f ! -path ".$scratch/prefix/*")
  [[ -z $outside ]] || fail "cmake --install --prefix wrote outside the prefix: $outside"
  unit=$scratch/destdir$scratch/prefix/lib/systemd/system/shmstatsd.service
  grep -q "^ExecStart=$scratch/prefix/sbin/shmstatsd --config $scratch/prefix/etc/shmstats/" "$unit" ||
    fail "the unit does not name the prefix's shmstatsd and config: $(grep ExecStart "$unit")"
  echo "PASS: everything inside the prefix"
  ;;
*) fail "unknown step $step" ;;
esac
