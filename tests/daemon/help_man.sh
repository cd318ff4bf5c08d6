#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shmstatsd --help and man/shmstatsd.8 say the same thing: every option that
# --help lists is documented in the man page, with the same default.
# usage: help_man.sh SHMSTATSD MAN_PAGE
set -u
daemon=$1
man_text=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$2")
fail() { echo "FAIL: $*"; exit 1; }
help=$("$daemon" --help) || fail "shmstatsd --help exited non-zero"
for opt in $(echo "$help" | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
  echo "$man_text" | grep -qE -- "^\.B[IR]? (-h \", \" )?$opt\b" || fail "man page has no entry for $opt"
done
# Defaults shown by --help (OPTION TYPE=DEFAULT) appear in the man page.
for default in $(echo "$help" | grep -oE -- '--[a-z-]+ TEXT(:DURATION)?=[^ ]+' | sed 's/.*=//'); do
  echo "$man_text" | grep -qF -- "$default" || fail "man page lacks the default $default"
done
echo PASS
