# SPDX-License-Identifier: Apache-2.0
# Sourced by the package tests (as root, inside a private mount namespace the caller
# has entered with unshare): a throwaway copy of this Debian system to install
# packages into. `throwaway_root PREFIX` mounts an overlay of / whose writes go to a
# temporary directory under /var/tmp, with /proc, /dev, and private tmpfs on /dev/shm
# (the host's segments stay out of sight) and /tmp. It sets `scratch` (the temporary
# directory) and `root` (the copy), and removes both on exit, after calling the
# caller's `throwaway_cleanup_hook` if it defines one. `in_root CMD...` runs in it.
# Needs the caller's `fail MESSAGE`.

throwaway_root() {
  scratch=$(mktemp -d "/var/tmp/$1.XXXXXX")
  root=$scratch/root
  trap throwaway_cleanup EXIT
  mkdir -p "$scratch"/{upper,work,root}
  mount -t overlay overlay -o "lowerdir=/,upperdir=$scratch/upper,workdir=$scratch/work" "$root" ||
    fail "cannot mount an overlay of / on $root"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
  mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
}

throwaway_cleanup() {
  if declare -F throwaway_cleanup_hook >/dev/null; then throwaway_cleanup_hook || true; fi
  umount -R "$root" 2>/dev/null || umount -lR "$root" 2>/dev/null || true
  rm -rf "$scratch"
}

in_root() { chroot "$root" "$@"; }
