# SPDX-License-Identifier: Apache-2.0
# Sourced by statsctl's shell tests. Expects STATSCTL (the binary) in the environment.
# Gives each test its own segment-name prefix and removes those segments, and any
# background process recorded in PIDS, when the test exits (even on failure).
set -u
PREFIX="sctest-$(basename "$0" .sh)-$$"
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  rm -f /dev/shm/"$PREFIX"-* 2>/dev/null
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
seg() { echo "$PREFIX-$1"; }

# A python3 with jsonschema and prometheus_client (Debian's, or the first one on PATH).
PY=""
for candidate in /usr/bin/python3 python3; do
  if "$candidate" -c 'import jsonschema, prometheus_client' 2>/dev/null; then PY=$candidate; break; fi
done

# expect STATUS REGEX CMD...: CMD exits STATUS and prints exactly one stderr line
# matching REGEX (grep -E) that starts with "statsctl: ".
expect() {
  local want=$1 regex=$2; shift 2
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want; stderr: $err"
  [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "'$*' printed more than one error line: $err"
  printf '%s\n' "$err" | grep -q '^statsctl: ' || fail "'$*' error lacks the statsctl: prefix: $err"
  printf '%s\n' "$err" | grep -Eq -- "$regex" || fail "'$*' error '$err' does not match /$regex/"
}

# The whole observable state of a segment: every value, bucket, help and unit.
state() { "$STATSCTL" --segment "$1" export --format json | jq -S 'del(.taken_unix_ns)'; }
