#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every subcommand has --help with examples, and man/statsctl.1 documents every
# subcommand and every option that --help lists, and every exit status.
. "$(dirname "$0")/lib.sh"
MAN="$(dirname "$0")/../../man/statsctl.1"
[ -f "$MAN" ] || fail "no man page"
man_text=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$MAN")
"$STATSCTL" --help | grep -q 'Exit status' || fail "statsctl --help lacks exit statuses"
for cmd in list get reset inc set add observe time info create ps remove check export watch history \
  'history export' 'history summary' 'history info'; do
  # shellcheck disable=SC2086 # 'history export' is two words
  help=$("$STATSCTL" $cmd --help) || fail "$cmd --help exited non-zero"
  echo "$help" | grep -q '^Examples:' || fail "$cmd --help has no examples"
  echo "$man_text" | grep -q "^\.SS ${cmd%% *}\b" || fail "man page has no section for $cmd"
  echo "$man_text" | grep -q "^\.B statsctl $cmd\b" || fail "man page has no synopsis for $cmd"
  for opt in $(echo "$help" | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
    echo "$man_text" | grep -q -- "$opt" || fail "man page lacks $opt of $cmd"
  done
done
for status in 0 1 2 3 4 5 6; do
  echo "$man_text" | grep -A1 '^\.TP' | grep -qx "$status" || fail "man page lacks exit status $status"
done
echo PASS
